"""Sensitivity: which audit figures hold whatever the assumptions, and which assumption each
hangs on (global sensitivity analysis with SALib).

A study varies the scenario's ``[sensitivity.parameters]`` (by default the calibration parameters
whose source is an assumption) over their ranges, in two phases. Morris screening runs ``r``
trajectories of ``k + 1`` points each and ranks every parameter by mu* (the mean absolute
elementary effect) and sigma (how much that effect depends on the others). The parameters whose
mu* reaches ``screen`` times the largest mu* of some output go on to Sobol: ``N (k' + 2)``
Saltelli points, giving first-order (S1) and total (ST) indices with bootstrap confidence
intervals; the other parameters stay at the scenario's values. Log ranges are sampled on a log
axis; integer fields are rounded.

Every point runs at each of ``seeds`` seeds (the scenario's seed and the next ones, common
random numbers across points): the analysis reads each point's mean over seeds, and the spread
across seeds is reported beside the spread across points, so that seed noise is not taken for
an assumption's effect.

Resumable and reproducible: the points follow from the sampler seed alone, each finished run is
kept as its own small file under ``done/`` (written atomically), and a resumed study reruns only
the runs without one. Runs go through a backend (``runner.backends``: local processes or Ray
tasks), which returns outputs in the order of the specs wherever they ran: every draw of a run is
a function of its scenario and seed, so the study depends neither on the backend nor on its
number of workers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..language.published import SERIES, Target
from ..language.scenario import FreeParameter, Scenario, ScenarioError, find, number_at
from ..observers.audit import audit_table, headline, headline_keys
from ..runner.backends import Backend
from ..runner.cost import estimate
from ..runner.seeds import run_counterfactual, without_cohort
from ..runner.simulation import Simulation
from . import discovery
from .calibrate import settings_key
from .report import human, parameters
from .results import model_value, timeseries, write_atomic

NUM_LEVELS = 4  # Morris grid levels
RESAMPLES = 200  # bootstrap resamples of the confidence intervals
CONF_LEVEL = 0.95
STUDY_FILE, DONE_DIR, FIGURES_DIR = "study.json", "done", "figures"
# The audit's headline figures a study reads by default: wrongful sanctions, children barred for a
# parent, chilling, deterrence, and the richest decile's rates over the poorest's.
DEFAULT_OUTPUTS = ("wrongly_sanctioned_people", "wrongly_blocked_people",
                   "children_barred_wrongly", "wrongful_sanction_rate",
                   "lawful_posts_not_made_share", "posts_against_line_not_made_share",
                   "offences_prevented_share", "travel_blocked_rate_top_to_bottom",
                   "children_barred_rate_top_to_bottom")
FEAR_OFF_SECTIONS = ("chilling", "deterrence")  # figures read against the run with fear off
WIDE = 0.5  # Sobol intervals wider than this (half-width) say too few samples, not a share


class SensitivityError(ValueError):
    """A study that cannot run; the message (one line) says what to change."""


@dataclass(frozen=True)
class Settings:
    """What a study is: its scenario as runs run it, and the sizes of its two phases."""

    scenario: Scenario  # with the study's population, calendar and no cohort
    parameters: dict[str, FreeParameter]
    outputs: tuple[str, ...]
    seeds: int
    trajectories: int
    samples: int
    screen: float
    seed: int
    # what scenario discovery asks of the runs; not in the key: a finished study answers new ones
    conclusions: tuple[discovery.Conclusion, ...] = ()
    against: Scenario | None = None  # run too at every point and seed, for its outputs

    def key(self) -> dict[str, str]:
        """What a stored study must match to be resumed."""
        against = {} if self.against is None else {
            "against": settings_key(self.against, 0, "")["scenario"]}
        return {**settings_key(self.scenario, self.scenario.population.size, ""),
                "parameters": json.dumps({p: b.model_dump() for p, b in self.parameters.items()}),
                "outputs": ",".join(self.outputs), "seeds": str(self.seeds),
                "trajectories": str(self.trajectories), "samples": str(self.samples),
                "screen": repr(self.screen), "seed": str(self.seed), **against}

    def compared(self) -> tuple[str, ...]:
        """What a conclusion may name: the outputs, and the other scenario's as NAME:OUTPUT."""
        other = () if self.against is None else tuple(
            f"{self.against.name}:{n}" for n in self.outputs)
        return self.outputs + other


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: a point's scenario at one seed, and the figures to read from it."""

    scenario: Scenario
    seed: int
    outputs: tuple[str, ...]


# -- what varies and what is read ------------------------------------------------------------

