"""The full model (china-2018) beside the plain reference model, and beside another commit.

For each size (default: 1,410,000 citizens over 2014-2019, and 14,100,000 over the year 2018),
this runs ``panopticon run china-2018 --population N --quiet --no-report`` in a child process and
reads its summary.json: citizen-days and events (the citizens' acts) per second of simulation, and
bytes per citizen (the run's peak memory above the process's start, as the run measures it). The
child's own peak resident memory comes from ``wait4``. A run adds a fixed part to the process that
does not grow with its citizens (the compiled kernels it loads, about 140 MiB, and Numba's
threads), so the same run at a thousandth of the citizens is measured too, and the bytes per
citizen above that fixed part are the difference of the two runs' peaks over the difference of
their citizens. In the same run and at the same N, the
engine runs the plain reference model ("score drift", ``runner.reference_model.run_drift``) for
365 days: the full model's cost is given as a ratio to it, since the machine is shared and its
speed moves with the load. ``--against REV`` runs the full model of another commit too (checked
out in a temporary worktree), one after the other with this one, for the ratio between engines;
``--rounds R`` runs the reference model and each engine R times in turn, the ratios taken within
each round, and gives their median and range: on a shared machine whose speed swings by a tenth
within minutes, one round's ratio says little. The engines take turns at running first (this
tree's first in odd rounds, the other's in even ones), so that a machine slowing or speeding
within a round weighs on neither alone.
``--scaling 1,2,4,8,16`` measures instead how the threads scale: each size's full model and
reference model on each number of threads, each speed over the same model's on the first.

    .venv/bin/python benchmarks/full_model.py                      # both sizes; ~15 min on 2 cores
    .venv/bin/python benchmarks/full_model.py --quick              # a smoke test: seconds
    .venv/bin/python benchmarks/full_model.py --against 85cead9    # and the engine of 85cead9
    .venv/bin/python benchmarks/full_model.py --against 85cead9 --rounds 4 \
        --size 1410000:2014-01-01:2019-12-31                        # the default run, 4 rounds
    .venv/bin/python benchmarks/full_model.py --scaling 1,2,4,8,16 # threads, on a larger machine
    .venv/bin/python benchmarks/full_model.py --size 1410000:2018-01-01:2018-12-31  # one size

Results: a table, and JSON (``--json``, default runs/bench/full_model.json, or threads.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from panopticon.runner.reference_model import run_drift

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((1_410_000, "2014-01-01", "2019-12-31"), (14_100_000, "2018-01-01", "2018-12-31"))
QUICK = ((20_000, "2018-01-01", "2018-03-31"),)
REFERENCE_DAYS = 365


@dataclass
class Row:
    engine: str
    citizens: int
    days: int
    wall_seconds: float  # of simulation
    citizen_days_per_second: float
    events_per_second: float | None
    bytes_per_citizen: float | None  # the run's peak above its start, per citizen
    peak_rss_bytes: int | None  # the whole process's
    bytes_per_citizen_above_fixed: float | None = None  # against the run at a thousandth
    round: int = 1  # of --rounds: the rows of one round ran one after the other


def full_model(src: Path, n: int, start: str, end: str, threads: int, label: str) -> Row:
    """One run of the full model from the sources in ``src``, in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "panopticon", "run", "china-2018", "--population", str(n),
               "--start", start, "--end", end, "--threads", str(threads), "--quiet",
               "--no-report", "--memory-limit", "none", "--out", str(out)]
        env = {**os.environ, "PYTHONPATH": str(src)}
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"{label} failed at {n:,} citizens:\n{child.stderr.read().decode()}")
        summary = json.loads((out / "summary.json").read_text())
    days, wall = summary["days"], summary["wall_seconds"]
    return Row(label, n, days, wall, n * days / wall, summary.get("events_per_second"),
               summary.get("bytes_per_citizen"), usage.ru_maxrss * 1024)


def reference(n: int, threads: int) -> Row:
    """The plain reference model in the engine, at ``n`` citizens for a year."""
    began = time.perf_counter()
    run_drift(n, REFERENCE_DAYS, threads=threads)
    wall = time.perf_counter() - began
    return Row("reference model", n, REFERENCE_DAYS, wall, n * REFERENCE_DAYS / wall, None,
               None, None)


