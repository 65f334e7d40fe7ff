"""Where a scenario's catalog sits in the words the stages pass: a bit per act kind, per channel
that makes false records, per sanction and reward, per attempt met.

A citizen's day is one 64-bit word (``codes``): posting at bit 0, the scenario's act kinds from
bit 1 in the order it declares them, then the fixed bits of ``codes`` (the post's content type,
paying, the records of processes) and a bit per channel that makes false records. The layout is
the scenario's, fixed for the run (the catalog's names do not change by date; their rates do).
Eligibility (who may do an act) is compiled here too, per trait value, to masks of act bits:
behaviour draws with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.catalog import (
    BORNE_FOR,
    MAX_ACTS,
    MAX_FALSE_CHANNELS,
    POSTING,
    false_channels,
)
from ..language.scenario import Group, Scenario
from ..language.schedule import Schedule
from .codes import FALSE_SHIFT, GAP_SHIFT, RECORD_KINDS_EXTRA, bit_positions
from .population import (
    AGE_BANDS,
    CHILD,
    DISPOSITION_STREAM,
    INCOME_SHIFT,
    MANAGER,
    URBAN,
    band,
    decile,
)
from .rng import EXP_QUANTILES, bits53, exponential, stream_key, threshold

GROUPS: tuple[str, ...] = Group.__args__  # type: ignore[attr-defined]
N_AGE_BANDS, N_DECILES = len(AGE_BANDS), 10
# Which fixed trait scales an act's rate (its propensity), and the streams they are drawn on
# (the last, dissent, scales the share of posts against the line).
PROPENSITIES = ("offence", "debt", "civic", "travel", "none")
OFFENCE, DEBT, CIVIC, TRAVEL, NONE = range(len(PROPENSITIES))
TRAIT_STREAMS = ("trait.offence", "trait.debt", "trait.civic", "trait.travel", DISPOSITION_STREAM)
DISSENT = TRAIT_STREAMS.index(DISPOSITION_STREAM)  # the stream of the disposition against the line
URBAN_TRAVEL, RURAL_TRAVEL = 1.3, 0.5  # assumption: town dwellers travel more (mean about 1)
N_DRAWN = NONE  # the propensities drawn per citizen: all but none
# A citizen's screen class: each drawn propensity's level, LEVEL_BITS bits each (a byte in
# all). The rare acts' screen bounds a citizen's chances by the caps of its levels, not by
# the largest propensity of all (7.6 times the mean; 18 for travel): at these levels, split
# at the propensity's 50th, 80th and 95th percentiles, a cap is 1.6-1.8 times the mean value
# on average, and china-2018's screen names 2.0% of citizens a day instead of 9.1%.
LEVEL_BITS = 2
LEVELS = 1 << LEVEL_BITS
LEVEL_QUANTILES = (0.5, 0.8, 0.95)
N_CLASSES = 1 << (LEVEL_BITS * N_DRAWN)


@dataclass(frozen=True)
class Layout:
    """The bits of a scenario's catalog: acts (posting first), channels that make false records,
    sanctions and rewards, each in the order the scenario declares them."""

    kinds: tuple[str, ...]  # bit k of the acts word: posting, then the scenario's acts
    false_channels: tuple[str, ...]  # record bit codes.FALSE_SHIFT + f
    sanctions: tuple[str, ...]  # bit s of a standing's sanctions
    rewards: tuple[str, ...]  # bit r of a standing's rewards

    @classmethod
    def of(cls, sc: Scenario) -> Layout:
        assert len(sc.acts) <= MAX_ACTS and len(false_channels(sc)) <= MAX_FALSE_CHANNELS
        return cls((POSTING, *sc.acts), tuple(false_channels(sc)),
                   tuple(s.name for s in sc.sanctions), tuple(r.name for r in sc.rewards))

    def bit(self, kind: str) -> int:
        """The act bit (a power of two) of an act kind."""
        return 1 << self.kinds.index(kind)

    def acts_where(self, sc: Scenario, **fields: str) -> int:
        """The act bits of the scenario's acts whose fields have these values (nature, opens)."""
        return sum(self.bit(name) for name, act in sc.acts.items()
                   if all(getattr(act, f) == v for f, v in fields.items()))

    def attempts(self, sc: Scenario) -> list[str]:
        return [name for name, act in sc.acts.items() if act.nature == "attempt"]


