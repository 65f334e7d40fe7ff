"""Each stage of the day on its own: the rules its module docstring states, on small populations
or on citizens whose records and status are set by hand.

A stage is built alone (:func:`alone`) with the arrays it reads from other stages given. Its step
adds to its own columns of the counters (``own(acc, stage)``); they are read as
``acc[:, INDEX[name]]`` summed over regions (a stage adds to the citizen's own region).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from panopticon.language import scenario
from panopticon.observers.ranking import rank, scored_counts
from panopticon.runner.simulation import Simulation, phases
from panopticon.stages import behaviour, counters
from panopticon.stages.behaviour import (
    AGAINST_SCREEN_BITS,
    Behaviour,
    against_bound,
    against_post,
    allowed_today,
    candidates,
    post_screen,
    rare_citizens,
    to_pay,
)
from panopticon.stages.behaviour import params as behaviour_params
from panopticon.stages.company import NO_TERM
from panopticon.stages.consequences import active_masks, score_steps
from panopticon.stages.fear import tables as fear_tables
from panopticon.stages.registry import (
    EVER_EXIT_BAN,
    EVER_LISTED,
    EVER_MISCONDUCT,
    NEVER,
    Registry,
)
from panopticon.stages.scoring import Scoring, grade_table
from panopticon.stages.sensing import (
    Sensing,
    camera_density,
    lawful_flag_rate,
)
from panopticon.world import codes, layout
from panopticon.world.case_book import COLUMNS, DUE, EVER, STATUS, file_rows, statuses_into
from panopticon.world.codes import (
    CAUSE_FALSE_FLAG,
    CAUSE_FALSE_MATCH,
    CAUSES,
    CONTENT_TYPES,
    EXIT_BAN,
    FALSE_SHIFT,
    FLAG_FALSE,
    FLAG_TRUE,
    IN_DEFAULT,
    JUDGED,
    JUDGMENT_UNPAID,
    LISTED,
    MISCONDUCT,
    ONLINE_POST,
    PAY_DEBT,
    PAY_TAX,
    POST_AGAINST,
    POST_TYPE,
    POST_TYPE_SHIFT,
    SHARED,
    STALE,
    TAX_CASE,
    TAX_LISTED,
)
from panopticon.world.engine import Engine
from panopticon.world.layout import (
    COMMON_BOUND,
    DISSENT,
    LEVEL_BITS,
    LEVEL_QUANTILES,
    LEVELS,
    N_AGE_BANDS,
    N_CLASSES,
    N_DECILES,
    N_DRAWN,
    OFFENCE,
    TRAVEL,
    UNSCREENED,
    Layout,
    draws,
    gap_dtype,
    level_caps,
    screen,
    screen_bound,
    screen_classes,
    screen_cuts,
    screen_parts,
    trait,
    trait_keys,
)
from panopticon.world.population import (
    ADOPT_LEVELS,
    ADOPT_STORED,
    AGE_BITS,
    CHILD,
    DISPOSITION_CUTS,
    INCOME_SHIFT,
    MANAGER,
    N_DISPOSITION,
    URBAN,
    Population,
    adoption_ranks,
    adoption_threshold,
    build,
)
from panopticon.world.posts import (
    KEPT_BOUND,
    POST_BITS,
    PostDraw,
    field_cap,
    field_threshold,
    kept_chance,
    lawful_post,
    under_cap,
)
from panopticon.world.rng import EXP_QUANTILES, counter, exponential, exponential_bin
from panopticon.world.state import State
from panopticon.world.today import Today
from panopticon.world.word_book import ID

SEED = 1
N_REGIONS = 31
DATE = dt.date(2018, 6, 30)  # after every sanction and reward has started
ALWAYS_CONNECTED = [{"date": dt.date(2014, 1, 1), "value": 1.0}]


def preset(**changes) -> scenario.Scenario:
    return scenario.load("china-2018").with_changes(**changes)


# china-2018's catalog: where its acts, sanctions and rewards sit, and its counters (every
# scenario here keeps its catalog)
CHINA = preset()
LAYOUT = Layout.of(CHINA)
ACT_KINDS = LAYOUT.kinds
ACT_BIT = {k: LAYOUT.bit(k) for k in ACT_KINDS}
SANCTION_BIT = {s.name: 1 << b for b, s in enumerate(CHINA.sanctions)}
REWARD_BIT = {r.name: 1 << b for b, r in enumerate(CHINA.rewards)}
PLANE, TRAIN, SCHOOL, JOB, CREDIT = (SANCTION_BIT[k] for k in (
    "plane_ban", "train_ban", "school_ban", "job_ban", "credit_denied"))
FALSE_MATCH = 1 << FALSE_SHIFT  # a false record of china-2018's cameras, its one such channel
COUNTERS = counters(CHINA)
INDEX = COUNTERS.index
N_COUNTERS = len(COUNTERS.names)


def new_acc() -> np.ndarray:
    return np.zeros((N_REGIONS, N_COUNTERS), np.int64)


def today_with(n: int, **buffers: np.ndarray) -> Today:
    """Today's buffers for ``n`` citizens, with the given ones filled in and every citizen
    marked (Today.marked: the stages before would mark at least those with something)."""
    today = Today.of(n)
    for name, values in buffers.items():
        getattr(today, name)[:] = values
    today.marked[:] = ~np.uint64(0)
    return today


def book_of(status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A case book (``world.case_book``) holding ``status``: a row per citizen with one."""
    ids = np.flatnonzero(status).astype(np.int64)
    rows = np.zeros((ids.shape[0], COLUMNS), np.int16)
    rows[:, STATUS] = status[ids]
    return ids, rows


def own(acc: np.ndarray, stage) -> np.ndarray:
    """A stage's columns of the run's counters, as the simulation hands them to its step."""
    return acc[:, COUNTERS.spans[stage.NAME]]


def alone(cls, sc: scenario.Scenario, pop: Population, **given: np.ndarray):
    """Stage ``cls`` built by itself on ``pop``; the arrays it reads from other stages are
    ``given``, published by a stand-in owner (a stage needs arrays, never another stage)."""
    state = State(pop, SEED)
    stand_in = state.view(type("Given", (), {"NAME": "given", "OWNS": tuple(given), "READS": ()}))
    for name, array in given.items():
        stand_in.publish(name, array)
    return cls.build(sc, SEED, state.view(cls))


def measures_given(sc: scenario.Scenario) -> dict[str, np.ndarray]:
    """Consequences' published scores where the measures in force on DATE change, for a stage
    built alone that reads them (scoring marks the scores that cross them)."""
    grade_of, names = grade_table(sc)
    cuts, steps = score_steps(grade_of, sc.scoring.min, active_masks(sc, names, DATE))
    return {"score_cuts": cuts, "score_steps": steps}


