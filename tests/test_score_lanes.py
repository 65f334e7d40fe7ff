"""Scoring's passes over everyone work in 32- and 16-bit lanes (``restore_run``, ``grade_run``):
at every score that 16 bits hold, from blocks of one citizen to runs of several blocks, they
give what the rule gives in Python's integers (``restore_and_clamp``, a grade from each score)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panopticon.language import scenario
from panopticon.stages import scoring
from panopticon.stages.scoring import (
    C_GRADE0,
    C_SCORE,
    C_TRUE,
    C_WRONG,
    RESTORE_BLOCK,
    grade_run,
    restore_and_clamp,
    restore_run,
)
from panopticon.world.codes import GAP_SHIFT, gap_of
from panopticon.world.rng import chance, threshold

SCORES = st.integers(-32_768, 32_767)


def bounds_and_scores(draw, n: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """A score range within 16 bits, and n published and true scores within it."""
    lo, hi = sorted((draw(SCORES), draw(SCORES)))
    pair = st.tuples(st.integers(lo, hi), st.integers(lo, hi))
    pairs = draw(st.lists(pair, min_size=n, max_size=n))
    return lo, hi, np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])


def gaps(score: np.ndarray, true: np.ndarray, causes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """score_gap words in the dtype scoring keeps for the range (two bytes where it fits)."""
    dtype = np.int16 if (hi - lo) << GAP_SHIFT <= np.iinfo(np.int16).max else np.int32
    return np.array([gap_of(s, t, c if s != t else 0) for s, t, c in zip(score, true, causes)],
                    dtype)


@st.composite
def graded(draw):
    """Scores, their gaps, and the cuts of up to five grades within the range, the top one
    past it where a single grade covers it (grade_cuts' form)."""
    n = draw(st.integers(1, 60))
    lo, hi, score, true = bounds_and_scores(draw, n)
    inner = sorted(set(draw(st.lists(st.integers(lo + 1, hi), max_size=5)))) if lo < hi else []
    cuts = tuple(inner) or (hi + 1,)
    return score, true, gaps(score, true, np.zeros(n, int), lo, hi), cuts


@settings(max_examples=300, deadline=None)
@given(graded())
def test_grades_and_the_wrongly_graded_are_counted_in_16_bits_at_any_score(case):
    score, true, gap, cuts = case
    cut_grade = np.arange(len(cuts) + 1)
    acc = np.zeros(C_GRADE0 + len(cuts) + 1, np.int64)
    grade_run(score.astype(np.int16), gap, cuts, cut_grade, acc)
    grade = np.searchsorted(cuts, score, side="right")
    assert acc[C_GRADE0:].tolist() == np.bincount(grade, minlength=len(cuts) + 1).tolist()
    assert acc[C_WRONG] == np.count_nonzero(grade != np.searchsorted(cuts, true, side="right"))


@pytest.mark.parametrize("cuts", [(32_768,), (-32_767,), (-32_767, 0, 32_767)])
def test_grades_are_counted_at_the_edges_of_16_bits(cuts):
    """A single grade over every score (its cut one past 32,767) and cuts at the lowest and
    highest scores that 16 bits hold."""
    score = np.array([-32_768, -32_767, -1, 0, 32_766, 32_767], np.int16)
    gap = gaps(score, score[::-1], np.zeros(6, int), -32_768, 32_767)
    acc = np.zeros(C_GRADE0 + len(cuts) + 1, np.int64)
    grade_run(score, gap, cuts, np.arange(len(cuts) + 1), acc)
    grade = np.searchsorted(cuts, score.astype(np.int64), side="right")
    assert acc[C_GRADE0:].tolist() == np.bincount(grade, minlength=len(cuts) + 1).tolist()
    true_grade = np.searchsorted(cuts, score[::-1].astype(np.int64), side="right")
    assert acc[C_WRONG] == np.count_nonzero(grade != true_grade)


def test_a_run_of_several_blocks_is_counted_whole():
    """Counts and sums over a run longer than RESTORE_BLOCK, whose blocks' counts each fit 16
    bits and sums 32, add up to the run's."""
    rng = np.random.default_rng(5)
    n = 2 * RESTORE_BLOCK + 123
    score = rng.integers(30_000, 32_768, n).astype(np.int16)
    true = np.clip(score + rng.integers(-3, 4, n), 0, 32_767)
    gap = gaps(score, true, np.zeros(n, int), 0, 32_767)
    cuts = (31_000, 32_000)
    acc = np.zeros(C_GRADE0 + 3, np.int64)
    grade_run(score, gap, cuts, np.arange(3), acc)
    grade = np.searchsorted(cuts, score, side="right")
    assert acc[C_GRADE0:].tolist() == np.bincount(grade, minlength=3).tolist()
    params = scoring.params(scenario.load("china-2018"), 1)._replace(
        lo_score=0, hi_score=32_767, base=32_767, restore_points=1, restore_p=0.0)
    acc = np.zeros(C_TRUE + 1, np.int64)
    restore_run(0, 0, np.zeros(n, np.uint64), score, gap, np.zeros(n, np.int8),
                np.zeros(n, np.uint8), cuts, threshold(0.0), params, acc)
    assert acc[C_SCORE] == score.astype(np.int64).sum()
    assert acc[C_TRUE] == true.astype(np.int64).sum()


@st.composite
def restorations(draw):
    """Scores in a range within 16 bits, a base in it, the points restored (up to Points'
    65,535), ties terms of a byte or two, records, and the day's chance."""
    n = draw(st.integers(1, 40))
    lo, hi, score, true = bounds_and_scores(draw, n)
    base = draw(st.integers(lo, hi))
    wide = draw(st.booleans())
    term_dtype = np.int16 if wide else np.int8
    info = np.iinfo(term_dtype)
    term = np.array(draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=n,
                                  max_size=n)), term_dtype)
    records = np.array(draw(st.lists(st.sampled_from([0, 0, 0, 1 << 3]), min_size=n,
                                     max_size=n)), np.uint64)
    causes = np.array(draw(st.lists(st.integers(0, (1 << GAP_SHIFT) - 1), min_size=n,
                                    max_size=n)))
    cuts = tuple(sorted(draw(st.lists(st.integers(lo, hi + 1), min_size=1, max_size=4))))
    return (lo, hi, base, draw(st.integers(0, 65_535)), draw(st.sampled_from([0.0, 0.5, 1.0])),
            score, true, gaps(score, true, causes, lo, hi), term, records, cuts)


