"""Per citizen and reach, how many of its ties are flagged: kept by pushing each change of a flag.

The bad-company term and fear's jump read, every few weeks, the share of a citizen's ties whose
standing is bad. Reading every tie each time needs the ties stored (a CSR form: 157 bytes a citizen
at china-2018's reaches) and a pass over all of them. A standing changes for few citizens between
two readings (about 0.1% of citizens a month in china-2018), so a tally keeps, per reach, each
citizen's count of flagged ties beside its number of ties, and a reading enumerates only the ties
of the citizens whose flag changed, adding or taking 1 at the other end. Every reach is enumerable
from that other end (``ties``: friends, households, workplaces and schools are symmetric; an
account's followers are its friends who follow it and the owners of its pick slots), so no tie is
stored: per citizen, a byte a reach for the counts, a bit for the flag last read and a byte for its
number of ties (shared by a run's tallies, ``TieStore``). A citizen with :data:`WIDE` ties or more
of a reach (0.1% of them in china-2018's friends) has :data:`WIDE` in that byte, and its number and
counts in the store's book of wide citizens (``Wide``), which is fixed at build, so that the counts
of all the others fit in a byte. The household reach is not tallied: a reading counts a citizen's
few relatives flagged from the flags last read (``ties.household_shares``), for no memory. Nor is
any flag kept or made for all n at once: an update reads the flags block by block (:data:`BLOCK`)
from its stage's own arrays.

The counts are integers, so the shares do not depend on the order of the pushes: they equal
:func:`ties.tie_share` of each reach, averaged, on any chunking or thread count.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from .atomics import atomic_add
from .population import HOUSEHOLD_MAX, Population
from .tie_counts import sizes
from .ties import FOLLOWS, FRIENDS, REACHES, Ties, follows_friend, household_shares, make_ties, \
    max_ties, pick_slots, picker, ties_into
from .today import WORD, bits_into, flags_word, is_marked

COUNTED = ("household",)  # reaches a reading counts instead of a tally keeping them
BLOCK = 1 << 18  # citizens whose flags an update reads at a time (a multiple of WORD)
SHARE_PART = 4096  # citizens whose shares a reading's worker makes at a time (shares_into)
PUSH_PARTS = 4  # parts of a push's changed citizens per worker (their ties differ in number)
WIDE = 255  # a citizen's byte of a reach's number of ties where the store's book holds it


class Wide(NamedTuple):
    """The store's book of wide citizens: per reach, those with :data:`WIDE` ties or more,
    their numbers of ties, reach after reach in the order the reaches were counted (a reach's
    rows never move, so that a tally's counts stay where they are)."""

    ids: np.ndarray  # int64: per reach, its wide citizens in order
    sizes: np.ndarray  # uint16: their numbers of ties
    first: np.ndarray  # int64 per reach of ``ties.REACHES``: its first row (0 where uncounted)
    last: np.ndarray  # int64 per reach: the row after its last


NO_WIDE = Wide(np.zeros(0, np.int64), np.zeros(0, np.uint16), np.zeros(len(REACHES), np.int64),
               np.zeros(len(REACHES), np.int64))


@njit(cache=True, nogil=True, inline="always")
def wide_row(ids: np.ndarray, first: np.ndarray, last: np.ndarray, reach: int, i: int) -> int:
    """The book's row of citizen i in a reach where its byte says :data:`WIDE` (``Wide``'s
    arrays)."""
    return first[reach] + np.searchsorted(ids[first[reach]:last[reach]], i)


@njit(cache=True, nogil=True)
def _followers_of_friends(t: Ties, a: int, out: np.ndarray) -> int:
    """The friends of a who follow a, into out; returns how many."""
    m = 0
    for k in range(ties_into(t, FRIENDS, a, out)):
        if follows_friend(t, out[k], a):
            out[m] = out[k]
            m += 1
    return m


@njit(cache=True, nogil=True, inline="always")
def _add(size: np.ndarray, w: Wide, reach: int, bad: np.ndarray, wide_bad: np.ndarray, i: int,
         delta: int) -> None:
    if size[i] == WIDE:
        atomic_add(wide_bad, wide_row(w.ids, w.first, w.last, reach, i), delta)
    else:
        atomic_add(bad, i, delta)


@njit(cache=True, nogil=True, parallel=True)
def push(t: Ties, reach: int, changed: np.ndarray, marks: np.ndarray, size: np.ndarray,
         w: Wide, bad: np.ndarray, wide_bad: np.ndarray, parts: int) -> None:
    """Add 1 to the count at the other end of each tie of a reach of each citizen in
    ``changed`` whose flag (its bit of ``marks``) is now set; take 1 where it is now clear. A
    count is in ``bad``, or in ``wide_bad`` at the book's row where the citizen's byte of
    ``size`` says :data:`WIDE`. Numba's workers take ``parts`` parts of ``changed`` and add
    atomically (:func:`atomic_add`): a reading's push ran alone on the main thread, while the
    others waited."""
    parts = min(changed.shape[0], parts)
    for part in prange(parts):
        buf = np.empty(max_ties(t, reach), np.int64)
        for q in range(part * changed.shape[0] // parts, (part + 1) * changed.shape[0] // parts):
            c = changed[q]
            delta = 1 if is_marked(marks, c) else -1
            m = (_followers_of_friends(t, c, buf) if reach == FOLLOWS
                 else ties_into(t, reach, c, buf))
            for k in range(m):
                _add(size, w, reach, bad, wide_bad, buf[k], delta)
            if reach == FOLLOWS:
                first, last = pick_slots(t, c)
                for s in range(first, last):
                    i = picker(t, c, s)
                    if i >= 0:
                        _add(size, w, reach, bad, wide_bad, i, delta)


class Shares(NamedTuple):
    """What a reading's kernel takes each citizen's share of flagged ties from, beside the
    tallied reaches' numbers of ties (a tuple of arrays, which a parallel loop takes as an
    argument of its own, not inside a tuple)."""

    bad: np.ndarray  # uint8 [tallied reaches, n]: flagged ties
    rows: np.ndarray  # per reach in order, its row of ``bad``, or -1: the household's
    age: np.ndarray  # the population's, for the household reach (ties.household_flagged)
    flags: np.ndarray
    marks: np.ndarray  # the flags last read (TieTally.marks), a bit per citizen
    reach: np.ndarray  # per row of ``bad``, its reach in ``ties.REACHES``
    wide_bad: np.ndarray  # uint16 per row of the book: the wide citizens' flagged ties
    wide_ids: np.ndarray  # the book's (Wide), its arrays one by one
    wide_sizes: np.ndarray
    wide_first: np.ndarray
    wide_last: np.ndarray


@njit(cache=True, nogil=True, error_model="numpy")
def _tallied_shares(a: Shares, size: np.ndarray, row: int, lo: int, out: np.ndarray) -> None:
    """Add the share of flagged ties of a tallied reach (``row`` of ``a.bad``; ``size``: its
    numbers of ties) of citizens lo.. to ``out``: the narrow ones in a pass without branches
    (it vectorises; a share of 0 adds 0.0, which changes no bit), then the wide ones from the
    book's rows of the reach, instead of a search of the book per wide citizen in the pass."""
    bad = a.bad[row]
    for k in range(out.shape[0]):
        m, b = np.int64(size[lo + k]), np.int64(bad[lo + k])
        out[k] += np.float64(b) / np.float64(max(m, 1)) if (b > 0) & (m != WIDE) else 0.0
    reach = a.reach[row]
    for w in range(a.wide_first[reach], a.wide_last[reach]):
        i = a.wide_ids[w]
        if lo <= i < lo + out.shape[0] and a.wide_bad[w] > 0:
            out[i - lo] += np.int64(a.wide_bad[w]) / np.int64(a.wide_sizes[w])


@njit(cache=True, nogil=True)
def _household_shares(a: Shares, lo: int, out: np.ndarray) -> None:
    """Add the share of flagged household ties of citizens lo.. to ``out``, found only for 8
    citizens at a time where one within a household's span of them is flagged: few are, and
    a share of 0 adds 0.0, which changes no bit."""
    marks, reach, n = a.marks, HOUSEHOLD_MAX - 1, a.age.shape[0]
    for k0 in range(0, out.shape[0], 8):
        near = 0
        for j in range(max(lo + k0 - reach, 0), min(lo + k0 + 8 + reach, n)):
            near |= is_marked(marks, j)
        if near:
            household_shares(a.age, a.flags, marks, lo + k0, out[k0:k0 + 8])


@njit(cache=True, nogil=True)
def shares_into(a: Shares, sizes: tuple, lo: int, out: np.ndarray) -> None:
    """``out[k]``: citizen lo + k's share of flagged ties, the mean over reaches of its flagged
    ties over its ties (``sizes``: the tally's; 0 without ties of a reach), summed in the
    reaches' order as :func:`ties.tie_share`'s callers did. Reach by reach over a part of the
    citizens (:data:`SHARE_PART` in a reading's parallel loop), so that no array of n shares is
    made and the tallied reaches' passes vectorise: 2.2 times as fast as citizen by citizen."""
    out[:] = 0.0
    for r in range(a.rows.shape[0]):
        row = a.rows[r]
        if row < 0:
            _household_shares(a, lo, out)
        else:
            _tallied_shares(a, sizes[row], row, lo, out)
    out /= a.rows.shape[0]


@njit(cache=True, nogil=True)
def changes(flag: np.ndarray, marks: np.ndarray, lo: int) -> np.ndarray:
    """The citizens lo.. (lo a multiple of ``today.WORD``) whose flag (set: not 0) differs from
    their bit of ``marks``, the flags last read, in order; ``marks`` takes the new flags. A word
    of flags at a time: its changed bits found by one exclusive or, and listed only where any
    changed (few do), without masks of n."""
    moved = np.empty((flag.shape[0] + WORD - 1) // WORD, np.uint64)
    m, first = 0, lo // WORD
    for w in range(moved.shape[0]):
        held = min(WORD, flag.shape[0] - w * WORD)  # the word's citizens
        bits = ((flags_word(flag, w * WORD, held, 0) ^ marks[first + w])
                & (~np.uint64(0) >> np.uint64(WORD - held)))
        moved[w] = bits
        while bits:
            m += 1
            bits &= bits - np.uint64(1)
    changed = np.empty(m, np.int64)
    m = 0
    for w in range(moved.shape[0]):
        if moved[w]:
            m = bits_into(moved[w], lo + w * WORD, changed, m)
            marks[first + w] ^= moved[w]
    return changed


class TieTally:
    """Flagged ties per citizen over some reaches, for one flag (a stage's notion of bad)."""

    def __init__(self, store: TieStore, reaches: list[str]) -> None:
        n = store.pop.size
        tallied = [r for r in reaches if r not in COUNTED]
        self.store, self.ties = store, store.model()
        self.reaches = np.array([REACHES.index(r) for r in tallied], np.int64)
        # a byte per tallied reach: each citizen's number of ties (one never read where none)
        self.sizes = tuple(store.sizes[r] for r in tallied) or (np.zeros(0, np.uint8),)
        self.rows = np.array([tallied.index(r) if r in tallied else -1 for r in reaches])
        self.bad = np.zeros((len(tallied), n), np.uint8)
        self.wide_bad = np.zeros(store.wide.ids.shape[0], np.uint16)  # its reaches' rows
        self.marks = np.zeros((n + WORD - 1) // WORD, np.uint64)  # the flags last read, a bit each

    @property
    def shares(self) -> Shares:
        """What a reading takes the citizens' :func:`shares_into` from, with :attr:`sizes`."""
        w = self.store.wide
        return Shares(self.bad, self.rows, self.ties.age, self.ties.flags, self.marks,
                      self.reaches, self.wide_bad, w.ids, w.sizes, w.first, w.last)

    @property
    def nbytes(self) -> int:
        """Bytes of the tally's own arrays (the sizes and the book belong to the ``TieStore``)."""
        return self.bad.nbytes + self.wide_bad.nbytes + self.marks.nbytes

    def update(self, fill: Callable[[int, int, np.ndarray], None]) -> None:
        """Count the ties flagged today, pushing the flags changed since the last update; a
        reading then takes the citizens' :func:`shares_into` of :attr:`shares`. ``fill(lo, hi,
        out)`` writes the flags of citizens lo..hi-1 (set: not 0) into ``out``, a block at a
        time, so that no flag of all n is made; the blocks are read on as many threads as
        Numba's kernels have (``fill`` must release the lock, as a kernel or a ufunc does)."""
        n = self.store.pop.size

        def scan(lo: int) -> np.ndarray:
            hi = min(lo + BLOCK, n)
            flags = np.empty(hi - lo, np.uint8)
            fill(lo, hi, flags)
            return changes(flags, self.marks, lo)

        blocks = range(0, n, BLOCK)
        workers = min(numba.get_num_threads(), len(blocks))
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                found = list(pool.map(scan, blocks))
        else:
            found = [scan(lo) for lo in blocks]
        changed = np.concatenate(found) if found else np.zeros(0, np.int64)
        for k, reach in enumerate(self.reaches):
            push(self.ties, reach, changed, self.marks, self.sizes[k], self.store.wide,
                 self.bad[k], self.wide_bad, PUSH_PARTS * numba.get_num_threads())


class TieStore:
    """The tie model of a run and each reach's number of ties per citizen (a byte; :data:`WIDE`
    from ``wide_from`` on, the number then in the book ``wide``), made on first demand and
    shared by the stages that tally ties (``tie_tally``)."""

    def __init__(self, pop: Population, seed: int, wide_from: int = WIDE) -> None:
        if not 1 <= wide_from <= WIDE:
            raise ValueError(f"wide_from must be 1 to {WIDE}, got {wide_from}")
        self.pop, self.seed, self.wide_from = pop, seed, wide_from
        self.sizes: dict[str, np.ndarray] = {}
        self.wide = NO_WIDE
        self._ties: Ties | None = None

    def model(self) -> Ties:
        """The tie model itself, for a stage that enumerates a few citizens' ties a day."""
        if self._ties is None:
            self._ties = make_ties(self.pop, self.seed)
        return self._ties

    def tally(self, reaches: list[str]) -> TieTally:
        """A new tally of flagged ties over ``reaches``, no flag set yet."""
        new = [r for r in reaches if r not in self.sizes and r not in COUNTED]
        for r, full in sizes(self.model(), new).items():
            self._add_reach(r, full)
        return TieTally(self, reaches)

    def _add_reach(self, reach: str, full: np.ndarray) -> None:
        """Keep a reach's numbers of ties a byte each, the wide citizens' in the book."""
        wide = np.flatnonzero(full >= self.wide_from)
        k, w = REACHES.index(reach), self.wide
        first, last = w.first.copy(), w.last.copy()
        first[k], last[k] = w.ids.shape[0], w.ids.shape[0] + wide.shape[0]
        self.wide = Wide(np.concatenate((w.ids, wide)), np.concatenate((w.sizes, full[wide])),
                         first, last)
        narrow = full.astype(np.uint8)
        narrow[wide] = WIDE
        self.sizes[reach] = narrow
