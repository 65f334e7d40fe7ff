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
number of workers. What a study writes (tables, figures, words) is ``sensitivity_files``.
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

from ..language.published import SERIES, Target
from ..language.scenario import FreeParameter, Scenario, ScenarioError, find, number_at
from ..observers.audit import audit_table, headline, headline_keys
from ..runner.backends import Backend
from ..runner.cost import estimate
from ..runner.seeds import run_counterfactual, without_cohort
from ..runner.simulation import Simulation
from . import discovery
from .calibrate import settings_key
from .report import parameters
from .results import model_value, timeseries, write_atomic
from .sensitivity_files import write_study

NUM_LEVELS = 4  # Morris grid levels
RESAMPLES = 200  # bootstrap resamples of the confidence intervals
CONF_LEVEL = 0.95
STUDY_FILE, DONE_DIR = "study.json", "done"
# The audit's headline figures a study reads by default: wrongful sanctions, children barred for a
# parent, chilling, deterrence, and the richest decile's rates over the poorest's.
DEFAULT_OUTPUTS = ("wrongly_sanctioned_people", "wrongly_blocked_people",
                   "children_barred_wrongly", "wrongful_sanction_rate",
                   "lawful_posts_not_made_share", "posts_against_line_not_made_share",
                   "offences_prevented_share", "travel_blocked_rate_top_to_bottom",
                   "children_barred_rate_top_to_bottom")
FEAR_OFF_SECTIONS = ("chilling", "deterrence")  # figures read against the run with fear off


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
    for i, result in zip(todo, backend.map(run_outputs, specs, task_memory(settings)),
                         strict=True):
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

    def point_values(self) -> list[tuple[str, list[dict]]]:
        """Each phase's points as scenario values, every parameter given (those Sobol holds at
        the scenario's own value)."""
        st = self.settings
        own = {p: number_at(st.scenario, p)[0] for p in st.parameters}
        return [(name, [own | values(st.scenario, params, x) for x in xs])
                for name, params, xs in (("morris", st.parameters, self.morris_x),
                                         ("sobol", self.chosen, self.sobol_x))]

    def discovery_points(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """What PRIM reads: the parameters Sobol kept (Morris found the others move no output
        much, and Sobol holds them at one value), or every parameter where it kept none; every
        point of both phases, as scenario values; the outputs ``[point, seed, output]``."""
        names = list(self.chosen or self.settings.parameters)
        points = [p for _, phase in self.point_values() for p in phase]
        x = np.array([[p[n] for n in names] for p in points], dtype=float).reshape(
            len(points), len(names))
        return names, x, np.concatenate([self.morris_y, self.sobol_y])

    @cached_property
    def discoveries(self) -> list[discovery.Discovery]:
        """Each conclusion's PRIM boxes (see :meth:`discovery_points`)."""
        names, x, y = self.discovery_points()
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
    points = [p for _, phase in study.point_values() for p in phase]
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
