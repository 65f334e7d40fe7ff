"""The dashboard's parts that need no browser: the controls' edits and their validation, the
runs folder's containment, and the one background run slot."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest

from panopticon.dashboard import edits
from panopticon.dashboard.folders import FolderError, RunsFolder
from panopticon.dashboard.jobs import Busy, Job, Runner, tiny, warm_up
from panopticon.language import scenario as scenario_mod
from panopticon.language.scenario import ScenarioError
from panopticon.world.population import represented


@pytest.fixture(scope="module")
def china():
    return scenario_mod.load("china-2018")


def test_every_control_names_a_field_of_its_preset(china) -> None:
    for name in scenario_mod.PRESETS:
        sc = scenario_mod.load(name)
        assert edits.apply(sc, {c.path: c.value for c in edits.controls(sc)}) == sc


def test_defaults_answer_in_seconds(china) -> None:
    sc = edits.apply(china, edits.dashboard_defaults(china))
    assert sc.population.size == edits.DEFAULT_POPULATION
    assert sc.start == dt.date(2018, 1, 1) and sc.end == china.end
    assert sc.population.size * sc.population.scale == pytest.approx(represented(china.population))


def test_edits_change_what_they_name(china) -> None:
    sc = edits.apply(china, {"sanctions.school_ban.on": False, "scoring.grades.C.min": "700",
                             "sensing.content_review.comment.precision": " 0.95 ",
                             "scoring.bad_company.enabled": False, "fear.enabled": False,
                             "rewards.easy_credit.start": "2019-01-01",
                             "sanctions.job_ban.start": ""})
    assert "school_ban" not in [s.name for s in sc.sanctions]
    assert len(sc.sanctions) == len(china.sanctions) - 1
    grades = {g.name: g for g in sc.scoring.grades}
    assert (grades["C"].min, grades["D"].max) == (700, 699)  # the cut-off moves both grades
    assert sc.sensing.content_review["comment"].precision == 0.95
    assert not sc.scoring.bad_company.enabled and not sc.fear.enabled
    assert next(r for r in sc.rewards if r.name == "easy_credit").start == dt.date(2019, 1, 1)
    assert next(s for s in sc.sanctions if s.name == "job_ban").start is None


def test_a_switched_off_sanction_ignores_its_dates(china) -> None:
    sc = edits.apply(china, {"sanctions.school_ban.start": "2019-01-01",
                             "sanctions.school_ban.on": False})
    assert "school_ban" not in [s.name for s in sc.sanctions]


@pytest.mark.parametrize(("path", "value", "says"), [
    ("sensing.content_review.comment.precision", "1.5", "must be a number > 0 and <= 1"),
    ("sensing.content_review.comment.precision", "high", "'high' is not a number"),
    ("population.size", "-3", "must be an integer from 1"),
    ("population.size", "2.5", "'2.5' is not a whole number"),
    ("start", "2018-13-01", "is not a date; write it as YYYY-MM-DD"),
    ("end", "2010-01-01", "comes before start"),
    ("scoring.grades.C.min", "5000", "grade C: min 5000 is above max"),
    ("scoring.points.jaywalking", "0.5", "is not a whole number"),
    ("sanctions.nothing.on", False, "not a field the dashboard edits"),
    ("__class__", "x", "not a field the dashboard edits"),
])
def test_a_bad_value_is_refused_in_one_line_naming_the_field(china, path, value, says) -> None:
    with pytest.raises(ScenarioError) as e:
        edits.apply(china, {path: value})
    message = str(e.value)
    assert says in message and "\n" not in message
    assert path.split(".")[-1] in message or path in message


def test_the_toml_loads_back_as_the_edited_scenario(china, tmp_path: Path) -> None:
    sc = edits.apply(china, {**edits.dashboard_defaults(china), "sanctions.school_ban.on": False,
                             "scoring.points.jaywalking": "-7"})
    path = tmp_path / "edited.toml"
    path.write_text(edits.scenario_toml(sc), "utf-8")
    assert scenario_mod.load(path) == sc


@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", "/etc", "a\\b", "", " x", ".hidden",
                                  "x" * 300, "a..b", None])
def test_names_outside_the_runs_folder_are_refused(tmp_path: Path, name) -> None:
    with pytest.raises(FolderError):
        RunsFolder(tmp_path).path(name)


def test_a_link_out_of_the_runs_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "run").mkdir(parents=True)
    for marker in ("summary.json", "timeseries.parquet"):
        (outside / "run" / marker).write_text("")
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "sneaky").symlink_to(outside / "run")
    folders = RunsFolder(runs)
    with pytest.raises(FolderError, match="leads outside"):
        folders.path("sneaky")
    assert folders.runs() == []


def test_runs_lists_run_folders_only(tmp_path: Path) -> None:
    for name, files in (("a-run", ("summary.json", "timeseries.parquet")), ("half", ("x",))):
        (tmp_path / name).mkdir()
        for f in files:
            (tmp_path / name / f).write_text("")
    folders = RunsFolder(tmp_path)
    assert folders.runs() == ["a-run"]
    assert folders.path("a-run") == (tmp_path / "a-run").resolve()
    assert RunsFolder(tmp_path / "none").runs() == []


class Gate:
    """Work that runs day by day until released, so a test holds a run under way."""

    def __init__(self) -> None:
        self.release, self.started, self.folders = threading.Event(), threading.Event(), []

    def __call__(self, job: Job, folder: Path) -> None:
        self.started.set()
        for day in range(job.total):
            job.progress(day + 1, job.total)
            self.release.wait(5)
            job.after_day()
        folder.mkdir()
        self.folders.append(folder)


def wait_over(job: Job) -> None:
    """Wait for the run's end, as the page does (on ``ended``, set once its state is final)."""
    assert job.ended.wait(5), f"{job.name} still running"
    assert not job.running


