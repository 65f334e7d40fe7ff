"""``panopticon calibrate``: the [calibration] table, outputs, reproducibility and resuming."""

from __future__ import annotations

import csv

import optuna
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.scenario import Scenario, ScenarioError, load
from panopticon.readers import calibrate as calibrate_mod
from panopticon.readers.calibrate import BATCH, complete, storage_url

runner = CliRunner()
TINY = """extends = "china-2018"
name = "tiny"
end = 2014-12-31

[calibration]
objective = "log"

[calibration.weights]
judgment_defaulters_listed = 2.0
flight_purchases_blocked = 1.0
"judgment_defaulters_listed@2014-09-30" = 0.5

[calibration.parameters]
"acts.debt_default.rate" = { low = 0.00005, high = 0.0005, log = true }
"court.grace_days" = { low = 20, high = 90 }
"""
TARGETS = """date,metric,value,kind,source,note
2014-09-30,judgment_defaulters_listed,4000000,cumulative_people,test,
2014-12-31,judgment_defaulters_listed,9000000,cumulative_people,test,
2014-12-31,flight_purchases_blocked,6000000,cumulative_events,test,
"""
POPULATION = "3000"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    (tmp_path / "targets.csv").write_text(TARGETS)
    return tmp_path


def calibrate(files, out: str, *args: str):
    result = runner.invoke(app, [
        "calibrate", str(files / "tiny.toml"), "--targets", str(files / "targets.csv"),
        "--population", POPULATION, "--seeds", "2", "--quiet", "--out", str(files / out), *args])
    assert result.exit_code == 0, result.output
    return files / out