class Eligibility(NamedTuple):
    """Per trait value, the act bits open to it: a citizen may do an act where every table
    holds its bit (a group's bit where the citizen is in the group)."""

    group: np.ndarray  # [len(GROUPS)]: the acts of each named group
    age: np.ndarray  # [age band]
    area: np.ndarray  # [0 country, 1 town]
    income: np.ndarray  # [decile 0..9]
    internet: int  # acts open only to internet users
    payment: int  # acts open only to payment-app users
    manager: int  # acts open only to managers


def eligibility(sc: Scenario, layout: Layout) -> Eligibility:
    """The masks of who may do each act; posting is internet users' (``[speech]``)."""
    group = np.zeros(len(GROUPS), np.int64)
    age = np.zeros(len(AGE_BANDS), np.int64)
    area, income = np.zeros(2, np.int64), np.zeros(N_DECILES, np.int64)
    internet = payment = manager = 0
    for kind in layout.kinds:
        bit = layout.bit(kind)
        who = sc.acts[kind].who if kind in sc.acts else "internet_users"
        named = isinstance(who, str)
        group[GROUPS.index(who if named else who.group)] |= bit
        bands = AGE_BANDS if named else who.age
        age[[AGE_BANDS.index(b) for b in bands]] |= bit
        town = "any" if named else who.area
        area[[0, 1] if town == "any" else [int(town == "urban")]] |= bit
        low, high = (1, 10) if named else who.income
        income[low - 1:high] |= bit
        uses, roles = ((), ()) if named else (who.uses, who.roles)
        internet |= bit * ("internet" in uses)
        payment |= bit * ("payment" in uses)
        manager |= bit * ("manager" in roles)
    return Eligibility(group, age, area, income, internet, payment, manager)


@njit(cache=True, nogil=True, inline="always")
def pick(table, value, n):
    """``table[value]`` for ``value`` in 0..n-1 (a constant), as a sum of selects: a load at a
    per-citizen index would stop the loop over citizens from vectorising."""
    out = np.int64(0)
    for v in range(n):
        out |= table[v] & -np.int64(value == v)
    return out


@njit(cache=True, nogil=True, inline="always")
def eligible(age, flags, online, paying, who):
    """The act bits a citizen may do today, without a branch or a load at a per-citizen index
    (for a pass over everyone that vectorises); ``online`` and ``paying`` are 1 for an internet
    or payment-app user, else 0; ``age``, the citizen's byte of ``Population.age``."""
    traits = (pick(who.age, band(age), N_AGE_BANDS)
              & pick(who.area, np.int64((flags & URBAN) != 0), 2)
              & pick(who.income, decile(flags), N_DECILES))
    return admitted(age, flags, online, paying, who, traits)


@njit(cache=True, nogil=True, inline="always")
def eligible_one(age, flags, online, paying, who):
    """:func:`eligible` of one citizen visited alone: a load from each table by its index, where
    the selects of :func:`pick` took a seventh of behaviour's visit (68 ns against 58 a visit,
    china-2018, 1.41 M citizens)."""
    traits = (who.age[band(age)] & who.area[np.int64((flags & URBAN) != 0)]
              & who.income[decile(flags)])
    return admitted(age, flags, online, paying, who, traits)


@njit(cache=True, nogil=True, inline="always")
def admitted(age, flags, online, paying, who, traits):
    """:func:`eligible` given ``traits``, the acts that the citizen's age band, area and income
    admit."""
    adult = np.int64(band(age) != CHILD)
    g = who.group
    mask = (g[0] | (g[1] & -adult) | (g[2] & -(1 - adult)) | (g[3] & -online)
            | (g[4] & -paying)) & traits
    manager = np.int64((flags & MANAGER) != 0)
    mask &= ~(who.internet & ~(-online)) & ~(who.payment & ~(-paying))
    return mask & ~(who.manager & ~(-manager))


