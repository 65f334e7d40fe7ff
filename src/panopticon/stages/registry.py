"""Registry: regional bureaus turn records into case files and lists; the centre receives them.

The court list follows the process behind the published figures: a recorded default (the record
of an act that opens a court case) may go to judgment; a judged debtor who does not comply
within the grace period is listed; the listing reaches airlines and railways after
``list_delay_days``; paying removes it, but only after
``removal_delay_days`` everywhere (a stale record, sanctioning someone who has paid). Tax
arrears can lead to an exit ban; misconduct on board puts a traveller on a one-year travel list.
Regional bureaus join the central database over time (``central_connected``); only connected
regions' scores travel to national services.

Where each citizen stands (its status) and the days a case needs are kept in a case book
(``world.case_book``), a row per citizen with a status or a listing in its past (about 2% of
china-2018's citizens over 2014-2019), not in arrays of every citizen: a chunk reads and writes
the rows of its citizens and opens rows for its new cases, which are filed after phase 1 (so
that phase 2 and the day's end find them), dropping the rows with neither. Each chunk's statuses
are in today's ``status`` once the registry has run on it, for the stages after it in phase 1.
A day is read only while the status bit it belongs to is set, so a row kept for its past needs
no clearing. Consequences read a listing's reach from the status (``SHARED``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.case_book import (
    COLUMNS,
    COURT_DAY,
    DUE,
    EVER,
    MISCONDUCT_UNTIL,
    STALE_UNTIL,
    STATUS,
    TAX_DAY,
    empty,
    file_rows,
    statuses_into,
)
from ..world.codes import (
    EXIT_BAN,
    IN_DEFAULT,
    JUDGED,
    JUDGMENT_UNPAID,
    LISTED,
    MISCONDUCT,
    PAY_DEBT,
    PAY_TAX,
    SHARED,
    STALE,
    TAX_CASE,
    TAX_LISTED,
)
from ..world.layout import Layout
from ..world.pieces import BUFFER, FIRST, RUNS, SAME, WORDS, Fields
from ..world.population import region_of, share_on
from ..world.rng import chance, stream_key, uniform_array
from ..world.state import Stage, View, kernel_step
from ..world.today import Today, mark, marked_or_due_into, words_of

EVER_LISTED, EVER_EXIT_BAN, EVER_MISCONDUCT = 1, 2, 4  # the book's EVER: on each list once
COUNTERS = (
    "defaults_recorded", "judgments", "new_listings", "new_listed_people", "listed_stock",
    "listed_shared_stock", "paid_after_listing", "delisted", "listing_expired", "stale_stock",
    "tax_cases", "exit_bans_new", "exit_ban_stock", "misconduct_listed", "misconduct_stock")
(C_DEFAULTS, C_JUDGMENTS, C_LISTINGS, C_LISTED_PEOPLE, C_LISTED, C_SHARED, C_PAID, C_DELISTED,
 C_EXPIRED, C_STALE, C_TAX_CASES, C_EXIT_NEW, C_EXIT_STOCK, C_MISC_NEW, C_MISC_STOCK) = range(
    len(COUNTERS))
# A row's DUE (case_book): days held in int16, the last of them for a status that has no day
# due; a judgment looked for up to HORIZON days after the row's visit.
NEVER, HORIZON = np.iinfo(np.int16).max, 2048


class RegistryParams(NamedTuple):
    """The registry's values from the scenario (days are whole days); scalars only."""

    judgment_rate: float
    grace_days: int  # a judged debtor's time to pay before listing
    listing_days: int  # a court listing's length
    removal_delay: int  # days a paid listing stays with airlines and railways
    list_delay: int  # days before a listing reaches them
    exit_ban_share: float
    exit_ban_after: int  # days a tax case is open before an exit ban may come
    misconduct_days: int  # days on the travel-misconduct list
    k_judg: np.uint64
    k_exit: np.uint64
    court_acts: int  # records of the acts that open a court case (the catalog's opens)
    tax_acts: int  # ... a tax case
    misconduct_acts: int  # ... a listing on the travel-misconduct list
    case_records: int  # records that open, advance or close a case (none: no case to look at)


