"""Lists: the scheme's own black and red lists, entered and left by the rules it declares.

Each day, after scoring, every citizen's lists are brought up to date twice: by the published
evidence (today's records, false ones included, and the published score) into ``on_lists``, and
by the true evidence alone (true records, the true score) into ``on_lists_true``; consequences
sanctions and rewards from the first, and a member by the first but not the second is on the
list wrongly. Any one entry rule met today puts a citizen on a list, or renews the entry of one
already on it; otherwise any one exit rule takes a member off, once ``min_days`` have passed
since the last entry. The rules are deterministic (no draws), so a run gives the same bytes for
any chunk size and thread count.

A rule that counts records keeps, per citizen and evidence, the days of the kind's last
``count - 1`` records; a rule on grades held for days keeps the day the citizen came into them.
Only the rules a scenario declares keep anything: a scenario without lists allocates nothing
(its lists are a word of zeros that takes no memory) and the stage is idle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.codes import WORD_BITS, WRONG_RECORDS, is_scored, true_of
from ..world.layout import record_bits
from ..world.pieces import BUFFER, CITIZENS, FIRST, RUNS, SAME, Fields
from ..world.population import adoption_rank, region_of
from ..world.state import Stage, View, kernel_step
from ..world.today import Today

FIGURES = ("entries", "exits", "stock", "people", "wrongful_stock", "wrongful_entries")
ENTRIES, EXITS, STOCK, PEOPLE, WRONGFUL, WRONGFUL_ENTRIES = range(len(FIGURES))
N_FIGURES = len(FIGURES)
# the kinds of rules, as the kernels tell them
RECORD, GRADES, SCORE_BELOW, SCORE_ABOVE, AFTER_DAYS, LEFT_GRADES = range(6)
NO_DAY = -32768  # a day kept before any: further back than any window (int16)
TRACKS = 2  # the published evidence, then the true evidence


def counters(sc: Scenario) -> tuple[str, ...]:
    """Per list of the scenario: entries and exits (events), stock and the wrongful stock
    (members today), people (ever members), by the published evidence; wrongful entries
    (entries that the true evidence does not make the same day)."""
    return tuple(f"{name}_{f}" for name in sc.lists for f in FIGURES)


class Rules(NamedTuple):
    """A scenario's list rules as the kernel reads them, entry and exit rules each grouped by
    list (list l's from ``first[l]`` to ``first[l + 1]``)."""

    kind: np.ndarray  # RECORD ... LEFT_GRADES
    bits: np.ndarray  # [track, rule]: record bits of its kind (true records only, track 1)
    value: np.ndarray  # a score, days, or a record count
    within: np.ndarray  # the window of a count of records, days
    grades: np.ndarray  # bits of grade indices (grade_of)
    slot: np.ndarray  # the first row of the days kept for it (-1: none)
    first: np.ndarray  # per list and one past the last


class ListParams(NamedTuple):
    entry: Rules
    exit: Rules
    min_days: np.ndarray  # per list
    lo_score: int  # the score of grade_of[0]


def kind_bits(sc: Scenario, kind: str) -> np.ndarray:
    """[published, true] record bits of a record kind: an act's and the false records claiming
    it, or a process's; the true evidence has no false records."""
    mask = sum(1 << int(b) for b in record_bits(sc, kind))
    return np.array([mask, mask & ~WRONG_RECORDS], np.int64)


def grade_bits(grades: list[str] | None, names: list[str]) -> int:
    return sum(1 << names.index(g) for g in grades or ())


def rules(sc: Scenario, names: list[str], entry: bool) -> tuple[Rules, int]:
    """The entry or exit rules of ``sc``'s lists (``names``: the grades in grade_of's order);
    and how many rows of days they keep per evidence (a count's last records, the day grades
    held were entered)."""
    kind, bits, value, within, grades, slot, first = [], [], [], [], [], [], [0]
    rows = 0
    for item in sc.lists.values():
        held = grade_bits([g for r in item.entry for g in r.grades or ()], names)
        for r in (item.entry if entry else item.exit):
            k, v, w, g, keep = _rule(r, held, names)
            kind.append(k)
            bits.append(kind_bits(sc, r.record) if r.record else np.zeros(2, np.int64))
            value.append(v)
            within.append(w)
            grades.append(g)
            slot.append(rows if keep else -1)
            rows += keep
        first.append(len(kind))
    arrays = [np.array(x, np.int64) for x in (kind, value, within, grades, slot, first)]
    table = np.array(bits, np.int64).reshape(-1, TRACKS).T.copy()
    return Rules(arrays[0], table, *arrays[1:]), rows


def _rule(r, held: int, names: list[str]) -> tuple[int, int, int, int, int]:
    """(kind, value, window, grade bits, rows of days kept) of one rule."""
    if getattr(r, "after_days", None) is not None:
        return AFTER_DAYS, r.after_days, 0, 0, 0
    if getattr(r, "left_grades", None):
        return LEFT_GRADES, 0, 0, held, 0
    if r.record is not None:
        count = getattr(r, "count", None) or 1
        return RECORD, count, getattr(r, "within_days", None) or 0, 0, count - 1
    if getattr(r, "grades", None) is not None:
        days = r.held_days or 1
        return GRADES, days, 0, grade_bits(r.grades, names), int(days > 1)
    if r.score_below is not None:
        return SCORE_BELOW, r.score_below, 0, 0, 0
    return SCORE_ABOVE, r.score_above, 0, 0, 0


def params(sc: Scenario, names: list[str]) -> tuple[ListParams, int]:
    """The rules of ``sc``'s lists, and the rows of days their entry rules keep."""
    entry, rows = rules(sc, names, True)
    exit_, _ = rules(sc, names, False)
    return (ListParams(entry, exit_, np.array([x.min_days for x in sc.lists.values()], np.int64),
                       int(sc.scoring.min)), rows)


class ListArrays(NamedTuple):
    """One chunk's arrays: the population's and scores it reads, the lists' it keeps."""

    starts: np.ndarray  # each region's first citizen (population.region_of)
    age: np.ndarray
    adopt: np.ndarray
    records: np.ndarray  # today's
    moved: np.ndarray  # today's (Today.moved): 1 where a citizen's lists changed
    score: np.ndarray
    gap: np.ndarray  # scoring's score_gap: the true score (codes.true_of)
    on: np.ndarray  # uint16 lists by the published evidence
    on_true: np.ndarray  # uint16 lists by the true evidence
    since: np.ndarray  # int16 [track, list, citizen]: the day of the last entry
    days: np.ndarray  # int16 [track, row, citizen]: days kept by entry rules
    ever: np.ndarray  # uint16: lists a citizen has been on (published evidence)
    scored: np.ndarray  # today's scored group
    grade_of: np.ndarray  # grade index of each score from min


@njit(cache=True, nogil=True, inline="always")
def counted(t, r, j, day, rec, rules, days):
    """Whether today's records of rule r's kind make its count within its window, keeping the
    days of the last ``count - 1`` records (most recent first in its rows)."""
    mine = rec & rules.bits[t, r]
    if mine == 0:
        return False
    c = rules.value[r]
    if c == 1:
        return True
    row = rules.slot[r]
    met = False
    for b in range(WORD_BITS):  # each record of the kind today is one more
        if mine >> b & 1:
            met |= day - np.int64(days[t, row + c - 2, j]) < rules.within[r]
            for q in range(c - 2, 0, -1):
                days[t, row + q, j] = days[t, row + q - 1, j]
            days[t, row, j] = day
    return met


@njit(cache=True, nogil=True, inline="always")
def held(t, r, j, day, inside, rules, days):
    """Whether a citizen ``inside`` rule r's grades today has been for its days in a row,
    keeping the day they came in."""
    if rules.value[r] <= 1:
        return inside
    row = rules.slot[r]
    if not inside:
        days[t, row, j] = NO_DAY
        return False
    if days[t, row, j] == NO_DAY:
        days[t, row, j] = day
    return day - np.int64(days[t, row, j]) + 1 >= rules.value[r]


@njit(cache=True, nogil=True, inline="always")
def entered(t, l, j, day, rec, s, scored, grade, rules, days):
    """Whether any entry rule of list l is met today (every rule is looked at: those that keep
    days keep them whether or not another is met)."""
    met = False
    for r in range(rules.first[l], rules.first[l + 1]):
        k = rules.kind[r]
        if k == RECORD:
            met |= counted(t, r, j, day, rec, rules, days)
        elif k == GRADES:
            met |= held(t, r, j, day, scored and (grade & rules.grades[r]) != 0, rules, days)
        elif k == SCORE_BELOW:
            met |= scored and s < rules.value[r]
        else:
            met |= scored and s > rules.value[r]
    return met


@njit(cache=True, nogil=True, inline="always")
def left(l, t, day, since, rec, s, scored, grade, rules):
    """Whether any exit rule of list l is met today."""
    for x in range(rules.first[l], rules.first[l + 1]):
        k = rules.kind[x]
        if ((k == AFTER_DAYS and day - since >= rules.value[x])
                or (k == SCORE_ABOVE and scored and s > rules.value[x])
                or (k == SCORE_BELOW and scored and s < rules.value[x])
                or (k == LEFT_GRADES and not (scored and (grade & rules.grades[x]) != 0))
                or (k == RECORD and (rec & rules.bits[t, x]) != 0)):
            return True
    return False


@njit(cache=True, nogil=True, inline="always")
def track(t, j, day, word, rec, s, scored, grade, a, p, acc_r):
    """One citizen's lists by one evidence (t: 0 published, 1 true): the new word, and the
    lists entered today; entries and exits counted for the published evidence."""
    new = 0
    for l in range(p.min_days.shape[0]):
        on = word >> l & 1
        if entered(t, l, j, day, rec, s, scored, grade, p.entry, a.days):
            a.since[t, l, j] = day
            if not on:
                word |= 1 << l
                new |= 1 << l
                if t == 0:
                    acc_r[N_FIGURES * l + ENTRIES] += 1
        elif on:
            since = np.int64(a.since[t, l, j])
            if day - since >= p.min_days[l] and left(l, t, day, since, rec, s, scored, grade,
                                                     p.exit):
                word &= ~(1 << l)
                if t == 0:
                    acc_r[N_FIGURES * l + EXITS] += 1
    return word, new


@njit(cache=True, nogil=True)
def lists_kernel(first, day, runs, a, p, acc):
    """Bring one chunk's lists up to date by both evidences; count entries (and those made
    wrongly), exits, stocks, people ever on each list and the members on it wrongly, per run
    of one region; ``a.moved`` where a citizen's lists changed."""
    lo_score = p.lo_score
    n_lists = p.min_days.shape[0]
    for q in range(runs.shape[0] - 1):
        acc_r = acc[region_of(a.starts, first + runs[q])]
        for j in range(runs[q], runs[q + 1]):
            rec = np.int64(a.records[j])  # a rule's bits of the true evidence are true records
            scored = is_scored(a.age[j], adoption_rank(a.adopt[j], first + j), a.scored)
            s = np.int64(a.score[j])
            ts = true_of(s, a.gap[j])
            grade = np.int64(1) << np.int64(a.grade_of[s - lo_score])
            true_grade = np.int64(1) << np.int64(a.grade_of[ts - lo_score])
            on, new = track(0, j, day, np.int64(a.on[j]), rec, s, scored, grade, a, p, acc_r)
            on_true, _ = track(1, j, day, np.int64(a.on_true[j]), rec, ts, scored, true_grade,
                               a, p, acc_r)
            a.moved[j] |= np.uint8((on != a.on[j]) | (on_true != a.on_true[j]))
            a.on[j], a.on_true[j] = on, on_true
            if on == 0:
                continue
            wrong_new = new & ~on_true
            fresh = on & ~np.int64(a.ever[j])
            a.ever[j] |= on
            for l in range(n_lists):
                acc_r[N_FIGURES * l + STOCK] += on >> l & 1
                acc_r[N_FIGURES * l + PEOPLE] += fresh >> l & 1
                acc_r[N_FIGURES * l + WRONGFUL] += (on & ~on_true) >> l & 1
                acc_r[N_FIGURES * l + WRONGFUL_ENTRIES] += wrong_new >> l & 1


def nothing(n: int) -> np.ndarray:
    """A word of zeros for each of n citizens that takes no memory (every citizen reads the
    same element)."""
    return np.broadcast_to(np.zeros(1, np.uint16), (n,))


@dataclass
class Lists(Stage):
    """Who is on each of the scheme's lists, by the published and by the true evidence."""

    NAME = "lists"
    OWNS = ("on_lists", "on_lists_true", "list_since", "list_days", "list_ever")
    READS = ("age", "adopt", "records", "score", "score_gap", "scored", "grade_of",
             "grade_names")
    WRITES = ("moved",)

    view: View
    p: ListParams | None  # None: the scheme has no lists, the stage is idle
    on: np.ndarray
    on_true: np.ndarray
    since: np.ndarray
    days: np.ndarray
    ever: np.ndarray
    sc: Scenario | None = None
    day: int = 0

    counters = staticmethod(counters)

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Lists:
        n, own, m = view.size, view.own, len(sc.lists)
        if not m:
            return cls(view, None, own("on_lists", nothing(n)),
                       own("on_lists_true", nothing(n)),
                       *(own(name, np.zeros((TRACKS, 0, n), np.int16))
                         for name in ("list_since", "list_days")),
                       own("list_ever", np.zeros(0, np.uint16)))
        p, rows = params(sc, view.grade_names.tolist())
        return cls(view, p, own("on_lists", np.zeros(n, np.uint16)),
                   own("on_lists_true", np.zeros(n, np.uint16)),
                   own("list_since", np.zeros((TRACKS, m, n), np.int16)),
                   own("list_days", np.full((TRACKS, rows, n), NO_DAY, np.int16)),
                   own("list_ever", np.zeros(n, np.uint16)), sc)

    def active(self) -> bool:
        return self.p is not None

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """The rules again where the day's scenario is another object (they hold no schedule,
        so they come out the same: the convention of every stage)."""
        self.day, self.values = day, None
        if sc is not self.sc:
            self.sc, self.p = sc, params(sc, self.view.grade_names.tolist())[0]

    @kernel_step(lists_kernel, pieces=(FIRST, SAME, RUNS, Fields(ListArrays, {
        **dict.fromkeys(("age", "adopt", "score", "gap", "on", "on_true", "since",
                         "days", "ever"), CITIZENS), "records": BUFFER, "moved": BUFFER}),
        SAME, SAME))
    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        a = ListArrays(*today.kept(lo, hi, self.chunk_arrays), *self.day_values())
        return lo, self.day, self.view.runs(lo, hi), a, self.p, acc

    def chunk_arrays(self, lo: int, hi: int, today: Today) -> tuple:
        """ListArrays' arrays of citizens lo..hi for the run (Today.kept)."""
        v = self.view
        return (v.starts, v.age[lo:hi], v.adopt[lo:hi], today.records[:hi - lo],
                today.moved[:hi - lo], v.score[lo:hi],
                v.score_gap[lo:hi], self.on[lo:hi], self.on_true[lo:hi],
                self.since[:, :, lo:hi], self.days[:, :, lo:hi], self.ever[lo:hi])

    def gather_day(self) -> tuple:
        """ListArrays' day values, scoring's: the scored group, the grade table."""
        return self.view.scored, self.view.grade_of
