"""``benchmarks/event_shares.py``: how many citizens a day change their standing."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("event_shares")


def test_the_shares_of_a_run_by_year(module, tmp_path, capsys):
    """china-2018 at a few citizens: a row per year of the run, shares between 0 and 1, no more
    under a sanction than under any measure; standings change, on well under 1% of citizens a
    day, once the measures have begun."""
    result = module.main(["-n", "3000", "--json", str(tmp_path / "shares.json")])
    assert list(result) == list(range(2014, 2020))
    for s in result.values():
        assert all(0.0 <= v <= 1.0 for k, v in s.items() if k != "days_recounted")
        assert s["under_a_sanction"] <= s["under_a_measure"]
    late = result[2019]
    assert late["under_a_sanction"] > 0 and 0 < late["standing_changed"] < 0.01
    assert json.loads((tmp_path / "shares.json").read_text())["years"]["2019"] == late
    assert "standing changed" in capsys.readouterr().out
