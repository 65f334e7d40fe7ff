"""What writes or reads a run folder, and studies over runs: results, run folder and output folder
checks, provenance, queries, the report and its figures, compare, story, calibration, the pinned
baseline.

Imports every layer below. ``calibrate`` and ``baseline`` run the loop themselves; ``results``,
``report`` and ``story`` import the observers' schemas and tables, and so, through the audit, the
stages.
"""
