"""What stages hand each other within a day: a worker's buffers for the chunk in hand.

:class:`Today` holds one worker's buffers, each of chunk capacity: what a stage makes for the
stages after it on the same day (the acts done, the records made). The engine
hands each worker one and every step of a phase receives it. A stage's version of it also keeps
what the stage's steps take of each chunk for the whole run (:meth:`Today.kept`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

T = TypeVar("T")


class ContractError(Exception):
    """A stage used an array or buffer against its declarations (the message is one line)."""


@dataclass(frozen=True, eq=False)
class Today:
    """A worker's buffers for the chunk in hand (bits of ``codes``); a step uses ``[:hi - lo]``."""

    acts: np.ndarray  # uint64: the acts done today (behaviour makes them)
    records: np.ndarray  # uint64: what was recorded of them and beyond (sensing, registry)
    todo: np.ndarray  # int32: any step's list of citizens to visit, scratch
    seen: dict = field(default_factory=dict, repr=False)  # each stage's version of it
    chunks: dict = field(default_factory=dict, repr=False)  # what kept() made, by chunk

    BUFFERS: ClassVar[tuple[str, ...]] = ("acts", "records")

    def kept(self, lo: int, hi: int, make: Callable[[int, int, Today], T]) -> T:
        """``make(lo, hi, self)``, made on the chunk's first day and kept for the run: what a
        step takes of chunk lo..hi that holds for the run (views of arrays kept for the run
        and of these buffers). Made anew each day, they cost a chunk's steps some 210 us of
        Python (362 us in all, 149 kept), the work of 4,000 citizens, while holding the lock
        that the other workers wait on."""
        key = (lo, hi, make.__name__)
        made = self.chunks.get(key)
        if made is None:
            made = self.chunks[key] = make(lo, hi, self)
        return made

    @classmethod
    def of(cls, capacity: int) -> Today:
        return cls(acts=np.zeros(capacity, np.uint64), records=np.zeros(capacity, np.uint64),
                   todo=np.zeros(capacity, np.int32))


class Undeclared:
    """Stands for a buffer of today that a stage did not declare: any use is a ContractError."""

    def __init__(self, stage: str, name: str) -> None:
        self.message = (f"stage '{stage}' uses today's '{name}', which is not in its OWNS, READS "
                        f"or WRITES")

    def __getitem__(self, key: Any) -> np.ndarray:
        raise ContractError(self.message)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise ContractError(self.message)


