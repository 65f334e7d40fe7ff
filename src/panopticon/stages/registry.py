"""Registry: regional bureaus turn records into case files and lists; the centre receives them.

The court list follows the process behind the published figures: a recorded default may go to
judgment; a judged debtor who does not comply within the grace period is listed; the listing
reaches airlines and railways after ``list_delay_days``; paying removes it, but only after
``removal_delay_days`` everywhere (a stale record, sanctioning someone who has paid). Tax
arrears can lead to an exit ban; misconduct on board puts a traveller on a one-year travel list.
Regional bureaus join the central database over time (``central_connected``); only connected
regions' scores travel to national services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.codes import (
    DEBT_DEFAULT,
    EXIT_BAN,
    IN_DEFAULT,
    JUDGED,
    JUDGMENT_UNPAID,
    LISTED,
    MISCONDUCT,
    ONBOARD_MISCONDUCT,
    PAY_DEBT,
    PAY_TAX,
    STALE,
    TAX_ARREARS,
    TAX_CASE,
    TAX_LISTED,
)
from ..world.engine import RegionRuns
from ..world.population import Population, share_on
from ..world.rng import chance, stream_key, uniform_array
from ..world.state import Stage
from ..world.today import Today

EVER_LISTED, EVER_EXIT_BAN, EVER_MISCONDUCT = 1, 2, 4  # history: on each list at least once
# Records that open, advance or close a case; a citizen with none and no status has no case.
CASE_RECORDS = PAY_DEBT | PAY_TAX | 1 << DEBT_DEFAULT | 1 << TAX_ARREARS | 1 << ONBOARD_MISCONDUCT
COUNTERS = (
    "defaults_recorded", "judgments", "new_listings", "new_listed_people", "listed_stock",
    "listed_shared_stock", "paid_after_listing", "delisted", "listing_expired", "stale_stock",
    "tax_cases", "exit_bans_new", "exit_ban_stock", "misconduct_listed", "misconduct_stock")
(C_DEFAULTS, C_JUDGMENTS, C_LISTINGS, C_LISTED_PEOPLE, C_LISTED, C_SHARED, C_PAID, C_DELISTED,
 C_EXPIRED, C_STALE, C_TAX_CASES, C_EXIT_NEW, C_EXIT_STOCK, C_MISC_NEW, C_MISC_STOCK) = range(
    len(COUNTERS))


@njit(cache=True, nogil=True, inline="always")
def court_step(i, j, day, rec, s, court_day, stale_until, history, p, k_judg, acc_r):
    """Advance one citizen's court case; returns (status, records with a listing added)."""
    if rec & PAY_DEBT:
        if s & LISTED:
            acc_r[C_PAID] += 1
            acc_r[C_DELISTED] += 1
            if day - court_day[j] >= p[4]:  # airlines and railways had it: removal lags
                s |= STALE
                stale_until[j] = day + np.int64(p[3])
        s &= ~(IN_DEFAULT | JUDGED | LISTED)
    elif rec & (1 << DEBT_DEFAULT):
        s |= IN_DEFAULT
        court_day[j] = day
        acc_r[C_DEFAULTS] += 1
    elif s & IN_DEFAULT and chance(k_judg, i, day, p[0]):
        s = (s & ~IN_DEFAULT) | JUDGED
        court_day[j] = day
        acc_r[C_JUDGMENTS] += 1
    elif s & JUDGED and day - court_day[j] >= p[1]:
        s = (s & ~JUDGED) | LISTED
        court_day[j] = day
        rec |= JUDGMENT_UNPAID
        acc_r[C_LISTINGS] += 1
        if not history[j] & EVER_LISTED:
            history[j] |= EVER_LISTED
            acc_r[C_LISTED_PEOPLE] += 1
    elif s & LISTED and day - court_day[j] >= p[2]:
        s &= ~LISTED
        acc_r[C_EXPIRED] += 1
        acc_r[C_DELISTED] += 1
    if s & STALE and day >= stale_until[j]:
        s &= ~STALE
    return s, rec


