"""Where a day of the full model goes on each number of threads.

china-2018 at N citizens from START: a few days to warm up, then DAYS days timed on each number
of threads, each from the same state (the simulation pickled once built at START, or with
``--history`` once run from the scenario's start to START, as the run itself has it). A day's
wall time is split into its phases and the work between them on the calling thread (the
stages' starts and ends of the day, the cohort's where no worker is idle in phase 2; where
one is, the cohort's day runs on it, "beside phase 2", within that phase's wall, and what the
day's end waits for it is "waited"; the rest is the day loop's own), and each phase into its
workers' time in their chunks' steps, their CPU time in it (the difference is waiting: for the
interpreter's lock, or to be run) and the hand-offs (the phase's wall less its busiest
worker's). This is what found, on 16 cores, that the workers waited for the lock as long as
they computed (docs/performance.md, "Threads: measured on 16 cores"). ``--steps`` also times
phase 1's steps, one thread, by what each adds: the days again with phase 1 cut after each.
``--repeats R`` runs each measurement R times from the same state and keeps the fastest, which
is steadier than one run where the shared machine's speed swings within minutes; two commits
compare best run at the same time, one thread each (docs/performance.md, "Time measured on a
machine whose speed swings").

    .venv/bin/python benchmarks/day_split.py --threads 1,2                 # 1.41 M, 60 days
    .venv/bin/python benchmarks/day_split.py -n 14100000 --days 20 --threads 1,16
    .venv/bin/python benchmarks/day_split.py --threads 1 --steps           # and by step
    .venv/bin/python benchmarks/day_split.py --days 10 --repeats 6        # the fastest of 6
    .venv/bin/python benchmarks/day_split.py --start 2019-09-01 --history  # as the run has it

Results: a table, and JSON (``--json``, default runs/bench/day_split.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import time
from collections.abc import Sequence
from pathlib import Path

from panopticon.language.scenario import load
from panopticon.runner.simulation import Simulation
from panopticon.world.engine import BESIDE, DEFAULT_CHUNK, WAITED, DayClock, chunk_bounds

ROOT = Path(__file__).resolve().parent.parent
WARM_DAYS = 3
READINGS = 30  # days between the readings of ties, whose kernels a warm-up must reach


class Reached(Exception):
    """The run has come to the day the timed days start from (:func:`run_until`)."""


def simulation(n: int, start: dt.date, days: int, history: bool = False,
               threads: int = 1) -> Simulation:
    """china-2018 at ``n`` citizens, from ``start`` for the warm-up and ``days`` days: its
    state built at ``start``, or with ``history`` the run's own, run from the scenario's start
    to ``start`` on ``threads`` threads (its books, lists and family words as a run has them:
    in March 2018 on one thread, some 0.5 ms more a day for phase 2 and 1 ms more between the
    phases than a state built at the date, docs/performance.md)."""
    sc = load("china-2018")
    end = start + dt.timedelta(days=WARM_DAYS + days - 1)
    if not history:
        return Simulation(sc.with_changes(**{"population.size": n, "start": start, "end": end}))
    sim = Simulation(sc.with_changes(**{"population.size": n, "end": end}), threads=threads)
    if start > sc.start:
        run_until(sim, (start - sc.start).days)
    return sim


def run_until(sim: Simulation, day: int) -> None:
    """Run ``sim`` until ``day`` days have run."""
    def stop() -> None:
        if sim.day == day:
            raise Reached

    try:
        sim.run(after_day=stop)
    except Reached:
        pass


def warm_up(start: dt.date, days: int) -> None:
    """Compile every kernel the timed days call (readings of ties included) outside them."""
    simulation(2_000, start, max(days, 2 * READINGS)).run()


def timed(sim: Simulation, days: int) -> tuple[DayClock, float, int]:
    """The simulation run, its last ``days`` days timed: their clock, the wall time of the
    days (s) and the threads the run took."""
    clock, marks, first = DayClock(), [], sim.day

    def after_day() -> None:  # the timed days: from the warm-up's end to the last day's
        if sim.day == first + WARM_DAYS:
            clock.reset()
        if sim.day in (first + WARM_DAYS, first + WARM_DAYS + days):
            marks.append(time.perf_counter())

    result = sim.run(after_day=after_day, clock=clock)
    return clock, marks[1] - marks[0], result.threads


def fastest(frozen: bytes, threads: int, days: int, chunk_size: int = DEFAULT_CHUNK,
            repeats: int = 1) -> dict:
    """The :func:`split` of the fastest of ``repeats`` runs, each from the pickled state."""
    return min((split(frozen, threads, days, chunk_size) for _ in range(repeats)),
               key=lambda row: row["day_ms"])


def split(frozen: bytes, threads: int, days: int, chunk_size: int = DEFAULT_CHUNK) -> dict:
    """The timed days of the pickled simulation on ``threads`` threads, in ms a day."""
    sim = pickle.loads(frozen)
    sim.threads, sim.chunk_size = threads, chunk_size
    clock, wall, threads_run = timed(sim, days)
    ms = 1e3 / days
    day = wall * ms
    phases = []
    for p in sorted(clock.phases):
        busy = [clock.busy[p, w] * ms for w in range(threads_run)]
        cpu = [clock.cpu[p, w] * ms for w in range(threads_run)]
        phases.append({
            "phase": p + 1, "wall": clock.phases[p] * ms, "busiest": max(busy),
            "busy_mean": sum(busy) / len(busy), "cpu_mean": sum(cpu) / len(cpu),
            "cpu_sum": sum(cpu), "hand_offs": clock.phases[p] * ms - max(busy),
            "waiting_mean": (sum(busy) - sum(cpu)) / len(busy)})
    parts = {k: v * ms for k, v in sorted(clock.parts.items(), key=lambda kv: -kv[1])}
    waited = sum(v for k, v in parts.items() if k.startswith(WAITED))
    between = sum(v for k, v in parts.items()  # not within a phase's wall, nor waiting
                  if BESIDE not in k and not k.startswith(WAITED))
    chunks = len(chunk_bounds(sim.pop.size, sim.chunk_size, threads_run))
    return {"threads_asked": threads, "threads": threads_run, "chunks": chunks, "day_ms": day,
            "citizen_days_per_second": sim.pop.size / day * 1e3, "phases": phases,
            "between_phases": between, "waited": waited, "parts": parts,
            "rest": day - sum(p["wall"] for p in phases) - between - waited}


def steps(frozen: bytes, days: int, whole: dict, chunk_size: int = DEFAULT_CHUNK,
          repeats: int = 1) -> list[dict]:
    """Phase 1's steps by what each adds to it, on one thread: the timed days run again with
    phase 1 cut after each step and the later phases left out, each from the same pickled
    state; then the later phases, and the work between them, as the whole day on one thread
    has them (``whole``: its row of :func:`split`). Left
    out, a step changes the state the days after it see (no scores restored, say), so each
    figure is the step's cost on the days as the steps before it leave them; the figures add
    up to the whole day's phase 1 (13.44 against 13.47 ms a day at 1.41 M, docs/performance.md).
    Each cut's phase is the fastest of ``repeats`` runs."""
    names = [step.step.__qualname__ for step in pickle.loads(frozen).phases[0]]
    rows, before = [], 0.0
    for k in range(1, len(names) + 1):
        phase = min(cut_phase(frozen, k, days, chunk_size) for _ in range(repeats))
        rows.append({"step": names[k - 1], "ms": phase - before})
        before = phase
    rows.append({"step": "later phases", "ms": sum(p["wall"] for p in whole["phases"][1:])})
    rows.append({"step": "between phases", "ms": whole["between_phases"]})
    return rows


