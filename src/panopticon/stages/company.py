"""Bad company: a score term from the standing of a citizen's ties, measured for scoring.

Every ``lag_days`` from its start, each citizen's share of ties (per reach: friends, follows,
household, workplace, school) that are on a named list (a process list or a black list of the
scheme's, as published) or in a named grade is measured on the
standing of the day before, averaged over the reaches, and turned into ``weight x share`` points:
the term, published for the day as blocks that scoring reads and applies one by one
(``bad_company_term``, :class:`world.state.Blocks`, so that no array of n holds it; none on
other days). Scoring applies it:
the published score moves by the change of the term at once and restores toward base plus the
term, so the term stands while the company does. The true score ignores it: a sanction it causes
is wrongful, with cause "ties term". The shares are kept by a tally of flagged ties
(``world.tie_tally``): a measurement pushes the changes of standing since the last one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

import numpy as np
from numba import njit, prange

from ..language.scenario import BadCompany, Scenario
from ..world.case_book import STATUS
from ..world.codes import EXIT_BAN, LISTED, MISCONDUCT, STALE, is_scored
from ..world.layout import term_dtype
from ..world.population import adoption_rank
from ..world.state import Blocks, Stage, View
from ..world.tie_tally import SHARE_PART, TieTally, shares_into
from ..world.word_book import rows_between

COUNTERS = ("bad_company_stock", "bad_company_points_lost")
C_STOCK, C_POINTS = range(len(COUNTERS))
# Status bits of a citizen on each list, as the published lists show them (a paid listing
# stays visible until its removal).
LIST_STATUS = {"court": LISTED | STALE, "tax": EXIT_BAN, "travel_misconduct": MISCONDUCT}
NO_TERM = Blocks(0, np.int8, None)  # the term published on the days it is not measured


@njit(cache=True, nogil=True)
def bad_company(case_ids, case_days, lo, on_lists, score, grade_of, lowest, bad_grades, age,
                adopt, scored, list_bits, scheme_bits, out):
    """out[k] = 1 where citizen lo + k is on a named list (of the scheme's, or a process list
    by its status in the registry's case book), or scored (``codes.is_scored``) and in a named
    grade: one pass, without the masks of n that numpy would make (a reading's peak of
    memory), then the book's rows of the citizens."""
    for k in range(out.shape[0]):
        out[k] = (on_lists[k] & scheme_bits) != 0 or (
            is_scored(age[k], adoption_rank(adopt[k], lo + k), scored)
            and bad_grades[grade_of[np.int64(score[k]) - lowest]])
    first, last = rows_between(case_ids, lo, lo + out.shape[0])
    for r in range(first, last):
        if case_days[r, STATUS] & list_bits:
            out[case_ids[r] - lo] = 1


@njit(cache=True, nogil=True, inline="always")
def points_of(weight, share, first, age, adopt, scored, out):
    """out[k] = weight x ``share[k]`` rounded to whole points (half to even) for citizen
    first + k, 0 where unscored; the arrays are views from ``first``, whose loop vectorises
    where indexing the whole arrays from a parallel loop's part did not (as fear's
    ``ties_jumped``)."""
    for k in range(share.shape[0]):
        scored_k = is_scored(age[k], adoption_rank(adopt[k], first + k), scored)
        out[k] = np.rint(weight * share[k]) if scored_k else 0.0


@njit(cache=True, nogil=True, parallel=True)
def whole_points(weight, shares, sizes, lo, age, adopt, scored, out):
    """out[k] = weight x citizen lo + k's share of bad ties (``tie_tally.shares_into``)
    rounded to whole points (half to even), 0 where unscored."""
    for part in prange(-(-out.shape[0] // SHARE_PART)):
        first = np.int64(part) * SHARE_PART
        m = min(SHARE_PART, out.shape[0] - first)
        share = np.empty(m)
        i = lo + first
        shares_into(shares, sizes, i, share)
        points_of(weight, share, i, age[i:i + m], adopt[i:i + m], scored, out[first:first + m])


@njit(cache=True, nogil=True)
def term_counts(starts, lo, term, out):
    """Add, per region (``starts``: each one's first citizen), the citizens lo.. with a term
    in ``term`` (``out[:, 0]``) and their points lost (``out[:, 1]``)."""
    hi = lo + term.shape[0]
    for r in range(starts.shape[0] - 1):
        for i in range(max(starts[r], lo), min(starts[r + 1], hi)):
            out[r, 0] += term[i - lo] != 0
            out[r, 1] += max(-np.int64(term[i - lo]), 0)


@dataclass
class Company(Stage):
    """The ties term of each citizen, measured every ``lag_days`` from a tally of bad ties."""

    NAME = "company"
    OWNS = ("bad_company_term",)
    READS = ("age", "adopt", "case_ids", "case_days", "on_lists", "score", "scored", "grade_of",
             "grade_names")
    COUNTERS = COUNTERS
    STEPS = ()

    view: View
    spec: BadCompany | None
    start: dt.date  # the run's first day
    tally: TieTally | None
    list_bits: int  # status bits of the named process lists
    scheme_bits: int  # on_lists bits of the named lists of the scheme's
    counts: np.ndarray  # [region, 2]: citizens with a term and points lost, as last measured
    sc: Scenario | None = None

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Company:
        spec = sc.scoring.bad_company
        if spec is not None and not spec.enabled:
            spec = None
        named = set() if spec is None else set(spec.lists)
        company = cls(view=view, spec=spec, start=sc.start,
                      tally=None if spec is None else view.ties.tally(spec.reach),
                      list_bits=sum(LIST_STATUS[n] for n in named if n in LIST_STATUS),
                      scheme_bits=sum(1 << k for k, n in enumerate(sc.lists) if n in named),
                      counts=np.zeros((len(view.regions.codes), 2), np.int64), sc=sc)
        view.publish("bad_company_term", NO_TERM)
        return company

    def active(self) -> bool:
        return self.spec is not None

    def due(self, day: int, date: dt.date) -> bool:
        if self.spec is None or (self.spec.start is not None and date < self.spec.start):
            return False
        first = 0 if self.spec.start is None else max(0, (self.spec.start - self.start).days)
        return (day - first) % self.spec.lag_days == 0

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Measure the term where it is due, on yesterday's standing, and publish it."""
        self.sc = sc
        if self.spec is not None:  # its weight may change from day to day
            self.spec = sc.scoring.bad_company
        if not self.due(day, date):
            self.view.publish("bad_company_term", NO_TERM)
            return
        v = self.view
        self.tally.update(partial(self.bad, np.isin(v.grade_names, self.spec.grades)))
        self.counts[:] = 0
        self.view.publish("bad_company_term", Blocks(v.size, term_dtype(self.sc), self.term))

    def bad(self, grades: np.ndarray, lo: int, hi: int, out: np.ndarray) -> None:
        """1 into ``out`` for citizens lo..hi-1 whose standing makes them bad company today
        (before today's acts: on a named list, or scored and in a grade where ``grades``, per
        grade, is set); an unscored citizen has no grade."""
        v = self.view
        bad_company(v.case_ids, v.case_days, lo, v.on_lists[lo:hi], v.score[lo:hi], v.grade_of,
                    self.sc.scoring.min, grades, v.age[lo:hi], v.adopt[lo:hi], v.scored,
                    self.list_bits, self.scheme_bits, out)

    def term(self, lo: int, hi: int, out: np.ndarray) -> None:
        """Into ``out``, weight x the share of bad ties of citizens lo..hi-1, averaged over the
        reaches, in whole points, for the scored citizens (the unscored have no score to move);
        counted (citizens with a term, points lost, per region) until the next measurement."""
        v = self.view
        whole_points(self.spec.weight, self.tally.shares, self.tally.sizes, lo, v.age, v.adopt,
                     v.scored, out)
        term_counts(v.starts, lo, out, self.counts)

    def end_day(self, counts: np.ndarray) -> None:
        """Add the standing term's stocks to the day's counts."""
        counts[:, C_STOCK] += self.counts[:, 0]
        counts[:, C_POINTS] += self.counts[:, 1]