def scenario_with(tmp_path, calibration: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "china-2018"\n[calibration]\n{calibration}\n')
    with pytest.raises(ScenarioError) as info:
        load(path)
    return str(info.value)


WEIGHTS = "weights = { judgment_defaulters_listed = 1.0 }\n"
FREE = '[calibration.parameters]\n"court.comply_rate" = { low = 0.01, high = 0.1 }'


@pytest.mark.parametrize(("table", "expected"), [
    (WEIGHTS + '[calibration.parameters]\n"court.nope" = { low = 0.1, high = 0.2 }',
     "field 'calibration': calibration parameter 'court.nope' is not a number"),
    (WEIGHTS + '[calibration.parameters]\n"acts.late_bill.who" = { low = 0.1, high = 0.2 }',
     "'acts.late_bill.who' is not a number"),
    (WEIGHTS + '[calibration.parameters]\n"court.comply_rate" = { low = 0.2, high = 0.1 }',
     "field 'calibration.parameters.court.comply_rate.low': low 0.2 must be below high 0.1"),
    (WEIGHTS + '[calibration.parameters]\n"court.comply_rate" = { low = 0.1, high = 0.1 }',
     "low 0.1 must be below high 0.1"),
    (WEIGHTS + ('[calibration.parameters]\n"court.comply_rate" = { low = 0.0, high = 0.1,'
                 ' log = true }'), "must be above 0 on a log axis"),
    (WEIGHTS + '[calibration.parameters]\n"court.comply_rate" = { low = 0.1, high = 2.0 }',
     "'court.comply_rate': bound 2.0 is outside what the field allows: from 0 to 1"),
    (WEIGHTS + '[calibration.parameters]\n"court.grace_days" = { low = 1.5, high = 9 }',
     "'court.grace_days' is an integer"),
    ('weights = { nope = 1.0 }\n' + FREE, "field 'calibration.weights'"),
    ('weights = { "internet_users@2018-02-30" = 1.0 }\n' + FREE, "metric@YYYY-MM-DD"),
    ('weights = { internet_users = -1.0 }\n' + FREE, "field 'calibration.weights.internet_users'"),
])
def test_calibration_table_mistakes_name_the_field(tmp_path, table, expected):
    message = scenario_with(tmp_path, table)
    assert expected in message
    assert len(message.splitlines()) == 1  # one problem, one line


def test_calibrate_without_a_calibration_table_is_a_message(tmp_path):
    bare = tmp_path / "bare.toml"
    bare.write_text(load("china-2018").model_copy(update={"calibration": None}).to_toml())
    result = runner.invoke(app, ["calibrate", str(bare), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "error: china-2018: the scenario has no [calibration] table" in result.output
    assert "Traceback" not in result.output


def test_a_tiny_calibration_writes_a_loadable_scenario_a_table_and_a_figure(files):
    out = calibrate(files, "out", "--trials", "3")
    result = Scenario.load(out / "calibrated.toml")
    rate = result.acts["debt_default"].rate
    assert 0.00005 <= rate <= 0.0005 and 20 <= result.court.grace_days <= 90
    assert result.sources["acts.debt_default.rate"].startswith(
        "assumption: calibrated by panopticon calibrate against targets.csv")
    preset = load("china-2018").population  # the trials' population is not kept
    assert (result.population.size, result.population.scale) == (preset.size, preset.scale)
    rows = list(csv.DictReader((out / "fit.csv").open()))
    assert [(r["date"], r["metric"], r["weight"]) for r in rows] == [
        ("2014-09-30", "judgment_defaulters_listed", "0.5"),
        ("2014-12-31", "judgment_defaulters_listed", "2.0"),
        ("2014-12-31", "flight_purchases_blocked", "1.0")]
    for r in rows:
        assert float(r["model_p05"]) <= float(r["model_median"]) <= float(r["model_p95"])
        assert float(r["ratio"]) == pytest.approx(float(r["model_median"]) / float(r["published"]))
    assert (out / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*tmp"))
    study = optuna.load_study(study_name="tiny", storage=storage_url(out / "study.db"))
    first = study.trials[0].params  # the scenario's own values, clipped to the bounds
    assert first["acts.debt_default.rate"] == 0.00005 and first["court.grace_days"] == 60


def test_same_seed_and_trials_give_the_same_file_whatever_the_jobs(files):
    trials = ["--trials", str(BATCH + 2)]
    first = calibrate(files, "a", *trials, "--jobs", "2") / "calibrated.toml"
    again = calibrate(files, "b", *trials, "--jobs", "2") / "calibrated.toml"
    serial = calibrate(files, "c", *trials, "--jobs", "1") / "calibrated.toml"
    other = calibrate(files, "d", *trials, "--seed", "7") / "calibrated.toml"
    assert first.read_bytes() == again.read_bytes() == serial.read_bytes()
    assert Scenario.load(other).acts != Scenario.load(first).acts


def test_an_interrupted_calibration_resumes_where_it_stopped(files, monkeypatch):
    trials = BATCH + 3
    whole = calibrate(files, "whole", "--trials", str(trials)) / "calibrated.toml"
    real_run, calls = calibrate_mod.run_series, []

    def ctrl_c_on_the_tenth_run(*args):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return real_run(*args)

    monkeypatch.setattr(calibrate_mod, "run_series", ctrl_c_on_the_tenth_run)
    args = ["calibrate", str(files / "tiny.toml"), "--targets", str(files / "targets.csv"),
            "--population", POPULATION, "--seeds", "2", "--quiet", "--trials", str(trials),
            "--jobs", "1", "--out", str(files / "resumed")]
    result = runner.invoke(app, args)
    assert result.exit_code == 130 and "run the same command again to resume" in result.output
    study = optuna.load_study(study_name="tiny",
                              storage=storage_url(files / "resumed" / "study.db"))
    assert complete(study) == BATCH  # the interrupted batch is marked failed, not half kept
    assert not (files / "resumed" / "calibrated.toml").exists()

    monkeypatch.setattr(calibrate_mod, "run_series", real_run)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert complete(study) == trials
    assert (files / "resumed" / "calibrated.toml").read_bytes() == whole.read_bytes()


def test_resuming_with_other_settings_is_refused(files):
    calibrate(files, "out", "--trials", "1")
    result = runner.invoke(app, [
        "calibrate", str(files / "tiny.toml"), "--targets", str(files / "targets.csv"),
        "--population", "4000", "--trials", "2", "--quiet", "--out", str(files / "out")])
    assert result.exit_code == 2
    assert "was run with another population; resume with the same options" in result.output


def test_the_relative_objective_and_the_log_objective_score_the_same_miss_differently():
    assert calibrate_mod.error(2.0, 1.0, "log", 0.5) == pytest.approx(-calibrate_mod.error(
        0.5, 1.0, "log", 0.5))
    assert calibrate_mod.error(2.0, 1.0, "relative", 0.5) == pytest.approx(1.0)
    assert calibrate_mod.error(0.5, 1.0, "relative", 0.5) == pytest.approx(-0.5)
    assert calibrate_mod.error(0.0, 1.0, "log", 0.25) == pytest.approx(calibrate_mod.error(
        0.25, 1.0, "log", 0.25))


def test_fit_of_a_multi_seed_run_folder(files, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["run", str(files / "tiny.toml"), "--population", POPULATION,
                                 "--seeds", "3", "--quiet", "--out", str(run)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["fit", str(run), "--targets", str(files / "targets.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((run / "fit.csv").open()))
    assert {r["weight"] for r in rows} == {"2.0", "1.0", "0.5"} and (run / "fit.png").is_file()


SCHEDULED = """extends = "china-2018"
name = "tiny-scheduled"
end = 2014-12-31

[acts.plane_ticket.rate]
shape = "steps"
points = [{ date = 2014-01-01, value = 0.0015 }, { date = 2014-07-01, value = 0.0025 }]

[calibration.weights]
judgment_defaulters_listed = 2.0
flight_purchases_blocked = 1.0

[calibration.parameters]
"acts.debt_default.rate" = { remove = true }
"court.judgment_rate" = { remove = true }
"court.comply_rate" = { remove = true }
"court.pay_rate_listed" = { remove = true }
"acts.plane_ticket.rate" = { remove = true }
"acts.train_ticket.rate" = { remove = true }
"population.management_share" = { remove = true }
"acts.plane_ticket.rate.points.1.value" = { low = 0.003, high = 0.006 }
"scoring.grades.C.min" = { low = 500, high = 590 }
"""


def test_a_calibration_fits_a_schedule_value_and_a_grade_cut_off(files):
    (files / "tiny.toml").write_text(SCHEDULED)
    before = load(files / "tiny.toml")
    after = Scenario.load(calibrate(files, "sched", "--trials", "2") / "calibrated.toml")
    plane = after.acts["plane_ticket"].rate
    assert plane.shape == "steps" and plane.points[0] == before.acts["plane_ticket"].rate.points[0]
    assert 0.003 <= plane.points[1].value <= 0.006  # moved up from 0.0025, into its bounds
    grades = {g.name: (g.min, g.max) for g in after.scoring.grades}
    assert 500 <= grades["C"][0] <= 590 and grades["D"][1] == grades["C"][0] - 1
    note = "assumption: calibrated by panopticon calibrate"
    assert after.sources["acts.plane_ticket.rate.points.1.value"].startswith(note)
    assert after.sources["scoring.grades.4.min"].startswith(note)
    moved = {"acts": {"plane_ticket": {"rate"}}, "scoring": {"grades"}, "sources": True}
    assert after.model_dump(exclude=moved) == before.model_dump(exclude=moved)
