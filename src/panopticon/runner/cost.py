"""What a run will cost, from its scenario alone, before anything is allocated.

:func:`estimate` adds up the memory of a run's parts from what the stages allocate: the
per-citizen arrays (and the working copies made at their peaks), the tallies of ties that the
bad-company term and fear read, arrays sized by the score range, the daily counters and the tables
written from them, the cohort's events, the per-seed tables of ``--seeds`` and the fear-off twin of
``--counterfactual``. The constants that code alone does not give (the interpreter and libraries,
working copies, tables written) were measured as peak RSS; docs/memory.md has the measurements.
:func:`check` compares an estimate with the memory available (or a limit the user gives), so
that a run that cannot fit is refused with one line before it starts. :func:`disk_bytes` is the
run folder's size on disk, which ``outfolder.check_folder`` compares with the free space. Callers
other than the command line (a dashboard, a task of a study) can call them all.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

try:
    from numpy.lib.array_utils import byte_bounds
except ImportError:  # numpy < 2
    from numpy import byte_bounds

from ..language.scenario import Scenario, province_codes
from ..stages import counters
from ..world.engine import useful_threads
from ..world.layout import gap_dtype, term_dtype
from ..world.tie_tally import COUNTED

GiB = 1 << 30
# Measured: the interpreter with NumPy, Numba, pyarrow and the compiled kernels (350 MiB for a
# run of 1,000 citizens over 5 days), and the report's libraries (about 50 MiB).
BASE_BYTES = 400 << 20
# Per citizen, kept for the whole run (see each stage's build): population age with the
# disposition's level, flags with the income decile, and the adoption rank's level (uint8 each),
# its region found from each region's first citizen; the published score (int16) and the true
# score's gap to it with the wrong causes (layout.gap_dtype: two bytes where scores span at most
# 4095 points, as every preset's, or four); consequences' who is under a sanction today, who
# ever was, and wrongly (a bit each); perceived risk (uint8); behaviour's screen class (uint8);
# and the ties term (layout.term_dtype: a byte where the weight fits one, as china-2018's, or
# two).
# The registry's case book, with the statuses (18 bytes a citizen with a status or a past listing,
# about 2% of them over 2014-2019), consequences' history book (6 bytes a row, 6% of citizens
# by the end) and family book of the day (5 bytes a row, the citizens whose relatives meet a
# measure for them) are left to the working bytes; each is held once, also while filed (a
# filing merges into the book's own arrays, word_book.file_words).
POPULATION_BYTES = 3
CITIZEN_BYTES = POPULATION_BYTES + 2 + 3 / 8 + 1 + 1
CAP_BYTES = 2  # points earned under each cap (int16)
# Measured: what a run holds per citizen beyond its arrays at the peak (the books, the allocator's
# slack). china-2018, 2014-2019 on 2 threads, peak RSS less that of 141,000 citizens (481 MiB,
# the fixed part), against the 15.625 bytes held then (the ties' 5.25 with the stages' 10.375;
# the counts of flagged ties in half bytes since, 14.125): at
# 141 M citizens 18.6 bytes a citizen (e6770f4, 2.91 GiB; the family book's rows in eight bytes
# then), at 14.1 M 17.2 (2ca7333). 3 keeps the estimate 5 to 28% above the peaks measured
# since (docs/memory.md); 8 before put it a third above.
WORKING_BYTES = 3
# Ties (world/tie_tally.py): none is stored. Per citizen, each reach tallied keeps its number of
# ties (a byte, shared by the stages), each tally a count of flagged ties per reach (half a
# byte) and the flags it last read (a bit); the household reach is counted at each reading
# instead (tie_tally.COUNTED). The books of citizens with 255 ties or more of a reach (0.1% in
# china-2018's friends) and of counts past 15 (one citizen in a million of fear's in
# china-2018, none of the bad-company term's) are left to the working bytes.
SIZE_BYTES, TALLY_BYTES, FLAG_BYTES = 1, 1 / 2, 1 / 8
# Per citizen while the ties' numbers are counted (int64, uint16), beside the population and
# the numbers kept. The build peaks below the days, whose arrays beyond the population, working
# bytes and counts of flagged ties are more (tests/test_cost.py checks it for every preset;
# measured at 141 M citizens, e6770f4: the build 1.3 GiB, the days 2.9), so the estimate is
# the days'.
TIE_BUILD_BYTES = 10
# Per score from min to max: the grade table (uint8) and the ranking's counts, ranks and
# percentiles (int64 and float64) and the table written from them.
SCORE_BYTES = 64
# Measured: the counters (int64) and, at the end, what writing the run folder adds, 0.3 copies
# of them (regions.parquet a block of days at a time, with the Parquet writer's buffers: 19 MiB
# for the default run's 65 MiB of counters; 76 when the table was made whole), then the
# report's read of a few of its columns. 2 keeps the estimate on the high side.
COUNTER_COPIES = 2
SERIES_EXTRA = 32  # a national series' columns (timeseries.parquet) beyond the counters
SERIES_COPIES = 3  # per-seed series, their concatenation and the bands
# Measured: a cohort member's events per day, in the rows kept until the run ends (29 bytes for a
# cohort of 1,000, 38 for 20,000).
COHORT_BYTES_PER_DAY = 40
# Measured: of a seed's run freed before the next seed's, the share the allocator keeps.
SEED_SLACK = 0.15
# Time (docs/performance.md, "The estimate before a run"), measured again on 2026-12-05 on the
# engine of a243dcb with china-2018 (`panopticon run --no-report`): the command's start with the
# kernels compiled; the population's and tallies' build and the files written, per citizen;
# each day's fixed cost (Python, the cohort's story); the citizen-days per second of one thread
# at 1.41 M. The 2-core machines of these sessions differ: an AMD EPYC (2026-12-05) ran the
# default run's simulation in 18.7 s on 2 threads, an Intel Xeon (2026-12-04) in 25.3 s; the
# constants are the slower's (the Xeon's days, the EPYC's start and build times 1.35 as long),
# so that the estimate errs long, not short. Speed-ups: 1.8 on 2 threads here (1.77 and
# 1.82 on the two machines); on a lent 16-core Xeon (docs/performance.md, "Threads: measured on
# 16 cores"), the year 2018 at 1.41 M: 2.7 on 4, 3.5 on 8 and 4.0 on 16, where a day's
# hand-offs between threads weigh most. Larger runs gain more (10.2 on 16 at 14.1 M): the
# estimate errs long there.
START_SECONDS = 2.5
# Measured (docs/performance.md, "The estimate before a run"): the default run's kernels compiled
# from an empty cache, the command's seconds beyond the same run's with them cached (100.7 and
# 20.0 s on the AMD EPYC, Zen 5, of 2026-12-07; 165.9 and 20.3 before fewer versions compiled).
COMPILE_SECONDS = 80.0
BUILD_SECONDS_PER_CITIZEN = 1.5e-6
DAY_SECONDS = 0.7e-3
CITIZEN_DAYS_PER_SECOND = 72e6
THREAD_SPEEDUP = {1: 1.0, 2: 1.8, 4: 2.7, 8: 3.5, 16: 4.0}


# Disk: a run folder's size, measured on the default run (china-2018, 1.41 M citizens, 2,191
# days: 15.9 MB with its report): Parquet took 1.0 byte per regional cell and 2.5 per national
# one, the cohort 0.27 rows per member and day at 2 bytes a row. Estimates use 3 bytes a cell
# and 0.4 rows at 3 bytes, about twice the default run (README, "Running").
CELL_BYTES = 3
COHORT_ROW_BYTES, COHORT_ROWS_PER_DAY = 3, 0.4
EXTRA_COLUMNS = 12  # timeseries' columns beyond the counters (cumulative figures, cameras)
FIXED_BYTES = 200_000  # scenario.toml, summary.json, audit and ranking tables
REPORT_BYTES = 6_000_000  # the charting library and the page around it


@dataclass(frozen=True)
class Cost:
    """A run's memory in bytes by part; ``memory`` is their sum (:func:`run_seconds` is the
    time)."""

    base: int  # the interpreter, libraries and compiled kernels
    citizens: int  # per-citizen arrays of the stages and their working copies
    ties: int  # stored ties of the reaches the bad-company term and fear read
    scores: int  # arrays sized by the score range
    counters: int  # the daily counters [day, region, counter] and the tables written from them
    cohort: int  # the sampled lives' events
    seeds: int  # --seeds K > 1: every seed's series and their bands, the allocator's slack
    counterfactual: int  # --counterfactual: the fear-off twin's counters and series

    @property
    def memory(self) -> int:
        return sum(asdict(self).values())

    def parts(self) -> dict[str, int]:
        """The parts above zero, largest first."""
        return dict(sorted(((k, v) for k, v in asdict(self).items() if v), key=lambda kv: -kv[1]))

    def describe(self) -> str:
        """'about 12.3 GiB of memory (citizens 8.1 GiB, ties 3.0 GiB, ...)': the total and its
        largest parts."""
        parts = ", ".join(f"{k} {size(v)}" for k, v in list(self.parts().items())[:4])
        return f"about {size(self.memory)} of memory ({parts})"


def citizen_bytes(sc: Scenario) -> float:
    """The stages' arrays kept per citizen for the whole run of ``sc``."""
    return (CITIZEN_BYTES + np.dtype(gap_dtype(sc)).itemsize + np.dtype(term_dtype(sc)).itemsize
            + CAP_BYTES * len(sc.scoring.caps))


