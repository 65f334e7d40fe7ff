"""A pinned baseline of today's results, and a statistical check against it.

``pin`` runs every preset at a small size over several seeds and stores, per seed, the figures a
user reads: each published figure's model value on its date, the audit's headline figures (with
the counterfactual run's, fear off) and the end-of-run figures of ``summary.json``. ``check`` runs
the same configurations again, on the pinned seeds or on fresh ones, and compares each figure's
mean over seeds with the pinned mean, within a tolerance built from the spread across seeds: an
engine that draws other random numbers from the same model passes, a changed model does not.

    python -m panopticon.readers.baseline pin     # rewrite tests/baseline/baseline.json
    python -m panopticon.readers.baseline check   # the pinned seeds again: a table of what moved
    python -m panopticon.readers.baseline check --seeds 9-16 --all   # fresh seeds, every figure
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import multiprocessing
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..language.scenario import PRESETS, Scenario

ROOT = Path(__file__).resolve().parents[3]
PATH = ROOT / "tests" / "baseline" / "baseline.json"
POPULATION = 50_000
SEEDS = tuple(range(1, 9))  # docs/baseline.md: why 8
COUNT_UNITS = {"people", "events"}
# Tolerance (see docs/baseline.md): a figure moved when its mean over the seeds run differs from
# the pinned mean by more than Z standard errors of the difference, each seed's variance taken as
# at least the Poisson variance of a count of simulated citizens (of at least one citizen) and at
# least (REL x the mean)^2.
Z = 6.0
REL = 0.01
PRESENCE_P = 1e-3


@dataclass(frozen=True)
class Config:
    """One pinned run: a preset at a population, with or without its fear-off counterfactual."""

    preset: str
    population: int = POPULATION
    counterfactual: bool = True

    def scenario(self, seed: int, changes: dict | None = None) -> Scenario:
        """The preset as ``panopticon run PRESET --population N --seed S`` resolves it."""
        from ..cli import resolve

        sc = resolve(self.preset, self.population, None, None, None, seed)
        return sc.with_changes(**changes) if changes else sc


@dataclass(frozen=True)
class Row:
    """One figure of one configuration: pinned, now, and the verdict."""

    preset: str
    figure: str
    unit: str
    base_mean: float | None
    base_sd: float | None
    now_mean: float | None
    now_sd: float | None
    tolerance: float | None
    verdict: str  # "same" (every common seed equal), "ok", "MOVED", "rare", "new" or "n/a"

    @property
    def moved(self) -> bool:
        return self.verdict == "MOVED"


def figures(config: Config, seed: int, changes: dict | None = None) -> dict[str, dict]:
    """Every pinned figure of one seed's run: name -> {"unit", "value"} (value None where the
    run has no such figure, e.g. a ratio over a group with no one in it)."""
    from ..runner.seeds import run_counterfactual
    from ..runner.simulation import Simulation
    from .results import audit, audit_headline, comparison, summary, timeseries

    data = Simulation(config.scenario(seed, changes)).run()
    if config.counterfactual:
        data.counterfactual = run_counterfactual(data)
    ts = timeseries(data)
    facts = summary(data, ts, audit_headline(data, audit(data)))
    out = {f"published.{r['metric']}@{r['date']}": {"unit": "people", "value": r["model"]}
           for r in comparison(ts)}  # a city's too: the series is the model's, only not national
    for r in facts["audit"]:
        name = f"{r['section']}.{r['metric']}.{r['group_by']}.{r['group']}"
        out[f"audit.{name}"] = {"unit": r["unit"], "value": r["value"]}
        if config.counterfactual:
            out[f"fear_off.{name}"] = {"unit": r["unit"], "value": r["fear_off"]}
    out |= {f"at_end.{k}": {"unit": "people", "value": v} for k, v in facts["at_end"].items()}
    return out


def run_all(configs: Sequence[Config], seeds: Sequence[int], jobs: int = 2,
            changes: dict | None = None) -> dict[Config, list[dict[str, dict]]]:
    """Each configuration's figures per seed, the runs spread over ``jobs`` processes. The
    runs go seed by seed, every configuration in turn, so that processes that start together
    run different configurations: each compiles the kernels its configuration needs while the
    others compile theirs, where runs of one configuration would wait for the same kernels
    (``kernel_cache.share_between_processes``)."""
    tasks = list(zip(*[(c, s, changes) for s in seeds for c in configs], strict=True))
    if jobs <= 1:
        results = list(map(figures, *tasks))
    else:  # spawned, not forked: the parent may hold threads (pytest, a thread pool)
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(figures, *tasks))
    return {c: results[i::len(configs)] for i, c in enumerate(configs)}


def scenario_hash(sc: Scenario) -> str:
    """sha256 of the resolved scenario's TOML: a pinned configuration names what it ran."""
    return hashlib.sha256(sc.to_toml().encode("utf-8")).hexdigest()


