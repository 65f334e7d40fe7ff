"""Consequences: sanctions and rewards, applied when a citizen tries to do something.

A sanction applies to a citizen on a list it names (the court list once shared with airlines and
railways, and still while a paid listing awaits removal), or in a grade it names where the
region's bureau is connected to the central database and the citizen is scored, from its start
date. Each attempt (a ticket, a trip abroad, a job, credit) is counted, and so is each block, as
an event and once per person. A block is wrongful where the citizen's true case (no stale
listing, no wrong records) would not have been sanctioned; its cause is counted. Children are
barred from top schools for their parent's standing, in a second phase that reads what the first
wrote about the parents.

Every citizen's standing (sanctions in force, on the record and on the true case) is worked out in
a pass without branches, which vectorises; the few who attempt something today are then met one
by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.codes import (
    BETTER_JOBS,
    CAUSE_FALSE_FLAG,
    CAUSE_FALSE_MATCH,
    CAUSE_TIES,
    CREDIT,
    CREDIT_APPLICATION,
    DISCOUNT,
    EASY_CREDIT,
    EVER_BETTER_JOB,
    EVER_CREDIT,
    EVER_DISCOUNT,
    EVER_EASY_CREDIT,
    EVER_EXIT,
    EVER_INSTITUTION,
    EVER_JOB,
    EVER_PLANE,
    EVER_SANCTIONED,
    EVER_SCHOOL,
    EVER_SCHOOL_WRONGFUL,
    EVER_TRAIN,
    EVER_WRONGLY_BLOCKED,
    EVER_WRONGLY_SANCTIONED,
    EXIT,
    EXIT_BAN,
    EXIT_TRIP,
    FAMILY_BARRED,
    FAMILY_FAVOURED,
    FAMILY_SANCTIONED,
    FAMILY_WRONGFUL,
    INSTITUTIONS,
    INTERNET,
    JOB,
    JOB_APPLICATION,
    LISTED,
    LISTS,
    MANAGEMENT,
    MISCONDUCT,
    N_CUTS,
    PLANE,
    PLANE_TICKET,
    REWARD_BIT,
    SANCTION_BIT,
    SCHOOL,
    STALE,
    TRAIN,
    TRAIN_TICKET,
    is_scored,
)
from ..world.engine import nonzero_into
from ..world.population import CHILD, MANAGER
from ..world.rng import bits53, stream_key, threshold
from ..world.state import Stage, View
from ..world.today import Today

COURT_LIST, TAX_LIST, MISCONDUCT_LIST = (LISTS.index(n) for n in LISTS)
LIFE_STREAMS = ("life.exit", "life.job", "life.credit", "life.school")
TRAVEL_ACTS = 1 << PLANE_TICKET | 1 << TRAIN_TICKET
REWARDS_SHIFT = 32  # a grade's masks: sanction bits below, reward bits from here
SANCTIONS = (1 << REWARDS_SHIFT) - 1

# sanctions met, then rewards
COUNTERS = (
    "plane_attempts", "plane_blocked", "plane_blocked_wrongful", "plane_blocked_people",
    "train_attempts", "train_blocked", "train_blocked_wrongful", "train_blocked_people",
    "exit_attempts", "exit_blocked", "exit_blocked_wrongful", "job_applications", "jobs_blocked",
    "jobs_blocked_wrongful", "credit_applications", "credit_denied", "credit_denied_wrongful",
    "management_ban_stock", "internet_throttled_stock",
    "sanctioned_people_stock", "wrongly_sanctioned_stock",
    "wrongful_by_false_match", "wrongful_by_false_flag", "wrongful_by_stale_record",
    "wrongful_by_ties_term",
    "school_applications", "schools_blocked", "schools_blocked_wrongful",
    "children_affected_stock", "children_barred_people",
    "transport_discounts", "easy_credit", "better_jobs", "institution_access")
C = {name: i for i, name in enumerate(COUNTERS)}
# counters of a ticket purchase: attempts, blocked, blocked wrongfully, people ever blocked
C_PLANE, C_TRAIN = (np.array([C[f"{mode}_{s}"] for s in ("attempts", "blocked",
                                                           "blocked_wrongful", "blocked_people")])
                    for mode in ("plane", "train"))
C_EXIT_ATT, C_EXIT_BLK, C_JOB_APP, C_JOB_BLK, C_CREDIT_APP, C_CREDIT_DEN = (C[n] for n in (
    "exit_attempts", "exit_blocked", "job_applications", "jobs_blocked", "credit_applications",
    "credit_denied"))
C_EXIT_WRONG, C_JOB_WRONG, C_CREDIT_WRONG = (C[n] for n in (
    "exit_blocked_wrongful", "jobs_blocked_wrongful", "credit_denied_wrongful"))
C_MGMT, C_THROTTLED, C_SANCTIONED, C_WRONGLY = (C[n] for n in (
    "management_ban_stock", "internet_throttled_stock", "sanctioned_people_stock",
    "wrongly_sanctioned_stock"))
C_BY_MATCH, C_BY_FLAG, C_BY_STALE, C_BY_TIES = (C[n] for n in (
    "wrongful_by_false_match", "wrongful_by_false_flag", "wrongful_by_stale_record",
    "wrongful_by_ties_term"))
C_SCHOOL_APP, C_SCHOOL_BLK, C_SCHOOL_WRONG, C_CHILD_STOCK, C_CHILD_PEOPLE = (C[n] for n in (
    "school_applications", "schools_blocked", "schools_blocked_wrongful",
    "children_affected_stock", "children_barred_people"))
C_DISCOUNT, C_EASY, C_BETTER, C_INSTITUTIONS = (C[n] for n in (
    "transport_discounts", "easy_credit", "better_jobs", "institution_access"))


class LifeParams(NamedTuple):
    """Chances of life events a day (exit trip, job, credit, school) and their streams."""

    rates: np.ndarray
    keys: np.ndarray


class Standing(NamedTuple):
    """What citizens' sanctions and rewards today are worked out from: a chunk's arrays or the
    whole population's, and today's values."""

    region: np.ndarray
    age: np.ndarray
    adopt: np.ndarray
    status: np.ndarray  # registry's
    court_day: np.ndarray  # registry's
    score: np.ndarray  # scoring's
    true_score: np.ndarray  # scoring's
    scored: np.ndarray  # scoring's scored group today
    connected: np.ndarray  # registry's regions connected today
    list_mask: np.ndarray  # sanctions per list, today
    cuts: np.ndarray  # scoring's grade cuts
    steps: np.ndarray  # grade_steps, today
    list_delay: int  # registry's days before a listing is shared


class SanctionArrays(NamedTuple):
    """The rest of one chunk's arrays and buffers that sanctions read and write."""

    flags: np.ndarray
    acts: np.ndarray  # today's, read
    wrong_cause: np.ndarray  # scoring's
    met_ever: np.ndarray  # uint16 bits EVER_*
    family: np.ndarray  # uint8 bits FAMILY_*
    events: np.ndarray  # today's, made here
    todo: np.ndarray
    internet_thr: int  # today's adoption threshold of internet users