def estimate(scenario: Scenario, seeds: int = 1, counterfactual: bool = False,
             parallel: int = 1) -> Cost:
    """The memory of running ``scenario`` over ``seeds`` seeds (one after another), with its
    fear-off twin if ``counterfactual``, ``parallel`` runs at once (calibration's trials): every
    part but the base is per run."""
    sc, n = scenario, scenario.population.size
    regions = region_count(sc)
    per_citizen = citizen_bytes(sc) + WORKING_BYTES
    n_counters = len(counters(sc).names)
    counts = sc.days * regions * n_counters * 8
    series = sc.days * (n_counters + SERIES_EXTRA) * 8
    twin = counterfactual and sc.fear is not None and sc.fear.enabled
    citizens, ties = round(n * per_citizen), tie_bytes(sc)
    return Cost(
        base=BASE_BYTES,
        citizens=citizens * parallel,
        ties=ties * parallel,
        scores=(sc.scoring.max - sc.scoring.min + 1) * SCORE_BYTES * parallel,
        counters=counts * COUNTER_COPIES * parallel,
        cohort=min(sc.audit.cohort_size, n) * sc.days * COHORT_BYTES_PER_DAY * parallel,
        seeds=round(seeds * series * SERIES_COPIES + SEED_SLACK * (citizens + ties)) * parallel
        if seeds > 1 else 0,
        counterfactual=(counts + series) * parallel if twin else 0,
    )


