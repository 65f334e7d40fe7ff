"""The "score drift" reference model (shared/bench/reference_model.md) in three engines, in one run.

Measures agent-days per second of

* panopticon's general engine (``panopticon.runner.reference_model.run_drift``),
* a hand-written Numba kernel of the same model (the peer the engine must stay within 3x of), and
* Mesa 3 (one ``Agent`` object per citizen, ``model.agents.shuffle_do("step")``),

and checks each against the spec's exact day-365 values within sampling noise. The peers are timed
in the same run because the machine is shared and its speed moves with the load.

The Numba kernel uses the engine's counter-based draws (same streams, same thresholds), so its
per-day series must equal the engine's exactly; that is checked too. Mesa draws from its own
generator, so it agrees only statistically. Mesa runs well under 1 M agent-days/s, so its throughput
is measured at ``--mesa-n`` citizens for ``--mesa-days`` days and its agreement on a separate
365-day run at ``--mesa-check-n`` citizens.

    .venv/bin/python benchmarks/reference_model.py            # N = 1 M, 365 days
    .venv/bin/python benchmarks/reference_model.py --quick    # seconds; a smoke test
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange, uint64

from panopticon.runner.reference_model import (
    BETA_A,
    BETA_B,
    DELIST_AT,
    DETECT_P,
    EXPECTED_BLACKLISTED_FRACTION,
    EXPECTED_MEAN_SCORE,
    LIST_BELOW,
    PENALTY,
    RESTORE_P,
    START_SCORE,
    DriftResult,
    propensities,
    run_drift,
)
from panopticon.world.rng import draw_bits, stream_key

EXPECTED_DAYS = 365
# The spec rounds its expected values; half a unit of the last digit is added to each tolerance.
FRACTION_ROUNDING = 0.000005
MEAN_ROUNDING = 0.0005
# Standard deviation of one citizen's day-365 score (9.53 and 9.54 at N = 1 M, seeds 1 and 2),
# rounded up; the mean score's sampling sd at N citizens is this over sqrt(N).
SCORE_SD = 10.0
SIGMAS = 4.0

_UNIT = 9007199254740992.0  # 2**53: rng.chance compares 53-bit integers
_F31 = np.float32(2.0**31)
_F22 = np.float32(2.0**22)
_DETECT_T = np.int64(DETECT_P * _UNIT)
_RESTORE_T = np.int64(RESTORE_P * _UNIT)


# --- hand-written Numba kernel -------------------------------------------------------------------


@njit(inline="always")
def _threshold(p: np.float32) -> np.int64:
    """``int64(p * 2**53)`` for float32 ``0 <= p < 1``, exactly, from float32 -> int32 conversions.

    AVX2 has no vector float -> int64 conversion, so ``rng.chance(.., p)`` on a per-citizen ``p``
    falls back to scalar code inside the vector loop. ``p * 2**31`` is exact; its integer part
    and its fraction times 2**22 are exact int32s, which AVX2 converts 8 at a time.
    """
    x = p * _F31
    hi = np.int32(x)
    lo = np.int32((x - np.float32(hi)) * _F22)
    return (np.int64(hi) << 22) + np.int64(lo)


@njit(inline="always")
def _below(key: np.uint64, citizen: np.int64, day: np.int64, threshold: np.int64) -> bool:
    """``rng.chance`` with the threshold already an integer: the same bits, the same outcome."""
    return np.int64(draw_bits(key, citizen, day) >> uint64(11)) < threshold


# No ``cache=True``: a script's module name differs between ``python script.py`` (__main__) and
# an import by the tests, and Numba's cache records the module name.
@njit(parallel=True)
def numba_drift(
    score: np.ndarray,
    p: np.ndarray,
    black: np.ndarray,
    days: int,
    k_inf: np.uint64,
    k_det: np.uint64,
    k_res: np.uint64,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the model ``days`` days in place; returns per-day (blacklisted, score sum).

    Branch-free, so LLVM vectorises the loop (4 citizens per AVX2 register): every draw is made
    and selects pick the outcome. The three ``draw_bits`` calls share ``counter * GOLDEN``, which
    LLVM computes once.
    """
    n = score.shape[0]
    blacklisted = np.zeros(days, dtype=np.int64)
    score_sum = np.zeros(days, dtype=np.int64)
    for day in range(days):
        n_black = 0
        total = 0
        for i in prange(n):
            hit = _below(k_inf, i, day, _threshold(p[i])) & _below(k_det, i, day, _DETECT_T)
            s = np.int32(score[i]) - np.int32(PENALTY) * np.int32(hit)
            s += np.int32((s < START_SCORE) & _below(k_res, i, day, _RESTORE_T))
            b = (s < LIST_BELOW) | ((black[i] != 0) & (s < DELIST_AT))
            score[i] = s
            black[i] = b
            n_black += b
            total += s
        blacklisted[day] = n_black
        score_sum[day] = total
    return blacklisted, score_sum


