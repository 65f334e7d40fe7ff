"""The documented schemes as presets: each runs, and each shows the rule that defines it."""

from __future__ import annotations

import datetime as dt
import json
import tomllib

import numpy as np
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language import scenario
from panopticon.language.scenario import PRESETS
from panopticon.readers.results import write_run
from panopticon.runner.rundata import RunData
from panopticon.runner.simulation import Simulation
from panopticon.stages.consequences import active_masks, score_steps, standing
from panopticon.stages.scoring import cap_tables, points_table
from panopticon.stages.sensing import camera_density
from panopticon.world.codes import is_scored
from panopticon.world.layout import record_bits
from panopticon.world.population import CHILD, build, load_regions

START, END = dt.date(2017, 1, 1), dt.date(2018, 12, 31)


def tiny(name: str, **changes) -> scenario.Scenario:
    base = {"population.size": 3000, "start": START, "end": END}
    return scenario.load(name).with_changes(**{**base, **changes})


def totals(data: RunData, name: str) -> np.ndarray:
    """A counter per day, summed over regions; zeros where the run's catalog has none."""
    if name not in data.counter_names:
        return np.zeros(len(data.dates), np.int64)
    return data.counter(name)[..., 0].sum(axis=1)


def bit(sc: scenario.Scenario, sanction: str) -> int:
    """The bit of a sanction, its place among the scenario's."""
    return 1 << [s.name for s in sc.sanctions].index(sanction)


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_runs_on_a_tiny_population(name):
    sc = tiny(name, start=max(START, scenario.load(name).start))
    data = Simulation(sc).run()
    assert (totals(data, "citizens") == 3000).all()
    schemes = name != "census"  # every scheme keeps the courts; the census has no scheme
    assert (totals(data, "defaults_recorded").sum() > 0) == schemes
    assert (totals(data, "scored_citizens").sum() > 0) == (sc.scoring.who != "nobody")
    graded = sum(totals(data, f"grade_{g}") for g in range(len(data.grade_names)))
    assert (graded == totals(data, "scored_citizens")).all()


def test_the_census_is_china_2018_without_its_scheme():
    """The base of schemes of one's own holds china-2018's people and institutions, so that a
    scheme written on it and the preset meet the same population and courts."""
    census, china = scenario.load("census"), scenario.load("china-2018")
    for table in ("start", "end", "population", "court", "tax", "registry"):
        assert getattr(census, table) == getattr(china, table), table
    assert census.sensing.cameras == china.sensing.cameras
    assert not (census.acts or census.channels or census.sanctions or census.rewards)
    assert census.scoring.who == "nobody" and census.speech is census.fear is None


# court-list and eu-baseline: no score

@pytest.mark.parametrize("name", ["court-list", "eu-baseline"])
def test_schemes_without_a_score_sanction_only_from_lists(name):
    data = Simulation(tiny(name)).run()
    c = data
    assert not totals(c, "scored_citizens").any() and not data.ranking[0].any()
    on_lists = sum(totals(c, n) for n in ("listed_stock", "stale_stock", "exit_ban_stock",
                                          "misconduct_stock"))
    assert (totals(c, "sanctioned_people_stock") <= on_lists).all()
    assert totals(c, "sanctioned_people_stock").any()
    for counter in ("job_application_blocked", "internet_throttle_stock", "bad_company_stock",
                    "transport_discount_granted", "easy_credit_granted"):
        assert not totals(c, counter).any(), counter


def test_the_same_world_under_china_2018_sanctions_by_grade():
    """The check above can fail: china-2018 sanctions some who are on no list."""
    c = Simulation(tiny("china-2018")).run()
    on_lists = sum(totals(c, n) for n in ("listed_stock", "stale_stock", "exit_ban_stock",
                                          "misconduct_stock"))
    assert (totals(c, "sanctioned_people_stock") > on_lists).any()


# eu-baseline: a travel ban only from misconduct on board

@pytest.mark.parametrize(("name", "misconduct", "banned"), [
    ("eu-baseline", 0.0, False), ("eu-baseline", 0.001, True), ("china-2018", 0.0, True)])
def test_eu_baseline_bans_travel_only_for_misconduct_on_board(name, misconduct, banned):
    c = Simulation(tiny(name, **{"acts.onboard_misconduct.rate": misconduct})).run()
    assert totals(c, "listed_stock").any()  # judgment debtors are listed all the same
    blocked = totals(c, "plane_ticket_blocked").sum() + totals(c, "train_ticket_blocked").sum()
    assert (blocked > 0) == banned


def test_eu_baseline_masks_name_only_own_domain_lists():
    sc = scenario.load("eu-baseline")
    lists, grades, rewards, _ = active_masks(sc, ["A"] * len(sc.scoring.grades), END)
    assert not grades.any() and not rewards.any()
    court, tax, misconduct = lists
    assert court == bit(sc, "credit_denied") and tax == 0
    assert misconduct == bit(sc, "plane_ban") | bit(sc, "train_ban")


# sesame: payment-app users only

