"""The reference model in panopticon's engine: agreement with the spec, and determinism.

Results must not depend on chunk size or thread count (counter-based draws, integer counters), so
those are compared for exact equality, not within a tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from panopticon.runner.reference_model import (
    EXPECTED_BLACKLISTED_FRACTION,
    EXPECTED_MEAN_SCORE,
    DriftResult,
    run_drift,
)

# more citizens than the default chunk holds, and a multiple of no chunk size below: every case
# has at least two chunks, the last one partial, so two threads are really two
N_SERIES, DAYS_SERIES = 150_001, 365


def assert_same_series(a: DriftResult, b: DriftResult) -> None:
    np.testing.assert_array_equal(a.blacklisted, b.blacklisted)
    np.testing.assert_array_equal(a.mean_score, b.mean_score)


def test_agrees_with_spec_expected_values() -> None:
    n = 200_000
    result = run_drift(n, 365, seed=1, threads=2)
    f = EXPECTED_BLACKLISTED_FRACTION
    assert abs(result.final_fraction - f) <= 4 * math.sqrt(f * (1 - f) / n)
    # One citizen's day-365 score has sd about 9.5 (measured at N = 1 M).
    assert abs(result.mean_score[-1] - EXPECTED_MEAN_SCORE) <= 4 * 10.0 / math.sqrt(n)


@pytest.fixture(scope="module")
def baseline() -> DriftResult:
    return run_drift(N_SERIES, DAYS_SERIES, seed=3, chunk_size=N_SERIES, threads=1)  # one chunk


def test_baseline_exercises_the_blacklist(baseline: DriftResult) -> None:
    assert baseline.blacklisted[-1] > 0


@pytest.mark.parametrize("chunk_size", [1_000, 65_536, 100_000])
@pytest.mark.parametrize("threads", [1, 2])
def test_series_independent_of_chunks_and_threads(
    baseline: DriftResult, engines, chunk_size: int, threads: int
) -> None:
    result = run_drift(N_SERIES, DAYS_SERIES, seed=3, chunk_size=chunk_size, threads=threads)
    engines.assert_ran_on(N_SERIES, chunk_size, threads)
    assert_same_series(result, baseline)


def test_benchmark_quick_mode_runs(capsys: pytest.CaptureFixture[str], benchmark_module) -> None:
    pytest.importorskip("mesa", reason="the benchmark's peer; installed with the test extras")
    module = benchmark_module("reference_model")
    assert module.main(["--quick", "--mesa-n", "200", "--mesa-check-n", "500"]) == 0
    out = capsys.readouterr().out
    assert "identical to the engine's (same draws): True" in out
    assert "Numba / panopticon" in out