def run_numba(n: int, days: int = EXPECTED_DAYS, seed: int = 1) -> DriftResult:
    """The hand-written kernel on the engine's initial state and streams (so identical results)."""
    score = np.full(n, START_SCORE, dtype=np.int16)
    black = np.zeros(n, dtype=np.uint8)
    p = propensities(n, seed)
    keys = [stream_key(seed, s) for s in ("bench.infraction", "bench.detect", "bench.restore")]
    blacklisted, score_sum = numba_drift(score, p, black, days, *keys)
    return DriftResult(blacklisted=blacklisted, mean_score=score_sum / n, n=n)


@njit(parallel=True)
def draws_only(n: int, days: int, k_inf: np.uint64, k_det: np.uint64, k_res: np.uint64) -> int:
    """The kernel's three draws per agent-day and nothing else: a ceiling for any kernel that
    makes them, whatever its engine. Returns a count so that LLVM cannot drop the draws."""
    count = 0
    for day in range(days):
        for i in prange(n):
            hit = _below(k_inf, i, day, _RESTORE_T) & _below(k_det, i, day, _DETECT_T)
            count += hit + _below(k_res, i, day, _RESTORE_T)
    return count


def run_draws_only(n: int, days: int, seed: int = 1) -> None:
    """:func:`draws_only` on the model's streams; there is no model state, hence no result."""
    keys = [stream_key(seed, s) for s in ("bench.infraction", "bench.detect", "bench.restore")]
    draws_only(n, days, *keys)


# --- Mesa 3 --------------------------------------------------------------------------------------


def mesa_model_class() -> type:
    """Build the Mesa model class on first use: Mesa is an optional (``bench``) dependency."""
    import mesa

    class Citizen(mesa.Agent):
        """One citizen as a Mesa agent, written the way Mesa's documentation writes agents."""

        def __init__(self, model: mesa.Model, propensity: float) -> None:
            super().__init__(model)
            self.propensity = propensity
            self.score = START_SCORE
            self.blacklisted = False

        def step(self) -> None:
            draw = self.random.random
            if draw() < self.propensity and draw() < DETECT_P:
                self.score -= PENALTY
            if self.score < START_SCORE and draw() < RESTORE_P:
                self.score += 1
            if self.score < LIST_BELOW:
                self.blacklisted = True
            elif self.score >= DELIST_AT:
                self.blacklisted = False

    class DriftModel(mesa.Model):
        """N citizens; each step is one day, followed by collecting the day's outputs."""

        def __init__(self, n: int, seed: int) -> None:
            super().__init__(seed=seed)
            Citizen.create_agents(self, n, self.rng.beta(BETA_A, BETA_B, n).tolist())
            self.datacollector = mesa.DataCollector(
                model_reporters={
                    "blacklisted": lambda m: m.agents.agg("blacklisted", sum),
                    "mean_score": lambda m: m.agents.agg("score", statistics.fmean),
                }
            )

        def step(self) -> None:
            self.agents.shuffle_do("step")
            self.datacollector.collect(self)

    return DriftModel


def run_mesa(n: int, days: int, seed: int = 1) -> tuple[DriftResult, float]:
    """Run the Mesa model; returns its result and the seconds its days took (building excluded)."""
    model = mesa_model_class()(n, seed)
    start = time.perf_counter()
    for _ in range(days):
        model.step()
    seconds = time.perf_counter() - start
    frame = model.datacollector.get_model_vars_dataframe()
    result = DriftResult(
        blacklisted=frame["blacklisted"].to_numpy(dtype=np.int64),
        mean_score=frame["mean_score"].to_numpy(dtype=np.float64),
        n=n,
    )
    return result, seconds


