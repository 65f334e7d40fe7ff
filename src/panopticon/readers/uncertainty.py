"""How sure a run's headline figures are: their band across seeds (a multi-seed run's
``audit_seeds``) beside their band across the assumptions (a sensitivity study's spread).

A study is found beside a run folder by the names the commands give by default: ``NAME-seed1``
or ``NAME-seeds1-4`` has ``NAME-sensitivity`` as its sibling; ``panopticon report --sensitivity``
names another. Only a finished study (its ``indices.json`` written) is read, and only its
figures that the run also has. A study runs at its own, smaller population: counts are scaled to
real people in both, so the bands compare, and the report says at what size the study ran.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .results import BANDS
from .runfolder import RunFolderError
from .sensitivity import output_name
from .sensitivity_files import WIDE, fmt

INDICES = "indices.json"
RUN_NAME = re.compile(r"^(?P<name>.+)-seeds?\d+(-\d+)?$")


@dataclass(frozen=True)
class StudyBands:
    """What the report needs of a finished sensitivity study."""

    folder: Path
    facts: dict  # the study's scenario, citizens, scale, calendar and seeds per point
    spread: dict[str, dict]  # per output: its range across points (sensitivity.spread_rows)
    drivers: dict[str, str]  # per output: the assumption that moves it most, in words


def beside(run_folder: Path, scenario: str) -> StudyBands | None:
    """The study that the default names put beside ``run_folder``, if there is a finished one
    of the same scenario."""
    match = RUN_NAME.match(run_folder.name)
    if match is None:
        return None
    folder = run_folder.with_name(f"{match['name']}-sensitivity")
    if not (folder / INDICES).is_file():
        return None
    study = load_study(folder)
    return study if study.facts.get("scenario") == scenario else None


def load_study(folder: Path | str) -> StudyBands:
    """A finished study's bands and drivers; ``RunFolderError`` in one line otherwise."""
    folder = Path(folder)
    path = folder / INDICES
    if not path.is_file():
        raise RunFolderError(f"{folder}: not a finished sensitivity study (no {INDICES}; "
                             "`panopticon sensitivity` writes it when the study ends)")
    try:
        data = json.loads(path.read_text("utf-8"))
        spread = {row["output"]: row for row in data["spread"]}
        drivers = {name: _driver(name, data) for name in spread}
        facts = data["study"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise RunFolderError(f"{path}: not a sensitivity study's indices ({e})") from None
    return StudyBands(folder, facts, spread, drivers)


def _driver(name: str, data: dict) -> str:
    """The assumption with the largest total Sobol index whose interval is narrow enough to
    tell, else Morris's first; '' where neither ranks one."""
    sobol = [r for r in data["sobol"] if r["output"] == name and r.get("ST") is not None
             and r.get("ST_conf") is not None and r["ST_conf"] <= WIDE and r["ST"] >= 0.05]
    if sobol:
        top = max(sobol, key=lambda r: r["ST"])
        return f"{top['parameter']}: {max(top['ST'], 0.0):.0%} of its variance (Sobol)"
    morris = [r for r in data["morris"] if r["output"] == name and (r.get("mu_star") or 0) > 0]
    if morris:
        return f"{max(morris, key=lambda r: r['mu_star'])['parameter']} (Morris ranks it first)"
    return ""


def seed_values(figures: pa.Table | None) -> dict[str, list[float]]:
    """Per headline figure (by its study output name), its value at every seed of a multi-seed
    run; figures undefined at some seed are left out."""
    if figures is None:
        return {}
    out: dict[str, list[float]] = {}
    for r in figures.to_pylist():
        name = output_name((r["section"], r["metric"], r["group_by"], r["group"]))
        out.setdefault(name, []).append(math.nan if r["value"] is None else r["value"])
    return {k: v for k, v in out.items() if all(map(math.isfinite, v))}


def band_text(name: str, low: float, high: float) -> str:
    return fmt(name, low) if low == high else f"{fmt(name, low)} to {fmt(name, high)}"


def rows(headline: list[dict], figures: pa.Table | None, study: StudyBands | None
         ) -> list[list[str]]:
    """Per headline figure: its value in the run, its 90% band across the run's seeds, its 90%
    band (and whole range) across the study's points, and what drives it."""
    seeds = seed_values(figures)
    out = []
    for f in headline:
        name = output_name((f["section"], f["metric"], f["group_by"], f["group"]))
        values = seeds.get(name)
        across_seeds = ("-" if values is None else
                        band_text(name, *np.percentile(values, [BANDS["p05"], BANDS["p95"]])))
        spread = None if study is None else study.spread.get(name)
        if spread is None or not spread["points"]:
            across, driver = "-", ""
        else:
            across = (f"{band_text(name, spread['p05'], spread['p95'])} (all points: "
                      f"{band_text(name, spread['min'], spread['max'])})")
            driver = study.drivers[name]
        out.append([name.replace("_", " "), fmt(name, f["value"]), across_seeds, across, driver])
    return out
