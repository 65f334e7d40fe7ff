"""What stages hand each other: today's buffers of a chunk.

:class:`Today` holds one worker's buffers for the chunk in hand, each of chunk capacity: what a
stage makes for the stages after it on the same day (the acts done, the records made, the
attempts met). The engine hands each worker one and every step of a phase receives it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Today:
    """A worker's buffers for the chunk in hand (bits of ``codes``); a step uses ``[:hi - lo]``."""

    acts: np.ndarray  # uint32: the acts done today (behaviour makes them)
    records: np.ndarray  # uint32: what was recorded of them and beyond (sensing, registry)
    events: np.ndarray  # uint16: attempts and life events met today (consequences)
    todo: np.ndarray  # int32: any step's list of citizens to visit, scratch

    @classmethod
    def of(cls, capacity: int) -> Today:
        return cls(acts=np.zeros(capacity, np.uint32), records=np.zeros(capacity, np.uint32),
                   events=np.zeros(capacity, np.uint16), todo=np.zeros(capacity, np.int32))