class RegistryArrays(NamedTuple):
    """One chunk's case files (its rows of the case book), today's records and buffers."""

    starts: np.ndarray  # each region's first citizen (population.region_of)
    records: np.ndarray  # today's, to which listings are added
    status: np.ndarray  # today's, made here: uint8 bits of codes, IN_DEFAULT ... SHARED
    moved: np.ndarray  # today's, made here: 1 where the status changed (consequences reads)
    todo: np.ndarray
    marked: np.ndarray  # today's (Today.marked): every citizen with records is marked
    case_ids: np.ndarray  # word_book.ID: the citizens with a row in the case book, in order: the
    #                       chunk's, and maybe others' (passed over)
    case_days: np.ndarray  # int16 [rows, case_book.COLUMNS]: their rows (writable)


def params(sc: Scenario, seed: int) -> RegistryParams:
    c, t, g = sc.court, sc.tax, sc.registry
    layout = Layout.of(sc)
    opens = [layout.acts_where(sc, opens=p) for p in ("court", "tax", "travel_misconduct")]
    return RegistryParams(
        float(c.judgment_rate), int(c.grace_days), int(c.listing_days),
        int(g.removal_delay_days), int(g.list_delay_days), float(t.exit_ban_share),
        int(t.exit_ban_after_days), int(g.misconduct_list_days),
        stream_key(seed, "registry.judgment"), stream_key(seed, "registry.exit_ban"), *opens,
        PAY_DEBT | PAY_TAX | sum(opens))


@njit(cache=True, nogil=True, inline="always")
def court_step(i, day, rec, s, days, p, acc_r):
    """Advance one citizen's court case (``days``: its row of the case book); returns (status,
    records with a listing added)."""
    if rec & PAY_DEBT:
        if s & LISTED:
            acc_r[C_PAID] += 1
            acc_r[C_DELISTED] += 1
            if day - days[COURT_DAY] >= p.list_delay:  # airlines and railways had it: it lags
                s |= STALE
                days[STALE_UNTIL] = day + p.removal_delay
        s &= ~(IN_DEFAULT | JUDGED | LISTED)
    elif rec & p.court_acts:
        s |= IN_DEFAULT
        days[COURT_DAY] = day
        acc_r[C_DEFAULTS] += 1
    elif s & IN_DEFAULT and chance(p.k_judg, i, day, p.judgment_rate):
        s = (s & ~IN_DEFAULT) | JUDGED
        days[COURT_DAY] = day
        acc_r[C_JUDGMENTS] += 1
    elif s & JUDGED and day - days[COURT_DAY] >= p.grace_days:
        s = (s & ~JUDGED) | LISTED
        days[COURT_DAY] = day
        rec |= JUDGMENT_UNPAID
        acc_r[C_LISTINGS] += 1
        if not days[EVER] & EVER_LISTED:
            days[EVER] |= EVER_LISTED
            acc_r[C_LISTED_PEOPLE] += 1
    elif s & LISTED and day - days[COURT_DAY] >= p.listing_days:
        s &= ~LISTED
        acc_r[C_EXPIRED] += 1
        acc_r[C_DELISTED] += 1
    if s & STALE and day >= days[STALE_UNTIL]:
        s &= ~STALE
    return s, rec