def run_seconds(scenario: Scenario, seeds: int = 1, counterfactual: bool = False,
                threads: int = 1) -> float:
    """The wall seconds of running ``scenario`` over ``seeds`` seeds (and its fear-off twin),
    on ``threads`` threads of a machine like the one measured (docs/performance.md): the
    command's start, then :func:`runs_seconds`."""
    return START_SECONDS + runs_seconds(scenario, seeds, counterfactual, threads)


def runs_seconds(scenario: Scenario, seeds: int = 1, counterfactual: bool = False,
                 threads: int = 1) -> float:
    """The runs' part of :func:`run_seconds`, on as many threads as the engine uses for the
    citizens: each run's build, then per day a fixed cost and the citizens at the measured
    rate (``runner.pace`` scales it to this machine's)."""
    n, runs = scenario.population.size, seeds + counterfactual
    speedup = THREAD_SPEEDUP[min(THREAD_SPEEDUP, key=lambda t: abs(t - cores(n, threads)))]
    rate = CITIZEN_DAYS_PER_SECOND * speedup
    return runs * (n * BUILD_SECONDS_PER_CITIZEN + scenario.days * (DAY_SECONDS + n / rate))


def cores(n: int, threads: int) -> int:
    """The threads a run of ``n`` citizens asked for ``threads`` uses on this machine."""
    return min(useful_threads(n, threads), os.cpu_count() or 1)


