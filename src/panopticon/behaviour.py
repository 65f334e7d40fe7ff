"""Behaviour: what each citizen does today, as the ground truth that sensing may or may not see.

Every act is a Bernoulli draw of ``rate x propensity`` for eligible citizens. Propensities are
fixed per citizen (unit-mean exponential draws on trait streams, recomputed, never stored): a few
people commit most offences, as in real offending data. Citizens in the court or tax process
decide each day whether to pay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .codes import (DEBT_DEFAULT, IN_DEFAULT, JUDGED, LISTED, ONLINE_POST, PAY_DEBT, PAY_TAX,
                    POST_AGAINST, TAX_CASE)
from .counters import ACT_KINDS, INDEX, act_counter
from .engine import scratch_array
from .population import CHILD, URBAN, Population, adoption_threshold
from .rng import chance, exponential, stream_key
from .scenario import Scenario

WHO = {"everyone": 0, "adults": 1, "internet_users": 2, "payment_users": 3}
# Which fixed trait scales each act kind's rate.
OFFENCE, DEBT, CIVIC, TRAVEL, NONE = range(5)
TRAIT_OF = {
    "jaywalking": OFFENCE, "red_light": OFFENCE, "onboard_misconduct": OFFENCE,
    "late_bill": DEBT, "bad_spending": DEBT, "debt_default": DEBT, "tax_arrears": DEBT,
    "online_post": NONE, "good_deed": CIVIC, "plane_ticket": TRAVEL, "train_ticket": TRAVEL,
}
TRAIT_STREAMS = ("trait.offence", "trait.debt", "trait.civic", "trait.travel", "trait.dissent")
URBAN_TRAVEL, RURAL_TRAVEL = 1.3, 0.5  # assumption: town dwellers travel more (mean about 1)
C_CITIZENS, C_CHILDREN = INDEX["citizens"], INDEX["children"]
C_INTERNET, C_PAYMENT = INDEX["internet_users"], INDEX["payment_users"]
C_ACT0 = act_counter("acts", ACT_KINDS[0])
C_AGAINST, C_DEBT_PAID, C_TAX_PAID = (INDEX[n] for n in ("posts_against_line", "debts_paid",
                                                          "taxes_paid"))


@njit(cache=True, nogil=True)
def act_kernel(first, day, region, age, flags, income, adopt, status, rates, who, trait_of,
               act_keys, trait_keys, k_against, k_pay, k_tax, internet_thr, payment_thr,
               against_share, pay_rates, tax_pay_rate, acts, acc):
    """Draw today's acts for one chunk into ``acts`` (bits of codes.ACT_BIT and extras)."""
    n_kinds = rates.shape[0]
    traits = np.ones(NONE + 1)
    for j in range(region.shape[0]):
        i = first + j
        r = region[j]
        adult = age[j] != CHILD
        online = adopt[j] < internet_thr
        paying = adopt[j] < payment_thr
        acc[r, C_CITIZENS] += 1
        acc[r, C_CHILDREN] += not adult
        acc[r, C_INTERNET] += online
        acc[r, C_PAYMENT] += paying
        travel = ((np.float64(income[j]) + 1.0) / 5.5
                  * (URBAN_TRAVEL if flags[j] & URBAN else RURAL_TRAVEL))
        s = status[j]
        in_court = (s & (IN_DEFAULT | JUDGED | LISTED)) != 0
        traits[OFFENCE] = exponential(trait_keys[OFFENCE], i, 0)
        traits[DEBT] = exponential(trait_keys[DEBT], i, 0)
        traits[CIVIC] = exponential(trait_keys[CIVIC], i, 0)
        traits[TRAVEL] = exponential(trait_keys[TRAVEL], i, 0) * travel
        bits = 0
        for k in range(n_kinds):
            w = who[k]
            eligible = (w == 0) | ((w == 1) & adult) | ((w == 2) & online) | ((w == 3) & paying)
            eligible &= not (k == DEBT_DEFAULT and in_court)  # one debt case at a time
            if eligible and chance(act_keys[k], i, day, rates[k] * traits[trait_of[k]]):
                bits |= 1 << k
                acc[r, C_ACT0 + k] += 1
        if bits & (1 << ONLINE_POST):
            share = min(1.0, against_share * exponential(trait_keys[4], i, 0))
            if chance(k_against, i, day, share):
                bits |= POST_AGAINST
                acc[r, C_AGAINST] += 1
        pay_rate = (pay_rates[2] if s & LISTED else pay_rates[1] if s & JUDGED
                    else pay_rates[0] if s & IN_DEFAULT else 0.0)
        if pay_rate > 0.0 and chance(k_pay, i, day, pay_rate):
            bits |= PAY_DEBT
            acc[r, C_DEBT_PAID] += 1
        if s & TAX_CASE and chance(k_tax, i, day, tax_pay_rate):
            bits |= PAY_TAX
            acc[r, C_TAX_PAID] += 1
        acts[j] = bits


