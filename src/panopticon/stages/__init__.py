"""The model's stages, one per step of the simulated day: behaviour, sensing, registry, scoring,
company (bad company), consequences, fear.

Imports ``language`` and ``world``. Where it still crosses: stages read one another's objects
(consequences reads behaviour, registry and scoring; fear writes into behaviour's risk array).
"""
