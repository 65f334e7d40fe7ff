"""The runner: the day loop (``Simulation``), what a run produced (``RunData``), several seeds, a
run's cost before it starts, and the benchmark's reference model on the engine.

Imports ``language``, ``world`` and ``stages``. Where it still crosses: the loop builds and calls the
observers (audit tallies, cohort), which sit above it.
"""