@dataclass
class Behaviour:
    """Act rates and eligibility from the scenario; today's adoption thresholds."""

    pop: Population
    status: np.ndarray  # registry's status bits, read to decide on paying
    rates: np.ndarray
    who: np.ndarray
    trait_of: np.ndarray
    act_keys: np.ndarray
    trait_keys: np.ndarray
    k_against: np.uint64
    k_pay: np.uint64
    k_tax: np.uint64
    against_share: float
    pay_rates: np.ndarray  # settle, comply, pay-when-listed: per day
    tax_pay_rate: float
    internet_points: list
    payment_points: list
    day: int = 0
    thresholds: tuple[int, int] = field(default=(0, 0))

    @classmethod
    def build(cls, sc: Scenario, pop: Population, status: np.ndarray, seed: int) -> Behaviour:
        rates = np.array([sc.acts[k].rate if k in sc.acts else 0.0 for k in ACT_KINDS])
        who = np.array([WHO[sc.acts[k].who] if k in sc.acts else 0 for k in ACT_KINDS], np.int64)
        return cls(
            pop=pop, status=status, rates=rates, who=who,
            trait_of=np.array([TRAIT_OF[k] for k in ACT_KINDS], dtype=np.int64),
            act_keys=np.array([stream_key(seed, f"act.{k}") for k in ACT_KINDS], np.uint64),
            trait_keys=np.array([stream_key(seed, s) for s in TRAIT_STREAMS], np.uint64),
            k_against=stream_key(seed, "act.online_post_line"),
            k_pay=stream_key(seed, "act.pay_debt"), k_tax=stream_key(seed, "act.pay_tax"),
            against_share=sc.sensing.against_line_share,
            pay_rates=np.array([sc.court.settle_rate, sc.court.comply_rate,
                                sc.court.pay_rate_listed]),
            tax_pay_rate=sc.tax.pay_rate,
            internet_points=sc.population.internet_users,
            payment_points=sc.population.payment_users,
        )

    def start_day(self, day: int, date: dt.date) -> None:
        self.day = day
        self.thresholds = (
            adoption_threshold(self.internet_points, date, self.pop.regions),
            adoption_threshold(self.payment_points, date, self.pop.regions),
        )

    def step(self, lo: int, hi: int, acc: np.ndarray, scratch: dict) -> None:
        p = self.pop
        acts = scratch_array(scratch, "acts", hi - lo, np.uint32)
        act_kernel(lo, self.day, p.region[lo:hi], p.age[lo:hi], p.flags[lo:hi], p.income[lo:hi],
                   p.adopt[lo:hi], self.status[lo:hi], self.rates, self.who, self.trait_of,
                   self.act_keys, self.trait_keys, self.k_against, self.k_pay, self.k_tax,
                   self.thresholds[0], self.thresholds[1], self.against_share, self.pay_rates,
                   self.tax_pay_rate, acts, acc)

