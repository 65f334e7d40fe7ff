"""Bad company: a score term from the standing of a citizen's ties (scoring's ties term).

Every ``lag_days`` from its start, each citizen's share of ties (per reach: friends, follows,
household, workplace, school) that are on a named list or in a named grade is measured on the
standing of the day before, averaged over the reaches, and turned into ``weight x share`` points.
The published score moves by the change of that term at once and restores toward base plus the
term, so the term stands while the company does. The true score ignores it: a sanction it causes
is wrongful, with cause "ties term". Ties are stored (CSR) for the reaches used, built once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..language.scenario import BadCompany, Scenario
from ..world.codes import CAUSE_TIES, EXIT_BAN, LISTED, MISCONDUCT, STALE
from ..world.population import Population
from ..world.state import Stage
from ..world.ties import TieCSR, build_csrs, make_ties, mean_share
from .registry import Registry
from .scoring import Scoring

COUNTERS = ("bad_company_stock", "bad_company_points_lost")
C_STOCK, C_POINTS = range(len(COUNTERS))
# Status bits of a citizen on each list, as the published lists show them (a paid listing
# stays visible until its removal).
LIST_STATUS = {"court": LISTED | STALE, "tax": EXIT_BAN, "travel_misconduct": MISCONDUCT}


@dataclass
class Company(Stage):
    """The ties term of each citizen, recomputed every ``lag_days`` from stored ties."""

    NAME = "company"
    COUNTERS = COUNTERS

    spec: BadCompany | None
    sc: Scenario
    pop: Population
    registry: Registry
    scoring: Scoring
    csr: list[TieCSR]
    bad_grades: np.ndarray  # uint8 per grade index: 1 if a tie in that grade counts as bad
    list_bits: int  # status bits of the named lists
    counts: np.ndarray  # [region, 2]: citizens with a term and points lost, as last measured

    @classmethod
    def build(cls, sc: Scenario, pop: Population, registry: Registry, scoring: Scoring,
              seed: int) -> Company:
        spec = sc.scoring.bad_company
        if spec is not None and not spec.enabled:
            spec = None
        csr, bad_grades, list_bits = [], np.zeros(len(scoring.grade_names), np.uint8), 0
        if spec is not None:
            csr = list(build_csrs(make_ties(pop, seed), spec.reach).values())
            bad_grades[[scoring.grade_names.index(g) for g in spec.grades]] = 1
            list_bits = sum(LIST_STATUS[name] for name in set(spec.lists))
        return cls(spec=spec, sc=sc, pop=pop, registry=registry, scoring=scoring, csr=csr,
                   bad_grades=bad_grades, list_bits=list_bits,
                   counts=np.zeros((len(pop.regions.codes), 2), np.int64))

    def due(self, day: int, date: dt.date) -> bool:
        if self.spec is None or (self.spec.start is not None and date < self.spec.start):
            return False
        first = 0 if self.spec.start is None else max(0, (self.spec.start - self.sc.start).days)
        return (day - first) % self.spec.lag_days == 0

    def start_day(self, day: int, date: dt.date) -> None:
        if self.due(day, date):
            self.update(self.term())

    def bad(self, scored: np.ndarray) -> np.ndarray:
        """1 for citizens whose standing makes them bad company today (before today's acts);
        an unscored citizen has no grade."""
        s = self.scoring
        grade = s.grade_of[s.score.astype(np.int64) - self.sc.scoring.min]
        on_list = (self.registry.status & self.list_bits) != 0
        return (on_list | ((self.bad_grades[grade] != 0) & scored)).astype(np.uint8)

    def term(self) -> np.ndarray:
        """weight x the share of bad ties, averaged over the reaches, in whole points, for the
        scored citizens (the unscored have no score to move)."""
        scored = self.scoring.scored_mask()
        share = mean_share(self.csr, self.bad(scored))
        return np.rint(self.spec.weight * share).astype(np.int64) * scored

    def update(self, new: np.ndarray) -> None:
        """Move published scores by the change of the term; mark the term as a wrong cause."""
        s = self.scoring
        old = s.ties_term.astype(np.int64)
        lo, hi = self.sc.scoring.min, self.sc.scoring.max
        s.score[:] = np.clip(s.score.astype(np.int64) + new - old, lo, hi)
        s.ties_term[:] = new
        s.wrong_cause[:] = np.where(new != 0, s.wrong_cause | CAUSE_TIES,
                                    s.wrong_cause & ~np.uint8(CAUSE_TIES))
        regions = len(self.pop.regions.codes)
        self.counts[:, 0] = np.bincount(self.pop.region, weights=new != 0, minlength=regions)
        self.counts[:, 1] = np.bincount(self.pop.region, weights=np.maximum(-new, 0),
                                        minlength=regions)

    def add_counts(self, day_counts: np.ndarray) -> None:
        """Add the standing term's stocks to a day's ``[region, counter]`` counts."""
        day_counts[:, C_STOCK] += self.counts[:, 0]
        day_counts[:, C_POINTS] += self.counts[:, 1]