def test_a_second_run_is_refused_while_one_goes(china, tmp_path: Path) -> None:
    gate = Gate()
    runner = Runner(RunsFolder(tmp_path), gate)
    sc = edits.apply(china, {"start": "2019-12-01"})
    job = runner.start(sc)
    gate.started.wait(5)
    with pytest.raises(Busy, match=f"a run is going \\({job.name}"):
        runner.start(sc)
    gate.release.set()
    wait_over(job)
    assert job.state == "done" and job.done == job.total == 31
    assert gate.folders == [tmp_path.resolve() / job.name]
    again = runner.start(sc)
    assert again.name != job.name
    wait_over(again)


def test_cancel_stops_at_the_end_of_a_day(china, tmp_path: Path) -> None:
    gate = Gate()
    runner = Runner(RunsFolder(tmp_path), gate)
    job = runner.start(edits.apply(china, {"start": "2019-12-01"}))
    gate.started.wait(5)
    runner.cancel()
    gate.release.set()
    wait_over(job)
    assert job.state == "cancelled" and job.done < job.total
    assert gate.folders == [] and list(tmp_path.iterdir()) == []


def test_a_failed_run_says_why_in_one_line(china, tmp_path: Path) -> None:
    def broken(job: Job, folder: Path) -> None:
        raise OSError("disk full\nmore")

    job = Runner(RunsFolder(tmp_path), broken).start(china)
    wait_over(job)
    assert job.state == "failed" and job.error == "OSError: disk full"