@njit(cache=True, nogil=True)
def blame(acc_r, status, cause):
    """Count one wrongful block under each cause that made it."""
    if status & STALE:
        acc_r[C_BY_STALE] += 1
    if cause & CAUSE_FALSE_MATCH:
        acc_r[C_BY_MATCH] += 1
    if cause & CAUSE_FALSE_FLAG:
        acc_r[C_BY_FLAG] += 1
    if cause & CAUSE_TIES:
        acc_r[C_BY_TIES] += 1


@njit(cache=True, nogil=True, inline="always")
def met(history, blocked, wrong, ever):
    """History with ``ever`` added if blocked, and EVER_WRONGLY_BLOCKED if wrongly."""
    if blocked:
        history |= ever
    if wrong:
        history |= EVER_WRONGLY_BLOCKED
    return history


@njit(cache=True, nogil=True, inline="always")
def ticket(acc_r, blocked, wrong, rewards, history, ever, counters, status, cause):
    """A plane or train purchase: counted, blocked (once per person too) or discounted."""
    acc_r[counters[0]] += 1
    if attempt(acc_r, blocked, wrong, counters[1], counters[2], status, cause):
        acc_r[counters[3]] += not history & ever
        return met(history, blocked, wrong, ever)
    discounted = (rewards & DISCOUNT) != 0
    acc_r[C_DISCOUNT] += discounted
    return history | (EVER_DISCOUNT if discounted else 0)


