"""The simulated day, stage after stage, over the whole calendar of a scenario.

The loop knows the stages only through their contract (:mod:`panopticon.world.state`): it builds
the population's state, the stages of ``stages.STAGES`` in the order of the day, each with its
view of the state, and the observers; each day every active stage starts the day, then the
phases run over chunks of citizens (phase k: each stage's k-th step, in order; the cohort's
capture ends phase 1), then stages may add to their counters. Phase 1 runs behaviour, sensing,
registry, scoring, lists, consequences and fear (lists and fear where the scenario has them) on
each chunk in turn (the chunk stays in cache); phase 2 lets children meet their parents'
standing, which phase 1 settled for every parent. The daily counters, ``[day, region, counter]``, are the run's raw result; the
audit's tallies by group, the ranking and the cohort's events are read from the state.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np

from ..language.scenario import Scenario
from ..observers.audit import Audit, tally
from ..observers.cohort import Cohort
from ..observers.ranking import Ranking, ranking
from ..stages import STAGES, counters
from ..world import population as population_mod
from ..world.counters import Counters
from ..world.engine import DEFAULT_CHUNK, Engine, Step
from ..world.state import Bound, Stage, State, View
from .rundata import RunData

Progress = Callable[[int, int], None]
NO_COUNTERS = slice(0, 0)


def phases(stages: list[Stage], views: dict[str, View], spans: Counters
           ) -> list[list[Step]]:
    """Phase k: the k-th method of each stage's STEPS, in the order of the stages."""
    return [[Bound(getattr(s, s.STEPS[k]), views[s.NAME], spans.spans[s.NAME])
             for s in stages if len(s.STEPS) > k and s.STEPS[k]]
            for k in range(max((len(s.STEPS) for s in stages), default=0))]


class Simulation:
    """A scenario on a synthetic population, ready to run day by day."""

    def __init__(self, scenario: Scenario, seed: int | None = None,
                 chunk_size: int = DEFAULT_CHUNK, threads: int = 1) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.chunk_size = chunk_size
        self.threads = threads
        self.counters = counters(scenario)
        self.pop = population_mod.build(scenario.population, self.seed)
        self.state = State(self.pop, self.seed)
        self.views = {user.NAME: self.state.view(user) for user in (*STAGES, Cohort, Audit,
                                                                     Ranking)}
        self.state.check()
        first = scenario.on(scenario.start)  # the stages start on the first day's values
        self.stages = {cls.NAME: cls.build(first, self.seed, self.views[cls.NAME])
                       for cls in STAGES}
        self.active = [s for s in self.stages.values() if s.active()]
        self.cohort = Cohort.build(self.views[Cohort.NAME], scenario, self.seed)
        self.phases = phases(self.active, self.views, self.counters)
        if self.cohort.ids.shape[0]:
            self.phases[0].append(Bound(self.cohort.capture, self.views[Cohort.NAME],
                                        NO_COUNTERS))

    def bytes_per_citizen(self) -> float:
        return self.state.bytes_per_citizen()

    def run(self, progress: Progress | None = None) -> RunData:
        sc = self.scenario
        n_regions = len(self.pop.regions.codes)
        n_counters = len(self.counters.names)
        counts = np.zeros((sc.days, n_regions, n_counters), dtype=np.int64)
        cameras = np.zeros(sc.days)
        dates = [sc.start + dt.timedelta(days=d) for d in range(sc.days)]
        started = time.perf_counter()
        with Engine(self.pop.size, n_regions, n_counters, self.chunk_size, self.threads) as eng:
            for day, date in enumerate(dates):
                today = sc.on(date)  # each schedule's value on the day (the same object while
                for stage in self.active:  # none changes)
                    stage.start_day(day, date, today)
                counts[day] = eng.run_day(self.phases)
                for stage in self.active:
                    stage.end_day(counts[day][:, self.counters.spans[stage.NAME]])
                self.cohort.end_day(day, date)
                cameras[day] = self.state.read("cameras")
                if progress is not None:
                    progress(day + 1, sc.days)
        return RunData(
            scenario=sc, seed=self.seed, dates=dates, counts=counts,
            counter_names=self.counters.names, scale=self.pop.scale,
            region_codes=self.pop.regions.codes, region_names=self.pop.regions.names,
            grade_names=self.state.read("grade_names").tolist(), cameras=cameras,
            ranking=ranking(self.views[Ranking.NAME], sc),
            wall_seconds=time.perf_counter() - started,
            bytes_per_citizen=self.bytes_per_citizen(), chunk_size=self.chunk_size,
            threads=self.threads, tallies=tally(self.views[Audit.NAME], sc),
            cohort=self.cohort.table(sc.start))
