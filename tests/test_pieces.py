"""How a kernel step's arguments for a run of chunks are cut into a piece's."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panopticon.world import pieces
from panopticon.world.engine import RegionRuns, chunk_bounds
from panopticon.world.pieces import BUFFER, CITIZENS, Fields
from panopticon.world.state import kernel_step


@given(sizes=st.lists(st.integers(0, 40), min_size=1, max_size=8), data=st.data())
@settings(max_examples=200, deadline=None)
def test_a_pieces_runs_are_its_bounds_and_the_region_starts_inside(sizes, data):
    """Regions without citizens (a first citizen repeated) and pieces anywhere; the engine's
    runs of a chunk are the same."""
    starts = np.concatenate(([0], np.cumsum(sizes)))
    n = int(starts[-1])
    lo = data.draw(st.integers(0, n))
    hi = data.draw(st.integers(lo, n))
    inside = sorted({int(s) for s in starts if lo < s < hi})
    expected = np.array([lo, *inside, hi]) - lo if hi > lo else np.array([0, 0])
    np.testing.assert_array_equal(pieces.runs(starts, lo, hi), expected)
    np.testing.assert_array_equal(RegionRuns(starts)(lo, hi), expected)


def claimed(size: int, capacity: int, workers: int) -> list[tuple[int, int]]:
    """The pieces that ``workers`` claim of a run of ``size`` citizens, in the order claimed
    (by one thread here: the order in which workers claim does not change the pieces)."""
    claims, out = np.array([0, workers], np.int64), []
    while (piece := pieces.claim(claims, size, capacity))[0] < size:
        out.append(piece)
    assert pieces.claim(claims, size, capacity) == (size, size)  # none left, for any worker
    return out


@given(n=st.integers(0, 5000), capacity=st.integers(1, 6000))
@settings(max_examples=200, deadline=None)
def test_one_workers_pieces_are_as_few_as_fit_and_dealt_evenly(n, capacity):
    sizes = np.diff([0, *(hi for _, hi in claimed(n, capacity, 1))])
    assert sizes.sum() == n and (sizes > 0).all()
    assert n == 0 or (sizes.max() <= capacity and sizes.max() - sizes.min() <= 1)
    assert len(sizes) == len(chunk_bounds(n, capacity))


@given(n=st.integers(0, 200_000), capacity=st.integers(1, 50_000), workers=st.integers(2, 16))
@settings(max_examples=200, deadline=None)
def test_workers_claim_pieces_in_order_a_chunks_then_smaller(n, capacity, workers):
    """Every citizen in one piece, in order; none above ``capacity``; no piece but the last
    below SMALLEST (or the capacity, if smaller); none larger than the one before."""
    got = claimed(n, capacity, workers)
    assert [lo for lo, _ in got] == [0, *(hi for _, hi in got)][:len(got)]
    assert (got[-1][1] if got else 0) == n
    sizes = [hi - lo for lo, hi in got]
    assert all(0 < s <= capacity for s in sizes)
    assert all(s >= min(pieces.SMALLEST, capacity) for s in sizes[:-1])
    assert sizes == sorted(sizes, reverse=True)


class Pair(NamedTuple):
    a: np.ndarray
    b: np.ndarray


def test_a_field_not_in_the_named_tuple_is_refused_by_name():
    with pytest.raises(ValueError, match=r"Pair has no field \['c'\]"):
        Fields(Pair, {"a": CITIZENS, "c": BUFFER})


@pytest.mark.parametrize("kind", ["rows", 3, None])
def test_a_kind_that_is_none_of_the_kinds_is_refused(kind):
    with pytest.raises(ValueError, match="a piece's kind is one of"):
        kernel_step(print, pieces=(CITIZENS, kind))
    with pytest.raises(ValueError, match="a piece's kind is one of"):
        Fields(Pair, {"a": kind})


def test_each_kind_cuts_its_value_as_the_pieces_say():
    names: dict = {}
    fields = Fields(Pair, {"a": CITIZENS, "b": pieces.WORDS})
    assert pieces.source(fields, "x", names) == "p0(x.a[..., lo:hi], x.b[:(n + 63) // 64])"
    assert names == {Pair: "p0"}
    assert [pieces.source(k, "x", names) for k in (
        pieces.SAME, pieces.FIRST, pieces.RUNS, BUFFER)] == ["x", "x + lo", "piece_runs", "x[:n]"]
    assert pieces.source(pieces.runs, "x", names) == "p1(x, lo, hi)"
