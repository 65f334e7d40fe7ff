"""Results: the run folder (resolved scenario, Parquet tables, summary) and the published table.

Every count is scaled back to real people (x ``scale``). A run folder is built under a hidden
staging name and renamed into place only when complete, so an interrupted run never leaves a
folder that looks finished; each file inside is itself written to a temporary name and renamed.
Staging and temporary names are removed when a write fails, and replaced only where
``outfolder`` allows: a run replaces nothing but an earlier run, and that only when asked.

A multi-seed run adds the national series of every seed, their spread across seeds (median and
90% band) and every seed's headline figures of the audit to the first seed's folder, inside the
same staging folder, so all appear at once.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..language.published import (
    ANNUAL,
    CUMULATIVE_COLUMNS,
    SERIES,
    Target,
    load_targets,
)
from ..language.scenario import Scenario, load
from ..observers.audit import audit_table, daily_differences, headline
from ..runner.cost import disk_bytes
from ..runner.rundata import RunData
from ..stages import counters
from .outfolder import (
    check_folder,
    remove_stale,
    scratch,
    write_marker,
)

# regions.parquet's row groups: about this many bytes of a block of days' float64 columns
REGION_BLOCK_BYTES = 16 << 20
# sums that the series give as means: counter -> (column, the counter of whom it is a mean of,
# a factor of units)
MEANS = {"score_sum": ("mean_score", "scored_citizens", 1.0),
         "true_score_sum": ("true_mean_score", "scored_citizens", 1.0),
         "perceived_risk_permille_sum": ("perceived_risk_permille_mean", "citizens", 1.0),
         "internet_users_risk_sum": ("internet_users_risk_permille_mean", "internet_users",
                                     1000 / 255)}  # risk is summed in 255ths
# summary.json's figures on the last day, where the run has them (a scheme without tickets has no
# flights refused), and its attempts against people
AT_END = ("judgment_defaulters_listed", "flight_purchases_blocked", "flight_people_blocked",
          "train_purchases_blocked", "train_people_blocked", "travel_purchases_blocked",
          "children_barred", "listed_stock")
ATTEMPTS_VS_PEOPLE = {"plane_attempts_blocked": "flight_purchases_blocked",
                      "plane_people_blocked": "flight_people_blocked",
                      "train_attempts_blocked": "train_purchases_blocked",
                      "train_people_blocked": "train_people_blocked"}
# spread across seeds: name -> percentile (numpy's default, linear, like DuckDB's quantile_cont)
BANDS: dict[str, float] = {"p05": 5.0, "median": 50.0, "p95": 95.0}


def counter_columns(data: RunData, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Counters of ``counts`` ([..., counter]) as named columns in real people."""
    cols: dict[str, np.ndarray] = {}
    index = {name: i for i, name in enumerate(data.counter_names)}
    for name, i in index.items():
        values = counts[..., i]
        if name in MEANS:
            column, of, factor = MEANS[name]
            cols[column] = values * factor / np.maximum(counts[..., index[of]], 1)
        elif name.startswith("grade_"):
            g = int(name.removeprefix("grade_"))
            if g < len(data.grade_names):
                cols[f"grade_{data.grade_names[g]}"] = values * data.scale
        else:
            cols[name] = values * data.scale
    cols["new_blacklist_entries"] = cols["new_listings"] + cols["exit_bans_new"] + cols[
        "misconduct_listed"]
    return cols


def timeseries(data: RunData) -> pa.Table:
    """Daily national series, with the cumulative figures the published record reports, and
    chilling and deterrence per day where the fear-off run was made."""
    cols = counter_columns(data, data.counts.sum(axis=1))
    if data.counterfactual is not None:
        cols |= daily_differences(data, data.counterfactual)
    for name, daily in CUMULATIVE_COLUMNS.items():
        if daily in cols:  # a scheme without the catalog item has no such series
            cols[name] = np.cumsum(cols[daily])
    if {"flight_purchases_blocked", "train_purchases_blocked"} <= cols.keys():
        cols["travel_purchases_blocked"] = (cols["flight_purchases_blocked"]
                                            + cols["train_purchases_blocked"])
    cols["cctv_cameras"] = data.cameras
    return pa.table({"date": pa.array(data.dates, pa.date32()), **cols})


