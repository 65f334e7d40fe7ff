"""The runner: the day loop (``Simulation``), what a run produced (``RunData``), the table of one
day made from the stages' declarations, several seeds, a run's cost before it starts and this
machine's pace learned from its runs, where many runs run (local workers or Ray tasks), and the
benchmark's reference model on the engine.

Imports ``language``, ``world`` and ``stages``. Where it still crosses: the loop builds and calls
the observers (the audit's tally, the cohort, the ranking), which sit above it.
"""
