"""Calibration: fit a scenario's free parameters to the published record with Optuna.

The scenario's ``[calibration]`` table names the free parameters (dotted paths, bounds, log axis)
and the weight of each published metric. A trial runs the scenario with one set of values at a
reduced population, on a calendar cut at the last target date, and scores the weighted mean of
squared errors over the targets: ln(model / published) for the "log" objective (counts span
decades, and over- and under-shooting by the same factor cost the same), model / published - 1
for "relative". A model count of zero is read as half a simulated citizen, so the log stays finite.

Reproducible in parallel: trials are asked in batches of ``BATCH``, from a TPE sampler seeded with
(seed + trials already complete), run by a backend (``runner.backends``: ``jobs`` local threads,
the kernels releasing the GIL, or Ray tasks) and told in trial order, so the result depends on the
seed and the trial count, not on ``jobs`` nor on where the trials ran. Each
trial runs on the scenario's own seed (common random numbers): two trials differ by their values,
not by noise. A study lives in an Optuna storage: an interrupted batch is marked failed and run
again on resume, so an interrupted and resumed calibration ends where an uninterrupted one does.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pyarrow as pa

from ..language.published import Target, load_targets, targets_text
from ..language.scenario import Calibration, Scenario, find, number_at
from ..runner.backends import Backend, stopping
from ..runner.cost import estimate
from ..runner.simulation import Simulation
from .results import (
    BANDS,
    comparison,
    missing_series,
    model_series,
    model_value,
    tag_seed,
    timeseries,
    write_atomic,
)

BATCH = 8  # trials asked before any is told: the most that run in parallel
STARTUP_TRIALS = 10  # random trials before TPE models the results
STUDY_FILE = "study.db"
SCENARIO_FILE, FIT_TABLE, FIT_FIGURE = "calibrated.toml", "fit.csv", "fit.png"


class CalibrationError(ValueError):
    """A calibration that cannot run; the message says what to change."""


class Interrupted(Exception):
    """A trial stopped early because the calibration was interrupted."""


@dataclass(frozen=True)
class Fit:
    """What a trial is scored against: weighted targets, the error kind, the zero floor."""

    targets: list[tuple[Target, float]]
    objective: str
    floor: float  # a model count of zero is read as this (half a simulated citizen)

    @property
    def last_date(self) -> dt.date:
        return max(t.date for t, _ in self.targets)


def fitted_targets(scenario: Scenario, targets: list[Target], source: str) -> Fit:
    """The targets the scenario's weights name, within its calendar (a published 0 has no ratio)."""
    cal = _calibration(scenario)
    lacking = sorted(m for m in missing_series(scenario)
                     if any(k.partition("@")[0] == m for k in cal.weights))
    if lacking:
        raise CalibrationError(f"{source}: calibration.weights names {lacking}, which this"
                               " scheme does not count (its catalog lacks the sanction or"
                               " attempt they are read from); remove them")
    chosen = [(t, w) for t in targets if (w := target_weight(cal.weights, t))
              and t.value > 0 and scenario.start <= t.date <= scenario.end]
    if not chosen:
        raise CalibrationError(f"{source}: no target of the metrics {', '.join(cal.weights)}"
                               f" lies within {scenario.start} to {scenario.end}")
    return Fit(chosen, cal.objective, 0.5 * scenario.population.scale)


def target_weight(weights: dict[str, float], target: Target) -> float:
    """A target's weight: its own (metric@date), else its metric's, else 0 (not fitted)."""
    return weights.get(f"{target.metric}@{target.date}", weights.get(target.metric, 0.0))


def _calibration(scenario: Scenario) -> Calibration:
    if scenario.calibration is None:
        raise CalibrationError(f"{scenario.name}: the scenario has no [calibration] table naming"
                               " the free parameters and the weights of the targets")
    return scenario.calibration


def trial_scenario(scenario: Scenario, population: int, census: int, fit: Fit) -> Scenario:
    """The scenario as trials run it: ``population`` citizens for ``census`` people, to the last
    target date."""
    return scenario.with_changes(**{"population.size": population,
                                    "population.scale": census / population,
                                    "end": fit.last_date})


def error(model: float, published: float, objective: str, floor: float) -> float:
    """One target's error: ln(model / published) or model / published - 1."""
    if objective == "log":
        return math.log(max(model, floor) / published)
    return model / published - 1.0


