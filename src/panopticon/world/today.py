"""What stages hand each other within a day: a worker's buffers for the chunk in hand.

:class:`Today` holds one worker's buffers, each of chunk capacity: what a stage makes for the
stages after it on the same day (the acts done, the records made). The engine
hands each worker one and every step of a phase receives it. A stage's version of it also keeps
what the stage's steps take of each chunk for the whole run (:meth:`Today.kept`).

Of a chunk's citizens, a few percent do on a day anything beyond a lawful post: the others'
acts are lawful posts at most, their records none. ``marked`` holds a bit per citizen of the
chunk, set for every citizen who has more (behaviour marks those whose acts it settles to more
than a lawful post, a stage that records marks whom it records), so that the stages after them
visit the marked (:func:`marked_into`) instead of scanning every citizen's word for the few
that are not zero. ``moved`` holds a byte per citizen of the chunk, set where what consequences
work out a citizen's standing from moved today (the registry's status, the lists, a score across
a measure's cut: fewer than 0.1% of citizens a day), so that consequences visit those
(:func:`moved_into`), not everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

T = TypeVar("T")
WORD = 64  # citizens a word of ``marked`` holds


class ContractError(Exception):
    """A stage used an array or buffer against its declarations (the message is one line)."""


@dataclass(frozen=True, eq=False)
class Today:
    """A worker's buffers for the chunk in hand (bits of ``codes``); a step uses ``[:hi - lo]``."""

    acts: np.ndarray  # uint64: the acts done today (behaviour makes them)
    records: np.ndarray  # uint64: what was recorded of them and beyond (sensing, registry)
    todo: np.ndarray  # int32: any step's list of citizens to visit, scratch
    marked: np.ndarray  # uint64: a bit per citizen who does more than post lawfully or has records
    status: np.ndarray  # uint8: the registry's status of each citizen once it has run (codes)
    moved: np.ndarray  # uint8: 1 where what a citizen's standing is worked out from moved today
    seen: dict = field(default_factory=dict, repr=False)  # each stage's version of it
    chunks: dict = field(default_factory=dict, repr=False)  # what kept() made, by chunk

    BUFFERS: ClassVar[tuple[str, ...]] = ("acts", "records", "marked", "status", "moved")

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
                   todo=np.zeros(capacity, np.int32),
                   marked=np.zeros(capacity // WORD + 1, np.uint64),
                   status=np.zeros(capacity, np.uint8), moved=np.zeros(capacity, np.uint8))


class Undeclared:
    """Stands for a buffer of today that a stage did not declare: any use is a ContractError."""

    def __init__(self, stage: str, name: str) -> None:
        self.message = (f"stage '{stage}' uses today's '{name}', which is not in its OWNS, READS "
                        f"or WRITES")

    def __getitem__(self, key: Any) -> np.ndarray:
        raise ContractError(self.message)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise ContractError(self.message)


@intrinsic
def trailing_zeros(typingctx, word):
    """The number of zero bits below the lowest set bit of ``word`` (a uint64 not 0): LLVM's
    ``cttz``, one instruction."""
    if word != types.uint64:
        return None

    def codegen(context, builder, sig, args):
        return builder.cttz(args[0], cgutils.true_bit)  # not 0: any result will do for 0

    return types.uint64(word), codegen


@njit(cache=True, nogil=True, inline="always")
def pop_lowest(bits: np.uint64) -> tuple[int, np.uint64]:
    """The lowest set bit of ``bits`` (a uint64 not 0) and ``bits`` without it: a loop
    ``while bits`` over these visits only the bits set, in order, where a loop over every bit
    position tests each (a record word has some fifty, of which a visit holds one or two)."""
    return np.int64(trailing_zeros(bits)), bits & (bits - np.uint64(1))


