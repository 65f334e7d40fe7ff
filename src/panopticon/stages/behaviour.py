"""Behaviour: what each citizen does today, as the ground truth that sensing may or may not see.

Every act of the scenario's catalog is a Bernoulli draw of ``rate x propensity`` for the
citizens its ``who`` admits (eligibility as masks per trait value, ``world.layout``); an act that
opens a court or tax case is not done while the citizen's case is open. Propensities are fixed
per citizen (unit-mean exponential draws on trait streams, recomputed, never stored): a few
people commit most offences, as in real offending data. Citizens in the court or tax process
decide each day whether to pay. Internet users post at most once a day; each post has a content
type (comment, photo, article, video) drawn in proportion to the types' rates, and goes against
the line with its type's share times the poster's disposition.

Each act has a bound, its rate times the largest propensity. A pass over all citizens without
branches (so it vectorises) finds candidates: a common act (posting, or a bound above
``layout.COMMON_BOUND``) where its own draw is under its bound; the rare acts all at once,
where one screening draw says that one of them is a candidate (``layout.first_candidate``), a
draw per citizen instead of one per act. The rare acts' bounds are the citizen's screen
class's (``layout.screen_classes``, a byte made at build: the level of each propensity), its
rate times the cap of the citizen's level, so that the screen names about 1.7 times as many
citizens as act, not 8 times. Only the few candidates have their eligibility worked out
(which the pass leaves out: it took half its time), the citizen's propensity drawn and the
exact draw made (``layout.act_done``): every act is done with chance ``rate x propensity``,
independently of the others.

A post is one draw in three independent fields: whether it is posted (under the poster's
threshold, posting's rate chilled by fear at its perceived risk, ``layout.chilled``), its
content type, and whether it goes against the line. Perceived risk multiplies deterred kinds'
rates by factors of at most 1 (fear's tables by risk in 255ths), so the bounds hold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.case_book import STATUS
from ..world.word_book import rows_between
from ..world.codes import (
    CONTENT_TYPES,
    IN_DEFAULT,
    JUDGED,
    LISTED,
    ONLINE_POST,
    PAY_DEBT,
    PAY_TAX,
    POST_AGAINST,
    POST_TYPE,
    POST_TYPE_SHIFT,
    TAX_CASE,
)
from ..world.layout import (
    DISSENT,
    NONE,
    UNSCREENED,
    Draws,
    Layout,
    act_chance,
    act_done,
    chilled,
    draws,
    eligible,
    first_candidate,
    level_caps,
    pick,
    screen_bound,
    screen_classes,
    screen_parts,
    trait_keys,
)
from ..world.population import (
    CHILD,
    DISPOSED,
    DISPOSED_SHIFT,
    adoption_rank,
    adoption_threshold,
    region_of,
)
from ..world.rng import (
    EXP_QUANTILES,
    bits53,
    chance,
    draw_bits,
    exponential,
    stream_key,
)
from ..world.pieces import BUFFER, CITIZENS, FIRST, RUNS, SAME, WORDS, Fields
from ..world.state import Stage, View, kernel_step
from ..world.today import Today, mark, words_of

# the population's counts, posts by content type, paying; then acts committed (ground truth),
# by kind (counters(sc))
FIXED_COUNTERS = (
    "citizens", "children", "internet_users", "payment_users",
    "posts_against_line", "posts_lawful", "debts_paid", "taxes_paid",
    *(f"posts_{t}" for t in CONTENT_TYPES), *(f"posts_against_line_{t}" for t in CONTENT_TYPES))
C_CITIZENS, C_CHILDREN, C_INTERNET, C_PAYMENT, C_AGAINST, C_LAWFUL, C_DEBT_PAID, \
    C_TAX_PAID, C_POSTS_T0, C_AGAINST_T0 = (FIXED_COUNTERS.index(n) for n in (
        "citizens", "children", "internet_users", "payment_users",
        "posts_against_line", "posts_lawful", "debts_paid", "taxes_paid",
        f"posts_{CONTENT_TYPES[0]}", f"posts_against_line_{CONTENT_TYPES[0]}"))
C_ACT0 = len(FIXED_COUNTERS)
N_TYPES = len(CONTENT_TYPES)
IN_COURT = IN_DEFAULT | JUDGED | LISTED
# Posting is the one act without a trait (its candidates are final) and the one common act;
# its content type rides along in the POST_TYPE bits.
COMMON = 1 << ONLINE_POST | POST_TYPE
# A post's draw, split in fields: whether one is posted, its content type, against the line.
POST_BITS, TYPE_BITS, AGAINST_BITS = 22, 16, 26
AGAINST_ONE = float(1 << AGAINST_BITS)
# Bits of the acts word beyond the kinds that have a counter: against the line, paying.
EXTRA_BITS = np.array([b.bit_length() - 1 for b in (POST_AGAINST, PAY_DEBT, PAY_TAX)], np.int64)
EXTRA_COUNTERS = np.array([C_AGAINST, C_DEBT_PAID, C_TAX_PAID], np.int64)


class ActParams(NamedTuple):
    """Behaviour's values from the scenario: the acts' draws, the content types of posts,
    paying, the streams of draws."""

    d: Draws  # per act kind: rate, propensity, stream, bound, screen; who may do it
    frequent: np.ndarray  # the act kinds after posting drawn on their own (not screened)
    order: np.ndarray  # the screened kinds by their position in the screen
    screened: int  # the act bits of the screened kinds
    screen_parts: np.ndarray  # a screen class's bound on its last cut (layout.screen_bound)
    cases: np.ndarray  # act kinds not done in a court case, in a tax case
    k_pay: np.uint64
    k_tax: np.uint64
    type_cuts: np.ndarray  # the type field's thresholds at the types' cumulative shares
    against_shares: np.ndarray  # per content type, mean share of posts against the line
    against_bounds: np.ndarray  # per content type, the against field's bound (against_bounds)
    pay_rates: np.ndarray  # settle, comply, pay-when-listed: per day
    tax_pay_rate: float


class ActArrays(NamedTuple):
    """One chunk's arrays and buffers; today's adoption thresholds, fear's tables, the
    registry's case book."""

    starts: np.ndarray  # each region's first citizen (population.region_of)
    age: np.ndarray
    flags: np.ndarray  # with the income decile (population.decile)
    adopt: np.ndarray
    risk: np.ndarray  # fear's perceived risk, in 255ths
    screen_class: np.ndarray  # made here at build (layout.screen_classes)
    acts: np.ndarray  # today's, made here
    todo: np.ndarray
    marked: np.ndarray  # today's, made here: the citizens who do more than post lawfully
    adoption: np.ndarray  # today's adoption thresholds: [internet users, payment users]
    deterrence: np.ndarray  # fear's multiplier of deterred rates, by risk in 255ths
    chilling: float  # fear's chilling of posting (layout.chilled), 0.0 with fear off
    chilling_against: np.ndarray  # fear's multiplier of the against-the-line share
    deterred: np.ndarray  # per act kind, 1 if fear deters it (fear's, by world.layout's kinds)
    case_ids: np.ndarray  # the registry's case book (world.case_book): the citizens with a
    case_days: np.ndarray  # status, and their rows, read to bar a second case and to pay