@njit(cache=True, nogil=True, inline="always")
def case_step(i, day, rec, s, days, p, acc_r):
    """Advance one citizen's cases (``days``: its row of the case book, updated); count flows
    and the citizen's part of the stocks.

    Returns (status, records with listings added). Called once per citizen with a case: it takes
    arrays one by one (``p`` holds scalars only), as a tuple of arrays passed per citizen costs
    a reference count per array; the two it reads under branches (``days``, ``acc_r``) still
    cost a pair of counts each a visit (``benchmarks/refcounts.py``).
    """
    s, rec = court_step(i, day, rec, s, days, p, acc_r)
    if rec & PAY_TAX and s & TAX_CASE:
        if s & EXIT_BAN:
            acc_r[C_DELISTED] += 1
        s &= ~(TAX_CASE | EXIT_BAN)
    else:
        if rec & p.tax_acts and not s & TAX_CASE:
            s |= TAX_CASE
            days[TAX_DAY] = day
            acc_r[C_TAX_CASES] += 1
        if (s & TAX_CASE and not s & EXIT_BAN and day - days[TAX_DAY] == p.exit_ban_after
                and chance(p.k_exit, i, day, p.exit_ban_share)):
            s |= EXIT_BAN
            rec |= TAX_LISTED
            acc_r[C_EXIT_NEW] += 1
            days[EVER] |= EVER_EXIT_BAN
    if rec & p.misconduct_acts:
        if not s & MISCONDUCT:
            acc_r[C_MISC_NEW] += 1
        s |= MISCONDUCT
        days[EVER] |= EVER_MISCONDUCT
        days[MISCONDUCT_UNTIL] = day + p.misconduct_days
    elif s & MISCONDUCT and day >= days[MISCONDUCT_UNTIL]:
        s &= ~MISCONDUCT
        acc_r[C_DELISTED] += 1
    listed = (s & LISTED) != 0
    shared = listed and day - days[COURT_DAY] >= p.list_delay
    s = (s & ~SHARED) | (SHARED if shared else 0)
    count_stocks(s, acc_r, 1)
    return s, rec


@njit(cache=True, nogil=True, inline="always")
def count_stocks(s, acc_r, sign):
    """Status ``s``'s part of the day's stocks, added (``sign`` 1) or taken back (-1)."""
    acc_r[C_LISTED] += sign * ((s & LISTED) != 0)
    acc_r[C_SHARED] += sign * ((s & SHARED) != 0)
    acc_r[C_STALE] += sign * ((s & STALE) != 0)
    acc_r[C_EXIT_STOCK] += sign * ((s & EXIT_BAN) != 0)
    acc_r[C_MISC_STOCK] += sign * ((s & MISCONDUCT) != 0)


@njit(cache=True, nogil=True, inline="always")
def statuses_counted(first, hi, ids, book, row, status, acc_r):
    """The statuses of the rows from ``row`` of citizens before ``hi`` of the chunk from
    ``first``, as the book has them before today's visits, into ``status``, and their stocks
    counted; returns the row after them."""
    while row < ids.shape[0] and ids[row] < first + hi:
        s = np.int64(book[row, STATUS])
        status[ids[row] - first] = s
        count_stocks(s, acc_r, 1)
        row += 1
    return row


@njit(cache=True, nogil=True, inline="always")
def judgment_day(i, day, p):
    """The first day after ``day`` on which a citizen in default is judged, as court_step
    draws it (``chance`` a day), looked for up to HORIZON days on: the last of them where none
    is (a visit that changes nothing, then looks further)."""
    if p.judgment_rate > 0.0:
        for d in range(day + 1, day + HORIZON):
            if chance(p.k_judg, i, d, p.judgment_rate):
                return d
    return day + HORIZON


@njit(cache=True, nogil=True, inline="always")
def due_day(i, day, s, days, p):
    """The next day after ``day`` on which :func:`case_step` may change status ``s`` without a
    record: a judgment drawn, a grace period or a listing run out, a listing reaching airlines
    and railways, a stale record's or a misconduct listing's end, a tax case's day for an exit
    ban. On every day before it, without a record, case_step changes nothing, so that the
    registry visits the row then, not every day (every row a day was 1.5 ms of a late day at
    1.41 M citizens, one thread). NEVER where the status has none."""
    due = NEVER
    if s & IN_DEFAULT:
        due = min(due, judgment_day(i, day, p))
    if s & JUDGED:
        due = min(due, days[COURT_DAY] + p.grace_days)
    if s & LISTED:
        due = min(due, days[COURT_DAY] + p.listing_days)
        if not s & SHARED:
            due = min(due, days[COURT_DAY] + p.list_delay)
    if s & STALE:
        due = min(due, days[STALE_UNTIL])
    ban = days[TAX_DAY] + p.exit_ban_after
    if s & TAX_CASE and not s & EXIT_BAN and ban > day:
        due = min(due, ban)
    if s & MISCONDUCT:
        due = min(due, days[MISCONDUCT_UNTIL])
    return min(max(due, day + 1), NEVER)


