"""Per citizen and reach, how many of its ties are flagged: kept by pushing each change of a flag.

The bad-company term and fear's jump read, every few weeks, the share of a citizen's ties whose
standing is bad. Reading every tie each time needs the ties stored (a CSR form: 157 bytes a
citizen at china-2018's reaches) and a pass over all of them. A standing changes for few citizens
between two readings (about 0.1% of citizens a month in china-2018), so a tally keeps, per reach,
each citizen's count of flagged ties beside its number of ties, and a reading enumerates only the
ties of the citizens whose flag changed, adding or taking 1 at the other end. Every reach is
enumerable from that other end (``ties``: friends, households, workplaces and schools are
symmetric; an account's followers are its friends who follow it and the owners of its pick
slots), so no tie is stored: per citizen, 2 bytes a reach for the counts, 2 for its number of
ties and a bit for the flag last read (both shared by a run's tallies, ``TieStore``).

The counts are integers, so the shares do not depend on the order of the pushes: they equal
:func:`ties.tie_share` of each reach, averaged, on any chunking or thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .population import Population
from .tie_counts import sizes
from .ties import FOLLOWS, FRIENDS, REACHES, Ties, follows_friend, make_ties, max_ties, \
    pick_slots, picker, ties_into


@njit(cache=True, nogil=True)
def _followers_of_friends(t: Ties, a: int, out: np.ndarray) -> int:
    """The friends of a who follow a, into out; returns how many."""
    m = 0
    for k in range(ties_into(t, FRIENDS, a, out)):
        if follows_friend(t, out[k], a):
            out[m] = out[k]
            m += 1
    return m


@njit(cache=True, nogil=True)
def push(t: Ties, reach: int, changed: np.ndarray, flag: np.ndarray, bad: np.ndarray) -> None:
    """Add 1 to ``bad`` at the other end of each tie of a reach of each citizen in ``changed``
    whose flag is now set; take 1 where it is now clear."""
    buf = np.empty(max_ties(t, reach), np.int64)
    for c in changed:
        delta = 1 if flag[c] != 0 else -1
        m = _followers_of_friends(t, c, buf) if reach == FOLLOWS else ties_into(t, reach, c, buf)
        for k in range(m):
            bad[buf[k]] += delta
        if reach == FOLLOWS:
            first, last = pick_slots(t, c)
            for s in range(first, last):
                i = picker(t, c, s)
                if i >= 0:
                    bad[i] += delta


@njit(cache=True, nogil=True, inline="always")
def mean_share(bad: np.ndarray, size: tuple, i: int) -> float:
    """Citizen i's share of flagged ties, the mean over reaches r of bad[r, i] / size[r][i] (0
    without ties of r), summed in the reaches' order as :func:`ties.tie_share`'s callers did.
    Read inside a reading's kernel, so that no array of n shares is made."""
    s = 0.0
    for r in range(bad.shape[0]):
        m = size[r][i]
        s += bad[r, i] / m if m > 0 else 0.0
    return s / bad.shape[0]


@njit(cache=True, nogil=True)
def changes(flag: np.ndarray, last: np.ndarray, bit: int) -> np.ndarray:
    """The citizens whose ``flag`` (set: not 0) differs from their ``bit`` of ``last``, which
    takes the new flags: one pass, without masks of n."""
    changed = np.empty(1024, np.int64)
    m = 0
    for i in range(flag.shape[0]):
        now = np.uint8(bit if flag[i] != 0 else 0)
        if (last[i] & bit) != now:
            if m == changed.shape[0]:
                changed = np.concatenate((changed, np.empty(m, np.int64)))
            changed[m] = i
            m += 1
            last[i] ^= bit
    return changed[:m]


class TieTally:
    """Flagged ties per citizen over some reaches, for one flag (a stage's notion of bad)."""

    def __init__(self, ties: Ties, reaches: list[str], sizes: list[np.ndarray],
                 last: np.ndarray, bit: int) -> None:
        n = ties.region.shape[0]
        self.ties = ties
        self.reaches = [REACHES.index(r) for r in reaches]
        self.sizes = tuple(sizes)  # uint16 per reach: each citizen's number of ties
        self.bad = np.zeros((len(reaches), n), np.uint16)
        self.last, self.bit = last, bit  # the flags last read: a bit of the store's bytes

    @property
    def nbytes(self) -> int:
        """Bytes of the tally's own arrays (the sizes and the flags' bytes belong to the
        ``TieStore``)."""
        return self.bad.nbytes

    def update(self, flag: np.ndarray) -> None:
        """Count the ties flagged by ``flag`` (per citizen, set: not 0), pushing the flags
        changed since the last update; a reading then takes each citizen's :func:`mean_share`
        of ``bad`` and ``sizes``."""
        changed = changes(flag, self.last, self.bit)
        for k, reach in enumerate(self.reaches):
            push(self.ties, reach, changed, flag, self.bad[k])


class TieStore:
    """The tie model of a run, each reach's number of ties per citizen and the flags each tally
    last read (a bit each in one byte per citizen), made on first demand and shared by the
    stages that tally ties (``tie_tally``)."""

    def __init__(self, pop: Population, seed: int) -> None:
        self.pop, self.seed = pop, seed
        self.sizes: dict[str, np.ndarray] = {}
        self.last: np.ndarray | None = None  # uint8 per citizen: bit k, tally k's flag
        self.tallies = 0
        self._ties: Ties | None = None

    def model(self) -> Ties:
        """The tie model itself, for a stage that enumerates a few citizens' ties a day."""
        if self._ties is None:
            self._ties = make_ties(self.pop, self.seed)
        return self._ties

    def tally(self, reaches: list[str]) -> TieTally:
        """A new tally of flagged ties over ``reaches``, no flag set yet (at most 8 a run)."""
        if self.tallies == 8:
            raise ValueError("a run keeps at most 8 tallies of ties (a bit each in a byte)")
        self.sizes.update(sizes(self.model(), [r for r in reaches if r not in self.sizes]))
        if self.last is None:
            self.last = np.zeros(self.pop.size, np.uint8)
        self.tallies += 1
        return TieTally(self.model(), reaches, [self.sizes[r] for r in reaches], self.last,
                        1 << (self.tallies - 1))
