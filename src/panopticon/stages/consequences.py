"""Consequences: sanctions and rewards, applied when a citizen tries to do something.

A sanction applies to a citizen on a list it names (the court list once shared with airlines and
railways, and still while a paid listing awaits removal), or in a grade it names where the
region's bureau is connected to the central database and the citizen is scored, from its start
date. Each attempt (a ticket, a trip abroad, a job, credit) is counted, and so is each block, as
an event and once per person. A block is wrongful where the citizen's true case (no stale listing, no wrong records)
would not have been sanctioned; its cause is counted. Children are barred from top schools for
their parent's standing, in a second phase that reads what the first wrote about the parents.

Every citizen's standing (sanctions in force, on the record and on the true case) is worked out in
a pass without branches, which vectorises; the few who attempt something today are then met one
by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..language.scenario import RewardKind, SanctionKind, Scenario
from ..world.codes import (
    CAUSE_FALSE_FLAG,
    CAUSE_FALSE_MATCH,
    CAUSE_TIES,
    EXIT_BAN,
    LISTED,
    LISTS,
    MISCONDUCT,
    PLANE_TICKET,
    STALE,
    TRAIN_TICKET,
)
from ..world.engine import nonzero_into
from ..world.population import CHILD, MANAGER, Population
from ..world.rng import bits53, stream_key, threshold
from ..world.state import Stage
from ..world.today import Today
from .behaviour import Behaviour
from .registry import Registry
from .scoring import N_CUTS, Scoring, is_scored

SANCTION_BIT = {k: 1 << i for i, k in enumerate(SanctionKind.__args__)}  # type: ignore[attr-defined]
REWARD_BIT = {k: 1 << i for i, k in enumerate(RewardKind.__args__)}  # type: ignore[attr-defined]
PLANE, TRAIN, EXIT, SCHOOL, JOB, INTERNET, MANAGEMENT, CREDIT = (
    SANCTION_BIT[k] for k in ("plane_ban", "train_ban", "exit_ban", "school_ban", "job_ban",
                              "internet_throttle", "management_ban", "credit_denied"))
DISCOUNT, EASY_CREDIT, BETTER_JOBS, INSTITUTIONS = (
    REWARD_BIT[k] for k in ("transport_discount", "easy_credit", "better_jobs",
                            "institution_access"))
COURT_LIST, TAX_LIST, MISCONDUCT_LIST = (LISTS.index(n) for n in LISTS)
# history bits: what a citizen has met at least once (distinct people, for the audit)
(EVER_PLANE, EVER_TRAIN, EVER_SCHOOL, EVER_EXIT, EVER_JOB, EVER_CREDIT, EVER_WRONGLY_BLOCKED,
 EVER_SANCTIONED, EVER_WRONGLY_SANCTIONED, EVER_DISCOUNT, EVER_EASY_CREDIT, EVER_BETTER_JOB,
 EVER_INSTITUTION, EVER_SCHOOL_WRONGFUL) = (1 << b for b in range(14))
# family bits, written for parents in phase 1, read for their children in phase 2
FAMILY_BARRED, FAMILY_WRONGFUL, FAMILY_FAVOURED = 1, 2, 4
FAMILY_SANCTIONED = 8  # under some sanction today (read by fear.py for the citizen and ties)
LIFE_STREAMS = ("life.exit", "life.job", "life.credit", "life.school")
# events: life events drawn today, and tickets bought (their act bits)
EXIT_TRIP, JOB_APPLICATION, CREDIT_APPLICATION = 1, 2, 4
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
def stand_run(first, day, age, flags, adopt, acts, status, court_day, score, true_score, family,
              history, events, internet_thr, list_delay, list_mask, cuts, steps, scored, life_thr,
              life_keys, acc_r):
    """Every citizen of a run: sanctions in force (stocks, family standing, history) and life
    events.

    ``events`` gets the life events drawn and the tickets bought: attempts, met by
    :func:`attempts` for the few with one. Branch-free over the run's own views (indexed from
    0), so that it vectorises.
    """
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
def attempts(j, day, events, status, court_day, score, true_score, scored_j, wrong_cause,
             history, list_delay, list_mask, cuts, steps, acc_r):
    """A citizen's attempts today (tickets and life events in ``events``), blocked or rewarded."""
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
def sanction_kernel(first, day, runs, region, age, flags, adopt, acts, status, court_day, score,
                    true_score, wrong_cause, history, family, list_delay, internet_thr,
                    connected, list_mask, cuts, steps, scored, life_p, life_keys, events, todo,
                    acc):
    """Phase 1: today's sanctions and rewards for one chunk's own attempts.

    Per run of one region: every citizen's standing (vectorised), then the attempts of the few
    with a ticket or a life event. Grade masks apply only where the region is connected, to
    citizens scored (``scored``: see :func:`panopticon.scoring.is_scored`).
    ``events`` and ``todo`` are buffers of chunk size.
    """
    life_thr = np.array([threshold(life_p[0]), threshold(life_p[1]), threshold(life_p[2])])
    unconnected = np.zeros_like(steps)
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        acc_r = acc[region[lo]]
        graded = steps if connected[region[lo]] else unconnected
        stand_run(first + lo, day, age[lo:hi], flags[lo:hi], adopt[lo:hi], acts[lo:hi],
                  status[lo:hi], court_day[lo:hi], score[lo:hi], true_score[lo:hi],
                  family[lo:hi], history[lo:hi], events[lo:hi], internet_thr, list_delay,
                  list_mask, cuts, graded, scored, life_thr, life_keys, acc_r)
        m = nonzero_into(events, lo, hi, todo)
        for t in range(m):
            j = todo[t]
            attempts(j, day, events[j], status, court_day, score, true_score,
                     is_scored(age[j], adopt[j], scored), wrong_cause, history, list_delay,
                     list_mask, cuts, graded, acc_r)


