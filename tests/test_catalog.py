"""The catalog as data: acts, channels, sanctions and rewards by any name, every reference to a
name checked, with no Python to add one (issue 10, item 1)."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language import catalog
from panopticon.language.scenario import (
    MOVED,
    PRESETS,
    Scenario,
    ScenarioError,
    load,
    validate,
)
from panopticon.readers import report
from panopticon.readers.scheme import scheme
from panopticon.runner.simulation import Simulation
from panopticon.stages import counters
from panopticon.world.layout import Layout
from panopticon.world.population import CHILD, URBAN

PARKING = Path(__file__).parent / "scenarios" / "parking.toml"
EXTENDS = 'extends = "china-2018"\n'


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "user.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(path)
    return str(info.value)


def test_a_new_act_channel_attempt_and_sanction_are_data():
    sc = load(PARKING)
    parking = sc.acts["unpaid_parking"]
    assert (parking.channel, parking.propensity, parking.nature) == (
        "parking_wardens", "offence", "offence")
    assert parking.who.area == "urban" and parking.who.income == [3, 10]
    assert sc.channels["parking_wardens"].false_as == "unpaid_parking"
    assert "loan_application" in catalog.attempts(sc)
    assert [s.blocks for s in sc.sanctions if s.name == "no_bank_loans"] == [
        ["loan_application"]]
    assert "unpaid_parking" in catalog.record_kinds(sc)
    assert catalog.false_channels(sc) == ["cameras", "parking_wardens"]
    assert sc.warnings() == []


def test_china_2018_declares_its_catalog():
    sc = load("china-2018")
    assert catalog.attempts(sc) == ["plane_ticket", "train_ticket", "trip_abroad",
                                    "job_application", "credit_application",
                                    "school_application"]
    assert {n: a.opens for n, a in sc.acts.items() if a.opens != "none"} == {
        "debt_default": "court", "tax_arrears": "tax", "onboard_misconduct": "travel_misconduct"}
    assert sc.acts["school_application"].who == "children"
    assert {s.name: (s.blocks, s.bears) for s in sc.sanctions}["school_ban"] == (
        ["school_application"], "children")


@pytest.mark.parametrize("name", PRESETS)
def test_no_preset_warns_of_an_idle_attempt(name):
    assert not [w for w in load(name).warnings() if "attempt" in w]


def test_an_attempt_that_nothing_blocks_or_favours_is_warned_of(tmp_path):
    path = tmp_path / "idle.toml"
    path.write_text(EXTENDS + "[acts.visa_application]\nrate = 0.0001\nnature = \"attempt\"\n",
                    encoding="utf-8")
    assert load(path).warnings() == [
        ("china-2018-extended: attempt act(s) visa_application meet no sanction and no reward:"
         " they are counted, never refused or favoured")]


def test_the_story_text_defaults_to_the_name_in_words():
    sc = load(PARKING)
    assert sc.acts["unpaid_parking"].words("unpaid_parking") == "left a parking fine unpaid"
    assert sc.acts["unpaid_parking"].model_copy(update={"text": ""}).words(
        "unpaid_parking") == "unpaid parking"


@pytest.mark.parametrize(("field", "hint"), [
    ("[life]\njob_apply_rate = 0.002\n", "[life] became attempt acts"),
    ("[sensing]\nface_hit_rate = 0.9\n", "it is channels.cameras.hit now"),
    ("[sensing]\ngood_deed_reported = 0.2\n", "it is channels.good_deed_reports.hit now"),
])
def test_a_field_of_the_old_language_says_where_it_went(tmp_path, field, hint):
    message = _error(tmp_path, EXTENDS + field)
    assert "unknown field" in message and hint in message
    assert len(message.splitlines()) == 1


def test_every_moved_field_is_gone_from_the_language():
    """A hint for a field that still exists would never be shown: the map must name old ones."""
    for loc in MOVED:
        data = load("china-2018").model_dump()
        node = data
        for part in loc[:-1]:
            node = node[0] if part == "*" else node.get(part, {})
        assert loc[-1] not in node, loc


def test_a_who_of_the_wrong_type_is_one_line(tmp_path):
    message = _error(tmp_path, EXTENDS + "[acts.jaywalking]\nwho = 5\n")
    assert message.endswith("field 'acts.jaywalking.who': value 5 is not allowed; it must be one"
                            " of 'adults', 'children', 'everyone', 'internet_users',"
                            " 'payment_users' (or a table of traits (group, age, area, income,"
                            " uses, roles))")


def test_a_who_table_round_trips_through_toml(tmp_path):
    sc = load(PARKING)
    again = tmp_path / "again.toml"
    again.write_text(sc.to_toml(), encoding="utf-8")
    assert load(again) == sc


def test_removing_an_act_that_scoring_names_says_where(tmp_path):
    message = _error(tmp_path, EXTENDS + "[acts.good_deed]\nremove = true\n")
    assert "field 'scoring.points.good_deed': unknown record kind 'good_deed'" in message
    assert message.endswith("(set in china-2018)")


NAME = re.compile(catalog.NAME_PATTERN)


@given(st.from_regex(catalog.NAME_PATTERN, fullmatch=True))
def test_any_name_of_the_pattern_names_an_act(name):
    if name in catalog.RESERVED or name in load("china-2018").acts:
        return
    data = tomllib.loads(load("china-2018").to_toml())
    data["acts"][name] = {"rate": 0.001, "nature": "attempt"}
    data["sanctions"].append({"name": f"no_{name}"[:40], "lists": ["court"], "blocks": [name]})
    sc = validate(data, "test")
    assert name in catalog.attempts(sc) and sc.warnings() == []


@given(st.text(min_size=1, max_size=50).filter(lambda s: not NAME.fullmatch(s)))
def test_a_name_off_the_pattern_is_refused_in_one_line(name):
    data = tomllib.loads(load("china-2018").to_toml())
    data["acts"][name] = {"rate": 0.001}
    with pytest.raises(ScenarioError) as info:
        validate(data, "test")
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "is not allowed; it must be a string (a name is 1 to 40 lower-case" in message


def test_a_scenario_is_a_pydantic_model_of_the_catalog():
    """Scenario.acts is a table of free names: the schema no longer lists act kinds."""
    schema = Scenario.model_json_schema()
    assert list(schema["properties"]["acts"]["patternProperties"]) == [catalog.NAME_PATTERN]


# ------------------------------------------------------------------ the catalog in the engine

def test_who_admits_exactly_the_citizens_whose_traits_it_names():
    """An act of rate 1 and no propensity is done by every citizen its ``who`` admits, and by
    no one else: the masks per trait value are the conditions ANDed."""
    sc = load(PARKING).with_changes(**{
        "population.size": 5000, "end": load(PARKING).start, "acts.unpaid_parking.rate": 1.0,
        "acts.unpaid_parking.propensity": "none"})
    sim = Simulation(sc)
    acts = np.zeros(sim.pop.size, np.uint64)

    def keep(lo: int, hi: int, acc: np.ndarray, today) -> None:  # after behaviour's step
        acts[lo:hi] = today.acts[: hi - lo]

    sim.phases[0].insert(1, keep)
    sim.run()
    pop = sim.pop
    admitted = ((pop.band != CHILD) & ((pop.flags & URBAN) != 0) & (pop.income >= 2))
    did = (acts & Layout.of(sc).bit("unpaid_parking")) != 0
    assert admitted.any() and (~admitted).any()
    np.testing.assert_array_equal(did, admitted)


def test_a_new_act_channel_attempt_and_sanction_run_and_show_in_the_report(tmp_path):
    busy = tmp_path / "busy.toml"  # loans often enough that a small run refuses some
    busy.write_text(f'extends = "{PARKING}"\n[acts.loan_application]\nrate = 0.02\n', "utf-8")
    result = CliRunner().invoke(app, [
        "run", str(busy), "--population", "20000", "--start", "2017-01-01",
        "--end", "2017-12-31", "--quiet", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    run = report.load_run(tmp_path / "run")
    for counter in ("acts_unpaid_parking", "observed_unpaid_parking",
                    "parking_wardens_false_records", "loan_application_attempts",
                    "loan_application_blocked"):
        assert run.total(counter) > 0, counter
    rows = {r.name: r for r in scheme(run.scenario, run.ts)}
    loans = rows["no_bank_loans"]
    assert loans.does == "loan application" and loans.start == "2017-01-01"
    assert loans.figures["blocked"] == run.total("loan_application_blocked") > 0
    page = (tmp_path / "run" / "report.html").read_text("utf-8")
    assert "<td>no_bank_loans</td>" in page and "loan application" in page


def test_the_catalog_is_counted_by_its_names():
    names = counters(load(PARKING)).names
    for name in ("acts_unpaid_parking", "observed_unpaid_parking", "parking_wardens_false_records",
                 "cameras_false_records", "loan_application_attempts", "loan_application_blocked",
                 "loan_application_blocked_wrongful", "loan_application_blocked_people",
                 "management_ban_stock", "internet_throttle_stock", "school_ban_stock",
                 "school_ban_people", "transport_discount_granted"):
        assert name in names, name
    assert "no_bank_loans_stock" not in names  # it blocks an attempt, not a standing


def test_a_channel_records_nothing_before_it_starts():
    sc = load(PARKING).with_changes(**{"population.size": 3000, "start": dt.date(2015, 12, 1),
                                       "end": dt.date(2016, 1, 31)})
    data = Simulation(sc).run()
    before = (dt.date(2016, 1, 1) - sc.start).days
    observed = data.counter("observed_unpaid_parking", "parking_wardens_false_records")
    assert data.counter("acts_unpaid_parking")[:before].sum() > 0
    assert observed[:before].sum() == 0 and observed[before:].sum() > 0


def test_a_published_series_of_a_sanction_the_scheme_lacks_is_none_and_not_fitted(tmp_path):
    """sesame has no management ban: no figure of management roles barred, and calibration
    refuses to fit one in one line."""
    from panopticon.language.published import load_targets
    from panopticon.readers.calibrate import CalibrationError, fitted_targets
    from panopticon.readers.results import missing_series

    assert missing_series(load("sesame")) == ["management_role_bans"]
    assert missing_series(load("china-2018")) == []
    path = tmp_path / "fit.toml"
    path.write_text('extends = "sesame"\n[calibration]\nweights = { management_role_bans = 1.0 }\n'
                    'parameters = { "court.comply_rate" = { low = 0.002, high = 0.05 } }\n',
                    encoding="utf-8")
    with pytest.raises(CalibrationError, match=r"names \['management_role_bans'\], which this"
                                               " scheme does not count"):
        fitted_targets(load(path), load_targets(), "fit.toml")


# measures in force by score, with no grade (sanctions' score_below, rewards' score_above)

BY_SCORE = {  # china-2018's measures of grades, by the scores of those grades instead
    "sanctions.credit_denied.grades": [], "sanctions.credit_denied.score_below": 850,
    "sanctions.school_ban.grades": [], "sanctions.school_ban.score_below": 850,
    "sanctions.internet_throttle.grades": [], "sanctions.internet_throttle.score_below": 600,
    "rewards.transport_discount.grades": [], "rewards.transport_discount.score_above": 1029,
    "rewards.easy_credit.grades": [], "rewards.easy_credit.score_above": 1049,
}


def test_measures_by_the_scores_of_grades_meet_everyone_as_the_grades_do():
    """A threshold at a grade's edge is that grade's measure: every counter of the run (the
    person's and the children's blocks, a standing's stock, grants) is the same, day by day."""
    sc = load("china-2018").with_changes(**{  # scores spread wide, credit sought often, and
        # bills paid late often enough that some reach grade D (internet users throttled there)
        "population.size": 3000, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 6, 30),
        "scoring.base": 860, "scoring.points.late_bill": -200, "scoring.points.good_deed": 200,
        "acts.credit_application.rate": 0.01, "acts.late_bill.rate": 0.002})
    by_grade, by_score = Simulation(sc).run(), Simulation(sc.with_changes(**BY_SCORE)).run()
    assert by_score.counter_names == by_grade.counter_names
    for name in ("credit_application_blocked", "school_ban_stock", "internet_throttle_stock",
                 "transport_discount_granted", "easy_credit_granted"):
        assert by_grade.counter(name).sum() > 0, name
    np.testing.assert_array_equal(by_score.counts, by_grade.counts)


