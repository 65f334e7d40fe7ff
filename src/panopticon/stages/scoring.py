"""Scoring: the policy that turns records into a score, a grade and a public ranking.

Each record moves the score by the points the scenario gives its kind (times its factor's
weight, where the score is a weighted sum of factors); the score stays within [min, max] and,
below base, regains ``restore_points`` with chance ``restore_rate`` a day. A capped kind adds at
most its cap (in all, or per calendar year). A second, true score counts only records of acts
that happened: where the two give different grades, the citizen is wrongly graded, and the
wrong causes say which wrong records did it. Both are kept in ``score_gap``, a word per
citizen beside the published score: the true score's difference from it above the cause bits
(``codes.gap_of``), in the published score's two bytes where scores span up to 4095 points.

Only the citizens in ``who`` are scored (an opt-in scheme's users, adults, no one): the rest
stay at base, outside the grade counts and the ranking, and meet no grade's sanction or reward.

A kind in ``expires_days`` lapses: N days after a record, the score gets back what that record
moved it by (after its cap and the score's bounds), before the day's records. The records owed
back wait in a :class:`~panopticon.world.ledger.Ledger` by due day.

The bad-company term (company's measurement, published on the days it is recomputed) is applied
here: the published score moves by the change of the term at once and restores toward base plus
the term (``ties_term``), which stays part of the score until the next measurement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.codes import (
    CAUSE_FALSE_FLAG,
    CAUSE_FALSE_MATCH,
    CAUSE_TIES,
    CAUSES,
    FALSE_RECORDS,
    FLAG_FALSE,
    GAP_SHIFT,
    MAX_GRADES,
    WORD_BITS,
    WRONG_RECORDS,
    cause_of,
    effective_steps,
    gap_of,
    is_scored,
    moves_across,
    true_of,
)
from ..world.engine import run_starts
from ..world.layout import gap_dtype, record_bits, term_dtype
from ..world.ledger import Ledger
from ..world.pieces import BUFFER, CITIZENS, FIRST, RUNS, SAME, WORDS, Fields
from ..world.population import (
    ADOPT_LEVELS,
    ORDER_STEP,
    adoption_order,
    adoption_rank,
    adoption_threshold,
    rank_in_order,
    region_of,
)
from ..world.rng import CITIZEN_STEP, bits53_at, chance, counter, stream_key, threshold
from ..world.state import Blocks, Stage, View, kernel_step
from ..world.today import Today, marked_into, pop_lowest, words_of

COUNTERS = ("score_sum", "true_score_sum", "scored_citizens", "wrongly_graded",
            *(f"grade_{g}" for g in range(MAX_GRADES)), "records_lapsed")
C_SCORE, C_TRUE, C_WRONG, C_GRADE0, C_SCORED, C_LAPSED = (COUNTERS.index(n) for n in (
    "score_sum", "true_score_sum", "wrongly_graded", "grade_0", "scored_citizens",
    "records_lapsed"))
EVERYONE = ADOPT_LEVELS  # an adoption threshold no citizen's rank reaches
# Citizens a block of the passes over everyone (restore_run, grade_run): their score sums fit
# 32 bits and their counts 16, in which the passes work.
RESTORE_BLOCK = 16_384
I16, I32 = np.int16, np.int32


class ScoreParams(NamedTuple):
    """Scoring's values from the scenario: points per record bit, caps, bounds, grades."""

    points: np.ndarray  # per record bit
    cap_of: np.ndarray  # cap_tables
    cap_points: np.ndarray
    expiry: np.ndarray  # per record bit, days before its points lapse; 0: never
    lo_score: int
    hi_score: int
    base: int
    restore_p: float
    restore_points: int
    cuts: tuple  # grade_cuts: a tuple, whose length Numba compiles into grade_run
    cut_grade: np.ndarray
    base_grade: int  # the grade of the base score
    k_restore: np.uint64


