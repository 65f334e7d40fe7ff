"""``benchmarks/full_model.py --quick``: the full model beside the reference model, in JSON."""

from __future__ import annotations

import json
import sys

import pytest


@pytest.fixture
def module(benchmark_module, monkeypatch):
    """The benchmark's module, its child runs finding this panopticon."""
    monkeypatch.setenv("PYTHONPATH", ":".join(sys.path))
    return benchmark_module("full_model")


def test_quick_mode_writes_rates_memory_and_ratios_by_round(module, tmp_path, capsys):
    """Two rounds: the reference model and the full model each round, the ratios within the
    round, their median and range over the rounds."""
    module.main(["--quick", "--rounds", "2", "--json", str(tmp_path / "bench.json")])
    result = json.loads((tmp_path / "bench.json").read_text())
    rows = result["rows"]
    assert [(r["engine"].split(" ")[0], r["round"]) for r in rows] == [
        ("reference", 1), ("panopticon", 1), ("reference", 2), ("panopticon", 2)]
    for model in rows[1::2]:
        assert model["citizens"] == 20_000 and model["days"] == 90
        assert model["events_per_second"] > 0 and model["citizen_days_per_second"] > 0
        assert model["peak_rss_bytes"] > model["bytes_per_citizen"] * 20_000 > 0
        # the growth with the citizens, without the fixed part that 20 citizens' run measures
        assert 0 < model["bytes_per_citizen_above_fixed"] < model["bytes_per_citizen"]
    shares = result["ratios"]
    assert [s["round"] for s in shares] == [1, 2]
    for share, ref, model in zip(shares, rows[0::2], rows[1::2], strict=True):
        assert share["reference_over_model"] == pytest.approx(
            ref["citizen_days_per_second"] / model["citizen_days_per_second"])
    [median] = result["medians"]
    values = sorted(s["reference_over_model"] for s in shares)
    assert median["rounds"] == 2 and median["reference_over_model_range"] == values
    assert median["reference_over_model"] == pytest.approx(sum(values) / 2)
    out = capsys.readouterr().out
    assert "the reference model is" in out and "2 rounds)" in out


def test_ratios_are_to_this_trees_engine_whichever_ran_first_in_the_round(module):
    """Engines take turns at running first: each round's ratios are to this tree's engine (the
    first of the first round), listed in the first round's order."""
    def row(engine, speed, k):
        return module.Row(engine, 1000, 10, 1.0, speed, None, None, None, round=k)
    rows = [row("reference model", 100.0, 1), row("panopticon new", 50.0, 1),
            row("panopticon old", 10.0, 1), row("reference model", 80.0, 2),
            row("panopticon old", 8.0, 2), row("panopticon new", 20.0, 2)]
    shares = module.ratios(rows)
    assert [(s["round"], s["engine"]) for s in shares] == [
        (1, "panopticon new"), (1, "panopticon old"), (2, "panopticon new"),
        (2, "panopticon old")]
    assert [s["model_over_first"] for s in shares] == pytest.approx([1.0, 0.2, 1.0, 0.4])
    assert [s["reference_over_model"] for s in shares] == pytest.approx([2.0, 10.0, 4.0, 10.0])


@pytest.mark.parametrize("text", ["0", "two", "", "-1"])
def test_rounds_refuses_what_is_not_a_number_of_rounds(module, text, capsys):
    with pytest.raises(SystemExit):
        module.parse_args(["--rounds", text])
    assert "is not a number of rounds" in capsys.readouterr().err


def test_scaling_gives_each_models_speed_over_its_first_thread_count(module, tmp_path, capsys):
    module.main(["--quick", "--scaling", "1,2", "--json", str(tmp_path / "threads.json")])
    result = json.loads((tmp_path / "threads.json").read_text())
    assert result["threads"] == [1, 2]
    assert [r["engine"] for r in result["rows"]] == [
        "reference model, 1 thread", "panopticon, 1 thread",
        "reference model, 2 threads", "panopticon, 2 threads"]
    rows = {r["engine"]: r for r in result["rows"]}
    for s in result["speedups"]:
        first = rows[s["engine"].replace("2 threads", "1 thread")]
        assert s["over_first"] == pytest.approx(
            rows[s["engine"]]["citizen_days_per_second"] / first["citizen_days_per_second"])
    assert "x the speed on 1 thread" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["0,2", "two", "", "1,,2"])
def test_scaling_refuses_what_is_not_thread_counts(module, text, capsys):
    with pytest.raises(SystemExit):
        module.parse_args(["--scaling", text])
    assert "is not a list of thread counts" in capsys.readouterr().err


def test_size_replaces_the_default_sizes(module, tmp_path):
    module.main(["--size", "3000:2018-01-01:2018-01-20", "--scaling", "1",
                 "--json", str(tmp_path / "threads.json")])
    rows = json.loads((tmp_path / "threads.json").read_text())["rows"]
    assert [(r["citizens"], r["days"]) for r in rows if r["engine"].startswith("panopticon")] \
        == [(3000, 20)]


@pytest.mark.parametrize("text", ["1410000", "0:2018-01-01:2018-12-31", "a:b:c",
                                  "1410000:2018-01-01"])
def test_size_refuses_what_is_not_a_size(module, text, capsys):
    with pytest.raises(SystemExit):
        module.parse_args(["--size", text])
    assert "is not a size" in capsys.readouterr().err