def test_sesame_scores_payment_users_only_and_never_sanctions_the_rest():
    sc = tiny("sesame", **{"acts.debt_default.rate": 0.003, "court.judgment_rate": 0.05})
    sim = Simulation(sc)
    data = sim.run()
    scored = is_scored.py_func(sim.pop.age, sim.pop.rank, sim.state.read("scored"))
    score = sim.state.read("score")
    assert 0 < scored.sum() < sc.population.size
    assert (score[~scored] == sc.scoring.base).all()  # records move no score
    poor = score < 550
    assert poor[scored].any()
    assert data.ranking[0].sum() == scored.sum()
    final = totals(data, "scored_citizens")[-1]
    assert final == scored.sum()


def test_an_unscored_citizen_meets_no_grade_sanction_or_reward():
    sc = scenario.load("sesame")
    state = Simulation(tiny("sesame", **{"population.size": 50})).state
    masks = active_masks(sc, state.read("grade_names").tolist(), END)
    cuts, steps = score_steps(state.read("grade_of"), sc.scoring.min, masks)
    lists = np.zeros(3, np.int64)
    for scored in (True, False):
        for score in (400, 800):
            sanc, _, rew = standing.py_func(0, 0, 0, score, score, scored, lists, cuts, steps)
            assert (sanc == bit(sc, "credit_denied")) == (scored and score == 400)
            assert (rew != 0) == (scored and score == 800)


def test_sesame_weights_fold_into_points():
    sc = scenario.load("sesame")
    table = points_table(sc)
    for factor in sc.scoring.factors:
        for kind in factor.kinds:
            expected = round(factor.weight * sc.scoring.points[kind])
            assert (table[record_bits(sc, kind)] == expected).all(), kind
    assert table.min() == round(0.35 * -200)


# fuzhou: volunteering capped at 50 points

def fuzhou_volunteers(per: str) -> Simulation:
    sc = tiny("fuzhou", **{"acts.good_deed.rate": 0.05, "scoring.caps": {
        "good_deed": {"points": 50, "per": per}}})
    sim = Simulation(sc)
    sim.run()
    return sim


def test_fuzhou_no_one_gains_more_than_the_cap_from_volunteering():
    sim = fuzhou_volunteers("total")
    base = sim.scenario.scoring.base
    earned, score = sim.state.read("earned"), sim.state.read("score")
    scored = is_scored.py_func(sim.pop.age, sim.pop.rank, sim.state.read("scored"))
    assert earned.max() == 50
    assert score.max() == base + 50  # volunteering is the one kind that adds
    assert (earned[0][scored] == 50).mean() > 0.5  # it binds


def test_a_yearly_cap_starts_again_each_january():
    sim = fuzhou_volunteers("year")
    base = sim.scenario.scoring.base
    assert sim.state.read("earned").max() == 50
    assert sim.state.read("score").max() == base + 100  # two calendar years, 50 in each


def test_cap_tables_cover_every_bit_of_a_capped_kind():
    cap_of, cap_points = cap_tables(scenario.load("fuzhou"))
    assert cap_points.tolist() == [50]
    assert (cap_of >= 0).sum() == 1


# rongcheng and fuzhou: a city's adults

@pytest.mark.parametrize(("name", "code"), [("rongcheng", "370000"), ("fuzhou", "350000")])
def test_a_city_lives_in_its_province_with_national_shares(name, code):
    sc = scenario.load(name).with_changes(**{"population.size": 20_000})
    pop = build(sc.population, 1)
    assert pop.regions.codes == [code] and (pop.region == 0).all()
    assert pop.regions.national == load_regions().total
    everywhere = camera_density(scenario.load("china-2018"), build(
        scenario.load("china-2018").population.model_copy(update={"size": 20_000}), 1).regions)
    np.testing.assert_allclose(camera_density(sc, pop.regions),
                               everywhere[load_regions().codes.index(code)][None, :])


def test_rongcheng_scores_adults_only():
    sim = Simulation(tiny("rongcheng"))
    data = sim.run()
    children = sim.pop.band == CHILD
    assert children.any()
    score = sim.state.read("score")
    assert (score[children] == sim.scenario.scoring.base).all()
    assert totals(data, "scored_citizens")[-1] == (~children).sum()
    assert (score[~children] != sim.scenario.scoring.base).any()


def test_a_city_is_not_compared_with_national_figures(tmp_path):
    out = write_run(Simulation(tiny("rongcheng", **{"population.size": 500})).run(),
                    tmp_path / "run")
    assert json.loads((out / "summary.json").read_text())["published_comparison"] == []


def test_a_city_run_from_the_command_line_keeps_the_city_people(tmp_path):
    out = tmp_path / "city"
    result = CliRunner().invoke(app, ["run", "rongcheng", "--population", "2000", "--end",
                                      "2014-03-31", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "models a city, so none is compared" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scale"] == pytest.approx(720_000 / 2000)


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_round_trips_through_toml(name):
    sc = scenario.load(name)
    assert scenario.validate(tomllib.loads(sc.to_toml()), name) == sc
