"""Consequences: sanctions and rewards, met when a citizen attempts something.

A sanction is in force for a citizen on a list it names (the court list once shared with airlines
and railways, and still while a paid listing awaits removal), or in a grade it names where the
region's bureau is connected to the central database and the citizen is scored, or whose score
is below its threshold there, from its start to its end; a reward likewise for a red list, a grade
or a score above its threshold. An attempt (an act of the catalog of nature attempt: a
ticket, a trip abroad, an application) is refused where a sanction in force blocks it, else
favoured where a reward in force grants it; each is counted by the attempt's name, a block as
an event and once per person. A sanction that blocks a standing (a management role, internet
use) is counted as a stock of the holders under it. A block is wrongful where the citizen's true
case (no stale listing, no wrong records) would not have been blocked; its cause is counted.

A sanction or reward borne by children is met by a child's attempt for a parent's standing, one
borne by a household by the attempts of the household's other members (the head and those up to
the next head), one borne by an employer by the attempts that the other workers of the
citizen's workplace (``world.ties``: working-age citizens of a block of a province) make for it,
in a second phase that reads what the first wrote about every citizen (a chunk need not hold a
child's parent, a whole household or a workplace): the first phase keeps the chunk's attempts
for it; the relatives under a sanction are counted as a stock and once each (the colleagues at
the day's end, from the few citizens whose standing their employer bears).

Every citizen's standing (sanctions in force, on the record and on the true case) is worked out in
a pass without branches, which vectorises, on the days when what it is worked out from may have
moved for anyone (the measures in force, the regions connected, the scored group, the ties term
read); on the other days only for the citizens whose status, lists or score across a measure's
cut moved (``Today.moved``: fewer than 0.1% a day), the stocks kept as running totals and books
changed there. The few who attempt something today are then met one by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np
from numba import njit

from ..language.catalog import MAX_SCORE_THRESHOLDS
from ..language.scenario import Scenario
from ..world.atomics import atomic_and, atomic_or
from ..world.case_book import STATUS, status_of
from ..world.codes import (
    CAUSE_FALSE_FLAG,
    CAUSE_FALSE_MATCH,
    CAUSE_TIES,
    EXIT_BAN,
    LISTS,
    MISCONDUCT,
    N_CUTS,
    SHARED,
    STALE,
    cause_of,
    effective_steps,
    is_scored,
    true_of,
)
from ..world.engine import run_starts
from ..world.layout import (
    KIN_HISTORY,
    Layout,
    bits_dtype,
    blocked_attempts,
    borne_by_kin,
    family_names,
    history_names,
)
from ..world.pieces import BUFFER, CITIZENS, FIRST, RUNS, SAME, WORDS, Fields
from ..world.population import (
    HEAD,
    HOUSEHOLD_MAX,
    MANAGER,
    ORDER_STEP,
    adoption_order,
    adoption_rank,
    head_at_or_before,
    is_child,
    parent_of,
    rank_in_order,
    region_of,
)
from ..world.state import Stage, View, kernel_step
from ..world.ties import Ties, workplace_into
from ..world.today import (
    WORD,
    Today,
    flags_word,
    is_marked,
    marked_into,
    moved_into,
    unpack_bits,
    words_of,
)
from ..world.word_book import (
    empty,
    file_words,
    keep_set,
    put,
    rows_between,
    rows_of_words,
    walk,
    word_at,
    word_of,
    words_into,
)

COURT_LIST, TAX_LIST, MISCONDUCT_LIST = (LISTS.index(n) for n in LISTS)
N_PROCESS_LISTS = len(LISTS)  # the scheme's own lists follow them in list_mask
REWARDS_SHIFT = 32  # a grade's masks: sanction bits below, reward bits from here
# scores where the measures in force change: the grades' cuts and the score thresholds
N_SCORE_CUTS = N_CUTS + MAX_SCORE_THRESHOLDS
SANCTIONS = (1 << REWARDS_SHIFT) - 1
STAND_WRONG = 1 << REWARDS_SHIFT  # a standing word's bit: some sanction in force wrongly
STAND_BLOCK = 4096  # citizens whose standing is worked out at a time (stand_run)
# people under a sanction, wrongful blocks by cause; then, by the catalog (counters(sc)), each
# attempt's, each sanction's on a standing or borne by children or a household, each reward's
FIXED_COUNTERS = (
    "sanctioned_people_stock", "wrongly_sanctioned_stock", "wrongful_by_false_match",
    "wrongful_by_false_flag", "wrongful_by_stale_record", "wrongful_by_ties_term")
C_SANCTIONED, C_WRONGLY, C_BY_MATCH, C_BY_FLAG, C_BY_STALE, C_BY_TIES = range(
    len(FIXED_COUNTERS))
UNDER_COLUMNS = np.array([C_SANCTIONED, C_WRONGLY])  # the stocks of who is under a sanction
ATTEMPT_FIGURES = ("attempts", "blocked", "blocked_wrongful", "blocked_people")
# a history's first bits (world.layout.history_names): the first two in the bit arrays of
# sanctioned_ever, the others in the history book (Consequences.history_words)
EVER_SANCTIONED, EVER_WRONGLY_SANCTIONED, EVER_WRONGLY_BLOCKED = 1, 2, 4


def counters(sc: Scenario) -> tuple[str, ...]:
    """Consequences' counters: the fixed ones; per attempt its attempts, blocks, wrongful
    blocks and people blocked; per sanction on a standing its stock (holders under it), per
    sanction borne by children, a household or an employer its stock and people (relatives or
    colleagues under it); per reward its grants."""
    kids, _ = borne_by_kin(sc)
    standing = [s.name for s in sc.sanctions if set(s.blocks) - set(sc.acts)]
    return (*FIXED_COUNTERS,
            *(f"{a}_{f}" for a in Layout.of(sc).attempts(sc) for f in ATTEMPT_FIGURES),
            *(f"{s}_stock" for s in standing),
            *(f"{s}_{f}" for s in kids for f in ("stock", "people")),
            *(f"{r.name}_granted" for r in sc.rewards))


class Catalog(NamedTuple):
    """What attempts meet, by act kind (bit of world.layout), and where each is counted."""

    attempts: np.ndarray  # the act kinds of attempts
    own: int  # act bits of the attempts a child meets in phase 1
    own_adult: int  # act bits of the attempts an adult meets in phase 1
    family: int  # act bits of the attempts a child meets in phase 2 (children bear a measure)
    home: int  # act bits of the attempts everyone meets in phase 2 (a household bears one)
    work: int  # act bits of the attempts everyone meets in phase 2 (an employer bears one)
    met: int  # act bits of every attempt met, in phase 1 or 2 (own_adult | family | home | work)
    kin_of_parent: int  # bits of a family word that a child meets for the parent's
    kin_counted: int  # those of sanctions counted over the children under them (phase 2 visits)
    kin_of_home: int  # bits of a family word that the other members of a household meet
    kin_of_work: int  # bits of a family word that the other workers of a workplace meet
    blocks: np.ndarray  # per kind, the bits of the sanctions borne by the person that block it
    grants: np.ndarray  # per kind, the bits of the rewards borne by the person that grant it
    kid_blocks: np.ndarray  # per kind, the bits of the sanctions borne by relatives that block it
    kid_grants: np.ndarray  # per kind, the bits of the rewards borne by relatives that grant it
    counter: np.ndarray  # per kind, the first of its ATTEMPT_FIGURES counters (-1: none)
    ever: np.ndarray  # per kind, its history bit of a block (0: none blocks it)
    rewards: np.ndarray  # per reward: [its bit, its counter, its history bit]
    standings: np.ndarray  # per sanction on a standing: [bit, management, internet, counter]
    on_use: int  # the bits of the sanctions on a standing that internet use holds
    kids: np.ndarray  # per sanction borne by relatives (children, a household, an employer):
    #   [bit, family bit, family wrong bit, stock counter, people counter, history bit,
    #   history wrong bit]
    kid_rewards: np.ndarray  # per reward borne by relatives: [bit, family bit]
    at_work: np.ndarray  # the rows of kids borne by an employer
    kid_stocks: np.ndarray  # the stock counters of the measures borne by children (the rows
    #   of kids whose family bit a child meets for its parent): phase 2 counts their changes


def catalog(sc: Scenario) -> Catalog:
    """The attempts, sanctions and rewards of ``sc`` as the kernels meet them."""
    layout, names = Layout.of(sc), counters(sc)
    index = {n: i for i, n in enumerate(names)}
    ever = {n: 1 << b for b, n in enumerate(history_names(sc))}
    family = {n: 1 << b for b, n in enumerate(family_names(sc))}
    n = len(layout.kinds)
    blocks, grants, kid_blocks, kid_grants = (np.zeros(n, np.int64) for _ in range(4))
    met_by = dict.fromkeys(KIN_HISTORY, 0)  # act bits a measure borne by each meets
    kin = dict.fromkeys(KIN_HISTORY, 0)  # family word bits of the measures each bears
    for table, items, person, kid, verb in (
            ("s", sc.sanctions, blocks, kid_blocks, "blocks"),
            ("r", sc.rewards, grants, kid_grants, "grants")):
        for bit, item in enumerate(items):
            if item.bears != "person":
                kin[item.bears] |= family[item.name] | family.get(f"{item.name}_wrongly", 0)
            for act in getattr(item, verb):
                if act in sc.acts:
                    (person if item.bears == "person" else kid)[layout.kinds.index(act)] |= (
                        1 << bit)
                    if item.bears != "person":
                        met_by[item.bears] |= layout.bit(act)
    tries = layout.attempts(sc)
    attempts = np.array([layout.kinds.index(a) for a in tries], np.int64)
    every = sum(layout.bit(a) for a in tries)
    by_kids, by_home, by_work = met_by["children"], met_by["household"], met_by["employer"]
    borne = [s.bears for s in sc.sanctions if s.bears != "person"]
    counter = np.full(n, -1, np.int64)
    counter[attempts] = [index[f"{a}_attempts"] for a in tries]
    blocked = np.zeros(n, np.int64)
    for a in blocked_attempts(sc):
        blocked[layout.kinds.index(a)] = ever[f"{a}_blocked"]
    own_adult = every & ~by_home & ~by_work
    standings = np.array([[b, "management_role" in s.blocks, "internet" in s.blocks,
                           index[f"{s.name}_stock"]] for b, s in enumerate(sc.sanctions)
                          if set(s.blocks) - set(sc.acts)], np.int64).reshape(-1, 4)
    kids = np.array([[b, family[s.name], family[f"{s.name}_wrongly"], index[f"{s.name}_stock"],
                      index[f"{s.name}_people"], *(ever[f"{s.name}_{w}"]
                                                   for w in KIN_HISTORY[s.bears])]
                     for b, s in enumerate(sc.sanctions) if s.bears != "person"],
                    np.int64).reshape(-1, 7)
    return Catalog(
        attempts=attempts, own=every & ~by_kids & ~by_home & ~by_work,
        own_adult=own_adult, family=by_kids, home=by_home, work=by_work,
        met=own_adult | by_kids | by_home | by_work,
        kin_of_parent=kin["children"], kin_counted=sum(
            family[s.name] for s in sc.sanctions if s.bears == "children"),
        kin_of_home=kin["household"],
        kin_of_work=kin["employer"], blocks=blocks, grants=grants, kid_blocks=kid_blocks,
        kid_grants=kid_grants, counter=counter, ever=blocked,
        rewards=np.array([[r, index[f"{w.name}_granted"], ever[f"{w.name}_granted"]]
                          for r, w in enumerate(sc.rewards)], np.int64).reshape(-1, 3),
        standings=standings,
        on_use=sum(1 << int(b) for b, _, internet, _ in standings if internet), kids=kids,
        kid_rewards=np.array([[r, family[w.name]] for r, w in enumerate(sc.rewards)
                              if w.bears != "person"], np.int64).reshape(-1, 2),
        at_work=np.array([m for m, b in enumerate(borne) if b == "employer"], np.int64),
        kid_stocks=kids[(kids[:, 1] & kin["children"]) != 0, 3])


def keep_totals(totals: np.ndarray, counts: np.ndarray, columns: np.ndarray, anew: bool
                ) -> None:
    """Stocks kept as running totals (``[region, stock]``): the day's ``counts`` of
    ``columns`` are the stocks themselves where ``anew`` (everyone counted today), else their
    changes, added to yesterday's, and the counts made today's stocks."""
    if anew:
        totals[:] = counts[:, columns]
    else:
        totals += counts[:, columns]
        counts[:, columns] = totals


class Standing(NamedTuple):
    """What citizens' sanctions and rewards today are worked out from: a chunk's arrays or the
    whole population's, and today's values."""

    starts: np.ndarray  # each region's first citizen (population.region_of), counted from 0
    age: np.ndarray
    adopt: np.ndarray
    on_lists: np.ndarray  # lists': the scheme's lists by the published evidence
    on_lists_true: np.ndarray  # lists': the same by the true evidence
    score: np.ndarray  # scoring's
    gap: np.ndarray  # scoring's score_gap: the true score and the wrong causes (codes.gap_of)
    scored: np.ndarray  # scoring's scored group today
    connected: np.ndarray  # registry's regions connected today
    list_mask: np.ndarray  # per list (process lists, then the scheme's) its measures today
    cuts: tuple  # the cuts where a measure changes today (effective_steps)
    steps: tuple  # the lowest score's measures, then their change at each of those cuts


def everyone_standing(view: View) -> Standing:
    """The Standing of the whole population today, from a view that reads consequences'
    published measures and the arrays they are worked out from (the cohort's, a tool's)."""
    return Standing(view.starts, view.age, view.adopt, view.on_lists, view.on_lists_true,
                    view.score, view.score_gap, view.scored, view.connected, view.list_mask,
                    *effective_steps(view.score_cuts, view.score_steps))


class SanctionArrays(NamedTuple):
    """The rest of the arrays and buffers that sanctions read and write (a chunk's, or for the
    second phase the whole population's)."""

    flags: np.ndarray
    acts: np.ndarray  # today's, read (phase 1)
    status: np.ndarray  # today's, read (phase 1): the registry's (SHARED: a court listing
    #                     that transport operators have); phase 2 reads its case book
    moved: np.ndarray  # today's (Today.moved): 1 where a status, lists or a score across a cut
    #                    moved (the registry, scoring and lists set it)
    todo: np.ndarray
    marked: np.ndarray  # today's (Today.marked): every citizen with an attempt is marked
    sanctioned_ever: np.ndarray  # [2, words]: bit arrays of EVER_SANCTIONED, _WRONGLY_
    under_sanction: np.ndarray  # a bit array: who is under some sanction today (phase 1 sets)
    history_ids: np.ndarray  # the history book (word_book): its citizens
    history_words: np.ndarray  # their words, bits of history_names (written in place)
    family_ids: np.ndarray  # the family book of the day (word_book): its citizens
    family_words: np.ndarray  # their family words, bits of family_names (phase 1 makes them)
    stand_ids: np.ndarray  # the standing book (word_book): the citizens under a sanction,
    stand_words: np.ndarray  # their sanction bits and STAND_WRONG (phase 1 makes them)
    adoption: np.ndarray  # today's adoption thresholds: [internet users, payment users]
    everyone: bool  # every citizen's standing worked out today, not the moved' alone
    newly: np.ndarray  # the adoption ranks scored today and not yesterday: [from, to)
    online: np.ndarray  # the internet users' threshold of rank yesterday and today


@njit(cache=True, nogil=True, inline="always")
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
def meet(acc_r, k, blocked, true_blocked, own_wrong, granted, history, status, cause, counter,
         ever, rewards):
    """One attempt of kind ``k``: counted; refused where ``blocked`` (sanction bits) is not 0,
    wrongfully where ``true_blocked`` is 0 (and blamed where the person's own sanction was
    wrong, ``own_wrong``), else favoured by each reward of ``granted``. Returns the history.

    It takes the catalog's arrays that it reads (``counter``, ``ever``, ``rewards``), not the
    catalog: a tuple of arrays passed to a call per attempt costs a reference count per
    array, twice (some 200 ns an attempt, most of the attempt's cost)."""
    c = counter[k]
    acc_r[c] += 1
    if blocked:
        acc_r[c + 1] += 1
        acc_r[c + 3] += not history & ever[k]
        history |= ever[k]
        if not true_blocked:
            acc_r[c + 2] += 1
            if own_wrong:
                blame(acc_r, status, cause)
                history |= EVER_WRONGLY_BLOCKED
        return history
    for r in range(rewards.shape[0]):
        if granted >> rewards[r, 0] & 1:
            acc_r[rewards[r, 1]] += 1
            history |= rewards[r, 2]
    return history


@njit(cache=True, nogil=True, inline="always")
def select(condition, a, b):
    """``a if condition else b`` for integers, without a branch."""
    keep = -np.int64(condition)
    return (a & keep) | (b & ~keep)


@njit(cache=True, nogil=True, inline="always")
def score_mask(score, cuts, steps):
    """The measures of ``score`` (see score_steps): the lowest score's, changed at each cut the
    score reaches; arithmetic, not branches or loads under a condition, which would stop
    vectorisation. The kernels take the cuts as a tuple (:func:`effective_steps`), whose length
    Numba compiles in, so that the loop is unrolled within the pass over citizens."""
    m = steps[0]
    for k in range(len(cuts)):
        m ^= steps[k + 1] & -np.int64(score >= cuts[k])
    return m


@njit(cache=True, nogil=True, inline="always")
def scheme_lists(on, list_mask):
    """The measures (sanction bits, reward bits from REWARDS_SHIFT) of the scheme's lists that
    the word ``on`` holds (bit l: list l, after the process lists in ``list_mask``)."""
    m = 0
    for l in range(list_mask.shape[0] - N_PROCESS_LISTS):
        m |= list_mask[N_PROCESS_LISTS + l] & -np.int64(on >> l & 1)
    return m


@njit(cache=True, nogil=True, inline="always")
def process_standing(s, score, true_score, scored, list_mask, cuts, steps):
    """(sanctions, sanctions of the citizen's true case, rewards) of the process lists, the
    grades and the score thresholds today; branch-free.

    s: registry status; a court listing counts once transport operators have it (SHARED).
    The true case has no stale listing and the true score. An unscored citizen meets no
    sanction or reward of a grade or a score.
    """
    court = list_mask[COURT_LIST]
    true_lists = (select((s & SHARED) != 0, court, 0)
                  | select((s & EXIT_BAN) != 0, list_mask[TAX_LIST], 0)
                  | select((s & MISCONDUCT) != 0, list_mask[MISCONDUCT_LIST], 0))
    lists = true_lists | select((s & STALE) != 0, court, 0)
    keep = -np.int64(scored)
    graded = score_mask(score, cuts, steps) & keep
    true_graded = score_mask(true_score, cuts, steps) & keep
    return (lists | (graded & SANCTIONS), true_lists | (true_graded & SANCTIONS),
            graded >> REWARDS_SHIFT)


@njit(cache=True, nogil=True, inline="always")
def standing(s, on, on_true, score, true_score, scored, list_mask, cuts, steps):
    """(sanctions, sanctions of the citizen's true case, rewards) today: the process lists' and
    the grades', and those of the scheme's lists the citizen is on (``on``: by the published
    evidence, ``on_true``: by the true one)."""
    sanc, true_sanc, rewards = process_standing(s, score, true_score, scored, list_mask, cuts,
                                                steps)
    mine, true_mine = scheme_lists(on, list_mask), scheme_lists(on_true, list_mask)
    return (sanc | (mine & SANCTIONS), true_sanc | (true_mine & SANCTIONS),
            rewards | (mine >> REWARDS_SHIFT))


@njit(cache=True, nogil=True, inline="always")
def family_words(sanc, wrong, rewards, cat, flags, family):
    """Citizens' standing as their relatives meet it (bits of family_names) into
    ``family``, a pass per measure borne by relatives so that each pass vectorises. A child
    meets its parent's, the household's head's: the bits of measures borne by children are
    kept for heads alone, so that the family book holds no row that nobody reads (half of its
    rows in china-2018 in 2019, which phase 2 went through every day)."""
    family[:] = 0
    for m in range(cat.kids.shape[0]):
        bit, in_force, wrongly = cat.kids[m, 0], cat.kids[m, 1], cat.kids[m, 2]
        for j in range(family.shape[0]):
            family[j] |= (sanc[j] >> bit & 1) * in_force | (wrong[j] >> bit & 1) * wrongly
    for m in range(cat.kid_rewards.shape[0]):
        bit, favoured = cat.kid_rewards[m, 0], cat.kid_rewards[m, 1]
        for j in range(family.shape[0]):
            family[j] |= (rewards[j] >> bit & 1) * favoured
    others = ~cat.kin_of_parent
    for j in range(family.shape[0]):
        family[j] &= others | -np.int64((flags[j] & HEAD) != 0)


@njit(cache=True, nogil=True, inline="always")
def family_word(sanc, wrong, rewards, cat, flags):
    """One citizen's :func:`family_words` (``flags``: its population flags)."""
    f = np.int64(0)
    for m in range(cat.kids.shape[0]):
        bit = cat.kids[m, 0]
        f |= (sanc >> bit & 1) * cat.kids[m, 1] | (wrong >> bit & 1) * cat.kids[m, 2]
    for m in range(cat.kid_rewards.shape[0]):
        f |= (rewards >> cat.kid_rewards[m, 0] & 1) * cat.kid_rewards[m, 1]
    return f & (~cat.kin_of_parent | -np.int64((flags & HEAD) != 0))


@njit(cache=True, nogil=True, inline="always")
def stand_word(sanc, wrong):
    """A citizen's word of the standing book: its sanction bits, and STAND_WRONG where some is
    in force wrongly (``wrong``: those bits)."""
    return sanc | STAND_WRONG * (wrong != 0)


@njit(cache=True, nogil=True, inline="always")
def sanction_bits(ever, i):
    """Citizen i's EVER_SANCTIONED and EVER_WRONGLY_SANCTIONED, from their bit arrays ``ever``
    (``Consequences.sanctioned_ever``)."""
    return EVER_SANCTIONED * is_marked(ever[0], i) | EVER_WRONGLY_SANCTIONED * is_marked(ever[1], i)


@njit(cache=True, nogil=True)
def history_into(ever, ids, words, lo, out):
    """The histories of citizens lo..lo+len(out)-1 into ``out``: their words in the history
    book (``ids``, ``words``) and the bits of ``ever``."""
    words_into(ids, words, lo, out)
    for k in range(out.shape[0]):
        out[k] |= sanction_bits(ever, lo + k)


@njit(cache=True, nogil=True, inline="always")
def note_sanctioned(i0, sanc, wrong, ever, under):
    """Citizens i0.. under a sanction today (``sanc`` not 0) in ``under``; set their bits in
    ``ever[0]``, and in ``ever[1]`` where ``wrong`` is not 0 (wrongly). The whole words in a
    loop of their own, 64 citizens a word with constant bounds, so that the packing vectorises
    (bounds worked out per word kept it scalar: 1.6 ns a citizen, against 0.3-0.4, in blocks
    of STAND_BLOCK as :func:`stand_block` makes them); the part words at the ends, which the
    chunk of another worker may share, by indivisible steps (:func:`note_part`)."""
    n = sanc.shape[0]
    head = min((WORD - i0 % WORD) % WORD, n)
    if head:
        note_part(i0, 0, head, sanc, wrong, ever, under)
    w0, full = (i0 + head) // WORD, (n - head) // WORD
    for k in range(full):
        j = head + k * WORD
        s, t = flags_word(sanc, j, WORD, 0), flags_word(wrong, j, WORD, 0)
        under[w0 + k] = s
        ever[0][w0 + k] |= s
        ever[1][w0 + k] |= t
    tail = n - head - full * WORD
    if tail:
        note_part(i0, n - tail, tail, sanc, wrong, ever, under)


@njit(cache=True, nogil=True, inline="always")
def note_one(i, sanc, wrong, ever, under):
    """:func:`note_sanctioned` for citizen i alone, by indivisible steps (a word may hold
    citizens of another worker's chunk)."""
    w, bit = i // WORD, np.uint64(1) << np.uint64(i % WORD)
    if sanc:
        atomic_or(under, w, bit)
        atomic_or(ever[0], w, bit)
    else:
        atomic_and(under, w, ~bit)
    if wrong:
        atomic_or(ever[1], w, bit)


@njit(cache=True, nogil=True, inline="always")
def note_part(i0, j, take, sanc, wrong, ever, under):
    """:func:`note_sanctioned` for citizens i0 + j.. of one word, ``take`` of them, by an
    indivisible and and or (an indivisible step on every word, where nearly every word has
    someone under a sanction, stalled each time its word was not in the cache)."""
    w, b0 = (i0 + j) // WORD, (i0 + j) % WORD
    s, t = flags_word(sanc, j, take, b0), flags_word(wrong, j, take, b0)
    atomic_and(under, w, ~(((np.uint64(1) << np.uint64(take)) - np.uint64(1)) << np.uint64(b0)))
    atomic_or(under, w, s)
    atomic_or(ever[0], w, s)
    atomic_or(ever[1], w, t)


@njit(cache=True, nogil=True, inline="always")
def stand_run(first, lo, hi, st, a, linked, cat, stocks, acc_r, scratch, books, added):
    """Every citizen of the run ``lo..hi`` of the chunk from citizen ``first``, a block of at
    most STAND_BLOCK at a time (``scratch``: four rows of a block, so that the day's scratch is
    a block's, not the chunk's: larger chunks take no more memory); the rows of the family and
    standing books into ``books`` (:func:`stand_block`)."""
    for b in range(lo, hi, STAND_BLOCK):
        stand_block(first, b, min(hi, b + STAND_BLOCK), st, a, linked, cat, stocks, acc_r,
                    scratch, books, added)


@njit(cache=True, nogil=True, inline="always")
def stand_block(first, lo, hi, st, a, linked, cat, stocks, acc_r, scratch, books, added):
    """Every citizen of ``lo..hi`` (of one run of the chunk from citizen ``first``): sanctions
    in force (stocks, who is under one, history); measures of grades and scores only where the
    region is ``linked`` (1: connected to the central database). In passes without branches
    over the block's own views (indexed from 0), one per scheme list and per measure counted,
    so that each vectorises whatever the catalog's size; the stocks of sanctions on a standing
    go to ``stocks``, their internet users found by the ranks of the first pass (each from
    :func:`adoption_order`'s sum, not a product). The family words (where relatives bear a
    measure) that are not 0 go to ``books[0]`` (citizens, words: the book's types) from row
    ``added[0]``, the standing words (sanction bits and STAND_WRONG) not 0 to ``books[1]`` from
    row ``added[1]``; ``added`` counts them."""
    age, adopt, status = st.age[lo:hi], st.adopt[lo:hi], a.status[lo:hi]
    score, gap, flags = st.score[lo:hi], st.gap[lo:hi], a.flags[lo:hi]
    scored, list_mask, cuts, steps = st.scored, st.list_mask, st.cuts, st.steps
    n, internet_thr = age.shape[0], a.adoption[0]
    sanc, true_sanc, rewards = scratch[0, :n], scratch[1, :n], scratch[2, :n]
    online, order = scratch[3, :n], adoption_order(first + lo)
    for j in range(n):
        rank = rank_in_order(adopt[j], order)
        order += ORDER_STEP
        online[j] = rank < internet_thr
        sanc[j], true_sanc[j], rewards[j] = process_standing(
            status[j], score[j], true_of(score[j], gap[j]),
            is_scored(age[j], rank, scored) & linked,
            list_mask, cuts, steps)
    on, on_true = st.on_lists[lo:hi], st.on_lists_true[lo:hi]
    for l in range(list_mask.shape[0] - N_PROCESS_LISTS):
        measures = list_mask[N_PROCESS_LISTS + l]
        for j in range(n):
            sanc[j] |= measures & SANCTIONS & -np.int64(on[j] >> l & 1)
            true_sanc[j] |= measures & SANCTIONS & -np.int64(on_true[j] >> l & 1)
            rewards[j] |= (measures >> REWARDS_SHIFT) & -np.int64(on[j] >> l & 1)
    wrong = true_sanc  # the same buffer, overwritten: the sanctions in force wrongly
    sanctioned = wrongly = 0
    for j in range(n):
        wrong[j] = sanc[j] & ~true_sanc[j]
        sanctioned += sanc[j] != 0
        wrongly += wrong[j] != 0
    note_sanctioned(first + lo, sanc, wrong, a.sanctioned_ever, a.under_sanction)
    for m in range(cat.standings.shape[0]):
        bit, manager, internet = cat.standings[m, 0], cat.standings[m, 1], cat.standings[m, 2]
        held = 0
        for j in range(n):
            holds = (np.int64((flags[j] & MANAGER) != 0) & manager) | (online[j] & internet)
            held += (sanc[j] >> bit & 1) & holds
        stocks[m] += held
    acc_r[C_SANCTIONED] += sanctioned
    acc_r[C_WRONGLY] += wrongly
    if cat.kin_of_parent | cat.kin_of_home | cat.kin_of_work:
        words = scratch[3, :n]  # online's row: the stocks have read it
        family_words(sanc, wrong, rewards, cat, flags, words)
        added[0] = rows_of_words(first + lo, words, books[0][0], books[0][1], added[0])
    stood = rewards  # the same buffer: the family words have read it
    for j in range(n):
        stood[j] = stand_word(sanc[j], wrong[j])
    added[1] = rows_of_words(first + lo, stood, books[1][0], books[1][1], added[1])


@njit(cache=True, nogil=True, inline="always")
def mark_ranks(first, adopt, ranks, moved):
    """``moved`` for the chunk's citizens (from citizen ``first``) whose adoption rank lies in
    ``ranks[0]..ranks[1]-1``: scored today and not yesterday, at whatever score they hold."""
    order = adoption_order(first)
    for j in range(adopt.shape[0]):
        rank = rank_in_order(adopt[j], order)
        order += ORDER_STEP
        moved[j] |= np.uint8((rank >= ranks[0]) & (rank < ranks[1]))


@njit(cache=True, nogil=True)
def moved_standings(first, runs, moved, st, a, cat, acc, family, stand, heads):
    """The standing of the chunk's citizens whose status, lists or score across a cut moved
    today (``a.todo[:moved]``, in order): who is under a sanction (and was ever), the region's
    sanctioned and wrongly sanctioned and the stocks of sanctions on a standing changed by the
    difference (:meth:`Consequences.end_day` adds them to yesterday's), their rows of the
    family and standing books written in place, or for those without one, where not 0, into
    ``family`` and ``stand`` (``[citizens, words]``); the households' heads whose word as
    their children meet it changed into ``heads`` (``[citizens, word before, word now]``:
    phase 2 visits their children). Returns the rows added to each."""
    todo, status, flags = a.todo, a.status, a.flags
    f_ids, f_words, s_ids, s_words = a.family_ids, a.family_words, a.stand_ids, a.stand_words
    kin = cat.kin_of_parent | cat.kin_of_home | cat.kin_of_work
    frow, srow = np.searchsorted(f_ids, first), np.searchsorted(s_ids, first)
    t, f_added, s_added, h_added = 0, 0, 0, 0
    for q in range(runs.shape[0] - 1):
        r = region_of(st.starts, first + runs[q])
        acc_r, linked = acc[r], np.int64(st.connected[r] != 0)
        while t < moved and todo[t] < runs[q + 1]:
            j, t = todo[t], t + 1
            i = first + j
            rank = adoption_rank(st.adopt[j], i)
            sanc, true_sanc, rewards = standing(
                status[j], st.on_lists[j], st.on_lists_true[j], st.score[j],
                true_of(st.score[j], st.gap[j]), is_scored(st.age[j], rank, st.scored) & linked,
                st.list_mask, st.cuts, st.steps)
            wrong = sanc & ~true_sanc
            srow = walk(s_ids, srow, i)
            was, now = word_at(s_ids, s_words, srow, i), stand_word(sanc, wrong)
            acc_r[C_SANCTIONED] += np.int64(sanc != 0) - np.int64((was & SANCTIONS) != 0)
            acc_r[C_WRONGLY] += np.int64(wrong != 0) - np.int64((was & STAND_WRONG) != 0)
            manager, online = np.int64((flags[j] & MANAGER) != 0), np.int64(rank < a.adoption[0])
            count_stock(now, manager, online, cat, acc_r, 1)
            count_stock(was, manager, online, cat, acc_r, -1)
            s_added = put(s_ids, s_words, srow, i, now, stand, s_added)
            note_one(i, sanc, wrong, a.sanctioned_ever, a.under_sanction)
            if kin:
                frow = walk(f_ids, frow, i)
                f = family_word(sanc, wrong, rewards, cat, flags[j])
                before = word_at(f_ids, f_words, frow, i)
                if (f ^ before) & cat.kin_of_parent:
                    heads[0, h_added], heads[1, h_added], heads[2, h_added] = i, before, f
                    h_added += 1
                f_added = put(f_ids, f_words, frow, i, f, family, f_added)
    return f_added, s_added, h_added


@njit(cache=True, nogil=True, inline="always")
def count_stock(word, manager, online, cat, acc_r, sign):
    """Add ``sign`` to the stock of each sanction on a standing that standing word ``word``
    holds and the citizen has (``manager``: a management role; ``online``: internet use)."""
    for m in range(cat.standings.shape[0]):
        holds = (manager & cat.standings[m, 1]) | (online & cat.standings[m, 2])
        acc_r[cat.standings[m, 3]] += sign * ((np.int64(word) >> cat.standings[m, 0] & 1) & holds)


@njit(cache=True, nogil=True)
def online_crossed(first, runs, st, a, cat, acc):
    """The stocks of sanctions on internet use changed by the citizens of the chunk in the
    standing book (yesterday's words: before :func:`moved_standings` writes today's) whose
    rank crossed the internet users' threshold since yesterday (``a.online``): they hold the
    standing, or lost it, by date, without an event of theirs. The stocks are running totals
    (:meth:`Consequences.end_day`), changed at events; where the threshold did not move or
    no sanction is on internet use, none cross, and a rank is worked out only for a row under
    one (counting every stock from every row each day took 0.3 ms of a late day at 1.41 M,
    one thread: consequences' kernel 0.69 ms with it, 0.59 without)."""
    before, now, on_use = a.online[0], a.online[1], cat.on_use
    if before == now or not on_use:
        return
    ids, words = a.stand_ids, a.stand_words
    row = np.searchsorted(ids, first)
    for q in range(runs.shape[0] - 1):
        end = first + runs[q + 1]
        acc_r = acc[region_of(st.starts, first + runs[q])]
        while row < ids.shape[0] and ids[row] < end:
            i, word = ids[row], np.int64(words[row])
            row += 1
            if not word & on_use:
                continue
            rank = adoption_rank(st.adopt[i - first], i)
            if (rank < before) != (rank < now):
                manager = np.int64((a.flags[i - first] & MANAGER) != 0)
                count_stock(word, manager, np.int64(rank < now), cat, acc_r, 1)
                count_stock(word, manager, np.int64(rank < before), cat, acc_r, -1)


@njit(cache=True, nogil=True)
def own_attempts(first, runs, marked, st, a, cat, acc, kin, new):
    """The attempts of the chunk's marked citizens (``a.todo[:marked]``, in order) that the
    measures they bear themselves refuse or favour, counted in their region (``runs``: the
    chunk's runs of one region); those that a measure borne by relatives meets (phase 2's) into
    ``kin``. What they meet goes to their rows of the history book, walked along, or for those
    without a row, into ``new`` as rows ``[citizens, words]``. Returns how many went to ``kin``
    and to ``new``.

    A call per chunk, not per run: its arguments cost a reference count per array, which a
    small population, whose chunk holds a run of every region, paid some 30 times a day. Its
    loop reads the arrays as its own: an inlined helper given arrays (or the catalog) per
    citizen cost a reference count per array, twice, in a loop with branches, where Numba
    cannot drop them (some 200 ns an attempt, five times its work).
    """
    acts, todo, age, adopt, status = a.acts, a.todo, st.age, st.adopt, a.status
    on, on_true, score, gap, scored = st.on_lists, st.on_lists_true, st.score, st.gap, st.scored
    list_mask, cuts, steps = st.list_mask, st.cuts, st.steps
    ids, words = a.history_ids, a.history_words
    kinds, blocks, grants, counter, ever, rewards = (cat.attempts, cat.blocks, cat.grants,
                                                     cat.counter, cat.ever, cat.rewards)
    own, own_adult, every = cat.own, cat.own_adult, cat.met
    r = region_of(st.starts, first)
    acc_r, linked, q, m = acc[r], np.int64(st.connected[r] != 0), 0, 0
    row, added = np.searchsorted(ids, first), 0
    for t in range(marked):
        j = todo[t]
        while j >= runs[q + 1]:
            q += 1
            r = region_of(st.starts, first + runs[q])
            acc_r, linked = acc[r], np.int64(st.connected[r] != 0)
        if not np.int64(acts[j]) & every:  # no attempt
            continue
        mine = select(not is_child(age[j]), own_adult, own)
        tried = np.int64(acts[j]) & mine
        if tried:
            s = status[j]
            sanc, true_sanc, granted = standing(
                s, on[j], on_true[j], score[j], true_of(score[j], gap[j]),
                is_scored(age[j], adoption_rank(adopt[j], first + j), scored) & linked,
                list_mask, cuts, steps)
            i = first + j
            while row < ids.shape[0] and ids[row] < i:
                row += 1
            held = row < ids.shape[0] and ids[row] == i
            cause, h = cause_of(gap[j]), np.int64(words[row]) if held else np.int64(0)
            for u in range(kinds.shape[0]):
                k = kinds[u]
                if tried >> k & 1:
                    b = blocks[k]
                    h = meet(acc_r, k, sanc & b, true_sanc & b, sanc & ~true_sanc & b,
                             granted & grants[k], h, s, cause, counter, ever, rewards)
            if held:
                words[row] = h
            elif h:
                new[0, added], new[1, added] = i, h
                added += 1
        kin[0, m], kin[1, m] = first + j, np.int64(acts[j]) & every & ~mine
        m += kin[1, m] != 0
    return m, added


@njit(cache=True, nogil=True)
def sanction_kernel(first, runs, st, a, cat, acc):
    """Phase 1: today's sanctions and rewards for one chunk's own attempts; returns, for phase
    2, the attempts that a measure borne by relatives meets, as ``[citizens, act bits]`` in
    order (phase 2 meets them where it reads relatives' standing, without drawing them again),
    the history of the citizens without a row in the book, as ``[citizens, words]``, the
    chunk's rows of today's family and standing books, each as (citizens, words) in the
    book's types: all of them where ``a.everyone``, else those it adds; and the households'
    heads whose word as their children meet it changed (:func:`moved_standings`; none where
    ``a.everyone``: phase 2 then visits every child counted).

    Where ``a.everyone``, per run of one region, every citizen's standing (vectorised), else
    the stocks of sanctions on internet use of those who crossed its threshold
    (:func:`online_crossed`) and the moved citizens' standing (:func:`moved_standings`);
    then, over the chunk, the attempts of the few with one (found among the marked,
    ``Today.marked``, and listed in ``a.todo``) but those that a measure borne by relatives
    meets (phase 2's): by a household or an employer, anyone's; by children, a child's
    (:func:`own_attempts`). Measures of grades and scores apply only where the region is
    connected, to citizens scored (``st.scored``: see :func:`codes.is_scored`).
    """
    n = a.acts.shape[0]
    f_type, fw_type = a.family_ids.dtype, a.family_words.dtype
    s_type, sw_type = a.stand_ids.dtype, a.stand_words.dtype
    if a.everyone:
        stocks = np.zeros(cat.standings.shape[0], np.int64)
        scratch = np.empty((4, min(n, STAND_BLOCK)), np.int64)
        kin_bits = cat.kin_of_parent | cat.kin_of_home | cat.kin_of_work
        size, added = n if kin_bits else 0, np.zeros(2, np.int64)
        books = ((np.empty(size, f_type), np.empty(size, fw_type)),
                 (np.empty(n, s_type), np.empty(n, sw_type)))
        for q in range(runs.shape[0] - 1):
            lo, hi = runs[q], runs[q + 1]
            r = region_of(st.starts, first + lo)
            acc_r = acc[r]
            stocks[:] = 0
            stand_run(first, lo, hi, st, a, np.int64(st.connected[r] != 0), cat, stocks,
                      acc_r, scratch, books, added)
            for s in range(stocks.shape[0]):
                acc_r[cat.standings[s, 3]] += stocks[s]
        family = (books[0][0][:added[0]].copy(), books[0][1][:added[0]].copy())
        stand = (books[1][0][:added[1]].copy(), books[1][1][:added[1]].copy())
        heads = np.zeros((3, 0), np.int64)
    else:
        if a.newly[1] > a.newly[0]:
            mark_ranks(first, st.adopt, a.newly, a.moved)
        moved = moved_into(a.moved, n, a.todo)
        fam_new, stand_new = np.empty((2, moved), np.int64), np.empty((2, moved), np.int64)
        heads = np.empty((3, moved), np.int64)
        online_crossed(first, runs, st, a, cat, acc)
        f_added, s_added, h_added = moved_standings(first, runs, moved, st, a, cat, acc,
                                                    fam_new, stand_new, heads)
        family = fam_new[0, :f_added].astype(f_type), fam_new[1, :f_added].astype(fw_type)
        stand = stand_new[0, :s_added].astype(s_type), stand_new[1, :s_added].astype(sw_type)
        heads = heads[:, :h_added].copy()
    marked = marked_into(a.marked, 0, n, a.todo)
    kin, new = np.empty((2, marked), np.int64), np.empty((2, marked), np.int64)
    m, added_history = own_attempts(first, runs, marked, st, a, cat, acc, kin, new)
    return kin[:, :m].copy(), new[:, :added_history].copy(), family, stand, heads


@njit(cache=True, nogil=True)
def standings(ids, st, case_ids, case_days):
    """(sanctions, sanctions of the true case, rewards) of citizens ``ids`` (in order) today,
    as the sanction kernel works them out (``st`` over the whole population, their statuses in
    the registry's case book ``case_ids``, ``case_days``, walked along: a search of the book
    per citizen waited on each load; for the cohort, after the day's consequences)."""
    n = ids.shape[0]
    sanc, true_sanc, rewards = (np.zeros(n, np.int64), np.zeros(n, np.int64),
                                np.zeros(n, np.int64))
    age, adopt, scored = st.age, st.adopt, st.scored
    counted = np.empty(n, np.int64)  # who is scored: first, without a branch, so that the
    for k in range(n):  # loads of the scattered ids overlap
        i = ids[k]
        counted[k] = is_scored(age[i], adoption_rank(adopt[i], i), scored)
    statuses, row = case_days[:, STATUS], 0
    for k in range(n):
        i = ids[k]
        row = walk(case_ids, row, i)
        sanc[k], true_sanc[k], rewards[k] = standing_at(
            i, word_at(case_ids, statuses, row, i), counted[k], st)
    return sanc, true_sanc, rewards


@njit(cache=True, nogil=True, inline="always")
def standing_at(i, status, counted, st):
    """(sanctions, sanctions of the true case, rewards) of citizen i today (:func:`standings`),
    of registry status ``status``, ``counted`` 1 where it is scored."""
    linked = np.int64(st.connected[region_of(st.starts, i)] != 0)
    score = st.score[i]
    return standing(status, st.on_lists[i], st.on_lists_true[i], score,
                    true_of(score, st.gap[i]), counted & linked, st.list_mask, st.cuts, st.steps)


@njit(cache=True, nogil=True, inline="always")
def from_family(f, cat, column):
    """Sanction bits (``column`` 1: in force; 2: wrongly so) of the measures borne by relatives
    in a family word."""
    out = 0
    for m in range(cat.kids.shape[0]):
        out |= np.int64((f & cat.kids[m, column]) != 0) << cat.kids[m, 0]
    return out


@njit(cache=True, nogil=True)
def colleague_word(c, ties, ids, words, of_work, mates):
    """The family bits ``of_work`` (measures borne by an employer) of the other workers of
    citizen c's workplace (none for a citizen not of working age), from the family book
    (``ids``, ``words``); ``mates``: a buffer of ``ties.work_slots``."""
    f = np.int64(0)
    for k in range(workplace_into(ties, c, mates)):
        f |= word_of(ids, words, mates[k]) & of_work
    return f


@njit(cache=True, nogil=True)
def kin_words(ids, age, flags, fam_ids, fam_words, of_parent, of_home, ties, of_work):
    """The family word that each citizen of ``ids`` (in order) meets for relatives: a parent's
    measures borne by children (the family bits ``of_parent``), those of the other members of
    the household (from its head to the next head) borne by a household (``of_home``), and
    those of the other workers of the workplace borne by an employer (``of_work``); from the
    family book (``fam_ids``, ``fam_words``), walked along."""
    out = np.empty(ids.shape[0], np.int64)
    mates = np.empty(ties.work_slots, np.int64)
    row = 0
    for k in range(ids.shape[0]):
        c = ids[k]
        child, f = is_child(age[c]), np.int64(0)
        if of_home or child:
            head = head_at_or_before(flags, c)  # a child's parent (population.parent_of)
            row = walk(fam_ids, row, head)  # the heads come in order, as the citizens do
            if child:
                f = word_at(fam_ids, fam_words, row, head) & of_parent
            end, r = c + 1, row
            while of_home and end < flags.shape[0] and not flags[end] & HEAD:
                end += 1
            while of_home and r < fam_ids.shape[0] and fam_ids[r] < end:
                if fam_ids[r] != c:
                    f |= np.int64(fam_words[r]) & of_home
                r += 1
        out[k] = f | (colleague_word(c, ties, fam_ids, fam_words, of_work, mates) if of_work
                      else 0)
    return out


@njit(cache=True, nogil=True, inline="always")
def kin_measures(f, cat):
    """What relatives' standing (a family word ``f``) brings to an attempt: the sanction bits
    in force, those rightly so, and the reward bits."""
    kid = from_family(f, cat, 1)
    kid_rewards = 0
    for m in range(cat.kid_rewards.shape[0]):
        kid_rewards |= np.int64((f & cat.kid_rewards[m, 1]) != 0) << cat.kid_rewards[m, 0]
    return kid, kid & ~from_family(f, cat, 2), kid_rewards


@njit(cache=True, nogil=True, inline="always")
def met_by(k, sanc, true_sanc, rewards, kin, cat):
    """What an attempt of kind ``k`` meets: the sanction bits that block it, those that would
    block it on the true evidence, and the reward bits that grant it, by the person's own
    measures and those relatives' standing brings (``kin``: :func:`kin_measures`)."""
    kid, kid_true, kid_rewards = kin
    b, kb = cat.blocks[k], cat.kid_blocks[k]
    return ((sanc & b) | (kid & kb), (true_sanc & b) | (kid_true & kb),
            (rewards & cat.grants[k]) | (kid_rewards & cat.kid_grants[k]))


@njit(cache=True, nogil=True, inline="always")
def kin_attempts(c, tried, f, h, st, book, cat, acc_r):
    """A citizen's attempts ``tried``, refused by their own sanctions or those their relatives'
    standing ``f`` brings, favoured likewise (``book``: the registry's case book, ids and
    rows); returns the citizen's history ``h`` with what they met. Inlined in its caller's
    loop: a call per citizen with such an attempt took some 1.2 us (the tuples' arrays counted
    in and out, arrays of one made for :func:`standings`)."""
    s = status_of(book[0], book[1], c)
    sanc, true_sanc, rewards = standing_at(
        c, s, is_scored(st.age[c], adoption_rank(st.adopt[c], c), st.scored), st)
    kin = kin_measures(f, cat)
    for t in range(cat.attempts.shape[0]):
        k = cat.attempts[t]
        if tried >> k & 1:
            blocked, true_blocked, granted = met_by(k, sanc, true_sanc, rewards, kin, cat)
            h = meet(acc_r, k, blocked, true_blocked, sanc & ~true_sanc & cat.blocks[k],
                     granted, h, s, cause_of(st.gap[c]), cat.counter, cat.ever, cat.rewards)
    return h


@njit(cache=True, nogil=True, inline="always")
def household_children(h, word, before, lo, hi, age, flags, visit, words, m):
    """The children of the household headed by ``h`` that are among lo..hi-1, into visit[m:],
    each with its parent's family word ``word`` and the word it met before into
    ``words[:, m:]``; returns the new m."""
    c = h + 1
    while c < flags.shape[0] and not flags[c] & HEAD:
        if lo <= c < hi and is_child(age[c]):
            visit[m], words[0, m], words[1, m] = c, word, before
            m += 1
        c += 1
    return m


@njit(cache=True, nogil=True)
def children_met(lo, hi, age, flags, fam_ids, fam_words, of_parent, counted):
    """The children among lo..hi-1 whose parent's standing brings them a measure counted over
    them (the family bits ``counted``), in order, and the family word of each (its bits
    ``of_parent``): found from the parents (households' heads) so flagged in the family book
    (``fam_ids``, ``fam_words``), from the head of the first household, which may be before
    lo. A child whose parent brings it a reward alone is met by phase 2 only where it tries
    something (:func:`parent_word`): in china-2018 the children of the top grade's parents,
    half of those a parent brings a measure in 2019."""
    first, last = rows_between(fam_ids, head_at_or_before(flags, lo), hi)
    most = (HOUSEHOLD_MAX - 1) * (last - first)  # children of each
    visit, words = np.empty(most, np.int64), np.empty((2, most), np.int64)
    k = 0
    for r in range(first, last):
        h, word = fam_ids[r], np.int64(fam_words[r]) & of_parent
        if word & counted and flags[h] & HEAD:
            k = household_children(h, word, 0, lo, hi, age, flags, visit, words, k)
    return visit[:k], words[:, :k]


@njit(cache=True, nogil=True)
def children_moved(lo, hi, age, flags, heads, of_parent, counted):
    """:func:`children_met` on a day of events: the children among lo..hi-1 of the heads whose
    word as their children meet it changed today (``heads``: ``[citizens, word before, word
    now]``, in order), where it brings or brought a measure counted over them; each with its
    parent's word now and before. The others are counted as they were yesterday."""
    first = np.searchsorted(heads[0], head_at_or_before(flags, lo))
    last = np.searchsorted(heads[0], hi)
    most = (HOUSEHOLD_MAX - 1) * (last - first)  # children of each
    visit, words = np.empty(most, np.int64), np.empty((2, most), np.int64)
    k = 0
    for r in range(first, last):
        now, before = heads[2, r] & of_parent, heads[1, r] & of_parent
        if (now | before) & counted:
            k = household_children(heads[0, r], now, before, lo, hi, age, flags, visit, words,
                                   k)
    return visit[:k], words[:, :k]


@njit(cache=True, nogil=True)
def parent_word(c, age, flags, fam_ids, fam_words, of_parent):
    """Citizen c's parent's family word as a child meets it (the bits ``of_parent``; 0 for an
    adult), found by a search of the family book."""
    parent = parent_of(age, flags, c)
    return 0 if parent < 0 else word_of(fam_ids, fam_words, parent) & of_parent


@njit(cache=True, nogil=True)
def family_span(lo, hi, age, flags, todo, tried, heads, ties, st, a, book, cat, acc):
    """Phase 2 on citizens lo..hi-1 (:func:`family_kernel`), a piece of at most ``todo``'s
    length at a time (``lo..hi`` may be several chunks: ``Engine.run_phase``'s spans), visiting
    everyone where a household bears a measure; else, where everyone's standing was worked out
    today, every child met (:func:`children_met`), and on a day of events the children of the
    ``heads`` whose word changed (:func:`children_moved`), the stocks of the others as
    yesterday's (:meth:`Consequences.end_day`). An employer's measure is met at an attempt, by
    its colleagues' words, from today's family book (``a.family_ids``, ``a.family_words``).
    ``tried``: the attempts of lo..hi-1 that phase 2 meets, in order; ``book``: the registry's
    case book (ids and rows), today's new cases filed. Returns the history of the citizens
    without a row in the history book, as ``[citizens, words]``."""
    p = added = 0
    new = np.empty((2, 64), np.int64)
    for first in range(lo, hi, todo.shape[0]):
        last = min(hi, first + todo.shape[0])
        q = p + np.searchsorted(tried[0, p:], last)
        if cat.kin_of_home:
            visit = np.arange(first, last)
            words = np.zeros((2, last - first), np.int64)
            words[0] = kin_words(visit, age, flags, a.family_ids, a.family_words,
                                 cat.kin_of_parent, cat.kin_of_home, ties, 0)
        elif a.everyone:
            visit, words = children_met(first, last, age, flags, a.family_ids, a.family_words,
                                        cat.kin_of_parent, cat.kin_counted)
        else:
            visit, words = children_moved(first, last, age, flags, heads, cat.kin_of_parent,
                                          cat.kin_counted)
        got = family_kernel(first, visit, words, tried[:, p:q], ties, st, a, book, cat, acc)
        if added + got.shape[1] > new.shape[1]:
            more = np.empty((2, 2 * (added + got.shape[1])), np.int64)
            more[:, :added] = new[:, :added]
            new = more
        new[:, added:added + got.shape[1]] = got
        added += got.shape[1]
        p = q
    return new[:, :added].copy()


@njit(cache=True, nogil=True)
def family_kernel(first, visit, words, tried, ties, st, a, book, cat, acc):
    """Phase 2: citizens meet their relatives' standing: the sanctions borne by children or a
    household are counted over the relatives under them, and the attempts that such a measure
    (or one borne by an employer) meets are met.

    The chunk's citizens in ``visit`` (in order) have their :func:`kin_words` in ``words[0]``
    and the word they met before in ``words[1]`` (0 where every stock is counted anew today):
    everyone where a household bears a measure, else the children whose parent's standing
    brings or brought one counted over them (:func:`children_met`, :func:`children_moved`);
    each counts in a stock by the difference. ``tried``: the chunk's attempts that
    phase 2 meets, ``[citizens, act bits]`` in order (:func:`sanction_kernel`'s); a citizen
    with one and not in ``visit`` has its parent's word (:func:`parent_word`). Only
    those with such a relative or such an attempt today count; the colleagues' word is read
    only for an attempt an employer's measure meets (few: a workplace takes a dozen tie
    draws). What they meet goes to their rows of the history book, walked along from the
    piece's ``first`` citizen; returns the history of those without a row, as ``[citizens,
    words]``.
    """
    ids, history = a.history_ids, a.history_words
    mates = np.empty(ties.work_slots, np.int64)
    new = np.empty((2, visit.shape[0] + tried.shape[1]), np.int64)
    t = p = added = 0  # the next of ``visit`` and of the attempts in ``tried``
    row = np.searchsorted(ids, first)
    end, acc_r = -1, acc[0]  # where the region of the citizen before ends; its counters
    while t < visit.shape[0] or p < tried.shape[1]:
        c = visit[t] if t < visit.shape[0] else tried[0, p]
        if p < tried.shape[1] and tried[0, p] < c:
            c = tried[0, p]
        f = before = bits = 0
        seen = t < visit.shape[0] and visit[t] == c
        if seen:
            f, before = words[0, t], words[1, t]
            t += 1
        if p < tried.shape[1] and tried[0, p] == c:
            bits = tried[1, p]
            p += 1
        if f == 0 and before == 0 and bits == 0:
            continue
        if not seen:  # met for an attempt: a stock as it was
            f = before = parent_word(c, st.age, a.flags, a.family_ids, a.family_words,
                                     cat.kin_of_parent)
        if c >= end:  # citizens come in order: a region's counters are found once
            r = region_of(st.starts, c)
            end, acc_r = st.starts[r + 1], acc[r]
        row = walk(ids, row, c)
        h = word_at(ids, history, row, c)
        for m in range(cat.kids.shape[0]):
            acc_r[cat.kids[m, 3]] += ((f & cat.kids[m, 1]) != 0) - ((before & cat.kids[m, 1]) != 0)
            if f & cat.kids[m, 1]:
                if not h & cat.kids[m, 5]:
                    h |= cat.kids[m, 5]
                    acc_r[cat.kids[m, 4]] += 1
                if f & cat.kids[m, 2]:
                    h |= cat.kids[m, 6]
        if bits & cat.work:
            f |= colleague_word(c, ties, a.family_ids, a.family_words, cat.kin_of_work, mates)
        if bits:
            h = kin_attempts(c, bits, f, h, st, book, cat, acc_r)
        added = put(ids, history, row, c, h, new, added)
    return new[:, :added]


@njit(cache=True, nogil=True)
def colleagues_kernel(bearers, family, ties, rows, ids, history, starts, acc):
    """At the day's end, the workers under each sanction an employer bears (``rows`` of
    Catalog.kids), found from the ``bearers`` (the citizens whose standing it follows, with
    their ``family`` words): each counted once as a stock and, the first time, as a person, in
    the region's counters ``acc``; their history notes it, and whether a colleague's sanction
    was wrongful: in their rows of the history book (``ids``, ``history``); returns the
    history of those without a row, as ``[citizens, words]``."""
    mates = np.empty(ties.work_slots, np.int64)
    n_rows = rows.shape[0]
    keys = np.empty(bearers.shape[0] * ties.work_slots * n_rows, np.int64)
    n = 0
    for b in range(bearers.shape[0]):  # (colleague, row, wrongly) as one sortable key
        s, f = bearers[b], np.int64(family[b])
        m = workplace_into(ties, s, mates)
        for r in range(n_rows):
            if f & rows[r, 1]:
                wrongly = np.int64((f & rows[r, 2]) != 0)
                for k in range(m):
                    keys[n] = (mates[k] * n_rows + r) * 2 + wrongly
                    n += 1
    keys = np.sort(keys[:n])
    new = np.empty((2, n), np.int64)
    q = row = added = 0
    while q < n:  # a colleague's keys, in order
        c = (keys[q] >> 1) // n_rows
        row, region, last = walk(ids, row, c), region_of(starts, c), -1
        h = word_at(ids, history, row, c)
        while q < n and (keys[q] >> 1) // n_rows == c:
            pair = keys[q] >> 1
            r = pair % n_rows
            if pair != last:
                last = pair
                acc[region, rows[r, 3]] += 1
                if not h & rows[r, 5]:
                    h |= rows[r, 5]
                    acc[region, rows[r, 4]] += 1
            if keys[q] & 1:
                h |= rows[r, 6]
            q += 1
        added = put(ids, history, row, c, h, new, added)
    return new[:, :added].copy()


class InForce(NamedTuple):
    """The measures in force on a date (a measure's bit: its place among the scenario's
    sanctions or rewards)."""

    lists: np.ndarray  # per list, the process lists then the scheme's: sanction bits (a red
    #                    list's: reward bits from REWARDS_SHIFT)
    grades: np.ndarray  # per grade, its sanction bits
    rewards: np.ndarray  # per grade, its reward bits
    thresholds: np.ndarray  # per score threshold: [cut, measures below it, measures from it]


def active_masks(sc: Scenario, grade_names: list[str], date: dt.date) -> InForce:
    """The measures of ``sc`` in force on ``date``, by what puts them in force."""
    names = [*LISTS, *sc.lists]
    lists = np.zeros(len(names), np.int64)
    grades = np.zeros(len(grade_names), np.int64)
    rewards = np.zeros(len(grade_names), np.int64)
    thresholds = []
    for bit, s in enumerate(sc.sanctions):
        if s.in_force(date):
            for name in s.lists:
                lists[names.index(name)] |= 1 << bit
            for name in s.grades:
                grades[grade_names.index(name)] |= 1 << bit
            if s.score_below is not None:
                thresholds.append((s.score_below, 1 << bit, 0))
    for bit, w in enumerate(sc.rewards):
        if w.in_force(date):
            for name in w.lists:
                lists[names.index(name)] |= 1 << REWARDS_SHIFT + bit
            for name in w.grades:
                rewards[grade_names.index(name)] |= 1 << bit
            if w.score_above is not None:
                thresholds.append((w.score_above + 1, 0, 1 << REWARDS_SHIFT + bit))
    return InForce(lists, grades, rewards, np.array(thresholds, np.int64).reshape(-1, 3))


def score_steps(grade_of: np.ndarray, lo: int, masks: InForce
                ) -> tuple[np.ndarray, np.ndarray]:
    """The scores where the measures of grades and score thresholds change (padded to
    N_SCORE_CUTS past the top score), and the measures (sanction bits low, reward bits from
    REWARDS_SHIFT) of the lowest score, then how they change at each cut (see score_mask).

    ``grade_of``: the grade of each score from ``lo`` (scoring's)."""
    cuts_of_thresholds = masks.thresholds[:, 0]
    starts = np.unique(np.concatenate(([lo], lo + run_starts(grade_of), cuts_of_thresholds)))
    assert len(starts) <= N_SCORE_CUTS + 1, "more cuts than the scenario's checks allow"
    measures = (masks.grades | masks.rewards << REWARDS_SHIFT)[grade_of[starts - lo]]
    for c, b, a in masks.thresholds:
        measures |= np.where(starts < c, b, a)
    cuts = np.full(N_SCORE_CUTS, lo + len(grade_of), np.int64)
    cuts[:len(starts) - 1] = starts[1:]
    steps = np.zeros(N_SCORE_CUTS + 1, np.int64)
    steps[0], steps[1:len(starts)] = measures[0], measures[1:] ^ measures[:-1]
    return cuts, steps


@dataclass
class Consequences(Stage):
    """What each citizen meets today; who has met each sanction and reward at least once."""

    NAME = "consequences"
    OWNS = ("sanctioned_ever", "under_sanction", "history_ids", "history_words", "family_ids",
            "family_words", "stand_ids", "stand_words", "list_mask", "score_cuts",
            "score_steps")
    READS = ("age", "flags", "adopt", "acts", "marked", "status", "case_ids",
             "case_days", "on_lists", "on_lists_true", "connected", "score", "score_gap",
             "scored", "grade_of", "grade_names", "adoption", "bad_company_term")
    WRITES = ("moved",)  # the newly scored, on a day the scored group grows
    STEPS = ("step", "family_step")
    EVENTS: ClassVar[bool] = True  # False: everyone's standing every day (tests compare)

    view: View
    sanctioned_ever: np.ndarray  # [2, words]: who was ever under a sanction, and wrongly
    under_sanction: np.ndarray  # words of bits: who is under some sanction today (fear reads)
    cat: Catalog
    ties: Ties  # the tie model: a workplace is an employer
    history_ids: np.ndarray  # the history book (world.word_book): its citizens, in order,
    history_words: np.ndarray  # and their other bits of world.layout.history_names
    family_ids: np.ndarray  # the family book of the day (world.word_book): its citizens,
    family_words: np.ndarray  # and their standing as relatives meet it (layout.family_names)
    stand_ids: np.ndarray  # the standing book: the citizens under a sanction, in order,
    stand_words: np.ndarray  # and their sanction bits and STAND_WRONG (uint64)
    under_totals: np.ndarray  # [region, 2]: the sanctioned and wrongly sanctioned today
    kid_totals: np.ndarray  # [region, measure borne by children]: the children under it today
    stand_totals: np.ndarray  # [region, sanction on a standing]: its holders under it today
    sc: Scenario | None = None
    kin: dict[int, np.ndarray] = field(default_factory=dict)  # by piece: sanction_kernel's
    heads: dict[int, np.ndarray] = field(default_factory=dict)  # by piece: the heads moved
    new_history: dict[int, np.ndarray] = field(default_factory=dict)  # by piece: new rows
    new_family: dict[int, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict)  # by piece: today's rows, citizens and words
    new_stand: dict[int, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict)  # by piece: the standing book's, likewise
    everyone_today: bool = True  # every citizen's standing worked out today (sanction_kernel)
    newly: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))  # ranks scored
    #                                                     today and not yesterday: [from, to)
    online: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))  # the internet
    #                                           users' threshold of rank yesterday and today
    seen: tuple | None = None  # yesterday's scored group and regions connected
    list_mask: np.ndarray | None = None  # sanctions per list, today
    effective: tuple | None = None  # today's score_steps as the kernels take them
    in_force: tuple[bool, ...] | None = None  # which sanctions, then rewards, are in force

    counters = staticmethod(counters)

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Consequences:
        words = -(-view.size // WORD)
        (history_ids, history_words), (family_ids, family_words) = (
            empty(bits_dtype(len(names(sc)))) for names in (history_names, family_names))
        stand_ids, stand_words = empty(np.uint64)
        cat, regions = catalog(sc), len(view.regions.codes)
        stage = cls(
            view=view,
            sanctioned_ever=view.own("sanctioned_ever", np.zeros((2, words), np.uint64)),
            under_sanction=view.own("under_sanction", np.zeros(words, np.uint64)),
            cat=cat,
            ties=view.ties.model(),
            history_ids=history_ids, history_words=history_words, family_ids=family_ids,
            family_words=family_words, stand_ids=stand_ids, stand_words=stand_words,
            under_totals=np.zeros((regions, 2), np.int64),
            kid_totals=np.zeros((regions, cat.kid_stocks.shape[0]), np.int64),
            stand_totals=np.zeros((regions, cat.standings.shape[0]), np.int64))
        stage.publish_books()
        return stage

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Today's measures per list and per score (published), worked out again only where
        the scenario's values or the measures in force changed since yesterday; whether
        everyone's standing is worked out today (:meth:`for_everyone`)."""
        changed, self.sc, self.values = sc is not self.sc, sc, None
        in_force = tuple(m.in_force(date) for m in (*sc.sanctions, *sc.rewards))
        changed |= in_force != self.in_force
        if changed:
            self.measures_in_force(date, in_force)
        self.everyone_today = self.for_everyone() or changed

    def measures_in_force(self, date: dt.date, in_force: tuple[bool, ...]) -> None:
        """Today's measures per list and per score, published."""
        sc, self.in_force = self.sc, in_force
        masks = active_masks(sc, self.view.grade_names.tolist(), date)
        self.list_mask = masks.lists
        cuts, steps = score_steps(self.view.grade_of, sc.scoring.min, masks)
        self.effective = effective_steps(cuts, steps)
        self.view.publish("list_mask", self.list_mask)
        self.view.publish("score_cuts", cuts)
        self.view.publish("score_steps", steps)

    def for_everyone(self) -> bool:
        """Whether what every citizen's standing is worked out from may have moved since
        yesterday without the stages marking whom (``Today.moved``): on the first day, where
        the regions connected or the scored group changed, or the ties term was read (it moves
        every score); then everyone's is worked out, else the moved citizens' alone. A group
        that grows alone (adoption) is no such change: the ranks it gained (``newly``) are
        visited as moved."""
        v = self.view
        seen, self.seen = self.seen, (v.scored.copy(), v.connected.copy())
        self.newly = np.zeros(2, np.int64)
        self.online = np.array([self.online[1], v.adoption[0]], np.int64)
        if v.bad_company_term.size > 0 or not self.EVENTS or seen is None:
            return True
        (scored, connected), (scored_now, connected_now) = seen, self.seen
        if scored_now[1] == scored[1] and scored_now[0] > scored[0]:
            self.newly = np.array([scored[0], scored_now[0]], np.int64)
        return not (np.array_equal(connected, connected_now)
                    and scored_now[1] == scored[1] and scored_now[0] >= scored[0])

    def chunk_arrays(self, lo: int, hi: int, today: Today, n: int | None = None) -> tuple:
        """Standing's and SanctionArrays' arrays of citizens lo..hi for the run (Today.kept),
        with the first ``n`` (all: hi - lo) of today's buffers."""
        v, n = self.view, hi - lo if n is None else n
        return ((v.starts, v.age[lo:hi], v.adopt[lo:hi], v.on_lists[lo:hi],
                 v.on_lists_true[lo:hi], v.score[lo:hi], v.score_gap[lo:hi]),
                (v.flags[lo:hi], today.acts[:n], today.status[:n], today.moved[:n],
                 today.todo[:n], today.marked[words_of(n)]))

    def everyone(self, lo: int, hi: int, today: Today) -> tuple:
        """:meth:`chunk_arrays` of every citizen, without today's buffers (phase 2)."""
        return self.chunk_arrays(lo, hi, today, 0)

    def gather_day(self) -> tuple:
        """Standing's and SanctionArrays' day values: the scored group, the regions connected,
        the measures in force; who is under a sanction, the history, the family and the
        standing (their books change between the phases: :meth:`end_phase` gathers them
        anew), the adoption thresholds, whether everyone's standing is worked out today."""
        v = self.view
        return ((v.scored, v.connected, self.list_mask, *self.effective),
                (self.sanctioned_ever, self.under_sanction, self.history_ids, self.history_words,
                 self.family_ids, self.family_words, self.stand_ids, self.stand_words,
                 v.adoption, self.everyone_today, self.newly, self.online))

    def arguments(self, arrays: tuple) -> tuple[Standing, SanctionArrays]:
        """Standing and SanctionArrays from :meth:`chunk_arrays` and today's values."""
        (st, a), (st_today, a_today) = arrays, self.day_values()
        return Standing(*st, *st_today), SanctionArrays(*a, *a_today)

    def keep_kin(self, lo: int, kept: tuple) -> None:
        """The chunk's citizens whose relatives phase 2 visits; the history of those of its
        citizens who have no row in the book yet; its rows of today's family and standing
        books; its heads whose word as their children meet it changed."""
        self.kin[lo], self.new_family[lo], self.new_stand[lo] = kept[0], kept[2], kept[3]
        if kept[4].shape[1]:
            self.heads[lo] = kept[4]
        self.keep_history(lo, kept[1])

    def keep_history(self, lo: int, new: np.ndarray) -> None:
        """Rows for the history book (``[citizens, words]``) from the citizens from lo on."""
        if new.shape[1]:
            self.new_history[lo] = new

    @kernel_step(sanction_kernel, keep=keep_kin, pieces=(
        FIRST, RUNS, Fields(Standing, dict.fromkeys(
            ("age", "adopt", "on_lists", "on_lists_true", "score", "gap"), CITIZENS)),
        Fields(SanctionArrays, {
            "flags": CITIZENS, "acts": BUFFER, "status": BUFFER, "moved": BUFFER,
            "todo": BUFFER, "marked": WORDS}),
        SAME, SAME))
    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        return (lo, self.view.runs(lo, hi), *self.arguments(today.kept(lo, hi, self.chunk_arrays)),
                self.cat, acc)

    def family_cost(self) -> float:
        """Phase 2's work a citizen as a share of phase 1's, as the engine weighs workers
        (``kernel_step``'s ``cost``): a pass over everyone where a household bears a measure;
        else the children met, so light that a second worker pays only from
        some 2 M citizens (china-2018 in 2018, 1 and 2 threads: 0.31 and 0.45 ms a day at 1.41
        M, 1.58 and 1.06 at 14.1 M), 32 times ``engine.THREAD_CITIZENS``."""
        return 1.0 if self.cat.kin_of_home else 1 / 32

    @kernel_step(family_span, keep=keep_history, spans=True, cost=family_cost)
    def family_step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        v = self.view
        standing, everyone = self.arguments(today.kept(0, v.size, self.everyone))
        return (lo, hi, v.age, v.flags, today.todo, self.tried_in(lo, hi), self.moved_heads(),
                self.ties, standing, everyone, (v.case_ids, v.case_days), self.cat, acc)

    def moved_heads(self) -> np.ndarray:
        """Phase 1's heads whose word as their children meet it changed (:meth:`keep_kin`), in
        order, as ``[citizens, word before, word now]``: each worker of phase 2 finds those
        of its citizens' households."""
        parts = [self.heads[first] for first in sorted(self.heads)]
        return np.concatenate(parts, axis=1) if parts else np.zeros((3, 0), np.int64)

    def tried_in(self, lo: int, hi: int) -> np.ndarray:
        """Phase 1's attempts for phase 2 (:meth:`keep_kin`) of citizens lo..hi-1, in order:
        phase 1's workers claim pieces that end anywhere (``Engine._share``), so a piece may
        lie across two workers' runs of phase 2. ``kin`` is only read here, by each worker at
        once, and emptied at the day's end. Only a piece across lo or hi is searched (a search
        costs a few microseconds of Python: 0.07-0.08 ms a day at 1.41 M against 0.03)."""
        parts = []
        for first in sorted(self.kin):
            rows = self.kin[first]
            if not rows.shape[1] or rows[0, -1] < lo or rows[0, 0] >= hi:
                continue
            if rows[0, 0] < lo or rows[0, -1] >= hi:
                rows = rows[:, np.searchsorted(rows[0], lo):np.searchsorted(rows[0], hi)]
            parts.append(rows)
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), np.int64)

    def end_phase(self, phase: int) -> None:
        """After the standings (phase 1), file their new rows of history in the book and
        today's family and standing books, for phase 2 to read. Phase 2's rows of history
        wait for the day's end, which files them with those of the colleagues: nothing reads
        the book in between, and a filing moves most of the book's rows (a late day at 1.41
        M: some 0.1 ms a day of the calling thread, while the other worker is idle)."""
        if phase == 0:
            self.file_history()
            self.file_standing()

    def end_day(self, counts: np.ndarray) -> None:
        """The sanctioned and wrongly sanctioned today, the holders of a standing under a
        sanction on it, and the children under each measure borne by children: yesterday's
        changed by the moved citizens', the crossings' and children's, unless everyone's
        standing was worked out (or every household's members visited). The
        workers under a sanction their employer bears (colleagues_kernel): counted once the
        day's standings are all known, a workplace spanning chunks (phase 2's rows of history
        filed first, as they read the book); their history filed with phase 2's (and what a
        step called alone, without :meth:`end_phase`, left)."""
        cat = self.cat
        self.kin.clear()
        self.heads.clear()
        self.file_standing()
        keep_totals(self.under_totals, counts, UNDER_COLUMNS, self.everyone_today)
        keep_totals(self.kid_totals, counts, cat.kid_stocks,
                    self.everyone_today or bool(cat.kin_of_home))
        keep_totals(self.stand_totals, counts, cat.standings[:, 3], self.everyone_today)
        if cat.at_work.shape[0]:
            pick = (self.family_words & cat.kin_of_work) != 0
            self.file_history()
            self.keep_history(0, colleagues_kernel(
                self.family_ids[pick], self.family_words[pick], self.ties,
                cat.kids[cat.at_work], self.history_ids, self.history_words, self.view.starts,
                counts))
        self.file_history()

    def file_standing(self) -> None:
        """Today's family and standing books from the rows that the standings of each piece
        made where they have run since the last filing (:meth:`file_book`)."""
        for book in ("family", "stand"):
            self.file_book(book, getattr(self, f"new_{book}"))

    def file_book(self, book: str, new: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """The family or standing book (``book``) from ``new``, rows by piece in the book's
        types. Where everyone's standing was worked out, the rows are the whole book: they
        are concatenated (pairs of eight bytes held 27 bytes a row more while filed: 1.4 bytes
        a citizen at the end of the six years), the book before them let go first (held beside
        it, 0.27 byte a citizen); else they are the moved citizens' without a row, merged in
        place, the rows whose word went to 0 dropped. The day values gathered anew."""
        if not new:
            return
        pieces = [new.pop(lo) for lo in sorted(new)]
        ids, words = getattr(self, f"{book}_ids"), getattr(self, f"{book}_words")
        if self.everyone_today:
            self.set_book(book, *empty(words.dtype))  # yesterday's let go before today's
            ids = np.concatenate([i for i, _ in pieces])
            words = np.concatenate([w for _, w in pieces])
        else:
            kept = keep_set(ids, words)
            ids, words = file_words(ids[:kept], words[:kept], pieces, self.view.size)
        self.set_book(book, ids, words)

    def set_book(self, book: str, ids: np.ndarray, words: np.ndarray) -> None:
        """The family or standing book's arrays, published."""
        setattr(self, f"{book}_ids", ids)
        setattr(self, f"{book}_words", words)
        self.publish_books()

    def family(self) -> np.ndarray:
        """Every citizen's family word (bits of ``layout.family_names``) today: an array of n
        made from the book (for tests and tools)."""
        out = np.zeros(self.view.size, self.family_words.dtype)
        out[self.family_ids] = self.family_words
        return out

    def sanctioned(self) -> np.ndarray:
        """Whether each citizen is under some sanction today (bools, for tests and tools)."""
        out = np.empty(self.view.size, np.uint8)
        unpack_bits(self.under_sanction, 0, out)
        return out.astype(bool)

    def file_history(self) -> None:
        """The rows kept since the last filing into the history book, in the order of
        citizens, merged into its arrays where they have room (``word_book.file_words``: a
        copy held the book twice while it was made, 0.38 byte a citizen at the end of the six
        years); the day values gathered anew, as the views they held now show other rows."""
        if self.new_history:
            new = [self.new_history.pop(lo) for lo in sorted(self.new_history)]
            self.history_ids, self.history_words = file_words(
                self.history_ids, self.history_words,
                [(rows[0], rows[1].astype(self.history_words.dtype)) for rows in new],
                self.view.size)
            self.publish_books()

    def publish_books(self) -> None:
        """The history book and today's family and standing books, their ids and words each;
        the day values gathered anew."""
        for name in ("history_ids", "history_words", "family_ids", "family_words", "stand_ids",
                     "stand_words"):
            self.view.publish(name, getattr(self, name))
        self.values = None

    def history(self) -> np.ndarray:
        """Every citizen's history, bits of ``layout.history_names``: an array of n made from
        the bit arrays and the book (for tests and tools)."""
        out = np.empty(self.view.size, self.history_words.dtype)
        history_into(self.sanctioned_ever, self.history_ids, self.history_words, 0, out)
        return out