@njit(cache=True, nogil=True)
def attempt(acc_r, blocked, wrong, c_blocked, c_wrong, status, cause):
    """Count a blocked attempt and, if wrongful, its causes; True if it was blocked."""
    if blocked:
        acc_r[c_blocked] += 1
        if wrong:
            acc_r[c_wrong] += 1
            blame(acc_r, status, cause)
    return blocked


@njit(cache=True, nogil=True, inline="always")
def select(condition, a, b):
    """``a if condition else b`` for integers, without a branch."""
    keep = -np.int64(condition)
    return (a & keep) | (b & ~keep)


@njit(cache=True, nogil=True, inline="always")
def grade_mask(score, cuts, steps):
    """The grade masks of ``score`` (see grade_steps): the lowest grade's, changed at each cut
    the score reaches; arithmetic, not branches or loads under a condition, which would stop
    vectorisation."""
    m = steps[0]
    for k in range(N_CUTS):
        m ^= steps[k + 1] & -np.int64(score >= cuts[k])
    return m


@njit(cache=True, nogil=True, inline="always")
def standing(s, court_day, score, true_score, scored, day, list_delay, list_mask, cuts, steps):
    """(sanctions, sanctions of the citizen's true case, rewards) today; branch-free.

    s: registry status. The true case has no stale listing and the true score. An unscored
    citizen meets no grade's sanction or reward.
    """
    court = list_mask[COURT_LIST]
    shared = ((s & LISTED) != 0) & (day - court_day >= list_delay)
    true_lists = (select(shared, court, 0)
                  | select((s & EXIT_BAN) != 0, list_mask[TAX_LIST], 0)
                  | select((s & MISCONDUCT) != 0, list_mask[MISCONDUCT_LIST], 0))
    lists = true_lists | select((s & STALE) != 0, court, 0)
    keep = -np.int64(scored)
    graded = grade_mask(score, cuts, steps) & keep
    true_graded = grade_mask(true_score, cuts, steps) & keep
    return (lists | (graded & SANCTIONS), true_lists | (true_graded & SANCTIONS),
            graded >> REWARDS_SHIFT)


@njit(cache=True, nogil=True, inline="always")
def stand_run(first, lo, hi, day, st, a, steps, life_thr, life_keys, acc_r):
    """Every citizen of the run ``lo..hi`` of a chunk: sanctions in force (stocks, family
    standing, history) and life events.

    ``a.events`` gets the life events drawn and the tickets bought: attempts, met by
    :func:`attempts` for the few with one. Branch-free over the run's own views (indexed from
    0), so that it vectorises.
    """
    age, adopt, status, court_day = st.age[lo:hi], st.adopt[lo:hi], st.status[lo:hi], \
        st.court_day[lo:hi]
    score, true_score, flags, acts = st.score[lo:hi], st.true_score[lo:hi], a.flags[lo:hi], \
        a.acts[lo:hi]
    family, history, events = a.family[lo:hi], a.met_ever[lo:hi], a.events[lo:hi]
    scored, list_delay, list_mask, cuts = st.scored, st.list_delay, st.list_mask, st.cuts
    internet_thr = a.internet_thr
    managers = throttled = sanctioned = wrongly = 0
    for j in range(age.shape[0]):
        i = first + j
        sanc, true_sanc, rewards = standing(status[j], court_day[j], score[j], true_score[j],
                                            is_scored(age[j], adopt[j], scored), day,
                                            list_delay, list_mask, cuts, steps)
        wrong = sanc & ~true_sanc
        managers += ((flags[j] & MANAGER) != 0) & ((sanc & MANAGEMENT) != 0)
        throttled += (adopt[j] < internet_thr) & ((sanc & INTERNET) != 0)
        sanctioned += sanc != 0
        wrongly += wrong != 0
        family[j] = ((FAMILY_BARRED if sanc & SCHOOL else 0)
                     | (FAMILY_WRONGFUL if wrong & SCHOOL else 0)
                     | (FAMILY_FAVOURED if rewards & INSTITUTIONS else 0)
                     | (FAMILY_SANCTIONED if sanc != 0 else 0))
        history[j] |= ((EVER_SANCTIONED if sanc != 0 else 0)
                       | (EVER_WRONGLY_SANCTIONED if wrong != 0 else 0))
        adult = np.int64(age[j] != CHILD)
        ev = adult & np.int64(bits53(life_keys[0], i, day) < life_thr[0])
        ev |= (adult & np.int64(bits53(life_keys[1], i, day) < life_thr[1])) << 1
        ev |= (adult & np.int64(bits53(life_keys[2], i, day) < life_thr[2])) << 2
        events[j] = ev | (np.int64(acts[j]) & TRAVEL_ACTS)
    acc_r[C_MGMT] += managers
    acc_r[C_THROTTLED] += throttled
    acc_r[C_SANCTIONED] += sanctioned
    acc_r[C_WRONGLY] += wrongly