def score(ts: pa.Table, fit: Fit) -> float:
    """Weighted mean of the targets' squared errors."""
    total = sum(w * error(model_value(ts, t), t.value, fit.objective, fit.floor) ** 2
                for t, w in fit.targets)
    return total / sum(w for _, w in fit.targets)


def suggest(trial: optuna.Trial, scenario: Scenario) -> dict[str, float]:
    """The trial's values of the free parameters, integers where the field is one."""
    values = {}
    for path, b in _calibration(scenario).parameters.items():
        if number_at(scenario, path)[1] is int:
            values[path] = trial.suggest_int(path, int(b.low), int(b.high), log=b.log)
        else:
            values[path] = trial.suggest_float(path, b.low, b.high, log=b.log)
    return values


def start_values(scenario: Scenario) -> dict[str, float]:
    """The scenario's own values of the free parameters, clipped to their bounds: the first trial,
    so that calibration never ends worse than where it started."""
    values = {}
    for path, b in _calibration(scenario).parameters.items():
        value, tp = number_at(scenario, path)
        values[path] = tp(min(max(value, b.low), b.high))
    return values


def run_series(scenario: Scenario) -> pa.Table:
    """One run's national daily series at the scenario's seed, tagged with it; raises
    Interrupted soon after its local pool stops."""

    def check(done: int, total: int) -> None:
        if stopping():
            raise Interrupted

    data = Simulation(scenario, seed=scenario.seed, threads=1).run(check)
    return tag_seed(timeseries(data), scenario.seed)


def settings_key(scenario: Scenario, population: int, targets: str) -> dict[str, str]:
    """What a stored study was run with (the scenario's seed included), so that a resume with
    other options is refused."""
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    return {"scenario": digest(scenario.to_toml()), "population": str(population),
            "targets": digest(targets)}


