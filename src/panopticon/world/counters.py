"""The daily counters: one int64 per (region, counter) per day, each declared by one stage.

Counts are of simulated citizens; results multiply them by the population's scale. Integer sums
make every total independent of chunking and threads. A stage declares its counters
(``COUNTERS``) and adds to them only: its step gets its own columns of the worker's counters, so
its kernels index them from 0. The run's counters are the stages' in the order of the day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .today import ContractError


@dataclass(frozen=True)
class Counters:
    """The run's counter names in order, and each stage's columns among them."""

    names: tuple[str, ...]
    spans: dict[str, slice]  # by stage name

    @classmethod
    def of(cls, declared: Iterable[tuple[str, tuple[str, ...]]]) -> Counters:
        """Counters of ``(stage, COUNTERS)`` pairs, in order; a name declared twice is refused."""
        names: list[str] = []
        spans: dict[str, slice] = {}
        by: dict[str, str] = {}
        for stage, counters in declared:
            for name in counters:
                if name in by:
                    raise ContractError(f"counter '{name}' is declared by both '{by[name]}' and "
                                        f"'{stage}'")
                by[name] = stage
            spans[stage] = slice(len(names), len(names) + len(counters))
            names.extend(counters)
        return cls(tuple(names), spans)

    @property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}