@contextmanager
def worktree(rev: str):
    """The sources of commit ``rev``, checked out in a temporary worktree."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
                       check=True, capture_output=True)
        try:
            yield path / "src"
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                           check=False, capture_output=True)


def measure(sizes: Sequence[tuple[int, str, str]], threads: int, against: str | None,
            rounds: int = 1) -> list[Row]:
    """Every size: the reference model, this tree's full model and ``against``'s, ``rounds``
    times in turn; then each tree's run at a thousandth of the citizens (its fixed part)."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "this tree"
    rows = []
    with (worktree(against) if against else _none()) as other:
        warm_up([src for src in (ROOT / "src", other) if src is not None], threads,
                {(start, end) for _, start, end in sizes})
        trees = [(ROOT / "src", f"panopticon {head}")]
        if other is not None:
            trees.append((other, f"panopticon {against}"))
        for n, start, end in sizes:
            for k in range(1, rounds + 1):
                ref = reference(n, threads)
                ref.round = k
                rows.append(ref)
                for src, label in trees if k % 2 else trees[::-1]:
                    rows.append(full_model(src, n, start, end, threads, label))
                    rows[-1].round = k
            for src, label in trees:
                small = full_model(src, max(n // 1000, 10), start, end, threads, "fixed part")
                for row in rows:
                    if row.citizens == n and row.engine == label:
                        row.bytes_per_citizen_above_fixed = above_fixed(row, small)
    return rows


def warm_up(sources: Sequence[Path], threads: int, periods: set[tuple[str, str]]) -> None:
    """Compile the kernels (each tree's) outside the timings and the peaks: over each period
    measured, as some run only on later days (a reading of ties, a lapse); compiling them in
    the run at a thousandth raised its peak above the full run's fixed part."""
    reference(20_000, threads)
    for src in sources:
        for start, end in sorted(periods):
            full_model(src, 2_000, start, end, threads, "warm-up")


def scaling(sizes: Sequence[tuple[int, str, str]], counts: Sequence[int]) -> list[Row]:
    """Every size on each number of threads in ``counts``: the reference model and this
    tree's full model, each labelled with its threads."""
    warm_up([ROOT / "src"], max(counts), {(start, end) for _, start, end in sizes})
    rows = []
    for n, start, end in sizes:
        for k in counts:
            ref = reference(n, k)
            ref.engine = f"reference model, {on_threads(k)}"
            label = f"panopticon, {on_threads(k)}"
            rows += [ref, full_model(ROOT / "src", n, start, end, k, label)]
    return rows


def on_threads(k: int) -> str:
    return f"{k} thread" if k == 1 else f"{k} threads"


def speedups(rows: list[Row]) -> list[dict]:
    """Per size and model, each number of threads' citizen-days/s over the first's."""
    out = []
    for n in sorted({r.citizens for r in rows}):
        for model in ("reference model", "panopticon"):
            mine = [r for r in rows if r.citizens == n and r.engine.startswith(model + ",")]
            out += [{"citizens": n, "engine": r.engine, "over_first": r.citizen_days_per_second
                     / mine[0].citizen_days_per_second} for r in mine]
    return out


def above_fixed(row: Row, small: Row) -> float | None:
    """Bytes per citizen of ``row``'s run beyond what the same run of ``small``'s few citizens
    added: the growth of the peak with the citizens, without the fixed part."""
    if row.bytes_per_citizen is None or small.bytes_per_citizen is None:
        return None
    return ((row.bytes_per_citizen * row.citizens - small.bytes_per_citizen * small.citizens)
            / (row.citizens - small.citizens))


@contextmanager
def _none():
    yield None


def ratios(rows: list[Row]) -> list[dict]:
    """Per size and round, each full model's citizen-days/s as a share of the reference
    model's, and of the first full model's (this tree's: the first of the first round), in the
    same round; in the order of the first round."""
    out = []
    for n, k in sorted({(r.citizens, r.round) for r in rows}):
        ref = next(r for r in rows if (r.citizens, r.round, r.engine) == (n, k, "reference model"))
        models = {r.engine: r for r in rows if (r.citizens, r.round) == (n, k) and r is not ref}
        engines = list(dict.fromkeys(r.engine for r in rows if r.citizens == n
                                     and r.engine != ref.engine))  # as the first round ran
        for engine in engines:
            r = models[engine]
            out.append({"citizens": n, "round": k, "engine": engine,
                        "reference_over_model": ref.citizen_days_per_second
                        / r.citizen_days_per_second,
                        "model_over_first": r.citizen_days_per_second
                        / models[engines[0]].citizen_days_per_second})
    return out


def medians(shares: list[dict]) -> list[dict]:
    """Per size and full model, the median of its rounds' ratios (:func:`ratios`), and their
    least and greatest."""
    out = []
    for n, engine in dict.fromkeys((s["citizens"], s["engine"]) for s in shares):
        mine = [s for s in shares if (s["citizens"], s["engine"]) == (n, engine)]
        row = {"citizens": n, "engine": engine, "rounds": len(mine)}
        for key in ("reference_over_model", "model_over_first"):
            values = sorted(s[key] for s in mine)
            row[key] = statistics.median(values)
            row[f"{key}_range"] = [values[0], values[-1]]
        out.append(row)
    return out


def show(rows: list[Row], shares: list[dict]) -> None:
    """The rows, then each size's and model's ratios: of the one round, or the median of the
    rounds with their range."""
    several_rounds = max(r.round for r in rows) > 1
    print(f"{'engine':<28}{'citizens':>12}{'days':>6}{'wall s':>9}{'cit-days/s':>12}"
          f"{'events/s':>11}{'B/citizen':>10}{'above fixed':>12}{'peak RSS':>10}"
          + (f"{'round':>7}" if several_rounds else ""))
    for r in rows:
        events = "-" if r.events_per_second is None else f"{r.events_per_second / 1e6:.2f} M"
        per = "-" if r.bytes_per_citizen is None else f"{r.bytes_per_citizen:.0f}"
        above = ("-" if r.bytes_per_citizen_above_fixed is None
                 else f"{r.bytes_per_citizen_above_fixed:.1f}")
        rss = "-" if r.peak_rss_bytes is None else f"{r.peak_rss_bytes / 2**30:.2f} G"
        print(f"{r.engine:<28}{r.citizens:>12,}{r.days:>6}{r.wall_seconds:>9.1f}"
              f"{r.citizen_days_per_second / 1e6:>10.1f} M{events:>11}{per:>10}{above:>12}"
              f"{rss:>10}" + (f"{r.round:>7}" if several_rounds else ""))
    several = len({s["engine"] for s in shares}) > 1
    for s in medians(shares):
        print(f"{s['citizens']:,} citizens, {s['engine']}: the reference model is "
              f"{s['reference_over_model']:.1f}x faster per citizen-day"
              + spread(s, "reference_over_model", several_rounds)
              + (f"; {s['model_over_first']:.2f}x the first full model's speed"
                 + spread(s, "model_over_first", several_rounds) if several else ""))


def spread(s: dict, key: str, several_rounds: bool) -> str:
    """' (least-greatest, R rounds)' of a median's rounds (:func:`medians`), or nothing."""
    if not several_rounds:
        return ""
    least, greatest = s[f"{key}_range"]
    return f" ({least:.2f}-{greatest:.2f}, {s['rounds']} rounds)"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20,000 citizens for 90 days")
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--against", metavar="REV", help="also run the full model of commit REV")
    ap.add_argument("--rounds", type=rounds, default=1,
                    help="run the models this many times in turn, the ratios within each round "
                    "(default: 1)")
    ap.add_argument("--size", metavar="N:START:END", type=size, action="append",
                    help="a size to run instead of the defaults, as 1410000:2018-01-01:2018-12-31"
                    " (repeat for several)")
    ap.add_argument("--scaling", metavar="K,K,...", type=thread_counts,
                    help="measure each size on these numbers of threads instead")
    ap.add_argument("--json", type=Path, help="where the results go (default: runs/bench/"
                    "full_model.json, or threads.json with --scaling)")
    return ap.parse_args(argv)


def rounds(text: str) -> int:
    """'3' -> 3: a whole number of rounds from 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of rounds, as 3")
    return int(text)


def thread_counts(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4]; each a whole number of threads from 1."""
    try:
        counts = [int(k) for k in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of thread counts, as 1,2,4")
    return counts


def size(text: str) -> tuple[int, str, str]:
    """'1410000:2018-01-01:2018-12-31' -> (1410000, '2018-01-01', '2018-12-31')."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size, as 1410000:2018-01-01:"
                                         "2018-12-31 (citizens:first day:last day)")
    return int(parts[0]), parts[1], parts[2]


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = args.size or (QUICK if args.quick else SIZES)
    if args.scaling:
        rows = scaling(sizes, args.scaling)
        result = {"threads": args.scaling, "rows": [asdict(r) for r in rows],
                  "speedups": speedups(rows)}
        show(rows, [])
        for s in result["speedups"]:
            print(f"{s['citizens']:,} citizens, {s['engine']}: {s['over_first']:.2f}x the "
                  f"speed on {on_threads(args.scaling[0])}")
    else:
        rows = measure(sizes, args.threads, args.against, args.rounds)
        shares = ratios(rows)
        result = {"threads": args.threads, "rounds": args.rounds, "rows": [asdict(r) for r in rows],
                  "ratios": shares, "medians": medians(shares)}
        show(rows, result["ratios"])
    path = args.json or ROOT / "runs" / "bench" / (
        "threads.json" if args.scaling else "full_model.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