def step(stage, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
    """The stage's step as the simulation calls it: its counters, its version of today."""
    stage.step(lo, hi, own(acc, stage), stage.view.today(today))


def count(acc: np.ndarray, name: str) -> int:
    return int(acc[:, INDEX[name]].sum())


def binomial_tol(n: float, p: float) -> float:
    return 5 * math.sqrt(n * p * (1 - p)) + 1


# --------------------------------------------------------------------------------------------
# behaviour
# --------------------------------------------------------------------------------------------

BIG_RATES = {
    "jaywalking": 0.1, "red_light": 0.1, "late_bill": 0.1, "bad_spending": 0.1,
    "debt_default": 0.05, "tax_arrears": 0.05, "good_deed": 0.1, "onboard_misconduct": 0.05,
}
POST_RATE = 0.5  # china-2018's [speech.content] rates add up to this
N_BEHAVIOUR = 50_000


@pytest.fixture(scope="module")
def busy() -> tuple[scenario.Scenario, Population]:
    """A scenario whose acts are frequent enough to count, and its population."""
    sc = preset(**{"population.size": N_BEHAVIOUR},
                **{f"acts.{k}.rate": r for k, r in BIG_RATES.items()})
    return sc, build(sc.population, SEED)


def act_day(sc, pop, status=None, day=3, date=DATE):
    """One day of behaviour for everyone, fearless (risk 0): (acts, counters, behaviour)."""
    case_ids, case_days = book_of(np.zeros(pop.size, np.uint8) if status is None else status)
    deterrence, chilling, chilling_against = fear_tables(None)
    beh = alone(Behaviour, sc, pop, case_ids=case_ids, case_days=case_days,
                risk=np.zeros(pop.size, np.uint8),
                deterrence=deterrence, chilling=chilling, chilling_against=chilling_against,
                deterred=np.array([k in sc.acts and sc.acts[k].nature == "offence"
                                   for k in ACT_KINDS], np.int64))
    beh.start_day(day, date, sc)
    acc, today = new_acc(), Today.of(pop.size)
    step(beh, 0, pop.size, acc, today)
    beh.end_day(own(acc, beh))
    return today.acts.copy(), acc, beh


@pytest.fixture(scope="module")
def busy_day(busy):
    sc, pop = busy
    return act_day(sc, pop)


def eligible(sc, pop, beh, kind) -> np.ndarray:
    online = pop.rank < beh.adoption[0]
    paying = pop.rank < beh.adoption[1]
    return {"everyone": np.ones(pop.size, bool), "adults": pop.band != CHILD,
            "children": pop.band == CHILD, "internet_users": online, "payment_users": paying}[
        "internet_users" if kind == "online_post" else sc.acts[kind].who]


@pytest.mark.parametrize("kind", sorted([*BIG_RATES, "online_post"]))
def test_act_count_is_rate_times_eligible_citizens(busy, busy_day, kind):
    sc, pop = busy
    acts, acc, beh = busy_day
    m = int(eligible(sc, pop, beh, kind).sum())
    rate = BIG_RATES.get(kind, POST_RATE)
    assert sc.speech.rate == pytest.approx(POST_RATE)
    done = count(acc, f"acts_{kind}")
    if kind != "online_post":  # the acts word holds only the posts against the line
        assert done == int(np.count_nonzero(acts & ACT_BIT[kind]))
    # Propensities have mean 1, so each eligible citizen acts with chance `rate` unconditionally.
    assert abs(done - rate * m) < binomial_tol(m, rate)


def test_screened_acts_come_at_their_rates_and_independently():
    """One screening draw stands for a draw per rare act: each must still come at its own
    rate, and two together at the product of their rates (kinds without a propensity, open to
    everyone, so that the rate is each citizen's chance)."""
    rates = {"trip_abroad": 0.03, "job_application": 0.02, "credit_application": 0.01,
             "school_application": 0.005}
    sc = preset(**{"population.size": 400_000}, **{f"acts.{k}.rate": r for k, r in rates.items()},
                **{f"acts.{k}.who": "everyone" for k in rates})
    pop = build(sc.population, SEED)
    assert (draws(sc, SEED).rank[[ACT_KINDS.index(k) for k in rates]] != UNSCREENED).all()
    done = np.concatenate([[(act_day(sc, pop, day=day)[0] & ACT_BIT[k]) != 0 for k in rates]
                           for day in range(3, 8)], axis=1)
    total = done.shape[1]
    p = np.array(list(rates.values()))
    for a in range(len(p)):
        assert abs(done[a].sum() - p[a] * total) < binomial_tol(total, p[a])
        for b in range(a + 1, len(p)):
            both = p[a] * p[b]
            assert abs((done[a] & done[b]).sum() - both * total) < binomial_tol(total, both)


@given(bounds=st.lists(st.integers(0, 1 << 53), min_size=1, max_size=41))
@settings(max_examples=200, deadline=None)
def test_the_screen_holds_the_rare_kinds_in_order_of_their_bounds(bounds):
    all_bounds = np.array([0, *bounds], np.int64)
    rank = screen(all_bounds)
    cuts = screen_cuts(all_bounds, rank)
    rare = [k for k, b in enumerate(bounds, 1) if b / (1 << 53) <= COMMON_BOUND]
    assert sorted(rank[rare]) == list(range(len(rare))) and len(cuts) == len(rare)
    assert (rank[[0, *(k for k in range(1, len(bounds) + 1) if k not in rare)]]
            == UNSCREENED).all()
    assert (np.diff(cuts) >= 0).all()
    by_rank = sorted(rare, key=lambda k: rank[k])
    assert [bounds[k - 1] for k in by_rank] == sorted(bounds[k - 1] for k in rare)


@given(n=st.integers(0, 300), lo=st.integers(0, 300), hi=st.integers(0, 300),
       seed=st.integers(0, 2**32 - 1), share=st.floats(0, 1))
@settings(max_examples=200, deadline=None)
def test_the_rare_citizens_are_those_with_a_rare_candidate_or_a_case_in_order(n, lo, hi, seed,
                                                                              share):
    """Settling visits these alone: a post (of any content type) or a status that is no case
    (a listing shared) does not list a citizen; a case in the case book whose citizen pays
    today does (:func:`to_pay`: here every one pays, then none); any run of the chunk lists its
    own."""
    lo, hi = min(lo, n), min(max(lo, hi), n)
    rng = np.random.default_rng(seed)
    rare = rng.random(n) < share
    posts = rng.integers(0, 4, n).astype(np.uint64) << np.uint64(codes.POST_TYPE_SHIFT)
    acts = np.where(rng.random(n) < 0.5, posts | np.uint64(1 << ONLINE_POST), 0).astype(np.uint64)
    candidate = rare & (rng.random(n) < 0.5)
    acts[candidate] |= np.uint64(1 << 1)  # a screened kind's
    status = np.where(rare & ~candidate, codes.IN_DEFAULT, 0).astype(np.uint8)
    status |= np.where(rng.random(n) < 0.3, codes.SHARED, 0).astype(np.uint8)  # not a case
    todo = np.full(n + 1, -1, np.int32)
    unpaid = acts.copy()
    to_pay(0, 0, *book_of(status), unpaid, np.zeros(3), 0.0, np.uint64(1), np.uint64(2))
    m = rare_citizens(lo, hi, unpaid, todo)
    assert todo[:m].tolist() == [j for j in range(lo, hi) if candidate[j]]
    to_pay(0, 0, *book_of(status), acts, np.ones(3), 1.0, np.uint64(1), np.uint64(2))
    m = rare_citizens(lo, hi, acts, todo)
    assert todo[:m].tolist() == [j for j in range(lo, hi) if rare[j]]


@njit
def propensities(t, key, flags):
    """Every citizen's value of propensity ``t`` (``layout.trait``)."""
    out = np.empty(flags.shape[0])
    for i in range(flags.shape[0]):
        out[i] = trait(t, key, i, flags[i])
    return out


@given(seed=st.integers(0, 2**63 - 1), n=st.integers(1, 3000), towns=st.floats(0, 1))
@settings(max_examples=40, deadline=None)
def test_a_screen_class_holds_each_propensity_at_or_under_its_levels_cap(seed, n, towns):
    """A citizen's screen class bounds its rare acts' chances: a propensity above its level's
    cap would have its acts come at the cap, not at rate x propensity."""
    rng = np.random.default_rng(seed % 2**32)
    income = rng.integers(0, 10, n).astype(np.uint8)
    flags = np.where(rng.random(n) < towns, URBAN, 0).astype(np.uint8) | income << INCOME_SHIFT
    keys, caps = trait_keys(seed), level_caps()
    classes = screen_classes(keys, caps, flags)
    for t in range(N_DRAWN):
        level = (classes >> (LEVEL_BITS * t) & (LEVELS - 1)).astype(np.int64)
        values = propensities(t, keys[t], flags)
        assert (values <= caps[t, level]).all()
        assert (values > np.where(level > 0, caps[t, level - 1], -np.inf)).all()


def test_screen_classes_split_the_propensities_at_their_quantiles(busy):
    """Half the citizens sit at the lowest level of each exponential propensity, 5% at the
    highest, as LEVEL_QUANTILES says (travel's depends on the income deciles and areas)."""
    _, pop = busy
    classes = screen_classes(trait_keys(SEED), level_caps(), pop.flags)
    for t in range(TRAVEL):
        shares = np.bincount(classes >> (LEVEL_BITS * t) & (LEVELS - 1), minlength=LEVELS)
        expected = np.diff([0, *LEVEL_QUANTILES, 1]) * pop.size
        assert (np.abs(shares - expected) < [binomial_tol(pop.size, e / pop.size)
                                             for e in expected]).all()


@given(shares=st.lists(st.floats(0, 1), min_size=4, max_size=4),
       against=st.lists(st.floats(0, 1), min_size=4, max_size=4), rate=st.floats(0, 1))
@settings(max_examples=100, deadline=None)
def test_the_screens_bound_of_a_post_against_the_line_holds_its_chance(shares, against, rate):
    """A candidate post against the line comes under its disposition level's bound (the
    screen's low bits, rounded up, a field of two words), which no citizen's chance exceeds:
    posting's rate times each type's share times its against share at the level's largest
    disposition, at most 1; the rounding's excess is taken back in the thinning
    (``post_scale``), and a type that never goes against the line is never a candidate's."""
    shares = np.array(shares) / max(sum(shares), 1e-300)
    post = PostDraw(np.uint64(1), rate, shares, np.array(against), np.uint64(2))
    words, type_cuts_, bounds, scale = post_screen(post)
    cuts = np.array([against_bound.py_func(level, words) for level in range(N_DISPOSITION)])
    top = EXP_QUANTILES[np.array([*DISPOSITION_CUTS, EXP_QUANTILES.shape[0]]) - 1]
    chance = rate * (shares * np.minimum(np.outer(top, against), 1.0)).sum(axis=1)
    one = 1 << AGAINST_SCREEN_BITS
    assert (cuts >= chance * one - 1e-6).all() and (cuts <= chance * one + 1).all()
    assert np.allclose(np.where(cuts > 0, cuts / one * scale, 0.0), chance, atol=1e-12)
    assert (scale <= 1.0 + 1e-12).all() and (bounds <= 1.0).all()
    never = (shares == 0) | (np.array(against) == 0)
    assert (bounds[:, never] * shares[never] == 0).all()


@njit
def against_and_lawful(p, chilling, ratio, r8, levels, days):
    """Over citizens 0..n-1 of disposition ``levels`` and ``days`` days at perceived risk
    ``r8``: per content type, the posts against the line (candidates of the screen's low bits,
    thinned) and the lawful posts drawn where there is none against the line
    (``lawful_post``)."""
    against, lawful = np.zeros(4), np.zeros(4)
    for i in range(levels.shape[0]):
        level = levels[i]
        for day in range(days):
            x = candidates(counter(i, day), 1, 0, 0, p.d.screen_key,
                           against_bound(level, p.screen_bounds))
            bits = against_post(i, day, level, r8, chilling, ratio, p) if x else 0
            if bits:
                against[bits >> POST_TYPE_SHIFT & 3] += 1
            else:
                post = lawful_post(i, day, 1, r8, chilling, ratio, p.post)
                if post:
                    lawful[post >> POST_TYPE_SHIFT & 3] += 1
    return against, lawful


@settings(max_examples=500, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0, exclude_min=True))
def test_a_lawful_post_ruled_out_early_is_ruled_out_by_its_chance(p, lawful):
    """``posts.lawful_post`` returns no post before its disposition's draw where the posting
    field is at least p x KEPT_BOUND: every field it so rules out, the kept chance
    p L / (1 - p (1 - L)) (L: the lawful share, 1 - A; ``posts.kept_chance``) also rules out,
    as computed in floats."""
    kept = kept_chance(p, lawful) * (1 << POST_BITS)
    first = math.ceil(p * KEPT_BOUND)  # the least posting field ruled out early
    if first < 1 << POST_BITS:
        assert first >= kept


@pytest.mark.parametrize("lawful", [1e-300, 2.0 ** -60, 2.0 ** -53, 1e-9, 0.5, 1.0])
def test_a_lawful_post_is_kept_with_its_chance_where_everyone_posts(lawful):
    """Where the chance of posting is 1, a citizen whose post does not go against the line
    posts lawfully: the kept chance is 1, however small the lawful share (the form
    1 - p (1 - L) of its denominator was 0 in floats under L = 2**-53, a division by zero)."""
    assert kept_chance(1.0, lawful) == pytest.approx(1.0, rel=1e-12)
    assert kept_chance(0.5, lawful) == pytest.approx(0.5 * lawful / (1.0 - 0.5 * (1.0 - lawful)),
                                                     rel=1e-12)


@pytest.mark.parametrize("r8", [0, 200])
def test_posts_against_the_line_and_lawful_posts_come_at_the_models_chances(r8):
    """Each citizen's post goes against the line with chance ``rate x chilled x share_t x
    min(1, against_t x disposition x ratio)`` and is lawful with the rest of its chance of
    posting, whatever the screen's bound: the thinning and the lawful post drawn one by one
    give each content type its expected count, with fear and without it."""
    sc = preset(**{"speech.against_line_share": 0.05})
    p = behaviour_params(sc, SEED)
    _, chilling, ratio = fear_tables(sc.fear)
    n, days = 4000, 200
    bins = np.array([exponential_bin(p.post.dissent_key, i, 0) for i in range(n)])
    levels = np.searchsorted(DISPOSITION_CUTS, bins, side="right")
    against, lawful = against_and_lawful(p, chilling, ratio[r8], r8, levels, days)
    post = p.post.rate * (1.0 - chilling * r8 / 255.0)
    d = np.array([exponential(p.post.dissent_key, i, 0) for i in range(n)])
    a = np.minimum(np.outer(d * ratio[r8], p.post.against_shares), 1.0)
    expected_against = days * post * (p.post.shares * a).sum(axis=0)
    expected_lawful = days * post * (p.post.shares * (1.0 - a)).sum(axis=0)
    for got, want in ((against, expected_against), (lawful, expected_lawful)):
        assert (np.abs(got - want) < [binomial_tol(n * days, w / (n * days)) for w in want]).all()


def test_a_citizens_level_holds_the_disposition_that_settle_draws(busy):
    """The disposition level kept above the age band is the citizen's: its disposition (drawn
    as settle draws it) is at most its level's largest, which bounds the screen of its posts
    against the line, and above the largest of the level below. Each level holds its bins'
    share of the citizens."""
    _, pop = busy
    disposition = np.array([exponential(trait_keys(SEED)[DISSENT], i, 0)
                            for i in range(pop.size)])
    level = pop.age >> AGE_BITS
    edges = np.array([*DISPOSITION_CUTS, EXP_QUANTILES.shape[0]])
    assert (disposition <= EXP_QUANTILES[edges[level] - 1]).all()
    assert (disposition[level > 0] > EXP_QUANTILES[edges[level[level > 0] - 1] - 1]).all()
    shares = np.diff([0, *edges]) / EXP_QUANTILES.shape[0]
    counts = np.bincount(level, minlength=N_DISPOSITION)
    assert (np.abs(counts - shares * pop.size)
            < [binomial_tol(pop.size, s) for s in shares]).all()


