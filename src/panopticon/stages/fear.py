"""Fear: each citizen's perceived risk of being observed and sanctioned (deterrence, chilling).

Risk r in [0, 1], stored as uint16 in 65535ths, is updated at the end of each citizen's day,
after consequences, from what happened to them (``[fear]`` of the scenario):

* it fades toward a floor, ``awareness`` x the camera coverage of the citizen's region and town
  (sensing's, today): ``r <- f + (r - f)(1 - decay)``;
* while the citizen is under a sanction it is held at least at ``sanctioned_risk``;
* a record of the citizen's own act (an observed offence, a content flag, a false match, a
  judgment or tax listing) closes ``observed_jump`` of the gap to 1: ``r <- r + j (1 - r)``;
* every ``ties_lag_days``, before the day, the share s of the citizen's ties (per reach, averaged)
  under a sanction yesterday closes ``ties_jump`` x s of the gap to 1.

Behaviour reads the risk of the day before, in 256ths, through lookup tables (see
:func:`panopticon.behaviour.fear_tables`): offences ``x (1 - deterrence r)``, posts
``x (1 - chilling r)``, posts against the line ``x (1 - chilling_against r)``. Ties are stored
(CSR) once: company.py's where it has the reach, built here otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..language.scenario import Fear as FearSpec
from ..language.scenario import Scenario
from ..world.codes import (
    ACT_BIT,
    FALSE_MATCH,
    FLAG_FALSE,
    FLAG_TRUE,
    JUDGMENT_UNPAID,
    TAX_LISTED,
)
from ..world.engine import RegionRuns
from ..world.population import URBAN, Population
from ..world.state import Stage
from ..world.ties import build_csrs, make_ties, mean_share
from ..world.today import Today
from .behaviour import Behaviour
from .company import Company
from .consequences import FAMILY_SANCTIONED, Consequences
from .sensing import Sensing

ONE = 65535  # risk 1
# perceived risk of being observed and sanctioned, in thousandths, summed over citizens
COUNTERS = ("perceived_risk_permille_sum",)
C_RISK = 0
OFFENCES = ("jaywalking", "red_light", "late_bill", "bad_spending", "debt_default", "tax_arrears",
            "onboard_misconduct")
# records that tell a citizen they were seen (true or not)
SEEN = (sum(ACT_BIT[k] for k in OFFENCES) | FLAG_TRUE | FLAG_FALSE | FALSE_MATCH
        | JUDGMENT_UNPAID | TAX_LISTED)


def fixed(x: float) -> int:
    """A share in 65536ths, as the kernels multiply and shift by 16."""
    return int(round(x * 65536))


@njit(cache=True, nogil=True, inline="always")
def fear_run(flags, records, family, risk, floor, decay_q, jump_q, sanc_q, acc_r):
    """One run of one region: every citizen's risk after today; branch-free (vectorises).

    ``floor`` is (country, town) in 65535ths; the others are shares in 65536ths. Each step keeps
    r within [0, 65535]: the fade moves r part of the way to the floor, the jump part of the way
    to 1.
    """
    total = 0
    for j in range(risk.shape[0]):
        x = np.int64(risk[j])
        town = np.int64((flags[j] & URBAN) != 0)
        f = floor[0] + (floor[1] - floor[0]) * town
        x -= ((x - f) * decay_q) >> 16
        sanctioned = np.int64((family[j] & FAMILY_SANCTIONED) != 0)
        x = max(x, sanc_q * sanctioned)
        seen = np.int64((np.int64(records[j]) & SEEN) != 0)
        x += (((ONE - x) * jump_q) >> 16) * seen
        risk[j] = x
        total += (x * 1001) >> 16  # thousandths
    acc_r[C_RISK] += total


@njit(cache=True, nogil=True)
def fear_kernel(runs, region, flags, records, family, risk, floor, decay_q, jump_q, sanc_q, acc):
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        r = region[lo]
        fear_run(flags[lo:hi], records[lo:hi], family[lo:hi], risk[lo:hi], floor[r], decay_q,
                 jump_q, sanc_q, acc[r])


@dataclass
class Fear(Stage):
    """Perceived risk per citizen (``behaviour.risk``, shared) and its update rules."""

    NAME = "fear"
    COUNTERS = COUNTERS

    spec: FearSpec
    pop: Population
    sensing: Sensing
    consequences: Consequences
    risk: np.ndarray  # uint16, 65535ths; the array behaviour reads
    csr: list  # TieCSR per reach of spec.reach
    runs: RegionRuns
    day: int = 0
    floor: np.ndarray | None = None  # [region, town] in 65535ths, today

    @classmethod
    def build(cls, sc: Scenario, pop: Population, behaviour: Behaviour, sensing: Sensing,
              consequences: Consequences, company: Company, seed: int) -> Fear | None:
        """The stage, or None where the scenario has no fear (then risk stays 0)."""
        spec = sc.fear
        if spec is None or not spec.enabled:
            return None
        shared = dict(zip(company.spec.reach, company.csr)) if company.spec is not None else {}
        csr = list(build_csrs(make_ties(pop, seed), spec.reach, shared).values())
        return cls(spec=spec, pop=pop, sensing=sensing, consequences=consequences,
                   risk=behaviour.risk, csr=csr, runs=behaviour.runs)

    def start_day(self, day: int, date: dt.date) -> None:
        """Today's floor (after sensing's start_day); on day 0 everyone starts at it; ties."""
        self.day = day
        self.floor = np.rint(self.spec.awareness * self.sensing.coverage * ONE).astype(np.int64)
        if day == 0:
            town = (self.pop.flags & URBAN) != 0
            self.risk[:] = self.floor[self.pop.region, town.astype(np.int64)]
        elif day % self.spec.ties_lag_days == 0:
            self.tie_jump()

    def tie_share(self) -> np.ndarray:
        """Per citizen, the share of ties under a sanction yesterday, averaged over reaches."""
        flag = ((self.consequences.family & FAMILY_SANCTIONED) != 0).astype(np.uint8)
        return mean_share(self.csr, flag)

    def tie_jump(self) -> None:
        x = self.risk.astype(np.int64)
        jump = np.rint(self.spec.ties_jump * self.tie_share() * 65536).astype(np.int64)
        self.risk[:] = x + (((ONE - x) * jump) >> 16)

    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        s = self.spec
        fear_kernel(self.runs(lo, hi), self.pop.region[lo:hi], self.pop.flags[lo:hi],
                    today.records[: hi - lo], self.consequences.family[lo:hi],
                    self.risk[lo:hi], self.floor, fixed(s.decay), fixed(s.observed_jump),
                    int(round(s.sanctioned_risk * ONE)), acc)