@njit(cache=True, nogil=True, inline="always")
def post_fields(i, day, key):
    """Citizen i's post today as three independent uniform fields of one draw: whether it is
    posted (POST_BITS bits), its content type (TYPE_BITS) and whether it goes against the line
    (AGAINST_BITS). Integers only, so that the loop over citizens vectorises."""
    x = np.int64(draw_bits(key, i, day))
    return ((x >> (TYPE_BITS + AGAINST_BITS)) & ((1 << POST_BITS) - 1),
            (x >> AGAINST_BITS) & ((1 << TYPE_BITS) - 1), x & ((1 << AGAINST_BITS) - 1))


@njit(cache=True, nogil=True, inline="always")
def field_cap(p: float, bits: int) -> float:
    """The threshold of :func:`field_threshold` before it is rounded down."""
    return min(max(p, 0.0), 1.0) * (1 << bits) + 0.5


@njit(cache=True, nogil=True)
def field_threshold(p: float, bits: int) -> int:
    """The threshold under which a uniform field of ``bits`` bits falls with chance ``p``."""
    return np.int64(field_cap(p, bits))


@njit(cache=True, nogil=True, inline="always")
def under_cap(field, cap):
    """1 where ``field < np.int64(cap)`` (``cap`` positive), else 0: the same comparison made in
    floats (field + 1 <= cap, exact for a field below 2**53), as AVX2 has no vector conversion
    of a float to a 64-bit integer and emulating it cost behaviour's pass 2 ns a citizen."""
    return np.int64(np.float64(field + 1) <= cap)