class Lapses(NamedTuple):
    """Records owed back: citizen, points on the published and the true score, days to wait."""

    citizen: np.ndarray
    published: np.ndarray
    true: np.ndarray
    days: np.ndarray

    @classmethod
    def empty(cls, n: int = 0) -> Lapses:
        return cls(*(np.zeros(n, np.int64) for _ in range(4)))


NO_LAPSES = Lapses.empty()  # read, never written: a chunk without lapses today, or made


@njit(cache=True, nogil=True)
def lapses_in(due: Lapses, lo: int, hi: int) -> Lapses:
    """The lapses of ``due`` (citizens counted from a run's start, in order) of citizens
    lo..hi-1, counted from lo: a piece's (``world.pieces``)."""
    a, b = np.searchsorted(due.citizen, lo), np.searchsorted(due.citizen, hi)
    return Lapses(due.citizen[a:b] - lo, due.published[a:b], due.true[a:b], due.days[a:b])


class ScoreArrays(NamedTuple):
    """One chunk's scores and records, and today's scored group."""

    starts: np.ndarray  # each region's first citizen (population.region_of)
    age: np.ndarray
    adopt: np.ndarray
    records: np.ndarray  # today's, read
    score: np.ndarray  # int16
    gap: np.ndarray  # the true score and the wrong causes (codes.gap_of; layout.gap_dtype)
    term: np.ndarray  # points from the standing of ties (the bad-company term, term_dtype)
    earned: np.ndarray  # int16 [cap, citizen]: points gained under each cap
    todo: np.ndarray
    marked: np.ndarray  # today's (Today.marked): every citizen with records is marked
    moved: np.ndarray  # today's (Today.moved): 1 where a score crossed a cut of ``stand_cuts``
    scored: np.ndarray  # today's scored group (codes.is_scored)
    stand_cuts: tuple  # consequences' scores where a measure changes (effective_steps)
    due: Lapses  # records whose points lapse today, citizens counted from the chunk's start
    made: Lapses  # records made today whose points will lapse: filled, the count returned


@njit(cache=True, nogil=True, inline="always")
def restore_and_clamp(s, t, restore, base, term, restore_points, lo_score, hi_score):
    """Scores after the day's restoration (if drawn, for scores below base), within bounds.

    The published score restores toward base plus its ties term, which stands while the
    citizen's company does; the true score, which no tie changes, toward base. In 32 bits,
    which hold every score, term and points restored, so that restore_block's pass stays in
    32-bit lanes.
    """
    s, t, base = I32(s), I32(t), I32(base)
    target, restore_points = I32(base + I32(term)), I32(restore_points)
    s = I32(min(target, I32(s + restore_points))) if restore & (s < target) else s
    t = I32(min(base, I32(t + restore_points))) if restore & (t < base) else t
    return (I32(min(max(s, I32(lo_score)), I32(hi_score))),
            I32(min(max(t, I32(lo_score)), I32(hi_score))))