def cut_phase(frozen: bytes, k: int, days: int, chunk_size: int) -> float:
    """ms a day of phase 1 cut after its k-th step, the later phases left out, on one thread."""
    sim = pickle.loads(frozen)
    sim.threads, sim.chunk_size, sim.phases = 1, chunk_size, [sim.phases[0][:k]]
    return timed(sim, days)[0].phases[0] * 1e3 / days


def show(n: int, rows: list[dict]) -> None:
    print(f"china-2018, {n:,} citizens; ms a day (phase: wall / busiest worker's steps / its "
          "mean CPU / hand-offs)")
    first = rows[0]["day_ms"]
    for r in rows:
        ph = "; ".join(f"{p['phase']}: {p['wall']:.2f} / {p['busiest']:.2f} / "
                       f"{p['cpu_mean']:.2f} / {p['hand_offs']:.2f}" for p in r["phases"])
        print(f"{r['threads']:>3} threads, {r['chunks']:>4} chunks: day {r['day_ms']:8.2f} "
              f"({first / r['day_ms']:.2f}x the first), {r['citizen_days_per_second'] / 1e6:6.1f}"
              f" M citizen-days/s; phases {ph}; between {r['between_phases']:.2f}; waited "
              f"{r['waited']:.2f}; rest {r['rest']:.2f}")
    top = list(rows[-1]["parts"].items())[:5]  # split() orders them, the costliest first
    print("between phases, last row: " + ", ".join(f"{k} {v:.2f}" for k, v in top))