def open_study(storage: str, name: str, settings: dict[str, str]) -> optuna.Study:
    """The study ``name`` in ``storage``, created or resumed; trials left running by a killed
    calibration are marked failed (their batch runs again)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name=name, direction="minimize",
                                load_if_exists=True)
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", settings)
    elif stored != settings:
        changed = ", ".join(k for k in settings if stored.get(k) != settings[k])
        raise CalibrationError(f"{storage}: study {name!r} was run with another {changed};"
                               " resume with the same options, or use another --storage")
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return study


def complete(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def _sampler(seed: int) -> optuna.samplers.TPESampler:
    with warnings.catch_warnings():  # multivariate TPE is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                          n_startup_trials=STARTUP_TRIALS)


def run_study(study: optuna.Study, base: Scenario, fit: Fit, trials: int, backend: Backend,
              on_trial: Callable[[optuna.Study], None] | None = None) -> None:
    """Run trials until ``trials`` are complete, in batches (see the module's docstring)."""
    if not study.trials:
        study.enqueue_trial(start_values(base))
    memory = estimate(base).memory
    while (done := complete(study)) < trials:
        study.sampler = _sampler(base.seed + done)
        batch = [study.ask() for _ in range(min(BATCH, trials - done))]
        scenarios = [base.with_changes(**suggest(t, base)) for t in batch]
        try:
            values = [score(ts, fit) for ts in backend.map(run_series, scenarios, memory)]
        except BaseException:  # Ctrl-C or a failed run: the whole batch runs again
            for t in batch:
                study.tell(t, state=optuna.trial.TrialState.FAIL)
            raise
        for t, value in zip(batch, values, strict=True):
            study.tell(t, value)
            if on_trial is not None:
                on_trial(study)


def calibrated(scenario: Scenario, params: dict[str, float], note: str) -> Scenario:
    """The scenario with the calibrated values (3 significant digits) and their sources, each
    under the path of its number with array items by index, as sources are read."""
    values = {path: v if isinstance(v, int) else float(f"{v:.3g}") for path, v in params.items()}
    sources, data = dict(scenario.sources), scenario.model_dump()
    for path in values:
        key = ".".join(map(str, find(data, path)[1]))
        sources[key] = f"assumption: calibrated by panopticon calibrate against {note}"
    return scenario.with_changes(**values, sources=sources)


def seed_runs(scenario: Scenario, seeds: int, backend: Backend) -> list[pa.Table]:
    """National series of seeds ``scenario.seed`` to ``scenario.seed + seeds - 1``, in order."""
    runs = [scenario.with_changes(seed=scenario.seed + i) for i in range(seeds)]
    return list(backend.map(run_series, runs, estimate(scenario).memory))


def fit_rows(runs: list[pa.Table], targets: list[Target],
             weights: dict[str, float]) -> list[dict]:
    """Each target within the runs' dates: published, the model's median and 90% band, ratio."""
    rows = []
    for t, row in zip(targets, comparison(runs[0], runs, targets), strict=True):
        if row["model"] is None:
            continue
        rows.append({"date": row["date"], "metric": row["metric"], "counts": row["counts"],
                     "weight": target_weight(weights, t), "published": row["published"],
                     **{f"model_{b}": row[f"model_{b}"] for b in BANDS},
                     "ratio": row["model_median"] / row["published"]})
    return rows


def fit_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def fit_figure(runs: list[pa.Table], rows: list[dict], path: Path) -> None:
    """Each target metric over time: the median across seeds, its 90% band, published points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    cols = min(4, len(metrics))
    n_rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.2 * cols, 3.2 * n_rows), squeeze=False)
    dates = runs[0].column("date").to_numpy()
    for ax, metric in zip(axes.flat, metrics):
        series = np.stack([model_series(run, metric) for run in runs])
        low, mid, high = np.percentile(series, list(BANDS.values()), axis=0)
        ax.fill_between(dates, low, high, alpha=0.3, label="model, 90% band")
        ax.plot(dates, mid, label="model, median")
        points = [r for r in rows if r["metric"] == metric]
        ax.plot([np.datetime64(r["date"]) for r in points], [r["published"] for r in points],
                "o", color="black", label="published")
        positive = mid[mid > 0]
        if positive.size and positive.max() / positive.min() > 100:
            ax.set_yscale("log")
        fitted = any(r["weight"] for r in points)
        ax.set_title(f"{metric}" + ("" if fitted else " (not fitted)"), fontsize=8)
        ax.set_ylabel(points[0]["counts"].replace("_", " "), fontsize=7)
        locator = AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(metrics):]:
        ax.remove()
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def write_fit(runs: list[pa.Table], targets: list[Target], weights: dict[str, float],
              out: Path) -> list[dict]:
    """fit.csv and fit.png in ``out``, from several seeds' national series; returns the rows."""
    rows = fit_rows(runs, targets, weights)
    if not rows:
        raise CalibrationError("no target lies within the runs' dates")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / FIT_TABLE, lambda p: p.write_text(fit_csv(rows), "utf-8"))
    fit_figure(runs, rows, out / FIT_FIGURE)
    return rows


def storage_url(storage: str | Path) -> str:
    """An Optuna storage URL; a plain path is an SQLite file."""
    text = str(storage)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def calibrate(scenario: Scenario, targets_file: Path | None, trials: int, backend: Backend,
              storage: str, population: int, census: int, seeds: int, out: Path,
              on_trial: Callable[[optuna.Study], None] | None = None) -> tuple[Scenario,
                                                                                list[dict]]:
    """Calibrate ``scenario`` and write the calibrated scenario, fit.csv and fit.png to ``out``.

    Trials and the fit's ``seeds`` run at ``population`` citizens (for ``census`` people).
    """
    try:
        targets = load_targets(targets_file)
    except (OSError, KeyError, ValueError) as e:
        raise CalibrationError(f"{targets_file}: not a targets file like calibration_targets.csv"
                               f" ({e})") from None
    source = str(targets_file or "calibration_targets.csv")
    fit = fitted_targets(scenario, targets, source)
    base = trial_scenario(scenario, population, census, fit)
    study = open_study(storage, scenario.name, settings_key(scenario, population,
                                                          targets_text(targets_file)))
    run_study(study, base, fit, trials, backend, on_trial)
    note = (f"{Path(source).name}, {fit.objective} error, seed {scenario.seed}, {trials} trials"
            f" at {population:,} citizens")
    result = calibrated(scenario, study.best_trial.params, note)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / SCENARIO_FILE, lambda p: p.write_text(result.to_toml(), "utf-8"))
    runs = seed_runs(trial_scenario(result, population, census, fit), seeds, backend)
    return result, write_fit(runs, targets, _calibration(scenario).weights, out)

