"""Consequences: sanctions and rewards, applied when a citizen tries to do something.

A sanction applies to a citizen on a list it names (the court list once shared with airlines and
railways, and still while a paid listing awaits removal), or in a grade it names where the
region's bureau is connected to the central database, from its start date. Each attempt (a
ticket, a trip abroad, a job, credit) is counted, and so is each block, as an event and once per
person. A block is wrongful where the citizen's true case (no stale listing, no wrong records)
would not have been sanctioned; its cause is counted. Children are barred from top schools for
their parent's standing, in a second phase that reads what the first wrote about the parents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit

from .behaviour import Behaviour
from .codes import (CAUSE_FALSE_FLAG, CAUSE_FALSE_MATCH, EXIT_BAN, LISTED, LISTS, MISCONDUCT,
                    PLANE_TICKET, STALE, TRAIN_TICKET)
from .counters import INDEX
from .population import CHILD, MANAGER, Population
from .registry import Registry
from .rng import chance, stream_key
from .scenario import RewardKind, SanctionKind, Scenario
from .scoring import Scoring

SANCTION_BIT = {k: 1 << i for i, k in enumerate(SanctionKind.__args__)}  # type: ignore[attr-defined]
REWARD_BIT = {k: 1 << i for i, k in enumerate(RewardKind.__args__)}  # type: ignore[attr-defined]
PLANE, TRAIN, EXIT, SCHOOL, JOB, INTERNET, MANAGEMENT, CREDIT = (
    SANCTION_BIT[k] for k in ("plane_ban", "train_ban", "exit_ban", "school_ban", "job_ban",
                              "internet_throttle", "management_ban", "credit_denied"))
DISCOUNT, EASY_CREDIT, BETTER_JOBS, INSTITUTIONS = (
    REWARD_BIT[k] for k in ("transport_discount", "easy_credit", "better_jobs",
                            "institution_access"))
COURT_LIST, TAX_LIST, MISCONDUCT_LIST = (LISTS.index(n) for n in LISTS)
# history bits: sanctions met at least once (distinct people)
EVER_PLANE, EVER_TRAIN, EVER_SCHOOL = 1, 2, 4
# family bits, written for parents in phase 1, read for their children in phase 2
FAMILY_BARRED, FAMILY_WRONGFUL, FAMILY_FAVOURED = 1, 2, 4
LIFE_STREAMS = ("life.exit", "life.job", "life.credit", "life.school")

C = {name: INDEX[name] for name in (
    "plane_attempts", "plane_blocked", "plane_blocked_wrongful", "plane_blocked_people",
    "train_attempts", "train_blocked", "train_blocked_wrongful", "train_blocked_people",
    "exit_attempts", "exit_blocked", "job_applications", "jobs_blocked", "credit_applications",
    "credit_denied", "management_ban_stock", "internet_throttled_stock",
    "sanctioned_people_stock", "wrongly_sanctioned_stock", "wrongful_by_false_match",
    "wrongful_by_false_flag", "wrongful_by_stale_record", "school_applications",
    "schools_blocked", "schools_blocked_wrongful", "children_affected_stock",
    "children_barred_people", "transport_discounts", "easy_credit", "better_jobs",
    "institution_access")}
C_PLANE_ATT, C_PLANE_BLK, C_PLANE_WRONG, C_PLANE_PEOPLE = (C[f"plane_{s}"] for s in (
    "attempts", "blocked", "blocked_wrongful", "blocked_people"))
C_TRAIN_ATT, C_TRAIN_BLK, C_TRAIN_WRONG, C_TRAIN_PEOPLE = (C[f"train_{s}"] for s in (
    "attempts", "blocked", "blocked_wrongful", "blocked_people"))
C_EXIT_ATT, C_EXIT_BLK, C_JOB_APP, C_JOB_BLK, C_CREDIT_APP, C_CREDIT_DEN = (C[n] for n in (
    "exit_attempts", "exit_blocked", "job_applications", "jobs_blocked", "credit_applications",
    "credit_denied"))
C_MGMT, C_THROTTLED, C_SANCTIONED, C_WRONGLY = (C[n] for n in (
    "management_ban_stock", "internet_throttled_stock", "sanctioned_people_stock",
    "wrongly_sanctioned_stock"))
C_BY_MATCH, C_BY_FLAG, C_BY_STALE = (C[n] for n in (
    "wrongful_by_false_match", "wrongful_by_false_flag", "wrongful_by_stale_record"))
C_SCHOOL_APP, C_SCHOOL_BLK, C_SCHOOL_WRONG, C_CHILD_STOCK, C_CHILD_PEOPLE = (C[n] for n in (
    "school_applications", "schools_blocked", "schools_blocked_wrongful",
    "children_affected_stock", "children_barred_people"))
C_DISCOUNT, C_EASY, C_BETTER, C_INSTITUTIONS = (C[n] for n in (
    "transport_discounts", "easy_credit", "better_jobs", "institution_access"))


@njit(cache=True, nogil=True)
def blame(acc, r, status, cause):
    """Count one wrongful block under each cause that made it."""
    if status & STALE:
        acc[r, C_BY_STALE] += 1
    if cause & CAUSE_FALSE_MATCH:
        acc[r, C_BY_MATCH] += 1
    if cause & CAUSE_FALSE_FLAG:
        acc[r, C_BY_FLAG] += 1


@njit(cache=True, nogil=True)
def attempt(acc, r, blocked, wrong, c_blocked, c_wrong, status, cause):
    """Count a blocked attempt and, if wrongful, its causes; True if it was blocked."""
    if blocked:
        acc[r, c_blocked] += 1
        if wrong:
            acc[r, c_wrong] += 1
            blame(acc, r, status, cause)
    return blocked


@njit(cache=True, nogil=True)
def sanction_kernel(first, day, region, age, flags, adopt, acts, status, court_day, score,
                    true_score, wrong_cause, history, family, grade_of, lo_score, list_delay,
                    internet_thr, connected, list_mask, grade_mask, reward_mask, life_p,
                    life_keys, acc):
    """Phase 1: today's sanctions and rewards for one chunk's own attempts."""
    for j in range(region.shape[0]):
        i = first + j
        r = region[j]
        s = status[j]
        shared = (s & LISTED) != 0 and day - court_day[j] >= list_delay
        other_lists = ((list_mask[TAX_LIST] if s & EXIT_BAN else 0)
                       | (list_mask[MISCONDUCT_LIST] if s & MISCONDUCT else 0))
        true_lists = (list_mask[COURT_LIST] if shared else 0) | other_lists
        lists = true_lists | (list_mask[COURT_LIST] if s & STALE else 0)
        g = grade_of[score[j] - lo_score]
        tg = grade_of[true_score[j] - lo_score]
        national = connected[r] != 0
        sanc = lists | (grade_mask[g] if national else 0)
        true_sanc = true_lists | (grade_mask[tg] if national else 0)
        wrong = sanc & ~true_sanc
        cause = wrong_cause[j]
        rewards = reward_mask[g] if national else 0
        a = acts[j]
        h = history[j]
        if a & (1 << PLANE_TICKET):
            acc[r, C_PLANE_ATT] += 1
            if attempt(acc, r, sanc & PLANE, wrong & PLANE, C_PLANE_BLK, C_PLANE_WRONG, s, cause):
                acc[r, C_PLANE_PEOPLE] += not h & EVER_PLANE
                h |= EVER_PLANE
            elif rewards & DISCOUNT:
                acc[r, C_DISCOUNT] += 1
        if a & (1 << TRAIN_TICKET):
            acc[r, C_TRAIN_ATT] += 1
            if attempt(acc, r, sanc & TRAIN, wrong & TRAIN, C_TRAIN_BLK, C_TRAIN_WRONG, s, cause):
                acc[r, C_TRAIN_PEOPLE] += not h & EVER_TRAIN
                h |= EVER_TRAIN
            elif rewards & DISCOUNT:
                acc[r, C_DISCOUNT] += 1
        history[j] = h
        adult = age[j] != CHILD
        if adult and chance(life_keys[0], i, day, life_p[0]):
            acc[r, C_EXIT_ATT] += 1
            attempt(acc, r, sanc & EXIT, wrong & EXIT, C_EXIT_BLK, C_EXIT_BLK, s, cause)
        if adult and chance(life_keys[1], i, day, life_p[1]):
            acc[r, C_JOB_APP] += 1
            if not attempt(acc, r, sanc & JOB, wrong & JOB, C_JOB_BLK, C_JOB_BLK, s, cause):
                acc[r, C_BETTER] += (rewards & BETTER_JOBS) != 0
        if adult and chance(life_keys[2], i, day, life_p[2]):
            acc[r, C_CREDIT_APP] += 1
            if not attempt(acc, r, sanc & CREDIT, wrong & CREDIT, C_CREDIT_DEN, C_CREDIT_DEN, s,
                           cause):
                acc[r, C_EASY] += (rewards & EASY_CREDIT) != 0
        acc[r, C_MGMT] += (flags[j] & MANAGER) != 0 and (sanc & MANAGEMENT) != 0
        acc[r, C_THROTTLED] += adopt[j] < internet_thr and (sanc & INTERNET) != 0
        acc[r, C_SANCTIONED] += sanc != 0
        acc[r, C_WRONGLY] += wrong != 0
        family[j] = ((FAMILY_BARRED if sanc & SCHOOL else 0)
                     | (FAMILY_WRONGFUL if wrong & SCHOOL else 0)
                     | (FAMILY_FAVOURED if rewards & INSTITUTIONS else 0))


@njit(cache=True, nogil=True)
def family_kernel(first, day, region, parent, family, history, k_school, school_p, acc):
    """Phase 2: children pay for their parents: top schools refuse a sanctioned parent's child."""
    for j in range(region.shape[0]):
        p = parent[j]
        if p < 0:
            continue
        r = region[j]
        f = family[p]
        barred = (f & FAMILY_BARRED) != 0
        acc[r, C_CHILD_STOCK] += barred
        if barred and not history[j] & EVER_SCHOOL:
            history[j] |= EVER_SCHOOL
            acc[r, C_CHILD_PEOPLE] += 1
        if chance(k_school, first + j, day, school_p):
            acc[r, C_SCHOOL_APP] += 1
            if barred:
                acc[r, C_SCHOOL_BLK] += 1
                acc[r, C_SCHOOL_WRONG] += (f & FAMILY_WRONGFUL) != 0
            else:
                acc[r, C_INSTITUTIONS] += (f & FAMILY_FAVOURED) != 0


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
class Consequences:
    """What each citizen meets today; who has met each sanction at least once."""

    pop: Population
    sc: Scenario
    behaviour: Behaviour
    registry: Registry
    scoring: Scoring
    history: np.ndarray  # uint8 bits EVER_*
    family: np.ndarray  # uint8 bits FAMILY_* (parents' standing as their children meet it)
    life_p: np.ndarray
    life_keys: np.ndarray
    day: int = 0
    masks: tuple = ()

    @classmethod
    def build(cls, sc: Scenario, pop: Population, behaviour: Behaviour, registry: Registry,
              scoring: Scoring, seed: int) -> Consequences:
        life = sc.life
        return cls(pop=pop, sc=sc, behaviour=behaviour, registry=registry, scoring=scoring,
                   history=np.zeros(pop.size, np.uint8), family=np.zeros(pop.size, np.uint8),
                   life_p=np.array([life.exit_travel_rate, life.job_apply_rate,
                                    life.credit_apply_rate, life.school_apply_rate]),
                   life_keys=np.array([stream_key(seed, s) for s in LIFE_STREAMS], np.uint64))

    def start_day(self, day: int, date: dt.date) -> None:
        self.day = day
        self.masks = active_masks(self.sc, self.scoring.grade_names, date)

    def step(self, lo: int, hi: int, acc: np.ndarray, scratch: dict) -> None:
        p, g, sc = self.pop, self.registry, self.scoring
        sanction_kernel(lo, self.day, p.region[lo:hi], p.age[lo:hi], p.flags[lo:hi],
                        p.adopt[lo:hi], scratch["acts"][: hi - lo], g.status[lo:hi],
                        g.court_day[lo:hi], sc.score[lo:hi], sc.true_score[lo:hi],
                        sc.wrong_cause[lo:hi], self.history[lo:hi], self.family[lo:hi],
                        sc.grade_of, self.sc.scoring.min, g.list_delay,
                        self.behaviour.thresholds[0], g.connected, *self.masks, self.life_p,
                        self.life_keys, acc)

    def family_step(self, lo: int, hi: int, acc: np.ndarray, scratch: dict) -> None:
        family_kernel(lo, self.day, self.pop.region[lo:hi], self.pop.parent[lo:hi], self.family,
                      self.history[lo:hi], self.life_keys[3], self.life_p[3], acc)