@njit(cache=True, nogil=True, inline="always")
def barred(s, in_court_acts, in_tax_acts):
    """The act bits that status ``s`` bars: no second case while one is open."""
    return ((in_court_acts & -np.int64((s & IN_COURT) != 0))
            | (in_tax_acts & -np.int64((s & TAX_CASE) != 0)))


@njit(cache=True, nogil=True, inline="always")
def allowed_today(age, flags, online, paying, s, who, in_court_acts, in_tax_acts):
    """The act bits a citizen may do today: eligible, and not :func:`barred`."""
    return eligible(age, flags, online, paying, who) & ~barred(s, in_court_acts, in_tax_acts)


@njit(cache=True, nogil=True, inline="always")
def candidates(i, day, online, disposed, screened, screen_cut, screen_key, post_key, post_cap,
               type_cuts, against_bounds):
    """Every screened kind where the screen's draw may have a candidate (``screen_cut``: at
    least the last cut of the citizen's screen class), whether or not the citizen may do it;
    and for an internet user (``online`` 1) a post where its draw is under ``post_cap`` (the
    citizen's, chilled by fear: :func:`field_cap`), with its content type and whether it may go
    against the line (under its type's bound, :func:`against_bounds`, or a quarter of it where
    the citizen is not ``disposed``, 1 where its flags say ``DISPOSED``).

    Branch-free and without an inner loop, so that the loop over citizens vectorises;
    :func:`settle` then drops the candidates the citizen may not do and settles the others.
    """
    bits = screened & -np.int64(bits53(screen_key, i, day) < screen_cut)
    posted, typed, against = post_fields(i, day, post_key)
    post = under_cap(posted, post_cap) & online
    ctype = (np.int64(typed >= type_cuts[0]) + np.int64(typed >= type_cuts[1])
             + np.int64(typed >= type_cuts[2]))
    against = post & np.int64(against << (DISPOSED_SHIFT * (1 - disposed))
                              < pick(against_bounds, ctype, N_TYPES))
    return (bits | post << ONLINE_POST | against * POST_AGAINST
            | (post * ctype) << POST_TYPE_SHIFT)


@njit(cache=True, nogil=True, inline="always")
def frequent_candidates(first, day, k, key, bound, age, flags, adopt, adoption, who, acts):
    """Add candidates of act kind ``k``, drawn on its own stream (a bound above the screen's),
    in a pass of its own over a run, so that every pass vectorises: where the citizen is
    eligible, whatever its status (:func:`settle` drops those its case bars)."""
    for j in range(age.shape[0]):
        rank = adoption_rank(adopt[j], first + j)
        allowed = eligible(age[j], flags[j], np.int64(rank < adoption[0]),
                           np.int64(rank < adoption[1]), who)
        acts[j] |= (np.int64(bits53(key, first + j, day) < bound) << k) & allowed


@njit(cache=True, nogil=True, inline="always")
def pays(bits, s, i, day, pay_rate, tax_pay_rate, k_pay, k_tax):
    """A citizen in a case pays with its rate (``pay_rate`` 0: not in a court case)."""
    if pay_rate > 0.0 and chance(k_pay, i, day, pay_rate):
        bits |= PAY_DEBT
    if s & TAX_CASE and chance(k_tax, i, day, tax_pay_rate):
        bits |= PAY_TAX
    return bits


