"""This machine's pace: learned from its runs, kept apart by threads, never in a run's way."""

from __future__ import annotations

import json

import pytest
from numba import config
from typer.testing import CliRunner

from panopticon import kernel_cache
from panopticon.cli import app
from panopticon.language.scenario import load
from panopticon.runner import cost, pace

runner = CliRunner()
RUN = ["--population", "1500", "--start", "2018-01-01", "--end", "2018-01-31", "--no-report",
       "--quiet"]


@pytest.fixture()
def kept(tmp_path, monkeypatch):
    """The pace file in a folder of the test's own."""
    path = tmp_path / "cache" / "pace.json"
    monkeypatch.setattr(pace, "pace_file", lambda: path)
    return path


def test_the_constants_until_this_machine_has_run(kept):
    sc = load("china-2018")
    first = pace.estimate_time(sc, threads=2)
    assert first.pace is None and "reference machine" in first.source()
    assert first.seconds == pytest.approx(cost.run_seconds(sc, threads=2))
    pace.record(first, measured=first.runs_seconds / 2)
    second = pace.estimate_time(sc, threads=2)
    assert second.pace == pace.Pace(0.5, 1) and "its last 1 run)" in second.source()
    assert second.seconds == pytest.approx(cost.START_SECONDS + first.runs_seconds / 2)
    half = pace.estimate_time(sc, threads=2, left=0.5)
    assert half.seconds - cost.START_SECONDS == pytest.approx(
        (second.seconds - cost.START_SECONDS) / 2)


def test_the_median_of_the_last_runs_on_as_many_threads(kept):
    sc = load("china-2018")
    est = pace.estimate_time(sc, threads=2)
    for ratio in (3.0, 0.4, 0.6, 0.7, 0.5, 0.65):  # the first is dropped
        pace.record(est, measured=ratio * est.runs_seconds)
    assert pace.learned(est.threads) == pace.Pace(pytest.approx(0.6), pace.KEPT)
    one = pace.estimate_time(sc, threads=1)
    assert one.threads == 1 and one.pace is None


def test_short_runs_and_runs_on_other_chunks_are_not_kept(kept):
    est = pace.estimate_time(load("china-2018"), threads=1)
    pace.record(est, measured=pace.MIN_SECONDS / 2)
    pace.record(est, measured=2 * est.runs_seconds, chunk_size=7_777)
    assert not kept.exists() and pace.learned(1) is None


def test_a_run_that_compiled_kernels_teaches_the_compile_not_the_pace(kept, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "numba"))
    est = pace.estimate_time(load("china-2018"), threads=1)  # no kernel of this version
    assert est.compile_seconds == cost.COMPILE_SECONDS
    assert est.seconds == pytest.approx(cost.START_SECONDS + cost.COMPILE_SECONDS
                                        + est.runs_seconds)
    kernel = tmp_path / "numba" / sorted(kernel_cache.own_folders())[0] / "kernel.1.nbc"
    kernel.parent.mkdir(parents=True)
    kernel.write_text("")
    pace.record(est, measured=50 + 2 * est.runs_seconds)
    assert pace.learned(1) is None  # its minutes were the compile's too
    assert pace.learned_compile() == pytest.approx(50 + est.runs_seconds)  # at the constants
    warm = pace.estimate_time(load("china-2018"), threads=1)
    assert warm.compile_seconds == 0 and warm.seconds == pytest.approx(cost.run_seconds(
        load("china-2018"), threads=1))
    pace.record(warm, measured=2 * est.runs_seconds)
    assert pace.learned(1) == pace.Pace(2.0, 1)
    kernel.unlink()  # another version of the sources: its kernels compile again
    again = pace.estimate_time(load("china-2018"), threads=1)
    assert again.compile_seconds == pytest.approx(50 + est.runs_seconds)
    pace.record(again, measured=60 + 2 * est.runs_seconds)  # none kept: it compiled unseen
    assert pace.learned_compile() == pytest.approx(50 + est.runs_seconds)
    assert pace.learned(1) == pace.Pace(2.0, 1)
    kernel.write_text("")
    pace.record(again, measured=60 + 2 * est.runs_seconds)  # beyond the runs at its pace
    assert pace.learned_compile() == pytest.approx((50 + est.runs_seconds + 60) / 2)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"a": "b"}'])
def test_a_spoilt_file_is_passed_over_and_replaced(kept, text):
    kept.parent.mkdir()
    kept.write_text(text)
    est = pace.estimate_time(load("china-2018"), threads=1)
    assert est.pace is None
    pace.record(est, measured=2 * est.runs_seconds)
    assert pace.learned(1) == pace.Pace(2.0, 1)
    assert list(json.loads(kept.read_text()).values())[-1] == [2.0]


def test_a_folder_that_cannot_be_written_stops_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(pace, "pace_file", lambda: blocker / "pace.json")
    est = pace.estimate_time(load("china-2018"), threads=1)
    pace.record(est, measured=est.runs_seconds)
    assert pace.learned(1) is None


def test_the_command_learns_this_machines_pace(kept, tmp_path, monkeypatch):
    monkeypatch.setattr(pace, "MIN_SECONDS", 0.0)
    monkeypatch.setattr(pace, "cached_files", lambda: None)  # kept even where kernels compile
    out = tmp_path / "run"
    first = runner.invoke(app, ["run", "china-2018", *RUN, "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert "at a reference machine's pace" in first.output
    (ratio,) = next(iter(json.loads(kept.read_text()).values()))
    assert ratio > 0
    again = runner.invoke(app, ["run", "china-2018", *RUN, "--out", str(out), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert "at this machine's pace (its last 1 run)" in again.output