@njit(cache=True, nogil=True, inline="always")
def attempts(j, day, events, status, court_day, score, true_score, scored_j, wrong_cause, history,
             list_delay, list_mask, cuts, steps, acc_r):
    """A citizen's attempts today (tickets and life events in ``events``), blocked or rewarded.

    Called once per citizen with an attempt: it takes arrays one by one, as a tuple of arrays
    passed per citizen costs a reference count per array.
    """
    s = status[j]
    sanc, true_sanc, rewards = standing(s, court_day[j], score[j], true_score[j], scored_j, day,
                                        list_delay, list_mask, cuts, steps)
    wrong = sanc & ~true_sanc
    cause = wrong_cause[j]
    h = history[j]
    if events & (1 << PLANE_TICKET):
        h = ticket(acc_r, sanc & PLANE, wrong & PLANE, rewards, h, EVER_PLANE, C_PLANE, s, cause)
    if events & (1 << TRAIN_TICKET):
        h = ticket(acc_r, sanc & TRAIN, wrong & TRAIN, rewards, h, EVER_TRAIN, C_TRAIN, s, cause)
    if events & EXIT_TRIP:
        acc_r[C_EXIT_ATT] += 1
        attempt(acc_r, sanc & EXIT, wrong & EXIT, C_EXIT_BLK, C_EXIT_WRONG, s, cause)
        h = met(h, sanc & EXIT, wrong & EXIT, EVER_EXIT)
    if events & JOB_APPLICATION:
        acc_r[C_JOB_APP] += 1
        if not attempt(acc_r, sanc & JOB, wrong & JOB, C_JOB_BLK, C_JOB_WRONG, s, cause):
            better = (rewards & BETTER_JOBS) != 0
            acc_r[C_BETTER] += better
            h |= EVER_BETTER_JOB if better else 0
        h = met(h, sanc & JOB, wrong & JOB, EVER_JOB)
    if events & CREDIT_APPLICATION:
        acc_r[C_CREDIT_APP] += 1
        if not attempt(acc_r, sanc & CREDIT, wrong & CREDIT, C_CREDIT_DEN, C_CREDIT_WRONG, s,
                       cause):
            easy = (rewards & EASY_CREDIT) != 0
            acc_r[C_EASY] += easy
            h |= EVER_EASY_CREDIT if easy else 0
        h = met(h, sanc & CREDIT, wrong & CREDIT, EVER_CREDIT)
    history[j] = h