@njit(cache=True, nogil=True, inline="always")
def draw_run(first, day, age, flags, adopt, risk, screen_class, adoption, chilling, p, acts,
             acc_r):
    """Candidates of a run's citizens into ``acts``; count users and posts (by content type).

    Eligibility is left to :func:`settle`, for the few with a candidate (posting is internet
    users', ``online``), and a poster's threshold chilled by its perceived risk is worked out
    by arithmetic, not from a table; the arrays are the run's own views (indexed from 0): so
    that the loop vectorises.
    """
    who, bounds, act_keys, against_bounds = p.d.who, p.d.bounds, p.d.keys, p.against_bounds
    type_cuts, post_key, post_rate = p.type_cuts, act_keys[ONLINE_POST], p.d.rates[ONLINE_POST]
    screened, parts, screen_key = p.screened, p.screen_parts, p.d.screen_key
    internet_thr, payment_thr = adoption[0], adoption[1]
    children = online_users = paying_users = 0
    by_type0 = by_type1 = by_type2 = by_type3 = 0  # scalars, not an array: the loop vectorises
    for j in range(age.shape[0]):
        adult = np.int64(age[j] != CHILD)
        rank = adoption_rank(adopt[j], first + j)
        online = np.int64(rank < internet_thr)
        paying = np.int64(rank < payment_thr)
        post_cap = field_cap(post_rate * chilled(risk[j], chilling), POST_BITS)
        disposed = np.int64((flags[j] & DISPOSED) != 0)
        bits = candidates(first + j, day, online, disposed, screened,
                          screen_bound(screen_class[j], parts), screen_key, post_key, post_cap,
                          type_cuts, against_bounds)
        acts[j] = bits
        children += 1 - adult
        online_users += online
        paying_users += paying
        post, ctype = bits >> ONLINE_POST & 1, bits >> POST_TYPE_SHIFT & 3
        by_type0 += post & np.int64(ctype == 0)
        by_type1 += np.int64(ctype == 1)  # types above 0 are set on posts only
        by_type2 += np.int64(ctype == 2)
        by_type3 += np.int64(ctype == 3)
    for c in range(p.frequent.shape[0]):
        k = p.frequent[c]
        frequent_candidates(first, day, k, act_keys[k], bounds[k], age, flags, adopt, adoption,
                            who, acts)
    acc_r[C_CITIZENS] += age.shape[0]
    acc_r[C_CHILDREN] += children
    acc_r[C_INTERNET] += online_users
    acc_r[C_PAYMENT] += paying_users
    acc_r[C_POSTS_T0] += by_type0  # not an array of the four: an allocation a run
    acc_r[C_POSTS_T0 + 1] += by_type1
    acc_r[C_POSTS_T0 + 2] += by_type2
    acc_r[C_POSTS_T0 + 3] += by_type3
    posts = by_type0 + by_type1 + by_type2 + by_type3
    acc_r[C_ACT0 + ONLINE_POST] += posts
    return posts


@njit(cache=True, nogil=True, inline="always")
def to_pay(first, ids, book, acts):
    """Mark as candidates to pay (PAY_DEBT in a court case, PAY_TAX in a tax case) the
    citizens of the chunk from ``first`` in a case (the case book's ``ids`` and rows ``book``),
    for :func:`settle` to decide."""
    lo, hi = rows_between(ids, first, first + acts.shape[0])
    for r in range(lo, hi):
        s = np.int64(book[r, STATUS])
        acts[ids[r] - first] |= (PAY_DEBT * np.int64((s & IN_COURT) != 0)
                                 | PAY_TAX * np.int64((s & TAX_CASE) != 0))


@njit(cache=True, nogil=True, inline="always")
def rare_citizens(lo, hi, acts, todo):
    """List citizens of lo..hi-1 with a candidate other than a post (or a case to pay in:
    :func:`to_pay`).

    Without a branch per citizen: the list is written on and its length advanced by a flag.
    """
    m = 0
    for j in range(lo, hi):
        todo[m] = j
        m += (np.int64(acts[j]) & ~COMMON) != 0
    return m


