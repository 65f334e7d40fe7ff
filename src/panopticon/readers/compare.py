"""Scenarios side by side: runs aligned on their common dates, each figure against the first run.

Two runs of one seed share their random numbers (common random numbers), so their difference is
the policy's, not chance. Where every run holds the same several seeds (``--seeds K``), the
difference is taken seed by seed and its median and 90% band say how much of it is left to chance.
Runs that cannot be compared fairly (other seeds, scales or start dates, other versions of the
code, two scenarios of one name) are compared anyway, with a warning that says what the
difference then mixes in.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.table import Table
from rich.text import Text

from ..language.published import CUMULATIVE_COLUMNS
from .outfolder import check_file, table_marker
from .provenance import code, describe_code, scenario_changed
from .report import leaves
from .results import BANDS, split_seeds, write_atomic
from .runfolder import open_run
from .scheme import with_catalog_names

KEY_METRICS = (
    "judgment_defaulters_listed", "listed_stock", "flight_purchases_blocked",
    "flight_people_blocked", "train_purchases_blocked", "train_people_blocked",
    "sanctioned_people_stock", "wrongly_sanctioned_stock", "wrongly_graded",
    "school_ban_stock", "children_barred", "cameras_false_records", "content_flags_false",
    "posts_against_line", "posts_lawful", "mean_score",
)
# figures read on the last common date; every other column is a daily flow, summed
READ_ON_DATE = {"citizens", "children", "internet_users", "payment_users", "mean_score",
                "true_mean_score", "wrongly_graded", "cctv_cameras", "travel_purchases_blocked",
                "perceived_risk_permille_mean", "internet_users_risk_permille_mean",
                *CUMULATIVE_COLUMNS}
# scenario entries that say nothing of its rules, or that other warnings and the alignment cover
NOT_RULES = ("name", "description", "sources", "calibration", "sensitivity", "seed", "start",
             "end", "population.size", "population.scale")


class CompareError(ValueError):
    """Runs that cannot be compared at all, in one line for the CLI."""


@dataclass(frozen=True)
class RunSeries:
    label: str
    summary: dict
    scenario: dict  # scenario.toml as written
    scenario_sha256: str
    ts: pa.Table
    seeds: pa.Table | None  # timeseries_seeds.parquet, for a multi-seed run


@dataclass(frozen=True)
class Figure:
    """One metric at the end of the common dates: each run's value, and against the first run
    the difference and, with common seeds, the difference's median and 90% band per seed."""

    metric: str
    how: str
    values: list[float]
    differences: list[float]  # run i minus the first run, for i >= 1
    bands: list[tuple[float, float, float]] | None  # (p05, median, p95) per run i >= 1


@dataclass(frozen=True)
class Comparison:
    labels: list[str]
    first: str  # first and last common date, ISO
    last: str
    figures: list[Figure]
    warnings: list[str]
    aligned: pa.Table  # long: run, date, metric, value, difference


def is_read_on_date(metric: str) -> bool:
    return metric in READ_ON_DATE or metric.endswith("_stock") or metric.startswith("grade_")


def load(folders: list[Path]) -> list[RunSeries]:
    """Each folder's national series, labelled by folder name (by path where names repeat)."""
    names = [Path(f).name for f in folders]
    runs = []
    for folder, name in zip(folders, names, strict=True):
        run = open_run(folder)
        runs.append(RunSeries(
            label=name if names.count(name) == 1 else str(folder), summary=run.summary,
            scenario=run.scenario_data, scenario_sha256=run.scenario_sha256,
            ts=with_catalog_names(run.table("timeseries")),
            seeds=run.optional("timeseries_seeds")))
    return runs