def record_bits(sc: Scenario, kind: str) -> np.ndarray:
    """Bit positions of a record kind: an act's own bit and the false records that channels
    make of it, or a process's record bits."""
    if kind in RECORD_KINDS_EXTRA:
        return np.concatenate([bit_positions(b) for b in RECORD_KINDS_EXTRA[kind]])
    layout = Layout.of(sc)
    false = [FALSE_SHIFT + f for f, c in enumerate(layout.false_channels)
             if sc.channels[c].false_as == kind]
    return np.array([layout.kinds.index(kind), *false], np.int64)


def blocked_attempts(sc: Scenario) -> list[str]:
    """The attempts that some sanction blocks, in the scenario's order."""
    blocked = {a for s in sc.sanctions for a in s.blocks}
    return [a for a in sc.acts if a in blocked and sc.acts[a].nature == "attempt"]


def borne_by(sc: Scenario, bearer: str) -> tuple[list[str], list[str]]:
    """The sanctions and the rewards that ``bearer`` (children, household, employer) bears for
    a relative or a worker, by name."""
    return ([s.name for s in sc.sanctions if s.bears == bearer],
            [r.name for r in sc.rewards if r.bears == bearer])


def borne_by_kin(sc: Scenario) -> tuple[list[str], list[str]]:
    """The sanctions and the rewards borne by someone else than the person: children, a
    household or an employer (their bearers are called relatives below, colleagues too)."""
    return ([s.name for s in sc.sanctions if s.bears != "person"],
            [r.name for r in sc.rewards if r.bears != "person"])


# what a relative under a sanction that children, a household or an employer bear is, in
# history_names
KIN_HISTORY = {bearer: (who, f"{who}_wrongly") for bearer, (who, _) in BORNE_FOR.items()}


def history_names(sc: Scenario) -> list[str]:
    """What a citizen has met at least once, a bit each of a history in this order (the first
    two in consequences' bit arrays ``sanctioned_ever``, the others in its history book):
    sanctioned, wrongly sanctioned, wrongly blocked at an attempt of their own; blocked at each
    attempt that a sanction blocks; granted each reward; under each sanction borne by children,
    a household or an employer for a relative's or colleague's standing, and under it wrongly
    (their sanction was)."""
    return ["sanctioned", "wrongly_sanctioned", "wrongly_blocked",
            *(f"{a}_blocked" for a in blocked_attempts(sc)),
            *(f"{r.name}_granted" for r in sc.rewards),
            *(f"{s.name}_{w}" for s in sc.sanctions if s.bears != "person"
              for w in KIN_HISTORY[s.bears])]


def family_names(sc: Scenario) -> list[str]:
    """A citizen's standing as their children, household or employer meet it, a bit each of a
    family word in this order: under each sanction borne by someone else (borne_by_kin),
    wrongly so, in force of each reward borne by someone else."""
    kin, favours = borne_by_kin(sc)
    return [*kin, *(f"{s}_wrongly" for s in kin), *favours]


def term_dtype(sc: Scenario) -> type:
    """A byte for the ties term where its weight, on every date, is at most 127 points either
    way (a term is the weight times a share of 1 at most, rounded); two bytes otherwise."""
    spec = sc.scoring.bad_company
    weight = 0 if spec is None else spec.weight
    values = [q.value for q in weight.points] if isinstance(weight, Schedule) else [weight]
    return np.int8 if max(abs(v) for v in values) <= np.iinfo(np.int8).max else np.int16


def gap_dtype(sc: Scenario) -> type:
    """Two bytes for scoring's ``score_gap`` (codes.gap_of) where the widest gap between the
    true and the published score, the score's span, fits beside the wrong causes; four
    otherwise."""
    span = (sc.scoring.max - sc.scoring.min) << GAP_SHIFT
    return np.int16 if span <= np.iinfo(np.int16).max else np.int32