@njit(cache=True, nogil=True)
def settle(first, day, n, runs, a, p, acc):
    """Exact acts of the citizens listed in ``a.todo[:n]`` (a rare candidate or a case, in
    order), each done with chance ``rate * trait * fear`` as ``layout.act_done`` draws it, of
    the screened kinds only those the citizen may do today (:func:`allowed_today`), of the
    others those its case does not bar (their status from the case book, walked along); posts
    against the line; paying; counted in the citizen's region (``runs``: the chunk's runs of
    one region); marked where the acts hold more than a lawful post. A call per chunk, not per
    run: a call's arguments cost about a microsecond, which a small run does not repay.

    A citizen's ``lead`` is ``layout.first_candidate`` (the screen's length without a screened
    candidate): only the screened kinds from it on are looked at, and only those with a
    candidate draw their propensity; an unscreened kind without a trait is exact as drawn. A
    post goes against the line with its content type's share times the citizen's disposition
    and fear's ratio (``r8``: perceived risk in 255ths, as stored), as its draw's field says
    (:func:`post_fields`). A call per run: the arrays are taken
    once, and helpers called per citizen take scalars, as an inlined helper taking arrays costs
    reference counts per call (it took a third of the stage's time).
    """
    acts, risk, todo, flags, ids, book = a.acts, a.risk, a.todo, a.flags, a.case_ids, a.case_days
    rates, trait_of, act_keys, trait_keys, by_class, cuts, screen_key = (
        p.d.rates, p.d.trait_of, p.d.keys, p.d.trait_keys, p.d.class_bounds, p.d.cuts,
        p.d.screen_key)
    order, frequent, screened, pay_rates = p.order, p.frequent, p.screened, p.pay_rates
    who, cases = p.d.who, p.cases
    deterred, deter, against_ratio, against_shares = (a.deterred, a.deterrence,
                                                      a.chilling_against, p.against_shares)
    n_kinds, q, row = rates.shape[0], 0, np.searchsorted(ids, first)
    acc_r = acc[region_of(a.starts, first)]
    for t in range(n):
        j = todo[t]
        while j >= runs[q + 1]:
            q += 1
            acc_r = acc[region_of(a.starts, first + runs[q])]
        i, r8 = first + j, np.int64(risk[j])
        while row < ids.shape[0] and ids[row] < i:
            row += 1
        s = np.int64(book[row, STATUS]) if row < ids.shape[0] and ids[row] == i else 0
        bits = np.int64(acts[j]) & ~(PAY_DEBT | PAY_TAX) & ~barred(s, cases[0], cases[1])
        c = np.int64(a.screen_class[j])
        if bits & screened:  # most listed have none: a post against the line, a case
            rank = adoption_rank(a.adopt[j], i)
            bits &= allowed_today(a.age[j], flags[j], np.int64(rank < a.adoption[0]),
                                  np.int64(rank < a.adoption[1]), s, who, cases[0],
                                  cases[1]) | ~screened
        lead = first_candidate(i, day, screen_key, cuts, c) if bits & screened else order.shape[0]
        done = bits & ~screened
        for position in range(lead, order.shape[0]):  # before the first candidate: none
            k = order[position]
            if bits >> k & 1:
                u = bits53(act_keys[k], i, day)
                if position == lead or u < by_class[c, k]:  # else no candidate: no trait drawn
                    pk = act_chance(rates[k], trait_of[k], trait_keys[trait_of[k]], i, flags[j],
                                    deter[r8] if deterred[k] else 1.0)
                    done |= np.int64(act_done(u, pk, position, lead, by_class[c, k])) << k
        for f in range(frequent.shape[0]):  # drawn on their own: exact but for a trait
            k = frequent[f]
            if done >> k & 1 and trait_of[k] != NONE:
                pk = act_chance(rates[k], trait_of[k], trait_keys[trait_of[k]], i, flags[j],
                                deter[r8] if deterred[k] else 1.0)
                if not act_done(bits53(act_keys[k], i, day), pk, UNSCREENED, lead,
                                by_class[c, k]):
                    done &= ~(1 << k)
        if done & POST_AGAINST:
            share = (against_shares[done >> POST_TYPE_SHIFT & 3]
                     * exponential(trait_keys[DISSENT], i, 0) * against_ratio[r8])
            if post_fields(i, day, act_keys[ONLINE_POST])[2] >= share * AGAINST_ONE:
                done &= ~POST_AGAINST
        pay_rate = (pay_rates[2] if s & LISTED else pay_rates[1] if s & JUDGED
                    else pay_rates[0] if s & IN_DEFAULT else 0.0)
        b = pays(done, s, i, day, pay_rate, p.tax_pay_rate, p.k_pay, p.k_tax)
        acts[j] = b
        if b & POST_AGAINST:  # draw_run counted every post as lawful
            acc_r[C_AGAINST_T0 + (b >> POST_TYPE_SHIFT & 3)] += 1
            acc_r[C_LAWFUL] -= 1
        b &= ~COMMON  # counted in draw_run
        if b:  # most of the listed do nothing: a candidate only
            mark(a.marked, j)
            for k in range(n_kinds):
                acc_r[C_ACT0 + k] += b >> k & 1
            for c in range(EXTRA_BITS.shape[0]):
                acc_r[EXTRA_COUNTERS[c]] += b >> EXTRA_BITS[c] & 1