@settings(deadline=None)  # grade_run's blocks are compiled kernels, once per number of cuts
@given(edges=st.lists(st.integers(1, 99), max_size=6, unique=True),
       scores=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), max_size=40))
def test_grades_are_counted_through_the_cuts_where_they_change(edges, scores):
    """grade_cuts gives as many cuts as the grades change (one past the top for a single
    grade), and grade_run counts each citizen in its score's grade and as wrongly graded where
    its true score's grade differs."""
    from panopticon.stages.scoring import C_GRADE0, C_WRONG, grade_cuts, grade_run
    from panopticon.world.codes import GAP_SHIFT
    grade_of = len(edges) - np.searchsorted(sorted(edges), np.arange(101), side="right")
    cuts, cut_grade = grade_cuts(grade_of, 0)
    assert isinstance(cuts, tuple) and len(cuts) == max(1, len(edges))
    score = np.array([a for a, _ in scores], np.int16)
    true = np.array([b for _, b in scores], np.int16)
    acc = np.zeros(C_GRADE0 + 8, np.int64)
    grade_run.py_func(score, (true - score) << GAP_SHIFT, cuts, cut_grade, acc)
    want = np.bincount(grade_of[score], minlength=8)
    assert np.array_equal(acc[C_GRADE0:C_GRADE0 + 8], want)
    assert acc[C_WRONG] == np.count_nonzero(grade_of[score] != grade_of[true])