def bits_dtype(n: int) -> type:
    """The smallest unsigned integer type with ``n`` bits."""
    return next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                if n <= np.iinfo(t).bits)


@njit(cache=True, nogil=True)
def travel_factor(flags):
    """How much more than average a citizen travels: by income decile and town or country
    (both in its byte of ``flags``)."""
    return ((np.float64(decile(flags)) + 1.0) / 5.5
            * (URBAN_TRAVEL if flags & URBAN else RURAL_TRAVEL))


@njit(cache=True, nogil=True, inline="always")
def trait(t, key, i, flags):
    """Citizen i's fixed multiplier of the rates of acts scaled by trait ``t`` (``key``: its
    stream, of ``Draws.trait_keys``). Scalars only: an inlined helper that takes an array costs
    reference counts per call where it branches."""
    if t == NONE:
        return 1.0
    e = exponential(key, i, 0)
    return e * travel_factor(flags) if t == TRAVEL else e


@njit(cache=True, nogil=True, inline="always")
def act_chance(rate, t, key, i, flags, fear):
    """An act's exact chance today: its rate x the citizen's propensity (trait ``t``, on its
    stream ``key``) x fear's multiplier (1.0 for an attempt, or with fear off)."""
    return rate * trait(t, key, i, flags) * fear


@njit(cache=True, nogil=True, inline="always")
def chilled(r8, chilling):
    """Posting's multiplier under fear at perceived risk ``r8`` in 255ths (as fear stores it),
    ``1 - chilling r`` (fear's model): behaviour computes it per poster, as a table looked up
    per citizen would stop its pass over everyone from vectorising."""
    return 1.0 - chilling * (r8 / 255.0)


# A kind whose bound exceeds this is drawn on its own stream for every citizen every day (posting
# always); the others share one screening draw (``first_candidate``), as few candidates are.
COMMON_BOUND = 1.0 / 16.0
UNSCREENED = 1 << 30  # the rank of a kind drawn on its own: after every screened position


class Draws(NamedTuple):
    """What an act's draw is made of: behaviour draws every act with it."""

    rates: np.ndarray  # per act kind, today's rate (posting's: its [speech] rate)
    trait_of: np.ndarray  # per act kind, the index of its propensity
    keys: np.ndarray  # per act kind, its stream (act.<kind>)
    trait_keys: np.ndarray
    who: Eligibility
    bounds: np.ndarray  # per act kind, a draw threshold no citizen's exact one exceeds
    class_bounds: np.ndarray  # [screen class, act kind]: the same for a class's citizens
    rank: np.ndarray  # per act kind, its position in the screen, or UNSCREENED
    cuts: np.ndarray  # [screen class, position m]: the threshold of "a candidate among 0..m"
    screen_key: np.uint64  # the screen's stream (act.screen)
    unscreened: int  # the act bits of the kinds drawn on their own streams (posting's first)


def act_bounds(rates: np.ndarray, trait_of: np.ndarray) -> np.ndarray:
    """Per kind, a draw threshold that no citizen's exact one exceeds (its rate times the
    largest value of its propensity): exact for kinds without a propensity."""
    top = level_caps()[:, -1]
    return np.array([threshold(rate * (1.0 if t == NONE else top[t]))
                     for rate, t in zip(rates, trait_of)], np.int64)


@cache
def level_caps() -> np.ndarray:
    """Per drawn propensity, the largest value at each of its LEVELS levels: its distribution's
    LEVEL_QUANTILES, then its largest value, so that every citizen has a level. A travel
    propensity's distribution is over the income deciles and both areas, equally weighted
    (any caps keep the draws exact; these make the screen's bounds small on average)."""
    values = EXP_QUANTILES
    factors = np.array([travel_factor(d << INCOME_SHIFT | f) for d in range(N_DECILES)
                        for f in (0, URBAN)])
    caps = np.empty((N_DRAWN, LEVELS))
    for t in range(N_DRAWN):
        if t == TRAVEL:
            values = (EXP_QUANTILES[:, None] * factors[None, :]).ravel()
        caps[t, :-1] = np.quantile(values, LEVEL_QUANTILES)
        caps[t, -1] = values.max()
    caps.flags.writeable = False
    return caps