@njit(cache=True, nogil=True)
def registry_kernel(first, day, runs, a, p, acc):
    """Update one chunk's case files from today's records; count flows and stocks. Returns the
    chunk's new rows of the case book (citizens without one who opened a case), ``(ids,
    days)`` in order.

    Per run of one region, the statuses of the citizens with a row of the book (every citizen
    with a status has one) go to ``a.status`` (0 for the others) and count in the stocks; then
    those with a case record (among the marked: every citizen with records is) or whose row is
    due (:func:`due_day`) are listed in ``a.todo`` and advanced, their status and days read
    from their row (found by walking its ids along from the chunk's first) or zero where they
    have none, and their row's next due day worked out. A citizen given a listing's record is
    marked; one whose status changed is ``a.moved`` (cleared here for the stages after it,
    which move citizens' standing too).
    """
    status, records, todo = a.status, a.records, a.todo
    ids, book = a.case_ids, a.case_days
    status[:] = 0
    a.moved[:] = 0
    days = np.zeros(COLUMNS, np.int64)
    new_ids, new_days, k = np.empty(16, np.int64), np.empty((16, COLUMNS), np.int16), 0
    row = counted = np.searchsorted(ids, first)
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        acc_r = acc[region_of(a.starts, first + lo)]
        counted = statuses_counted(first, hi, ids, book, counted, status, acc_r)
        for t in range(marked_or_due_into(a.marked, records, p.case_records, ids,
                                          book[:, DUE], day, first, lo, hi, todo)):
            j = todo[t]
            while row < ids.shape[0] and ids[row] < first + j:
                row += 1
            mine = row < ids.shape[0] and ids[row] == first + j
            s = np.int64(book[row, STATUS]) if mine else 0
            count_stocks(s, acc_r, -1)  # counted before the visit; case_step counts it anew
            for c in range(COLUMNS):
                days[c] = book[row, c] if mine else 0
            before = s
            s, rec = case_step(first + j, day, np.int64(records[j]), s, days, p, acc_r)
            days[STATUS] = s
            days[DUE] = due_day(first + j, day, s, days, p)
            status[j] = s
            a.moved[j] = s != before
            records[j] = rec
            if rec:
                mark(a.marked, j)
            if mine:
                for c in range(COLUMNS):
                    book[row, c] = days[c]
            elif s:
                if k == new_ids.shape[0]:
                    new_ids = np.concatenate((new_ids, np.empty(k, np.int64)))
                    new_days = np.concatenate((new_days, np.empty((k, COLUMNS), np.int16)))
                new_ids[k] = first + j
                for c in range(COLUMNS):
                    new_days[k, c] = days[c]
                k += 1
    return new_ids[:k].copy(), new_days[:k].copy()


