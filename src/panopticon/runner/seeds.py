"""One scenario over several consecutive seeds, run one after another in bounded memory.

Seeds are ``seed, seed + 1, ...``: every draw is a function of (seed, stream, citizen, day), so two
scenarios run over the same seeds still share their random numbers, seed by seed. Only the first
seed's run is kept whole (it fills the usual run folder); every other run is reduced to its
national daily series as soon as it ends, so memory grows with the series, not the population.
The first seed may then be run again with fear off (the counterfactual).

:class:`Runs` holds that sequence and where it stands; between two days it pickles whole
(``runner.checkpoint``), so that a killed command continues where its last checkpoint left it.
:func:`run_seeds_on` runs the same seeds as one task each on a backend (a Ray cluster), to the
same results.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from ..language.scenario import Scenario
from ..observers.audit import counterfactual_scenario
from ..readers.results import SeedTables, headline_table, tag_seed, timeseries
from ..world.engine import DEFAULT_CHUNK
from .backends import Backend
from .cost import estimate
from .rundata import RunData
from .simulation import Progress, Simulation

# days done and days in all, over every run of the sequence; the citizens' acts so far (events)
RunsProgress = Callable[[int, int, int], None]


@dataclass(eq=False)
class Runs:
    """Seeds ``scenario.seed`` to ``+ k - 1``, then the first with fear off if ``counterfactual``;
    what the finished runs left and the simulation under way."""

    scenario: Scenario
    k: int = 1
    counterfactual: bool = False
    chunk_size: int = DEFAULT_CHUNK
    threads: int = 1
    first: RunData | None = None
    parts: list[pa.Table] = field(default_factory=list)  # each seed's national series (k > 1)
    figures: list[pa.Table] = field(default_factory=list)  # each seed's headline figures (k > 1)
    sim: Simulation | None = None  # the run under way
    index: int = 0  # of the run under way (or next), counting the counterfactual as the last
    events: int = 0  # the finished runs' acts

    @property
    def total(self) -> int:
        """Days in all, over the runs."""
        return (self.k + self.counterfactual) * self.scenario.days

    def done(self) -> int:
        """Days run so far, over the runs."""
        return self.index * self.scenario.days + (0 if self.sim is None else self.sim.day)

    def run(self, progress: RunsProgress | None = None,
            after_day: Callable[[], None] | None = None) -> tuple[RunData, SeedTables | None]:
        """Run what is left; return the first seed's run (its counterfactual attached) and,
        for k > 1, every seed's national series and headline figures (for ``write_run``)."""
        while self.index < self.k + self.counterfactual:
            if self.sim is None:
                self.sim = Simulation(self.run_scenario(self.index), seed=self.run_seed(self.index),
                                      chunk_size=self.chunk_size, threads=self.threads)
            self.sim.chunk_size, self.sim.threads = self.chunk_size, self.threads
            data = self.sim.run(self._progress(progress), after_day)
            self.keep(data)
        if self.counterfactual:
            self.first.counterfactual = self.parts.pop()
        return self.first, seed_tables(self.parts, self.figures) if self.k > 1 else None

    def run_scenario(self, index: int) -> Scenario:
        """The scenario of run ``index``: only the first seed's lives are kept."""
        if index == self.k:
            return fear_off(self.scenario)
        return self.scenario if index == 0 else without_cohort(self.scenario)

    def run_seed(self, index: int) -> int:
        return self.scenario.seed + (0 if index == self.k else index)

    def series(self, index: int) -> bool:
        """Whether run ``index`` is kept as its national series alone."""
        return 0 < index < self.k

    def keep(self, data: RunData) -> None:
        """What a finished run leaves: the first seed's run whole, another seed's series, the
        counterfactual's run; the simulation is freed (its stages refer to each other, so only
        the cycle collector frees it, which Python seldom runs on long-lived objects)."""
        self.events += self.sim.events
        if self.index == 0:
            self.first = data
        if self.index == self.k:
            self.parts.append(data)
        elif self.k > 1:
            series, figures = seed_parts(data)
            self.parts.append(series)
            self.figures.append(figures)
        self.sim = None
        gc.collect()
        self.index += 1

    def _progress(self, progress: RunsProgress | None) -> Progress | None:
        if progress is None:
            return None
        return lambda done, days: progress(self.index * days + done, self.total,
                                           self.events + self.sim.events)


def seed_parts(data: RunData) -> tuple[pa.Table, pa.Table]:
    """What a multi-seed run keeps of a seed: its national series and its headline figures,
    each tagged with the seed."""
    return tag_seed(timeseries(data), data.seed), tag_seed(headline_table(data), data.seed)


def seed_tables(series: list[pa.Table], figures: list[pa.Table]) -> SeedTables:
    return SeedTables(pa.concat_tables(series), pa.concat_tables(figures))


def run_seeds(scenario: Scenario, k: int, chunk_size: int, threads: int,
              progress: RunsProgress | None = None) -> tuple[RunData, SeedTables | None]:
    """The first seed's run and, for k > 1, every seed's national series and headline
    figures."""
    return Runs(scenario, k, chunk_size=chunk_size, threads=threads).run(progress)


def run_one(job: tuple[Runs, int]) -> RunData | tuple[pa.Table, pa.Table]:
    """Run ``index`` of a sequence on its own, kept as :class:`Runs` keeps it: the first seed's
    and the counterfactual's whole, another seed's as its series and headline figures."""
    runs, index = job
    data = Simulation(runs.run_scenario(index), seed=runs.run_seed(index),
                      chunk_size=runs.chunk_size).run()
    return seed_parts(data) if runs.series(index) else data


def run_seeds_on(backend: Backend, runs: Runs) -> tuple[RunData, SeedTables | None]:
    """What :meth:`Runs.run` returns, each run (seed or counterfactual) a job of ``backend``."""
    jobs = [(runs, i) for i in range(runs.k + runs.counterfactual)]
    first, *rest = backend.map(run_one, jobs, estimate(runs.scenario).memory)
    per_seed = None
    if runs.k > 1:
        parts = [seed_parts(first), *rest[:runs.k - 1]]
        per_seed = seed_tables([p[0] for p in parts], [p[1] for p in parts])
    if runs.counterfactual:
        first.counterfactual = rest[-1]
    return first, per_seed


def run_counterfactual(data: RunData, progress: Progress | None = None) -> RunData:
    """``data``'s scenario and seed with fear off (no cohort): with common random numbers, what
    citizens would have done without surveillance's feedback on behaviour."""
    sim = Simulation(fear_off(data.scenario), seed=data.seed, chunk_size=data.chunk_size,
                     threads=data.threads)
    try:
        return sim.run(progress)
    finally:
        del sim
        gc.collect()


def fear_off(scenario: Scenario) -> Scenario:
    """The counterfactual's scenario: fear off, no cohort."""
    return without_cohort(counterfactual_scenario(scenario))


def without_cohort(scenario: Scenario) -> Scenario:
    """The scenario without sampled lives, for runs whose series alone are kept."""
    return scenario.with_changes(**{"audit.cohort_size": 0})
