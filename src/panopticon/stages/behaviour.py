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
branches (so it vectorises) finds candidates: a frequent act (a bound above
``layout.COMMON_BOUND``) where its own draw is under its bound; the rare acts all at once,
where one screening draw says that one of them is a candidate (``layout.first_candidate``), a
draw per citizen instead of one per act. The rare acts' bounds are the citizen's screen
class's (``layout.screen_classes``, a byte made at build: the level of each propensity), its
rate times the cap of the citizen's level, so that the screen names about 1.7 times as many
citizens as act, not 8 times. Only the few candidates have their eligibility worked out
(which the pass leaves out: it took half its time), the citizen's propensity drawn and the
exact draw made (``layout.act_done``): every act is done with chance ``rate x propensity``,
independently of the others.

Posts are events only where they go against the line; lawful posts are counted. A post against
the line (chance ``post rate x chilled x type share x against share x disposition x fear's
ratio``) has its candidates in the low AGAINST_SCREEN_BITS bits of the screen's draw, under a
bound per internet user by the level of its disposition (``population.disposition_level``,
eight, kept in its byte of ages: :func:`post_screen`); each candidate is
thinned to its exact chance by a draw of its own (:func:`against_post`), its content type drawn
in proportion to the types' bounds. The day's posts of a region are then drawn as one count,
a binomial of its internet users at their mean chance of posting under fear (``chilled`` is
linear in perceived risk: the mean needs the sum of their risks alone), split by content type
(:func:`count_posts`); the lawful are those less the posts against the line: the pass draws
one number a citizen, not two. A citizen's lawful post is drawn one by one only where something
reads it (``world.posts.lawful_post``: content review's false flags, the cohort's members,
``told``). Perceived risk multiplies deterred kinds' rates by factors of at most 1 (fear's
tables by risk in 255ths), so the bounds hold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.case_book import STATUS
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
    NONE,
    UNSCREENED,
    Draws,
    Layout,
    act_chance,
    act_done,
    chilled,
    draws,
    eligible,
    eligible_one,
    first_candidate,
    level_caps,
    screen_bound,
    screen_classes,
    screen_parts,
    trait_keys,
)
from ..world.pieces import BUFFER, CITIZENS, FIRST, RUNS, SAME, WORDS, Fields
from ..world.population import (
    CHILD,
    DISPOSITION_CUTS,
    N_DISPOSITION,
    ORDER_STEP,
    adoption_order,
    adoption_rank,
    adoption_threshold,
    band,
    disposition_level,
    rank_in_order,
    region_of,
)
from ..world.posts import (
    AGAINST_ONE,
    N_TYPES,
    POST_BITS,
    PostDraw,
    against_share,
    field_cap,
    lawful_post_today,
    post_draw,
    post_fields,
    post_type,
    type_cuts,
    under_cap,
)
from ..world.rng import (
    CITIZEN_STEP,
    EXP_QUANTILES,
    binomial_quantile,
    bits53,
    bits53_at,
    bits_at,
    chance,
    counter,
    exponential,
    stream_key,
    uniform,
)
from ..world.state import Stage, View, kernel_step
from ..world.today import Today, mark, pop_lowest, words_of
from ..world.word_book import rows_between

# the population's counts, posts by content type, paying; then acts committed (ground truth),
# by kind (counters(sc))
FIXED_COUNTERS = (
    "citizens", "children", "internet_users", "payment_users",
    "posts_against_line", "posts_lawful", "debts_paid", "taxes_paid",
    *(f"posts_{t}" for t in CONTENT_TYPES), *(f"posts_against_line_{t}" for t in CONTENT_TYPES),
    "internet_users_risk_sum")  # their perceived risk in 255ths: the mean chance of posting
C_CITIZENS, C_CHILDREN, C_INTERNET, C_PAYMENT, C_AGAINST, C_LAWFUL, C_DEBT_PAID, \
    C_TAX_PAID, C_POSTS_T0, C_AGAINST_T0, C_RISK_ONLINE = (FIXED_COUNTERS.index(n) for n in (
        "citizens", "children", "internet_users", "payment_users",
        "posts_against_line", "posts_lawful", "debts_paid", "taxes_paid",
        f"posts_{CONTENT_TYPES[0]}", f"posts_against_line_{CONTENT_TYPES[0]}",
        "internet_users_risk_sum"))