@dataclass
class Registry(Stage):
    """Case files (the case book: each citizen's status, days and lists ever) and today's
    connections."""

    NAME = "registry"
    OWNS = ("status", "moved", "case_ids", "case_days", "connected", "list_delay")
    WRITES = ("records", "marked")
    COUNTERS = COUNTERS

    view: View
    seed: int
    connect_order: np.ndarray  # regions in the order they join the central database
    case_ids: np.ndarray = field(default_factory=lambda: empty()[0])  # the book's rows:
    case_days: np.ndarray = field(default_factory=lambda: empty()[1])  # citizens in order
    new: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # by chunk
    sc: Scenario | None = None
    p: RegistryParams | None = None
    day: int = 0
    connected: np.ndarray | None = None  # uint8 per region: connected to the centre today

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Registry:
        registry = cls(
            view=view, seed=seed,
            connect_order=np.argsort(uniform_array(stream_key(seed, "registry.connect"), 0,
                                                   len(view.regions.codes), 0), kind="stable"))
        registry.tune(sc)
        registry.publish_book()
        return registry

    def tune(self, sc: Scenario) -> None:
        """Parameters from ``sc``; the list delay, which consequences read, published. Where
        they changed (a schedule's date), every row is due the next day, its due day worked out
        anew; a scenario changed elsewhere keeps them."""
        p = params(sc, self.seed)
        if p != self.p:
            self.case_days[:, DUE] = 0
        self.sc, self.p = sc, p
        self.view.publish("list_delay", np.int64(self.p.list_delay))

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        self.day = day
        if sc is not self.sc:
            self.tune(sc)
        share = min(1.0, share_on(sc.registry.central_connected, date))
        self.connected = np.zeros(len(self.connect_order), np.uint8)
        self.connected[self.connect_order[: round(share * len(self.connect_order))]] = 1
        self.view.publish("connected", self.connected)

    def keep_new(self, lo: int, new: tuple) -> None:
        """The chunk's new cases, for the end of phase 1."""
        if new[0].shape[0]:
            self.new[lo] = new

    @kernel_step(registry_kernel, keep=keep_new, pieces=(FIRST, SAME, RUNS, Fields(
        RegistryArrays, {"records": BUFFER, "status": BUFFER, "moved": BUFFER, "todo": BUFFER,
                         "marked": WORDS}),
        SAME, SAME))
    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        first, last = np.searchsorted(self.case_ids, (lo, hi))
        a = RegistryArrays(*today.kept(lo, hi, self.chunk_arrays), self.case_ids[first:last],
                           self.case_days[first:last])
        return lo, self.day, self.view.runs(lo, hi), a, self.p, acc

    def chunk_arrays(self, lo: int, hi: int, today: Today) -> tuple:
        """RegistryArrays' arrays of citizens lo..hi for the run (Today.kept), before the
        chunk's rows of the case book."""
        n = hi - lo
        return (self.view.starts, today.records[:n], today.status[:n], today.moved[:n],
                today.todo[:n], today.marked[words_of(n)])

    def end_phase(self, phase: int) -> None:
        """After phase 1, file the day's new cases in the book and drop the closed ones, so
        that phase 2 and the day's end read every citizen's status there."""
        if phase == 0:
            self.file_new_rows()

    def end_day(self, counts: np.ndarray) -> None:
        """File what a day run without :meth:`end_phase` left (a step called alone)."""
        if self.new:
            self.file_new_rows()

    def file_new_rows(self) -> None:
        """The chunks' new rows into the book, the rows with neither a status nor a past
        listing out of it."""
        new = [self.new.pop(lo) for lo in sorted(self.new)]
        self.case_ids, self.case_days = file_rows(self.case_ids, self.case_days, new,
                                                  self.view.size)
        self.publish_book()

    def publish_book(self) -> None:
        """The case book: ``case_ids`` and their rows ``case_days`` (``world.case_book``)."""
        self.view.publish("case_ids", self.case_ids)
        self.view.publish("case_days", self.case_days)

    def statuses(self) -> np.ndarray:
        """Every citizen's status, an array of n made from the book (for tests and tools)."""
        out = np.empty(self.view.size, np.uint8)
        statuses_into(self.case_ids, self.case_days, 0, out)
        return out

    def set_statuses(self, ids: np.ndarray | int, value: np.ndarray | int) -> None:
        """Set the status of citizens ``ids`` by hand (tests, tools): each gets a row where it
        has none, and a row left with neither a status nor a past listing is dropped (the
        book's merge, as at filing)."""
        status = self.statuses()
        status[ids] = value
        self.case_days[:, STATUS] = status[self.case_ids]
        self.case_days[:, DUE] = 0  # every row visited the next day, its due day made anew
        new = np.setdiff1d(np.flatnonzero(status), self.case_ids).astype(self.case_ids.dtype)
        new_rows = np.zeros((new.shape[0], COLUMNS), np.int16)
        new_rows[:, STATUS] = status[new]
        self.case_ids, self.case_days = file_rows(self.case_ids, self.case_days,
                                                  [(new, new_rows)], self.view.size)
        self.publish_book()