def duration(seconds: float) -> str:
    """'about 1 h 35 min', 'about 4 min', 'about 20 s': an estimate's precision."""
    if seconds >= 3600:
        return f"about {int(seconds // 3600)} h {round(seconds % 3600 / 60)} min"
    if seconds >= 90:
        return f"about {round(seconds / 60)} min"
    return f"about {max(1, round(seconds))} s"


def region_count(sc: Scenario) -> int:
    """The provinces a scenario's citizens live in: its own, or all of the census's."""
    return len(sc.population.regions) or len(province_codes())


def disk_bytes(sc: Scenario, seeds: int = 1, counterfactual: bool = False,
               report: bool = True) -> int:
    """An estimate, on the high side, of the bytes a run folder of ``sc`` takes: the national
    and regional series grow with days x regions x counters, the cohort with members x days."""
    regions = region_count(sc)
    n_counters = len(counters(sc).names)
    national = sc.days * (n_counters + EXTRA_COLUMNS) * CELL_BYTES
    series = national * (1 + counterfactual) * (1 + (seeds > 1) * (seeds + 3))
    cohort = (min(sc.audit.cohort_size, sc.population.size) * sc.days
              * COHORT_ROWS_PER_DAY * COHORT_ROW_BYTES)
    total = (series + sc.days * regions * n_counters * CELL_BYTES + cohort + FIXED_BYTES)
    return int(total + report * (REPORT_BYTES + series))


def tallies(sc: Scenario) -> list[list[str]]:
    """The reaches of each tally of flagged ties: the bad-company term's and fear's (company.py,
    fear.py)."""
    company = sc.scoring.bad_company
    found = [company.reach] if company is not None and company.enabled else []
    return found + ([sc.fear.reach] if sc.fear is not None and sc.fear.enabled else [])


def tie_bytes(sc: Scenario) -> int:
    found = tallies(sc)
    if not found:
        return 0
    tallied = [[r for r in reaches if r not in COUNTED] for reaches in found]
    per_citizen = (SIZE_BYTES * len(set().union(*tallied))
                   + sum(TALLY_BYTES * len(r) + FLAG_BYTES for r in tallied))
    return round(sc.population.size * per_citizen)


@dataclass(frozen=True)
class Available:
    """Memory this process may use, and where the figure comes from."""

    bytes: int
    source: str


def available_memory() -> Available | None:
    """MemAvailable (Linux), or the memory left under this process's cgroup limit where that is
    lower; physical memory elsewhere; None where nothing can be read."""
    found = [a for a in (_meminfo(), _cgroup()) if a is not None]
    if found:
        return min(found, key=lambda a: a.bytes)
    try:
        return Available(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"),
                         "physical memory")
    except (ValueError, OSError, AttributeError):
        return None


def _meminfo() -> Available | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    found = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.MULTILINE)
    return Available(int(found.group(1)) << 10, "MemAvailable") if found else None