@njit(cache=True, nogil=True, inline="always")
def level_of(c, t):
    """The level of drawn propensity ``t`` in screen class ``c``."""
    return c >> (LEVEL_BITS * t) & (LEVELS - 1)


@njit(cache=True, nogil=True)
def screen_classes(trait_keys: np.ndarray, caps: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Each citizen's screen class: per drawn propensity, the first level whose cap (``caps``,
    :func:`level_caps`) holds the citizen's value, LEVEL_BITS bits each."""
    out = np.empty(flags.shape[0], np.uint8)
    for i in range(flags.shape[0]):
        c = 0
        for t in range(N_DRAWN):
            v = trait(t, trait_keys[t], i, flags[i])
            level = 0
            for m in range(LEVELS - 1):
                level += v > caps[t, m]
            c |= level << (LEVEL_BITS * t)
        out[i] = c
    return out


def class_bounds(rates: np.ndarray, trait_of: np.ndarray, bounds: np.ndarray,
                 rank: np.ndarray) -> np.ndarray:
    """[class, kind]: a screened kind's bound for the citizens of a screen class (its rate
    times its propensity's cap at the class's level); an unscreened kind's, ``bounds``."""
    caps, out = level_caps(), np.tile(bounds, (N_CLASSES, 1))
    for k in np.flatnonzero((rank != UNSCREENED) & (trait_of != NONE)):
        t = trait_of[k]
        for c in range(N_CLASSES):
            out[c, k] = threshold(rates[k] * caps[t, level_of(c, t)])
    return out


# A level's part of the screen's bound in a field of a word (screen_parts): four in 60 bits.
FIELD_BITS = 15
FIELD_MASK = (1 << FIELD_BITS) - 1


@njit(cache=True, nogil=True, inline="always")
def screen_bound(c, parts):
    """A threshold at least the screen's last cut for screen class ``c`` (the sum of its kinds'
    bounds, ``parts``: :func:`screen_parts`), by arithmetic, which vectorises where a load
    from a table per citizen would not: a level's part taken out of its propensity's word by a
    shift, where picking it among four by selects took a quarter of behaviour's pass over
    everyone (0.8 of 3.1 ns a citizen, china-2018)."""
    out = parts[N_DRAWN, 0]
    for t in range(N_DRAWN):
        field = (parts[t, 0] >> (level_of(c, t) * FIELD_BITS)) & FIELD_MASK
        out += field << parts[t, 1]
    return out