def study_parameters(sc: Scenario) -> dict[str, FreeParameter]:
    """The scenario's ``[sensitivity.parameters]``, else its calibration parameters whose source
    is an assumption; a SensitivityError where there is neither."""
    if sc.sensitivity is not None:
        try:
            sc.check_table("sensitivity")
        except ValueError as e:
            raise SensitivityError(f"{sc.name}: {e}") from None
        return dict(sc.sensitivity.parameters)
    data = sc.model_dump()
    sources = {p.path: p.source for p in parameters(data)}
    free = sc.calibration.parameters if sc.calibration is not None else {}
    chosen = {path: b for path, b in free.items() if sources.get(
        ".".join(map(str, find(data, path)[1])), "").startswith("assumption:")}
    if not chosen:
        raise SensitivityError(f"{sc.name}: nothing to vary: no [sensitivity.parameters] table"
                               " and no [calibration.parameters] range for an assumption;"
                               " give each assumption to vary a range under"
                               " [sensitivity.parameters] (docs/sensitivity.md)")
    return chosen


def output_name(key: tuple[str, str, str, str]) -> str:
    """A headline figure's name: its metric, with the group where it is not everyone
    (``sanction_rate[income_decile=1]``)."""
    _, metric, group_by, group = key
    return metric if group == "all" else f"{metric}[{group_by}={group}]"


def check_outputs(sc: Scenario, names: list[str]) -> tuple[str, ...]:
    """The outputs a study reads (default DEFAULT_OUTPUTS): headline figures of the audit, or
    published series on a date (``judgment_defaulters_listed@2018-12-31``) within the run."""
    known = [output_name(k) for k in headline_keys(sc)]
    for name in names:
        metric, at, date = name.partition("@")
        if at and metric in SERIES:
            day = _date(date, name)
            if not sc.start <= day <= sc.end:
                raise SensitivityError(f"--output {name}: {day} is outside the run ({sc.start}"
                                       f" to {sc.end})")
        elif name not in known:
            raise SensitivityError(f"--output {name}: not a headline figure of the audit nor"
                                   f" a published series at a date (metric@YYYY-MM-DD); the"
                                   f" figures are {', '.join(known)}")
    return tuple(names) or DEFAULT_OUTPUTS


def _date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SensitivityError(f"--output {name}: {text!r} is not a date (YYYY-MM-DD)") from None


# -- sampling ---------------------------------------------------------------------------------

def problem(params: dict[str, FreeParameter]) -> dict:
    """SALib's problem: each parameter on [low, high], or [log10 low, log10 high] on a log axis."""
    return {"num_vars": len(params), "names": list(params),
            "bounds": [[math.log10(b.low), math.log10(b.high)] if b.log else [b.low, b.high]
                       for b in params.values()]}


def morris_points(params: dict[str, FreeParameter], trajectories: int, seed: int) -> np.ndarray:
    from SALib.sample import morris

    return morris.sample(problem(params), trajectories, num_levels=NUM_LEVELS, seed=seed)


def sobol_points(params: dict[str, FreeParameter], samples: int, seed: int) -> np.ndarray:
    from SALib.sample import sobol

    return sobol.sample(problem(params), samples, calc_second_order=False, seed=seed)


def values(sc: Scenario, params: dict[str, FreeParameter], point: np.ndarray) -> dict:
    """A point's values as the scenario takes them: off the log axis, integers rounded."""
    out = {}
    for (path, b), x in zip(params.items(), point, strict=True):
        value = 10.0 ** x if b.log else float(x)
        out[path] = int(round(value)) if number_at(sc, path)[1] is int else value
    return out


def point_scenario(sc: Scenario, changes: dict) -> Scenario:
    try:
        return sc.with_changes(origin=f"{sc.name} at a point of the study ({changes})", **changes)
    except ScenarioError as e:
        raise SensitivityError(str(e)) from None


# -- running ----------------------------------------------------------------------------------

def run_outputs(spec: RunSpec) -> dict[str, float]:
    """One run's outputs (NaN where a figure is undefined, such as a ratio over nobody); the
    run with fear off is made only where an output reads against it."""
    data = Simulation(spec.scenario, seed=spec.seed, threads=1).run()
    keys = {output_name(k): k for k in headline_keys(spec.scenario)}
    if any(keys[n][0] in FEAR_OFF_SECTIONS for n in spec.outputs if n in keys):
        data.counterfactual = run_counterfactual(data)
    figures = {output_name((f["section"], f["metric"], f["group_by"], f["group"])): f["value"]
               for f in headline(audit_table(data), spec.scenario)}
    ts = timeseries(data) if any("@" in n for n in spec.outputs) else None
    out = {}
    for name in spec.outputs:
        if name in figures:
            value = figures[name]
        else:
            metric, _, date = name.partition("@")
            value = model_value(ts, Target(_date(date, name), metric, 0.0, "", "", ""))
        out[name] = math.nan if value is None else float(value)
    return out