def commit() -> str | None:
    """The source tree's git commit (with "-dirty" for uncommitted changes), or None."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def pin(configs: Sequence[Config], seeds: Sequence[int], jobs: int = 2) -> dict:
    """The baseline document: per configuration, its scenario's hash, its scale, and each
    figure's unit and per-seed values."""
    runs = run_all(configs, seeds, jobs)
    entries = []
    for config, per_seed in runs.items():
        sc = config.scenario(0)  # seed 0 for all: the hash names the scenario, not a seed
        entries.append({
            "preset": config.preset, "population": config.population,
            "scale": sc.population.scale, "counterfactual": config.counterfactual,
            "scenario_sha256": scenario_hash(sc),
            "figures": by_figure(per_seed),
        })
    return {"pinned": dt.date.today().isoformat(), "commit": commit(), "seeds": list(seeds),
            "tolerance": {"z": Z, "rel": REL, "presence_p": PRESENCE_P}, "configs": entries}


def by_figure(per_seed: list[dict[str, dict]]) -> dict[str, dict]:
    """Seeds' figures as figure -> {"unit", "values" (per seed)}; a figure that no seed has
    stays, so that a check knows it is not new."""
    return {name: {"unit": first["unit"], "values": [run[name]["value"] for run in per_seed]}
            for name, first in per_seed[0].items()}


def configs_of(baseline: dict, presets: Iterable[str] | None = None) -> list[Config]:
    """The pinned configurations (of ``presets`` only, if given)."""
    wanted = None if presets is None else set(presets)
    return [Config(e["preset"], e["population"], e["counterfactual"]) for e in baseline["configs"]
            if wanted is None or e["preset"] in wanted]


def tolerance(unit: str, scale: float, base: list[float], now: list[float]
              ) -> tuple[float, float, float]:
    """The pinned mean, the current mean and the largest difference between them that is not
    a move.

    The variance of one seed is the pooled sample variance of both sides, at least the Poisson
    variance of a count at the pooled mean x (n simulated citizens count x = n x scale, so
    var >= x x scale, and at least one citizen's, scale^2) and at least (REL x x)^2; the
    difference of two means over kb and kn seeds then has variance var x (1/kb + 1/kn).
    """
    b, n = np.asarray(base, np.float64), np.asarray(now, np.float64)
    kb, kn, mb, mn = b.size, n.size, float(b.mean()), float(n.mean())
    ss = float(((b - mb) ** 2).sum() + ((n - mn) ** 2).sum())
    var = ss / (kb + kn - 2) if kb + kn > 2 else 0.0
    level = abs(kb * mb + kn * mn) / (kb + kn)  # both sides' mean, one mean if nothing moved
    if unit in COUNT_UNITS:
        var = max(var, max(level, scale) * scale)
    var = max(var, (REL * level) ** 2)
    return mb, mn, Z * math.sqrt(var * (1 / kb + 1 / kn))


def compare_figure(preset: str, figure: str, unit: str, scale: float,
                   base: dict[int, float | None], now: dict[int, float | None]) -> Row:
    """One figure's verdict: ``base`` and ``now`` map seed -> value (None where a seed's run
    has no such figure, e.g. a ratio over a group with no one in it); ``now`` is empty where
    the runs no longer compute the figure."""
    b, n = list(base.values()), list(now.values())

    def row(tol: float | None, verdict: str) -> Row:
        return Row(preset, figure, unit, _mean(b), _sd(b), _mean(n), _sd(n), tol, verdict)

    if all(v is None for v in b + n):
        return row(None, "n/a")
    if not n:
        return row(None, "MOVED")
    common = base.keys() & now.keys()
    if common and all(base[s] == now[s] for s in common):
        return row(0.0, "same")
    if None in b or None in n:  # some seed has no such figure: too rare to compare values
        return row(None, "MOVED" if presence_moved(b, n) else "rare")
    mb, mn, t = tolerance(unit, scale, b, n)
    return row(t, "MOVED" if abs(mn - mb) > t else "ok")


def presence_moved(base: list[float | None], now: list[float | None]) -> bool:
    """Whether a figure that one side has in every seed and the other in none moved: it did
    when even the likeliest common chance p of having it, p^a (1-p)^b for a seeds with and b
    without, is below PRESENCE_P (8 seeds against 8: 1.5e-5; 8 against 1 or 2: not decided)."""
    has = [sum(v is not None for v in side) for side in (base, now)]
    lacks = [len(side) - k for side, k in zip((base, now), has, strict=True)]
    if not (has[0] == lacks[1] == 0 or has[1] == lacks[0] == 0):
        return False
    a, b = sum(has), sum(lacks)
    return (a / (a + b)) ** a * (b / (a + b)) ** b < PRESENCE_P


def _present(values: list[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None], np.float64)


def _mean(values: list[float | None]) -> float | None:
    x = _present(values)
    return float(x.mean()) if x.size else None


def _sd(values: list[float | None]) -> float | None:
    """The sample standard deviation (0 for one value), or None for none."""
    x = _present(values)
    return float(x.std(ddof=1)) if x.size > 1 else 0.0 if x.size else None