def regions(data: RunData, first: int = 0, last: int | None = None) -> pa.Table:
    """Daily series per region (long format: one row per date and region), of days
    ``first`` to ``last`` (all by default)."""
    counts = data.counts[first:last]
    n_days, n_regions, n_counters = counts.shape
    cols = counter_columns(data, counts.reshape(n_days * n_regions, n_counters))
    dates = np.array(data.dates[first:first + n_days], dtype="datetime64[D]")
    return pa.table({
        "date": pa.array(np.repeat(dates, n_regions)),
        "region_code": pa.array(np.tile(data.region_codes, n_days)),
        "region": pa.array(np.tile(data.region_names, n_days)),
        **cols,
    })


def write_regions(data: RunData, path: Path, block_bytes: int = REGION_BLOCK_BYTES) -> None:
    """regions.parquet, a row group of days at a time: the whole table in float64 columns
    would be as large as the run's counters again (68 MB for the default run), and the
    Parquet writer's buffers on top of it, at the end of the run."""
    n_days, n_regions, n_counters = data.counts.shape
    days = max(1, block_bytes // max(1, n_regions * n_counters * 8))
    with pq.ParquetWriter(path, regions(data, 0, 0).schema) as writer:
        for first in range(0, n_days, days):
            writer.write_table(regions(data, first, first + days))


def ranking(data: RunData) -> pa.Table:
    """The public ranking on the last day: people per score and the score's percentile rank."""
    counts, percentile = data.ranking
    lo = data.scenario.scoring.min
    return pa.table({"score": np.arange(lo, lo + counts.shape[0], dtype=np.int32),
                     "people": counts * data.scale, "percentile": percentile})


def tag_seed(ts: pa.Table, seed: int) -> pa.Table:
    """A seed's national series with a leading ``seed`` column, a part of the per-seed table."""
    return ts.add_column(0, "seed", pa.array(np.full(ts.num_rows, seed, dtype=np.int64)))


class SeedTables(NamedTuple):
    """What a multi-seed run keeps of every seed, each with a leading ``seed`` column: the
    national series, and the audit's headline figures (without fear's, which need a run with
    fear off that only the first seed has)."""

    series: pa.Table
    figures: pa.Table


HEADLINE_SCHEMA = pa.schema([("section", pa.string()), ("metric", pa.string()),
                             ("group_by", pa.string()), ("group", pa.string()),
                             ("value", pa.float64()), ("unit", pa.string())])


def headline_table(data: RunData) -> pa.Table:
    """A run's headline figures of the audit, one row each (``HEADLINE_SCHEMA``)."""
    rows = audit_headline(data, audit(data))
    return pa.Table.from_pylist([{k: r[k] for k in HEADLINE_SCHEMA.names} for r in rows],
                                HEADLINE_SCHEMA)


def split_seeds(per_seed: pa.Table) -> list[pa.Table]:
    """The per-seed table back into one national series per seed, in seed order."""
    seeds = per_seed.column("seed")
    return [per_seed.filter(pc.equal(seeds, s)) for s in sorted(set(seeds.to_pylist()))]


def bands(runs: list[pa.Table]) -> pa.Table:
    """Every numeric series' median and 90% band across seeds, per date (long: series, date)."""
    names = [f.name for f in runs[0].schema if f.name != "seed"
             and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))]
    dates = runs[0].column("date").to_numpy()
    cols: dict[str, list[np.ndarray]] = {band: [] for band in BANDS}
    for name in names:
        values = np.stack([run.column(name).to_numpy() for run in runs])
        for band, q in zip(BANDS, np.percentile(values, list(BANDS.values()), axis=0),
                           strict=True):
            cols[band].append(q)
    return pa.table({"series": pa.array(np.repeat(names, len(dates))),
                     "date": pa.array(np.tile(dates, len(names)), pa.date32()),
                     **{band: np.concatenate(qs) for band, qs in cols.items()}})


