"""What writes or reads a run folder, and studies over runs: results, run folder and output folder
checks, provenance, queries, the report and its figures, compare, story, calibration.

Imports every layer below. ``calibrate`` runs the loop itself; ``results``, ``report`` and ``story``
import the observers' schemas and tables, and so, through the audit, the stages.
"""
