"""How a kernel step's arguments for a run of whole chunks are cut into a chunk's: pieces.

A phase whose kernel steps all say how (``state.kernel_step``'s ``pieces``) is one call a worker
a day (:mod:`panopticon.world.fused`): Python makes each step's arguments once, for a run of
citizens (all of them where the phase's workers share it), and the generated kernel cuts them
into a piece of at most a chunk at a time, which the worker claims (:func:`claim`), in which
every step runs before the next piece, as the engine's chunks do. Each argument, and
each field of a named tuple of them (:class:`Fields`), is one of these kinds, or a function
``cut(value, lo, hi)`` compiled with Numba that makes the piece's value (a book of rows by
citizen):

- ``SAME``: the same in every piece (parameters, day values, the counters);
- ``FIRST``: the run's first citizen; a piece's is ``first + lo``;
- ``RUNS``: the runs of one region (``engine.RegionRuns``), made for the piece (:func:`runs`);
- ``CITIZENS``: an entry per citizen of the run on the last axis, cut to the piece's;
- ``BUFFER``: one of today's buffers, of a chunk's length: the piece's first ``hi - lo``;
- ``WORDS``: today's ``marked``: the words of the piece's ``hi - lo`` citizens.

A chunk's arguments are a piece's too (``lo`` 0, ``hi`` its length), so a step still runs on
a chunk by itself, as the tests and unfused phases call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .atomics import atomic_cas

SAME, FIRST, RUNS, CITIZENS, BUFFER, WORDS = "same", "first", "runs", "citizens", "buffer", "words"
KINDS = (SAME, FIRST, RUNS, CITIZENS, BUFFER, WORDS)
SMALLEST = 8_192  # citizens: the least piece that workers sharing a run claim (:func:`claim`)


@dataclass(frozen=True)
class Fields:
    """A named tuple argument cut field by field: ``kinds`` by field name, ``SAME`` for the
    fields it does not name."""

    cls: type
    kinds: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(self.cls._fields)
        if unknown:
            raise ValueError(f"{self.cls.__name__} has no field {sorted(unknown)}")
        for kind in self.kinds.values():
            check(kind)

    def of(self, name: str) -> Kind:
        return self.kinds.get(name, SAME)


Kind = str | Callable | Fields


def check(kind: object) -> None:
    """Refuse a kind that is none of the above."""
    if isinstance(kind, Fields) or callable(kind) or kind in KINDS:
        return
    raise ValueError(f"a piece's kind is one of {KINDS}, a Fields or a function, not {kind!r}")


@njit(cache=True, nogil=True)
def runs(starts: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The runs of one region in citizens lo..hi-1, counted from lo (a chunk's, which
    ``engine.RegionRuns`` keeps, or a piece's), from each region's first citizen ``starts`` (in
    order, with n last; a region without citizens repeats its successor's): 0, each region's
    first citizen strictly inside, hi - lo."""
    out = np.empty(starts.shape[0] + 2, np.int64)
    out[0], m = 0, 1
    for s in starts:
        if lo < s < hi and s != out[m - 1] + lo:
            out[m] = s - lo
            m += 1
    out[m] = hi - lo
    return out[:m + 1]


@njit(cache=True, nogil=True)
def claim(claims: np.ndarray, size: int, capacity: int) -> tuple[int, int]:
    """The next piece lo..hi of a run of ``size`` citizens that ``claims[1]`` workers share,
    ``claims[0]`` being its first citizen that none has claimed (taken in one indivisible
    step); (size, size) once none is left. One worker takes as few pieces as hold at most
    ``capacity`` each, of sizes that differ by one at most (``engine.chunk_bounds``'s rule).
    Several take a chunk's at first, then ever smaller ones (a share of what is left, down to
    SMALLEST), so that they end together whatever each citizen costs and however late each
    starts."""
    lo, count = claims[0], max(1, -(-size // max(capacity, 1)))
    while lo < size:
        if claims[1] == 1:  # the piece after the one that ends at lo: lo = q size // count
            hi = (-(-(lo * count) // size) + 1) * size // count
        else:
            hi = lo + min(capacity, max(SMALLEST, (size - lo) // (2 * claims[1])))
        hi = min(hi, size)
        seen = atomic_cas(claims, 0, lo, hi)
        if seen == lo:
            return lo, hi
        lo = seen
    return size, size


def source(kind: Kind, value: str, imports: dict[object, str]) -> str:
    """The expression of an argument's piece, ``value`` the expression of the run's, in a
    generated kernel where ``lo``, ``hi``, ``n`` (hi - lo) and ``piece_runs`` are the piece's;
    adds to ``imports`` the names it uses of other modules."""
    if isinstance(kind, Fields):
        parts = ", ".join(source(kind.of(f), f"{value}.{f}", imports) for f in kind.cls._fields)
        return f"{name_of(kind.cls, imports)}({parts})"
    if callable(kind):
        return f"{name_of(kind, imports)}({value}, lo, hi)"
    return {SAME: value, FIRST: f"{value} + lo", RUNS: "piece_runs",
            CITIZENS: f"{value}[..., lo:hi]", BUFFER: f"{value}[:n]",
            WORDS: f"{value}[:(n + 63) // 64]"}[kind]


def name_of(thing: object, imports: dict[object, str]) -> str:
    """The name under which the generated module imports ``thing`` (a class or a function)."""
    if thing not in imports:
        imports[thing] = f"p{len(imports)}"
    return imports[thing]
