"""What stages hand each other within a day: a worker's buffers for the chunk in hand.

:class:`Today` holds one worker's buffers, each of chunk capacity: what a stage makes for the
stages after it on the same day (the acts done, the records made). The engine
hands each worker one and every step of a phase receives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


class ContractError(Exception):
    """A stage used an array or buffer against its declarations (the message is one line)."""


@dataclass(frozen=True, eq=False)
class Today:
    """A worker's buffers for the chunk in hand (bits of ``codes``); a step uses ``[:hi - lo]``."""

    acts: np.ndarray  # uint64: the acts done today (behaviour makes them)
    records: np.ndarray  # uint64: what was recorded of them and beyond (sensing, registry)
    todo: np.ndarray  # int32: any step's list of citizens to visit, scratch
    seen: dict = field(default_factory=dict, repr=False)  # each stage's version of it

    BUFFERS: ClassVar[tuple[str, ...]] = ("acts", "records")

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


