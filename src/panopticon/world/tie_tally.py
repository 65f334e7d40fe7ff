"""Per citizen and reach, how many of its ties are flagged: kept by pushing each change of a flag.

The bad-company term and fear's jump read, every few weeks, the share of a citizen's ties whose
standing is bad. Reading every tie each time needs the ties stored (a CSR form: 157 bytes a citizen
at china-2018's reaches) and a pass over all of them. A standing changes for few citizens between
two readings (about 0.1% of citizens a month in china-2018), so a tally keeps, per reach, each
citizen's count of flagged ties beside its number of ties, and a reading enumerates only the ties
of the citizens whose flag changed, adding or taking 1 at the other end. Every reach is enumerable
from that other end (``ties``: friends, households, workplaces and schools are symmetric; an
account's followers are its friends who follow it and the owners of its pick slots), so no tie is
stored: per citizen, half a byte a reach for the count, a bit for the flag last read and a byte
for its number of ties (shared by a run's tallies, ``TieStore``). A citizen with :data:`WIDE` ties
or more of a reach (0.1% of them in china-2018's friends) has :data:`WIDE` in that byte, and its
number and counts in the store's book of wide citizens (``Wide``), which is fixed at build, so
that the numbers of all the others fit in a byte. Few ties are flagged (in china-2018 no count
of the bad-company term's passes 7 over 2014-2019, and one in a million of fear's 14), so a
count is kept in half a byte up to :data:`FULL`; from there on the tally's book of the full
(``Over``) holds what it has beyond, made as pushes reach it. The household reach is not
tallied: a reading counts a citizen's few relatives flagged from the flags last read
(``ties.household_shares``), for no memory. Nor is any flag kept or made for all n at once: an
update reads the flags block by block (:data:`BLOCK`) from its stage's own arrays.

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

from .atomics import atomic_add, atomic_cas
from .population import HOUSEHOLD_MAX, Population
from .tie_counts import sizes
from .ties import (
    FOLLOWS,
    FRIENDS,
    REACHES,
    Ties,
    follows_friend,
    household_shares,
    household_span,
    make_ties,
    max_ties,
    pick_slots,
    picker,
    ties_into,
)
from .today import WORD, bits_into, flags_word, is_marked, pop_lowest, word_in

COUNTED = ("household",)  # reaches a reading counts instead of a tally keeping them
BLOCK = 1 << 18  # citizens whose flags an update reads at a time (a multiple of WORD)
SHARE_PART = 4096  # citizens whose shares a reading's worker makes at a time (shares_into)
PUSH_PARTS = 4  # parts of a push's changed citizens per worker (their ties differ in number)
WIDE = 255  # a citizen's byte of a reach's number of ties where the store's book holds it
FULL = 15  # a count's half byte where the tally's book of the full holds the rest (Over)
EVENTS = 4096  # a push's first room per part for the counts it finds full (TieTally._push)


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


class Over(NamedTuple):
    """A tally's book of the full: per tallied reach, the citizens whose count's half byte says
    :data:`FULL`, in order, and their counts beyond it, row after row (``first``, ``last``: each
    tallied reach's rows). A citizen is in it exactly while its count is :data:`FULL` or more,
    so that the book and the half bytes are the same after any order of pushes."""

    ids: np.ndarray  # int64
    beyond: np.ndarray  # int32: the count less FULL
    first: np.ndarray  # int64 per tallied reach
    last: np.ndarray


@njit(cache=True, nogil=True, inline="always")
def half_of(i: int) -> tuple[int, int]:
    """Citizen i's byte of a tallied reach's half bytes, and the shift of its half in it (two
    citizens a byte, the even one low)."""
    return i >> 1, (i & 1) << 2


@njit(cache=True, nogil=True)
def counts_into(bad: np.ndarray, lo: int, out: np.ndarray) -> None:
    """The counts of citizens lo.. in a tallied reach's half bytes (:data:`FULL`: see the book)
    into ``out`` (bytes), a byte of two citizens at a time, in a loop of its own: a half byte
    found per citizen in a pass (a shift that differs from lane to lane) kept it from
    vectorising (a reading's friends, 1.41 M citizens, one thread: 1.6 ms against 5.2, scratch
    ``sharevar.py``)."""
    n, k = out.shape[0], 0
    if lo & 1 and n:  # an odd first citizen: the high half of its byte
        out[0], k = bad[lo >> 1] >> np.uint8(4), 1
    first, pairs = (lo + k) >> 1, (n - k) >> 1
    for q in range(pairs):
        byte = bad[first + q]
        out[k + 2 * q], out[k + 2 * q + 1] = byte & np.uint8(FULL), byte >> np.uint8(4)
    if k + 2 * pairs < n:  # an even last citizen: the low half of its byte
        out[n - 1] = bad[first + pairs] & np.uint8(FULL)


@njit(cache=True, nogil=True, inline="always")
def _add_half(bad: np.ndarray, i: int, delta: int) -> int:
    """Add delta to citizen i's half byte unless it is :data:`FULL`, in one indivisible step
    (its neighbour's half may change at once): 0 where added, 1 where added and now full, 2
    where full already (nothing added)."""
    byte, shift = half_of(i)
    old = bad[byte]
    while True:
        count = np.int64(old >> np.uint8(shift)) & FULL
        if count == FULL:
            return 2
        new = np.uint8((np.int64(old) + (delta << shift)) & 0xFF)
        found = atomic_cas(bad, byte, old, new)
        if found == old:
            return 1 if count + delta == FULL else 0
        old = found


@njit(cache=True, nogil=True, inline="always")
def _add(size: np.ndarray, w: Wide, reach: int, bad: np.ndarray, wide_bad: np.ndarray, i: int,
         delta: int, ids: np.ndarray, deltas: np.ndarray, used: int) -> int:
    """Add delta to citizen i's count; returns ``used`` with a row of (ids, deltas) more where
    the count is or becomes full (a delta of 0: it became full)."""
    if size[i] == WIDE:
        atomic_add(wide_bad, wide_row(w.ids, w.first, w.last, reach, i), delta)
        return used
    found = _add_half(bad, i, delta)
    if found:
        ids[used], deltas[used] = i, delta if found == 2 else 0
        used += 1
    return used


@njit(cache=True, nogil=True, parallel=True)
def push(t: Ties, reach: int, changed: np.ndarray, marks: np.ndarray, size: np.ndarray,
         w: Wide, bad: np.ndarray, wide_bad: np.ndarray, start: np.ndarray, stop: np.ndarray,
         ids: np.ndarray, deltas: np.ndarray, used: np.ndarray) -> None:
    """Add 1 to the count at the other end of each tie of a reach of each citizen in
    ``changed`` whose flag (its bit of ``marks``) is now set; take 1 where it is now clear. A
    count is in ``bad``'s half bytes, or in ``wide_bad`` at the book's row where the citizen's
    byte of ``size`` says :data:`WIDE`. Numba's workers take a part each, ``changed[start[p]:
    stop[p]]``, and add indivisibly (a reading's push ran alone on the main thread, while the
    others waited). A part lists in its row of ``ids`` and ``deltas`` the counts it found or
    made full, for the book (``TieTally._push``), and stops before a citizen whose ties could
    overrun that row; ``start[p]`` says where it stopped, ``used[p]`` how many rows it listed."""
    for part in prange(start.shape[0]):
        buf = np.empty(max_ties(t, reach), np.int64)
        n, room = 0, ids.shape[1]
        q = start[part]
        while q < stop[part]:
            c = changed[q]
            delta = 1 if is_marked(marks, c) else -1
            m = (_followers_of_friends(t, c, buf) if reach == FOLLOWS
                 else ties_into(t, reach, c, buf))
            first, last = pick_slots(t, c) if reach == FOLLOWS else (0, 0)
            if n + m + last - first > room:
                break
            for k in range(m):
                n = _add(size, w, reach, bad, wide_bad, buf[k], delta, ids[part], deltas[part], n)
            for s in range(first, last):
                i = picker(t, c, s)
                if i >= 0:
                    n = _add(size, w, reach, bad, wide_bad, i, delta, ids[part], deltas[part], n)
            q += 1
        start[part], used[part] = q, n


@njit(cache=True, nogil=True)
def set_counts(bad: np.ndarray, ids: np.ndarray, counts: np.ndarray) -> None:
    """Citizens' half bytes set to their counts (below :data:`FULL`), one after the other
    (two citizens share a byte)."""
    for k in range(ids.shape[0]):
        byte, shift = half_of(ids[k])
        kept = bad[byte] & np.uint8(~(FULL << shift) & 0xFF)
        bad[byte] = kept | np.uint8(counts[k] << shift)


class Shares(NamedTuple):
    """What a reading's kernel takes each citizen's share of flagged ties from, beside the
    tallied reaches' numbers of ties (a tuple of arrays, which a parallel loop takes as an
    argument of its own, not inside a tuple)."""

    bad: np.ndarray  # uint8 [tallied reaches, (n + 1) // 2]: flagged ties, half a byte each
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
    over_ids: np.ndarray  # the tally's book of the full (Over), its arrays one by one
    over_beyond: np.ndarray
    over_first: np.ndarray
    over_last: np.ndarray


@njit(cache=True, nogil=True, inline="always")
def within(ids: np.ndarray, first: int, last: int, lo: int, hi: int) -> tuple[int, int]:
    """The rows first..last-1 of a book (its ``ids`` in order) of citizens lo..hi-1."""
    part = ids[first:last]
    return first + np.searchsorted(part, lo), first + np.searchsorted(part, hi)


@njit(cache=True, nogil=True, error_model="numpy")
def _tallied_shares(a: Shares, size: np.ndarray, row: int, lo: int, out: np.ndarray) -> None:
    """Add the share of flagged ties of a tallied reach (``row`` of ``a.bad``; ``size``: its
    numbers of ties) of citizens lo.. to ``out``: the narrow ones below :data:`FULL` in a pass
    without branches over their counts made bytes (:func:`counts_into`; a share of 0 adds 0.0,
    which changes no bit), then the wide and the full from the books' rows of the reach and of
    these citizens, instead of a search of a book per citizen in the pass."""
    hi = lo + out.shape[0]
    counts = np.empty(out.shape[0], np.uint8)
    counts_into(a.bad[row], lo, counts)
    for k in range(out.shape[0]):
        b, m = np.int64(counts[k]), np.int64(size[lo + k])
        narrow = (b > 0) & (m != WIDE) & (b != FULL)
        out[k] += np.float64(b * narrow) / np.float64(max(m, 1))
    reach = a.reach[row]
    first, last = within(a.wide_ids, a.wide_first[reach], a.wide_last[reach], lo, hi)
    for w in range(first, last):
        if a.wide_bad[w] > 0:
            out[a.wide_ids[w] - lo] += np.int64(a.wide_bad[w]) / np.int64(a.wide_sizes[w])
    first, last = within(a.over_ids, a.over_first[row], a.over_last[row], lo, hi)
    for f in range(first, last):
        i = a.over_ids[f]
        out[i - lo] += np.float64(FULL + a.over_beyond[f]) / np.float64(size[i])


@njit(cache=True, nogil=True)
def _household_shares(a: Shares, lo: int, out: np.ndarray) -> None:
    """Add the share of flagged household ties of citizens lo.. to ``out``, found only for the
    households that hold a flagged citizen (few do; a share of 0 adds 0.0, which changes no
    bit): the flagged within a household's span of lo.. walked by their bits, each
    household's citizens of lo.. counted once (a test of every eight citizens' span of bits
    took three times as long, scratch ``sharevar.py``)."""
    marks, n, hi = a.marks, a.age.shape[0], lo + out.shape[0]
    first, last = max(lo - (HOUSEHOLD_MAX - 1), 0), min(hi + HOUSEHOLD_MAX - 1, n)
    done = lo
    for w in range(first // WORD, (last + WORD - 1) // WORD):
        bits = word_in(marks, w, first, last)
        while bits:
            c, bits = pop_lowest(bits)
            head, end = household_span(a.flags, w * WORD + c)
            start, end = max(head, done), min(end, hi)
            if start < end:
                household_shares(a.age, a.flags, marks, start, out[start - lo:end - lo])
                done = end


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
    of flags at a time: its changed bits found by one exclusive or."""
    moved = np.empty((flag.shape[0] + WORD - 1) // WORD, np.uint64)
    first = lo // WORD
    for w in range(moved.shape[0]):
        held = min(WORD, flag.shape[0] - w * WORD)  # the word's citizens
        moved[w] = ((flags_word(flag, w * WORD, held, 0) ^ marks[first + w])
                    & (~np.uint64(0) >> np.uint64(WORD - held)))
    return listed(moved, marks, lo)


@njit(cache=True, nogil=True)
def bit_changes(bits: np.ndarray, marks: np.ndarray, n: int) -> np.ndarray:
    """:func:`changes` of all n citizens from flags held as bits (laid out as ``marks``), a
    word at a time: no byte per citizen made and packed again."""
    moved = np.empty(marks.shape[0], np.uint64)
    for w in range(moved.shape[0]):
        moved[w] = word_in(bits, w, 0, n) ^ marks[w]
    return listed(moved, marks, 0)


@njit(cache=True, nogil=True)
def listed(moved: np.ndarray, marks: np.ndarray, lo: int) -> np.ndarray:
    """The citizens of the bits set in ``moved`` (words of changed flags of citizens from lo, a
    multiple of WORD), in order, listed only where a word has any (few do), without masks of
    n; ``marks`` takes the changes."""
    m, first = 0, lo // WORD
    for w in range(moved.shape[0]):
        bits = moved[w]
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
        self.bad = np.zeros((len(tallied), (n + 1) // 2), np.uint8)  # half a byte a count
        self.wide_bad = np.zeros(store.wide.ids.shape[0], np.uint16)  # its reaches' rows
        self.marks = np.zeros((n + WORD - 1) // WORD, np.uint64)  # the flags last read, a bit each
        # per tallied reach, the book of the full: its citizens in order, their counts beyond
        self.full = [(np.zeros(0, np.int64), np.zeros(0, np.int32)) for _ in tallied]

    @property
    def shares(self) -> Shares:
        """What a reading takes the citizens' :func:`shares_into` from, with :attr:`sizes`."""
        w, o = self.store.wide, self.over
        return Shares(self.bad, self.rows, self.ties.age, self.ties.flags, self.marks,
                      self.reaches, self.wide_bad, w.ids, w.sizes, w.first, w.last, *o)

    @property
    def over(self) -> Over:
        """The book of the full, its reaches' rows one after the other."""
        held = np.array([ids.shape[0] for ids, _ in self.full], np.int64)
        return Over(np.concatenate([np.zeros(0, np.int64)] + [ids for ids, _ in self.full]),
                    np.concatenate([np.zeros(0, np.int32)] + [b for _, b in self.full]),
                    np.cumsum(held) - held, np.cumsum(held))

    @property
    def nbytes(self) -> int:
        """Bytes of the tally's own arrays (the sizes and the wide belong to the ``TieStore``)."""
        return (self.bad.nbytes + self.wide_bad.nbytes + self.marks.nbytes
                + sum(ids.nbytes + beyond.nbytes for ids, beyond in self.full))

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
        self._push_all(np.concatenate(found) if found else np.zeros(0, np.int64))

    def update_bits(self, bits: np.ndarray) -> None:
        """:meth:`update` from the flags of all citizens held as bits (laid out as
        ``today.marked``), compared with the flags last read a word at a time."""
        self._push_all(bit_changes(bits, self.marks, self.store.pop.size))

    def _push_all(self, changed: np.ndarray) -> None:
        """Push the citizens whose flag ``changed`` to every tallied reach's counts."""
        for k in range(self.reaches.shape[0]):
            self._push(k, changed)

    def _push(self, k: int, changed: np.ndarray) -> None:
        """Push the changes to tallied reach k's counts, in parts on Numba's workers; the counts
        they found or made full go to the book. A part whose room for them ran out goes on
        from where it stopped, with twice the room where it could not take one citizen."""
        parts = min(changed.shape[0], PUSH_PARTS * numba.get_num_threads())
        bounds = np.arange(parts + 1, dtype=np.int64) * changed.shape[0] // max(parts, 1)
        start, stop, room = bounds[:-1].copy(), bounds[1:], EVENTS
        while (start < stop).any():
            ids, deltas = np.empty((parts, room), np.int64), np.empty((parts, room), np.int8)
            used, before = np.zeros(parts, np.int64), start.copy()
            push(self.ties, self.reaches[k], changed, self.marks, self.sizes[k],
                 self.store.wide, self.bad[k], self.wide_bad, start, stop, ids, deltas, used)
            self._file_full(k, np.concatenate([ids[p, :used[p]] for p in range(parts)]),
                            np.concatenate([deltas[p, :used[p]] for p in range(parts)]))
            if ((start == before) & (start < stop)).any():
                room *= 2

    def _file_full(self, k: int, ids: np.ndarray, deltas: np.ndarray) -> None:
        """Add a push's listed counts to tallied reach k's book of the full (a delta of 0 puts
        a citizen in it); a citizen whose count fell below :data:`FULL` leaves it for its half
        byte."""
        if not ids.shape[0]:
            return
        held, beyond = self.full[k]
        every, at = np.unique(np.concatenate((held, ids)), return_inverse=True)
        counts = np.zeros(every.shape[0], np.int32)
        np.add.at(counts, at, np.concatenate((beyond, deltas.astype(np.int32))))
        below = counts < 0
        set_counts(self.bad[k], every[below], FULL + counts[below])
        self.full[k] = (every[~below], counts[~below])


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