C_ACT0 = len(FIXED_COUNTERS)
IN_COURT = IN_DEFAULT | JUDGED | LISTED
RARE_BLOCK = 4  # citizens whose acts rare_citizens tests at once
# A post and its content type (the POST_TYPE bits): counted per region at the day's end
# (count_posts), never a candidate to settle; a post against the line is one (POST_AGAINST).
COMMON = 1 << ONLINE_POST | POST_TYPE
# The screen's draw's low bits, below the 53 of its rare acts (rng.bits53): a candidate post
# against the line.
AGAINST_SCREEN_BITS = 64 - 53
# Bits of the acts word beyond the kinds that have a counter: against the line, paying.
EXTRA_BITS = np.array([b.bit_length() - 1 for b in (POST_AGAINST, PAY_DEBT, PAY_TAX)], np.int64)
EXTRA_COUNTERS = np.array([C_AGAINST, C_DEBT_PAID, C_TAX_PAID], np.int64)
# A disposition level's bound of a candidate post against the line: a field of LEVEL_FIELD bits
# of one of two words, LEVELS_A_WORD to a word (post_screen, against_bound).
LEVEL_FIELD, LEVELS_A_WORD = 16, 4
assert N_DISPOSITION == 2 * LEVELS_A_WORD and AGAINST_SCREEN_BITS < LEVEL_FIELD