def show_steps(n: int, rows: list[dict]) -> None:
    print(f"china-2018, {n:,} citizens, 1 thread: ms a day by step of phase 1 (what each adds)")
    for r in rows:
        print(f"{r['step']:>24} {r['ms']:8.2f} ms {r['ms'] * 1e6 / n:7.2f} ns a citizen")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--citizens", type=int, default=1_410_000)
    ap.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2018, 1, 1))
    ap.add_argument("--history", action="store_true",
                    help="the state the run itself has at START (run from the scenario's start "
                         "on the largest of --threads), not one built at START")
    ap.add_argument("--days", type=int, default=60, help="days timed, after the warm-up")
    ap.add_argument("--threads", default="1,2", help="numbers of threads, as 1,2,4")
    ap.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK,
                    help=f"citizens a chunk at most (default {DEFAULT_CHUNK:,})")
    ap.add_argument("--steps", action="store_true",
                    help="also time phase 1's steps one by one, on 1 thread (a run a step)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs of each measurement from the same state; the fastest is kept")
    ap.add_argument("--json", type=Path, help="default: runs/bench/day_split.json")
    args = ap.parse_args(argv)
    text = args.threads
    try:
        args.threads = [int(k) for k in text.split(",")]
    except ValueError:
        args.threads = []
    if not args.threads or min(args.threads) < 1:
        ap.error(f"--threads: '{text}' is not a list of thread counts, as 1,2,4")
    if min(args.citizens, args.days, args.chunk_size, args.repeats) < 1:
        ap.error("--citizens, --days, --chunk-size and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    warm_up(args.start, args.days)
    frozen = pickle.dumps(simulation(args.citizens, args.start, args.days, args.history,
                                     max(args.threads)), protocol=5)
    rows = [fastest(frozen, k, args.days, args.chunk_size, args.repeats) for k in args.threads]
    show(args.citizens, rows)
    by_step = None
    if args.steps:  # the whole day on one thread: a row made already, or made for the steps
        whole = next((r for r in rows if r["threads"] == 1), None)
        whole = whole or fastest(frozen, 1, args.days, args.chunk_size, args.repeats)
        by_step = steps(frozen, args.days, whole, args.chunk_size, args.repeats)
        show_steps(args.citizens, by_step)
    path = args.json or ROOT / "runs" / "bench" / "day_split.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"citizens": args.citizens, "start": str(args.start),
                                "history": args.history, "days": args.days,
                                "chunk_size": args.chunk_size, "repeats": args.repeats,
                                "rows": rows, "steps": by_step}, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
