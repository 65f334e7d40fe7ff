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

A version's first run compiles its kernels first, which takes longer than the default run itself:
where the cache holds no kernel of this version, the estimate adds the compile, the median of
this machine's last :data:`KEPT` (a first run's seconds beyond its runs' at the machine's pace),
or ``cost.COMPILE_SECONDS`` at its pace before it has one.
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
from .cost import COMPILE_SECONDS, START_SECONDS, cores, runs_seconds

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
    kernels: int | None  # kernels in Numba's cache when estimated (kernel_cache.cached_files)
    compile_seconds: float = 0.0  # of ``seconds``: the kernels compiled first, where none is

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
    ratio = ratio_of(pace)
    runs = runs_seconds(sc, seeds, counterfactual, threads) * left
    kernels = cached_files()
    compiling = 0.0
    if kernels == 0:
        compiling = learned_compile() or COMPILE_SECONDS * ratio
    return Estimate(START_SECONDS + compiling + runs * ratio, runs, used, pace, kernels,
                    compiling)


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


def compile_key() -> str:
    """The key of the compile's seconds: the machine's (every version compiles alike)."""
    return f"{machine()} | compile"


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


def ratio_of(pace: Pace | None) -> float:
    """What a pace scales the constants' seconds by: 1 where the machine has none yet."""
    return pace.ratio if pace else 1.0


def learned_compile() -> float | None:
    """This machine's seconds to compile a version's kernels, None before a first run."""
    seconds = _read(pace_file()).get(compile_key())
    return statistics.median(seconds) if seconds else None


def record(estimate: Estimate, measured: float, chunk_size: int = DEFAULT_CHUNK) -> None:
    """Keep what the ``measured`` seconds of the builds and days that ``estimate`` estimated
    teach, for a run on chunks of ``chunk_size``: their ratio to its ``runs_seconds`` where it
    compiled no kernel since, or where it was the first to compile this version's kernels, the
    seconds beyond its runs' at the machine's pace."""
    if estimate.runs_seconds <= 0 or chunk_size != DEFAULT_CHUNK:
        return
    kernels = cached_files()
    if kernels == estimate.kernels != 0 and measured >= MIN_SECONDS:  # 0: none could be kept
        keep(key(estimate.threads), measured / estimate.runs_seconds)
    elif estimate.kernels == 0 and kernels:
        beyond = measured - estimate.runs_seconds * ratio_of(estimate.pace)
        if beyond > 0:
            keep(compile_key(), beyond)


def keep(k: str, value: float) -> None:
    """Add ``value`` to the last :data:`KEPT` under ``k``; the file is written under another
    name and renamed into place, so that a reader never sees half."""
    path = pace_file()
    ratios = _read(path)
    ratios[k] = [*ratios.get(k, []), value][-KEPT:]
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
