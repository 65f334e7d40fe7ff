"""Values that change over time: dated schedules of rates, probabilities, shares and points,
``Scenario.on(date)``, paths into schedules and named arrays, and sanctions that end."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language import reference, scenario
from panopticon.language.scenario import PathError, ScenarioError, find, load, number_at
from panopticon.language.schedule import schedulable, schedules_in
from panopticon.runner.simulation import Simulation
from panopticon.stages import counters
from panopticon.stages.consequences import active_masks
from panopticon.world.codes import LISTS

D = dt.date
runner = CliRunner()


def steps(*points: tuple[dt.date, float], shape: str = "steps") -> dict:
    return {"shape": shape, "points": [{"date": d, "value": v} for d, v in points]}


def linear(*points: tuple[dt.date, float]) -> dict:
    return steps(*points, shape="linear")


def bare() -> scenario.Scenario:
    """china-2018 without its [calibration] table, whose free parameters name plain numbers."""
    return load("china-2018").with_changes(calibration=None)


PLANE = "acts.plane_ticket.rate"
STEP = steps((D(2014, 1, 1), 0.0), (D(2016, 1, 1), 0.002))
RISE = linear((D(2014, 1, 1), 0.0), (D(2018, 1, 1), 0.002))


# ---------------------------------------------------------------- a schedule's value on a date

def rate_on(schedule: dict, date: dt.date) -> float:
    return bare().with_changes(**{PLANE: schedule}).acts["plane_ticket"].rate.on(date)


def test_steps_hold_each_value_until_the_next_date_and_flat_outside():
    assert [rate_on(STEP, d) for d in (D(2010, 1, 1), D(2014, 1, 1), D(2015, 12, 31),
                                       D(2016, 1, 1), D(2030, 1, 1))] == [0, 0, 0, 0.002, 0.002]


def test_linear_goes_straight_between_dates_and_is_flat_outside():
    assert rate_on(RISE, D(2013, 6, 1)) == 0.0
    assert rate_on(RISE, D(2016, 1, 1)) == pytest.approx(0.002 * 730 / 1461)
    assert rate_on(RISE, D(2018, 1, 1)) == rate_on(RISE, D(2020, 1, 1)) == 0.002


def test_a_linear_schedule_of_an_integer_field_stays_integer():
    sc = bare().with_changes(**{"scoring.points.jaywalking": linear((D(2014, 1, 1), -5),
                                                                     (D(2014, 1, 11), -10))})
    values = [sc.scoring.points["jaywalking"].on(D(2014, 1, d)) for d in range(1, 12)]
    assert all(isinstance(v, int) for v in values)
    assert values == [-5, -6, -6, -6, -7, -8, -8, -8, -9, -10, -10]  # halves to even


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
       gaps=st.lists(st.integers(1, 900), min_size=4, max_size=4),
       shape=st.sampled_from(["steps", "linear"]), day=st.integers(-400, 4000))
def test_a_value_on_any_date_lies_between_its_neighbouring_points(values, gaps, shape, day):
    dates = [D(2014, 1, 1) + dt.timedelta(days=sum(gaps[:i])) for i in range(len(values))]
    schedule = bare().with_changes(**{"court.comply_rate": steps(*zip(dates, values),
                                                                 shape=shape)})
    date = D(2014, 1, 1) + dt.timedelta(days=day)
    value = schedule.court.comply_rate.on(date)
    before = [v for d, v in zip(dates, values) if d <= date] or values[:1]
    after = [v for d, v in zip(dates, values) if d >= date] or values[-1:]
    if shape == "steps":
        assert value == before[-1]
    else:
        assert min(before[-1], after[0]) <= value <= max(before[-1], after[0])


# ---------------------------------------------------------------- Scenario.on

def test_a_scenario_without_schedules_is_itself_on_any_date():
    sc = bare()
    assert sc.on(D(2015, 1, 1)) is sc and sc.on(D(2030, 1, 1)) is sc


def test_on_puts_each_value_in_its_place_and_shares_the_rest():
    sc = bare().with_changes(**{PLANE: STEP, "court.comply_rate": linear(
        (D(2014, 1, 1), 0.01), (D(2018, 1, 1), 0.03))})
    day = sc.on(D(2016, 1, 1))
    assert day.acts["plane_ticket"].rate == 0.002
    assert day.court.comply_rate == pytest.approx(0.01 + 0.02 * 730 / 1461)
    assert day.acts["train_ticket"] is sc.acts["train_ticket"]
    assert day.population is sc.population
    assert schedules_in(day) == [] and day.on(D(2019, 1, 1)) is day


def test_the_same_values_give_the_same_object_and_new_values_a_new_one():
    sc = bare().with_changes(**{PLANE: STEP})
    first = sc.on(D(2014, 6, 1))
    assert sc.on(D(2015, 12, 31)) is first  # every day before the step
    assert sc.on(D(2016, 1, 1)) is not first
    assert sc.on(D(2014, 1, 2)) is first


def test_what_on_remembers_is_no_part_of_the_scenario():
    sc = bare().with_changes(**{PLANE: STEP})
    again = bare().with_changes(**{PLANE: STEP})
    sc.on(D(2016, 1, 1))
    assert sc == again and sc.to_toml() == again.to_toml()
    copy = sc.model_copy(update={"acts": again.on(D(2016, 1, 1)).acts})
    assert copy.on(D(2014, 1, 1)) is copy  # a copy has its own schedules: none here


def test_a_schedule_round_trips_through_toml():
    sc = bare().with_changes(**{PLANE: STEP, "scoring.points.jaywalking": steps(
        (D(2014, 1, 1), -5), (D(2017, 1, 1), -20))})
    assert scenario.validate(tomllib.loads(sc.to_toml()), "round trip") == sc


# ---------------------------------------------------------------- checks on every date

@pytest.mark.parametrize(("changes", "message"), [
    ({"speech.content.comment.rate": linear((D(2014, 1, 1), 0.1), (D(2018, 1, 1), 0.99))},
     "field 'speech.content': on 2018-01-01, content rates add up to"),
    ({"fear.chilling": steps((D(2014, 1, 1), 0.1), (D(2017, 1, 1), 0.9))},
     "field 'fear.chilling_against': on 2017-01-01, chilling_against"),
    ({"scoring.caps": {"good_deed": {"points": 10}},
      "scoring.points.good_deed": steps((D(2014, 1, 1), 5), (D(2016, 1, 1), 0))},
     "on 2016-01-01, caps on ['good_deed']"),
])
def test_checks_across_fields_hold_on_every_date_of_a_schedule(changes, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        bare().with_changes(**changes)


def test_a_content_type_posted_on_some_date_needs_a_review():
    review = {"comment": {"precision": 0.7, "recall": 0.6}}
    rates = {f"speech.content.{t}.rate": 0.0 for t in ("photo", "article", "video")}
    sc = bare().with_changes(**{"sensing.content_review": review, **rates})
    with pytest.raises(ScenarioError, match=r"no entry for \['video'\]"):
        sc.with_changes(**{"speech.content.video.rate": steps((D(2014, 1, 1), 0.0),
                                                              (D(2018, 1, 1), 0.01))})


# ---------------------------------------------------------------- paths into schedules and grades

def test_a_path_reaches_a_schedule_value_and_a_grade_by_name():
    sc = bare().with_changes(**{PLANE: STEP})
    assert number_at(sc, f"{PLANE}.points.1.value") == (0.002, float)
    assert number_at(sc, "scoring.grades.C.min") == (600, int)
    assert find(sc.model_dump(), "scoring.grades.C.min")[1] == ("scoring", "grades", 4, "min")
    assert number_at(sc, PLANE)[1] is None  # a schedule, not a number


@pytest.mark.parametrize(("path", "message"), [
    (f"{PLANE}.points.2.value",
     "'acts.plane_ticket.rate.points' has no item '2'; it has items 0 to 1"),
    ("scoring.grades.E.min",
     "'scoring.grades' has no item 'E'; it has items named by name: AAA, AA, A, B, C, D"),
    ("court.nope", ("'court' has no 'nope'; it has judgment_rate, comply_rate, grace_days,"
                    " pay_rate_listed, listing_days, settle_rate")),
    ("acts.train_ticket.rate.points.0.value",
     "'acts.train_ticket.rate' is 0.000591, not a table or a schedule"),
])
def test_a_path_that_names_nothing_says_what_is_there(path, message):
    with pytest.raises(PathError) as info:
        number_at(bare().with_changes(**{PLANE: STEP}), path)
    assert str(info.value) == message


def test_changing_a_schedule_value_changes_that_value_only():
    sc = bare().with_changes(**{PLANE: STEP})
    changed = sc.with_changes(**{f"{PLANE}.points.1.value": 0.003})
    assert [p.value for p in changed.acts["plane_ticket"].rate.points] == [0.0, 0.003]
    assert changed.acts["plane_ticket"].rate.shape == "steps"


@pytest.mark.parametrize(("path", "value", "grades"), [
    ("scoring.grades.C.min", 700, {"C": (700, 849), "D": (0, 699)}),
    ("scoring.grades.C.max", 900, {"C": (600, 900), "B": (901, 959)}),
    ("scoring.grades.AAA.max", 1300, {"AAA": (1050, 1300)}),
])
def test_moving_a_cut_off_moves_the_grade_across_it(path, value, grades):
    changed = bare().with_changes(**{path: value})
    got = {g.name: (g.min, g.max) for g in changed.scoring.grades}
    assert {name: got[name] for name in grades} == grades
    others = {g.name: (g.min, g.max) for g in bare().scoring.grades if g.name not in grades}
    assert {name: got[name] for name in others} == others


# ---------------------------------------------------------------- removing an inherited entry

def test_an_entry_with_remove_removes_the_inherited_one(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('extends = "china-2018"\n[acts.good_deed]\nremove = true\n'
                    '[scoring.points]\ngood_deed = { remove = true }\n'
                    '[calibration.parameters]\n"acts.plane_ticket.rate" = { remove = true }\n'
                    '[acts.plane_ticket.rate]\nshape = "steps"\n'
                    'points = [{ date = 2014-01-01, value = 0.0015 }]\n')
    sc = load(path)
    assert "good_deed" not in sc.acts
    assert PLANE not in sc.calibration.parameters
    assert "court.comply_rate" in sc.calibration.parameters


# ---------------------------------------------------------------- sanctions and rewards that end

def test_a_sanction_is_in_force_from_its_start_to_its_end_inclusive():
    sanction = scenario.Sanction(name="plane_ban", lists=["court"], blocks=["plane_ticket"],
                                 start=D(2016, 1, 1), end=D(2017, 12, 31))
    assert [sanction.in_force(d) for d in (D(2015, 12, 31), D(2016, 1, 1), D(2017, 12, 31),
                                           D(2018, 1, 1))] == [False, True, True, False]
    assert scenario.Reward(name="easy_credit", grades=["A"], grants=["credit_application"],
                           end=D(2016, 1, 1)).in_force(
        D(2000, 1, 1))


# ---------------------------------------------------------------- the reference says which fields

SCHEDULED_UNITS = {"probability per day", "probability", "share", "share per day", "points"}


def test_the_reference_shows_which_fields_take_a_schedule():
    rows = [r for t in reference.tables() for r in t.rows]
    scheduled = {r.path for r in rows if r.type.endswith(" or schedule")}
    assert {"acts.<name>.rate", "court.comply_rate", "scoring.points.<kind>",
            "scoring.restore_points", "scoring.bad_company.weight", "fear.chilling",
            "sensing.content_review.<type>.precision", "channels.<name>.hit"} <= scheduled
    assert {rows_unit for rows_unit in (r.unit for r in rows if r.path in scheduled)} <= (
        SCHEDULED_UNITS)
    assert "<field>" in reference.markdown() and "one of `steps`, `linear`" in reference.markdown()
    # what gives the model its shape takes none
    assert not {"court.grace_days", "scoring.min", "scoring.grades[].min",
                "scoring.caps.<kind>.points", "population.urban_share"} & scheduled


# ---------------------------------------------------------------- a run follows its schedules

SIZE = 4000
JUMP = D(2014, 3, 1)


def demo(schedule: dict, **changes) -> scenario.Scenario:
    return bare().with_changes(**{"population.size": SIZE, "end": D(2014, 4, 30), PLANE: schedule,
                                  **changes})


def plane_acts(counts: np.ndarray) -> np.ndarray:
    """Plane tickets bought per day, over all regions."""
    return counts[:, :, counters(load("china-2018")).index["acts_plane_ticket"]].sum(axis=1)


@pytest.fixture(scope="module")
def rising() -> scenario.Scenario:
    return demo(linear((D(2014, 1, 1), 0.0), (D(2014, 4, 30), 0.03)))


def test_an_act_rate_that_steps_up_has_no_acts_before_and_acts_after():
    sc = demo(steps((D(2014, 1, 1), 0.0), (JUMP, 0.02)))
    daily = plane_acts(Simulation(sc).run().counts)
    before = (JUMP - sc.start).days
    assert daily[:before].sum() == 0
    assert (daily[before:] > 0).all()


def test_an_act_rate_that_rises_linearly_gives_more_acts_month_by_month(rising):
    daily = plane_acts(Simulation(rising).run().counts)
    months = [daily[:31].sum(), daily[31:59].sum(), daily[59:90].sum(), daily[90:].sum()]
    assert daily[0] == 0 and months == sorted(months) and months[0] < months[-1] / 4


@pytest.fixture(scope="module")
def one_chunk(rising) -> np.ndarray:
    return Simulation(rising, chunk_size=SIZE, threads=1).run().counts


@pytest.mark.parametrize(("chunk_size", "threads"), [(1000, 2), (333, 2)])
def test_a_run_with_a_schedule_is_the_same_for_any_chunk_size(rising, one_chunk, engines,
                                                              chunk_size, threads):
    counts = Simulation(rising, chunk_size=chunk_size, threads=threads).run().counts
    engines.assert_ran_on(SIZE, chunk_size, threads)
    np.testing.assert_array_equal(counts, one_chunk)


def test_a_sanction_is_lifted_after_its_end():
    sc = bare().with_changes(sanctions=[{"name": "plane_ban", "lists": ["court"],
                                         "blocks": ["plane_ticket"], "end": D(2016, 12, 31)}])
    names = [g.name for g in sc.scoring.grades]
    court = LISTS.index("court")
    plane_ban = 1 << [s.name for s in sc.sanctions].index("plane_ban")
    assert active_masks(sc, names, D(2016, 12, 31))[0][court] == plane_ban
    assert active_masks(sc, names, D(2017, 1, 1))[0][court] == 0


# ---------------------------------------------------------------- every preset, all scheduled

def schedulable_paths(data: Any, loc: tuple = ()) -> list[tuple]:
    """The location of every number of a scenario's data that may be a schedule."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in schedulable_paths(v, (*loc, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in schedulable_paths(v, (*loc, i))]
    number = isinstance(data, (int, float)) and not isinstance(data, bool)
    return [loc] if number and schedulable(scenario._schema_at(loc)[1]) else []