def task_memory(settings: Settings) -> int:
    """One run's memory, its fear-off twin included (declared to a cluster per task)."""
    return estimate(settings.scenario, counterfactual=True).memory


def _done_path(out: Path, phase: str, index: int) -> Path:
    return out / DONE_DIR / f"{phase}-{index:06d}.json"


def run_phase(settings: Settings, phase: str, points: list[dict], out: Path, backend: Backend,
              on_run: Callable[[int], None] | None = None) -> np.ndarray:
    """Outputs ``[point, seed, output]`` of a phase; runs kept under ``done/`` are read, not
    run again, and each new one is kept as soon as it ends (``on_run`` is told)."""
    sc, k = settings.scenario, settings.seeds
    total = len(points) * k
    results: list[dict | None] = [_read_done(_done_path(out, phase, i)) for i in range(total)]
    todo = [i for i, r in enumerate(results) if r is None]
    specs = [RunSpec(point_scenario(sc, points[i // k]), sc.seed + i % k, settings.outputs)
             for i in todo]
    (out / DONE_DIR).mkdir(parents=True, exist_ok=True)
    if on_run is not None:
        on_run(total - len(todo))
    for i, result in zip(todo, backend.map(run_outputs, specs, task_memory(settings))):
        write_atomic(_done_path(out, phase, i),
                     lambda p, r=result: p.write_text(json.dumps(r), "utf-8"))
        results[i] = result
        if on_run is not None:
            on_run(1)
    return np.array([[r[n] for n in settings.outputs] for r in results]).reshape(
        len(points), k, len(settings.outputs))


def _read_done(path: Path) -> dict | None:
    """A kept run's outputs; None where it is not there (or unreadable: run it again)."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


# -- analysis ---------------------------------------------------------------------------------

def morris_indices(params: dict[str, FreeParameter], points: np.ndarray, y: np.ndarray,
                   seed: int) -> dict:
    """Morris mu, mu*, its confidence interval and sigma of one output (``y`` per point)."""
    from SALib.analyze import morris

    si = morris.analyze(problem(params), points, y, num_resamples=RESAMPLES,
                        conf_level=CONF_LEVEL, num_levels=NUM_LEVELS, seed=seed)
    return {key: np.asarray(si[key], dtype=float) for key in ("mu", "mu_star", "mu_star_conf",
                                                               "sigma")}


def sobol_indices(params: dict[str, FreeParameter], y: np.ndarray, seed: int) -> dict:
    """Sobol S1 and ST of one output, with their confidence intervals' half-widths."""
    from SALib.analyze import sobol

    with warnings.catch_warnings():  # constant resamples: the wide intervals already say so
        warnings.simplefilter("ignore", UserWarning)
        si = sobol.analyze(problem(params), y, calc_second_order=False, num_resamples=RESAMPLES,
                           conf_level=CONF_LEVEL, seed=seed)
    return {key: np.asarray(si[key], dtype=float) for key in ("S1", "S1_conf", "ST", "ST_conf")}


def screened(params: dict[str, FreeParameter], mu_star: dict[str, np.ndarray],
             screen: float) -> dict[str, FreeParameter]:
    """The parameters whose mu* reaches ``screen`` times the largest mu* of some output."""
    keep = np.zeros(len(params), dtype=bool)
    for ms in mu_star.values():
        if np.all(np.isfinite(ms)) and ms.max() > 0:
            keep |= ms >= screen * ms.max()
    return {p: b for (p, b), k in zip(params.items(), keep, strict=True) if k}


def _indices(outputs: tuple[str, ...], y: np.ndarray,
             analyze: Callable[[np.ndarray], dict]) -> dict[str, dict]:
    """Each output's indices from its mean over seeds per point; none for an output that is
    undefined at some point or the same at every point (nothing to apportion)."""
    means = y.mean(axis=1)
    return {name: analyze(means[:, j]) for j, name in enumerate(outputs) if len(means)
            and np.all(np.isfinite(means[:, j])) and np.ptp(means[:, j]) > 0}


@dataclass
class Study:
    """A finished study: each phase's points (in SALib's space) and outputs, and the indices."""

    settings: Settings
    morris_x: np.ndarray
    morris_y: np.ndarray  # [point, seed, output]
    morris: dict[str, dict]  # output -> mu, mu_star, mu_star_conf, sigma (per parameter)
    chosen: dict[str, FreeParameter]
    sobol_x: np.ndarray
    sobol_y: np.ndarray
    sobol: dict[str, dict]  # output -> S1, S1_conf, ST, ST_conf (per chosen parameter)
    against_y: np.ndarray | None = None  # the other scenario: [point (both phases), seed, output]

    @cached_property
    def discoveries(self) -> list[discovery.Discovery]:
        """Each conclusion's PRIM boxes (see :func:`discovery_points`)."""
        names, x, y = discovery_points(self)
        if self.against_y is not None:
            y = np.concatenate([y, self.against_y], axis=2)
        column = {n: y[:, :, j] for j, n in enumerate(self.settings.compared())}
        return [discovery.discover(c, x, column[c.output] - (
            column[c.right] if isinstance(c.right, str) else c.right))
            for c in self.settings.conclusions]


PhaseProgress = Callable[[str, int, int], None]  # phase, runs done, runs in the phase


def run_study(settings: Settings, out: Path, backend: Backend,
              on_run: PhaseProgress | None = None) -> Study:
    """Morris over every parameter, then Sobol over those it keeps (see the module's
    docstring); finished runs are kept under ``out/done``."""
    sc, params, seed = settings.scenario, settings.parameters, settings.seed

    def phase(name: str, chosen: dict[str, FreeParameter], x: np.ndarray) -> np.ndarray:
        points = [values(sc, chosen, p) for p in x]
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if on_run is not None:
                on_run(name, done, len(points) * settings.seeds)

        return run_phase(settings, name, points, out, backend, tick)

    morris_x = morris_points(params, settings.trajectories, seed)
    morris_y = phase("morris", params, morris_x)
    morris = _indices(settings.outputs, morris_y,
                      lambda y: morris_indices(params, morris_x, y, seed))
    chosen = screened(params, {n: ix["mu_star"] for n, ix in morris.items()}, settings.screen)
    sobol_x = sobol_points(chosen, settings.samples, seed) if chosen else np.empty((0, 0))
    sobol_y = phase("sobol", chosen, sobol_x)
    sobol = _indices(settings.outputs, sobol_y, lambda y: sobol_indices(chosen, y, seed))
    return Study(settings, morris_x, morris_y, morris, chosen, sobol_x, sobol_y, sobol)


def run_against(study: Study, out: Path, backend: Backend,
                on_run: PhaseProgress | None = None) -> np.ndarray:
    """The other scenario's outputs at every point of both phases and every seed, with the
    study's values of every parameter (phase ``against``, kept under ``done/`` as the others)."""
    settings = replace(study.settings, scenario=study.settings.against)
    points = [p for _, phase in _point_values(study) for p in phase]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if on_run is not None:
            on_run("against", done, len(points) * settings.seeds)

    return run_phase(settings, "against", points, out, backend, tick)


def check_study(out: Path, settings: Settings, resume: bool) -> bool:
    """Whether ``out`` holds a study to continue: only with ``resume`` and the same settings
    (a SensitivityError otherwise)."""
    path = out / STUDY_FILE
    if not path.exists():
        return False
    if not resume:
        raise SensitivityError(f"{out} holds a sensitivity study; add --resume to continue"
                               " it, or choose another folder with --out")
    stored, key = json.loads(path.read_text("utf-8")), settings.key()
    if stored != key:
        changed = ", ".join(k for k in key if stored.get(k) != key[k])
        raise SensitivityError(f"{out}: the study there was run with another {changed};"
                               " resume with the same options, or choose another folder")
    return True


def open_study(out: Path, settings: Settings, resume: bool) -> None:
    """Start a study in ``out`` (its settings first), or continue the one there."""
    if not check_study(out, settings, resume):
        write_atomic(out / STUDY_FILE,
                     lambda p: p.write_text(json.dumps(settings.key(), indent=1), "utf-8"))


# -- what a study writes ----------------------------------------------------------------------

def _point_values(study: Study) -> list[tuple[str, list[dict]]]:
    """Each phase's points as scenario values, every parameter given (those Sobol holds at the
    scenario's own value)."""
    st = study.settings
    own = {p: number_at(st.scenario, p)[0] for p in st.parameters}
    return [(name, [own | values(st.scenario, params, x) for x in xs]) for name, params, xs in
            (("morris", st.parameters, study.morris_x), ("sobol", study.chosen, study.sobol_x))]


def discovery_points(study: Study) -> tuple[list[str], np.ndarray, np.ndarray]:
    """What PRIM reads: the parameters Sobol kept (Morris found the others move no output
    much, and Sobol holds them at one value), or every parameter where it kept none; every
    point of both phases, as scenario values; the outputs ``[point, seed, output]``."""
    names = list(study.chosen or study.settings.parameters)
    points = [p for _, phase in _point_values(study) for p in phase]
    x = np.array([[p[n] for n in names] for p in points], dtype=float).reshape(len(points),
                                                                               len(names))
    return names, x, np.concatenate([study.morris_y, study.sobol_y])


def samples_table(study: Study) -> pa.Table:
    rows = [{"phase": name, "point": i, **v} for name, points in _point_values(study)
            for i, v in enumerate(points)]
    return pa.Table.from_pylist(rows)


def outputs_table(study: Study, against: bool = False) -> pa.Table:
    """Every run's outputs (or the other scenario's, at the same points): phase, point, seed,
    then one column per output."""
    st, rows = study.settings, []
    ys = (study.morris_y, study.sobol_y) if not against else np.split(study.against_y,
                                                                      [len(study.morris_y)])
    for name, y in zip(("morris", "sobol"), ys):
        for i, j in np.ndindex(y.shape[:2]):
            rows.append({"phase": name, "point": i, "seed": st.scenario.seed + j,
                         **dict(zip(st.outputs, map(float, y[i, j]), strict=True))})
    return pa.Table.from_pylist(rows)


def indices_rows(indices: dict[str, dict], params: dict[str, FreeParameter]) -> list[dict]:
    """Long rows: output, parameter, then each index."""
    return [{"output": out, "parameter": p, **{k: float(v[i]) for k, v in ix.items()}}
            for out, ix in indices.items() for i, p in enumerate(params)]


def spread_rows(study: Study) -> list[dict]:
    """Per output, over every point of both phases (each the mean of its seeds): the range, the
    median, the sd across points (the assumptions' effect) and the mean sd across seeds at a
    point (seed noise; None for one seed)."""
    y = np.concatenate([study.morris_y, study.sobol_y])
    rows = []
    for j, name in enumerate(study.settings.outputs):
        defined = y[np.isfinite(y[:, :, j]).all(axis=1), :, j]  # [point, seed]
        means = defined.mean(axis=1)
        seeds = defined.std(axis=1, ddof=1) if y.shape[1] > 1 and means.size else None
        rows.append({"output": name, "points": int(means.size),
                     "undefined": int(y.shape[0] - means.size),
                     **dict(zip(("min", "p05", "median", "p95", "max"),
                                map(float, np.percentile(means, [0, 5, 50, 95, 100]))
                                if means.size else [math.nan] * 5, strict=True)),
                     "sd_points": float(means.std(ddof=1)) if means.size > 1 else math.nan,
                     "sd_seeds": float(seeds.mean()) if seeds is not None else None})
    return rows


def short(path: str) -> str:
    """A parameter's label in figures: the last two parts of its path."""
    return ".".join(path.split(".")[-2:])


def _grid(n: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.remove()
    return plt, fig, axes.flat


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    write_atomic(path, lambda p: fig.savefig(p, dpi=100, format="png"))
    plt.close(fig)


def morris_figure(study: Study, path: Path) -> None:
    """Per output, each parameter at (mu*, sigma): right is influential, up is nonlinear or
    interacting."""
    plt, fig, axes = _grid(len(study.morris))
    for ax, (name, ix) in zip(axes, study.morris.items()):
        ax.scatter(ix["mu_star"], ix["sigma"], s=14)
        for p, x, y in zip(study.settings.parameters, ix["mu_star"], ix["sigma"]):
            ax.annotate(short(p), (x, y), fontsize=6)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("mu*", fontsize=7)
        ax.set_ylabel("sigma", fontsize=7)
        ax.tick_params(labelsize=6)
    _save(plt, fig, path)


def sobol_figure(study: Study, path: Path) -> None:
    """Per output, each kept parameter's S1 and ST with their confidence intervals."""
    plt, fig, axes = _grid(len(study.sobol))
    at = np.arange(len(study.chosen))
    for ax, (name, ix) in zip(axes, study.sobol.items()):
        ax.bar(at - 0.2, ix["S1"], 0.4, yerr=ix["S1_conf"], label="S1 (alone)")
        ax.bar(at + 0.2, ix["ST"], 0.4, yerr=ix["ST_conf"], label="ST (with interactions)")
        ax.set_xticks(at, [short(p) for p in study.chosen], rotation=30, ha="right", fontsize=6)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    if study.sobol:
        next(iter(fig.axes)).legend(fontsize=6)
    _save(plt, fig, path)


def spread_figure(study: Study, path: Path) -> None:
    """Per output, its value at every point (mean over seeds) with the range across seeds."""
    y = np.concatenate([study.morris_y, study.sobol_y])
    names = study.settings.outputs
    plt, fig, axes = _grid(len(names))
    for ax, j in zip(axes, range(len(names))):
        runs = y[:, :, j]
        order = np.argsort(runs.mean(axis=1))
        mean = runs.mean(axis=1)[order]
        ax.vlines(np.arange(len(order)), runs.min(axis=1)[order], runs.max(axis=1)[order],
                  colors="grey", linewidth=0.6, label="range across seeds")
        ax.plot(mean, ".", markersize=3, label="mean over seeds")
        ax.set_title(names[j], fontsize=8)
        ax.set_xlabel("points, sorted", fontsize=7)
        ax.tick_params(labelsize=6)
    if len(names):
        next(iter(fig.axes)).legend(fontsize=6)
    _save(plt, fig, path)


def discovery_figure(study: Study, path: Path) -> None:
    """Per conclusion, the first box's peeling trajectory: density against coverage, each box
    coloured by how many parameters it restricts, the box kept (after pasting) starred."""
    found = [f for f in study.discoveries if f.trajectory]
    plt, fig, axes = _grid(len(found))
    for ax, f in zip(axes, found):
        points = ax.scatter([b.coverage for b in f.trajectory], [b.density for b in f.trajectory],
                            c=[len(b.restricted()) for b in f.trajectory], s=12, cmap="viridis")
        ax.plot(f.boxes[0].coverage, f.boxes[0].density, "r*", markersize=10, label="box 1")
        fig.colorbar(points, ax=ax).set_label("parameters restricted", fontsize=7)
        ax.set_title(f"{f.conclusion.text}: where it {_outcome(f)}", fontsize=8)
        ax.set_xlabel("coverage", fontsize=7)
        ax.set_ylabel("density", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    _save(plt, fig, path)


def _outcome(found: discovery.Discovery) -> str:
    return "holds" if found.target else "fails"


def discovery_findings(study: Study) -> list[tuple[str, list[str]]]:
    """Per conclusion, in words (see :func:`discovery.words`)."""
    names = discovery_points(study)[0]
    return [(f.conclusion.text, discovery.words(
        f, names, lambda v, n=f.conclusion.output: fmt(n, v))) for f in study.discoveries]


def figures(study: Study) -> dict[str, Callable[[Study, Path], None]]:
    """The figures a study draws: the discovery figure only where PRIM found a box."""
    return FIGURES | ({"discovery": discovery_figure}
                      if any(f.trajectory for f in study.discoveries) else {})


def fmt(name: str, value: float | None) -> str:
    """An output's value for a reader: rates and shares as percentages, ratios as they are,
    counts in words (12.1 million)."""
    if value is None or not math.isfinite(value):
        return "undefined"
    metric = name.partition("[")[0]
    if metric.endswith(("_rate", "_share")):
        return f"{value * 100:.3g}%"
    if metric.endswith("_top_to_bottom"):
        return f"{value:.3g}"
    return human(value)


def _pct(x: float) -> str:
    return f"{max(x, 0.0) * 100:.0f}%"


def findings(study: Study) -> list[tuple[str, list[str]]]:
    """Per output, in words: its range across the points, seed noise against the assumptions'
    effect, and the assumptions that drive it."""
    out = []
    for row in spread_rows(study):
        name = row["output"]
        if not row["points"]:
            out.append((name, ["Undefined at every point (a ratio over nobody)."]))
            continue
        out.append((name, [_range_words(name, row), *_noise_words(name, row),
                           *_morris_words(study, name), *_sobol_words(study, name)]))
    return out


def _range_words(name: str, row: dict) -> str:
    if row["max"] == row["min"]:
        return f"{fmt(name, row['min'])} at every one of the {row['points']} points."
    text = (f"From {fmt(name, row['min'])} to {fmt(name, row['max'])} across the"
            f" {row['points']} points (median {fmt(name, row['median'])}, 90% of points between"
            f" {fmt(name, row['p05'])} and {fmt(name, row['p95'])})")
    text += (f"; it stays above {fmt(name, row['min'])} at every point." if row["min"] > 0
             else "; it is 0 at some point.")
    if row["undefined"]:
        text += f" Undefined at {row['undefined']} points, left out."
    return text


def _noise_words(name: str, row: dict) -> list[str]:
    if row["sd_seeds"] is None or not math.isfinite(row["sd_points"]):
        return []
    text = (f"Seed noise: a point's seeds differ by {fmt(name, row['sd_seeds'])} (sd), against"
            f" {fmt(name, row['sd_points'])} (sd) across points.")
    if 0 < row["sd_points"] <= 2 * row["sd_seeds"]:
        text += (" The seeds move it nearly as much as the assumptions: its indices are mostly"
                 " noise at this population and number of seeds.")
    return [text]


def _morris_words(study: Study, name: str) -> list[str]:
    ix = study.morris.get(name)
    if ix is None:
        return ["Morris: the same at every point, or undefined at some; no ranking."]
    order = [i for i in np.argsort(-ix["mu_star"])[:3] if ix["mu_star"][i] > 0]
    params = list(study.settings.parameters)
    ranked = ", ".join(f"{params[i]} (mu* {fmt(name, ix['mu_star'][i])})" for i in order)
    return [f"Morris ranks first: {ranked}."]


def _sobol_words(study: Study, name: str) -> list[str]:
    ix = study.sobol.get(name)
    if ix is None:
        return []
    params = list(study.chosen)
    order = [i for i in np.argsort(-ix["ST"]) if ix["ST"][i] >= 0.05][:3]
    if not order:
        return ["Sobol: no kept assumption explains 5% of its variance or more."]
    parts = [_share_words(params[i], *(ix[k][i] for k in ("S1", "S1_conf", "ST", "ST_conf")))
             for i in order]
    text = "Sobol: " + "; ".join(parts) + "."
    if any(max(ix["S1_conf"][i], ix["ST_conf"][i]) > WIDE for i in order):
        text += (f" {study.settings.samples} base samples leave intervals wider than"
                 f" ± {WIDE:.0%} on some: raise --samples to apportion the rest.")
    return [text]


def _share_words(param: str, s1: float, s1_conf: float, st: float, st_conf: float) -> str:
    """A parameter's share of an output's variance, or that the samples cannot tell it."""
    if max(s1_conf, st_conf) > WIDE:
        return (f"{param} {_pct(st)} with its interactions but ± {_pct(st_conf)}, too wide to"
                " tell")
    return (f"{_pct(s1)} of its variance comes from {param} alone (± {_pct(s1_conf)}),"
            f" {_pct(st)} with its interactions (± {_pct(st_conf)})")


def header(study: Study) -> list[str]:
    """What the study ran: scenario, population, calendar, points, seeds, what Morris kept."""
    st = study.settings
    sc = st.scenario
    runs = (len(study.morris_x) + len(study.sobol_x)) * st.seeds
    return [f"Scenario {sc.name}, {sc.population.size:,} citizens (scale"
            f" {sc.population.scale:,.0f}), {sc.start} to {sc.end}, seeds {sc.seed} to"
            f" {sc.seed + st.seeds - 1} at every point, sampler seed {st.seed}.",
            f"Morris: {st.trajectories} trajectories over {len(st.parameters)} parameters"
            f" ({len(study.morris_x)} points). Sobol: {st.samples} base samples over the"
            f" {len(study.chosen)} parameters whose mu* reaches {st.screen:g} of the largest mu*"
            f" of some output ({len(study.sobol_x)} points). {runs} runs in all.",
            *([] if st.against is None else [
                f"Compared with {st.against.name}, run at every point and seed"
                f" ({(len(study.morris_x) + len(study.sobol_x)) * st.seeds} more runs)."]),
            "Varied: " + "; ".join(f"{p} from {b.low:g} to {b.high:g}" + (" (log)" if b.log else "")
                                   + (" [kept for Sobol]" if p in study.chosen else "")
                                   for p, b in st.parameters.items()) + "."]


def summary_markdown(study: Study) -> str:
    lines = [f"# Sensitivity of {study.settings.scenario.name}", "",
             *(f"{t}\n" for t in header(study))]
    for name, sentences in findings(study):
        lines += [f"## {name}", "", *(f"{t}\n" for t in sentences)]
    for name, sentences in discovery_findings(study):
        lines += [f"## Scenario discovery: {name}", "", *(f"{t}\n" for t in sentences)]
    lines += ["## Figures", "", *(f"![{f}]({FIGURES_DIR}/{f}.png)\n" for f in figures(study))]
    return "\n".join(lines)


def summary_html(study: Study) -> str:
    import html

    body = [f"<h1>Sensitivity of {html.escape(study.settings.scenario.name)}</h1>",
            *(f"<p>{html.escape(t)}</p>" for t in header(study))]
    for name, sentences in findings(study):
        body += [f"<h2>{html.escape(name)}</h2>", *(f"<p>{html.escape(t)}</p>" for t in sentences)]
    for name, sentences in discovery_findings(study):
        body += [f"<h2>Scenario discovery: {html.escape(name)}</h2>",
                 *(f"<p>{html.escape(t)}</p>" for t in sentences)]
    body += ["<h2>Figures</h2>", *(f'<p><img src="{FIGURES_DIR}/{f}.png" alt="{f}"></p>'
                                   for f in figures(study))]
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sensitivity</title>"
            "</head><body>\n" + "\n".join(body) + "\n</body></html>\n")


FIGURES = {"morris": morris_figure, "sobol": sobol_figure, "spread": spread_figure}


def _finite(x: object) -> object:
    """JSON without NaN: None where a float is not finite."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def write_study(study: Study, out: Path) -> None:
    """The study's tables, indices, figures and summaries in ``out``, each written atomically;
    the summaries last, so that a folder with them holds all the rest."""
    st = study.settings
    morris = indices_rows(study.morris, st.parameters)
    sobol = indices_rows(study.sobol, study.chosen)
    spread = spread_rows(study)
    tables = {"samples": samples_table(study), "outputs": outputs_table(study),
              "morris": pa.Table.from_pylist(morris), "sobol": pa.Table.from_pylist(sobol),
              "spread": pa.Table.from_pylist(spread)}
    if study.against_y is not None:
        tables["outputs_against"] = outputs_table(study, against=True)
    for name, table in tables.items():
        write_atomic(out / f"{name}.parquet", lambda p, t=table: pq.write_table(t, p))
    sc = st.scenario
    indices = {"study": {"scenario": sc.name, "citizens": sc.population.size,
                         "scale": sc.population.scale, "start": sc.start.isoformat(),
                         "end": sc.end.isoformat(), "seeds": st.seeds},
               "parameters": {p: b.model_dump() for p, b in st.parameters.items()},
               "outputs": list(st.outputs), "sobol_parameters": list(study.chosen),
               "morris": morris, "sobol": sobol, "spread": spread}
    write_atomic(out / "indices.json",
                 lambda p: p.write_text(json.dumps(_finite(indices), indent=1), "utf-8"))
    if st.conclusions:
        write_discovery(study, out)
    (out / FIGURES_DIR).mkdir(exist_ok=True)
    for name, draw in figures(study).items():
        draw(study, out / FIGURES_DIR / f"{name}.png")
    write_atomic(out / "summary.md", lambda p: p.write_text(summary_markdown(study), "utf-8"))
    write_atomic(out / "summary.html", lambda p: p.write_text(summary_html(study), "utf-8"))


def write_discovery(study: Study, out: Path) -> None:
    """``discovery.parquet`` (one row per restricted parameter of each box) and
    ``discovery.json`` (per conclusion: how often it holds, its boxes, the first box's peeling
    trajectory)."""
    names = discovery_points(study)[0]
    rows = [r for f in study.discoveries for r in discovery.rows(f, names)]
    schema = pa.schema([("conclusion", pa.string()), ("outcome", pa.string()),
                        ("box", pa.int64()), ("parameter", pa.string()), ("low", pa.float64()),
                        ("high", pa.float64()), ("coverage", pa.float64()),
                        ("density", pa.float64()), ("mass", pa.float64()),
                        ("points", pa.int64())])
    table = pa.Table.from_pylist(rows, schema=schema)
    write_atomic(out / "discovery.parquet", lambda p: pq.write_table(table, p))
    found = {"parameters": names, "conclusions": [discovery.as_dict(f, names)
                                                  for f in study.discoveries]}
    write_atomic(out / "discovery.json",
                 lambda p: p.write_text(json.dumps(_finite(found), indent=1), "utf-8"))


def study_settings(sc: Scenario, outputs: list[str], seeds: int, trajectories: int,
                   samples: int, screen: float, conclusions: list[str] | None = None,
                   against: Scenario | None = None) -> Settings:
    """A study of ``sc`` (already at the study's population and calendar), checked: something
    to vary, outputs it has, Sobol's base samples a power of two, conclusions on its outputs."""
    if samples & (samples - 1):
        raise SensitivityError(f"--samples {samples}: Sobol's base samples must be a power of"
                               " two (4, 8, 16, ...), for the balance of its sequence")
    params, names = study_parameters(sc), check_outputs(sc, outputs)
    other = None if against is None else check_against(sc, against, params, names)
    settings = Settings(without_cohort(sc), params, names, seeds, trajectories, samples, screen,
                        sc.seed, (), other)
    try:
        said = tuple(discovery.parse_conclusion(c, settings.compared())
                     for c in conclusions or ())
    except discovery.ConclusionError as e:
        raise SensitivityError(str(e)) from None
    return replace(settings, conclusions=said)


def check_against(sc: Scenario, against: Scenario, params: dict[str, FreeParameter],
                  outputs: tuple[str, ...]) -> Scenario:
    """The other scenario of a comparison, at the study's seed and without a cohort: it must
    have the study's calendar and population, every parameter the study varies and every
    output it reads."""
    name = f"--against {against.name}"
    for what, mine, its in (("calendar", (sc.start, sc.end), (against.start, against.end)),
                            ("population", sc.population.size, against.population.size)):
        if mine != its:
            raise SensitivityError(f"{name}: its {what} ({its}) is not the study's ({mine});"
                                   " compare scenarios over the same")
    for path in params:
        try:
            number_at(against, path)
        except ValueError as e:
            lacks = f"{name}: the study varies {path}, which it lacks: {e}"
            raise SensitivityError(lacks) from None
    try:
        check_outputs(against, list(outputs))
    except SensitivityError as e:
        raise SensitivityError(f"{name}: {e}") from None
    return without_cohort(against.with_changes(seed=sc.seed))


def sensitivity(settings: Settings, out: Path, backend: Backend, resume: bool = False,
                on_run: PhaseProgress | None = None) -> Study:
    """Run (or resume) a study in ``out`` and write what it found there."""
    out.mkdir(parents=True, exist_ok=True)
    open_study(out, settings, resume)
    study = run_study(settings, out, backend, on_run)
    if settings.against is not None:
        study.against_y = run_against(study, out, backend, on_run)
    write_study(study, out)
    return study