@given(p=st.floats(0, 1), field=st.integers(0, (1 << POST_BITS) - 1))
@settings(max_examples=200, deadline=None)
def test_a_fields_comparison_in_floats_is_the_comparison_with_its_rounded_threshold(p, field):
    """Behaviour's pass over everyone compares a post's field with its threshold in floats
    (``under_cap``): on any field and on either side of the threshold, that says what the
    comparison with the threshold rounded to an integer (``field_threshold``) says."""
    cap, cut = field_cap(p, POST_BITS), field_threshold(p, POST_BITS)
    for f in (field, max(cut - 1, 0), cut):
        assert under_cap(f, cap) == (f < cut)


@njit(cache=True)
def posting_bits(who, cases):
    """allowed_today's bit of posting, and whether the citizen uses the internet, for every age
    band, byte of flags a citizen may have (area, role, income decile), use of the internet and
    of payment, and case open or not."""
    out = []
    for age in range(N_AGE_BANDS):
        for flags in range(N_DECILES << INCOME_SHIFT):
            for online in range(2):
                for paying in range(2):
                    for s in (0, IN_DEFAULT, JUDGED, LISTED, TAX_CASE, LISTED | TAX_CASE):
                        bits = allowed_today(age, flags, online, paying, s, who, cases[0],
                                             cases[1])
                        out.append((bits >> ONLINE_POST & 1, online))
    return out


@njit(cache=True)
def eligible_at_every_level(who, cases):
    """Whether allowed_today gives every age band, byte of flags, use and case the same acts at
    every disposition level kept above the band as at none."""
    for band in range(N_AGE_BANDS):
        for flags in range(N_DECILES << INCOME_SHIFT):
            for online in range(2):
                for paying in range(2):
                    for s in (0, IN_DEFAULT, LISTED | TAX_CASE):
                        bits = allowed_today(band, flags, online, paying, s, who, cases[0],
                                             cases[1])
                        for level in range(1, N_DISPOSITION):
                            if allowed_today(band | level << AGE_BITS, flags, online, paying, s,
                                             who, cases[0], cases[1]) != bits:
                                return False
    return True


@pytest.mark.parametrize("name", scenario.PRESETS)
def test_eligibility_reads_the_age_band_alone(name):
    p = behaviour_params(scenario.load(name), SEED)
    assert eligible_at_every_level(p.d.who, p.cases)


@pytest.mark.parametrize("name", scenario.PRESETS)
def test_posting_is_open_to_every_internet_user_and_to_no_one_else(name):
    """Behaviour's pass over everyone lets every internet user post and leaves the other acts'
    eligibility to the few it lists: that holds only as posting's eligibility is the use of the
    internet alone, whatever the citizen's age, area, income, role or case."""
    p = behaviour_params(scenario.load(name), SEED)
    assert all(post == online for post, online in posting_bits(p.d.who, p.cases))


@given(scale=st.lists(st.floats(0, 8), min_size=len(CHINA.acts), max_size=len(CHINA.acts)))
@settings(max_examples=40, deadline=None)
def test_a_classs_screen_bound_holds_its_screen(scale):
    """The pass over every citizen tests the screen's draw against ``screen_bound`` of its
    class, not the class's last cut (a table per citizen would not vectorise): it must be at
    least that cut. A class's bounds are at most the global ones, and the top class's are
    those."""
    sc = preset(**{f"acts.{k}.rate": a.rate * f for (k, a), f in zip(CHINA.acts.items(), scale)})
    d = draws(sc, SEED)
    parts = screen_parts(d.class_bounds, d.trait_of, d.rank, d.cuts)
    assert (d.class_bounds <= d.bounds).all()
    np.testing.assert_array_equal(d.class_bounds[N_CLASSES - 1], d.bounds)
    assert (np.diff(d.cuts, axis=1) >= 0).all()
    if d.cuts.shape[1]:
        assert all(screen_bound(c, parts) >= d.cuts[c, -1] for c in range(N_CLASSES))
        # packed by level, rounded up: above the sum of the class's kinds' bounds (or its last
        # cut, where higher) by less than a unit of each propensity's scale
        exact = d.class_bounds[:, d.rank != UNSCREENED].sum(axis=1)
        unit = sum(1 << int(parts[t, 1]) for t in range(N_DRAWN))
        short = max(0, (d.cuts[:, -1] - exact).max())
        assert all(screen_bound(c, parts) - exact[c] <= unit + short for c in range(N_CLASSES))


def test_screened_acts_come_at_rate_times_each_citizens_propensity(busy):
    """Rare acts with a propensity, screened per class: over 20 days, each kind's acts in each
    level of its propensity number its rate times the propensities of the citizens there."""
    _, pop = busy
    kinds = {"jaywalking": OFFENCE, "plane_ticket": TRAVEL}
    sc = preset(**{"population.size": N_BEHAVIOUR},
                **{f"acts.{k}.rate": 2 * CHINA.acts[k].rate for k in kinds})
    assert all(draws(sc, SEED).rank[ACT_KINDS.index(k)] != UNSCREENED for k in kinds)
    done = {k: np.zeros(pop.size, np.int64) for k in kinds}
    for day in range(3, 23):
        acts, _, beh = act_day(sc, pop, day=day)
        for k in kinds:
            done[k] += (acts & ACT_BIT[k]) != 0
    for k, t in kinds.items():
        chance = sc.acts[k].rate * propensities(t, trait_keys(SEED)[t], pop.flags)
        chance *= eligible(sc, pop, beh, k)
        level = beh.screen_class >> (LEVEL_BITS * t) & (LEVELS - 1)
        for m in range(LEVELS):
            expected = 20 * chance[level == m].sum()
            assert abs(done[k][level == m].sum() - expected) < 5 * math.sqrt(expected) + 1


@pytest.mark.parametrize("kind", [k for k in ACT_KINDS if k != "online_post"])
def test_only_eligible_citizens_act(busy, busy_day, kind):
    sc, pop = busy
    acts, _, beh = busy_day
    if kind not in sc.acts:
        pytest.skip(f"{kind} is not in the scenario")
    doers = (acts & ACT_BIT[kind]) != 0
    assert not np.any(doers & ~eligible(sc, pop, beh, kind))


PARKING = Path(__file__).parent / "scenarios" / "parking.toml"  # an act for some citizens only


@njit
def both_eligibilities(who, ages, flag_values):
    """layout.eligible and layout.eligible_one of every (age, flags, online, paying) given."""
    out, m = np.empty((2, ages.shape[0] * flag_values.shape[0] * 4), np.int64), 0
    for age in ages:
        for flags in flag_values:
            for online in range(2):
                for paying in range(2):
                    out[0, m] = layout.eligible(age, flags, online, paying, who)
                    out[1, m] = layout.eligible_one(age, flags, online, paying, who)
                    m += 1
    return out


@pytest.mark.parametrize("source", [*scenario.PRESETS, PARKING], ids=[*scenario.PRESETS, "parking"])
def test_a_visited_citizens_eligibility_is_the_pass_over_everyones(source):
    """Behaviour's visits read eligibility by a load from each table (layout.eligible_one), its
    pass over everyone by selects (layout.eligible): the same acts for every age band, area,
    role, income decile and use of the internet and of payments (the presets' acts admit every
    age, area and income; parking's act, some)."""
    who = draws(scenario.load(source), 1).who
    flags = np.array([area | role | decile << INCOME_SHIFT for area in (0, URBAN)
                      for role in (0, MANAGER) for decile in range(N_DECILES)], np.int64)
    both = both_eligibilities(who, np.arange(N_AGE_BANDS), flags)
    assert np.array_equal(both[0], both[1])
    assert np.unique(both[0]).size > 1  # the citizens differ: the comparison is not vacuous


def test_children_never_do_acts_for_adults(busy, busy_day):
    sc, pop = busy
    acts, _, _ = busy_day
    adult_bits = sum(ACT_BIT[k] for k, a in sc.acts.items() if a.who == "adults")
    assert np.count_nonzero(acts[pop.band == CHILD] & adult_bits) == 0
    # ... while they do jaywalk (who = "everyone"): the check above is not vacuous
    assert np.count_nonzero(acts[pop.band == CHILD] & ACT_BIT["jaywalking"]) > 0


def test_citizens_offline_never_post(busy, busy_day):
    _, pop = busy
    acts, _, beh = busy_day
    offline = pop.rank >= beh.adoption[0]
    assert offline.sum() > 0
    assert np.count_nonzero(acts[offline] & (ACT_BIT["online_post"] | POST_AGAINST)) == 0


def test_posts_against_the_line_are_posts(busy_day):
    acts, acc, _ = busy_day
    against = (acts & POST_AGAINST) != 0
    assert against.sum() == count(acc, "posts_against_line") > 0
    assert np.all(acts[against] & ACT_BIT["online_post"])


def test_share_of_posts_against_the_line_is_the_scenarios(busy, busy_day):
    sc, _ = busy
    acts, acc, _ = busy_day
    posts = count(acc, "acts_online_post")
    share = sc.speech.against_line_share
    against = int(np.count_nonzero(acts & POST_AGAINST))
    # dissent is a unit-mean trait: its heterogeneity widens the spread a little (factor 2)
    assert abs(against - share * posts) < 2 * binomial_tol(posts, share)


def post_types(acts: np.ndarray) -> np.ndarray:
    return (acts & POST_TYPE) >> POST_TYPE_SHIFT


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
def test_posts_of_each_content_type_come_at_its_rate(busy, busy_day, ctype):
    sc, _ = busy
    acts, acc, _ = busy_day
    posts = (acts & ACT_BIT["online_post"]) != 0
    t = CONTENT_TYPES.index(ctype)
    of_type, all_types = count(acc, f"posts_{ctype}"), count(acc, "acts_online_post")
    share = sc.speech.shares()[ctype]
    assert abs(of_type - share * all_types) < binomial_tol(all_types, share)
    against = int(np.count_nonzero(posts & (post_types(acts) == t) & (acts & POST_AGAINST != 0)))
    assert against == count(acc, f"posts_against_line_{ctype}") > 0
    a_share = sc.speech.against_shares()[ctype]
    assert abs(against - a_share * of_type) < 2 * binomial_tol(of_type, a_share)


def day_posts(p, chilling, users, risk, against, day):
    """Behaviour's counters of one day after count_posts, for regions of ``users`` internet
    users of perceived risk ``risk`` (in 255ths, each) and ``against`` posts against the line
    (per region and content type)."""
    counts = np.zeros((users.shape[0], len(Behaviour.counters(CHINA))), np.int64)
    counts[:, behaviour.C_INTERNET], counts[:, behaviour.C_RISK_ONLINE] = users, users * risk
    counts[:, behaviour.C_AGAINST_T0:behaviour.C_AGAINST_T0 + 4] = against
    behaviour.count_posts(day, p.count_key, p.post.rate, chilling, p.post.shares, counts)
    return counts