# --- agreement and timing ------------------------------------------------------------------------


@dataclass
class Agreement:
    """A day-365 result against the spec's exact values, with 4-sd tolerances at its N."""

    fraction: float
    fraction_tol: float
    mean_score: float
    mean_tol: float

    @property
    def ok(self) -> bool:
        return (
            abs(self.fraction - EXPECTED_BLACKLISTED_FRACTION) <= self.fraction_tol
            and abs(self.mean_score - EXPECTED_MEAN_SCORE) <= self.mean_tol
        )


def agreement(result: DriftResult) -> Agreement:
    """Binomial sd for the blacklisted fraction; ``SCORE_SD / sqrt(N)`` for the mean score."""
    f = EXPECTED_BLACKLISTED_FRACTION
    return Agreement(
        fraction=result.final_fraction,
        fraction_tol=SIGMAS * math.sqrt(f * (1 - f) / result.n) + FRACTION_ROUNDING,
        mean_score=float(result.mean_score[-1]),
        mean_tol=SIGMAS * SCORE_SD / math.sqrt(result.n) + MEAN_ROUNDING,
    )


@dataclass
class Measurement:
    """One engine's runs at one size: the median throughput and every run's result."""

    engine: str
    n: int
    days: int
    seconds: list[float]
    results: list[DriftResult | None]  # None: a run without model state (the draws-only ceiling)

    @property
    def rate(self) -> float:
        """Agent-days per second of the median run."""
        return self.n * self.days / statistics.median(self.seconds)

    @property
    def best_rate(self) -> float:
        """Agent-days per second of the fastest run: the least disturbed by other load."""
        return self.n * self.days / min(self.seconds)


Run = Callable[[int, int, int], DriftResult | None]  # (n, days, seed) -> result


def measure_interleaved(
    runs: dict[str, Run], n: int, days: int, seeds: Sequence[int]
) -> list[Measurement]:
    """Time whole runs (state set-up included), alternating engines seed by seed so that a change
    in the machine's load hits every engine alike."""
    measurements = [Measurement(name, n, days, [], []) for name in runs]
    for seed in seeds:
        for m, run in zip(measurements, runs.values()):
            start = time.perf_counter()
            m.results.append(run(n, days, seed))
            m.seconds.append(time.perf_counter() - start)
    return measurements


def measure_mesa(n: int, days: int, seed: int) -> Measurement:
    """Mesa's day loop only: building a million agent objects would dominate a three-day run."""
    result, seconds = run_mesa(n, days, seed)
    return Measurement("Mesa 3 (Agent objects)", n, days, [seconds], [result])


def same_series(a: DriftResult, b: DriftResult) -> bool:
    return np.array_equal(a.blacklisted, b.blacklisted) and np.array_equal(
        a.mean_score, b.mean_score
    )


# --- reporting -----------------------------------------------------------------------------------


def fmt_rate(rate: float) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.3g} {unit}"
    return f"{rate:.3g}"


def row(m: Measurement) -> list[str]:
    """One table row; the agreement columns are for the first seed, and only at 365 days."""
    cells = [m.engine, f"{m.n:,}", str(m.days), str(len(m.seconds))]
    cells += [fmt_rate(m.rate), fmt_rate(m.best_rate)]
    if m.results[0] is None:
        return cells + ["(no model state)", "", ""]
    if m.days != EXPECTED_DAYS:
        return cells + ["(throughput only)", "", ""]
    checks = [agreement(r) for r in m.results]
    a = checks[0]
    return cells + [
        f"{a.fraction:.5f} ± {a.fraction_tol:.5f}",
        f"{a.mean_score:.3f} ± {a.mean_tol:.3f}",
        "yes" if all(c.ok for c in checks) else "NO",
    ]


def print_table(rows: list[list[str]], title: str) -> None:
    headers = ["engine", "N", "days", "runs", "median", "best", "blacklisted", "mean score"]
    headers.append("agrees")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        for r in [headers, *rows]:
            print(" | ".join(r))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # Rich assumes 80 columns when piped; keep rows on one line
    table = Table(title=title)
    for h in headers:
        table.add_column(h, justify="left" if h == "engine" else "right")
    for r in rows:
        table.add_row(*r)
    console.print(table)


