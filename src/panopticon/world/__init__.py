"""The simulated world: citizens, ties, counter-based random numbers, codes and counters, and the
engine's kernel helpers (chunk runs over regions, scratch buffers).

Imports only ``language`` below it.
"""
