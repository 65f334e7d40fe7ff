"""The simulated world: citizens, ties (and their store), counter-based random numbers, the codes
stages hand each other, the stage contract (a run's state of owned arrays, views, today's
buffers), counters, and the engine (phases of chunk steps, runs of regions).

Imports only ``language`` below it.
"""