@njit(cache=True, nogil=True, inline="always")
def apply_records(i, j, day, rec, score, gap, term, earned, points, cap_of, cap_points, expiry,
                  lo_score, hi_score, base, restore_p, restore_points, k_restore, made, n_made,
                  moved, stand_cuts):
    """A citizen's whole day when it has records: points (capped where the kind has a cap, the
    points gained counted in ``earned[cap, j]``), wrong causes, restoration, bounds. Called once
    per citizen with records: it takes arrays one by one, as a tuple of arrays passed per
    citizen costs a reference count per array. ``moved`` where a score crosses a cut of
    ``stand_cuts``.

    A record of a kind that expires moves scores already within bounds, and what it moved them
    by is written to ``made`` (from ``n_made``), to be given back; returns the new count.
    """
    s0 = s = np.int64(score[j])
    t0 = t = true_of(s, gap[j])
    bits = np.uint64(rec)
    while bits:  # the record bits set, in order
        b, bits = pop_lowest(bits)
        p = points[b]
        c = cap_of[b]
        if c >= 0:
            p = max(0, min(p, cap_points[c] - np.int64(earned[c, j])))
            earned[c, j] += p
        true = not (WRONG_RECORDS >> b) & 1
        if expiry[b] == 0:
            s += p
            t += p * true
            continue
        s0, t0 = min(max(s, lo_score), hi_score), min(max(t, lo_score), hi_score)
        s, t = min(max(s0 + p, lo_score), hi_score), min(max(t0 + p * true, lo_score),
                                                          hi_score)
        made.citizen[n_made], made.days[n_made] = j, expiry[b]
        made.published[n_made], made.true[n_made] = s - s0, t - t0
        n_made += 1
    cause = cause_of(gap[j])
    if rec & FALSE_RECORDS:
        cause |= CAUSE_FALSE_MATCH
    if rec & FLAG_FALSE:
        cause |= CAUSE_FALSE_FLAG
    s, t = restore_and_clamp(s, t, chance(k_restore, i, day, restore_p), base,
                             np.int64(term[j]), restore_points, lo_score, hi_score)
    score[j] = s
    gap[j] = gap_of(s, t, 0 if s == t else cause)
    moved[j] |= moves_across(s0, s, t0, t, stand_cuts)
    return n_made


@njit(cache=True, nogil=True)
def lapse(first, a, p, acc):
    """Give back the points of a chunk's records that lapse today (``a.due``, in citizen order),
    within bounds, to citizens still scored; one whose two scores meet again has no wrong cause
    left; ``a.moved`` where a score crosses a cut of ``a.stand_cuts``."""
    due = a.due
    for k in range(due.citizen.shape[0]):
        j = due.citizen[k]
        if not is_scored(a.age[j], adoption_rank(a.adopt[j], first + j), a.scored):
            continue
        s0 = np.int64(a.score[j])
        t0 = true_of(s0, a.gap[j])
        s = min(max(s0 - due.published[k], p.lo_score), p.hi_score)
        t = min(max(t0 - due.true[k], p.lo_score), p.hi_score)
        a.score[j], a.gap[j] = s, gap_of(s, t, 0 if s == t else cause_of(a.gap[j]))
        a.moved[j] |= moves_across(s0, s, t0, t, a.stand_cuts)
        acc[region_of(a.starts, first + j), C_LAPSED] += 1


@njit(cache=True, nogil=True, inline="always")
def restore_draws(count, k_restore, restore_thr, records, drawn):
    """1 in ``drawn`` for the citizens (from the one whose ``rng.counter`` is ``count``)
    whose restoration is drawn today and who have no record (apply_records restores those):
    the draw's 64-bit lanes in a loop of their own, so that restore_block's are 32-bit.
    Returns the next citizen's counter."""
    for j in range(drawn.shape[0]):
        drawn[j] = (bits53_at(k_restore, count) < restore_thr) & (records[j] == np.uint64(0))
        count += CITIZEN_STEP
    return count


@njit(cache=True, nogil=True, inline="always")
def restore_block(drawn, score, gap, term, moved, stand_cuts, base, restore_points, lo_score,
                  hi_score):
    """Restoration of a block of at most RESTORE_BLOCK citizens as :func:`restore_draws`
    drew it (:func:`restore_and_clamp`), no wrong cause where the scores agree,
    ``moved`` where a score crosses a cut of ``stand_cuts``; returns the block's sums of the
    published and true scores. In 32 bits (``I32``), which Numba would otherwise widen to 64:
    eight lanes of AVX2, not four (1.41 M citizens: 2.3 ns a citizen with the draws, against
    3.3 in 64 bits, scratch restore32b.py); scores are 16-bit, so no value leaves 32 bits."""
    total = true_total = I32(0)
    for j in range(score.shape[0]):
        s0, g = I32(score[j]), gap[j]
        t0 = I32(true_of(s0, g))
        s, t = restore_and_clamp(s0, t0, drawn[j] != 0, base, term[j], restore_points,
                                 lo_score, hi_score)
        score[j] = s
        gap[j] = I32(gap_of(s, t, cause_of(g) * (s != t)))
        moved[j] |= moves_across(s0, s, t0, t, stand_cuts)
        total = I32(total + s)
        true_total = I32(true_total + t)
    return total, true_total


