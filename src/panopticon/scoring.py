"""Scoring: the policy that turns records into a score, a grade and a public ranking.

Each record moves the score by the points the scenario gives its kind; the score stays within
[min, max] and, below base, regains ``restore_points`` with chance ``restore_rate`` a day. A
second, true score counts only records of acts that happened: where the two give different
grades, the citizen is wrongly graded, and ``wrong_cause`` says which wrong records did it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit

from .codes import (ACT_BIT, CAUSE_FALSE_FLAG, CAUSE_FALSE_MATCH, FALSE_MATCH, FLAG_FALSE,
                    RECORD_KINDS_EXTRA, WRONG_RECORDS, bit_positions)
from .counters import INDEX, MAX_GRADES
from .population import Population
from .rng import chance, stream_key
from .scenario import Scenario

C_SCORE, C_TRUE, C_WRONG, C_GRADE0 = (INDEX[n] for n in ("score_sum", "true_score_sum",
                                                          "wrongly_graded", "grade_0"))


@njit(cache=True, nogil=True)
def score_kernel(first, day, region, records, score, true_score, wrong_cause, points, lo_score,
                 hi_score, base, restore_p, restore_points, grade_of, k_restore, acc):
    """Apply today's records and restoration to one chunk; count grades and score sums."""
    for j in range(region.shape[0]):
        i = first + j
        r = region[j]
        rec = np.int64(records[j])
        s = np.int64(score[j])
        t = np.int64(true_score[j])
        if rec:
            for b in range(32):
                if rec >> b & 1:
                    s += points[b]
                    if not (WRONG_RECORDS >> b) & 1:
                        t += points[b]
            cause = wrong_cause[j]
            if rec & FALSE_MATCH:
                cause |= CAUSE_FALSE_MATCH
            if rec & FLAG_FALSE:
                cause |= CAUSE_FALSE_FLAG
            wrong_cause[j] = cause
        if chance(k_restore, i, day, restore_p):
            if s < base:
                s = min(base, s + restore_points)
            if t < base:
                t = min(base, t + restore_points)
        s = min(max(s, lo_score), hi_score)
        t = min(max(t, lo_score), hi_score)
        if s == t:
            wrong_cause[j] = 0
        score[j] = s
        true_score[j] = t
        g = grade_of[s - lo_score]
        acc[r, C_GRADE0 + g] += 1
        acc[r, C_WRONG] += g != grade_of[t - lo_score]
        acc[r, C_SCORE] += s
        acc[r, C_TRUE] += t


def points_table(sc: Scenario) -> np.ndarray:
    """Points per record bit: act kinds by their own bit, extra record kinds by theirs."""
    table = np.zeros(32, dtype=np.int64)
    for kind, pts in sc.scoring.points.items():
        bits = RECORD_KINDS_EXTRA.get(kind) or (ACT_BIT[kind],)
        for bit in bits:
            table[bit_positions(bit)] = pts
    table[bit_positions(FALSE_MATCH)] = sc.scoring.points.get("jaywalking", 0)
    return table


def grade_table(sc: Scenario) -> tuple[np.ndarray, list[str]]:
    """Grade index for every score from min to max; grades ordered best (highest) first."""
    grades = sorted(sc.scoring.grades, key=lambda g: -g.min)
    if len(grades) > MAX_GRADES:
        raise ValueError(f"at most {MAX_GRADES} grades are supported, the scenario has {len(grades)}")
    lo = sc.scoring.min
    table = np.zeros(sc.scoring.max - lo + 1, dtype=np.uint8)
    for g, grade in enumerate(grades):
        table[max(grade.min, lo) - lo: min(grade.max, sc.scoring.max) - lo + 1] = g
    return table, [g.name for g in grades]


@dataclass
class Scoring:
    """Scores (as published and as they would be without wrong records) and the grade table."""

    pop: Population
    sc: Scenario
    score: np.ndarray  # int16
    true_score: np.ndarray  # int16
    wrong_cause: np.ndarray  # uint8 bits CAUSE_*
    points: np.ndarray
    grade_of: np.ndarray
    grade_names: list[str]
    k_restore: np.uint64
    day: int = 0

    @classmethod
    def build(cls, sc: Scenario, pop: Population, seed: int) -> Scoring:
        grade_of, names = grade_table(sc)
        return cls(pop=pop, sc=sc,
                   score=np.full(pop.size, sc.scoring.base, np.int16),
                   true_score=np.full(pop.size, sc.scoring.base, np.int16),
                   wrong_cause=np.zeros(pop.size, np.uint8),
                   points=points_table(sc), grade_of=grade_of, grade_names=names,
                   k_restore=stream_key(seed, "score.restore"))

    def start_day(self, day: int, date: dt.date) -> None:
        self.day = day

    def step(self, lo: int, hi: int, acc: np.ndarray, scratch: dict) -> None:
        s = self.sc.scoring
        score_kernel(lo, self.day, self.pop.region[lo:hi], scratch["records"][: hi - lo],
                     self.score[lo:hi], self.true_score[lo:hi], self.wrong_cause[lo:hi],
                     self.points, s.min, s.max, s.base, s.restore_rate, s.restore_points,
                     self.grade_of, self.k_restore, acc)

    def ranking(self) -> tuple[np.ndarray, np.ndarray]:
        """The public ranking: citizens per score, and each score's national percentile rank."""
        lo = self.sc.scoring.min
        counts = np.bincount(self.score.astype(np.int64) - lo,
                             minlength=self.sc.scoring.max - lo + 1)
        above = counts[::-1].cumsum()[::-1] - counts
        return counts, 100.0 * (1.0 - above / max(self.pop.size, 1))