@njit(cache=True, nogil=True, inline="always")
def case_step(i, j, day, rec, s, court_day, stale_until, tax_day, misconduct_until, history, p,
              k_judg, k_exit, acc_r):
    """Advance one citizen's cases; count flows and the citizen's part of the stocks.

    Returns (status, records with listings added).
    """
    s, rec = court_step(i, j, day, rec, s, court_day, stale_until, history, p, k_judg, acc_r)
    if rec & PAY_TAX and s & TAX_CASE:
        if s & EXIT_BAN:
            acc_r[C_DELISTED] += 1
        s &= ~(TAX_CASE | EXIT_BAN)
    else:
        if rec & (1 << TAX_ARREARS) and not s & TAX_CASE:
            s |= TAX_CASE
            tax_day[j] = day
            acc_r[C_TAX_CASES] += 1
        if (s & TAX_CASE and not s & EXIT_BAN and day - tax_day[j] == p[6]
                and chance(k_exit, i, day, p[5])):
            s |= EXIT_BAN
            rec |= TAX_LISTED
            acc_r[C_EXIT_NEW] += 1
            history[j] |= EVER_EXIT_BAN
    if rec & (1 << ONBOARD_MISCONDUCT):
        if not s & MISCONDUCT:
            acc_r[C_MISC_NEW] += 1
        s |= MISCONDUCT
        history[j] |= EVER_MISCONDUCT
        misconduct_until[j] = day + np.int64(p[7])
    elif s & MISCONDUCT and day >= misconduct_until[j]:
        s &= ~MISCONDUCT
        acc_r[C_DELISTED] += 1
    listed = (s & LISTED) != 0
    acc_r[C_LISTED] += listed
    acc_r[C_SHARED] += listed and day - court_day[j] >= p[4]
    acc_r[C_STALE] += (s & STALE) != 0
    acc_r[C_EXIT_STOCK] += (s & EXIT_BAN) != 0
    acc_r[C_MISC_STOCK] += (s & MISCONDUCT) != 0
    return s, rec


@njit(cache=True, nogil=True)
def registry_kernel(first, day, runs, region, records, status, court_day, stale_until, tax_day,
                    misconduct_until, history, p, k_judg, k_exit, todo, acc):
    """Update one chunk's case files from today's records; count flows and stocks.

    Only citizens with a status or a case record change or count: per run of one region, they
    are listed in ``todo`` (a buffer of chunk size) without a branch per citizen, then advanced.
    p: judgment rate, grace days, listing days, removal delay, list delay, exit-ban share,
    days before an exit ban, days on the travel-misconduct list.
    """
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        m = 0
        for j in range(lo, hi):
            todo[m] = j
            m += (status[j] | (records[j] & CASE_RECORDS)) != 0
        acc_r = acc[region[lo]]
        for t in range(m):
            j = todo[t]
            s, rec = case_step(first + j, j, day, np.int64(records[j]), np.int64(status[j]),
                               court_day, stale_until, tax_day, misconduct_until, history, p,
                               k_judg, k_exit, acc_r)
            status[j] = s
            records[j] = rec


@dataclass
class Registry(Stage):
    """Case files per citizen (status bits and the days they changed) and today's connections."""

    NAME = "registry"
    COUNTERS = COUNTERS

    pop: Population
    sc: Scenario
    status: np.ndarray  # uint8 bits of codes: IN_DEFAULT ... STALE
    court_day: np.ndarray  # int16 day the court case last changed state
    stale_until: np.ndarray  # int16 day a paid listing is removed everywhere
    tax_day: np.ndarray  # int16 day the tax case opened
    misconduct_until: np.ndarray  # int16 day a travel-misconduct listing ends
    history: np.ndarray  # uint8 bits EVER_LISTED, EVER_EXIT_BAN, EVER_MISCONDUCT
    params: np.ndarray
    k_judg: np.uint64
    k_exit: np.uint64
    connect_order: np.ndarray  # regions in the order they join the central database
    runs: RegionRuns
    day: int = 0
    connected: np.ndarray | None = None

    @classmethod
    def build(cls, sc: Scenario, pop: Population, seed: int) -> Registry:
        n = pop.size
        c, t, g = sc.court, sc.tax, sc.registry
        n_regions = len(pop.regions.codes)
        return cls(
            pop=pop, sc=sc,
            status=np.zeros(n, np.uint8), court_day=np.zeros(n, np.int16),
            stale_until=np.zeros(n, np.int16), tax_day=np.zeros(n, np.int16),
            misconduct_until=np.zeros(n, np.int16), history=np.zeros(n, np.uint8),
            params=np.array([c.judgment_rate, c.grace_days, c.listing_days,
                             g.removal_delay_days, g.list_delay_days, t.exit_ban_share,
                             t.exit_ban_after_days, g.misconduct_list_days], dtype=np.float64),
            k_judg=stream_key(seed, "registry.judgment"),
            k_exit=stream_key(seed, "registry.exit_ban"),
            connect_order=np.argsort(uniform_array(stream_key(seed, "registry.connect"), 0,
                                                   n_regions, 0), kind="stable"),
            runs=RegionRuns(pop.region),
        )

    @property
    def list_delay(self) -> int:
        return self.sc.registry.list_delay_days

    def start_day(self, day: int, date: dt.date) -> None:
        self.day = day
        share = min(1.0, share_on(self.sc.registry.central_connected, date))
        self.connected = np.zeros(len(self.connect_order), np.uint8)
        self.connected[self.connect_order[: int(round(share * len(self.connect_order)))]] = 1

    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        n = hi - lo
        registry_kernel(lo, self.day, self.runs(lo, hi),
                        self.pop.region[lo:hi], today.records[:n], self.status[lo:hi],
                        self.court_day[lo:hi], self.stale_until[lo:hi], self.tax_day[lo:hi],
                        self.misconduct_until[lo:hi], self.history[lo:hi], self.params,
                        self.k_judg, self.k_exit, today.todo[:n], acc)