@given(edges=st.lists(st.integers(1, 99), max_size=7, unique=True),
       below=st.lists(st.integers(1, 100), max_size=4),
       above=st.lists(st.integers(0, 99), max_size=4), cuts_of=st.sampled_from(["graded", "all"]))
def test_the_measures_of_a_score_are_its_grades_and_thresholds(edges, below, above, cuts_of):
    """score_steps and score_mask give each score from 0 to 100 exactly the measures of its
    grade and of the thresholds it is beyond; so do the cuts that change a measure alone, as
    the kernels take them (effective_steps: tuples of a power of two, at least MIN_CUTS)."""
    from panopticon.stages.consequences import (
        REWARDS_SHIFT,
        InForce,
        effective_steps,
        score_mask,
        score_steps,
    )
    from panopticon.world.codes import MIN_CUTS
    grade_of = len(edges) - np.searchsorted(sorted(edges), np.arange(101), side="right")
    n = int(grade_of.max()) + 1
    grades = np.array([(1 << g) if cuts_of == "graded" else 0 for g in range(n)], np.int64)
    rewards = np.array([1 << g for g in range(n)], np.int64)
    rules = [(t, 1 << 8 + i, 0) for i, t in enumerate(below)]
    rules += [(t + 1, 0, 1 << REWARDS_SHIFT + 8 + i) for i, t in enumerate(above)]
    masks = InForce(np.zeros(3, np.int64), grades, rewards,
                    np.array(rules, np.int64).reshape(-1, 3))
    cuts, steps = score_steps(grade_of, 0, masks)
    effective = effective_steps(cuts, steps)
    size = len(effective[0])
    assert size & (size - 1) == 0 and len(effective[1]) == size + 1
    assert size == MIN_CUTS or MIN_CUTS < size < 2 * np.count_nonzero(steps[1:])
    for score in range(101):
        g = grade_of[score]
        expected = grades[g] | rewards[g] << REWARDS_SHIFT
        for i, t in enumerate(below):
            expected |= (1 << 8 + i) * (score < t)
        for i, t in enumerate(above):
            expected |= (1 << REWARDS_SHIFT + 8 + i) * (score > t)
        assert score_mask.py_func(score, cuts, steps) == expected, score
        assert score_mask.py_func(score, *effective) == expected, score


def test_a_score_threshold_shows_in_the_report_as_what_puts_it_in_force():
    sc = load("china-2018").with_changes(**BY_SCORE)
    rows = {r.name: r for r in scheme(sc.model_dump(mode="json"), pa.table({}))}
    assert "score below 850" in rows["credit_denied"].on
    assert "score above 1049" in rows["easy_credit"].on
