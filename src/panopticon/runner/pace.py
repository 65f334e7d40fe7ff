"""This machine's pace, learned from its own runs, so that the time printed before a run is this
machine's and not that of the machine ``cost.run_seconds``' constants were measured on.

After a run of the command line, the ratio of its seconds (the runs' builds and days) to what
the constants give for them is kept in the user's cache folder (``pace.json`` beside the kernels'
folder, ``kernel_cache.cache_root``), by machine (processor and number of cores), engine (a hash
of the package's sources: another version has another pace) and threads the run used; the last
:data:`KEPT` of each. An estimate takes their median. Runs shorter than :data:`MIN_SECONDS` are not
kept: their days are mostly fixed costs and the clock's noise; nor are runs on chunks of another
size than the engine's (``--chunk-size``), which cost what no pace of the machine says, nor runs
that compiled kernels (the first after the sources change: ``kernel_cache.cached_files``). A
file that cannot be read or written is passed over: an estimate is advice, and never stops a
run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..kernel_cache import cache_root, cached_files, sources_digest
from ..language.scenario import Scenario
from ..world.engine import DEFAULT_CHUNK
from .cost import START_SECONDS, cores, runs_seconds

KEPT = 5  # ratios kept per machine, engine and threads
MIN_SECONDS = 5.0  # a run's seconds below which its ratio is not kept


@dataclass(frozen=True)
class Pace:
    """The median of this machine's ratios of measured to estimated seconds, and how many."""

    ratio: float
    runs: int


@dataclass(frozen=True)
class Estimate:
    """A run's seconds before it starts: at this machine's pace where it is known."""

    seconds: float
    runs_seconds: float  # the builds' and days' part at the constants: what a ratio divides
    threads: int  # those the run uses
    pace: Pace | None
    kernels: int | None  # files in Numba's cache when estimated (kernel_cache.cached_files)

    def source(self) -> str:
        """Whose pace: "this machine's (its last 3 runs)", or the constants'."""
        if self.pace is None:
            return "a reference machine's pace (none yet of this machine's runs)"
        runs = self.pace.runs
        return f"this machine's pace (its last {runs} run{'s' * (runs > 1)})"


def estimate_time(sc: Scenario, seeds: int = 1, counterfactual: bool = False, threads: int = 1,
                  left: float = 1.0) -> Estimate:
    """The seconds of the share ``left`` of the runs of ``sc`` still to run (as
    ``cost.run_seconds``), the builds and days at this machine's pace where it has one."""
    used = cores(sc.population.size, threads)
    pace = learned(used)
    runs = runs_seconds(sc, seeds, counterfactual, threads) * left
    return Estimate(START_SECONDS + runs * (pace.ratio if pace else 1.0), runs, used, pace,
                    cached_files())


def pace_file() -> Path:
    """Where the ratios are kept: the user's cache folder (``XDG_CACHE_HOME``)."""
    return cache_root().parent / "pace.json"


@cache
def machine() -> str:
    """The processor's name and the number of cores: 'AMD EPYC 9B45 x2'."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            name = next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), name)
    except OSError:
        pass
    return f"{name} x{os.cpu_count() or 1}"


@cache
def key(threads: int) -> str:
    """The ratios' key: machine, engine, threads used."""
    return f"{machine()} | {sources_digest()} | {threads}"


def _read(path: Path) -> dict[str, list[float]]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: [float(r) for r in v if isinstance(r, (int, float)) and r > 0]
            for k, v in found.items() if isinstance(v, list)}


def learned(threads: int) -> Pace | None:
    """This machine's pace on ``threads`` threads (those a run uses), None before any run."""
    ratios = _read(pace_file()).get(key(threads))
    return Pace(statistics.median(ratios), len(ratios)) if ratios else None


def record(estimate: Estimate, measured: float, chunk_size: int = DEFAULT_CHUNK) -> None:
    """Keep the ratio of the ``measured`` seconds of the builds and days that ``estimate``
    estimated to its ``runs_seconds``, for a run on chunks of ``chunk_size`` that compiled no
    kernel since; the file is written under another name and renamed into place, so that a
    reader never sees half."""
    if (measured < MIN_SECONDS or estimate.runs_seconds <= 0 or chunk_size != DEFAULT_CHUNK
            or cached_files() != estimate.kernels):
        return
    path = pace_file()
    ratios = _read(path)
    k = key(estimate.threads)
    ratios[k] = [*ratios.get(k, []), measured / estimate.runs_seconds][-KEPT:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pace-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(ratios, f, indent=1)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