def test_the_days_posts_are_the_internet_users_at_their_mean_chance_of_posting():
    """A region's posts are a binomial of its internet users at their mean chance, posting's
    rate chilled at their mean risk, split by content type in its shares; a type's posts hold
    its posts against the line, the lawful are the rest; with fear and without it, a region
    never posts more with fear on the same day."""
    p = behaviour_params(preset(), SEED)
    users = np.array([0, 3, 40, 900, 25_000, 2_000_000])
    risk = np.array([0, 255, 10, 100, 50, 200])
    against = np.outer(users // 100, [1, 0, 2, 1])
    chilling, days = 0.3, 400
    totals, shares = np.zeros(users.shape[0]), np.zeros(4)
    for day in range(days):
        on, off = (day_posts(p, c, users, risk, against, day) for c in (chilling, 0.0))
        posts = on[:, behaviour.C_POSTS_T0:behaviour.C_POSTS_T0 + 4]
        assert (posts >= against).all() and (posts.sum(axis=1) == on[:, behaviour.C_ACT0]).all()
        assert (on[:, behaviour.C_LAWFUL] == posts.sum(axis=1) - against.sum(axis=1)).all()
        assert (on[:, behaviour.C_ACT0] <= off[:, behaviour.C_ACT0]).all()
        totals += on[:, behaviour.C_ACT0]
        shares += posts[-1]
    chance = p.post.rate * (1 - chilling * risk / 255)
    n = users * days
    assert (np.abs(totals - n * chance) <= [binomial_tol(m, c) for m, c in zip(n, chance)]).all()
    assert np.abs(shares / shares.sum() - p.post.shares).max() < 1e-3


def test_posts_by_type_add_up_and_only_posts_have_a_type(busy_day):
    acts, acc, _ = busy_day
    assert sum(count(acc, f"posts_{t}") for t in CONTENT_TYPES) == count(acc, "acts_online_post")
    assert sum(count(acc, f"posts_against_line_{t}") for t in CONTENT_TYPES) == count(
        acc, "posts_against_line")
    assert not np.any(post_types(acts[(acts & ACT_BIT["online_post"]) == 0]))


def test_a_content_type_without_a_rate_is_never_posted(busy):
    sc, pop = busy
    acts, acc, _ = act_day(sc.with_changes(**{"speech.content.photo.rate": 0.0}), pop)
    assert count(acc, "posts_photo") == 0 < count(acc, "posts_video")
    assert not np.any(post_types(acts) == CONTENT_TYPES.index("photo"))


def test_population_counters_count_everyone(busy, busy_day):
    _, pop = busy
    _, acc, beh = busy_day
    assert count(acc, "citizens") == pop.size
    assert count(acc, "children") == int(np.sum(pop.band == CHILD))
    assert count(acc, "internet_users") == int(np.sum(pop.rank < beh.adoption[0]))
    assert count(acc, "payment_users") == int(np.sum(pop.rank < beh.adoption[1]))


def test_adoption_thresholds_follow_the_scenario_dates(busy, busy_day):
    sc, pop = busy
    _, _, beh = busy_day
    assert tuple(beh.adoption) == (
        adoption_threshold(sc.population.internet_users, DATE, pop.regions),
        adoption_threshold(sc.population.payment_users, DATE, pop.regions))


def test_citizens_with_a_debt_case_do_not_default_again(busy):
    sc, pop = busy
    sc = sc.with_changes(**{"acts.debt_default.rate": 1.0})
    status = np.where(np.arange(pop.size) % 2 == 0, IN_DEFAULT, 0).astype(np.uint8)
    status[1::4] = LISTED
    acts, _, _ = act_day(sc, pop, status)
    defaulted = (acts & ACT_BIT["debt_default"]) != 0
    assert not np.any(defaulted & (status != 0))
    free_adults = (status == 0) & (pop.band != CHILD)
    assert defaulted[free_adults].mean() > 0.4  # rate 1 x a unit-mean trait: most of them


def test_only_citizens_in_a_debt_case_pay_a_debt(busy):
    sc, pop = busy
    sc = sc.with_changes(**{"court.settle_rate": 1.0, "court.comply_rate": 1.0,
                            "court.pay_rate_listed": 1.0})
    status = np.zeros(pop.size, np.uint8)
    status[0:300:3], status[1:300:3], status[2:300:3] = IN_DEFAULT, JUDGED, LISTED
    acts, acc, _ = act_day(sc, pop, status)
    paid = (acts & PAY_DEBT) != 0
    np.testing.assert_array_equal(paid, status != 0)
    assert count(acc, "debts_paid") == 300


@pytest.mark.parametrize(("status", "rate"), [(IN_DEFAULT, "settle_rate"), (JUDGED, "comply_rate"),
                                              (LISTED, "pay_rate_listed")])
def test_debtors_pay_at_the_rate_of_their_stage(busy, status, rate):
    sc, pop = busy
    sc = sc.with_changes(**{f"court.{rate}": 0.2})
    acts, _, _ = act_day(sc, pop, np.full(pop.size, status, np.uint8))
    paid = int(np.count_nonzero(acts & PAY_DEBT))
    assert abs(paid - 0.2 * pop.size) < binomial_tol(pop.size, 0.2)


def test_only_citizens_in_a_tax_case_pay_tax(busy):
    sc, pop = busy
    sc = sc.with_changes(**{"tax.pay_rate": 1.0})
    status = np.where(np.arange(pop.size) < 100, TAX_CASE, 0).astype(np.uint8)
    acts, acc, _ = act_day(sc, pop, status)
    np.testing.assert_array_equal((acts & PAY_TAX) != 0, status != 0)
    assert count(acc, "taxes_paid") == 100


def test_acts_differ_from_day_to_day(busy, busy_day):
    sc, pop = busy
    acts, _, _ = busy_day
    other, _, _ = act_day(sc, pop, day=4)
    assert not np.array_equal(acts, other)


# --------------------------------------------------------------------------------------------
# sensing
# --------------------------------------------------------------------------------------------

N_SENSING = 50_000


@pytest.fixture(scope="module")
def crowd() -> Population:
    return build(preset(**{"population.size": N_SENSING}).population, SEED)


# Behaviour's and fear's day values that sensing reads to draw a picked citizen's lawful post:
# everyone online, fearless.
def everyone_online(n: int) -> dict[str, np.ndarray]:
    return {"risk": np.zeros(n, np.uint8), "adoption": np.full(2, ADOPT_LEVELS, np.int64),
            "chilling": np.float64(0.0), "chilling_against": np.ones(256)}


def sense_day(sc, pop, acts, day=5, date=DATE):
    """One day of sensing for hand-made acts (lawful posts are drawn: everyone online, at
    posting's rate): (records, counters, sensing)."""
    sen = alone(Sensing, sc, pop, **everyone_online(pop.size))
    sen.start_day(day, date, sc)
    acc, today = new_acc(), today_with(pop.size, acts=acts)
    step(sen, 0, pop.size, acc, today)
    return today.records.copy(), acc, sen


@given(precision=st.floats(0.05, 1.0), recall=st.floats(0.01, 1.0),
       share=st.floats(0.001, 0.5))
@settings(max_examples=200, deadline=None)
def test_lawful_flag_rate_gives_the_requested_precision(precision, recall, share):
    fpr = lawful_flag_rate(precision, recall, share)
    assert 0.0 <= fpr <= 1.0
    if fpr < 1.0:  # a rate of 1 is the cap: no review can be that imprecise
        true_flags = recall * share
        assert true_flags / (true_flags + fpr * (1 - share)) == pytest.approx(precision, rel=1e-9)


def test_a_perfectly_precise_review_flags_no_lawful_post():
    assert lawful_flag_rate(1.0, 0.6, 0.02) == 0.0


def camera_expectation(sen, pop, kind="jaywalking"):
    """Expected observations if every citizen did ``kind``: coverage x hit rate, per citizen."""
    town = ((pop.flags & URBAN) != 0).astype(np.int64)
    return sen.coverage[pop.region, town] * sen.sc.channels["cameras"].hit


@pytest.mark.parametrize("kind", [k for k, a in CHINA.acts.items() if a.channel == "cameras"])
def test_cameras_observe_coverage_times_hit_rate_of_street_offences(crowd, kind):
    acts = np.full(crowd.size, ACT_BIT[kind], np.uint64)
    records, acc, sen = sense_day(preset(), crowd, acts)
    p = camera_expectation(sen, crowd)
    seen = int(np.count_nonzero(records & ACT_BIT[kind]))
    assert seen == count(acc, f"observed_{kind}")
    assert abs(seen - p.sum()) < 5 * math.sqrt((p * (1 - p)).sum()) + 1


def test_cameras_see_more_in_towns(crowd):
    acts = np.full(crowd.size, ACT_BIT["jaywalking"], np.uint64)
    records, _, _ = sense_day(preset(), crowd, acts)
    seen = (records & ACT_BIT["jaywalking"]) != 0
    urban = (crowd.flags & URBAN) != 0
    assert seen[urban].mean() > 1.5 * seen[~urban].mean()


def test_only_acts_done_are_observed(crowd):
    acts = np.where(np.arange(crowd.size) % 2 == 0, ACT_BIT["jaywalking"] | ACT_BIT["late_bill"],
                    0).astype(np.uint64)
    records, _, _ = sense_day(preset(**{"channels.payment_records.hit": 1.0}), crowd, acts)
    act_bits = sum(ACT_BIT.values())
    assert not np.any(records & act_bits & ~acts)


def test_staff_always_report_misconduct_on_board(crowd):
    acts = np.full(crowd.size, ACT_BIT["onboard_misconduct"], np.uint64)
    records, _, _ = sense_day(preset(), crowd, acts)
    assert np.all(records & ACT_BIT["onboard_misconduct"])


def test_buying_a_ticket_is_not_an_offence_on_record(crowd):
    acts = np.full(crowd.size, ACT_BIT["plane_ticket"] | ACT_BIT["train_ticket"], np.uint64)
    records, _, _ = sense_day(preset(), crowd, acts)
    assert not np.any(records & (ACT_BIT["plane_ticket"] | ACT_BIT["train_ticket"]))


@pytest.mark.parametrize(("kind", "channel"), [("late_bill", "payment_records"),
                                               ("good_deed", "good_deed_reports")])
def test_other_channels_observe_at_their_rate(crowd, kind, channel):
    sc = preset(**{f"channels.{channel}.hit": 0.3})
    acts = np.full(crowd.size, ACT_BIT[kind], np.uint64)
    records, _, _ = sense_day(sc, crowd, acts)
    seen = int(np.count_nonzero(records & ACT_BIT[kind]))
    assert abs(seen - 0.3 * crowd.size) < binomial_tol(crowd.size, 0.3)


def test_payments_pass_through_to_the_registry(crowd):
    acts = np.zeros(crowd.size, np.uint64)
    acts[:10], acts[10:20] = PAY_DEBT, PAY_TAX
    records, _, _ = sense_day(preset(), crowd, acts)
    np.testing.assert_array_equal(records[:20] & (PAY_DEBT | PAY_TAX), acts[:20])


def test_false_matches_fall_at_the_daily_false_match_chance(crowd):
    records, acc, sen = sense_day(preset(), crowd, np.zeros(crowd.size, np.uint64))
    town = ((crowd.flags & URBAN) != 0).astype(np.int64)
    p = sen.false_p[0][crowd.region, town]
    matched = int(np.count_nonzero(records & FALSE_MATCH))
    assert matched == count(acc, "cameras_false_records")
    assert abs(matched - p.sum()) < 5 * math.sqrt((p * (1 - p)).sum()) + 1


# Every type's review at precision 0.6 and recall 0.5, 30% of every type's posts against, and
# every internet user posting every day.
CONTENT = {"speech.against_line_share": 0.3,
           **{f"speech.content.{t}.rate": 1 / len(CONTENT_TYPES) for t in CONTENT_TYPES},
           **{f"sensing.content_review.{t}.{field}": value for t in CONTENT_TYPES
              for field, value in (("precision", 0.6), ("recall", 0.5))},
           **{f"speech.content.{t}.against_factor": 1.0 for t in CONTENT_TYPES}}


def everyone_posts(n: int, against_share: float = 0.3, ctype: int = 0) -> np.ndarray:
    """Every citizen posts (of content type ``ctype``); the first ``against_share`` of each ten
    goes against the line. Sensing reads the posts against the line; the lawful posts it draws
    (at a rate of 1 a day every citizen without a post against the line posts lawfully)."""
    against = (np.arange(n) % 10) < round(10 * against_share)
    return (ACT_BIT["online_post"] | ctype << POST_TYPE_SHIFT
            | np.where(against, POST_AGAINST, 0)).astype(np.uint64)


def test_content_review_flags_posts_against_the_line_at_its_recall(crowd):
    acts = everyone_posts(crowd.size)
    records, acc, _ = sense_day(preset(**CONTENT), crowd, acts)
    against = (acts & POST_AGAINST) != 0
    flagged = int(np.count_nonzero(records[against] & FLAG_TRUE))
    assert flagged == count(acc, "content_flags_true") == count(acc, "observed_online_post")
    assert abs(flagged - 0.5 * against.sum()) < binomial_tol(against.sum(), 0.5)


def test_true_flags_only_for_posts_against_the_line(crowd):
    acts = everyone_posts(crowd.size)
    records, _, _ = sense_day(preset(**CONTENT), crowd, acts)
    assert not np.any(records[(acts & POST_AGAINST) == 0] & FLAG_TRUE)


def test_false_flags_only_for_lawful_posts(crowd):
    acts = everyone_posts(crowd.size)
    records, _, _ = sense_day(preset(**CONTENT), crowd, acts)
    assert not np.any(records[(acts & POST_AGAINST) != 0] & FLAG_FALSE)


def test_content_review_has_the_scenarios_precision(crowd):
    acts = everyone_posts(crowd.size)
    _, acc, _ = sense_day(preset(**CONTENT), crowd, acts)
    true, false = count(acc, "content_flags_true"), count(acc, "content_flags_false")
    flags = true + false
    assert abs(true / flags - 0.6) < 5 * math.sqrt(0.6 * 0.4 / flags)


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
def test_content_review_has_each_types_precision_and_recall(crowd, ctype):
    """The preset's review differs by type; each type's flags follow its own review."""
    sc = preset(**{"speech.against_line_share": 0.3},
                **{f"speech.content.{t}.against_factor": 1.0 for t in CONTENT_TYPES},
                **{f"speech.content.{t}.rate": float(t == ctype) for t in CONTENT_TYPES})
    review = sc.sensing.content_review[ctype]
    acts = everyone_posts(crowd.size, ctype=CONTENT_TYPES.index(ctype))
    records, acc, _ = sense_day(sc, crowd, acts)
    against = int(np.count_nonzero(acts & POST_AGAINST))
    true, false = (count(acc, f"content_flags_{n}_{ctype}") for n in ("true", "false"))
    assert true == int(np.count_nonzero(records & FLAG_TRUE)) == count(acc, "content_flags_true")
    assert false == count(acc, "content_flags_false")
    assert abs(true - review.recall * against) < binomial_tol(against, review.recall)
    p = review.precision
    assert abs(true / (true + false) - p) < 5 * math.sqrt(p * (1 - p) / (true + false))


def test_camera_density_has_census_weighted_mean_one(crowd):
    sc = preset()
    density = camera_density(sc, crowd.regions)
    u = sc.population.urban_share
    per_region = (1 - u) * density[:, 0] + u * density[:, 1]
    weights = crowd.regions.census / crowd.regions.total
    assert float(weights @ per_region) == pytest.approx(1.0, rel=1e-12)


def test_camera_density_is_higher_in_towns_and_listed_regions(crowd):
    sc = preset()
    density = camera_density(sc, crowd.regions)
    cams = sc.sensing.cameras
    np.testing.assert_allclose(density[:, 1] / density[:, 0], cams.urban_density)
    codes_ = crowd.regions.codes
    beijing, hebei = codes_.index("110000"), codes_.index("130000")
    assert density[beijing, 0] / density[hebei, 0] == pytest.approx(
        cams.region_density["110000"])


def test_coverage_grows_with_the_camera_count(crowd):
    sc = preset()
    sen = alone(Sensing, sc, crowd, **everyone_online(crowd.size))
    sen.start_day(0, dt.date(2014, 1, 1), sc)
    early = sen.coverage.copy()
    sen.start_day(1, dt.date(2019, 1, 1), sc)
    assert np.all(sen.coverage > early)
    assert np.all((sen.coverage > 0) & (sen.coverage < 1))


# --------------------------------------------------------------------------------------------
# registry: one citizen driven through the court process by hand
# --------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), max_size=60),
       new=st.sets(st.integers(0, 149), max_size=20), seed=st.integers(0, 99))