@njit(cache=True, nogil=True, inline="always")
def restore_run(first, day, records, score, gap, term, moved, stand_cuts, restore_thr, p,
                acc_r):
    """Restoration for a run's citizens without records (done by apply_records); no wrong
    cause where the scores agree; score sums; ``moved`` where a score crosses a cut of
    ``stand_cuts`` (a restoration changes what a citizen meets for some 0.04% a day).

    Block by block (their sums fit 32 bits), each the draws' loop then restore_block's, over
    the run's own views (indexed from 0): loops without branches, so that they vectorise.
    """
    n = score.shape[0]
    drawn = np.empty(min(n, RESTORE_BLOCK), np.uint8)
    base, restore_points = I32(p.base), I32(p.restore_points)
    lo_score, hi_score = I32(p.lo_score), I32(p.hi_score)
    total = true_total = 0
    count = counter(first, day)
    for b in range(0, n, RESTORE_BLOCK):
        e = min(n, b + RESTORE_BLOCK)
        count = restore_draws(count, p.k_restore, restore_thr, records[b:e], drawn[:e - b])
        block, true_block = restore_block(drawn[:e - b], score[b:e], gap[b:e], term[b:e],
                                          moved[b:e], stand_cuts, base, restore_points,
                                          lo_score, hi_score)
        total += block
        true_total += true_block
    acc_r[C_SCORE] += total
    acc_r[C_TRUE] += true_total


@njit(cache=True, nogil=True, inline="always")
def count_above(score, cut):
    """The scores of a block (at most RESTORE_BLOCK) at or above ``cut``, counted in 16 bits
    (sixteen lanes of AVX2, not four): above ``cut - 1``, which 16 bits hold for every cut
    (scores are 16-bit; a cut is at most one past the top score)."""
    above, below_cut = I16(0), I16(cut - 1)
    for j in range(score.shape[0]):
        above = I16(above + I16(score[j] > below_cut))
    return above


@njit(cache=True, nogil=True, inline="always")
def count_wrong(score, gap, cuts):
    """The citizens of a block (at most RESTORE_BLOCK) whose score and true score are above
    different numbers of ``cuts``, in 16 bits: the true score wraps back into them."""
    wrong = I16(0)
    for j in range(score.shape[0]):
        s = I16(score[j])
        t = I16(true_of(s, gap[j]))
        steps = I16(0)
        for k in range(len(cuts)):
            below_cut = I16(cuts[k] - 1)
            steps = I16(steps | I16((s > below_cut) != (t > below_cut)))
        wrong = I16(wrong + steps)
    return wrong


@njit(cache=True, nogil=True, inline="always")
def grade_run(score, gap, cuts, cut_grade, acc_r):
    """Count a run's citizens by grade, and those wrongly graded, from its scores' views.

    A grade is counted through the citizens at or above each cut; a citizen is wrongly graded
    where the score and the true score are above different numbers of cuts (grades tile the
    scores, in order). Branch-free loops in 16 bits over blocks of the run, so that they
    vectorise (1.41 M citizens: 0.26 ns a citizen, against 1.1 in 64 bits, scratch
    grade16.py); as many as the scenario's grades have cuts (``cuts`` is a tuple), not N_CUTS.
    """
    n = score.shape[0]
    below = n
    for k in range(len(cuts)):
        above = 0
        for b in range(0, n, RESTORE_BLOCK):
            above += count_above(score[b:b + RESTORE_BLOCK], cuts[k])
        acc_r[C_GRADE0 + cut_grade[k]] += below - above
        below = above
    acc_r[C_GRADE0 + cut_grade[len(cuts)]] += below
    wrong = 0
    for b in range(0, n, RESTORE_BLOCK):
        wrong += count_wrong(score[b:b + RESTORE_BLOCK], gap[b:b + RESTORE_BLOCK], cuts)
    acc_r[C_WRONG] += wrong


