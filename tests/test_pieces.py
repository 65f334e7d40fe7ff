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


@given(n=st.integers(0, 5000), capacity=st.integers(1, 6000))
@settings(max_examples=200, deadline=None)
def test_pieces_are_as_few_as_fit_and_dealt_evenly(n, capacity):
    bounds = pieces.bounds(n, capacity)
    sizes = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == n and (sizes >= 0).all()
    assert sizes.max() <= capacity and sizes.max() - sizes.min() <= 1
    assert len(sizes) == max(1, len(chunk_bounds(n, capacity)))


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