def test_the_case_book_keeps_open_and_ever_listed_rows_and_files_new_ones_in_order(rows, new,
                                                                                     seed):
    """file_rows: the rows whose citizen has a status or was ever listed, and the new rows
    (citizens without one, given in two chunks), in the order of citizens, each with its
    days, in arrays with room for a row per citizen, filed again in place."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(200, 400), len(rows), replace=False)).astype(np.int64)
    days = rng.integers(1, 999, (len(rows), COLUMNS)).astype(np.int16)
    days[:, EVER] = [ever for _, ever in rows]
    days[:, STATUS] = [open_ for open_, _ in rows]
    add_ids = np.array(sorted(new), np.int64)
    add_days = rng.integers(1, 999, (len(new), COLUMNS)).astype(np.int16)
    kept = (days[:, STATUS] != 0) | (days[:, EVER] != 0)
    want_ids = np.concatenate((ids[kept], add_ids))
    want_days = np.concatenate((days[kept], add_days))
    order = np.argsort(want_ids)
    cut = len(new) // 2
    out_ids, out_days = file_rows(ids, days, [(add_ids[:cut], add_days[:cut]),
                                              (add_ids[cut:], add_days[cut:])], 400)
    assert np.array_equal(out_ids, want_ids[order])
    assert np.array_equal(out_days, want_days[order])
    if new:  # in the arrays given where closed rows left room, else in arrays of 400 rows
        assert out_ids.base is ids or out_ids.base.shape == (400,)
    filed, base = out_ids.tolist(), out_ids.base
    again_ids, again_days = file_rows(out_ids, out_days,
                                      [(np.array([150]), np.ones((1, COLUMNS), np.int16))], 400)
    assert again_ids.tolist() == sorted({150, *filed})
    if base is not None and base.shape[0] > len(filed):  # room for it: in place
        assert again_ids.base is base


COURT = {"court.judgment_rate": 1.0, "court.grace_days": 60, "court.listing_days": 1825,
         "registry.list_delay_days": 7, "registry.removal_delay_days": 10,
         "tax.exit_ban_share": 1.0, "tax.exit_ban_after_days": 90,
         "registry.misconduct_list_days": 365}


class Desk:
    """A registry for a handful of citizens; citizen 0's records are given day by day."""

    def __init__(self, **changes) -> None:
        self.sc = preset(**{"population.size": 10, **COURT, **changes})
        self.reg = alone(Registry, self.sc, build(self.sc.population, SEED))
        self.day = -1

    def next_day(self, records: int = 0) -> tuple[int, int, np.ndarray]:
        """Advance one day; returns citizen 0's status, its records after the registry, counters."""
        self.day += 1
        self.reg.start_day(self.day, self.sc.start + dt.timedelta(days=self.day), self.sc)
        acc, today = new_acc(), today_with(1, records=records)
        step(self.reg, 0, 1, acc, today)
        self.reg.end_day(acc)
        return int(self.reg.statuses()[0]), int(today.records[0]), acc

    def until(self, day: int) -> tuple[int, int, np.ndarray]:
        while self.day < day - 1:
            self.next_day()
        return self.next_day()


DEFAULT = ACT_BIT["debt_default"]


@pytest.fixture
def listed() -> Desk:
    """Citizen 0 defaults on day 0, is judged on day 1 and listed on day 61."""
    desk = Desk()
    desk.next_day(DEFAULT)
    desk.until(61)
    return desk


def test_a_recorded_default_opens_a_case():
    status, _, acc = Desk().next_day(DEFAULT)
    assert status == IN_DEFAULT
    assert count(acc, "defaults_recorded") == 1


def test_a_default_goes_to_judgment():
    desk = Desk()
    desk.next_day(DEFAULT)
    status, _, acc = desk.next_day()
    assert status == JUDGED
    assert count(acc, "judgments") == 1


def test_defaults_go_to_judgment_at_the_judgment_rate():
    sc = preset(**{"population.size": 20_000, "court.judgment_rate": 0.2})
    reg = alone(Registry, sc, build(sc.population, SEED))
    reg.set_statuses(np.arange(sc.population.size), IN_DEFAULT)
    reg.start_day(10, DATE, sc)
    acc, n = new_acc(), reg.view.size
    step(reg, 0, n, acc, Today.of(n))
    judged = count(acc, "judgments")
    assert judged == int(np.count_nonzero(reg.statuses() & JUDGED))
    assert abs(judged - 0.2 * n) < binomial_tol(n, 0.2)


def test_a_judged_debtor_is_not_listed_within_the_grace_days():
    desk = Desk()
    desk.next_day(DEFAULT)
    desk.next_day()  # judged on day 1
    status, _, acc = desk.until(60)
    assert status == JUDGED
    assert count(acc, "listed_stock") == 0


def test_a_judged_debtor_is_listed_after_the_grace_days(listed):
    status = int(listed.reg.statuses()[0])
    assert status == LISTED


def test_a_listing_is_counted_and_recorded_on_its_day():
    desk = Desk()
    desk.next_day(DEFAULT)
    status, records, acc = desk.until(61)
    assert status == LISTED
    assert records & JUDGMENT_UNPAID
    assert count(acc, "new_listings") == count(acc, "new_listed_people") == 1
    assert count(acc, "listed_stock") == 1


def test_a_listing_reaches_airlines_after_the_list_delay(listed):
    for day in range(62, 68):
        status, _, acc = listed.until(day)
        assert count(acc, "listed_shared_stock") == 0 and status == LISTED, day
    status, _, acc = listed.until(68)
    assert count(acc, "listed_shared_stock") == 1 and status == LISTED | SHARED


def registry_days(chunk: int, days: int = 200, n: int = 3_000, changes: dict | None = None,
                  every_day: bool = False) -> tuple[Registry, np.ndarray, np.ndarray]:
    """A registry of ``n`` citizens over ``days`` days of random case records (defaults, tax
    arrears, misconduct, payments), run on chunks of ``chunk``, with COURT's parameters and
    ``changes``; its counters summed; the lists each citizen was seen on at a day's end (bits
    EVER_*). ``every_day``: every row of the case book visited every day (each made due)."""
    sc = preset(**{"population.size": n, **COURT, "registry.misconduct_list_days": 30,
                   **(changes or {})})
    reg = alone(Registry, sc, build(sc.population, SEED))
    kinds = np.array([ACT_BIT["debt_default"], ACT_BIT["tax_arrears"],
                      ACT_BIT["onboard_misconduct"], PAY_DEBT, PAY_TAX], np.int64)
    rng, acc, seen = np.random.default_rng(3), new_acc(), np.zeros(n, np.int64)
    for day in range(days):
        records = np.where(rng.random(n) < 0.004, kinds[rng.integers(0, 5, n)], 0)
        reg.start_day(day, sc.start + dt.timedelta(days=day), sc)
        if every_day:
            reg.case_days[:, DUE] = 0
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            step(reg, lo, hi, acc, today_with(hi - lo, records=records[lo:hi]))
        reg.end_day(acc)
        for bit, ever in ((LISTED, EVER_LISTED), (EXIT_BAN, EVER_EXIT_BAN),
                          (MISCONDUCT, EVER_MISCONDUCT)):
            seen |= np.where(reg.statuses() & bit, ever, 0)
    return reg, acc, seen


