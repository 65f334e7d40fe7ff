"""Read-only observers of a run: the audit (counts by group) and the cohort (sampled lives).

Imports the layers below. Where it still crosses: both read stage internals (``consequences``,
``fear.OFFENCES``), and the cohort is handed the whole ``Simulation`` (a type-only import).
"""