@njit(cache=True, nogil=True)
def sanction_kernel(first, day, runs, st, a, p, acc):
    """Phase 1: today's sanctions and rewards for one chunk's own attempts.

    Per run of one region: every citizen's standing (vectorised), then the attempts of the few
    with a ticket or a life event (listed in ``a.todo``). Grade masks apply only where the
    region is connected, to citizens scored (``st.scored``: see :func:`codes.is_scored`).
    """
    rates = p.rates
    life_thr = np.array([threshold(rates[0]), threshold(rates[1]), threshold(rates[2])])
    unconnected = np.zeros_like(st.steps)
    events, todo, region, connected, age, adopt = (a.events, a.todo, st.region, st.connected,
                                                   st.age, st.adopt)
    status, court_day, score, true_score, scored = (st.status, st.court_day, st.score,
                                                    st.true_score, st.scored)
    wrong_cause, history, list_mask, cuts = a.wrong_cause, a.met_ever, st.list_mask, st.cuts
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        acc_r = acc[region[lo]]
        graded = st.steps if connected[region[lo]] else unconnected
        stand_run(first + lo, lo, hi, day, st, a, graded, life_thr, p.keys, acc_r)
        m = nonzero_into(events, lo, hi, todo)
        for t in range(m):
            j = todo[t]
            attempts(j, day, events[j], status, court_day, score, true_score,
                     is_scored(age[j], adopt[j], scored), wrong_cause, history, st.list_delay,
                     list_mask, cuts, graded, acc_r)


@njit(cache=True, nogil=True)
def standings(ids, day, st):
    """(sanctions, sanctions of the true case, rewards) of citizens ``ids`` today, as the
    sanction kernel works them out (``st`` over the whole population; for the cohort, after the
    day's consequences)."""
    n = ids.shape[0]
    sanc, true_sanc, rewards = (np.zeros(n, np.int64), np.zeros(n, np.int64),
                                np.zeros(n, np.int64))
    steps, unconnected = st.steps, np.zeros_like(st.steps)
    region, connected, status, court_day = st.region, st.connected, st.status, st.court_day
    score, true_score, age, adopt, scored = st.score, st.true_score, st.age, st.adopt, st.scored
    list_delay, list_mask, cuts = st.list_delay, st.list_mask, st.cuts
    for k in range(n):
        i = ids[k]
        graded = steps if connected[region[i]] else unconnected
        sanc[k], true_sanc[k], rewards[k] = standing(
            status[i], court_day[i], score[i], true_score[i], is_scored(age[i], adopt[i], scored),
            day, list_delay, list_mask, cuts, graded)
    return sanc, true_sanc, rewards


@njit(cache=True, nogil=True)
def family_kernel(day, children, region, parent, family, history, p, acc):
    """Phase 2: children pay for their parents: top schools refuse a sanctioned parent's child.

    Only the chunk's ``children`` are visited; only those whose parent has a standing or who
    seek a school today count.
    """
    school_thr = threshold(p.rates[3])
    k_school = p.keys[3]
    for c in children:
        f = family[parent[c]] & ~FAMILY_SANCTIONED
        school = bits53(k_school, c, day) < school_thr
        if f == 0 and not school:
            continue
        acc_r = acc[region[c]]
        barred = (f & FAMILY_BARRED) != 0
        acc_r[C_CHILD_STOCK] += barred
        if barred and not history[c] & EVER_SCHOOL:
            history[c] |= EVER_SCHOOL
            acc_r[C_CHILD_PEOPLE] += 1
        if barred and f & FAMILY_WRONGFUL:
            history[c] |= EVER_SCHOOL_WRONGFUL
        if school:
            acc_r[C_SCHOOL_APP] += 1
            if barred:
                acc_r[C_SCHOOL_BLK] += 1
                acc_r[C_SCHOOL_WRONG] += (f & FAMILY_WRONGFUL) != 0
            elif f & FAMILY_FAVOURED:
                acc_r[C_INSTITUTIONS] += 1
                history[c] |= EVER_INSTITUTION


def grade_steps(grades: np.ndarray, rewards: np.ndarray, cut_grade: np.ndarray) -> np.ndarray:
    """Sanction bits (low) and reward bits (from REWARDS_SHIFT) of the lowest grade, then how
    they change at each cut of :func:`panopticon.stages.scoring.grade_cuts`."""
    masks = grades[cut_grade] | rewards[cut_grade] << REWARDS_SHIFT
    return np.concatenate((masks[:1], masks[1:] ^ masks[:-1]))


