"""Sampled lives: every event of a cohort of citizens, day by day, with what was wrong in it.

The cohort is the ``audit.cohort_size`` citizens with the smallest draws of the ``cohort.pick``
stream: a function of the seed alone, so the same for any chunk size or thread count. The day
loop pays one step per chunk that copies the members' acts, records and attempts out of the
workers' buffers (which the next chunk overwrites); at the end of the day everything else is
read from the stages' arrays and compared with the day before, for the members only.

Each event is a row (``citizen``, ``date``, ``kind``, ``detail``, ``wrongful``). Kinds: profile,
act, observed, false_record, registry, score, grade, sanction, blocked, reward, attempt, family,
fear. Daily restoration of a point or so is not an event; the next score event shows the level.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numba import njit

from . import codes
from . import consequences as cq
from .counters import ACT_KINDS
from .population import AGE_BANDS, URBAN
from .rng import bits53, stream_key, threshold, uniform_array

if TYPE_CHECKING:
    from .simulation import Simulation

SCHEMA = pa.schema([("citizen", pa.int64()), ("date", pa.date32()), ("kind", pa.string()),
                    ("detail", pa.string()), ("wrongful", pa.bool_())])
ACT_TEXT = {
    "jaywalking": "crossed against the lights on foot", "red_light": "ran a red light",
    "late_bill": "paid a bill late", "bad_spending": "spent badly (payment app)",
    "debt_default": "defaulted on a debt", "tax_arrears": "fell into tax arrears",
    "good_deed": "did a good deed", "plane_ticket": "bought a plane ticket",
    "train_ticket": "bought a train ticket", "onboard_misconduct": "misbehaved on board",
}
SANCTION_TEXT = {"plane_ban": "plane ban", "train_ban": "train ban", "exit_ban": "exit ban",
                 "school_ban": "children out of top schools", "job_ban": "job ban",
                 "internet_throttle": "slow internet", "management_ban": "management ban",
                 "credit_denied": "no credit"}
FEAR_JUMP = 0.05  # a rise of perceived risk in one day worth telling
# attempts: (events bit, sanction bit, what was tried, reward bit, what the reward was)
ATTEMPTS = (
    (1 << codes.PLANE_TICKET, cq.PLANE, "plane ticket", cq.DISCOUNT, "plane ticket discounted"),
    (1 << codes.TRAIN_TICKET, cq.TRAIN, "train ticket", cq.DISCOUNT, "train ticket discounted"),
    (cq.EXIT_TRIP, cq.EXIT, "trip abroad", 0, ""),
    (cq.JOB_APPLICATION, cq.JOB, "job application", cq.BETTER_JOBS, "offered a better job"),
    (cq.CREDIT_APPLICATION, cq.CREDIT, "credit application", cq.EASY_CREDIT,
     "given easy credit"),
)


def pick(n: int, size: int, seed: int) -> np.ndarray:
    """The cohort: the ``size`` citizens with the smallest ``cohort.pick`` draws, in order."""
    if size >= n:
        return np.arange(n, dtype=np.int64)
    if size == 0:
        return np.zeros(0, np.int64)
    draws = uniform_array(stream_key(seed, "cohort.pick"), 0, n, 0)
    return np.sort(np.argpartition(draws, size - 1)[:size]).astype(np.int64)


@njit(cache=True)
def draws_below(key: np.uint64, ids: np.ndarray, day: int, thr: int) -> np.ndarray:
    """``chance(key, i, day, p)`` for each citizen i of ``ids``, with ``thr = threshold(p)``."""
    out = np.zeros(ids.shape[0], np.bool_)
    for k in range(ids.shape[0]):
        out[k] = bits53(key, ids[k], day) < thr
    return out


def bit_names(mask: int, names: dict[str, int]) -> str:
    return ", ".join(SANCTION_TEXT.get(k, k) for k, bit in names.items() if mask & bit)


@dataclass
class Cohort:
    """The members (sorted ids), today's captures, yesterday's state and the events so far."""

    sim: Simulation  # whose stages are read
    ids: np.ndarray
    acts: np.ndarray
    records: np.ndarray
    events: np.ndarray
    prev: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)

    @classmethod
    def build(cls, sim: Simulation, size: int, seed: int) -> Cohort:
        ids = pick(sim.pop.size, size, seed)
        m = ids.shape[0]
        return cls(sim=sim, ids=ids, acts=np.zeros(m, np.int64), records=np.zeros(m, np.int64),
                   events=np.zeros(m, np.int64))

    def capture(self, lo: int, hi: int, acc: np.ndarray, scratch: dict) -> None:
        """A phase-1 step after the others: the members' acts, records and attempts in lo..hi."""
        a, b = np.searchsorted(self.ids, (lo, hi))
        if a == b:
            return
        local = self.ids[a:b] - lo
        self.acts[a:b] = scratch["acts"][local]
        self.records[a:b] = scratch["records"][local]
        self.events[a:b] = scratch["events"][local]

    def emit(self, day: int, where: np.ndarray, kind: str, detail: str | list[str],
             wrongful: bool | np.ndarray = False) -> None:
        """Rows for the members at positions ``where`` (a boolean mask or indices)."""
        pos = np.flatnonzero(where) if where.dtype == bool else where
        if pos.shape[0] == 0:
            return
        details = [detail] * pos.shape[0] if isinstance(detail, str) else detail
        wrong = np.broadcast_to(np.asarray(wrongful, bool), where.shape)
        wrong = wrong[pos] if where.dtype == bool else wrong
        self.rows.append((self.ids[pos], day, kind, details, np.asarray(wrong, bool)))

    def end_day(self, day: int, date: dt.date) -> None:
        """Today's events of every member, from the captures and the stages' arrays."""
        if self.ids.shape[0] == 0:
            return
        now = self.state(day)
        if day == 0:
            self.profiles()
            self.prev = now  # the start is not an event
        self.acts_and_records(day)
        self.registry(day, now)
        self.scores(day, now)
        self.standing(day, now)
        self.attempts(day, now)
        self.children(day, now)
        if self.sim.fear is not None:
            risk, before = now["risk"] / 65535.0, self.prev["risk"] / 65535.0
            jump = risk - before >= FEAR_JUMP
            self.emit(day, jump, "fear", [f"perceived risk {x:.2f} -> {y:.2f}" for x, y in
                                          zip(before[jump], risk[jump], strict=True)],
                      (self.records & codes.WRONG_RECORDS) != 0)
        self.prev = now

    def state(self, day: int) -> dict:
        """The members' standing at the end of today."""
        sim, ids = self.sim, self.ids
        reg, sc, con = sim.registry, sim.scoring, sim.consequences
        sanc, true_sanc, rewards = cq.standings(
            ids, day, sim.pop.region, reg.status, reg.court_day, sc.score, sc.true_score,
            reg.connected, reg.list_delay, con.list_mask, sc.cuts, con.steps)
        parent = sim.pop.parent[ids]
        family = np.where(parent >= 0, con.family[np.maximum(parent, 0)], 0).astype(np.int64)
        lo = sim.scenario.scoring.min
        return {"status": reg.status[ids].astype(np.int64),
                "court_day": reg.court_day[ids].astype(np.int64),
                "score": sc.score[ids].astype(np.int64),
                "true": sc.true_score[ids].astype(np.int64),
                "grade": sc.grade_of[sc.score[ids].astype(np.int64) - lo],
                "true_grade": sc.grade_of[sc.true_score[ids].astype(np.int64) - lo],
                "term": sc.ties_term[ids].astype(np.int64), "cause": sc.wrong_cause[ids],
                "sanc": sanc, "wrong": sanc & ~true_sanc, "rewards": rewards,
                "family": family & ~cq.FAMILY_SANCTIONED,
                "risk": sim.behaviour.risk[ids].astype(np.float64)}

    def profiles(self) -> None:
        pop, ids = self.sim.pop, self.ids
        income = pop.income[np.where(pop.parent[ids] >= 0, pop.parent[ids], ids)]
        details = [f"{pop.regions.names[pop.region[i]]}, age {AGE_BANDS[pop.age[i]]}, "
                   f"{'urban' if pop.flags[i] & URBAN else 'rural'}, income decile {d + 1} of 10"
                   + (f" (parent: citizen {pop.parent[i]})" if pop.parent[i] >= 0 else "")
                   for i, d in zip(ids, income, strict=True)]
        self.emit(0, np.arange(ids.shape[0]), "profile", details)

    def acts_and_records(self, day: int) -> None:
        acts, rec = self.acts, self.records
        for k, kind in enumerate(ACT_KINDS):
            done, seen = (acts >> k & 1) != 0, (rec >> k & 1) != 0
            if kind == "online_post":
                against = (acts & codes.POST_AGAINST) != 0
                self.emit(day, done & against, "act", "posted against the official line")
                self.emit(day, done & ~against, "act", "posted (lawful)")
                self.emit(day, seen, "observed", "post against the line flagged by review")
                continue
            self.emit(day, done, "act", ACT_TEXT[kind])
            if kind not in ("plane_ticket", "train_ticket"):
                self.emit(day, seen, "observed", f"recorded: {ACT_TEXT[kind]}")
        self.emit(day, (acts & codes.PAY_DEBT) != 0, "act", "paid the court debt")
        self.emit(day, (acts & codes.PAY_TAX) != 0, "act", "paid the tax arrears")
        self.emit(day, (rec & codes.FALSE_MATCH) != 0, "false_record",
                  "a camera matched someone else's offence to them", True)
        self.emit(day, (rec & codes.FLAG_FALSE) != 0, "false_record",
                  "a lawful post was flagged by content review", True)

    def registry(self, day: int, now: dict) -> None:
        s, before = now["status"], self.prev["status"]
        gained, lost = s & ~before, before & ~s
        paid = (self.acts & codes.PAY_DEBT) != 0
        for bits, where, text, wrong in (
                (codes.IN_DEFAULT, gained, "debt default recorded: a court case opens", False),
                (codes.JUDGED, gained, "judged a debtor by a court", False),
                (codes.STALE, gained,
                 "paid, but airlines and railways keep the listing until it is removed", True),
                (codes.STALE, lost, "the paid listing is finally removed", False),
                (codes.TAX_CASE, gained, "tax arrears case opened", False),
                (codes.EXIT_BAN, lost, "tax paid: exit ban lifted", False),
                (codes.MISCONDUCT, gained, "put on the travel misconduct list for a year", False),
                (codes.MISCONDUCT, lost, "off the travel misconduct list", False)):
            self.emit(day, (where & bits) != 0, "registry", text, wrong)
        self.emit(day, (self.records & codes.JUDGMENT_UNPAID) != 0, "registry",
                  "listed as a dishonest judgment debtor (court list)")
        self.emit(day, (self.records & codes.TAX_LISTED) != 0, "registry",
                  "exit ban for tax arrears")
        delay = self.sim.registry.list_delay
        shared = ((s & codes.LISTED) != 0) & (day - now["court_day"] == delay)
        self.emit(day, shared, "registry", "the listing reaches airlines and railways")
        delisted = (lost & codes.LISTED) != 0
        self.emit(day, delisted & paid, "registry", "paid: off the court list")
        self.emit(day, delisted & ~paid, "registry", "court listing expired")

    def scores(self, day: int, now: dict) -> None:
        grades = self.sim.scoring.grade_names
        term_moved = now["term"] != self.prev["term"]
        self.emit(day, term_moved, "score",
                  [f"bad-company term {a} -> {b} points (ties on a list or in a low grade)"
                   for a, b in zip(self.prev["term"][term_moved], now["term"][term_moved],
                                   strict=True)], True)
        moved = (now["score"] != self.prev["score"]) & (self.records != 0)
        wrong = (self.records & codes.WRONG_RECORDS) != 0
        self.emit(day, moved, "score",
                  [f"score {a} -> {b} (true score {t})" for a, b, t in
                   zip(self.prev["score"][moved], now["score"][moved], now["true"][moved],
                       strict=True)], wrong)
        regraded = now["grade"] != self.prev["grade"]
        self.emit(day, regraded, "grade",
                  [f"grade {grades[a]} -> {grades[b]}" + (f" (true grade {grades[t]})" if t != b
                                                          else "")
                   for a, b, t in zip(self.prev["grade"][regraded], now["grade"][regraded],
                                      now["true_grade"][regraded], strict=True)],
                  now["grade"] != now["true_grade"])

    def standing(self, day: int, now: dict) -> None:
        sanc, before = now["sanc"], self.prev["sanc"]
        for where, verb, bits in ((sanc & ~before, "now under", sanc & ~before),
                                  (before & ~sanc, "no longer under", before & ~sanc)):
            pos = np.flatnonzero(where)
            self.emit(day, pos, "sanction",
                      [f"{verb}: {bit_names(int(bits[p]), cq.SANCTION_BIT)}"
                       + (f" (wrongful: {self.cause(p, now)})" if verb == "now under"
                          and now["wrong"][p] & bits[p] else "") for p in pos],
                      (now["wrong"][pos] & bits[pos]) != 0 if verb == "now under" else False)

    def cause(self, p: int, now: dict) -> str:
        """Why member ``p``'s sanction is wrongful, in words."""
        causes = [text for bit, text in ((codes.CAUSE_FALSE_MATCH, "a false camera match"),
                                         (codes.CAUSE_FALSE_FLAG, "a lawful post flagged"),
                                         (codes.CAUSE_TIES, "bad company"))
                  if now["cause"][p] & bit]
        if now["status"][p] & codes.STALE:
            causes.insert(0, "a paid debt still listed")
        return ", ".join(causes) or "a wrong record"

    def attempts(self, day: int, now: dict) -> None:
        ev, sanc, wrong, rewards = self.events, now["sanc"], now["wrong"], now["rewards"]
        for event, bit, what, reward, reward_text in ATTEMPTS:
            tried = (ev & event) != 0
            blocked = tried & ((sanc & bit) != 0)
            pos = np.flatnonzero(blocked)
            self.emit(day, pos, "blocked",
                      [f"{what} refused" + (f" (wrongful: {self.cause(p, now)})"
                                            if wrong[p] & bit else "") for p in pos],
                      (wrong[pos] & bit) != 0)
            rewarded = tried & ~blocked & ((rewards & reward) != 0)
            self.emit(day, rewarded, "reward", reward_text)
            if event >= 1 << codes.PLANE_TICKET:
                continue  # an unblocked ticket is the act already told
            self.emit(day, tried & ~blocked & ~rewarded, "attempt", what)

    def children(self, day: int, now: dict) -> None:
        """What the members who are children meet for their parents' standing."""
        f, before = now["family"], self.prev["family"]
        barred = (f & cq.FAMILY_BARRED) != 0
        wrong = (f & cq.FAMILY_WRONGFUL) != 0
        self.emit(day, barred & ((before & cq.FAMILY_BARRED) == 0), "family",
                  "barred from top schools for a parent's list or grade", wrong)
        self.emit(day, ~barred & ((before & cq.FAMILY_BARRED) != 0), "family",
                  "no longer barred from top schools")
        con = self.sim.consequences
        applies = (self.sim.pop.parent[self.ids] >= 0) & draws_below(
            con.life_keys[3], self.ids, day, threshold(con.life_p[3]))
        self.emit(day, applies & barred, "blocked",
                  "top school refused for a parent's standing", wrong)
        favoured = applies & ~barred & ((f & cq.FAMILY_FAVOURED) != 0)
        self.emit(day, favoured, "reward", "admitted to a top school for a parent's grade")
        self.emit(day, applies & ~barred & ~favoured, "attempt", "applied to a top school")

    def table(self, start: dt.date) -> pa.Table:
        """Every event, by citizen then date (in the order told within a day)."""
        if not self.rows:
            return SCHEMA.empty_table()
        citizen = np.concatenate([r[0] for r in self.rows])
        day = np.concatenate([np.full(r[0].shape[0], r[1], np.int64) for r in self.rows])
        kind = np.concatenate([np.full(r[0].shape[0], r[2], object) for r in self.rows])
        detail = np.concatenate([np.asarray(r[3], object) for r in self.rows])
        wrongful = np.concatenate([r[4] for r in self.rows])
        order = np.lexsort((day, citizen))  # stable: a day's events stay in the order told
        dates = np.datetime64(start, "D") + day[order]
        return pa.table({"citizen": citizen[order], "date": pa.array(dates, pa.date32()),
                         "kind": pa.array(kind[order], pa.string()),
                         "detail": pa.array(detail[order], pa.string()),
                         "wrongful": wrongful[order]}, schema=SCHEMA)
