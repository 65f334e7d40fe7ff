"""The "score drift" reference model (shared/bench/reference_model.md) in panopticon's engine.

It is a benchmark and a check of the engine, not a policy preset: the same model runs in Mesa and
in a hand-written Numba kernel in ``benchmarks/reference_model.py``, and the engine's results must
agree with the exact values below within sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..world.engine import DEFAULT_CHUNK, Engine
from ..world.rng import bits53, chance, stream_key, threshold
from ..world.today import Today

START_SCORE = 1000
DETECT_P = 0.3
PENALTY = 5
RESTORE_P = 0.1
LIST_BELOW = 950
DELIST_AT = 980
BETA_A, BETA_B = 2.0, 50.0
# Exact values from the reference model's specification (day 365).
EXPECTED_BLACKLISTED_FRACTION = 0.00830
EXPECTED_MEAN_SCORE = 994.785

BLACKLISTED, SCORE_SUM = 0, 1


def propensities(n: int, seed: int) -> np.ndarray:
    """Beta(2, 50) propensities from a Philox generator: counter-based, independent of chunking."""
    rng = np.random.Generator(np.random.Philox(key=seed))
    return rng.beta(BETA_A, BETA_B, n).astype(np.float32)


@njit(cache=True)
def thresholds(p: np.ndarray) -> np.ndarray:
    """The integer each propensity's draw is compared with, as in ``rng.chance``."""
    out = np.empty(p.shape[0], dtype=np.int64)
    for j in range(p.shape[0]):
        out[j] = threshold(p[j])
    return out


@njit(cache=True, nogil=True)
def drift_step(score, p_thr, black, first, day, k_inf, k_det, k_res, acc):
    """Advance one chunk (array slices; ``first`` is its first citizen's id) by one day."""
    n_black = 0
    total = 0
    for j in range(score.shape[0]):
        # Branch-free so that the loop vectorises: every draw is made, selects pick the outcome.
        i = first + j
        s = np.int32(score[j])
        hit = (bits53(k_inf, i, day) < p_thr[j]) & chance(k_det, i, day, DETECT_P)
        s -= np.int32(PENALTY) * np.int32(hit)
        s += np.int32((s < START_SCORE) & chance(k_res, i, day, RESTORE_P))
        b = (s < LIST_BELOW) | ((black[j] != 0) & (s < DELIST_AT))
        score[j] = s
        black[j] = b
        n_black += b
        total += s
    acc[0, BLACKLISTED] += n_black
    acc[0, SCORE_SUM] += total


@dataclass
class DriftResult:
    blacklisted: np.ndarray  # per day
    mean_score: np.ndarray  # per day

    @property
    def final_fraction(self) -> float:
        return float(self.blacklisted[-1]) / self.n

    n: int = 0


def run_drift(
    n: int, days: int = 365, seed: int = 1, chunk_size: int = DEFAULT_CHUNK, threads: int = 1
) -> DriftResult:
    """Run the reference model for ``days`` days on ``n`` citizens in the general engine."""
    score = np.full(n, START_SCORE, dtype=np.int16)
    black = np.zeros(n, dtype=np.uint8)
    p_thr = thresholds(propensities(n, seed))  # fixed per citizen: converted once
    keys = [stream_key(seed, s) for s in ("bench.infraction", "bench.detect", "bench.restore")]
    blacklisted = np.zeros(days, dtype=np.int64)
    mean_score = np.zeros(days)
    with Engine(n, 1, 2, chunk_size=chunk_size, threads=threads) as engine:
        for day in range(days):

            def step(lo: int, hi: int, acc: np.ndarray, today: Today, day: int = day) -> None:
                drift_step(score[lo:hi], p_thr[lo:hi], black[lo:hi], lo, day, *keys, acc)

            totals = engine.run_day([[step]])[0]
            blacklisted[day] = totals[BLACKLISTED]
            mean_score[day] = totals[SCORE_SUM] / n
    return DriftResult(blacklisted=blacklisted, mean_score=mean_score, n=n)