@njit(cache=True, nogil=True)
def standings(ids, day, region, age, adopt, status, court_day, score, true_score, scored,
              connected, list_delay, list_mask, cuts, steps):
    """(sanctions, sanctions of the true case, rewards) of citizens ``ids`` today, as the
    sanction kernel works them out (for the cohort, after the day's consequences)."""
    n = ids.shape[0]
    sanc, true_sanc, rewards = (np.zeros(n, np.int64), np.zeros(n, np.int64),
                                np.zeros(n, np.int64))
    unconnected = np.zeros_like(steps)
    for k in range(n):
        i = ids[k]
        graded = steps if connected[region[i]] else unconnected
        sanc[k], true_sanc[k], rewards[k] = standing(
            status[i], court_day[i], score[i], true_score[i], is_scored(age[i], adopt[i], scored),
            day, list_delay, list_mask, cuts, graded)
    return sanc, true_sanc, rewards


@njit(cache=True, nogil=True)
def family_kernel(day, children, region, parent, family, history, k_school, school_p, acc):
    """Phase 2: children pay for their parents: top schools refuse a sanctioned parent's child.

    Only the chunk's ``children`` are visited; only those whose parent has a standing or who
    seek a school today count.
    """
    school_thr = threshold(school_p)
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
    they change at each cut of :func:`panopticon.scoring.grade_cuts`."""
    masks = grades[cut_grade] | rewards[cut_grade] << REWARDS_SHIFT
    return np.concatenate((masks[:1], masks[1:] ^ masks[:-1]))


def active_masks(sc: Scenario, grade_names: list[str], date: dt.date
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sanction bits per list and per grade, and reward bits per grade, in force on ``date``."""
    lists = np.zeros(len(LISTS), np.int64)
    grades = np.zeros(len(grade_names), np.int64)
    rewards = np.zeros(len(grade_names), np.int64)
    for s in sc.sanctions:
        if s.start is None or s.start <= date:
            for name in s.lists:
                lists[LISTS.index(name)] |= SANCTION_BIT[s.kind]
            for name in s.grades:
                grades[grade_names.index(name)] |= SANCTION_BIT[s.kind]
    for w in sc.rewards:
        if w.start is None or w.start <= date:
            for name in w.grades:
                rewards[grade_names.index(name)] |= REWARD_BIT[w.kind]
    return lists, grades, rewards


@dataclass
class Consequences(Stage):
    """What each citizen meets today; who has met each sanction at least once."""

    NAME = "consequences"
    COUNTERS = COUNTERS

    pop: Population
    sc: Scenario
    behaviour: Behaviour
    registry: Registry
    scoring: Scoring
    history: np.ndarray  # uint16 bits EVER_*
    family: np.ndarray  # uint8 bits FAMILY_* (parents' standing as their children meet it)
    children: np.ndarray  # citizens with a parent, in order
    life_p: np.ndarray
    life_keys: np.ndarray
    day: int = 0
    list_mask: np.ndarray | None = None  # sanctions per list, today
    steps: np.ndarray | None = None  # grade_steps, today

    @classmethod
    def build(cls, sc: Scenario, pop: Population, behaviour: Behaviour, registry: Registry,
              scoring: Scoring, seed: int) -> Consequences:
        life = sc.life
        return cls(pop=pop, sc=sc, behaviour=behaviour, registry=registry, scoring=scoring,
                   history=np.zeros(pop.size, np.uint16), family=np.zeros(pop.size, np.uint8),
                   children=np.flatnonzero(pop.parent >= 0),
                   life_p=np.array([life.exit_travel_rate, life.job_apply_rate,
                                    life.credit_apply_rate, life.school_apply_rate]),
                   life_keys=np.array([stream_key(seed, s) for s in LIFE_STREAMS], np.uint64))

    def start_day(self, day: int, date: dt.date) -> None:
        self.day = day
        self.list_mask, grades, rewards = active_masks(self.sc, self.scoring.grade_names, date)
        self.steps = grade_steps(grades, rewards, self.scoring.cut_grade)

    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        p, g, sc, n = self.pop, self.registry, self.scoring, hi - lo
        sanction_kernel(lo, self.day, self.behaviour.runs(lo, hi),
                        p.region[lo:hi], p.age[lo:hi], p.flags[lo:hi], p.adopt[lo:hi],
                        today.acts[:n], g.status[lo:hi], g.court_day[lo:hi],
                        sc.score[lo:hi], sc.true_score[lo:hi], sc.wrong_cause[lo:hi],
                        self.history[lo:hi], self.family[lo:hi], g.list_delay,
                        self.behaviour.thresholds[0], g.connected, self.list_mask, sc.cuts,
                        self.steps, sc.scored, self.life_p, self.life_keys,
                        today.events[:n], today.todo[:n], acc)

    def family_step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        c = self.children
        family_kernel(self.day, c[np.searchsorted(c, lo):np.searchsorted(c, hi)],
                      self.pop.region, self.pop.parent, self.family, self.history,
                      self.life_keys[3], self.life_p[3], acc)
