"""Sampled lives: every event of a cohort of citizens, day by day, with what was wrong in it.

The cohort is the ``audit.cohort_size`` citizens with the smallest draws of the ``cohort.pick``
stream: a function of the seed alone, so the same for any chunk size or thread count. It is a
read-only observer: it declares what it reads of the state (``Cohort.READS``) and gets a view of
it, never a stage. The day loop pays one step per chunk that copies the members' acts (attempts
among them) and records out of the workers' buffers (which the next chunk overwrites); at the
end of the day everything else is read from the state's arrays in one call (``member_rows``)
and compared with the day before, for the members only, in one pass (``news``) that says which
parts of the story have something to tell: only those are told.

Each event is a row (``citizen``, ``date``, ``kind``, ``detail``, ``wrongful``). Kinds: profile,
act, observed, false_record, registry, score, grade, sanction, blocked, reward, family, fear. The
acts, channels, sanctions and rewards are told by the scenario's names and texts. Daily
restoration of a point or so is not an event; the next score event shows the level.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from numba import njit

from ..language.catalog import BORNE_FOR, words
from ..language.scenario import Scenario
from ..stages.consequences import (
    Catalog,
    catalog,
    everyone_standing,
    kin_measures,
    kin_words,
    met_by,
    standings,
)
from ..stages.fear import ONE as RISK_ONE
from ..world import codes
from ..world.case_book import COURT_DAY, STATUS
from ..world.codes import CONTENT_TYPES, LISTED, cause_of, true_of
from ..world.codes import SHARED as SHARED_LISTING
from ..world.layout import Layout
from ..world.pieces import BUFFER, FIRST, SAME
from ..world.population import AGE_BANDS, INCOME_SHIFT, URBAN, band, parents, region_of
from ..world.rng import smallest, stream_key
from ..world.state import View, kernel_step
from ..world.today import Today
from ..world.word_book import walk, word_at

SCHEMA = pa.schema([("citizen", pa.int64()), ("date", pa.date32()), ("kind", pa.string()),
                    ("detail", pa.string()), ("wrongful", pa.bool_())])
LAWFUL_POST = "posted (lawful)"
FEAR_JUMP = 0.05  # a rise of perceived risk in one day worth telling


def pick(n: int, size: int, seed: int) -> np.ndarray:
    """The cohort: the ``size`` citizens with the smallest ``cohort.pick`` draws, in order."""
    if size >= n:
        return np.arange(n, dtype=np.int64)
    return smallest(stream_key(seed, "cohort.pick"), n, size)


def bit_names(mask: int, names: tuple[str, ...]) -> str:
    """The names of the bits of ``mask`` (bit b: ``names[b]``), in words."""
    return ", ".join(words(n) for b, n in enumerate(names) if mask >> b & 1)


@njit(cache=True, nogil=True)
def capture_kernel(first, ids, acts, records, out_acts, out_records):
    """The acts and records of the members ``ids`` (in order) among a chunk's citizens
    (``first`` and on, today's buffers ``acts`` and ``records``), into their rows of ``out_acts``
    and ``out_records``."""
    for m in range(np.searchsorted(ids, first), np.searchsorted(ids, first + acts.shape[0])):
        out_acts[m] = acts[ids[m] - first]
        out_records[m] = records[ids[m] - first]


@dataclass(frozen=True)
class Events:
    """Events told by the bits of a per-member word: each bit's kind, text and wrongfulness."""

    bits: np.ndarray
    kinds: np.ndarray
    texts: np.ndarray
    wrong: np.ndarray

    @classmethod
    def of(cls, *entries: tuple[int, str, str, bool]) -> Events:
        bits, kinds, texts, wrong = zip(*entries, strict=True)
        return cls(np.array(bits, np.int64), np.array(kinds, object), np.array(texts, object),
                   np.array(wrong, bool))


# Bits above every bit of the acts word, one per content type, that mark a post against the line
# in the word the cohort tells (the acts word holds the type as a number, not as bits).
AGAINST_BY_TYPE = codes.WORD_BITS
assert AGAINST_BY_TYPE + len(CONTENT_TYPES) <= 63
A_TYPE = {"comment": "a comment", "photo": "a photo", "article": "an article", "video": "a video"}


def act_events(sc: Scenario) -> Events:
    """The acts word's events: each act's text, posting for a lawful post only, the extras."""
    layout = Layout.of(sc)
    return Events.of(
        (1 << codes.ONLINE_POST, "act", LAWFUL_POST, False),
        *((layout.bit(k), "act", sc.acts[k].words(k), False) for k in layout.kinds[1:]),
        *((1 << (AGAINST_BY_TYPE + t), "act", f"posted {A_TYPE[ctype]} against the official line",
           False) for t, ctype in enumerate(CONTENT_TYPES)),
        (codes.PAY_DEBT, "act", "paid the court debt", False),
        (codes.PAY_TAX, "act", "paid the tax arrears", False))


def false_text(sc: Scenario, channel: str) -> str:
    """A false record of ``channel``, in words."""
    act = sc.channels[channel].false_as
    return f"{words(channel)} recorded someone else's act against them: {sc.acts[act].words(act)}"


def record_events(sc: Scenario) -> Events:
    """The records word's events: each act a channel observes, each channel's false records,
    content review's flags, the processes' records."""
    layout = Layout.of(sc)
    return Events.of(
        *((layout.bit(k), "observed", f"recorded: {a.words(k)}", False)
          for k, a in sc.acts.items() if a.channel != "none"),
        (codes.FLAG_TRUE, "observed", "post against the line flagged by review", False),
        *((1 << (codes.FALSE_SHIFT + f), "false_record", false_text(sc, c), True)
          for f, c in enumerate(layout.false_channels)),
        (codes.FLAG_FALSE, "false_record", "a lawful post was flagged by content review", True),
        (codes.JUDGMENT_UNPAID, "registry", "listed as a dishonest judgment debtor (court list)",
         False),
        (codes.TAX_LISTED, "registry", "exit ban for tax arrears", False))


# status word: bits gained (low byte), lost (<< 8), and the court list's steps (<< 16)
LOST, PAID_OFF, EXPIRED, SHARED = 8, 1 << 16, 1 << 17, 1 << 18
STATUS_EVENTS = Events.of(
    (codes.IN_DEFAULT, "registry", "debt default recorded: a court case opens", False),
    (codes.JUDGED, "registry", "judged a debtor by a court", False),
    (SHARED, "registry", "the listing reaches airlines and railways", False),
    (PAID_OFF, "registry", "paid: off the court list", False),
    (EXPIRED, "registry", "court listing expired", False),
    (codes.STALE, "registry", "paid, but still listed with airlines and railways", True),
    (codes.STALE << LOST, "registry", "the paid listing is finally removed", False),
    (codes.TAX_CASE, "registry", "tax arrears case opened", False),
    (codes.EXIT_BAN << LOST, "registry", "tax paid: exit ban lifted", False),
    (codes.MISCONDUCT, "registry", "put on the travel misconduct list for a year", False),
    (codes.MISCONDUCT << LOST, "registry", "off the travel misconduct list", False))


# The members' words at the end of a day, a row each: the state's, read by ``member_words``,
# then the measures they are under (consequences' ``standings``) and what relatives bring.
FIELDS = ("status", "court_day", "score", "true", "grade", "true_grade", "term", "cause", "on",
          "on_true", "risk", "shared", "sanc", "true_sanc", "wrong", "rewards", "family")
ROW = {name: r for r, name in enumerate(FIELDS)}
SANC, TRUE_SANC, WRONG, REWARDS, FAMILY = (ROW[n] for n in FIELDS[-5:])
R_STATUS, R_SHARED, R_SCORE, R_TERM, R_GRADE, R_ON, R_RISK = (ROW[n] for n in (
    "status", "shared", "score", "term", "grade", "on", "risk"))
# The parts of a day's story (Cohort.end_day), as the bits that ``news`` sets for those with
# something to tell today.
TELL_REGISTRY, TELL_TERM, TELL_SCORE, TELL_GRADE, TELL_LISTS, TELL_STANDING, TELL_ATTEMPTS, \
    TELL_RELATIVES, TELL_FEAR = (1 << k for k in range(9))


@njit(cache=True, nogil=True)
def member_rows(ids, day, case_ids, case_days, grade_of, lowest, term, risk, list_delay, st,
                flags, fam_ids, fam_words, of_parent, of_home, ties, of_work, rows):
    """Every FIELDS row of members ``ids`` at the end of today, in one call: the state's words
    (:func:`member_words`), the measures they are under as consequences works them out
    (``st``: its Standing of everyone) and what relatives bring (``kin_words``)."""
    member_words(ids, day, case_ids, case_days, st.score, st.gap, grade_of, lowest, term,
                 st.on_lists, st.on_lists_true, risk, list_delay, rows)
    rows[SANC], rows[TRUE_SANC], rows[REWARDS] = standings(ids, st, case_ids, case_days)
    rows[WRONG] = rows[SANC] & ~rows[TRUE_SANC]
    rows[FAMILY] = kin_words(ids, st.age, flags, fam_ids, fam_words, of_parent, of_home, ties,
                             of_work)


@njit(cache=True, nogil=True)
def member_words(ids, day, case_ids, case_days, score, gap, grade_of, lowest, term, on, on_true,
                 risk, list_delay, rows):
    """The state's words of members ``ids`` into ``rows`` (FIELDS' first twelve), in one pass
    rather than a gather per field. The status and the court day from the registry's case book
    (0 without a row; the day 0 without a status: a row kept for a past listing has none), the
    status without the SHARED bit (``shared`` tells the day it comes); ``shared``: the court
    listing reaches airlines and railways today.

    The arrays first, in a loop without a branch, so that the loads of the scattered members
    overlap (in a loop with the case book's search, they waited on each other: 0.15 ms a day
    at 1.41 M citizens, the arrays out of cache, against 0.02 in cache); the case book after,
    walked along (the members are in order), as a search per member waited on each load."""
    for k in range(ids.shape[0]):
        i = ids[k]
        true = true_of(score[i], gap[i])
        rows[2, k], rows[3, k] = score[i], true
        rows[4, k] = grade_of[np.int64(score[i]) - lowest]
        rows[5, k] = grade_of[true - lowest]
        rows[6, k], rows[7, k] = term[i], cause_of(gap[i])
        rows[8, k], rows[9, k] = on[i], on_true[i]
        rows[10, k] = risk[i]
    statuses, court_days, row = case_days[:, STATUS], case_days[:, COURT_DAY], 0
    for k in range(ids.shape[0]):
        row = walk(case_ids, row, ids[k])
        status = word_at(case_ids, statuses, row, ids[k])
        s = status & ~SHARED_LISTING
        at = word_at(case_ids, court_days, row, ids[k]) if status != 0 else 0
        rows[0, k], rows[1, k] = s, at
        rows[11, k] = np.int64((s & LISTED) != 0 and day - at == list_delay)


@njit(cache=True, nogil=True)
def outcomes(tried, family, sanc, true_sanc, rewards, cat):
    """Per member who tried an attempt (act bits ``tried``): the attempts refused, those
    refused wrongly, and per attempt of ``cat.attempts`` the reward bits that favoured it, as
    consequences meet them (by their own measures and those relatives' standing brings)."""
    m = tried.shape[0]
    blocked, wrong = np.zeros(m, np.int64), np.zeros(m, np.int64)
    granted = np.zeros((m, cat.attempts.shape[0]), np.int64)
    for p in range(m):
        kin = kin_measures(family[p], cat)
        for t in range(cat.attempts.shape[0]):
            k = cat.attempts[t]
            if tried[p] >> k & 1:
                blocking, true_blocking, granting = met_by(k, sanc[p], true_sanc[p], rewards[p],
                                                           kin, cat)
                if blocking:
                    blocked[p] |= 1 << k
                    wrong[p] |= np.int64(true_blocking == 0) << k
                else:
                    granted[p, t] = granting
    return blocked, wrong, granted


@njit(cache=True, nogil=True)
def news(now, before, acts, records, tried):
    """The parts of today's story with something to tell (TELL_ bits), from the members' rows
    today and yesterday, their acts (``tried``: the attempts' bits) and records: one pass, so
    that a part with nothing to tell, as most are most days, costs no numpy call. Each bit
    holds exactly where its part would tell a row."""
    out = 0
    for k in range(now.shape[1]):
        if now[R_STATUS, k] != before[R_STATUS, k] or now[R_SHARED, k]:
            out |= TELL_REGISTRY
        if now[R_TERM, k] != before[R_TERM, k]:
            out |= TELL_TERM
        if now[R_SCORE, k] != before[R_SCORE, k] and records[k] != 0:
            out |= TELL_SCORE
        if now[R_GRADE, k] != before[R_GRADE, k]:
            out |= TELL_GRADE
        if now[R_ON, k] != before[R_ON, k]:
            out |= TELL_LISTS
        if now[SANC, k] != before[SANC, k]:
            out |= TELL_STANDING
        if acts[k] & tried:
            out |= TELL_ATTEMPTS
        if now[FAMILY, k] != before[FAMILY, k]:
            out |= TELL_RELATIVES
        if now[R_RISK, k] / RISK_ONE - before[R_RISK, k] / RISK_ONE >= FEAR_JUMP:
            out |= TELL_FEAR
    return out


@njit(cache=True, nogil=True)
def act_words(acts):
    """The acts words as the cohort tells them: a post against the line as its content type's
    bit (AGAINST_BY_TYPE), not as posting, the against bit and a type number."""
    out = acts.copy()
    for k in range(acts.shape[0]):
        if acts[k] & codes.POST_AGAINST:
            ctype = (acts[k] & codes.POST_TYPE) >> codes.POST_TYPE_SHIFT
            out[k] = (acts[k] & ~((1 << codes.ONLINE_POST) | codes.POST_AGAINST)
                      | 1 << (AGAINST_BY_TYPE + ctype))
    return out


@njit(cache=True, nogil=True)
def set_bits(words, bits):
    """(member, event) for every bit of ``bits`` set in each member's word: by member, then in
    the order of ``bits``. A member whose word holds none of them (most) is one test."""
    every = 0
    for e in range(bits.shape[0]):
        every |= bits[e]
    m = 0
    for k in range(words.shape[0]):
        if words[k] & every:
            for e in range(bits.shape[0]):
                m += (words[k] & bits[e]) != 0
    pos, col = np.empty(m, np.int64), np.empty(m, np.int64)
    m = 0
    for k in range(words.shape[0]):
        if words[k] & every:
            for e in range(bits.shape[0]):
                if words[k] & bits[e]:
                    pos[m], col[m] = k, e
                    m += 1
    return pos, col


ROWS_BLOCK = 256  # rows added (Cohort.add_rows) joined into one block


def joined(rows: list[tuple]) -> tuple[np.ndarray, ...]:
    """Rows of the cohort's columns as one row of each column."""
    return tuple(np.concatenate(column) for column in zip(*rows, strict=True))


def lists_at(pos: np.ndarray, *arrays: np.ndarray) -> tuple[list, ...]:
    """The values of ``arrays`` at positions ``pos``, as lists: Python's numbers format faster
    than numpy's."""
    return tuple(a[pos].tolist() for a in arrays)


class Members:
    """The members' words at the end of a day, by field name (``FIELDS``)."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    def __getitem__(self, name: str) -> np.ndarray:
        return self.rows[ROW[name]]


@dataclass
class Cohort:
    """The members (sorted ids), today's captures, yesterday's state and the events so far."""

    NAME = "cohort"
    READS = ("age", "flags", "adopt", "acts", "records", "case_ids", "case_days", "on_lists",
             "on_lists_true", "connected", "list_delay", "score", "score_gap", "scored",
             "grade_of", "grade_names", "ties_term", "list_mask", "score_cuts",
             "score_steps", "family_ids", "family_words", "risk")

    view: View
    sc: Scenario
    cat: Catalog  # the attempts and what meets them, as consequences meet them
    kinds: tuple[str, ...]  # the act kinds by bit (world.layout)
    act_events: Events
    record_events: Events
    ids: np.ndarray
    acts: np.ndarray
    records: np.ndarray
    prev: Members | None = None
    rows: list = field(default_factory=list)  # (citizens, days, kinds, details, wrongful)
    joined: int = 0  # the first rows not yet joined into a block (add_rows)

    @classmethod
    def build(cls, view: View, sc: Scenario, seed: int) -> Cohort:
        ids = pick(view.size, sc.audit.cohort_size, seed)
        m = ids.shape[0]
        return cls(view=view, sc=sc, cat=catalog(sc), kinds=Layout.of(sc).kinds,
                   act_events=act_events(sc),
                   record_events=record_events(sc), ids=ids, acts=np.zeros(m, np.int64),
                   records=np.zeros(m, np.int64))

    @kernel_step(capture_kernel, pieces=(FIRST, SAME, BUFFER, BUFFER, SAME, SAME))
    def capture(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        """A phase-1 step after the others: the members' acts and records in lo..hi."""
        n = hi - lo
        return lo, self.ids, today.acts[:n], today.records[:n], self.acts, self.records

    def emit(self, day: int, where: np.ndarray, kind: str, detail: str | list[str],
             wrongful: bool | np.ndarray = False) -> None:
        """Rows for the members where the mask ``where`` holds; ``detail`` one per row or one
        for all, ``wrongful`` per member or one for all."""
        pos = np.flatnonzero(where)
        wrong = np.asarray(wrongful, bool)
        self.emit_at(day, pos, kind, detail, wrong[pos] if wrong.ndim else bool(wrong))

    def emit_at(self, day: int, pos: np.ndarray, kind: str, detail: str | list[str],
                wrongful: bool | np.ndarray = False) -> None:
        """Rows for the members at positions ``pos``; ``detail`` and ``wrongful`` one per row
        or one for all."""
        n = pos.shape[0]
        if n == 0:
            return
        assert isinstance(detail, str) or len(detail) == n, "one detail per row"
        wrong = np.asarray(wrongful, bool)
        self.add_rows(pos, day, np.full(n, kind, object),
                      np.full(n, detail, object) if isinstance(detail, str)
                      else np.array(detail, object),
                      wrong if wrong.ndim else np.full(n, bool(wrong)))

    def emit_words(self, day: int, words: np.ndarray, events: Events) -> None:
        """Rows for every bit of ``events`` set in each member's word, in ``events``' order."""
        pos, col = set_bits(words, events.bits)
        if pos.shape[0]:
            self.add_rows(pos, day, events.kinds[col], events.texts[col], events.wrong[col])

    def add_rows(self, pos: np.ndarray, day: int, kinds: np.ndarray, details: np.ndarray,
                 wrongful: np.ndarray) -> None:
        """Rows for the members at positions ``pos`` on ``day``; every ROWS_BLOCK additions
        joined into one block, so that a run's rows are a few dozen arrays, not tens of
        thousands, to go through when the run's memory is measured or its table made."""
        self.rows.append((self.ids[pos], np.full(pos.shape[0], day, np.int64), kinds, details,
                          wrongful))
        if len(self.rows) - self.joined >= ROWS_BLOCK:
            self.rows[self.joined:] = [joined(self.rows[self.joined:])]
            self.joined += 1

    def end_day(self, day: int, date: dt.date) -> None:
        """Today's events of every member, from the captures and the state's arrays; a part
        whose fields moved for no member is not read (most days, most parts)."""
        if self.ids.shape[0] == 0:
            return
        now = self.state(day)
        if day == 0:
            self.profiles()
            self.prev = now  # the start is not an event
        self.emit_words(day, act_words(self.acts), self.act_events)
        self.emit_words(day, self.records, self.record_events)
        tell = news(now.rows, self.prev.rows, self.acts, self.records, self.cat.met)
        grades = self.view.grade_names  # as scoring names them today
        if tell & TELL_REGISTRY:
            self.registry(day, now)
        if tell & TELL_TERM:
            self.term(day, now)
        if tell & TELL_SCORE:
            self.scores(day, now)
        if tell & TELL_GRADE:
            self.grades(day, now, grades.tolist())
        if tell & TELL_LISTS:
            self.lists(day, now)
        if tell & TELL_STANDING:
            self.standing(day, now)
        if tell & TELL_ATTEMPTS:
            self.attempts(day, now)
        if tell & TELL_RELATIVES:
            self.relatives(day, now)
        if tell & TELL_FEAR:
            self.fear(day, now)
        self.prev = now

    def state(self, day: int) -> Members:
        """The members' standing at the end of today."""
        v, ids, cat = self.view, self.ids, self.cat
        rows = np.empty((len(FIELDS), ids.shape[0]), np.int64)
        member_rows(ids, day, v.case_ids, v.case_days, v.grade_of, self.sc.scoring.min,
                    v.ties_term, v.risk, int(v.list_delay), everyone_standing(v),
                    v.flags, v.family_ids, v.family_words, cat.kin_of_parent, cat.kin_of_home,
                    v.ties.model(), cat.kin_of_work, rows)
        return Members(rows)

    def profiles(self) -> None:
        pop, ids = self.view, self.ids
        parent = parents(pop.age, pop.flags, ids)
        income = pop.flags[np.where(parent >= 0, parent, ids)] >> INCOME_SHIFT
        region = region_of(pop.starts, ids)
        details = [f"{pop.regions.names[r]}, age {AGE_BANDS[band(pop.age[i])]}, "
                   f"{'urban' if pop.flags[i] & URBAN else 'rural'}, income decile {d + 1} of 10"
                   + (f" (parent: citizen {p})" if p >= 0 else "")
                   for i, r, d, p in zip(ids, region, income, parent, strict=True)]
        self.emit(0, np.ones(ids.shape[0], bool), "profile", details)

    def registry(self, day: int, now: Members) -> None:
        s, before = now["status"], self.prev["status"]
        lost = before & ~s
        delisted = (lost & codes.LISTED) != 0
        paid = (self.acts & codes.PAY_DEBT) != 0
        word = ((s & ~before) | lost << LOST | np.where(delisted & paid, PAID_OFF, 0)
                | np.where(delisted & ~paid, EXPIRED, 0) | now["shared"] * SHARED)
        self.emit_words(day, word, STATUS_EVENTS)

    def term(self, day: int, now: Members) -> None:
        """A bad-company term that moved: always wrongful, the term being others' doing."""
        pos = np.flatnonzero(now["term"] != self.prev["term"])
        self.emit_at(day, pos, "score",
                     [f"bad-company term {a} -> {b} points (ties on a list or in a low grade)"
                      for a, b in zip(*lists_at(pos, self.prev["term"], now["term"]),
                                      strict=True)], True)

    def scores(self, day: int, now: Members) -> None:
        """A score that moved with a record today (not the daily restoration)."""
        pos = np.flatnonzero((now["score"] != self.prev["score"]) & (self.records != 0))
        self.emit_at(day, pos, "score",
                     [f"score {a} -> {b} (true score {t})" for a, b, t in
                      zip(*lists_at(pos, self.prev["score"], now["score"], now["true"]),
                          strict=True)], (self.records[pos] & codes.WRONG_RECORDS) != 0)

    def grades(self, day: int, now: Members, grades: list[str]) -> None:
        """A grade that moved, wrongful where the true score's grade differs."""
        pos = np.flatnonzero(now["grade"] != self.prev["grade"])
        was, grade, true = lists_at(pos, self.prev["grade"], now["grade"], now["true_grade"])
        self.emit_at(day, pos, "grade",
                     [f"grade {grades[a]} -> {grades[b]}"
                      + (f" (true grade {grades[t]})" if t != b else "")
                      for a, b, t in zip(was, grade, true, strict=True)],
                     np.not_equal(grade, true))

    def lists(self, day: int, now: Members) -> None:
        """Entries to and exits from the scheme's lists; an entry is wrongful where the true
        evidence would not have made it."""
        on, before = now["on"], self.prev["on"]
        for l, (name, item) in enumerate(self.sc.lists.items()):
            bit = 1 << l
            entered, left = (on & ~before & bit) != 0, (before & ~on & bit) != 0
            self.emit(day, entered, "list", f"put on {item.words(name)}",
                      (now["on_true"] & bit) == 0)
            self.emit(day, left, "list", f"off {item.words(name)}")

    def standing(self, day: int, now: Members) -> None:
        sanc, before, wrong = now["sanc"], self.prev["sanc"], now["wrong"]
        gained, lost = sanc & ~before, before & ~sanc
        if gained.any():
            self.emit(day, gained != 0, "sanction",
                      [f"now under: {bit_names(int(gained[p]), self.names)}"
                       + (f" (wrongful: {self.cause(p, now)})" if wrong[p] & gained[p] else "")
                       for p in np.flatnonzero(gained)], (wrong & gained) != 0)
        if lost.any():
            self.emit(day, lost != 0, "sanction",
                      [f"no longer under: {bit_names(int(b), self.names)}"
                       for b in lost[lost != 0]])

    def cause(self, p: int, now: Members) -> str:
        """Why member ``p``'s sanction is wrongful, in words."""
        causes = [text for bit, text in ((codes.CAUSE_FALSE_MATCH, "a false record"),
                                         (codes.CAUSE_FALSE_FLAG, "a lawful post flagged"),
                                         (codes.CAUSE_TIES, "bad company"))
                  if now["cause"][p] & bit]
        if now["status"][p] & codes.STALE:
            causes.insert(0, "a paid debt still listed")
        return ", ".join(causes) or "a wrong record"

    @property
    def names(self) -> tuple[str, ...]:
        """The sanctions by their bit."""
        return tuple(x.name for x in self.sc.sanctions)

    def attempts(self, day: int, now: Members) -> None:
        """Each attempt of today (an act, told already) refused, or favoured by a reward: by the
        measures the member bears, and by a parent's, another household member's or a
        colleague's (``family``). Read only for the few members who tried one."""
        cat = self.cat
        tried = self.acts & cat.met
        who = np.flatnonzero(tried)
        blocked, wrong, granted = outcomes(tried[who], now["family"][who], now["sanc"][who],
                                           now["true_sanc"][who], now["rewards"][who], cat)
        refused, favoured = int(np.bitwise_or.reduce(blocked)), granted.any(axis=0).tolist()
        for t, k in enumerate(cat.attempts.tolist()):
            if not (refused >> k & 1 or favoured[t]):
                continue
            what = words(self.kinds[k])
            at = np.flatnonzero(blocked >> k & 1)
            wrong_at = (wrong[at] >> k & 1) != 0
            self.emit_at(day, who[at], "blocked",
                         [f"{what} refused" + (f" (wrongful: {self.cause(who[p], now)})"
                                               if w else "") for p, w in zip(at, wrong_at,
                                                                            strict=True)],
                         wrong_at)
            for r, reward in enumerate(self.sc.rewards if favoured[t] else ()):
                self.emit_at(day, who[np.flatnonzero(granted[:, t] >> r & 1)], "reward",
                             f"{what} favoured: {words(reward.name)}")

    def relatives(self, day: int, now: Members) -> None:
        """What the members meet for a parent's, another household member's or a colleague's
        standing: a sanction borne by children, a household or an employer that comes or
        goes."""
        f, before = now["family"], self.prev["family"]
        for row in self.cat.kids:
            sanction = self.sc.sanctions[row[0]]
            name = f"{BORNE_FOR[sanction.bears][1]} {words(sanction.name)}"
            under, was = (f & row[1]) != 0, (before & row[1]) != 0
            if (under != was).any():
                self.emit(day, under & ~was, "family", f"barred by {name}", (f & row[2]) != 0)
                self.emit(day, ~under & was, "family", f"no longer barred by {name}")

    def fear(self, day: int, now: Members) -> None:
        """A rise of perceived risk worth telling; wrongful where a false record set it off."""
        risk, before = now["risk"] / RISK_ONE, self.prev["risk"] / RISK_ONE
        pos = np.flatnonzero(risk - before >= FEAR_JUMP)
        self.emit_at(day, pos, "fear", [f"perceived risk {x:.2f} -> {y:.2f}" for x, y in
                                        zip(*lists_at(pos, before, risk), strict=True)],
                     (self.records[pos] & codes.WRONG_RECORDS) != 0)

    def table(self, start: dt.date) -> pa.Table:
        """Every event, by citizen then date (in the order told within a day)."""
        if not self.rows:
            return SCHEMA.empty_table()
        citizen, day, kind, detail, wrongful = joined(self.rows)
        order = np.lexsort((day, citizen))  # stable: a day's events stay in the order told
        dates = np.datetime64(start, "D") + day[order]
        return pa.table({"citizen": citizen[order], "date": pa.array(dates, pa.date32()),
                         "kind": pa.array(kind[order], pa.string()),
                         "detail": pa.array(detail[order], pa.string()),
                         "wrongful": wrongful[order]}, schema=SCHEMA)