@njit(cache=True, nogil=True, inline="always")
def uncount_unscored(first, age, adopt, scored, base, base_grade, acc_r):
    """Take the unscored citizens (all at base) of a run from citizen ``first`` back out of
    its grade and score sums."""
    unscored, order = 0, adoption_order(first)
    for j in range(age.shape[0]):
        unscored += not is_scored(age[j], rank_in_order(adopt[j], order), scored)
        order += ORDER_STEP
    acc_r[C_GRADE0 + base_grade] -= unscored
    acc_r[C_SCORE] -= base * unscored
    acc_r[C_TRUE] -= base * unscored
    acc_r[C_SCORED] -= unscored


@njit(cache=True, nogil=True)
def unscore(adopt, lo, hi, base, score, gap, term):
    """Citizens whose adoption rank is in [lo, hi) back to base, with no wrong cause or term:
    one pass, without the masks of n that numpy would make."""
    for i in range(adopt.shape[0]):
        if lo <= adoption_rank(adopt[i], i) < hi:
            score[i] = base
            gap[i] = term[i] = 0


@njit(cache=True, nogil=True)
def score_kernel(first, day, runs, a, p, acc):
    """Apply today's lapses, records and restoration to one chunk; count grades and score sums;
    return the records whose points will lapse: a copy of those made in ``a.made``, as one
    array of Lapses' four rows (one array to hand back to Python, not four in a named tuple).

    Per run of one region: the few scored citizens with records first (found among the marked,
    ``Today.marked``, and listed in ``a.todo``), then everyone in a vectorised pass; where not
    everyone is scored, the unscored (whose score stays at base) are then taken out of the
    counts.
    """
    lapse(first, a, p, acc)
    n_made = 0
    restore_thr = threshold(p.restore_p)
    age, adopt, records, scored, todo = a.age, a.adopt, a.records, a.scored, a.todo
    score, gap, term, earned = a.score, a.gap, a.term, a.earned
    points, cap_of, cap_points = p.points, p.cap_of, p.cap_points
    everyone = scored[0] >= EVERYONE and scored[1] == 0
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        for t in range(marked_into(a.marked, lo, hi, todo)):
            j = todo[t]
            if records[j] and (everyone or is_scored(
                    age[j], adoption_rank(adopt[j], first + j), scored)):
                n_made = apply_records(first + j, j, day, np.int64(records[j]), score, gap,
                                       term, earned, points, cap_of, cap_points, p.expiry,
                                       p.lo_score, p.hi_score, p.base, p.restore_p,
                                       p.restore_points, p.k_restore, a.made, n_made,
                                       a.moved, a.stand_cuts)
        acc_r = acc[region_of(a.starts, first + lo)]
        restore_run(first + lo, day, records[lo:hi], score[lo:hi], gap[lo:hi], term[lo:hi],
                    a.moved[lo:hi], a.stand_cuts, restore_thr, p, acc_r)
        grade_run(score[lo:hi], gap[lo:hi], p.cuts, p.cut_grade, acc_r)
        acc_r[C_SCORED] += hi - lo
        if not everyone:
            uncount_unscored(first + lo, age[lo:hi], adopt[lo:hi], scored, p.base, p.base_grade,
                             acc_r)
    out = np.empty((4, n_made), np.int64)
    for r, row in enumerate((a.made.citizen, a.made.published, a.made.true, a.made.days)):
        out[r] = row[:n_made]
    return out


