"""The simulated day, stage after stage, over the whole calendar of a scenario.

Phase 1 runs behaviour, sensing, registry, scoring, consequences and (where the scenario has it)
fear on each chunk in turn (the chunk stays in cache), then copies the cohort's part of the day;
phase 2 lets children meet their parents' standing, which phase 1 settled for every parent. The
daily counters, ``[day, region, counter]``, are the run's raw result; the audit's tallies by group
and the cohort's events are taken from the stages' arrays.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np

from ..language.scenario import Scenario
from ..observers.audit import tally
from ..observers.cohort import Cohort
from ..stages import COUNTERS, N_COUNTERS
from ..stages.behaviour import Behaviour
from ..stages.company import Company
from ..stages.consequences import Consequences
from ..stages.fear import Fear
from ..stages.registry import Registry
from ..stages.scoring import Scoring
from ..stages.sensing import Sensing
from ..world import population as population_mod
from ..world.engine import DEFAULT_CHUNK, Engine, Step
from ..world.today import Today
from .rundata import RunData

Progress = Callable[[int, int], None]


class Columns:
    """A stage's step as the engine calls it: with the stage's own columns of the counters."""

    def __init__(self, step: Step, stage: str) -> None:
        self.step, self.span = step, COUNTERS.spans[stage]

    def __call__(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        self.step(lo, hi, acc[:, self.span], today)


class Simulation:
    """A scenario on a synthetic population, ready to run day by day."""

    def __init__(self, scenario: Scenario, seed: int | None = None,
                 chunk_size: int = DEFAULT_CHUNK, threads: int = 1) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.chunk_size = chunk_size
        self.threads = threads
        self.pop = population_mod.build(scenario.population, self.seed)
        self.registry = Registry.build(scenario, self.pop, self.seed)
        self.behaviour = Behaviour.build(scenario, self.pop, self.registry.status, self.seed)
        self.sensing = Sensing.build(scenario, self.pop, self.seed)
        self.scoring = Scoring.build(scenario, self.pop, self.seed)
        self.consequences = Consequences.build(scenario, self.pop, self.behaviour,
                                               self.registry, self.scoring, self.seed)
        self.company = Company.build(scenario, self.pop, self.registry, self.scoring, self.seed)
        self.fear = Fear.build(scenario, self.pop, self.behaviour, self.sensing,
                               self.consequences, self.company, self.seed)
        self.stages = (self.behaviour, self.sensing, self.registry, self.scoring,
                       self.consequences, *((self.fear,) if self.fear is not None else ()))
        self.cohort = Cohort.build(self, scenario.audit.cohort_size, self.seed)
        capture = [self.cohort.capture] if self.cohort.ids.shape[0] else []
        self.phases = [[*(Columns(s.step, s.NAME) for s in self.stages), *capture],
                       [Columns(self.consequences.family_step, self.consequences.NAME)]]

    def bytes_per_citizen(self) -> float:
        arrays = {id(v): v for stage in (self.pop, *self.stages) for v in vars(stage).values()
                  if isinstance(v, np.ndarray) and v.shape[:1] == (self.pop.size,)}.values()
        return sum(a.nbytes for a in arrays) / self.pop.size

    def run(self, progress: Progress | None = None) -> RunData:
        sc = self.scenario
        n_regions = len(self.pop.regions.codes)
        counts = np.zeros((sc.days, n_regions, N_COUNTERS), dtype=np.int64)
        cameras = np.zeros(sc.days)
        dates = [sc.start + dt.timedelta(days=d) for d in range(sc.days)]
        started = time.perf_counter()
        with Engine(self.pop.size, n_regions, N_COUNTERS, self.chunk_size, self.threads) as eng:
            for day, date in enumerate(dates):
                self.company.start_day(day, date)  # on yesterday's standing, before today
                for stage in self.stages:
                    stage.start_day(day, date)
                counts[day] = eng.run_day(self.phases)
                self.company.add_counts(counts[day][:, COUNTERS.spans[self.company.NAME]])
                self.cohort.end_day(day, date)
                cameras[day] = self.sensing.cameras
                if progress is not None:
                    progress(day + 1, sc.days)
        return RunData(
            scenario=sc, seed=self.seed, dates=dates, counts=counts,
            counter_names=COUNTERS.names, scale=self.pop.scale,
            region_codes=self.pop.regions.codes, region_names=self.pop.regions.names,
            grade_names=self.scoring.grade_names, cameras=cameras,
            ranking=self.scoring.ranking(), wall_seconds=time.perf_counter() - started,
            bytes_per_citizen=self.bytes_per_citizen(), chunk_size=self.chunk_size,
            threads=self.threads,
            tallies=tally(self.pop, self.registry.history, self.consequences.history),
            cohort=self.cohort.table(sc.start))