def _cgroup() -> Available | None:
    """Left under the cgroup's memory limit (v2, or v1), or None where there is no limit."""
    try:
        path = Path("/proc/self/cgroup").read_text().splitlines()[0].split(":", 2)[2]
    except (OSError, IndexError):
        return None
    for limit_file, usage_file in (("memory.max", "memory.current"),
                                   ("memory.limit_in_bytes", "memory.usage_in_bytes")):
        for root in (Path("/sys/fs/cgroup") / path.lstrip("/"), Path("/sys/fs/cgroup"),
                     Path("/sys/fs/cgroup/memory")):
            try:
                limit = (root / limit_file).read_text().strip()
                usage = int((root / usage_file).read_text())
            except (OSError, ValueError):
                continue
            if limit.isdigit() and int(limit) < 1 << 60:
                return Available(max(int(limit) - usage, 0), "left under the cgroup's limit")
            return None
    return None


class CostError(ValueError):
    """A run that cannot fit; the message names the estimate, the memory and what to change."""


def check(scenario: Scenario, cost: Cost,
          limit: int | None | Literal["available"] = "available") -> None:
    """Raise CostError if ``cost`` is above ``limit``: bytes, None for no check, or
    "available" for :func:`available_memory`."""
    if limit is None:
        return
    if limit == "available":
        free = available_memory()
        if free is None:
            return
        allowed, what = free.bytes, f"{size(free.bytes)} is available ({free.source})"
    else:
        allowed, what = int(limit), f"--memory-limit is {size(int(limit))}"
    if cost.memory > allowed:
        raise CostError(f"{scenario.name}: the run needs {cost.describe()} and {what};"
                        " run fewer citizens (--population) or a shorter period, or give"
                        " --memory-limit SIZE (or none) to run anyway")


UNITS = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1000, "m": 1 << 20, "mib": 1 << 20,
         "mb": 1000**2, "g": 1 << 30, "gib": 1 << 30, "gb": 1000**3, "t": 1 << 40,
         "tib": 1 << 40, "tb": 1000**4}


def parse_size(text: str) -> int | None:
    """Bytes of a size such as 20GiB, 512MB, 1.5G (binary), or None for 'none' (no limit);
    ValueError for anything else."""
    if text.strip().lower() == "none":
        return None
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = found.group(2).lower() if found else ""
    if not found or unit not in UNITS or not math.isfinite(float(found.group(1))):
        raise ValueError(f"{text!r} is not a size; write it as 20GiB, 512MB or 1.5G, or none for"
                         " no limit")
    return round(float(found.group(1)) * UNITS[unit])


def size(n: float) -> str:
    """Bytes in binary units, three significant digits: 1.41 GiB."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{n:.0f} B"


class PeakMemory:
    """What a run adds to this process's peak resident memory, measured (Linux): its arrays,
    tallies of ties and working copies at their peak, above what the process held when it
    started.

    The kernel's peak is reset at the start (``/proc/self/clear_refs``), so that a run made
    after another (a second seed) measures its own peak; ``/usr/bin/time`` then reports the
    largest peak after the last reset, which is a run's, as before. None where the peak cannot
    be reset or read (it might be an earlier one).
    """

    def __init__(self) -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.start = _status_bytes("VmRSS")
        except OSError:
            self.start = None

    def growth(self) -> int | None:
        peak = _status_bytes("VmHWM")
        return None if peak is None or self.start is None else max(0, peak - self.start)


def held_bytes(root: object) -> int:
    """The bytes of the NumPy arrays reachable from ``root`` through containers and panopticon's
    own objects, each memory counted once: of an array that only views reach, the span they
    cover (a book's arrays have room beyond its rows, never written: ``word_book.grown``)."""
    seen: set[int] = set()
    spans: dict[int, tuple[int, int]] = {}
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            base = obj
            while isinstance(base.base, np.ndarray):
                base = base.base
            low, high = byte_bounds(obj) if obj.size else (obj.ctypes.data,) * 2
            was = spans.get(id(base), (low, high))
            spans[id(base)] = (min(was[0], low), max(was[1], high))
        elif isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
        elif type(obj).__module__.startswith("panopticon") and hasattr(obj, "__dict__"):
            todo.extend(vars(obj).values())
    return sum(high - low for low, high in spans.values())


def _status_bytes(field: str) -> int | None:
    """A memory figure of /proc/self/status (kB there), in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