def points_table(sc: Scenario) -> np.ndarray:
    """Points per record bit, times the weight of the kind's factor (rounded) where the score
    is a weighted sum of factors: each factor a sub-score of its kinds' points, so that a record
    moves the score by weight x points."""
    weight = {k: f.weight for f in sc.scoring.factors for k in f.kinds}
    table = np.zeros(WORD_BITS, dtype=np.int64)
    for kind, pts in sc.scoring.points.items():
        table[record_bits(sc, kind)] = round(weight.get(kind, 1.0) * pts)
    return table


def cap_tables(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per record bit the index of its kind's cap (-1 for none), and each cap's points."""
    cap_of = np.full(WORD_BITS, -1, np.int64)
    for c, kind in enumerate(sc.scoring.caps):
        cap_of[record_bits(sc, kind)] = c
    return cap_of, np.array([cap.points for cap in sc.scoring.caps.values()], np.int64)


def expiry_table(sc: Scenario) -> np.ndarray:
    """Per record bit the days before its points lapse (0: they never do)."""
    expiry = np.zeros(WORD_BITS, np.int64)
    for kind, days in sc.scoring.expires_days.items():
        expiry[record_bits(sc, kind)] = days
    return expiry


def grade_table(sc: Scenario) -> tuple[np.ndarray, list[str]]:
    """Grade index for every score from min to max; grades ordered best (highest) first."""
    grades = sorted(sc.scoring.grades, key=lambda g: -g.min)
    if len(grades) > MAX_GRADES:
        raise ValueError(f"at most {MAX_GRADES} grades are supported, the scenario has "
                         f"{len(grades)}")
    lo = sc.scoring.min
    table = np.zeros(sc.scoring.max - lo + 1, dtype=np.uint8)
    for g, grade in enumerate(grades):
        table[max(grade.min, lo) - lo: min(grade.max, sc.scoring.max) - lo + 1] = g
    return table, [g.name for g in grades]


def grade_cuts(grade_of: np.ndarray, lo: int) -> tuple[tuple[int, ...], np.ndarray]:
    """Scores where the grade changes (one past the top where none does), and the grade from
    each. Grade k+1 of the result holds from ``cuts[k]`` up; the grade below the first cut is
    first. The cuts are a tuple of their own number, so that grade_run's passes are as many
    (5 in china-2018, not N_CUTS' 7: 1.3 ns a citizen against 1.7, scratch gradebench.py).
    """
    assert np.all(np.diff(grade_of.astype(np.int64)) <= 0), "grades must fall as scores rise"
    starts = run_starts(grade_of)
    cuts = tuple(int(c) for c in lo + starts) or (lo + len(grade_of),)
    cut_grade = np.zeros(len(cuts) + 1, np.int64)
    cut_grade[: len(starts) + 1] = grade_of[np.concatenate(([0], starts))]
    return cuts, cut_grade


def params(sc: Scenario, seed: int) -> ScoreParams:
    s = sc.scoring
    grade_of, _ = grade_table(sc)
    cuts, cut_grade = grade_cuts(grade_of, s.min)
    cap_of, cap_points = cap_tables(sc)
    return ScoreParams(
        points=points_table(sc), cap_of=cap_of, cap_points=cap_points, expiry=expiry_table(sc),
        lo_score=int(s.min),
        hi_score=int(s.max), base=int(s.base), restore_p=float(s.restore_rate),
        restore_points=int(s.restore_points), cuts=cuts, cut_grade=cut_grade,
        base_grade=int(grade_of[s.base - s.min]), k_restore=stream_key(seed, "score.restore"))


@njit(cache=True, nogil=True)
def move_by_term(new, lo, hi, score, term, gap):
    """Each published score moved by the change of its ties term (clipped to lo..hi), the term
    replaced, and the term marked a wrong cause where it is not 0: in place, in one pass
    (numpy's copies of n were a reading's peak of memory)."""
    for i in range(score.shape[0]):
        t, s0 = np.int64(new[i]), np.int64(score[i])
        s = min(max(s0 + t - np.int64(term[i]), lo), hi)
        cause = (cause_of(gap[i]) | CAUSE_TIES) if t != 0 else cause_of(gap[i]) & ~CAUSE_TIES
        score[i], term[i], gap[i] = s, t, gap_of(s, true_of(s0, gap[i]), cause)


@dataclass
class Scoring(Stage):
    """Scores (as published and as they would be without wrong records) and the grade table."""

    NAME = "scoring"
    OWNS = ("score", "score_gap", "ties_term", "earned", "scored", "grade_of", "grade_names")
    READS = ("age", "adopt", "records", "marked", "bad_company_term", "score_cuts",
             "score_steps")
    WRITES = ("moved",)
    COUNTERS = COUNTERS

    view: View
    seed: int
    score: np.ndarray  # int16
    score_gap: np.ndarray  # the true score and the wrong causes (codes.gap_of; layout.gap_dtype)
    ties_term: np.ndarray  # points from the standing of ties, as applied (int8: term_dtype)
    earned: np.ndarray  # int16 [cap, citizen]: points gained under each cap (this year, if yearly)
    sc: Scenario | None = None
    p: ScoreParams | None = None
    day: int = 0
    scored: np.ndarray = field(default_factory=lambda: np.array([EVERYONE, 0], np.int64))
    cuts_seen: tuple | None = None  # consequences' score_cuts and their stand_cuts
    ledger: Ledger = field(default_factory=Ledger)  # records whose points lapse later
    due: Lapses = field(default_factory=Lapses.empty)  # those that lapse today, in citizen order

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Scoring:
        n, own = view.size, view.own
        scoring = cls(view=view, seed=seed,
                      score=own("score", np.full(n, sc.scoring.base, np.int16)),
                      score_gap=own("score_gap", np.zeros(n, gap_dtype(sc))),
                      ties_term=own("ties_term", np.zeros(n, term_dtype(sc))),
                      earned=own("earned", np.zeros((len(sc.scoring.caps), n), np.int16)))
        scoring.tune(sc)
        scoring.update_scored(sc.start, sc)  # before the first day, which bad company may read
        return scoring

    def tune(self, sc: Scenario) -> None:
        """Parameters from ``sc``; the grade table published."""
        self.sc, self.p = sc, params(sc, self.seed)
        grade_of, names = grade_table(sc)
        self.view.publish("grade_of", grade_of)
        self.view.publish("grade_names", np.array(names))

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """The bad-company term measured today, if it was; yearly caps start over on 1 January;
        today's scored group."""
        self.day = day
        if sc is not self.sc:
            self.tune(sc)
        citizen, published, true = self.ledger.take(day)
        self.due = Lapses(citizen, published, true, np.zeros_like(citizen))
        term = self.view.bad_company_term
        if term.size:
            self.apply_term(term)
        if date.timetuple().tm_yday == 1:
            for c, cap in enumerate(sc.scoring.caps.values()):
                if cap.per == "year":
                    self.earned[c] = 0
        self.update_scored(date, sc)

    def apply_term(self, new: Blocks) -> None:
        """Move published scores by the change of the ties term; mark the term a wrong cause:
        block by block, as company measures it."""
        for lo, hi, block in new.read():
            move_by_term(block, self.sc.scoring.min, self.sc.scoring.max, self.score[lo:hi],
                         self.ties_term[lo:hi], self.score_gap[lo:hi])

    def update_scored(self, date: dt.date, sc: Scenario) -> None:
        """Today's scored group (published); citizens who left it (adoption can be set to fall)
        go back to base, as the unscored always are."""
        who, spec = sc.scoring.who, sc.population
        users = {"internet_users": spec.internet_users, "payment_users": spec.payment_users}
        thr = (adoption_threshold(users[who], date, self.view.regions) if who in users
               else 0 if who == "nobody" else EVERYONE)
        if thr < self.scored[0]:
            unscore(self.view.adopt, thr, self.scored[0], sc.scoring.base, self.score,
                    self.score_gap, self.ties_term)
        self.scored = np.array([thr, int(who == "adults")], np.int64)
        self.view.publish("scored", self.scored)

    @property
    def true_score(self) -> np.ndarray:
        """Every citizen's true score (a copy, int16), for tests and tools."""
        return (self.score + (self.score_gap >> GAP_SHIFT)).astype(np.int16)

    @property
    def wrong_cause(self) -> np.ndarray:
        """Every citizen's wrong causes (bits CAUSE_*, a copy), for tests and tools."""
        return (self.score_gap & CAUSES).astype(np.uint8)

    def set_scores(self, i: int | slice, score: int, true: int | None = None,
                   cause: int = 0) -> None:
        """Set citizens' published and true scores (the same where ``true`` is None) and wrong
        causes, for tests and tools."""
        true = score if true is None else true
        self.score[i] = score
        self.score_gap[i] = (true - score) << GAP_SHIFT | cause

    def keep_made(self, lo: int, made: np.ndarray) -> None:
        """The chunk's records whose points will lapse (Lapses' rows), into the ledger."""
        if made.shape[1]:
            self.owe(lo, Lapses(*made))

    @kernel_step(score_kernel, keep=keep_made, pieces=(FIRST, SAME, RUNS, Fields(ScoreArrays, {
        **dict.fromkeys(("age", "adopt", "score", "gap", "term", "earned"), CITIZENS),
        "records": BUFFER, "todo": BUFFER, "marked": WORDS, "moved": BUFFER,
        "due": lapses_in}), SAME, SAME))
    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        a = ScoreArrays(*today.kept(lo, hi, self.chunk_arrays), self.scored, self.stand_cuts(),
                        self.due_in(lo, hi), self.made_buffer(min(hi - lo, today.todo.shape[0])))
        return lo, self.day, self.view.runs(lo, hi), a, self.p, acc

    def chunk_arrays(self, lo: int, hi: int, today: Today) -> tuple:
        """ScoreArrays' arrays of citizens lo..hi for the run (Today.kept)."""
        v, n = self.view, hi - lo
        return (v.starts, v.age[lo:hi], v.adopt[lo:hi], today.records[:n], self.score[lo:hi],
                self.score_gap[lo:hi], self.ties_term[lo:hi], self.earned[:, lo:hi],
                today.todo[:n], today.marked[words_of(n)], today.moved[:n])

    def stand_cuts(self) -> tuple:
        """Consequences' scores where a measure changes today, as the kernels take them
        (``codes.effective_steps``), worked out again only when it publishes others."""
        cuts = self.view.score_cuts
        if self.cuts_seen is None or self.cuts_seen[0] is not cuts:
            self.cuts_seen = cuts, effective_steps(cuts, self.view.score_steps)[0]
        return self.cuts_seen[1]

    def due_in(self, lo: int, hi: int) -> Lapses:
        """Today's lapses of citizens lo..hi-1, counted from lo (none on most days)."""
        return lapses_in(self.due, lo, hi) if self.due.citizen.shape[0] else NO_LAPSES

    def made_buffer(self, n: int) -> Lapses:
        """Room for every record of a chunk (or a piece) of n citizens whose points will lapse
        (none where no kind expires)."""
        expiring = int(np.count_nonzero(self.p.expiry))
        return Lapses.empty(n * expiring) if expiring else NO_LAPSES

    def owe(self, lo: int, made: Lapses) -> None:
        """Put a chunk's records whose points will lapse in the ledger, by due day."""
        for days in np.unique(made.days):
            pick = made.days == days
            self.ledger.put(self.day + int(days), lo, made.citizen[pick] + lo,
                            made.published[pick], made.true[pick])

