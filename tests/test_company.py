"""Bad company: the ties term of the score, from the standing of a citizen's ties."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from panopticon.language import scenario
from panopticon.runner.simulation import Simulation
from panopticon.stages import counters
from panopticon.stages.scoring import restore_and_clamp
from panopticon.world import state
from panopticon.world.codes import CAUSE_TIES, LISTED, is_scored
from panopticon.world.ties import REACHES, build_csr, make_ties

INDEX = counters(scenario.load("china-2018")).index  # the runs here keep its catalog

START = dt.date(2018, 1, 1)


def small(**changes) -> scenario.Scenario:
    base = {"population.size": 3000, "start": dt.date(2017, 12, 1), "end": dt.date(2018, 3, 31)}
    return scenario.load("china-2018").with_changes(**{**base, **changes})


@pytest.fixture()
def sim() -> Simulation:
    return Simulation(small())


def start_day(sim: Simulation, date: dt.date) -> None:
    """Company measures the term on the standing so far; scoring applies it (their start_day)."""
    day = (date - sim.scenario.start).days
    for name in ("company", "scoring"):
        sim.stages[name].start_day(day, date, sim.scenario.on(date))


def listed_share(sim: Simulation, flag: np.ndarray) -> np.ndarray:
    """Mean over the preset's reaches of the share of each citizen's ties that are flagged."""
    ties = make_ties(sim.pop, sim.seed)
    shares = []
    for reach in sim.scenario.scoring.bad_company.reach:
        c = build_csr(ties, REACHES.index(reach))
        deg = np.diff(c.indptr)
        rows = np.repeat(np.arange(len(deg)), deg)
        bad = np.bincount(rows, weights=flag[c.indices], minlength=len(deg))
        shares.append(bad / np.maximum(deg, 1))
    return np.mean(shares, axis=0)


@pytest.mark.parametrize("block", [None, 37, 1000])
def test_the_term_is_weight_times_the_share_of_listed_ties(sim, monkeypatch, block):
    """On any block of citizens that company measures and scoring applies at a time; its
    counts per region are the citizens with a term and the points lost."""
    if block is not None:
        monkeypatch.setattr(state, "BLOCK", block)
    rng = np.random.default_rng(0)
    listed = rng.random(sim.pop.size) < 0.1
    sim.stages["registry"].set_statuses(np.flatnonzero(listed), LISTED)
    start_day(sim, START)
    weight = sim.scenario.scoring.bad_company.weight
    expected = np.rint(weight * listed_share(sim, listed.astype(np.uint8)))
    np.testing.assert_array_equal(sim.state.read("ties_term"), expected)
    region = np.searchsorted(sim.pop.starts, np.arange(sim.pop.size), "right") - 1
    counts = sim.stages["company"].counts
    np.testing.assert_array_equal(counts[:, 0], np.bincount(region, expected != 0,
                                                            len(counts)))
    np.testing.assert_array_equal(counts[:, 1], np.bincount(region, np.maximum(-expected, 0),
                                                            len(counts)))
    assert (expected < 0).sum() > sim.pop.size // 4  # a tenth listed touches many


@pytest.mark.parametrize(("weight", "dtype"), [
    (-100, np.int8), (-127, np.int8), (-128, np.int16), (400, np.int16),
    ({"shape": "steps", "points": [{"date": dt.date(2017, 6, 1), "value": -300},
                                   {"date": dt.date(2018, 6, 1), "value": -20}]}, np.int16)])
def test_the_term_takes_a_byte_where_its_weight_fits_one(weight, dtype):
    """A term is at most its weight (a share of 1), on any date of a schedule; a weight of
    -300 needs two bytes and gets them, whole, where every tie is listed (a reach without ties
    counts a share of 0)."""
    sim = Simulation(small(**{"scoring.bad_company.weight": weight}))
    assert sim.stages["scoring"].ties_term.dtype == dtype
    sim.stages["registry"].set_statuses(np.arange(sim.pop.size), LISTED)
    start_day(sim, START)
    w = weight if isinstance(weight, int) else -300
    v = sim.views["scoring"]
    scored = is_scored.py_func(v.age, sim.pop.rank, sim.state.read("scored"))
    share = listed_share(sim, np.ones(sim.pop.size, np.uint8))
    np.testing.assert_array_equal(sim.state.read("ties_term"),
                                  np.where(scored, np.rint(w * share), 0))
    assert (scored & (share == 1)).sum() > sim.pop.size // 10


def test_the_term_moves_the_published_score_only_and_is_a_wrong_cause(sim):
    sim.stages["registry"].set_statuses(np.arange(0, sim.pop.size, 7), LISTED)
    start_day(sim, START)
    scoring = sim.stages["scoring"]
    term = scoring.ties_term.astype(int)
    base = sim.scenario.scoring.base
    np.testing.assert_array_equal(scoring.score, base + term)
    assert (scoring.true_score == base).all()
    has_term = term != 0
    assert ((scoring.wrong_cause & CAUSE_TIES) != 0).tolist() == has_term.tolist()


def test_the_term_changes_by_difference_when_company_improves(sim):
    registry, scoring = sim.stages["registry"], sim.stages["scoring"]
    registry.set_statuses(np.arange(0, sim.pop.size, 7), LISTED)
    start_day(sim, START)
    scoring.score[:] -= 3  # a record of the citizens' own stays
    registry.set_statuses(np.arange(sim.pop.size), 0)
    start_day(sim, START + dt.timedelta(days=30))
    assert (scoring.ties_term == 0).all()
    assert (scoring.score == sim.scenario.scoring.base - 3).all()
    assert not (scoring.wrong_cause & CAUSE_TIES).any()


def test_restoration_stops_at_base_plus_the_term():
    assert restore_and_clamp(990, 990, True, 1000, -10, 1, 0, 1300) == (990, 991)
    assert restore_and_clamp(985, 1000, True, 1000, -10, 1, 0, 1300) == (986, 1000)


def test_the_term_is_recomputed_every_lag_days_from_its_start(sim):
    first = (START - sim.scenario.start).days
    lag = sim.scenario.scoring.bad_company.lag_days
    due = [d for d in range(sim.scenario.days)
           if sim.stages["company"].due(d, sim.scenario.start + dt.timedelta(days=d))]
    assert due == list(range(first, sim.scenario.days, lag))


@pytest.mark.parametrize("off", [None, {**small().scoring.bad_company.model_dump(),
                                          "enabled": False}])
def test_without_the_term_nothing_is_built_or_counted(off):
    sim = Simulation(small(**{"scoring.bad_company": off}))
    assert sim.stages["company"].tally is None
    counts = sim.run().counts
    assert counts[..., INDEX["bad_company_stock"]].sum() == 0


ACTS = [i for i, n in enumerate(counters(scenario.load("china-2018")).names)
        if n.startswith("acts_")]
# from 2014, so that scores have drifted near the grades' cut-offs when the term starts in 2018
SINCE_2014 = {"start": dt.date(2014, 1, 1), "end": dt.date(2018, 8, 31)}


def with_and_without_term(**changes) -> list[tuple[np.ndarray, np.ndarray]]:
    """Counts, and who is under a sanction at the end of each day, with the term and without."""
    runs = []
    for term in ({}, {"scoring.bad_company": None}):
        sim = Simulation(small(**SINCE_2014, **changes, **term))
        days: list[np.ndarray] = []
        counts = sim.run(lambda done, total, s=sim, d=days: d.append(
            s.stages["consequences"].sanctioned())).counts
        runs.append((counts, np.array(days)))
    return runs


def first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    """The first day (index of the leading axis) on which ``a`` and ``b`` differ, or None."""
    days = np.flatnonzero((a != b).reshape(a.shape[0], -1).any(axis=1))
    return int(days[0]) if days.size else None


def test_without_fear_the_term_changes_sanctions_but_leaves_acts_alone():
    (on, sanctioned_on), (off, sanctioned_off) = with_and_without_term(**{"fear.enabled": False})
    assert first_difference(sanctioned_on, sanctioned_off) is not None  # the term sanctions
    np.testing.assert_array_equal(on[..., ACTS], off[..., ACTS])
    first = (START - SINCE_2014["start"]).days
    assert on[:first, :, INDEX["bad_company_stock"]].sum() == 0
    assert on[first:, :, INDEX["bad_company_stock"]].sum(axis=1).min() > 0


def test_with_fear_the_term_changes_acts_only_through_the_sanctions_it_causes():
    """Fear rises under a sanction (one's own or a tie's), and acts answer to fear: acts are the
    same up to the first day the term has changed who is under a sanction, and differ after
    (posts chilled far more than the preset's, so that the changed risk of the few citizens
    whose sanction the term changed shows in their posts at this size)."""
    (on, sanctioned_on), (off, sanctioned_off) = with_and_without_term(
        **{"fear.chilling": 0.9, "fear.chilling_against": 0.9})
    day = first_difference(sanctioned_on, sanctioned_off)
    assert day is not None and day >= (START - SINCE_2014["start"]).days
    np.testing.assert_array_equal(on[: day + 1, :, ACTS], off[: day + 1, :, ACTS])
    assert first_difference(on[..., ACTS], off[..., ACTS]) is not None


@pytest.mark.parametrize(("setting", "message"), [
    ("lists = []\ngrades = []", "names no grade and no list"),
    ('reach = ["enemies"]', "'enemies'"),
    ('grades = ["Z"]', "unknown grade"),
])
def test_bad_company_settings_are_validated(tmp_path, setting, message):
    path = tmp_path / "company.toml"
    path.write_text(f'extends = "china-2018"\n[scoring.bad_company]\n{setting}\n')
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load(path)
    assert "scoring.bad_company" in str(info.value) and message in str(info.value)


LISTS = Path(__file__).parent / "scenarios" / "lists.toml"


def test_a_tie_on_a_black_list_of_the_schemes_is_bad_company():
    """A list of the scheme's own counts as a process list does: on it as published."""
    sc = scenario.load(LISTS).with_changes(**{
        "population.size": 3000, "start": dt.date(2017, 12, 1), "end": dt.date(2018, 3, 31),
        "scoring.bad_company.lists": ["red_light_blacklist"], "scoring.bad_company.grades": []})
    sim = Simulation(sc)
    black = list(sc.lists).index("red_light_blacklist")
    listed = np.random.default_rng(1).random(sim.pop.size) < 0.1
    sim.stages["lists"].on[listed] = 1 << black
    sim.stages["lists"].on[~listed & (np.arange(sim.pop.size) % 3 == 0)] = (
        1 << list(sc.lists).index("honour_roll"))  # a red list is not bad company
    sim.stages["lists"].on_true[:] = 0  # the true evidence does not count: published
    start_day(sim, START)
    weight = sc.scoring.bad_company.weight
    expected = np.rint(weight * listed_share(sim, listed.astype(np.uint8)))
    np.testing.assert_array_equal(sim.state.read("ties_term"), expected)
    assert (expected < 0).sum() > 0