def model_value(ts: pa.Table, target: Target) -> float | None:
    """The model's figure to put beside a published one, or None outside the run's dates or
    where the run has no such series (its catalog has not the counter it is read from: a scheme
    without a management ban counts no one barred from management roles)."""
    column, how = SERIES[target.metric]
    dates = ts.column("date").to_pylist()
    if not dates[0] <= target.date <= dates[-1] or column not in ts.column_names:
        return None
    idx = dates.index(target.date)
    values = ts.column(column).to_numpy()
    if how == ANNUAL:  # the flow over the year ending on the date
        return float(values[max(0, idx - 364): idx + 1].sum())
    return float(values[idx])  # stocks and cumulative figures are read on the date


def missing_series(sc: Scenario) -> list[str]:
    """The published metrics a run of ``sc`` has no series for: those read from a counter of
    china-2018's catalog that the scheme lacks (``management_role_bans`` without a
    ``management_ban``)."""
    have, china = set(counters(sc).names), set(counters(load("china-2018")).names)
    return [m for m, (column, _) in SERIES.items()
            if CUMULATIVE_COLUMNS.get(column, column) in china - have]


def model_series(ts: pa.Table, metric: str) -> np.ndarray:
    """The model's series for a published metric, per day: as read on each date (stocks and
    cumulative figures) or summed over the year ending on it (yearly flows)."""
    column, how = SERIES[metric]
    values = ts.column(column).to_numpy().astype(np.float64)
    if how != ANNUAL:
        return values
    running = np.cumsum(values)
    running[365:] = running[365:] - running[:-365].copy()
    return running


def comparison(ts: pa.Table, runs: list[pa.Table] | None = None,
               targets: list[Target] | None = None) -> list[dict]:
    """Each published figure (``targets``, by default the packaged ones) beside the model's, with
    their ratio and what the figure counts; with several seeds' series ``runs``, also the model's
    median and 90% band across seeds."""
    rows = []
    for t in load_targets() if targets is None else targets:
        model = model_value(ts, t)
        rows.append({"date": t.date.isoformat(), "metric": t.metric, "published": t.value,
                     "model": model, "ratio": None if model is None or not t.value
                     else model / t.value, "counts": t.kind, "source": t.source})
        if runs is not None:
            rows[-1].update(_model_band([model_value(run, t) for run in runs]))
    return rows


def _model_band(values: list[float | None]) -> dict[str, float | None]:
    """Band of one published figure's model values, taken per seed: for a yearly flow the
    median of the yearly sums, not the sum of daily medians."""
    if None in values:
        return {f"model_{band}": None for band in BANDS}
    qs = np.percentile(values, list(BANDS.values()))
    return {f"model_{band}": float(q) for band, q in zip(BANDS, qs, strict=True)}


def audit(data: RunData) -> pa.Table:
    """The run's audit table; chilling and deterrence where its fear-off twin was run."""
    return audit_table(data)


def audit_headline(data: RunData, table: pa.Table) -> list[dict]:
    """The audit's headline figures, beside the fear-off run's where it was run."""
    cf = data.counterfactual
    return headline(table, data.scenario, None if cf is None else audit_table(cf))


