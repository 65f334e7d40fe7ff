"""End-to-end runs of the command line, and what its run folder gives to other tools."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app, on_threads
from panopticon.language import scenario
from panopticon.readers import results
from panopticon.readers.outfolder import FILES

runner = CliRunner()
SMALL_RUN = ["--population", "3000", "--end", "2014-12-31", "--quiet"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "small"
    result = runner.invoke(app, ["run", "china-2018", *SMALL_RUN, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_run_writes_every_file_the_report_and_the_published_table(run_folder):
    out, output = run_folder
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, "report.html"])
    assert f"Report: {out / 'report.html'}" in output
    assert "published record" in output and "judgment_defaulters_listed" in output
    assert "attempts, not people" in output


def test_the_estimate_says_on_how_many_threads_and_why_fewer(monkeypatch):
    monkeypatch.undo()  # the engine's own THREAD_CITIZENS (conftest sets it to 1)
    assert on_threads(1_410_000, 2) == "on 2 threads"
    assert on_threads(1_410_000, 1) == "on 1 thread"
    assert on_threads(20_000, 2).startswith("on 1 thread (at most one per 65,536 citizens")


def test_summary_scales_counts_back_to_real_people(run_folder):
    out, _ = run_folder
    summary = json.loads((out / "summary.json").read_text())
    assert summary["citizens"] == 3000
    assert summary["scale"] == pytest.approx(scenario_census() / 3000)
    ts = pq.read_table(out / "timeseries.parquet")
    assert ts.column("citizens")[0].as_py() == pytest.approx(scenario_census(), rel=1e-9)


def scenario_census() -> int:
    from panopticon.world.population import load_regions

    return load_regions().total


def test_results_open_in_duckdb_pandas_and_polars(run_folder):
    duckdb = pytest.importorskip("duckdb")
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    out, _ = run_folder
    ts = out / "timeseries.parquet"
    n_days = duckdb.connect().execute(f"select count(*) from '{ts}'").fetchall()[0][0]
    assert n_days == 365
    assert len(pd.read_parquet(ts)) == 365
    regions = pl.read_parquet(out / "regions.parquet")
    assert regions.height == 365 * 31
    assert set(regions["region"].unique()) >= {"Beijing", "Tibet", "Guangdong"}


def test_resolved_scenario_in_the_folder_loads_again(run_folder):
    out, _ = run_folder
    sc = scenario.load(out / "scenario.toml")
    assert sc.population.size == 3000


@pytest.mark.parametrize(("args", "expected"), [
    (["run", "no-such-preset"], "no such preset or file"),
    (["run", "--start", "2018-13-01"], "--start: '2018-13-01' is not a date"),
    (["run", "--start", "2019-01-01", "--end", "2018-01-01"], "comes before start"),
    (["show", "nope.toml"], "no such preset or file"),
])
def test_mistakes_end_with_a_message_not_a_traceback(args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_bad_scenario_file_names_the_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('extends = "china-2018"\n[acts.jaywalking]\nrate = -1\n')
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.output and "acts.jaywalking.rate" in result.output


def test_scenarios_and_show(tmp_path):
    listing = runner.invoke(app, ["scenarios"])
    assert listing.exit_code == 0 and "china-2018" in listing.output
    shown = runner.invoke(app, ["show", "china-2018"])
    assert shown.exit_code == 0
    path = tmp_path / "shown.toml"
    path.write_text(shown.output)
    assert scenario.load(path) == scenario.load("china-2018")


def test_interrupted_write_leaves_no_half_written_folder(tmp_path, monkeypatch, run_folder):
    old, _ = run_folder
    target = tmp_path / "run"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    from panopticon.runner.simulation import Simulation

    data = Simulation(scenario.load(old / "scenario.toml")).run()
    results.write_run(data, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    monkeypatch.setattr(results.pq, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        results.write_run(data, target, overwrite=True)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_ctrl_c_during_a_run_says_nothing_was_written(tmp_path, monkeypatch):
    from panopticon.runner import simulation

    def interrupted(self, progress=None, after_day=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(simulation.Simulation, "run", interrupted)
    out = tmp_path / "never"
    result = runner.invoke(app, ["run", *SMALL_RUN, "--out", str(out)])
    assert result.exit_code == 130
    assert "was not written" in result.output and "Traceback" not in result.output
    assert "--resume" not in result.output
    assert not out.exists()


def test_ctrl_c_after_a_checkpoint_says_how_to_continue(tmp_path, monkeypatch):
    from panopticon.runner import simulation

    run = simulation.Simulation.run

    def interrupted(self, progress=None, after_day=None):
        def then_stop() -> None:
            after_day()
            if self.day == 3:
                raise KeyboardInterrupt

        return run(self, progress, then_stop)

    monkeypatch.setattr(simulation.Simulation, "run", interrupted)
    out = tmp_path / "stopped"
    result = runner.invoke(app, ["run", *SMALL_RUN, "--out", str(out), "--checkpoint-every", "0"])
    assert result.exit_code == 130 and not out.exists()
    assert "its checkpoint after 3 of 365 days is kept" in result.output
    assert "the same command with --resume continues it" in result.output


def test_unwritable_folder_is_a_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["run", *SMALL_RUN, "--out", str(blocker / "run")])
    assert result.exit_code == 2
    assert f"{blocker / 'run'} cannot be made: {blocker} is a file" in result.output


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "panopticon", "--help"], capture_output=True,
                         text=True, check=True)
    assert "run" in out.stdout and "scenarios" in out.stdout


def test_output_to_a_file_gets_lines_of_progress(tmp_path, monkeypatch):
    """Where no bar can be drawn (the runner's output is not a terminal), the run prints its
    progress as lines: days done, rates, time left, then done."""
    import panopticon.cli as cli

    monkeypatch.setattr(cli, "LINE_SECONDS", 0.0)
    result = runner.invoke(app, ["run", "china-2018", "--population", "2000", "--end",
                                 "2014-01-05", "--no-report", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("simulating:")]
    assert lines[0].startswith("simulating: 2 of 5 days (40%), ")
    assert "citizen-days/s" in lines[0] and "events/s" in lines[0] and lines[0].endswith("left")
    assert lines[-1].startswith("simulating: 5 of 5 days (100%)") and lines[-1].endswith("done")
