"""Read-only observers of a run: the audit (counts by group), the cohort (sampled lives), the
public ranking.

Each declares what it reads and gets a read-only view of the state (the cohort also of today's
buffers, through a capture step); none holds the simulation or a stage. Imports the layers
below, and public functions and constants of stage modules (``consequences.standings``,
``fear.OFFENCES``).
"""