def test_the_case_book_holds_the_citizens_with_a_case_or_a_past_listing_whatever_the_chunks():
    """The book's rows are the citizens with a status or ever listed, in order, with the lists
    they were on; statuses, listings and counters do not depend on the chunks."""
    whole, counts, seen = registry_days(3_000)
    assert whole.case_ids.dtype == ID
    assert np.array_equal(whole.case_ids, np.flatnonzero(whole.statuses() | seen))
    assert np.array_equal(whole.case_days[:, EVER], seen[whole.case_ids])
    closed = whole.case_days[:, STATUS] == 0
    assert closed.any() and (whole.case_days[closed, EVER] != 0).all()
    assert count(counts, "new_listings") > 0 and count(counts, "misconduct_listed") > 0
    assert count(counts, "exit_bans_new") > 0
    assert count(counts, "new_listed_people") == np.count_nonzero(seen & EVER_LISTED)
    for chunk in (37, 1_000):
        reg, acc, _ = registry_days(chunk)
        assert np.array_equal(reg.case_ids, whole.case_ids)
        assert np.array_equal(reg.case_days, whole.case_days)
        assert np.array_equal(acc, counts)


def test_the_registry_visits_a_row_on_its_due_day_as_if_every_day():
    """A case book's row is visited only on a day with a case record or on its due day (a
    judgment drawn, a grace period or a listing run out, a listing shared, a stale record's or
    a misconduct listing's end, a tax case's day for an exit ban): the same statuses, days and
    counters as a registry that visits every row every day."""
    quick = {"court.judgment_rate": 0.05, "court.grace_days": 20, "court.listing_days": 60,
             "tax.exit_ban_share": 0.5, "tax.exit_ban_after_days": 30}
    due, counts, seen = registry_days(1_000, days=300, changes=quick)
    every, every_counts, every_seen = registry_days(1_000, days=300, changes=quick,
                                                   every_day=True)
    kept = [c for c in range(COLUMNS) if c != DUE]
    assert np.array_equal(due.case_ids, every.case_ids)
    assert np.array_equal(due.case_days[:, kept], every.case_days[:, kept])
    assert np.array_equal(counts, every_counts) and np.array_equal(seen, every_seen)
    for name in ("judgments", "new_listings", "listing_expired", "exit_bans_new",
                 "paid_after_listing", "stale_stock", "misconduct_listed", "delisted"):
        assert count(counts, name) > 0, name
    assert (due.case_days[due.case_days[:, STATUS] == 0, DUE] == NEVER).all()


def test_a_change_of_the_registrys_values_makes_every_row_due_and_no_other_change_does():
    """A scenario changed on a date where the registry reads nothing keeps the rows' due days;
    one whose court values changed makes every row due the next day."""
    reg, _, _ = registry_days(1_000, days=100, changes={"court.judgment_rate": 0.05})
    due = reg.case_days[:, DUE].copy()
    assert (due > 0).all()
    date = reg.sc.start + dt.timedelta(days=100)
    reg.start_day(100, date, reg.sc.with_changes(**{"acts.plane_ticket.rate": 0.5}))
    assert np.array_equal(reg.case_days[:, DUE], due)
    reg.start_day(101, date, reg.sc.with_changes(**{"court.judgment_rate": 0.06}))
    assert not reg.case_days[:, DUE].any()


def test_paying_a_listed_debt_leaves_a_stale_record(listed):
    listed.until(79)
    status, _, acc = listed.next_day(PAY_DEBT)  # day 80
    assert status == STALE
    assert count(acc, "paid_after_listing") == count(acc, "delisted") == 1
    assert count(acc, "listed_stock") == 0
    assert count(acc, "stale_stock") == 1


def test_a_stale_record_lasts_until_the_removal_delay(listed):
    listed.until(79)
    listed.next_day(PAY_DEBT)  # day 80
    status, _, acc = listed.until(89)
    assert status == STALE and count(acc, "stale_stock") == 1
    status, _, acc = listed.until(90)
    assert status == 0
    assert count(acc, "stale_stock") == 0


def test_paying_before_the_listing_is_shared_leaves_no_stale_record(listed):
    status, _, acc = listed.next_day(PAY_DEBT)  # day 62, listed on day 61, shared from day 68
    assert status == 0
    assert count(acc, "paid_after_listing") == 1
    assert count(acc, "stale_stock") == 0


@pytest.mark.parametrize("stage", [IN_DEFAULT, JUDGED])
def test_paying_before_listing_closes_the_case_without_a_stale_record(stage):
    desk = Desk()
    desk.next_day(DEFAULT)
    if stage == JUDGED:
        desk.next_day()
    status, _, acc = desk.next_day(PAY_DEBT)
    assert status == 0
    assert count(acc, "paid_after_listing") == count(acc, "delisted") == 0


def test_a_listing_expires_after_listing_days():
    desk = Desk(**{"court.listing_days": 30})
    desk.next_day(DEFAULT)
    desk.until(61)  # listed
    status, _, acc = desk.until(90)
    assert status == LISTED | SHARED
    status, _, acc = desk.until(91)
    assert status == 0
    assert count(acc, "listing_expired") == count(acc, "delisted") == 1


def test_a_second_listing_is_a_new_listing_but_not_a_new_person(listed):
    listed.next_day(PAY_DEBT)  # day 62
    listed.until(100)
    listed.next_day(DEFAULT)  # day 101
    listed.next_day()  # judged on day 102
    status, _, acc = listed.until(162)
    assert status & LISTED
    assert count(acc, "new_listings") == 1
    assert count(acc, "new_listed_people") == 0


TAX = ACT_BIT["tax_arrears"]


def test_tax_arrears_open_a_tax_case():
    status, _, acc = Desk().next_day(TAX)
    assert status == TAX_CASE
    assert count(acc, "tax_cases") == 1


def test_a_tax_case_leads_to_an_exit_ban_after_its_days():
    desk = Desk()
    desk.next_day(TAX)  # day 0
    status, _, _ = desk.until(89)
    assert not status & EXIT_BAN
    status, records, acc = desk.until(90)
    assert status == TAX_CASE | EXIT_BAN
    assert records & TAX_LISTED
    assert count(acc, "exit_bans_new") == count(acc, "exit_ban_stock") == 1


def test_no_exit_ban_where_the_exit_ban_share_is_zero():
    desk = Desk(**{"tax.exit_ban_share": 0.0})
    desk.next_day(TAX)
    status, _, _ = desk.until(200)
    assert status == TAX_CASE


def test_an_exit_ban_after_zero_days_comes_at_once():
    desk = Desk(**{"tax.exit_ban_after_days": 0})
    desk.next_day(TAX)
    status, _, _ = desk.until(5)
    assert status & EXIT_BAN


def test_paying_tax_lifts_the_exit_ban():
    desk = Desk()
    desk.next_day(TAX)
    desk.until(90)  # banned
    status, _, acc = desk.next_day(PAY_TAX)
    assert status == 0
    assert count(acc, "delisted") == 1
    assert count(acc, "exit_ban_stock") == 0


def test_misconduct_on_board_puts_a_traveller_on_the_list():
    status, _, acc = Desk().next_day(ACT_BIT["onboard_misconduct"])
    assert status == MISCONDUCT
    assert count(acc, "misconduct_listed") == count(acc, "misconduct_stock") == 1


def test_the_misconduct_list_expires_after_its_days():
    desk = Desk()
    desk.next_day()
    desk.next_day(ACT_BIT["onboard_misconduct"])  # day 1
    status, _, acc = desk.until(365)
    assert status == MISCONDUCT and count(acc, "misconduct_stock") == 1
    status, _, acc = desk.until(366)
    assert status == 0
    assert count(acc, "delisted") == 1 and count(acc, "misconduct_stock") == 0


def test_misconduct_while_listed_extends_the_listing_without_a_new_one():
    desk = Desk()
    desk.next_day(ACT_BIT["onboard_misconduct"])  # day 0
    desk.until(99)
    _, _, acc = desk.next_day(ACT_BIT["onboard_misconduct"])  # day 100
    assert count(acc, "misconduct_listed") == 0
    status, _, _ = desk.until(400)
    assert status == MISCONDUCT
    status, _, _ = desk.until(465)
    assert status == 0


def test_bureaus_join_the_central_database_in_a_fixed_order():
    sc = preset(**{"population.size": 10})
    reg = alone(Registry, sc, build(sc.population, SEED))
    before = np.zeros(N_REGIONS, np.uint8)
    for date in (dt.date(2014, 1, 1), dt.date(2016, 1, 1), dt.date(2018, 1, 1),
                 dt.date(2020, 12, 31)):
        reg.start_day(0, date, sc)
        share = (date - dt.date(2014, 1, 1)).days / (dt.date(2020, 12, 31)
                                                    - dt.date(2014, 1, 1)).days
        assert reg.connected.sum() == round(share * N_REGIONS)
        assert np.all(reg.connected >= before)  # once connected, always connected
        before = reg.connected.copy()
    assert before.all()


# --------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------

class Card:
    """Scores for a handful of citizens; citizen 0's records are given day by day."""

    def __init__(self, score: int | None = None, true_score: int | None = None, **changes):
        self.sc = preset(**{"population.size": 10, "scoring.restore_rate": 0.0, **changes})
        self.scoring = alone(Scoring, self.sc, build(self.sc.population, SEED),
                             bad_company_term=NO_TERM, **measures_given(self.sc))
        if score is not None:
            self.scoring.set_scores(0, score, true_score)
        self.day = 0

    def next_day(self, records: int = 0) -> np.ndarray:
        self.day += 1
        self.scoring.start_day(self.day, DATE, self.sc)
        acc = new_acc()
        step(self.scoring, 0, 1, acc, today_with(1, records=records))
        return acc

    @property
    def score(self) -> int:
        return int(self.scoring.score[0])

    @property
    def true_score(self) -> int:
        return int(self.scoring.true_score[0])

    @property
    def cause(self) -> int:
        return int(self.scoring.wrong_cause[0])


POINT_RECORDS = {  # a record bit for each kind the preset gives points
    **{k: ACT_BIT[k] for k in ACT_KINDS},
    "judgment_unpaid": JUDGMENT_UNPAID, "tax_listed": TAX_LISTED, "content_flag": FLAG_TRUE,
}


@pytest.mark.parametrize("kind", sorted(preset().scoring.points))
def test_each_record_kind_moves_the_score_by_its_points(kind):
    card = Card()
    card.next_day(POINT_RECORDS[kind])
    points = card.sc.scoring.points[kind]
    assert card.score == card.true_score == card.sc.scoring.base + points


def test_records_without_points_leave_the_score_alone():
    card = Card()
    card.next_day(ACT_BIT["plane_ticket"] | PAY_DEBT | PAY_TAX)
    assert card.score == card.sc.scoring.base


def test_records_of_one_day_add_up():
    card = Card()
    card.next_day(ACT_BIT["late_bill"] | ACT_BIT["good_deed"] | JUDGMENT_UNPAID)
    assert card.score == 1000 - 20 + 30 - 50


@pytest.mark.parametrize(("record", "points", "cause"), [
    (FALSE_MATCH, 5, CAUSE_FALSE_MATCH),  # jaywalking points
    (FLAG_FALSE, 10, CAUSE_FALSE_FLAG),  # content_flag points
])
def test_a_wrong_record_costs_points_on_the_published_score_only(record, points, cause):
    card = Card()
    card.next_day(record)
    assert card.score == 1000 - points
    assert card.true_score == 1000
    assert card.cause == cause


def test_a_true_flag_counts_on_both_scores():
    card = Card()
    card.next_day(FLAG_TRUE | ACT_BIT["online_post"])
    assert card.score == card.true_score == 1000 - 10
    assert card.cause == 0


def test_scores_stop_at_the_maximum():
    card = Card(score=1290)
    card.next_day(ACT_BIT["good_deed"])
    assert card.score == card.true_score == 1300


def test_scores_stop_at_the_minimum():
    card = Card(score=10)
    card.next_day(JUDGMENT_UNPAID)
    assert card.score == card.true_score == 0


