"""``benchmarks/restore_calendar.py``: restorations by waiting times, costed against the pass."""

from __future__ import annotations

import numpy as np
import pytest

from panopticon.language.scenario import load
from panopticon.stages.scoring import params
from panopticon.world.codes import GAP_SHIFT


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("restore_calendar")


def scores(n: int, share: float, seed: int = 1):
    """china-2018's scoring, n citizens in three regions, ``share`` of them below base (some
    with a true score apart from the published one), a ties term for a few."""
    p = params(load("china-2018"), 1)
    rng = np.random.default_rng(seed)
    score = np.full(n, p.base, np.int16)
    low = rng.random(n) < share
    score[low] -= rng.integers(1, 120, low.sum()).astype(np.int16)
    gap = (rng.integers(-3, 4, n) * (rng.random(n) < 0.3)).astype(np.int16) << GAP_SHIFT
    term = (rng.integers(-20, 1, n) * (rng.random(n) < 0.1)).astype(np.int8)
    starts = np.array([0, n // 3, n // 2, n], np.int64)
    return starts, score, gap, term, p


def test_the_calendars_running_totals_are_a_recount_and_it_restores_at_the_rate(module):
    """After days of restorations from the calendar, each region's grades, sums and wrongly
    graded as kept at each restoration equal a recount of every citizen; and the citizens below
    their target are restored at the scenario's rate, as the pass restores them."""
    n, days = 30_000, 12
    starts, score, gap, term, p = scores(n, 0.4)
    calendar = module.time_calendar(starts, score, gap, term, p, days)
    assert calendar["totals_match"]
    below = module.below(score.astype(np.int64), score + (gap.astype(np.int64) >> GAP_SHIFT),
                         term.astype(np.int64), p.base).sum()
    expected = below * p.restore_p  # on the first days, before many reach their target
    per_day = calendar["restored"] / days
    assert 0.6 * expected < per_day < 1.05 * expected
    assert 0.0 < calendar["below_share"] < below / n


def test_a_wait_is_geometric_at_the_rate(module):
    """The days to the next restoration: 0 with the rate's chance, mean (1 - p) / p."""
    p = params(load("china-2018"), 1)
    log_q = np.log1p(-p.restore_p)
    waits = np.array([module.wait(p.k_restore, i, 5, log_q) for i in range(40_000)])
    assert abs((waits == 0).mean() - p.restore_p) < 0.01
    assert abs(waits.mean() - (1 - p.restore_p) / p.restore_p) < 0.25


def test_the_costing_prints_both_ways_and_writes_its_json(module, monkeypatch, tmp_path, capsys):
    """``main`` on a small state: both timings, the ratio and the check, in the JSON."""
    monkeypatch.setattr(module, "state", lambda n, start: scores(n, 0.3))
    result = module.main(["-n", "5000", "--days", "3", "--repeats", "1",
                          "--json", str(tmp_path / "cal.json")])
    assert result["totals_match"] and result["pass_ns"] > 0 and result["calendar_ns"] > 0
    assert (tmp_path / "cal.json").exists()
    assert "ns a restoration" in capsys.readouterr().out