def summary(data: RunData, ts: pa.Table, audit_figures: list[dict],
            runs: list[pa.Table] | None = None) -> dict:
    """summary.json: the run's facts, its headline figures and what made it (provenance)."""
    from .provenance import provenance

    last = {name: float(ts.column(name)[-1].as_py()) for name in AT_END
            if name in ts.column_names}
    sc = data.scenario
    citizens = int(data.counts[0, :, data.counter_names.index("citizens")].sum())
    facts = {
        "scenario": sc.name, "seed": data.seed, "start": sc.start.isoformat(),
        "end": sc.end.isoformat(), "days": sc.days, "citizens": citizens,
        "scale": data.scale, "wall_seconds": round(data.wall_seconds, 3),
        "agent_days_per_second": round(citizens * sc.days / max(data.wall_seconds, 1e-9)),
        "events_per_second": round(data.events / max(data.wall_seconds, 1e-9)),
        "bytes_per_citizen": data.bytes_per_citizen,
        "array_bytes_per_citizen": data.array_bytes_per_citizen, "chunk_size": data.chunk_size,
        "threads": data.threads, "at_end": last,
        "attempts_vs_people": {key: last[name] for key, name in ATTEMPTS_VS_PEOPLE.items()
                               if name in last},
        # the published figures are national: no comparison for a scenario of a city
        "published_comparison": [] if sc.population.regions else comparison(ts, runs),
        "counterfactual": data.counterfactual is not None,
        "audit": audit_figures,
        "provenance": provenance(sc.to_toml()),
    }
    if runs is not None:
        facts["seeds"] = [int(run.column("seed")[0].as_py()) for run in runs]
    return facts


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through ``write`` under a hidden temporary name, then rename it into place,
    so that a reader never sees a half-written file; the temporary file goes when ``write``
    fails, and a dead process's for the same path goes first."""
    remove_stale(path)
    tmp = scratch(path, "tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_run(data: RunData, out: Path, per_seed: SeedTables | None = None, *,
              overwrite: bool = False) -> Path:
    """Write the run folder ``out`` in full, or leave whatever was there before untouched.

    ``out`` must be new, empty or, with ``overwrite``, an earlier run (``outfolder.check_folder``
    raises ``OutError`` otherwise). ``per_seed`` (several seeds' tables, ``data``'s seed first)
    adds the per-seed and band tables, every seed's headline figures and the band of each
    published figure.
    """
    out = Path(out)
    seeds = 1 if per_seed is None else len(set(per_seed.series.column("seed").to_pylist()))
    check_folder(out, "run", overwrite, disk_bytes(
        data.scenario, seeds, data.counterfactual is not None, report=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    staging = scratch(out, "partial")
    try:
        staging.mkdir()
        write_marker(staging, "run")
        _write_files(data, staging, per_seed)
        _replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if out.exists():  # an earlier run whose removal was cut short
            shutil.rmtree(scratch(out, "old"), ignore_errors=True)
    return out


def _write_files(data: RunData, folder: Path, per_seed: SeedTables | None) -> None:
    ts = timeseries(data)
    audited = audit(data)
    tables = {"timeseries": ts, "ranking": ranking(data), "audit": audited,
              "cohort": data.cohort}
    runs = None if per_seed is None else split_seeds(per_seed.series)
    if runs is not None:
        tables |= {"timeseries_seeds": per_seed.series, "timeseries_bands": bands(runs),
                   "audit_seeds": per_seed.figures}
    write_atomic(folder / "scenario.toml",
                 lambda p: p.write_text(data.scenario.to_toml(), "utf-8"))
    write_atomic(folder / "regions.parquet", lambda p: write_regions(data, p))
    for name, table in tables.items():
        write_atomic(folder / f"{name}.parquet", lambda p, t=table: pq.write_table(t, p))
    write_atomic(folder / "summary.json",
                 lambda p: p.write_text(json.dumps(summary(data, ts, audit_headline(data, audited),
                                                           runs), indent=2), "utf-8"))


def _replace_dir(new: Path, out: Path) -> None:
    """Move a finished folder into place; an earlier run there is removed only afterwards, and
    put back if the move fails."""
    if not out.exists():
        os.replace(new, out)
        return
    old = scratch(out, "old")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old)
