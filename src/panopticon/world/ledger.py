"""Points owed back on a later day: the records whose points lapse (a scheme's restoration period).

A chunk's step puts the entries it makes (citizen, points on the published score, points on the
true score) under the day they fall due; a day's entries are read back sorted by citizen, and a
citizen's own in the order they were made, whatever the chunk size and thread count that made
them: each chunk's entries come in citizen order, chunks cover disjoint ranges, and days are put
one after the other. Only records of kinds that expire make entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


@dataclass
class Ledger:
    """Entries by due day, then by the first citizen of the chunk that made them (a part for
    each day that made some)."""

    due: dict[int, dict[int, list[tuple[np.ndarray, ...]]]] = field(default_factory=dict)

    def put(self, day: int, lo: int, citizens: np.ndarray, published: np.ndarray,
            true: np.ndarray) -> None:
        """Entries of the chunk starting at ``lo`` due on ``day`` (citizens in order).

        Safe from several threads: within a day each chunk writes its own key.
        """
        if citizens.shape[0]:
            parts = self.due.setdefault(day, {}).setdefault(lo, [])
            parts.append((citizens.astype(np.int64), published.astype(np.int64),
                          true.astype(np.int64)))

    def take(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The entries due on ``day``, sorted by citizen, removed from the ledger."""
        bucket = self.due.pop(day, None)
        if not bucket:
            return EMPTY
        parts = [part for lo in sorted(bucket) for part in bucket[lo]]
        columns = [np.concatenate([p[k] for p in parts]) for k in range(3)]
        order = np.argsort(columns[0], kind="stable")
        return tuple(c[order] for c in columns)  # type: ignore[return-value]

    def __len__(self) -> int:
        return sum(p[0].shape[0] for bucket in self.due.values() for parts in bucket.values()
                   for p in parts)