# --- command line --------------------------------------------------------------------------------


FULL = {"n": 1_000_000, "seeds": 5, "mesa_days": 3, "mesa_check_n": 20_000}
QUICK = {"n": 20_000, "seeds": 1, "mesa_days": 2, "mesa_check_n": 2_000}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, help="citizens, panopticon and Numba (default 1,000,000)")
    ap.add_argument("--days", type=int, default=EXPECTED_DAYS)
    ap.add_argument("--seeds", type=int, help="runs per engine, seeds 1..k; median (default 5)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mesa-n", type=int, help="citizens, Mesa throughput run (default --n)")
    ap.add_argument("--mesa-days", type=int, help="days, Mesa throughput run (default 3)")
    ap.add_argument(
        "--mesa-check-n", type=int, help="citizens, Mesa 365-day agreement run (default 20,000)"
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = ap.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.mesa_n is None:
        args.mesa_n = min(args.n, 2_000) if args.quick else args.n
    return args


def warm_up(threads: int) -> None:
    """Compile (or load from cache) every kernel, so that no timing includes compilation."""
    numba.set_num_threads(threads)
    run_drift(10_000, 2, threads=threads)
    run_numba(10_000, 2)
    run_draws_only(10_000, 2)


def measure_mesa_runs(args: argparse.Namespace) -> list[Measurement]:
    """Mesa's throughput run and its 365-day agreement run; none if Mesa is not installed."""
    try:
        runs = [measure_mesa(args.mesa_n, args.mesa_days, seed=1)]
    except ImportError:
        print("Mesa is not installed (pip install panopticon[bench]); skipped.")
        return []
    if args.mesa_check_n:
        runs.append(measure_mesa(args.mesa_check_n, EXPECTED_DAYS, seed=1))
    return runs


def print_ratios(
    engine: Measurement, peer: Measurement, ceiling: Measurement, mesa: list[Measurement]
) -> None:
    if mesa:
        ratio = engine.rate / mesa[0].rate
        print(f"panopticon / Mesa:   {ratio:,.0f}x (Mesa at N = {mesa[0].n:,})")
    print(
        f"Numba / panopticon:  {peer.rate / engine.rate:.2f}x on medians, "
        f"{peer.best_rate / engine.best_rate:.2f}x on best runs"
    )
    print(
        f"Ceiling from the draws alone (same threads, no state, best run): "
        f"{fmt_rate(ceiling.best_rate)} agent-days/s = {fmt_rate(3 * ceiling.best_rate)} "
        "SplitMix64 draws/s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, and return 1 if any engine disagrees with the spec (or Numba with the engine)."""
    args = parse_args(argv)
    warm_up(args.threads)
    print(
        f"score drift: panopticon and Numba at N = {args.n:,} x {args.days} days, {args.seeds} "
        f"seed(s), {args.threads} thread(s); Mesa throughput at N = {args.mesa_n:,} x "
        f"{args.mesa_days} days, Mesa agreement at N = {args.mesa_check_n:,} x {EXPECTED_DAYS} "
        f"days. {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start."
    )

    def engine_run(n: int, days: int, seed: int) -> DriftResult:
        return run_drift(n, days, seed, threads=args.threads)

    runs = {
        "panopticon": engine_run,
        "Numba (hand-written)": run_numba,
        "draws alone (ceiling)": run_draws_only,
    }
    engine, peer, ceiling = measure_interleaved(runs, args.n, args.days, range(1, args.seeds + 1))
    mesa = measure_mesa_runs(args)
    measurements = [engine, peer, ceiling, *mesa]

    print_table([row(m) for m in measurements], "agent-days per second; day-365 outputs ± 4 sd")
    identical = all(same_series(a, b) for a, b in zip(engine.results, peer.results))
    print(f"Numba kernel per-day series identical to the engine's (same draws): {identical}")
    print_ratios(engine, peer, ceiling, mesa)
    print(f"load average {os.getloadavg()[0]:.2f} at end")

    results = [r for m in measurements if m.days == EXPECTED_DAYS for r in m.results]
    ok = identical and all(agreement(r).ok for r in results if r is not None)
    if not ok:
        print("AGREEMENT CHECK FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