@njit(cache=True, nogil=True)
def act_kernel(first, day, runs, a, p, acc):
    """Draw today's acts for one chunk into ``a.acts`` (bits of codes.ACT_BIT and extras).

    Per run of citizens of one region, candidates for everyone; then, over the chunk, exact
    acts (and counts) for the few citizens with a rare candidate or a case (the case book's
    citizens in one: :func:`to_pay`; listed in ``a.todo``). Those whose acts hold more than a
    lawful post are marked (``Today.marked``), for the stages after.
    """
    acts, risk, flags = a.acts, a.risk, a.flags
    a.marked[:] = 0
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        acc_r = acc[region_of(a.starts, first + lo)]
        acc_r[C_LAWFUL] += draw_run(first + lo, day, a.age[lo:hi], flags[lo:hi], a.adopt[lo:hi],
                                    risk[lo:hi], a.screen_class[lo:hi], a.adoption, a.chilling,
                                    p, acts[lo:hi], acc_r)
    to_pay(first, a.case_ids, a.case_days, acts)
    settle(first, day, rare_citizens(0, acts.shape[0], acts, a.todo), runs, a, p, acc)


def content_tables(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds of the post's type field at the content types' cumulative shares (a type of
    share 0 is never drawn), and each type's mean share of posts against the line (zeros
    without speech)."""
    never = (1 << TYPE_BITS) + 1
    if sc.speech is None:
        return np.full(N_TYPES - 1, never, np.int64), np.zeros(N_TYPES)
    shares = np.array(list(sc.speech.shares().values()))
    cuts = [never if not shares[k + 1:].any() else field_threshold(c, TYPE_BITS)
            for k, c in enumerate(np.cumsum(shares)[:-1])]
    return np.array(cuts, np.int64), np.array(list(sc.speech.against_shares().values()))


def against_bounds(against_shares: np.ndarray) -> np.ndarray:
    """Per content type, a bound of the against field that no post of the type reaches when it
    stays within the line: the type's share times the largest disposition (fear's ratio is at
    most 1). Per type, not the largest type's, so that china-2018's candidates against the
    line are 2.9 times fewer. A citizen not ``DISPOSED``, whose disposition is at most a quarter
    of the largest, has its field shifted up by ``DISPOSED_SHIFT`` before the comparison: the
    candidates are 2.8 times fewer again."""
    x = against_shares * float(EXP_QUANTILES.max()) * AGAINST_ONE
    return (np.floor(x) + (x > 0)).astype(np.int64)  # every field under x is under it


def params(sc: Scenario, seed: int) -> ActParams:
    """Behaviour's parameters from ``sc``."""
    layout, d = Layout.of(sc), draws(sc, seed)
    type_cuts, against_shares = content_tables(sc)
    return ActParams(
        d=d, frequent=np.flatnonzero(d.rank[1:] == UNSCREENED).astype(np.int64) + 1,
        order=np.argsort(d.rank, kind="stable")[:int((d.rank != UNSCREENED).sum())],
        screened=(1 << len(d.rank)) - 1 & ~d.unscreened,
        screen_parts=screen_parts(d.class_bounds, d.trait_of, d.rank, d.cuts),
        cases=np.array([layout.acts_where(sc, opens="court"), layout.acts_where(sc, opens="tax")],
                       np.int64),
        k_pay=stream_key(seed, "act.pay_debt"), k_tax=stream_key(seed, "act.pay_tax"),
        type_cuts=type_cuts, against_shares=against_shares,
        against_bounds=against_bounds(against_shares),
        pay_rates=np.array([sc.court.settle_rate, sc.court.comply_rate,
                            sc.court.pay_rate_listed]),
        tax_pay_rate=float(sc.tax.pay_rate))