def all_scheduled(name: str, start: dt.date) -> scenario.Scenario:
    """A preset whose every schedulable number is a 2-point schedule, steps and linear in turn:
    the number, then (for a number that is not an integer) nine tenths of it 20 days in."""
    data = load(name).with_changes(calibration=None).model_dump()
    paths = schedulable_paths(data)
    for i, loc in enumerate(paths):
        node = data
        for part in loc[:-1]:
            node = node[part]
        v = node[loc[-1]]
        later = v if isinstance(v, int) else 0.9 * v
        node[loc[-1]] = steps((start, v), (start + dt.timedelta(days=20), later),
                              shape=("steps", "linear")[i % 2])
    return scenario.validate(data, f"{name} scheduled")


@pytest.mark.parametrize("name", scenario.PRESETS)
def test_every_preset_with_every_number_scheduled_loads_runs_and_reports(name, tmp_path):
    start = load(name).start
    sc = all_scheduled(name, start)
    assert len(schedules_in(sc)) >= (8 if name == "census" else 40)  # the census: no scheme
    path = tmp_path / "scheduled.toml"
    path.write_text(sc.to_toml())
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(path), "--population", "3000", "--end",
                                 str(start + dt.timedelta(days=40)), "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    written = load(out / "scenario.toml")
    assert schedules_in(written) and written.on(start) != written.on(start + dt.timedelta(41))
