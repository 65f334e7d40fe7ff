"""The general day loop: phases of chunk steps, run on threads, merged into integer counters.

A model is a list of phases; a phase is a list of steps; a step is a callable
``step(lo, hi, acc, today)`` that advances citizens ``lo..hi-1`` by one day (usually by calling a
Numba kernel that releases the GIL) and adds what happened to ``acc``, an int64 array
``[region, counter]`` owned by the calling worker; ``today`` is the worker's buffers of chunk
capacity (:class:`panopticon.world.today.Today`), through which a step hands the next what it
made. Within a phase, every step runs on one chunk before the next chunk starts, so a chunk's
arrays stay in cache; between phases all citizens wait for each other, so a step may read what
another citizen wrote in an earlier phase. A phase whose steps all take runs of whole chunks
(``spans``) gives each worker one run instead, a call per worker rather than per chunk; a phase
of one step that cuts a run into pieces lets the workers share the pieces of all the citizens.

Counters are integers and are summed across workers after each phase, so totals never depend on
chunk size, thread count or scheduling.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from threading import Lock
from typing import NamedTuple

import numba
import numpy as np

from . import pieces
from .fused import Fused, fuse, take_spans
from .today import Today

Step = Callable[[int, int, np.ndarray, Today], None]
DEFAULT_CHUNK = 131_072
# The fewest citizens worth a thread: a thread costs some 0.5 ms a day here (two hand-offs at
# about 90 us each, and the interpreter's lock passed at every step), and saves about 10 ns a
# citizen-day. china-2018 over 2018 on 2 threads against 1 (docs/performance.md): 1.45 times
# slower at 20,000 citizens, as fast at 70,000, 1.5 times faster at 141,000.
THREAD_CITIZENS = 65_536


def useful_threads(n: int, threads: int) -> int:
    """The workers that pay for ``n`` citizens: one per THREAD_CITIZENS, at most ``threads``,
    at least one. Results never depend on it; only the time does."""
    return max(1, min(threads, n // THREAD_CITIZENS))


def chunk_bounds(n: int, chunk_size: int, threads: int = 1) -> list[tuple[int, int]]:
    """Half-open citizen ranges of at most ``chunk_size``, in order, as many as a multiple of
    ``threads`` (where there are citizens enough) and of sizes that differ by one at most: where
    the chunks cost alike, each worker takes as many citizens as any other. Cut at the size
    asked (the last short), 1,410,000 citizens on 16 threads were 22 chunks, two for six of
    the workers and one for the other ten."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    count = min(n, -(-n // (chunk_size * threads)) * threads)
    return [(k * n // count, (k + 1) * n // count) for k in range(count)]


def spans_of(chunks: Sequence[tuple[int, int]], threads: int) -> list[tuple[int, int]]:
    """``chunks`` joined into ``threads`` runs of consecutive chunks (fewer where there are
    fewer chunks), whose numbers of chunks differ by one at most: a worker's share of a phase
    whose steps all take such runs (``state.kernel_step``'s ``spans``)."""
    count = min(threads, len(chunks))
    cuts = [k * len(chunks) // count for k in range(count + 1)] if count else []
    return [(chunks[a][0], chunks[b - 1][1]) for a, b in zip(cuts, cuts[1:])]


class DayClock:
    """Where a run's days go, summed over the days it ran: each phase's wall time, each
    worker's wall and CPU time over its chunks in each phase, and the work between phases on
    the calling thread by part (``part``: a stage's start or end of the day). A worker's wall
    less its CPU is time it waited (for the interpreter's lock, or to be run); a phase's wall
    less its busiest worker's is the hand-offs. ``benchmarks/day_split.py`` reads it."""

    def __init__(self) -> None:
        self._lock = Lock()
        self.reset()

    def reset(self) -> None:
        """Forget what was timed (the days of a warm-up)."""
        self.phases: dict[int, float] = defaultdict(float)
        self.busy: dict[tuple[int, int], float] = defaultdict(float)
        self.cpu: dict[tuple[int, int], float] = defaultdict(float)
        self.parts: dict[str, float] = defaultdict(float)

    @staticmethod
    def now() -> tuple[float, float] | None:
        return time.perf_counter(), time.thread_time()

    def worked(self, phase: int, worker: int, began: tuple[float, float]) -> None:
        wall, cpu = time.perf_counter() - began[0], time.thread_time() - began[1]
        with self._lock:
            self.busy[phase, worker] += wall
            self.cpu[phase, worker] += cpu

    def phase_ran(self, phase: int, began: tuple[float, float]) -> None:
        self.phases[phase] += time.perf_counter() - began[0]

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:  # the work beside a phase is timed on another thread
                self.parts[name] += time.perf_counter() - began


class NoClock(DayClock):
    """The clock of a run that is not timed: records nothing."""

    def __init__(self) -> None:
        pass

    @staticmethod
    def now() -> None:
        return None

    def worked(self, phase: int, worker: int, began: object) -> None:
        pass

    def phase_ran(self, phase: int, began: object) -> None:
        pass

    def part(self, name: str) -> AbstractContextManager[None]:
        return nullcontext()


NO_CLOCK = NoClock()


BESIDE = "beside phase"  # a part of the day timed within a phase (Engine.run_phase)
WAITED = "waited for"  # the day's end waiting for the work beside its last phase to end


class Aside(NamedTuple):
    """Work beside a phase (:meth:`Engine.run_phase`), by the name the clock gives its time."""

    name: str
    work: Callable[[], None]


class Engine:
    """Runs phases of steps over chunks of ``n`` citizens with at most ``threads`` workers
    (:func:`useful_threads`)."""

    def __init__(
        self,
        n: int,
        n_regions: int,
        n_counters: int,
        chunk_size: int = DEFAULT_CHUNK,
        threads: int = 1,
        clock: DayClock | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.n = n
        self.threads = useful_threads(n, threads)  # never more than chunk_bounds' chunks
        self.chunks = chunk_bounds(n, chunk_size, self.threads)
        self.spans = spans_of(self.chunks, self.threads)
        self._spans = {self.threads: self.spans}  # by number of workers
        # two regions' rows at least: a stage's columns of one region's row would be a
        # contiguous array, of more rows not, and Numba compiles every kernel for each layout
        self.regions = n_regions
        self._acc = np.zeros((self.threads, max(n_regions, 2), n_counters), dtype=np.int64)
        capacity = max((hi - lo for lo, hi in self.chunks), default=0)
        self._today = [Today.of(capacity) for _ in range(self.threads)]
        self._pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None
        # per phase: its steps fused, and whether they all take runs of chunks
        self._fused: dict[tuple[Step, ...], tuple[list[Step], bool]] = {}
        self.clock = clock or NO_CLOCK

    def run_phase(self, steps: Sequence[Step], phase: int = 0, beside: Aside | None = None
                  ) -> Future | None:
        """Run every step on every chunk; each worker (worker 0 being the calling thread)
        takes the next chunk that none has taken, so that one slowed by costlier chunks takes
        fewer. Consecutive kernel steps run as one call (:func:`fuse`). Where every step takes
        runs of chunks (``spans``), each worker takes a run (:func:`spans_of`) instead: one
        call a worker, not one a chunk, each taking and giving back the interpreter's lock;
        where the phase is one step that cuts a run into pieces, the workers share the pieces
        (:meth:`_share`). A light phase takes fewer workers (:meth:`workers_for`); ``beside``,
        work that the phase's steps neither read nor write, runs on a worker that the phase
        leaves idle (timed as its name and "beside phase k"), and is returned still running
        for the caller to wait on, else after the phase."""
        key = tuple(steps)
        if key not in self._fused:
            fused = fuse(key)
            self._fused[key] = fused, take_spans(fused)
        workers = self.workers_for(key)
        aside = None
        if beside is not None and workers < self.threads:
            aside = self._pool.submit(self._part, f"{beside.name} {BESIDE} {phase + 1}",
                                      beside.work)
        try:
            self._run_fused(*self._fused[key], phase, workers)
        except BaseException:
            if aside is not None:
                aside.result()
            raise
        if beside is not None and aside is None:
            self._part(beside.name, beside.work)
        return aside

    def _part(self, name: str, work: Callable[[], None]) -> None:
        """``work()``, timed by the clock as the part ``name`` of the day."""
        with self.clock.part(name):
            work()

    def _run_fused(self, steps: list[Step], spans: bool, phase: int, workers: int) -> None:
        """:meth:`run_phase` of its steps fused, on ``workers``."""
        if len(steps) == 1 and getattr(steps[0], "cut", False):
            self._share(steps[0], phase, workers)
            return
        if spans and workers not in self._spans:
            self._spans[workers] = spans_of(self.chunks, workers)
        chunks = iter(self._spans[workers] if spans else self.chunks)  # shared: next() locks

        def work(acc: np.ndarray, today: Today) -> None:
            for lo, hi in chunks:
                for step in steps:
                    step(lo, hi, acc, today)

        self._on_workers(work, phase, workers)

    def _share(self, step: Fused, phase: int, workers: int) -> None:
        """A phase of one step that cuts its arguments into pieces: every worker takes pieces
        of all the citizens until none is left (``Fused.claim``), a chunk's at first, then
        smaller ones, so that the workers end together. Runs of chunks fixed in advance, one a
        worker, left the calling thread waiting some 0.5-1.2 ms a day on 2 threads at 1.41 M
        for the other, which starts later and whose citizens may cost more, by a day's
        chance as well (docs/performance.md)."""
        claims = np.array([0, workers], np.int64)
        self._on_workers(lambda acc, today: step.claim(claims, 0, self.n, acc, today), phase,
                         workers)

    def _on_workers(self, work: Callable[[np.ndarray, Today], None], phase: int,
                    workers: int) -> None:
        """``work(acc, today)`` on each of ``workers`` with its counters and buffers, worker 0
        on the calling thread, each timed by the clock."""
        clock = self.clock

        def timed(w: int) -> None:
            began = clock.now()
            work(self._acc[w], self._today[w])
            clock.worked(phase, w, began)

        began = clock.now()
        others = [self._pool.submit(timed, w) for w in range(1, workers)]  # none on 1
        try:
            timed(0)  # on the calling thread, which would otherwise wait: a hand-off fewer
        finally:
            for f in others:
                f.result()
        clock.phase_ran(phase, began)

    def workers_for(self, steps: Sequence[Step]) -> int:
        """The workers that pay for a phase of ``steps``: :func:`useful_threads` of the
        citizens weighed by the costliest step's ``cost`` (its work a citizen as a share of
        phase 1's; 1 where a step has none). china-2018's phase 2 at 1,410,000 citizens took
        0.31 ms a day on one thread and 0.45 on two, the second worker's hand-off more than
        its half of the work (docs/performance.md)."""
        cost = max((getattr(step, "cost", 1.0) for step in steps), default=1.0)
        return min(self.threads, useful_threads(int(self.n * cost), self.threads))

    def run_day(self, phases: Sequence[Sequence[Step]],
                between: Callable[[int], None] | None = None,
                beside_last: Aside | None = None,
                ends: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
        """One simulated day: all phases in order, each followed by ``between(k)`` where given,
        the last with ``beside_last`` beside it (:meth:`run_phase`); then ``ends(counts)``
        where given, which may change the day's ``[region, counter]`` sums, returned. Work
        beside the last phase runs on until the day's end, beside the last ``between`` and
        ``ends`` as well, which must neither read nor write what it does; the day's end then
        waits for it (timed as WAITED and its name)."""
        self._acc[:] = 0
        aside = None
        try:
            for k, steps in enumerate(phases):
                aside = self.run_phase(steps, k, beside_last if k == len(phases) - 1 else None)
                if between is not None:
                    between(k)
            counts = self._acc[:, :self.regions].sum(axis=0)
            if ends is not None:
                ends(counts)
        finally:
            if aside is not None:
                with self.clock.part(f"{WAITED} {beside_last.name}"):
                    aside.result()
        return counts

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def kernel_threads(threads: int) -> Iterator[None]:
    """Numba's parallel kernels (the ties' build, their shares between two days) on at most
    ``threads`` threads of the calling thread, as the run's workers are, while in the block."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def run_starts(values: np.ndarray) -> np.ndarray:
    """The indices where ``values`` differ from the one before: where each run after the
    first starts."""
    return np.flatnonzero(np.diff(values)) + 1


class RegionRuns:
    """Bounds of the runs of citizens of one region within each chunk, counted from its start.

    Kernels sum counters over a run in locals and add them to ``acc`` once per run; the
    population comes region by region, so a chunk holds a run or two. Chunks recur every day,
    so each one's runs are found once.
    """

    def __init__(self, first: np.ndarray) -> None:
        """``first``: each region's first citizen, and n (``Population.starts``)."""
        self.first = np.asarray(first, np.int64)
        self.known: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, lo: int, hi: int) -> np.ndarray:
        runs = self.known.get((lo, hi))
        if runs is None:
            runs = self.known[lo, hi] = pieces.runs(self.first, lo, hi)
        return runs