def active_masks(sc: Scenario, grade_names: list[str], date: dt.date
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sanction bits per list and per grade, and reward bits per grade, in force on ``date``."""
    lists = np.zeros(len(LISTS), np.int64)
    grades = np.zeros(len(grade_names), np.int64)
    rewards = np.zeros(len(grade_names), np.int64)
    for s in sc.sanctions:
        if s.in_force(date):
            for name in s.lists:
                lists[LISTS.index(name)] |= SANCTION_BIT[s.kind]
            for name in s.grades:
                grades[grade_names.index(name)] |= SANCTION_BIT[s.kind]
    for w in sc.rewards:
        if w.in_force(date):
            for name in w.grades:
                rewards[grade_names.index(name)] |= REWARD_BIT[w.kind]
    return lists, grades, rewards


def params(sc: Scenario, seed: int) -> LifeParams:
    life = sc.life
    return LifeParams(np.array([life.exit_travel_rate, life.job_apply_rate,
                                life.credit_apply_rate, life.school_apply_rate]),
                      np.array([stream_key(seed, s) for s in LIFE_STREAMS], np.uint64))


@dataclass
class Consequences(Stage):
    """What each citizen meets today; who has met each sanction at least once."""

    NAME = "consequences"
    OWNS = ("met_ever", "family", "events", "list_mask", "grade_steps", "life_rates",
            "life_keys")
    READS = ("region", "age", "flags", "adopt", "parent", "acts", "status", "court_day",
             "connected", "list_delay", "score", "true_score", "wrong_cause", "scored", "cuts",
             "cut_grade", "grade_names", "adoption")
    STEPS = ("step", "family_step")
    COUNTERS = COUNTERS

    view: View
    seed: int
    met_ever: np.ndarray  # uint16 bits EVER_*
    family: np.ndarray  # uint8 bits FAMILY_* (parents' standing as their children meet it)
    children: np.ndarray  # citizens with a parent, in order
    sc: Scenario | None = None
    p: LifeParams | None = None
    day: int = 0
    list_mask: np.ndarray | None = None  # sanctions per list, today
    steps: np.ndarray | None = None  # grade_steps, today

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Consequences:
        n = view.size
        consequences = cls(view=view, seed=seed,
                           met_ever=view.own("met_ever", np.zeros(n, np.uint16)),
                           family=view.own("family", np.zeros(n, np.uint8)),
                           children=np.flatnonzero(view.parent >= 0))
        consequences.tune(sc)
        return consequences

    def tune(self, sc: Scenario) -> None:
        """Parameters from ``sc``; the chances of life events published (the cohort redraws a
        child's school application)."""
        self.sc, self.p = sc, params(sc, self.seed)
        self.view.publish("life_rates", self.p.rates)
        self.view.publish("life_keys", self.p.keys)

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Today's sanctions per list and grade masks (published)."""
        self.day = day
        if sc is not self.sc:
            self.tune(sc)
        self.list_mask, grades, rewards = active_masks(sc, self.view.grade_names.tolist(), date)
        self.steps = grade_steps(grades, rewards, self.view.cut_grade)
        self.view.publish("list_mask", self.list_mask)
        self.view.publish("grade_steps", self.steps)

    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        v, n = self.view, hi - lo
        st = Standing(v.region[lo:hi], v.age[lo:hi], v.adopt[lo:hi], v.status[lo:hi],
                      v.court_day[lo:hi], v.score[lo:hi], v.true_score[lo:hi], v.scored,
                      v.connected, self.list_mask, v.cuts, self.steps, int(v.list_delay))
        a = SanctionArrays(v.flags[lo:hi], today.acts[:n], v.wrong_cause[lo:hi],
                           self.met_ever[lo:hi], self.family[lo:hi], today.events[:n],
                           today.todo[:n], int(v.adoption[0]))
        sanction_kernel(lo, self.day, v.runs(lo, hi), st, a, self.p, acc)

    def family_step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        c, v = self.children, self.view
        family_kernel(self.day, c[np.searchsorted(c, lo):np.searchsorted(c, hi)], v.region,
                      v.parent, self.family, self.met_ever, self.p, acc)