def expiring(score: int | None = None, **days: int) -> Card:
    """A card whose kinds in ``days`` lapse after that many days (no random restoration)."""
    return Card(score, **{"scoring.expires_days": days})


def test_points_lapse_the_day_they_expire():
    card = expiring(late_bill=3)
    card.next_day(ACT_BIT["late_bill"])
    scores = [card.score]
    for _ in range(3):
        acc = card.next_day()
        scores.append(card.score)
    assert scores == [980, 980, 980, 1000]
    assert count(acc, "records_lapsed") == 1
    assert card.true_score == 1000


def test_kinds_that_do_not_expire_stay():
    card = expiring(late_bill=1)
    card.next_day(ACT_BIT["late_bill"] | ACT_BIT["good_deed"])
    card.next_day()
    card.next_day()
    assert card.score == 1000 + 30


def test_a_lapse_gives_back_what_the_bounds_let_the_record_take():
    card = expiring(score=10, judgment_unpaid=2)
    card.next_day(JUDGMENT_UNPAID)
    assert card.score == 0
    card.next_day()
    card.next_day()
    assert card.score == card.true_score == 10


def test_a_wrong_record_that_lapses_leaves_no_wrong_cause():
    card = expiring(jaywalking=2)
    card.next_day(FALSE_MATCH)
    assert (card.score, card.true_score, card.cause) == (995, 1000, CAUSE_FALSE_MATCH)
    card.next_day()
    card.next_day()
    assert (card.score, card.true_score, card.cause) == (1000, 1000, 0)


@settings(max_examples=200, deadline=None)
@given(st.integers(-32_768, 32_767), st.integers(0, 65_535), st.data())
def test_a_score_gap_word_keeps_the_true_score_and_the_causes_over_any_span(lo, span, data):
    """Any two scores of a range and any wrong causes come back from the gap word, stored in
    the scenario's gap_dtype (two bytes up to a span of 4095 points)."""
    hi = min(lo + span, 32_767)
    dtype = gap_dtype(SimpleNamespace(scoring=SimpleNamespace(min=lo, max=hi)))
    assert dtype == (np.int16 if hi - lo <= 4095 else np.int32)
    s, t = (data.draw(st.integers(lo, hi)) for _ in range(2))
    cause = data.draw(st.integers(0, CAUSES))
    word = np.array([codes.gap_of(s, t, cause)]).astype(dtype)[0]
    assert (codes.true_of(s, word), codes.cause_of(word)) == (t, cause)


def test_scores_far_apart_keep_their_gap_through_a_day():
    """A range wider than two bytes' gap holds: the true score and its cause stay exact."""
    wide = {"scoring.min": -32_768, "scoring.max": 32_767,
            "scoring.grades": [{"name": "all", "min": -32_768, "max": 32_767}],
            "sanctions": [], "rewards": [], "scoring.bad_company": None}
    card = Card(**wide)
    card.scoring.set_scores(0, -30_000, 30_000, CAUSE_FALSE_FLAG)
    card.next_day(FALSE_MATCH)
    assert (card.score, card.true_score) == (-30_005, 30_000)
    assert card.cause == CAUSE_FALSE_FLAG | CAUSE_FALSE_MATCH


def test_an_expiring_record_is_owed_only_what_it_took_after_the_days_earlier_records():
    card = expiring(score=2, late_bill=1)
    card.next_day(ACT_BIT["jaywalking"] | ACT_BIT["late_bill"])  # -5 first, then -20 of 0 left
    assert card.score == 0
    card.next_day()
    assert card.score == 0  # the late bill took nothing, so nothing comes back


@pytest.mark.parametrize(("changes", "words"), [
    ({"scoring.expires_days": {"late_bill": 30}}, "restore_rate"),
    ({"scoring.expires_days": {"plane_ticket": 30}, "scoring.restore_rate": 0.0},
     "move no points"),
])
def test_expiry_needs_points_and_no_random_restoration(changes, words):
    with pytest.raises(scenario.ScenarioError, match=words):
        preset(**changes)


@pytest.mark.parametrize("name", ["china-2018", "court-list", "fuzhou", "eu-baseline"])
def test_the_citizens_with_more_than_a_lawful_post_are_marked(name):
    """The stages after behaviour visit only the marked (Today.marked): at the end of phase 1,
    the citizens marked are those with an act beyond a lawful post or with a record, a few
    percent. The registry visits the marked and the rows of its case book: every citizen with
    a status has one."""
    sc = scenario.load(name).with_changes(**{
        "population.size": 20_000, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 1, 20)})
    sim = Simulation(sc, seed=SEED, chunk_size=777, threads=2)
    seen = []

    def look(lo, hi, acc, today):
        n = hi - lo
        acts, records = today.acts[:n].astype(np.int64), today.records[:n]
        marked = np.unpackbits(today.marked.view(np.uint8), bitorder="little")[:n] != 0
        busy = ((acts & ~(1 << ONLINE_POST | POST_TYPE)) != 0) | (records != 0)
        seen.append(((busy != marked).sum(), busy.sum(), (records != 0).sum(), n))

    sim.phases[0].append(look)
    sim.run()
    wrong, busy, recorded, citizens = np.array(seen).sum(axis=0)
    assert wrong == 0
    registry = sim.stages["registry"]  # it visits the marked and the citizens with a case
    assert np.isin(np.flatnonzero(registry.statuses()), registry.case_ids).all()
    assert 0 < recorded < busy < 0.05 * citizens


def test_a_run_with_expiring_points_is_the_same_for_any_chunking():
    sc = preset(**{"population.size": 3_000, "start": dt.date(2018, 1, 1),
                   "end": dt.date(2018, 3, 31), "scoring.restore_rate": 0.0,
                   "scoring.expires_days": {"jaywalking": 20, "late_bill": 7, "good_deed": 30}})
    runs = [Simulation(sc, chunk_size=c, threads=t).run() for c, t in ((65_536, 1), (500, 2))]
    np.testing.assert_array_equal(runs[0].counts, runs[1].counts)
    assert runs[0].counts[:, :, INDEX["records_lapsed"]].sum() > 0


def test_restoration_raises_a_score_below_base():
    card = Card(score=990, **{"scoring.restore_rate": 1.0, "scoring.restore_points": 3})
    card.next_day()
    assert card.score == 993


def test_restoration_stops_at_base():
    card = Card(score=999, **{"scoring.restore_rate": 1.0, "scoring.restore_points": 3})
    card.next_day()
    assert card.score == 1000


def test_restoration_never_lowers_a_score_above_base():
    card = Card(score=1100, **{"scoring.restore_rate": 1.0})
    for _ in range(5):
        card.next_day()
    assert card.score == 1100


def test_restoration_happens_at_the_restore_rate():
    sc = preset(**{"population.size": 20_000, "scoring.restore_rate": 0.25})
    scoring = alone(Scoring, sc, build(sc.population, SEED), bad_company_term=NO_TERM,
                    **measures_given(sc))
    scoring.set_scores(slice(None), 900)
    scoring.start_day(1, DATE, sc)
    n = scoring.view.size
    step(scoring, 0, n, new_acc(), Today.of(n))
    restored = int(np.count_nonzero(scoring.score == 901))
    assert abs(restored - 0.25 * n) < binomial_tol(n, 0.25)


@pytest.mark.parametrize(("score", "true_score", "moved"), [
    (849, 849, 1),  # restored to 850, where measures change (china-2018's grades)
    (849, 900, 1),  # the published score alone crosses
    (900, 849, 1),  # the true score alone crosses
    (845, 845, 0),  # restored to 846: no measure changes
    (850, 850, 0),
])
def test_scoring_marks_a_citizen_whose_score_crosses_a_measures_cut(score, true_score, moved):
    """``Today.moved`` (what consequences work out standing from moved) where a restoration
    takes a published or true score across a score where the measures in force change."""
    card = Card(score, true_score, **{"scoring.restore_rate": 1.0})
    card.scoring.start_day(1, DATE, card.sc)
    today = today_with(1)
    step(card.scoring, 0, 1, new_acc(), today)
    assert card.score == min(score + 1, 1000) and int(today.moved[0]) == moved


def test_the_wrong_cause_clears_once_restoration_closes_the_gap():
    card = Card(**{"scoring.restore_rate": 1.0})
    card.next_day(FALSE_MATCH)  # 995 + 1 restored; true score stays at base
    assert card.cause == CAUSE_FALSE_MATCH
    for _ in range(3):
        card.next_day()
    assert card.score == 999 and card.cause == CAUSE_FALSE_MATCH
    card.next_day()
    assert card.score == card.true_score == 1000
    assert card.cause == 0


def test_a_wrong_record_across_a_cut_off_counts_a_wrongly_graded_citizen():
    card = Card(score=1050)  # AAA
    acc = card.next_day(FALSE_MATCH)  # 1045: AA, true score still AAA
    assert count(acc, "wrongly_graded") == 1
    assert count(acc, "grade_1") == 1  # counted in its published grade


def test_score_sums_are_counted():
    card = Card()
    acc = card.next_day(FALSE_MATCH)
    assert count(acc, "score_sum") == 995
    assert count(acc, "true_score_sum") == 1000


def test_the_grade_table_covers_every_score_with_the_presets_cut_offs():
    sc = preset()
    table, names = grade_table(sc)
    assert table.shape == (sc.scoring.max - sc.scoring.min + 1,)
    by_name = {g.name: g for g in sc.scoring.grades}
    for score in range(sc.scoring.min, sc.scoring.max + 1):
        g = by_name[names[table[score - sc.scoring.min]]]
        assert g.min <= score <= g.max, score


@pytest.mark.parametrize(("score", "grade"), [(1300, "AAA"), (1050, "AAA"), (1049, "AA"),
                                              (1030, "AA"), (1029, "A"), (1000, "A"),
                                              (960, "A"), (959, "B"), (850, "B"), (849, "C"),
                                              (600, "C"), (599, "D"), (0, "D")])
def test_grade_cut_offs(score, grade):
    table, names = grade_table(preset())
    assert names[table[score]] == grade


def test_grades_are_ordered_best_first():
    _, names = grade_table(preset())
    assert names == ["AAA", "AA", "A", "B", "C", "D"]


@given(citizens=st.lists(st.tuples(st.integers(-200, 1100), st.integers(0, 4),
                                   st.integers(0, ADOPT_STORED - 1)), min_size=300, max_size=300),
       threshold=st.integers(0, ADOPT_LEVELS), adults=st.booleans())
@settings(max_examples=50, deadline=None)
def test_ranking_counts_the_scored_and_percentiles_are_shares_at_or_below(citizens, threshold,
                                                                          adults):
    score, age, adopt = (np.array(c) for c in zip(*citizens, strict=True))
    scored = np.array([threshold, int(adults)], np.int64)
    counts = np.zeros(1301, np.int64)
    scored_counts(age.astype(np.uint8), adopt.astype(np.uint8), scored, score.astype(np.int16),
                  -200, counts)
    s = score[(adoption_ranks(adopt.astype(np.uint8), 0) < threshold)
              & ((age != CHILD) | (not adults))]
    np.testing.assert_array_equal(counts, np.bincount(s + 200, minlength=1301))
    counts, percentile = rank(counts)
    assert np.all(np.diff(percentile) >= 0)
    if s.size:
        assert percentile[s.max() + 200] == 100.0
        for x in (s.min(), int(np.median(s)), s.max()):
            assert percentile[x + 200] == pytest.approx(100.0 * np.mean(s <= x))


# --------------------------------------------------------------------------------------------
# consequences
# --------------------------------------------------------------------------------------------