@dataclass
class Behaviour(Stage):
    """Act rates and eligibility from the scenario; today's adoption thresholds."""

    NAME = "behaviour"
    OWNS = ("acts", "marked", "adoption", "screen_class")
    READS = ("age", "flags", "adopt", "case_ids", "case_days", "risk", "deterrence",
             "chilling", "chilling_against", "deterred")

    @classmethod
    def counters(cls, sc: Scenario) -> tuple[str, ...]:
        """The fixed counters, then ``acts_<kind>`` for posting and each act of the catalog."""
        return (*FIXED_COUNTERS, *(f"acts_{k}" for k in Layout.of(sc).kinds))

    view: View
    seed: int
    screen_class: np.ndarray  # per citizen (layout.screen_classes), fixed for the run
    sc: Scenario | None = None
    p: ActParams | None = None
    day: int = 0
    adoption: np.ndarray | None = None

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Behaviour:
        classes = screen_classes(trait_keys(seed), level_caps(), view.flags)
        behaviour = cls(view=view, seed=seed, screen_class=view.own("screen_class", classes))
        behaviour.tune(sc)
        return behaviour

    def tune(self, sc: Scenario) -> None:
        self.sc, self.p = sc, params(sc, self.seed)

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Today's adoption thresholds (published: who uses the internet and mobile payment)."""
        self.day = day
        if sc is not self.sc:
            self.tune(sc)
        regions = self.view.regions
        self.adoption = np.array([
            adoption_threshold(sc.population.internet_users, date, regions),
            adoption_threshold(sc.population.payment_users, date, regions)], np.int64)
        self.view.publish("adoption", self.adoption)
        self.values = None

    @kernel_step(act_kernel, pieces=(FIRST, SAME, RUNS, Fields(ActArrays, {
        **dict.fromkeys(("age", "flags", "adopt", "risk", "screen_class"), CITIZENS),
        "acts": BUFFER, "todo": BUFFER, "marked": WORDS}), SAME, SAME))
    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        a = ActArrays(*today.kept(lo, hi, self.chunk_arrays), *self.day_values())
        return lo, self.day, self.view.runs(lo, hi), a, self.p, acc

    def chunk_arrays(self, lo: int, hi: int, today: Today) -> tuple:
        """ActArrays' arrays of citizens lo..hi for the run (Today.kept)."""
        v, n = self.view, hi - lo
        return (v.starts, v.age[lo:hi], v.flags[lo:hi], v.adopt[lo:hi], v.risk[lo:hi],
                self.screen_class[lo:hi], today.acts[:n], today.todo[:n],
                today.marked[words_of(n)])

    def gather_day(self) -> tuple:
        """ActArrays' day values: today's adoption thresholds, fear's tables (fear, a later
        stage, makes them anew where the scenario's values change) and the registry's case book
        (filed anew each day)."""
        v = self.view
        return (self.adoption, v.deterrence, float(v.chilling), v.chilling_against, v.deterred,
                v.case_ids, v.case_days)
