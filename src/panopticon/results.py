"""Results: the run folder (resolved scenario, Parquet tables, summary) and the published table.

Every count is scaled back to real people (x ``scale``). A run folder is built under a hidden
staging name and renamed into place only when complete, so an interrupted run never leaves a
folder that looks finished; each file inside is itself written to a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .counters import INDEX, NAMES
from .published import ANNUAL, CUMULATIVE_COLUMNS, SERIES, Target, load_targets
from .simulation import RunData

UNSCALED = {"score_sum", "true_score_sum"}
FILES = ("scenario.toml", "timeseries.parquet", "regions.parquet", "ranking.parquet",
         "summary.json")


def counter_columns(data: RunData, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Counters of ``counts`` ([..., counter]) as named columns in real people."""
    cols: dict[str, np.ndarray] = {}
    citizens = np.maximum(counts[..., INDEX["citizens"]], 1)
    for name in NAMES:
        values = counts[..., INDEX[name]]
        if name in UNSCALED:
            cols[name.replace("_sum", "_mean").replace("score_mean", "mean_score")] = (
                values / citizens)
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
    """Daily national series, with the cumulative figures the published record reports."""
    cols = counter_columns(data, data.counts.sum(axis=1))
    for name, daily in CUMULATIVE_COLUMNS.items():
        cols[name] = np.cumsum(cols[daily])
    cols["travel_purchases_blocked"] = (cols["flight_purchases_blocked"]
                                        + cols["train_purchases_blocked"])
    cols["cctv_cameras"] = data.cameras
    return pa.table({"date": pa.array(data.dates, pa.date32()), **cols})


def regions(data: RunData) -> pa.Table:
    """Daily series per region (long format: one row per date and region)."""
    n_days, n_regions, _ = data.counts.shape
    cols = counter_columns(data, data.counts.reshape(n_days * n_regions, -1))
    return pa.table({
        "date": pa.array(np.repeat(np.array(data.dates, dtype="datetime64[D]"), n_regions)),
        "region_code": pa.array(np.tile(data.region_codes, n_days)),
        "region": pa.array(np.tile(data.region_names, n_days)),
        **cols,
    })


def ranking(data: RunData) -> pa.Table:
    """The public ranking on the last day: people per score and the score's percentile rank."""
    counts, percentile = data.ranking
    lo = data.scenario.scoring.min
    return pa.table({"score": np.arange(lo, lo + counts.shape[0], dtype=np.int32),
                     "people": counts * data.scale, "percentile": percentile})


def model_value(ts: pa.Table, target: Target) -> float | None:
    """The model's figure to put beside a published one, or None outside the run's dates."""
    column, how = SERIES[target.metric]
    dates = ts.column("date").to_pylist()
    if not dates[0] <= target.date <= dates[-1]:
        return None
    idx = dates.index(target.date)
    values = ts.column(column).to_numpy()
    if how == ANNUAL:  # the flow over the year ending on the date
        return float(values[max(0, idx - 364): idx + 1].sum())
    return float(values[idx])  # stocks and cumulative figures are read on the date


def comparison(ts: pa.Table) -> list[dict]:
    """Each published figure beside the model's, with their ratio and what the figure counts."""
    rows = []
    for t in load_targets():
        model = model_value(ts, t)
        rows.append({"date": t.date.isoformat(), "metric": t.metric, "published": t.value,
                     "model": model, "ratio": None if model is None or not t.value
                     else model / t.value, "counts": t.kind, "source": t.source})
    return rows


def summary(data: RunData, ts: pa.Table) -> dict:
    last = {name: float(ts.column(name)[-1].as_py()) for name in (
        "judgment_defaulters_listed", "flight_purchases_blocked", "flight_people_blocked",
        "train_purchases_blocked", "train_people_blocked", "travel_purchases_blocked",
        "children_barred", "listed_stock")}
    sc = data.scenario
    citizens = int(data.counts[0, :, INDEX["citizens"]].sum())
    return {
        "scenario": sc.name, "seed": data.seed, "start": sc.start.isoformat(),
        "end": sc.end.isoformat(), "days": sc.days, "citizens": citizens,
        "scale": data.scale, "wall_seconds": round(data.wall_seconds, 3),
        "agent_days_per_second": round(citizens * sc.days / max(data.wall_seconds, 1e-9)),
        "bytes_per_citizen": data.bytes_per_citizen, "chunk_size": data.chunk_size,
        "threads": data.threads, "at_end": last,
        "attempts_vs_people": {
            "plane_attempts_blocked": last["flight_purchases_blocked"],
            "plane_people_blocked": last["flight_people_blocked"],
            "train_attempts_blocked": last["train_purchases_blocked"],
            "train_people_blocked": last["train_people_blocked"],
        },
        "published_comparison": comparison(ts),
    }


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_run(data: RunData, out: Path) -> Path:
    """Write the run folder ``out`` in full, or leave whatever was there before untouched."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    ts = timeseries(data)
    _atomic(staging / "scenario.toml", lambda p: p.write_text(data.scenario.to_toml(), "utf-8"))
    for name, table in (("timeseries", ts), ("regions", regions(data)),
                        ("ranking", ranking(data))):
        _atomic(staging / f"{name}.parquet", lambda p, t=table: pq.write_table(t, p))
    _atomic(staging / "summary.json",
            lambda p: p.write_text(json.dumps(summary(data, ts), indent=2), "utf-8"))
    _replace_dir(staging, out)
    return out


def _replace_dir(new: Path, out: Path) -> None:
    """Move a finished folder into place; an older run there is removed only afterwards."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(new, out)
        shutil.rmtree(old)
    else:
        os.replace(new, out)