@njit(cache=True, nogil=True, inline="always")
def mark(marked: np.ndarray, j: int) -> None:
    """Mark citizen j of the chunk."""
    marked[j // WORD] |= np.uint64(1) << np.uint64(j % WORD)


@njit(cache=True, nogil=True, inline="always")
def is_marked(marked: np.ndarray, j: int) -> int:
    """1 where citizen j is marked in ``marked`` (or any array of bits laid out as it is)."""
    return np.int64(marked[j // WORD] >> np.uint64(j % WORD) & np.uint64(1))


@njit(cache=True, nogil=True)
def unpack_bits(bits: np.ndarray, lo: int, out: np.ndarray) -> None:
    """Into ``out[k]``, 1 where citizen lo + k is marked in ``bits`` (laid out as ``marked``),
    else 0: a word's 64 at a time (which vectorises) between the ends' odd bits."""
    n, k = out.shape[0], 0
    while k < n and (lo + k) % WORD:
        out[k] = is_marked(bits, lo + k)
        k += 1
    while k + WORD <= n:
        word = bits[(lo + k) // WORD]
        for b in range(WORD):
            out[k + b] = word >> np.uint64(b) & np.uint64(1)
        k += WORD
    while k < n:
        out[k] = is_marked(bits, lo + k)
        k += 1


@njit(cache=True, nogil=True, inline="always")
def flags_word(flags: np.ndarray, j: int, take: int, shift: int) -> np.uint64:
    """The flags (set: not 0) ``flags[j:j + take]`` as the bits from ``shift`` of one word
    (``shift + take`` at most WORD)."""
    word = np.uint64(0)
    for b in range(take):
        word |= np.uint64(flags[j + b] != 0) << np.uint64(shift + b)
    return word


def words_of(n: int) -> slice:
    """The words of ``marked`` that a chunk of n citizens uses: a step takes these, and
    behaviour, the first of the day's stages, clears them."""
    return slice(0, (n + WORD - 1) // WORD)


@njit(cache=True, nogil=True, inline="always")
def word_in(marked: np.ndarray, w: int, lo: int, hi: int) -> np.uint64:
    """Word w of ``marked`` without the bits of citizens outside lo..hi-1."""
    bits, first = marked[w], w * WORD
    if lo > first:
        bits &= ~np.uint64(0) << np.uint64(lo - first)
    if hi < first + WORD:
        bits &= (np.uint64(1) << np.uint64(hi - first)) - np.uint64(1)
    return bits


@njit(cache=True, nogil=True, inline="always")
def bits_into(bits: np.uint64, first: int, todo: np.ndarray, m: int) -> int:
    """Append to todo[m:] the citizens ``first + b`` of the bits b set in ``bits``, in order;
    returns the new m."""
    while bits:
        b, bits = pop_lowest(bits)
        todo[m] = first + b
        m += 1
    return m


@njit(cache=True, nogil=True, inline="always")
def marked_into(marked: np.ndarray, lo: int, hi: int, todo: np.ndarray) -> int:
    """The marked citizens of lo..hi-1, in order, into todo[:m]; returns m. The count starts
    as an int64: from a literal 0, Numba types a kernel given it (inlined) for
    ``Literal[int](0)`` before int64 and compiles the kernel twice."""
    m = np.int64(0)
    for w in range(lo // WORD, (hi + WORD - 1) // WORD):
        m = bits_into(word_in(marked, w, lo, hi), w * WORD, todo, m)
    return m


@njit(cache=True, nogil=True, inline="always")
def moved_into(moved: np.ndarray, n: int, todo: np.ndarray) -> int:
    """The citizens j < n with ``moved[j]`` not 0 (bytes), in order, into todo[:m]; returns m.
    Eight bytes are tested at once, as nearly all are 0. The count starts as an int64
    (:func:`marked_into`)."""
    whole, m = n - n % 8, np.int64(0)
    eights = moved[:whole].view(np.uint64)
    for w in range(eights.shape[0]):
        if eights[w]:
            for j in range(8 * w, 8 * w + 8):
                todo[m] = j
                m += moved[j] != 0
    for j in range(whole, n):
        todo[m] = j
        m += moved[j] != 0
    return m


@njit(cache=True, nogil=True, inline="always")
def marked_or_due_into(marked: np.ndarray, words: np.ndarray, mask: int, ids: np.ndarray,
                       due: np.ndarray, day: int, first: int, lo: int, hi: int,
                       todo: np.ndarray) -> int:
    """The citizens of lo..hi-1 marked whose word of ``words`` holds a bit of ``mask``, or in
    ``ids`` (in order, numbered from the population's first citizen; ``first``: the chunk's)
    with a ``due`` day up to ``day``, in order and once each, into todo[:m]; returns m. Each
    test is a bit set or not, without a branch: which citizens pass is not foreseeable."""
    m, r = 0, np.searchsorted(ids, first + lo)
    for w in range(lo // WORD, (hi + WORD - 1) // WORD):
        start = w * WORD
        bits, end = word_in(marked, w, lo, hi), first + min(start + WORD, hi)
        chosen = np.uint64(0)
        while bits:
            b, bits = pop_lowest(bits)
            chosen |= np.uint64((np.int64(words[start + b]) & mask) != 0) << np.uint64(b)
        while r < ids.shape[0] and ids[r] < end:
            chosen |= np.uint64(due[r] <= day) << np.uint64(ids[r] - first - start)
            r += 1
        m = bits_into(chosen, start, todo, m)
    return m
