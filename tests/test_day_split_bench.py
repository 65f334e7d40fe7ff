"""``benchmarks/day_split.py``: a day of the full model split by phase, worker and stage."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from panopticon.language.scenario import load
from panopticon.runner.simulation import Simulation
from panopticon.world.engine import DayClock


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("day_split")


def test_a_run_with_a_clock_times_every_stage_and_is_the_same(tmp_path):
    sc = load("china-2018").with_changes(**{
        "population.size": 3_000, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 1, 20)})
    clock = DayClock()
    timed = Simulation(sc, chunk_size=999, threads=2).run(clock=clock)
    plain = Simulation(sc, chunk_size=999, threads=2).run()
    np.testing.assert_array_equal(timed.counts, plain.counts)
    sim = Simulation(sc)
    stages = sim.active
    assert {f"start {s.NAME}" for s in stages} | {f"end {s.NAME}" for s in stages} | {
        f"end phase {k} {s.NAME}" for s in sim.phase_enders for k in (1, 2)} | {
        "end cohort"} == set(clock.parts)  # 3,000 citizens run on one worker
    assert [s.NAME for s in sim.phase_enders] == ["registry", "consequences"]
    assert set(clock.phases) == {0, 1} and {w for _, w in clock.busy} == {0, 1}


def test_the_split_gives_each_thread_counts_phases_and_parts(module, tmp_path, capsys):
    module.main(["-n", "3000", "--days", "4", "--threads", "1,2", "--chunk-size", "700",
                 "--repeats", "2", "--json", str(tmp_path / "split.json")])
    result = json.loads((tmp_path / "split.json").read_text())
    assert (result["citizens"], result["days"], result["chunk_size"], result["repeats"]) == (
        3000, 4, 700, 2)
    one, two = result["rows"]
    assert (one["threads"], two["threads"]) == (1, 2)
    assert (one["chunks"], two["chunks"]) == (5, 6)  # chunk_bounds of 3,000 by 700
    for row in result["rows"]:
        assert [p["phase"] for p in row["phases"]] == [1, 2]
        for p in row["phases"]:
            assert 0 <= p["busiest"] <= p["wall"] and p["hand_offs"] >= 0
        assert row["between_phases"] == pytest.approx(sum(row["parts"].values()))
        assert row["day_ms"] == pytest.approx(sum(p["wall"] for p in row["phases"])
                                              + row["between_phases"] + row["waited"]
                                              + row["rest"])
        assert "end cohort" in row["parts"]
    assert "M citizen-days/s" in capsys.readouterr().out


def test_the_fastest_of_the_repeats_is_kept(module, monkeypatch):
    days = iter([5.0, 3.0, 4.0])
    monkeypatch.setattr(module, "split", lambda *args: {"day_ms": next(days)})
    assert module.fastest(b"", 2, 10, repeats=3) == {"day_ms": 3.0}
    assert next(days, None) is None  # every repeat ran


@pytest.mark.slow  # compiles phase 1 anew for each of its cuts: minutes on a fresh machine
def test_the_steps_are_phase_ones_in_order_then_the_rest(module, tmp_path, capsys):
    module.main(["-n", "3000", "--days", "3", "--threads", "1", "--steps",
                 "--json", str(tmp_path / "split.json")])
    result = json.loads((tmp_path / "split.json").read_text())
    sc = load("china-2018").with_changes(**{"population.size": 3_000})
    first = [step.step.__qualname__ for step in Simulation(sc).phases[0]]
    assert [r["step"] for r in result["steps"]] == [*first, "later phases", "between phases"]
    assert first[0] == "Behaviour.step" and all(np.isfinite(r["ms"]) for r in result["steps"])
    assert "ns a citizen" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--threads", "0,2"], ["--threads", "two"], ["--days", "0"],
                                  ["--chunk-size", "0"], ["--repeats", "0"]])
def test_the_split_refuses_bad_arguments(module, args, capsys):
    with pytest.raises(SystemExit):
        module.parse_args(args)
    err = capsys.readouterr().err
    assert "must be at least 1" in err or "is not a list of thread counts" in err


def test_with_history_the_days_timed_are_the_runs_own(module, tmp_path):
    """``--history``: the state the run itself has at START, run from the scenario's start;
    the days timed after it are those of the whole run."""
    start, days = dt.date(2014, 2, 1), 3
    sim = module.simulation(3_000, start, days, history=True)
    assert sim.day == (start - sim.scenario.start).days
    assert sim.scenario.end == start + dt.timedelta(days=module.WARM_DAYS + days - 1)
    whole = Simulation(sim.scenario).run()
    rest = sim.run()
    np.testing.assert_array_equal(rest.counts, whole.counts)
    module.main(["-n", "3000", "--start", str(start), "--history", "--days", "2", "--threads",
                 "1", "--json", str(tmp_path / "split.json")])
    result = json.loads((tmp_path / "split.json").read_text())
    assert result["history"] and result["rows"][0]["day_ms"] > 0