@njit(cache=True, nogil=True, inline="always")
def against_bound(level, words):
    """The screen's bound of a post against the line at disposition ``level``, a field of one
    of two ``words``, taken out by arithmetic, which vectorises where a load from a table per
    citizen would not (as ``layout.screen_bound``)."""
    word = words[0] + (words[1] - words[0]) * (level // LEVELS_A_WORD)
    return (word >> (level % LEVELS_A_WORD * LEVEL_FIELD)) & ((1 << LEVEL_FIELD) - 1)


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
    post: PostDraw
    screen_bounds: np.ndarray  # the screen's low bits' bound by disposition level, in fields
    against_cuts: np.ndarray  # [level, 3]: a candidate's type field thresholds (post_screen)
    type_bounds: np.ndarray  # [level, content type]: the against share's bound
    post_scale: np.ndarray  # by level: the chance of posting's factor in the thinning
    against_key: np.uint64  # the thinning's stream (act.post_against)
    count_key: np.uint64  # the day's counts of posts (act.post_count), by region and type
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
    told: np.ndarray  # the citizens whose lawful posts are drawn one by one (sorted)


@njit(cache=True, nogil=True, inline="always")
def barred(s, in_court_acts, in_tax_acts):
    """The act bits that status ``s`` bars: no second case while one is open."""
    return ((in_court_acts & -np.int64((s & IN_COURT) != 0))
            | (in_tax_acts & -np.int64((s & TAX_CASE) != 0)))


@njit(cache=True, nogil=True, inline="always")
def allowed_today(age, flags, online, paying, s, who, in_court_acts, in_tax_acts):
    """The act bits a citizen may do today: eligible, and not :func:`barred`."""
    return eligible_one(age, flags, online, paying, who) & ~barred(s, in_court_acts, in_tax_acts)


@njit(cache=True, nogil=True, inline="always")
def against_post(i, day, level, r8, chilling, ratio, p):
    """The acts word's bits of a candidate's post against the line today (``ONLINE_POST``,
    its type, ``POST_AGAINST``), 0 for none: the thinning that makes the candidate of
    :func:`post_screen`'s bound a post against the line with its exact chance.

    The content type is drawn in proportion to its share times its bound (``type_bounds``: its
    against share at the largest disposition of the citizen's ``level``, at most 1), and the
    post is kept where the citizen posts under fear (``post_scale`` takes back the bound's
    rounding up) and with its against share over the type's bound: ``rate x chilled x share_t
    x against_t`` in all."""
    posted, typed, against = post_fields(i, day, p.against_key)
    t = post_type(typed, p.against_cuts[level])
    bound = p.type_bounds[level, t]
    share = against_share(p.post, t, exponential(p.post.dissent_key, i, 0) * ratio)
    if (not under_cap(posted, field_cap(p.post_scale[level] * chilled(r8, chilling), POST_BITS))
            or bound <= 0.0 or against >= share / bound * AGAINST_ONE):
        return 0
    return 1 << ONLINE_POST | t << POST_TYPE_SHIFT | POST_AGAINST


@njit(cache=True, nogil=True, inline="always")
def candidates(count, online, screened, screen_cut, screen_key, against_cut):
    """For the citizen and day whose ``rng.counter`` is ``count``: every screened kind where
    the screen's draw may have a candidate (``screen_cut``: at least the last cut of the
    citizen's screen class), whether or not the citizen may do it; and for an internet user
    (``online`` 1) a candidate post against the line where the draw's low bits are under
    ``against_cut`` (its disposition level's, :func:`against_bound`).

    Branch-free and without an inner loop, so that the loop over citizens vectorises;
    :func:`settle` then drops the candidates the citizen may not do and settles the others.
    """
    x = bits_at(screen_key, count)  # its top 53 bits are bits53's, for first_candidate
    bits = screened & -np.int64(np.int64(x >> np.uint64(AGAINST_SCREEN_BITS)) < screen_cut)
    low = np.int64(x & np.uint64((1 << AGAINST_SCREEN_BITS) - 1))
    return bits | POST_AGAINST * (online & np.int64(low < against_cut))


@njit(cache=True, nogil=True, inline="always")
def frequent_candidates(first, day, k, key, bound, age, flags, adopt, adoption, who, acts):
    """Add candidates of act kind ``k``, drawn on its own stream (a bound above the screen's),
    in a pass of its own over a run, so that every pass vectorises: where the citizen is
    eligible, whatever its status (:func:`settle` drops those its case bars)."""
    order, count = adoption_order(first), counter(first, day)
    for j in range(age.shape[0]):
        rank = rank_in_order(adopt[j], order)
        allowed = eligible(age[j], flags[j], np.int64(rank < adoption[0]),
                           np.int64(rank < adoption[1]), who)
        acts[j] |= (np.int64(bits53_at(key, count) < bound) << k) & allowed
        order, count = order + ORDER_STEP, count + CITIZEN_STEP


@njit(cache=True, nogil=True, inline="always")
def pays(s, i, day, settle_rate, comply_rate, listed_rate, tax_pay_rate, k_pay, k_tax):
    """PAY_DEBT and PAY_TAX where citizen ``i`` of status ``s`` pays today: a court case at
    the rate of its stage (in default, judged, listed), a tax case at its own."""
    pay_rate = (listed_rate if s & LISTED else comply_rate if s & JUDGED
                else settle_rate if s & IN_DEFAULT else 0.0)
    bits = 0
    if pay_rate > 0.0 and chance(k_pay, i, day, pay_rate):
        bits |= PAY_DEBT
    if s & TAX_CASE and chance(k_tax, i, day, tax_pay_rate):
        bits |= PAY_TAX
    return bits


@njit(cache=True, nogil=True, inline="always")
def draw_run(first, day, age, flags, adopt, risk, screen_class, adoption, p, acts, acc_r):
    """Candidates of a run's citizens into ``acts``; count the users, and the internet users'
    perceived risk (:func:`count_posts` draws the posts from it).

    Eligibility is left to :func:`settle`, for the few with a candidate (posting is internet
    users', ``online``); the arrays are the run's own views (indexed from 0): so that the loop
    vectorises.
    """
    who, bounds, act_keys = p.d.who, p.d.bounds, p.d.keys
    screened, parts, screen_key = p.screened, p.screen_parts, p.d.screen_key
    internet_thr, payment_thr = adoption[0], adoption[1]
    against_words = p.screen_bounds
    children = online_users = paying_users = online_risk = 0
    order, count = adoption_order(first), counter(first, day)
    for j in range(age.shape[0]):
        adult = np.int64(band(age[j]) != CHILD)
        rank = rank_in_order(adopt[j], order)
        online = np.int64(rank < internet_thr)
        paying = np.int64(rank < payment_thr)
        acts[j] = candidates(count, online, screened, screen_bound(screen_class[j], parts),
                             screen_key, against_bound(disposition_level(age[j]), against_words))
        children += 1 - adult
        online_users += online
        paying_users += paying
        online_risk += online * np.int64(risk[j])
        order, count = order + ORDER_STEP, count + CITIZEN_STEP
    for c in range(p.frequent.shape[0]):
        k = p.frequent[c]
        frequent_candidates(first, day, k, act_keys[k], bounds[k], age, flags, adopt, adoption,
                            who, acts)
    acc_r[C_CITIZENS] += age.shape[0]
    acc_r[C_CHILDREN] += children
    acc_r[C_INTERNET] += online_users
    acc_r[C_PAYMENT] += paying_users
    acc_r[C_RISK_ONLINE] += online_risk


@njit(cache=True, nogil=True, inline="always")
def to_pay(first, day, ids, book, acts, pay_rates, tax_pay_rate, k_pay, k_tax):
    """Add to the acts the payments of the citizens of the chunk from ``first`` in a case (the
    case book's ``ids`` and rows ``book``) who pay today (:func:`pays`): drawn along the book,
    so that :func:`settle` visits the few who pay, not every citizen in a case every day."""
    lo, hi = rows_between(ids, first, first + acts.shape[0])
    settle_rate, comply_rate, listed_rate = pay_rates[0], pay_rates[1], pay_rates[2]
    for r in range(lo, hi):
        s = np.int64(book[r, STATUS])
        if s & (IN_COURT | TAX_CASE):
            acts[ids[r] - first] |= pays(s, ids[r], day, settle_rate, comply_rate, listed_rate,
                                         tax_pay_rate, k_pay, k_tax)


@njit(cache=True, nogil=True, inline="always")
def rare_citizens(lo, hi, acts, todo):
    """List citizens of lo..hi-1 with a candidate to settle: any bit but a post's own
    (``COMMON``; a candidate post against the line is one), or a payment (:func:`to_pay`).

    RARE_BLOCK citizens' words tested at once, as most have none (with :func:`to_pay`, a late
    day at 1.41 M: 0.31 ms against 0.54 one at a time; 0.37 eight at once, 0.50 sixteen;
    scratch ``behparts.py``); among those of a block that has, without a branch per citizen:
    the list is written on and its length advanced by a flag. The count starts as an int64,
    not a literal 0 (``today.marked_into``).
    """
    m, rare = np.int64(0), np.int64(~COMMON)
    whole = lo + (hi - lo) // RARE_BLOCK * RARE_BLOCK
    for j in range(lo, whole, RARE_BLOCK):
        any_rare = np.int64(0)
        for k in range(RARE_BLOCK):
            any_rare |= np.int64(acts[j + k])
        if any_rare & rare:
            for k in range(j, j + RARE_BLOCK):
                todo[m] = k
                m += (np.int64(acts[k]) & rare) != 0
    for k in range(whole, hi):
        todo[m] = k
        m += (np.int64(acts[k]) & rare) != 0
    return m


@njit(cache=True, nogil=True)
def settle(first, day, n, runs, a, p, acc):
    """Exact acts of the citizens listed in ``a.todo[:n]`` (a rare candidate or a payment, in
    order), each done with chance ``rate * trait * fear`` as ``layout.act_done`` draws it, of
    the screened kinds only those the citizen may do today (:func:`allowed_today`), of the
    others those its case does not bar (their status from the case book, walked along); posts
    against the line (:func:`against_post`); payments as drawn (:func:`to_pay`); counted in the
    citizen's region (``runs``: the chunk's runs of one region); marked where the acts hold
    more than a lawful post. A call per chunk, not per run: a call's arguments cost about a
    microsecond, which a small run does not repay.

    A citizen's ``lead`` is ``layout.first_candidate`` (the screen's length without a screened
    candidate): only the screened kinds from it on are looked at, and only those with a
    candidate draw their propensity; an unscreened kind without a trait is exact as drawn
    (``r8``: perceived risk in 255ths, as stored). A call per run: the arrays are taken
    once, and helpers called per citizen take scalars, as an inlined helper taking arrays costs
    reference counts per call (it took a third of the stage's time).
    """
    acts, risk, todo, flags, ids, book = a.acts, a.risk, a.todo, a.flags, a.case_ids, a.case_days
    rates, trait_of, act_keys, trait_keys, by_class, cuts, screen_key = (
        p.d.rates, p.d.trait_of, p.d.keys, p.d.trait_keys, p.d.class_bounds, p.d.cuts,
        p.d.screen_key)
    order, frequent, screened = p.order, p.frequent, p.screened
    who, cases = p.d.who, p.cases
    deterred, deter, against_ratio = a.deterred, a.deterrence, a.chilling_against
    kind_bits, q, row = (1 << rates.shape[0]) - 1, 0, np.searchsorted(ids, first)
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
        paid = np.int64(acts[j]) & (PAY_DEBT | PAY_TAX)
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
            done = done & ~POST_AGAINST | against_post(
                i, day, disposition_level(a.age[j]), r8, a.chilling, against_ratio[r8], p)
        b = done | paid
        acts[j] = b
        if b & POST_AGAINST:
            acc_r[C_AGAINST_T0 + (b >> POST_TYPE_SHIFT & 3)] += 1
        b &= ~COMMON  # posts are counted in count_posts
        if b:  # most of the listed do nothing: a candidate only
            mark(a.marked, j)
            kinds = np.uint64(b & kind_bits)
            while kinds:
                k, kinds = pop_lowest(kinds)
                acc_r[C_ACT0 + k] += 1
            for c in range(EXTRA_BITS.shape[0]):
                acc_r[EXTRA_COUNTERS[c]] += b >> EXTRA_BITS[c] & 1


@njit(cache=True, nogil=True)
def act_kernel(first, day, runs, a, p, acc):
    """Draw today's acts for one chunk into ``a.acts`` (bits of codes.ACT_BIT and extras).

    Per run of citizens of one region, candidates for everyone; then, over the chunk, exact
    acts (and counts) for the few citizens with a rare candidate or a payment (drawn along the
    case book: :func:`to_pay`; listed in ``a.todo``). Those whose acts hold more than a
    lawful post are marked (``Today.marked``), for the stages after.
    """
    acts, risk, flags = a.acts, a.risk, a.flags
    a.marked[:] = 0
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        draw_run(first + lo, day, a.age[lo:hi], flags[lo:hi], a.adopt[lo:hi], risk[lo:hi],
                 a.screen_class[lo:hi], a.adoption, p, acts[lo:hi],
                 acc[region_of(a.starts, first + lo)])
    to_pay(first, day, a.case_ids, a.case_days, acts, p.pay_rates, p.tax_pay_rate, p.k_pay,
           p.k_tax)
    settle(first, day, rare_citizens(0, acts.shape[0], acts, a.todo), runs, a, p, acc)
    told = a.told
    for m in range(np.searchsorted(told, first), np.searchsorted(told, first + acts.shape[0])):
        j = told[m] - first
        acts[j] |= lawful_post_today(told[m], day, acts[j], a.adopt[j], np.int64(risk[j]),
                                     a.adoption, a.chilling, a.chilling_against, p.post)


@njit(cache=True, nogil=True)
def count_posts(day, key, rate, chilling, shares, counts):
    """The day's posts of each region (``counts``: behaviour's counters, the day's totals by
    region, its internet users and their risk summed), drawn as a binomial of the internet
    users at their mean chance under fear, split by content type, on one uniform of (region,
    type, day) each: two runs of one seed with fear and without it count their posts from the
    same uniforms, so that fear's chilling is never a chance of one run against the other. A
    type's posts are at least its posts against the line; the lawful are the rest."""
    for r in range(counts.shape[0]):
        users = counts[r, C_INTERNET]
        mean = rate * (1.0 - chilling * counts[r, C_RISK_ONLINE] / (255.0 * max(users, 1)))
        left = binomial_quantile(uniform(key, r * 8, day), users, mean)
        rest, total, lawful = 1.0, 0, 0
        for t in range(N_TYPES):
            x = left if t == N_TYPES - 1 or shares[t] >= rest - 1e-12 else binomial_quantile(
                uniform(key, r * 8 + 1 + t, day), left, shares[t] / rest)
            left, rest = left - x, rest - shares[t]
            x = max(x, counts[r, C_AGAINST_T0 + t])
            counts[r, C_POSTS_T0 + t] = x
            total += x
            lawful += x - counts[r, C_AGAINST_T0 + t]
        counts[r, C_LAWFUL] = lawful
        counts[r, C_ACT0 + ONLINE_POST] = total


def post_screen(post: PostDraw) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """By a citizen's disposition level (``population.disposition_level``): the bound of a
    candidate post against the line in the screen's low bits (rounded up; in the fields of two
    words, :func:`against_bound`), its types' thresholds and bounds, and the share of the bound
    that the rounding added back (:func:`against_post`). A type's bound is its share of posts
    against the line at the level's largest disposition (fear's ratio is at most 1), at most
    1."""
    one = 1 << AGAINST_SCREEN_BITS
    top = EXP_QUANTILES[np.array([*DISPOSITION_CUTS, EXP_QUANTILES.shape[0]]) - 1]
    bounds = np.minimum(top[:, None] * post.against_shares[None, :], 1.0)
    chance = post.rate * (post.shares[None, :] * bounds).sum(axis=1)
    cuts = np.ceil(chance * one - 1e-9).astype(np.int64).clip(0, one)
    scale = np.where(cuts > 0, chance * one / np.maximum(cuts, 1), 0.0)
    fields = cuts << (np.arange(N_DISPOSITION) % LEVELS_A_WORD * LEVEL_FIELD)
    return (fields.reshape(-1, LEVELS_A_WORD).sum(axis=1),
            np.array([type_cuts(post.shares * b) for b in bounds]),
            np.ascontiguousarray(bounds), scale)


def params(sc: Scenario, seed: int) -> ActParams:
    """Behaviour's parameters from ``sc``."""
    layout, d, post = Layout.of(sc), draws(sc, seed), post_draw(sc, seed)
    screen_bounds, against_cuts, type_bounds, post_scale = post_screen(post)
    return ActParams(
        d=d, frequent=np.flatnonzero(d.rank[1:] == UNSCREENED).astype(np.int64) + 1,
        order=np.argsort(d.rank, kind="stable")[:int((d.rank != UNSCREENED).sum())],
        screened=(1 << len(d.rank)) - 1 & ~d.unscreened,
        screen_parts=screen_parts(d.class_bounds, d.trait_of, d.rank, d.cuts),
        cases=np.array([layout.acts_where(sc, opens="court"), layout.acts_where(sc, opens="tax")],
                       np.int64),
        k_pay=stream_key(seed, "act.pay_debt"), k_tax=stream_key(seed, "act.pay_tax"),
        post=post, screen_bounds=screen_bounds, against_cuts=against_cuts,
        type_bounds=type_bounds, post_scale=post_scale,
        against_key=stream_key(seed, "act.post_against"),
        count_key=stream_key(seed, "act.post_count"),
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
    told: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Behaviour:
        classes = screen_classes(trait_keys(seed), level_caps(), view.flags)
        behaviour = cls(view=view, seed=seed, screen_class=view.own("screen_class", classes))
        behaviour.tune(sc)
        return behaviour

    def tune(self, sc: Scenario) -> None:
        self.sc, self.p = sc, params(sc, self.seed)

    def tell(self, ids: np.ndarray) -> None:
        """Draw the lawful posts of citizens ``ids`` one by one into the acts word, for an
        observer that tells their days (the cohort): the others' are counted."""
        self.told = np.sort(np.asarray(ids, np.int64))

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
                v.case_ids, v.case_days, self.told)

    def end_day(self, counts: np.ndarray) -> None:
        """The day's posts of each region (:func:`count_posts`), from its internet users."""
        count_posts(self.day, self.p.count_key, self.p.post.rate, float(self.view.chilling),
                    self.p.post.shares, counts)