def compare(folders: list[Path], metrics: list[str] | None = None) -> Comparison:
    """Align the runs on their common dates and compare ``metrics`` (KEY_METRICS by default)."""
    if len(folders) < 2:
        raise CompareError("compare needs at least two run folders")
    runs = load(folders)
    metrics = check_metrics(runs, metrics)
    common = common_dates(runs)
    aligned = [_on_dates(r.ts, common) for r in runs]
    same_seeds = all(r.seeds is not None for r in runs) and len(
        {tuple(_seeds(r.summary)) for r in runs}) == 1
    figures = []
    for m in metrics:
        values = [_end_value(t, m) for t in aligned]
        bands = [_difference_band(runs[0], r, m, common) for r in runs[1:]] if same_seeds else None
        figures.append(Figure(m, f"on {common[-1]}" if is_read_on_date(m) else "sum over dates",
                              values, [v - values[0] for v in values[1:]], bands))
    return Comparison([r.label for r in runs], str(common[0]), str(common[-1]), figures,
                      warnings(runs), long_table(runs, aligned, metrics))


def check_metrics(runs: list[RunSeries], metrics: list[str] | None) -> list[str]:
    """The metrics asked for, each a column of every run's timeseries; a one-line error names
    the first that is not and the closest columns."""
    columns = set.intersection(*(set(r.ts.column_names) - {"date"} for r in runs))
    if not metrics:
        return [m for m in KEY_METRICS if m in columns]
    for m in metrics:
        if m not in columns:
            close = difflib.get_close_matches(m, sorted(columns), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CompareError(f"--metric: {m!r} is not a timeseries column of every run{hint} "
                               "(`panopticon query RUN \"describe timeseries\"` lists them)")
    return list(dict.fromkeys(metrics))


def common_dates(runs: list[RunSeries]) -> np.ndarray:
    dates = runs[0].ts.column("date").to_numpy()
    for r in runs[1:]:
        dates = np.intersect1d(dates, r.ts.column("date").to_numpy())
    if dates.size == 0:
        spans = ", ".join(f"{r.label} {r.summary['start']} to {r.summary['end']}" for r in runs)
        raise CompareError(f"the runs share no date: {spans}")
    return dates


def warnings(runs: list[RunSeries]) -> list[str]:
    """What makes a difference unfair: other seeds, scales or start dates than the first run's,
    another version of the code, another scenario under the same name, or a scenario.toml
    edited since its run."""
    first = runs[0]
    notes = [f"{r.label}: scenario.toml has changed since the run (its sha256 is not the one in "
             "summary.json): it may not say what was run" for r in runs
             if scenario_changed(r.summary.get("provenance"), r.scenario_sha256)]
    for r in runs[1:]:
        mine, theirs = r.summary.get("provenance"), first.summary.get("provenance")
        if code(mine) != code(theirs):
            notes.append(f"{r.label} was made by {describe_code(mine)}, {first.label} by "
                         f"{describe_code(theirs)}: the difference may hold changes of the "
                         "code, not only of the scenarios")
        changed = other_rules(first, r)
        if changed:
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            notes.append(f"{r.label} and {first.label} both run scenario "
                         f"{r.summary['scenario']!r} but differ in {', '.join(changed[:3])}"
                         f"{more}: the name does not tell them apart")
        if _seeds(r.summary) != _seeds(first.summary):
            notes.append(f"{r.label} has seeds {_seeds(r.summary)}, {first.label} "
                         f"{_seeds(first.summary)}: their difference mixes chance with the "
                         "scenarios' (run both with the same --seed)")
        if not np.isclose(r.summary["scale"], first.summary["scale"]):
            notes.append(f"{r.label} has {r.summary['scale']:,.0f} people per citizen, "
                         f"{first.label} {first.summary['scale']:,.0f}: figures are in real "
                         "people, but their chance differs and random numbers are not shared")
        if r.summary["start"] != first.summary["start"]:
            notes.append(f"{r.label} starts on {r.summary['start']}, {first.label} on "
                         f"{first.summary['start']}: cumulative figures count from different "
                         "days")
    return notes


def other_rules(first: RunSeries, other: RunSeries) -> list[str]:
    """Where two runs of one scenario name have other rules: the dotted names of the parameters
    that differ (NOT_RULES aside); none for scenarios of other names, meant to differ."""
    if (first.summary["scenario"] != other.summary["scenario"]
            or first.scenario_sha256 == other.scenario_sha256):
        return []
    a, b = (dict(leaves(r.scenario)) for r in (first, other))
    return [path for path in sorted(a.keys() | b.keys()) if a.get(path) != b.get(path)
            and not any(path == n or path.startswith(n + ".") for n in NOT_RULES)]


def _seeds(summary: dict) -> list[int]:
    return summary.get("seeds") or [summary["seed"]]


def _on_dates(ts: pa.Table, dates: np.ndarray) -> pa.Table:
    return ts.filter(pc.is_in(ts["date"], value_set=pa.array(dates, pa.date32())))


def _end_value(ts: pa.Table, metric: str) -> float:
    values = ts.column(metric).to_numpy()
    return float(values[-1] if is_read_on_date(metric) else values.sum())


def _difference_band(first: RunSeries, other: RunSeries, metric: str,
                     dates: np.ndarray) -> tuple[float, float, float]:
    """(p05, median, p95) over seeds of the seed-by-seed difference, other minus first."""
    pairs = zip(split_seeds(first.seeds), split_seeds(other.seeds), strict=True)
    diffs = [_end_value(_on_dates(b, dates), metric) - _end_value(_on_dates(a, dates), metric)
             for a, b in pairs]
    p05, median, p95 = np.percentile(diffs, [BANDS["p05"], BANDS["median"], BANDS["p95"]])
    return float(p05), float(median), float(p95)


def long_table(runs: list[RunSeries], aligned: list[pa.Table], metrics: list[str]) -> pa.Table:
    """Every run's metrics per common date (long: run, date, metric, value, difference), the
    difference taken against the first run on the same date."""
    dates = aligned[0].column("date")
    n = len(dates)
    parts = []
    for run, ts in zip(runs, aligned, strict=True):
        for m in metrics:
            values = ts.column(m).to_numpy().astype(np.float64)
            base = aligned[0].column(m).to_numpy().astype(np.float64)
            parts.append(pa.table({"run": pa.array([run.label] * n), "date": dates,
                                   "metric": pa.array([m] * n), "value": values,
                                   "difference": values - base}))
    return pa.concat_tables(parts)


def write_aligned(comparison: Comparison, out: Path, overwrite: bool = False) -> None:
    """Write the aligned table to ``out``: a new file or, with ``overwrite``, a table an earlier
    compare wrote (``outfolder.check_file`` raises ``OutError`` otherwise), marked as such."""
    check_file(out, overwrite)
    table = comparison.aligned.replace_schema_metadata(table_marker("comparison"))
    write_atomic(Path(out), lambda p: pq.write_table(table, p))


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 or value == int(value) else f"{value:.4g}"


def signed(value: float, fmt: Callable[[float], str] = _fmt) -> str:
    """A difference with its sign, its size as ``fmt`` writes it."""
    return ("+" if value > 0 else "-" if value < 0 else "") + fmt(abs(value))


def to_table(c: Comparison) -> Table:
    """Each figure per run and its difference against the first run (with its band across
    seeds where the runs share several seeds)."""
    table = Table(title=f"Runs compared over {c.first} to {c.last} (real people)",
                  caption=Text(f"differences against {c.labels[0]}"))
    table.add_column("figure")
    table.add_column("read")
    for i, label in enumerate(c.labels):
        table.add_column(Text(label), justify="right")
        if i:
            table.add_column("difference", justify="right")
            if c.figures and c.figures[0].bands:
                table.add_column("median [90% band] by seed", justify="right")
    for f in c.figures:
        cells = [Text(f.metric), f.how, _fmt(f.values[0])]
        for i, value in enumerate(f.values[1:]):
            cells += [_fmt(value), signed(f.differences[i]) + _share(f.differences[i],
                                                                      f.values[0])]
            if f.bands:
                p05, median, p95 = f.bands[i]
                cells.append(f"{signed(median)} [{signed(p05)}, {signed(p95)}]")
        table.add_row(*cells)
    return table


def _share(difference: float, base: float) -> str:
    return f" ({difference / base:+.1%})" if base else ""