@settings(max_examples=300, deadline=None)
@given(restorations(), st.integers(0, 10_000), st.integers(0, 3_000))
def test_a_restoration_in_32_bits_is_the_rules_at_any_score(case, first, day):
    lo, hi, base, points, p_restore, score, true, gap, term, records, cuts = case
    p = scoring.params(scenario.load("china-2018"), 1)._replace(
        lo_score=lo, hi_score=hi, base=base, restore_points=points, restore_p=p_restore)
    n = score.shape[0]
    want_s, want_t, want_gap, want_moved = [], [], [], []
    for j in range(n):
        s0, t0 = int(score[j]), int(true[j])
        s, t = restore_and_clamp(s0, t0, chance(p.k_restore, first + j, day, p_restore),
                                 base, int(term[j]), points, lo, hi)
        s, t = (s, t) if records[j] == 0 else (s0, t0)
        cause = int(gap[j]) & ((1 << GAP_SHIFT) - 1)
        want_s.append(s)
        want_t.append(t)
        want_gap.append(gap_of(s, t, cause if s != t else 0))
        want_moved.append(int(any((s0 >= c) != (s >= c) or (t0 >= c) != (t >= c)
                                  for c in cuts)))
    published, words = score.astype(np.int16), gap.copy()
    moved, acc = np.zeros(n, np.uint8), np.zeros(C_TRUE + 1, np.int64)
    restore_run(first, day, records, published, words, term, moved, cuts, threshold(p_restore),
                p, acc)
    assert published.tolist() == want_s
    assert words.tolist() == np.array(want_gap, gap.dtype).tolist()
    assert moved.tolist() == want_moved
    assert (acc[C_SCORE], acc[C_TRUE]) == (sum(want_s), sum(want_t))


@pytest.mark.parametrize("p_restore", [0.1, 1.0])
def test_restoration_draws_each_citizens_own_chance_across_blocks(p_restore):
    """Across the blocks of a run, each citizen's restoration is its own draw of the day, as
    a citizen's draw is wherever its run and block start (chunks of any size agree)."""
    p = scoring.params(scenario.load("china-2018"), 1)._replace(restore_p=p_restore)
    n, first, day = RESTORE_BLOCK + 500, 777, 9
    score = np.full(n, 990, np.int16)
    gap = np.zeros(n, np.int16)
    restore_run(first, day, np.zeros(n, np.uint64), score, gap, np.zeros(n, np.int8),
                np.zeros(n, np.uint8), p.cuts, threshold(p_restore), p,
                np.zeros(C_TRUE + 1, np.int64))
    drawn = [chance(p.k_restore, first + j, day, p_restore) for j in range(n)]
    assert (score == np.where(drawn, 991, 990)).all()