def screen_parts(class_bounds: np.ndarray, trait_of: np.ndarray, rank: np.ndarray,
                 cuts: np.ndarray) -> np.ndarray:
    """[drawn propensity + 1, 2]: per propensity, the screened kinds' bounds summed per level,
    each rounded up to a multiple of 2**scale that fits FIELD_BITS bits, as the fields of one
    word, and the scale; the last row, the bounds of those without a propensity (and a margin
    for rounding). So :func:`screen_bound` of a class is at least its screen's last cut, and
    looser by less than a unit of each propensity's scale (0.03% at most in china-2018): a few
    more candidates, which settling finds to be none."""
    sums = np.zeros((N_DRAWN + 1, LEVELS), np.int64)  # row NONE (== N_DRAWN): no propensity
    for k in np.flatnonzero(rank != UNSCREENED):
        t = trait_of[k]
        for level in range(LEVELS):
            sums[t, level] += class_bounds[level << (LEVEL_BITS * t) if t != NONE else 0, k]
    parts = np.zeros((N_DRAWN + 1, 2), np.int64)
    for t in range(N_DRAWN):
        scale = max(0, int(sums[t].max()).bit_length() - FIELD_BITS)
        fields = [-(-int(x) // (1 << scale)) for x in sums[t]]  # rounded up
        parts[t] = sum(f << (FIELD_BITS * level) for level, f in enumerate(fields)), scale
    parts[N_DRAWN, 0] = sums[N_DRAWN, 0]
    if cuts.shape[1]:
        short = max(cuts[c, -1] - screen_bound(c, parts) for c in range(N_CLASSES))
        parts[N_DRAWN, 0] += max(0, short)
    return parts


def screen(bounds: np.ndarray) -> np.ndarray:
    """Ranks of the screen: the kinds after posting whose bound is at most COMMON_BOUND, the
    smallest bound first (so that few kinds follow the first candidate, and few draws are made
    after it)."""
    probs = bounds / float(1 << 53)
    kinds = sorted((k for k in range(1, len(bounds)) if probs[k] <= COMMON_BOUND),
                   key=lambda k: (bounds[k], k))
    rank = np.full(len(bounds), UNSCREENED, np.int64)
    rank[kinds] = np.arange(len(kinds))
    return rank


def screen_cuts(bounds: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The screen's cuts for bounds per kind ``bounds``, in the order of ``rank``
    (:func:`screen`): cut m is the threshold of the chance that one of the screen's kinds 0..m
    is a candidate, 1 - prod(1 - bound_j), so that a single draw below it says that one is, and
    which is the first."""
    kinds = np.argsort(rank, kind="stable")[:int((rank != UNSCREENED).sum())]
    none_yet = np.cumprod(1.0 - bounds[kinds] / float(1 << 53))
    return np.array([threshold(1.0 - q) for q in none_yet], np.int64)


def draws(sc: Scenario, seed: int) -> Draws:
    """The draws of the scenario's acts, posting's with its [speech] rate."""
    layout = Layout.of(sc)
    rates = np.array([sc.speech.rate if sc.speech is not None else 0.0,
                      *(sc.acts[k].rate for k in layout.kinds[1:])])
    trait_of = np.array(
        [NONE, *(PROPENSITIES.index(sc.acts[k].propensity) for k in layout.kinds[1:])], np.int64)
    bounds = act_bounds(rates, trait_of)
    rank = screen(bounds)
    by_class = class_bounds(rates, trait_of, bounds, rank)
    return Draws(rates, trait_of,
                 np.array([stream_key(seed, f"act.{k}") for k in layout.kinds], np.uint64),
                 trait_keys(seed), eligibility(sc, layout), bounds, by_class, rank,
                 np.array([screen_cuts(b, rank) for b in by_class], np.int64),
                 stream_key(seed, "act.screen"),
                 int(sum(1 << int(k) for k in np.flatnonzero(rank == UNSCREENED))))


def trait_keys(seed: int) -> np.ndarray:
    """The streams of the propensities (TRAIT_STREAMS) under ``seed``."""
    return np.array([stream_key(seed, s) for s in TRAIT_STREAMS], np.uint64)


@njit(cache=True, nogil=True, inline="always")
def first_candidate(i, day, screen_key, cuts, c):
    """The screen position of citizen i's first screened candidate today (``cuts``:
    ``Draws.cuts``; ``c``: the citizen's screen class), the screen's length when there is none:
    one draw stands for a draw per screened kind."""
    u = bits53(screen_key, i, day)
    m = 0
    for position in range(cuts.shape[1]):
        m += np.int64(u >= cuts[c, position])
    return m


@njit(cache=True, nogil=True, inline="always")
def act_done(u, p, rank, lead, bound):
    """Whether an act of exact chance ``p`` today is done, ``u`` its kind's draw, ``lead`` the
    citizen's :func:`first_candidate`.

    A screened kind before the first candidate is not one; the first is one, and is done with
    chance p / bound on its own draw; a kind after it (and an unscreened kind) is a candidate
    and done as its own draw says, u < bound and u < p (p <= bound). So every kind is done with
    chance p, independently of the others, and the same for every citizen it draws for.
    """
    if rank < lead:
        return False
    if rank == lead:
        return u < threshold(p * 9007199254740992.0 / bound)
    return u < threshold(p)
