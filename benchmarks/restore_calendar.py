"""Costing: scores restored by waiting times from a calendar, against scoring's pass.

Scoring's pass over everyone (``scoring.restore_run`` and ``grade_run``, a run of one region at
a time, as the engine's chunks cut them) draws each citizen's restoration every day and counts
grades and score sums. The event-driven alternative of issue 11 (docs/design/events.md, step 3)
keeps only the citizens below their target in a calendar of days: each restoration is a visit
that restores, moves the region's running totals (grades, sums, the wrongly graded) and draws
the waiting time to the next (geometric, as a restoration each day with the rate is), and a
citizen back at its target leaves the calendar. Each day's entries are taken in citizen order
(sorted: the citizens' scores are then read forward through memory).

Both run the same days from the same scores of china-2018 (run from its start to ``--start``),
best of ``--repeats``; printed: each one's ns a citizen-day, their ratio, the calendar's ns a
restoration, the citizens restored a day and those below their target. The calendar's running
totals are checked against a recount at the end. Not built into the engine: this is what
decides whether it pays (docs/performance.md, "Costing: restorations as waiting times").

    .venv/bin/python benchmarks/restore_calendar.py                     # 1.41 M, 2019-09-01
    .venv/bin/python benchmarks/restore_calendar.py -n 141000 --days 30

Results also as JSON (``--json``, default runs/bench/restore_calendar.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numba import njit

from panopticon.language.scenario import load
from panopticon.runner.simulation import Simulation
from panopticon.stages.scoring import ScoreParams, grade_run, restore_and_clamp, restore_run
from panopticon.world.codes import GAP_SHIFT, cause_of, gap_of, true_of
from panopticon.world.engine import DEFAULT_CHUNK, chunk_bounds
from panopticon.world.pieces import runs
from panopticon.world.population import region_of
from panopticon.world.rng import threshold, uniform

ROOT = Path(__file__).resolve().parent.parent
SLOTS = 256  # the calendar's days; a longer wait is drawn again from its last day
FAR = np.int32(1 << 30)  # an entry's mark: its wait was cut at SLOTS - 1 days (n < 2**30)
TOTALS = 3  # per region after the grades: score sum, true score sum, wrongly graded


@njit(cache=True)
def pass_day(day, chunks, starts, score, gap, term, records, moved, thr, p, acc):
    """One day of scoring's pass over everyone: restoration, grades and sums, run by run; the
    marks for consequences (``moved``) across the grade cuts, where china-2018's measures
    change (the engine's are consequences' own cuts, four of the grades' five in 2019)."""
    for c in range(chunks.shape[0]):
        lo, hi = chunks[c, 0], chunks[c, 1]
        bounds = runs(starts, lo, hi)
        for q in range(bounds.shape[0] - 1):
            a, b = lo + bounds[q], lo + bounds[q + 1]
            acc_r = acc[region_of(starts, a)]
            restore_run(a, day, records[a:b], score[a:b], gap[a:b], term[a:b], moved[a:b],
                        p.cuts, thr, p, acc_r)
            grade_run(score[a:b], gap[a:b], p.cuts, p.cut_grade, acc_r)


@njit(cache=True, inline="always")
def wait(key, i, day, log_q):
    """Days from ``day`` to citizen i's next restoration (0: that day): geometric."""
    return np.int64(math.log1p(-uniform(key, i, day)) / log_q)


@njit(cache=True, inline="always")
def grade(s, cuts):
    """The number of grade cuts at or below score ``s``."""
    g = 0
    for k in range(len(cuts)):
        g += np.int64(s >= cuts[k])
    return g


@njit(cache=True, inline="always")
def file(cal, counts, day, i, w):
    """Put citizen i in the calendar ``w`` days after ``day`` (cut at SLOTS - 1, marked)."""
    slot = (day + min(w, SLOTS - 1)) % SLOTS
    if counts[slot] == cal.shape[1]:
        raise IndexError("a day of the calendar is full")
    cal[slot, counts[slot]] = np.int32(i) | (FAR if w >= SLOTS - 1 else np.int32(0))
    counts[slot] += 1


@njit(cache=True, inline="always")
def below(s, t, term, base):
    """Whether a citizen's published or true score is below its target (restorable)."""
    return (s < base + term) | (t < base)


@njit(cache=True, inline="always")
def count(totals, r, s, t, cuts, sign):
    """Add (sign 1) or take out (-1) a citizen's scores from its region's running totals."""
    g, h = grade(s, cuts), grade(t, cuts)
    totals[r, g] += sign
    base = len(cuts) + 1
    totals[r, base] += sign * s
    totals[r, base + 1] += sign * t
    totals[r, base + 2] += sign * np.int64(g != h)


@njit(cache=True)
def recount(starts, score, gap, cuts, totals):
    """Every citizen's grades and sums into ``totals``, by region."""
    totals[:] = 0
    for i in range(score.shape[0]):
        s = np.int64(score[i])
        count(totals, region_of(starts, i), s, true_of(s, gap[i]), cuts, 1)


@njit(cache=True)
def file_all(day, score, gap, term, p, log_q, cal, counts):
    """Every citizen below its target into the calendar, at a wait drawn from ``day``."""
    for i in range(score.shape[0]):
        s = np.int64(score[i])
        if below(s, true_of(s, gap[i]), np.int64(term[i]), p.base):
            file(cal, counts, day, i, wait(p.k_restore, i, day, log_q))


@njit(cache=True)
def calendar_day(day, starts, score, gap, term, p, log_q, cal, counts, totals):
    """The day's restorations from the calendar, in citizen order; returns how many."""
    slot = day % SLOTS
    due = np.sort(cal[slot, :counts[slot]])
    counts[slot] = 0
    r, next_start, done = 0, starts[1], 0
    for e in due:
        i = e & ~FAR
        if e & FAR:
            file(cal, counts, day, i, wait(p.k_restore, i, day, log_q))
            continue
        s0 = np.int64(score[i])
        t0, tm = true_of(s0, gap[i]), np.int64(term[i])
        if not below(s0, t0, tm, p.base):
            continue
        while i >= next_start:
            r += 1
            next_start = starts[r + 1]
        s, t = restore_and_clamp(s0, t0, True, p.base, tm, p.restore_points, p.lo_score,
                                 p.hi_score)
        score[i], gap[i] = s, gap_of(s, t, cause_of(gap[i]) * (s != t))
        count(totals, r, s0, t0, p.cuts, -1)
        count(totals, r, s, t, p.cuts, 1)
        done += 1
        if below(s, t, tm, p.base):
            file(cal, counts, day, i, 1 + wait(p.k_restore, i, day, log_q))
    return done


def state(n: int, start: dt.date) -> tuple[np.ndarray, ...]:
    """china-2018's scores at ``start``, run from its start: region starts, published
    scores, gaps, ties terms, and scoring's parameters."""
    sc = load("china-2018")
    sim = Simulation(sc.with_changes(**{"population.size": n,
                                        "end": start - dt.timedelta(days=1)}))
    sim.run()
    scoring = sim.stages["scoring"]
    return (scoring.view.starts, scoring.score, scoring.score_gap, scoring.ties_term,
            scoring.p)


def time_pass(starts, score, gap, term, p: ScoreParams, days: int, chunk: int) -> float:
    """Seconds for ``days`` days of the pass over everyone, on a copy of the scores."""
    score, gap = score.copy(), gap.copy()
    chunks = np.array(chunk_bounds(score.shape[0], chunk), np.int64)
    records = np.zeros(score.shape[0], np.uint64)
    moved = np.zeros(score.shape[0], np.uint8)
    acc = np.zeros((starts.shape[0], 16), np.int64)
    thr = threshold(p.restore_p)
    t0 = time.perf_counter()
    for day in range(1, days + 1):
        pass_day(day, chunks, starts, score, gap, term, records, moved, thr, p, acc)
    return time.perf_counter() - t0


def time_calendar(starts, score, gap, term, p: ScoreParams, days: int) -> dict:
    """``days`` days of the calendar on a copy of the scores: seconds, restorations, whether
    its running totals equal a recount at the end."""
    score, gap = score.copy(), gap.copy()
    n, log_q = score.shape[0], math.log1p(-p.restore_p)
    cal, counts = np.empty((SLOTS, max(64, n // 5)), np.int32), np.zeros(SLOTS, np.int64)
    totals = np.zeros((starts.shape[0], len(p.cuts) + 1 + TOTALS), np.int64)
    recount(starts, score, gap, p.cuts, totals)
    file_all(0, score, gap, term, p, log_q, cal, counts)
    calendar_day(0, starts, score, gap, term, p, log_q, cal, counts, totals)
    t0, done = time.perf_counter(), 0
    for day in range(1, days + 1):
        done += calendar_day(day, starts, score, gap, term, p, log_q, cal, counts, totals)
    seconds = time.perf_counter() - t0
    again = np.zeros_like(totals)
    recount(starts, score, gap, p.cuts, again)
    true = score.astype(np.int64) + (gap.astype(np.int64) >> GAP_SHIFT)
    below_share = float(np.mean((score < p.base + term.astype(np.int64)) | (true < p.base)))
    return {"seconds": seconds, "restored": done, "totals_match": bool((again == totals).all()),
            "below_share": below_share}


def costing(starts, score, gap, term, p: ScoreParams, days: int, repeats: int = 1,
            chunk: int = DEFAULT_CHUNK) -> dict:
    """The pass and the calendar over the same days from the same scores, alternately, the
    best of ``repeats`` each; per citizen-day and per restoration."""
    n = score.shape[0]
    passes, calendars = [], []
    for _ in range(repeats):
        passes.append(time_pass(starts, score, gap, term, p, days, chunk))
        calendars.append(time_calendar(starts, score, gap, term, p, days))
    best = min(calendars, key=lambda c: c["seconds"])
    per = 1e9 / (n * days)
    return {"citizens": n, "days": days, "pass_ns": min(passes) * per,
            "calendar_ns": best["seconds"] * per,
            "ratio": best["seconds"] / min(passes),
            "ns_per_restoration": best["seconds"] * 1e9 / max(best["restored"], 1),
            "restored_share": best["restored"] / (n * days),
            "below_share": best["below_share"],
            "totals_match": all(c["totals_match"] for c in calendars)}


def warm_up(starts, score, gap, term, p: ScoreParams) -> None:
    """Compile both ways outside the timed days."""
    costing(starts, score[:2_000].copy(), gap[:2_000].copy(), term[:2_000].copy(), p, 2)


def main(argv: Sequence[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--citizens", type=int, default=1_410_000)
    ap.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2019, 9, 1))
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=ROOT / "runs" / "bench" / "restore_calendar.json")
    args = ap.parse_args(argv)
    starts, score, gap, term, p = state(args.citizens, args.start)
    small = np.searchsorted(starts, 2_000)
    warm_up(np.minimum(starts, 2_000)[:small + 1], score, gap, term, p)
    result = {"start": args.start.isoformat(),
              **costing(starts, score, gap, term, p, args.days, args.repeats)}
    print(f"china-2018, {args.citizens:,} citizens from {args.start}, {args.days} days: "
          f"pass {result['pass_ns']:.2f} ns a citizen-day, calendar "
          f"{result['calendar_ns']:.2f} ({result['ratio']:.2f}x the pass), "
          f"{result['ns_per_restoration']:.0f} ns a restoration; "
          f"{result['restored_share']:.2%} restored a day, {result['below_share']:.1%} below "
          f"their target; running totals equal a recount: {result['totals_match']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"written: {args.json}")
    return result


if __name__ == "__main__":
    main()