def compare(baseline: dict, now: dict[Config, list[dict[str, dict]]], seeds: Sequence[int]
            ) -> list[Row]:
    """Every pinned figure of the configurations in ``now`` (run on ``seeds``) against the
    baseline: a pinned figure that the runs no longer compute is MOVED, one they compute and
    the baseline lacks is "new"."""
    rows = []
    entries = {(e["preset"], e["population"], e["counterfactual"]): e for e in baseline["configs"]}
    for config, runs in now.items():
        e = entries[config.preset, config.population, config.counterfactual]
        current = {name: [run[name]["value"] for run in runs] for name in runs[0]}
        for name, pinned in e["figures"].items():
            base = dict(zip(baseline["seeds"], pinned["values"], strict=True))
            rows.append(compare_figure(config.preset, name, pinned["unit"], e["scale"], base,
                                       dict(zip(seeds, current.get(name, []), strict=False))))
        rows += [Row(config.preset, name, runs[0][name]["unit"], None, None,
                     _mean(current[name]), _sd(current[name]), None, "new")
                 for name in current.keys() - e["figures"].keys()]
    return [r for r in rows if r.verdict != "n/a"]


def changed_scenarios(baseline: dict, presets: Iterable[str] | None = None) -> list[str]:
    """The pinned presets whose resolved scenario is no longer the one pinned (by its hash):
    their figures are compared all the same, since the model may have been rewritten, not
    changed."""
    return [c.preset for c, e in zip(configs_of(baseline), baseline["configs"], strict=True)
            if (presets is None or c.preset in presets)
            and scenario_hash(c.scenario(0)) != e["scenario_sha256"]]


def check(baseline: dict, seeds: Sequence[int] | None = None, presets: Iterable[str] | None = None,
          jobs: int = 2, changes: dict | None = None) -> list[Row]:
    """Run the pinned configurations (of ``presets``) on ``seeds`` (by default the pinned ones),
    with ``changes`` to every scenario if given, and compare them with the baseline."""
    seeds = list(baseline["seeds"] if seeds is None else seeds)
    return compare(baseline, run_all(configs_of(baseline, presets), seeds, jobs, changes), seeds)


def load(path: Path = PATH) -> dict:
    return json.loads(Path(path).read_text("utf-8"))


def save(baseline: dict, path: Path = PATH) -> None:
    """Write the baseline under a temporary name, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(baseline, indent=1) + "\n", "utf-8")
    tmp.replace(path)


def table(rows: Sequence[Row], every: bool = False) -> str:
    """The rows as a text table (only those not "same" or "ok" unless ``every``), and a count
    of each verdict."""
    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.6g}"

    shown = [r for r in rows if every or r.verdict not in ("same", "ok")]
    head = ("preset", "figure", "pinned mean", "pinned sd", "now mean", "now sd", "tolerance",
            "verdict")
    body = [(r.preset, r.figure, num(r.base_mean), num(r.base_sd), num(r.now_mean),
             num(r.now_sd), num(r.tolerance), r.verdict) for r in shown]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in (head, *body)]
    verdicts = {v: sum(r.verdict == v for r in rows)
                for v in ("same", "ok", "rare", "new", "MOVED")}
    lines.append(f"{len(rows)} figures: " + ", ".join(f"{k} {v}" for k, v in verdicts.items()))
    return "\n".join(lines)


def seed_range(text: str) -> list[int]:
    """``"9-16"`` or ``"1,3,5"`` as a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m panopticon.readers.baseline",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("pin", "check"))
    parser.add_argument("--file", type=Path, default=PATH, help="the baseline file (%(default)s)")
    parser.add_argument("--seeds", type=seed_range, default=None,
                        help="seeds, e.g. 1-8 or 9,10 (pin: 1-8; check: the pinned ones)")
    parser.add_argument("--presets", nargs="+", choices=PRESETS, default=None,
                        help="only these presets (pin: all)")
    parser.add_argument("--population", type=int, default=POPULATION,
                        help="pin: simulated citizens per run (%(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (%(default)s)")
    parser.add_argument("--all", action="store_true", help="check: list every figure")
    args = parser.parse_args(argv)
    if args.command == "pin":
        configs = [Config(p, args.population) for p in args.presets or PRESETS]
        baseline = pin(configs, args.seeds or SEEDS, args.jobs)
        save(baseline, args.file)
        n = sum(len(e["figures"]) for e in baseline["configs"])
        print(f"pinned {n} figures of {len(configs)} presets over seeds {baseline['seeds']} in "
              f"{args.file}")
        return 0
    try:
        baseline = load(args.file)
    except (OSError, ValueError) as e:
        print(f"error: cannot read the baseline {args.file}: {e}", file=sys.stderr)
        return 2
    rows = check(baseline, args.seeds, args.presets, args.jobs)
    print(table(rows, args.all))
    for preset in changed_scenarios(baseline, args.presets):
        print(f"note: {preset}'s resolved scenario differs from the one pinned")
    return 1 if any(r.moved for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