def test_a_run_writes_an_ordinary_run_folder(china, tmp_path: Path) -> None:
    from panopticon.readers.report import load_run, province_rates

    runner = Runner(RunsFolder(tmp_path))
    sc = edits.apply(china, {"population.size": "500", "start": "2019-12-20"})
    job = runner.start(sc)
    job_thread = next(t for t in threading.enumerate() if t.name.endswith(job.name))
    job_thread.join(1800)
    assert job.state == "done", job.error
    run = load_run(tmp_path / job.name)
    assert run.summary["citizens"] == 500 and run.summary["days"] == 12
    assert RunsFolder(tmp_path).runs() == [job.name]
    # and the page reads it through the report's, story's and compare's code
    from panopticon.dashboard import views

    folder = tmp_path / job.name
    assert "children_barred" in views.key_figures(run)
    shown = views.figures(folder)
    assert [f.key for f in shown][:4] == ["timeline", "funnel", "causes", "audit"]
    assert json.loads(shown[0].plot)["data"]  # plotly's JSON, which the page's widget draws
    tiles = json.loads(next(f for f in shown if f.key == "map").plot)
    provinces = set(run.regions.column("region").to_pylist())
    assert sum(z is not None for row in tiles["data"][0]["z"] for z in row) == len(provinces)
    assert len(tiles["layout"]["updatemenus"][0]["buttons"]) == len(province_rates(run))
    assert "Citizen " in views.life(folder, None)
    table, warnings = views.comparison(folder, folder)
    assert "difference" in table and warnings == []
    assert "children_barred" in views.audit_comparison(folder, folder)


def test_every_province_has_a_tile_of_its_own() -> None:
    from panopticon.dashboard.provinces import TILES
    from panopticon.data import read_csv

    assert sorted(TILES) == sorted(row["code"] for row in read_csv("china_provinces_2020.csv"))
    assert len(set(TILES.values())) == len(TILES)


def test_the_map_lays_each_rate_on_its_province_tile() -> None:
    from panopticon.dashboard.provinces import COLUMNS, ROWS, tile_grid

    z, text = tile_grid({"Beijing": "110000", "Hainan": "460000"},
                        {"Beijing": 12.5, "Hainan": 0.0})
    assert len(z) == len(text) == ROWS and {len(r) for r in z} == {COLUMNS}
    assert (z[2][4], text[2][4]) == (12.5, "Beijing<br>12")
    assert (z[7][3], text[7][3]) == (0.0, "Hainan<br>0")
    assert sum(v is not None for row in z for v in row) == 2


def test_what_a_run_folder_shows_is_kept_until_it_changes(tmp_path: Path) -> None:
    from panopticon.dashboard.views import per_version

    calls = []

    @per_version
    def read(folder: Path, citizen: int) -> object:
        calls.append((folder, citizen))
        return object()

    summary = tmp_path / "summary.json"
    summary.write_text("{}")
    first = read(tmp_path, 7)
    assert read(str(tmp_path), 7) is first and read(tmp_path, 8) is not first
    assert len(calls) == 2
    mtime = summary.stat().st_mtime_ns + 1_000_000_000
    os.utime(summary, ns=(mtime, mtime))  # the folder written again
    assert read(tmp_path, 7) is not first and len(calls) == 3


def test_the_warm_up_loads_the_kernels_with_a_tiny_run(china, monkeypatch) -> None:
    small = tiny(china)
    assert small.population.size == 200 and small.days == 3 and small.end == china.end
    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    warm_up(china).join(1800)
    assert failures == []


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_serve_listens_on_localhost_unless_told(monkeypatch, tmp_path: Path, host: str,
                                                warned: bool) -> None:
    from typer.testing import CliRunner

    from panopticon.cli import app
    from panopticon.dashboard import server

    served = []
    monkeypatch.setattr(server, "serve", lambda *a: served.append(a))
    args = ["serve", "--runs", str(tmp_path)] + (["--host", host] if warned else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert served == [(tmp_path, host, 8765)]
    assert ("warning: --host 0.0.0.0" in result.output) is warned


def test_serve_without_the_extra_says_what_to_install(monkeypatch, tmp_path: Path) -> None:
    import sys

    from typer.testing import CliRunner

    from panopticon.cli import app

    monkeypatch.setitem(sys.modules, "solara_assets", None)
    result = CliRunner().invoke(app, ["serve", "--runs", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'panopticon[dashboard]'" in result.output
