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


def test_quick_mode_writes_rates_memory_and_ratios(module, tmp_path, capsys):
    module.main(["--quick", "--json", str(tmp_path / "bench.json")])
    result = json.loads((tmp_path / "bench.json").read_text())
    engines = [r["engine"] for r in result["rows"]]
    assert engines[0] == "reference model" and engines[1].startswith("panopticon ")
    model = result["rows"][1]
    assert model["citizens"] == 20_000 and model["days"] == 90
    assert model["events_per_second"] > 0 and model["citizen_days_per_second"] > 0
    assert model["peak_rss_bytes"] > model["bytes_per_citizen"] * 20_000 > 0
    # the growth with the citizens, without the fixed part that 20 citizens' run measures
    assert 0 < model["bytes_per_citizen_above_fixed"] < model["bytes_per_citizen"]
    [share] = result["ratios"]
    assert share["reference_over_model"] == pytest.approx(
        result["rows"][0]["citizen_days_per_second"] / model["citizen_days_per_second"])
    assert "the reference model is" in capsys.readouterr().out


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