QUIET_LIFE = {f"acts.{k}.rate": 0.0 for k in ("school_application", "job_application",
                                               "credit_application", "trip_abroad")}
PLANE_BIT = ACT_BIT["plane_ticket"]


class World:
    """All stages of a small population; consequences run on hand-set status, scores and acts."""

    def __init__(self, **changes) -> None:
        sc = preset(**{"population.size": 300, "registry.central_connected": ALWAYS_CONNECTED,
                       **QUIET_LIFE, **changes})
        self.sim = Simulation(sc, seed=SEED)
        self.pop = self.sim.pop
        self.acts = np.zeros(self.pop.size, np.uint64)
        self.day = 100

    def adult(self, k: int = 0) -> int:
        """The k-th adult without children."""
        has_child = np.zeros(self.pop.size, bool)
        has_child[self.pop.parent[self.pop.parent >= 0]] = True
        return int(np.flatnonzero((self.pop.band != CHILD) & ~has_child)[k])

    def family(self) -> tuple[int, np.ndarray]:
        """A parent and that parent's children."""
        parent = int(self.pop.parent[self.pop.parent >= 0][0])
        return parent, np.flatnonzero(self.pop.parent == parent)

    def list_on_court_list(self, i: int, days_ago: int = 30) -> None:
        """Citizen i's status as the registry leaves a court listing of ``days_ago`` days:
        shared with transport operators from list_delay_days on."""
        shared = days_ago >= self.sim.scenario.registry.list_delay_days
        self.sim.stages["registry"].set_statuses(i, LISTED | (SHARED if shared else 0))

    def set_scores(self, i: int, score: int, true_score: int, cause: int = 0) -> None:
        self.sim.stages["scoring"].set_scores(i, score, true_score, cause)

    def run_day(self, date: dt.date = DATE, connected: bool = True) -> np.ndarray:
        """One day of consequences (both phases, each ended as the simulation ends it, and the
        day) on 37-citizen chunks, 2 threads."""
        self.day += 1
        for name in ("behaviour", "registry", "scoring", "consequences"):
            self.sim.stages[name].start_day(self.day, date, self.sim.scenario)
        if not connected:
            registry = self.sim.stages["registry"]
            registry.view.publish("connected", np.zeros_like(registry.connected))
        acts, registry = self.acts, self.sim.stages["registry"]

        def give_acts(lo, hi, acc, today):
            """Today's acts, and the statuses as the registry leaves them in phase 1."""
            today.acts[: hi - lo] = acts[lo:hi]
            today.marked[:] = ~np.uint64(0)  # as behaviour marks at least those with an act
            statuses_into(registry.case_ids, registry.case_days, lo, today.status[: hi - lo])

        cons = self.sim.stages["consequences"]
        with Engine(self.pop.size, N_REGIONS, N_COUNTERS, chunk_size=37, threads=2) as eng:
            run = phases([cons], self.sim.views, self.sim.counters)
            acc = eng.run_day([[give_acts, *run[0]], run[1]], cons.end_phase)
        cons.end_day(acc[:, self.sim.counters.spans["consequences"]])
        return acc


def test_nobody_is_sanctioned_in_a_clean_world():
    world = World()
    world.acts[:] = PLANE_BIT
    acc = world.run_day()
    assert count(acc, "plane_ticket_attempts") == world.pop.size
    assert count(acc, "plane_ticket_blocked") == count(acc, "sanctioned_people_stock") == 0


def test_a_shared_court_listing_blocks_a_plane_ticket():
    world = World()
    i = world.adult()
    world.list_on_court_list(i)
    world.acts[i] = PLANE_BIT
    acc = world.run_day()
    assert count(acc, "plane_ticket_attempts") == count(acc, "plane_ticket_blocked") == 1
    assert count(acc, "plane_ticket_blocked_wrongful") == 0
    assert count(acc, "sanctioned_people_stock") == 1


def test_a_court_listing_not_yet_shared_does_not_block():
    world = World()
    i = world.adult()
    world.list_on_court_list(i, days_ago=3)  # list_delay_days is 7
    world.acts[i] = PLANE_BIT
    assert count(world.run_day(), "plane_ticket_blocked") == 0


def test_a_blocked_traveller_counts_once_as_a_person_over_several_attempts():
    world = World()
    i = world.adult()
    world.list_on_court_list(i)
    world.acts[i] = PLANE_BIT | ACT_BIT["train_ticket"]
    days = [world.run_day() for _ in range(3)]
    assert [count(acc, "plane_ticket_blocked") for acc in days] == [1, 1, 1]
    assert [count(acc, "plane_ticket_blocked_people") for acc in days] == [1, 0, 0]
    assert [count(acc, "train_ticket_blocked_people") for acc in days] == [1, 0, 0]


def test_a_stale_record_blocks_wrongfully_with_cause_stale():
    world = World()
    i = world.adult()
    world.sim.stages["registry"].set_statuses(i, STALE)
    world.acts[i] = PLANE_BIT
    acc = world.run_day()
    assert count(acc, "plane_ticket_blocked") == count(acc, "plane_ticket_blocked_wrongful") == 1
    assert count(acc, "wrongful_by_stale_record") == 1
    assert count(acc, "wrongful_by_false_match") == count(acc, "wrongful_by_false_flag") == 0
    assert count(acc, "wrongly_sanctioned_stock") == 1


@pytest.mark.parametrize(("cause", "counter"), [(CAUSE_FALSE_MATCH, "wrongful_by_false_match"),
                                                (CAUSE_FALSE_FLAG, "wrongful_by_false_flag")])
def test_a_wrong_record_that_pulls_the_grade_down_blocks_wrongfully_with_its_cause(cause,
                                                                                   counter):
    world = World()
    i = world.adult()
    world.set_scores(i, 590, 640, cause)  # published D (plane ban), true grade C
    world.acts[i] = PLANE_BIT
    acc = world.run_day()
    assert count(acc, "plane_ticket_blocked") == count(acc, "plane_ticket_blocked_wrongful") == 1
    assert count(acc, counter) == 1
    assert count(acc, "wrongful_by_stale_record") == 0
    assert count(acc, "wrongly_sanctioned_stock") == 1


def test_a_true_sanctioned_grade_blocks_rightfully():
    world = World()
    i = world.adult()
    world.set_scores(i, 590, 590)
    world.acts[i] = PLANE_BIT
    acc = world.run_day()
    assert count(acc, "plane_ticket_blocked") == 1
    assert (count(acc, "plane_ticket_blocked_wrongful")
            == count(acc, "wrongly_sanctioned_stock") == 0)


def test_a_grade_sanctions_only_where_the_bureau_is_connected():
    world = World()
    i = world.adult()
    world.set_scores(i, 590, 590)
    world.acts[i] = PLANE_BIT
    assert count(world.run_day(connected=False), "plane_ticket_blocked") == 0


def test_a_sanctioned_parents_child_is_refused_a_top_school():
    world = World()
    world.acts[world.pop.band == CHILD] = ACT_BIT["school_application"]  # every child applies
    parent, children = world.family()
    world.list_on_court_list(parent)
    acc = world.run_day()
    assert count(acc, "school_application_attempts") == int(np.sum(world.pop.band == CHILD))
    assert count(acc, "school_application_blocked") == len(children)
    assert count(acc, "school_ban_stock") == len(children)
    assert count(acc, "school_ban_people") == len(children)
    assert count(acc, "school_application_blocked_wrongful") == 0


def test_a_child_barred_for_a_stale_parent_record_is_barred_wrongfully():
    world = World()
    world.acts[world.pop.band == CHILD] = ACT_BIT["school_application"]
    parent, children = world.family()
    world.sim.stages["registry"].set_statuses(parent, STALE)
    acc = world.run_day()
    assert (count(acc, "school_application_blocked")
            == count(acc, "school_application_blocked_wrongful") == len(children))


def test_a_barred_child_counts_once_as_a_person():
    world = World()
    parent, children = world.family()
    world.list_on_court_list(parent)
    days = [world.run_day() for _ in range(3)]
    assert [count(acc, "school_ban_people") for acc in days] == [len(children), 0, 0]
    assert [count(acc, "school_ban_stock") for acc in days] == [len(children)] * 3


def test_no_school_ban_before_it_starts():
    world = World()
    world.acts[world.pop.band == CHILD] = ACT_BIT["school_application"]
    parent, _ = world.family()
    world.list_on_court_list(parent)
    assert count(world.run_day(date=dt.date(2017, 12, 31)), "school_application_blocked") == 0


def test_a_listed_manager_is_counted_under_the_management_ban():
    world = World()
    managers = np.flatnonzero((world.pop.flags & MANAGER) != 0)
    assert managers.size > 0
    world.list_on_court_list(int(managers[0]))
    assert count(world.run_day(), "management_ban_stock") == 1


def test_the_best_grade_gets_a_transport_discount():
    world = World()
    i = world.adult()
    world.set_scores(i, 1100, 1100)  # AAA
    world.acts[i] = PLANE_BIT
    acc = world.run_day()
    assert count(acc, "transport_discount_granted") == 1
    assert count(acc, "plane_ticket_blocked") == 0


@pytest.mark.parametrize("attempt", ["job_application", "credit_application"])
def test_a_wrongful_block_counts_as_one_block(attempt):
    world = World()
    world.acts[world.pop.band != CHILD] = ACT_BIT[attempt]  # every adult applies
    i = world.adult()
    world.set_scores(i, 590, 1000, CAUSE_FALSE_MATCH)  # published D, true A
    acc = world.run_day()
    assert count(acc, f"{attempt}_attempts") == int(np.sum(world.pop.band != CHILD))
    assert count(acc, f"{attempt}_blocked") == 1
    assert count(acc, f"{attempt}_blocked_wrongful") == 1


@pytest.mark.parametrize("attempt", ["job_application", "credit_application"])
def test_a_rightful_block_counts_as_one_block(attempt):
    world = World()
    world.acts[world.pop.band != CHILD] = ACT_BIT[attempt]
    world.set_scores(world.adult(), 590, 590)
    assert count(world.run_day(), f"{attempt}_blocked") == 1


def test_sanctions_start_on_their_start_date():
    sc = preset()
    _, names = grade_table(sc)
    before = active_masks(sc, names, dt.date(2017, 12, 31))
    after = active_masks(sc, names, dt.date(2018, 1, 1))
    court, c_grade, d_grade = 0, names.index("C"), names.index("D")
    for masks in (before, after):
        assert masks.lists[court] & PLANE and masks.lists[court] & TRAIN  # no start: always on
        assert masks.grades[d_grade] & PLANE
    assert not before.lists[court] & SCHOOL and after.lists[court] & SCHOOL
    assert not before.grades[c_grade] & SCHOOL and after.grades[c_grade] & SCHOOL
    assert not before.grades[d_grade] & JOB and after.grades[d_grade] & JOB
    assert before.grades[c_grade] & CREDIT


def test_rewards_start_on_their_start_date():
    sc = preset()
    _, names = grade_table(sc)
    before = active_masks(sc, names, dt.date(2017, 12, 31)).rewards
    after = active_masks(sc, names, dt.date(2018, 1, 1)).rewards
    assert not before.any()
    assert after[names.index("AAA")] & REWARD_BIT["transport_discount"]
    assert not after[names.index("A")]


def test_masks_name_only_the_lists_and_grades_a_sanction_names():
    sc = preset()
    _, names = grade_table(sc)
    lists, grades, _, _ = active_masks(sc, names, DATE)
    assert lists[codes.LISTS.index("tax")] == SANCTION_BIT["exit_ban"]
    assert lists[codes.LISTS.index("travel_misconduct")] == PLANE | TRAIN
    assert grades[names.index("A")] == 0
