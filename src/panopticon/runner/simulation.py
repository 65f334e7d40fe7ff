"""The simulated day, stage after stage, over the whole calendar of a scenario.

The loop knows the stages only through their contract (:mod:`panopticon.world.state`): it builds
the population's state, the stages of ``stages.STAGES`` in the order of the day, each with its
view of the state, and the observers; each day every active stage starts the day, then the
phases run over chunks of citizens (phase k: each stage's k-th step, in order; the cohort's
capture ends phase 1), then stages may add to their counters. Phase 1 runs behaviour, sensing,
registry, scoring, lists, consequences and fear (lists and fear where the scenario has them) on
each chunk in turn (the chunk stays in cache); phase 2 lets children meet their parents'
standing, which phase 1 settled for every parent. The daily counters, ``[day, region,
counter]``, are the run's raw result; the audit's tallies by group, the ranking and the
cohort's events are read from the state.
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
from ..stages import STAGES, counters, event_columns
from ..world import population as population_mod
from ..world.counters import Counters
from ..world.engine import (
    DEFAULT_CHUNK,
    Aside,
    DayClock,
    Engine,
    Step,
    kernel_threads,
    useful_threads,
)
from ..world.state import Bound, Stage, State, View
from .cost import PeakMemory, held_bytes
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
        self.peak = PeakMemory()  # before the population is built
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.chunk_size = chunk_size
        self.threads = threads
        self.counters = counters(scenario)
        with kernel_threads(threads):
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
        self.phase_enders = [s for s in self.active if type(s).end_phase is not Stage.end_phase]
        self.stages["behaviour"].tell(self.cohort.ids)  # the members' lawful posts, told
        if self.cohort.ids.shape[0]:
            self.phases[0].append(Bound(self.cohort.capture, self.views[Cohort.NAME],
                                        NO_COUNTERS))
        self.day = 0  # the next day to run
        self.dates = [scenario.start + dt.timedelta(days=d) for d in range(scenario.days)]
        self.counts = np.zeros((scenario.days, len(self.pop.regions.codes),
                                len(self.counters.names)), dtype=np.int64)
        self.cameras = np.zeros(scenario.days)
        self.event_columns = event_columns(self.counters)
        self.events = 0  # the citizens' acts so far: what the progress bar counts as events
        self.wall_seconds = 0.0  # of the days run, over every process that ran some

    def array_bytes_per_citizen(self) -> float:
        """The per-citizen arrays kept for the run (``State.bytes_per_citizen``)."""
        return self.state.bytes_per_citizen()

    def bytes_per_citizen(self) -> float:
        """The run's memory per citizen: its peak above what the process held before it
        started, measured where the system tells it (the population, the stages' arrays, stored
        ties, working copies, counters), and never less than the arrays it holds (a process that
        held more memory before may lend it to the run unseen)."""
        return max(self.peak.growth() or 0, held_bytes(self)) / max(self.pop.size, 1)

    def run(self, progress: Progress | None = None, after_day: Callable[[], None] | None = None,
            clock: DayClock | None = None) -> RunData:
        """Run the days not yet run and return the result. ``after_day`` is called at the end
        of each day, when the simulation can be pickled whole (``runner.checkpoint``): a pickled
        one continues here to the same bytes, whatever the chunk size and threads it resumes
        with. ``clock`` times where the days go."""
        sc = self.scenario
        started = time.perf_counter()
        with Engine(self.pop.size, len(self.pop.regions.codes), len(self.counters.names),
                    self.chunk_size, self.threads, clock) as eng, kernel_threads(self.threads):
            while self.day < sc.days:
                self.run_day(eng, self.day, self.dates[self.day])
                self.day += 1
                self.wall_seconds += time.perf_counter() - started
                if progress is not None:
                    progress(self.day, sc.days)
                if after_day is not None:
                    after_day()
                started = time.perf_counter()
        return self.result()

    def run_day(self, eng: Engine, day: int, date: dt.date) -> None:
        """One day: the stages' starts, the phases over chunks, the stages' ends."""
        today = self.scenario.on(date)  # each schedule's value on the day (the same object
        clock = eng.clock  # while none changes)
        for stage in self.active:
            with clock.part(f"start {stage.NAME}"):
                stage.start_day(day, date, today)
        # The cohort's day beside the last phase where a worker is idle (phase 2 runs on one
        # below some 2 M citizens), on until the stages have ended the day: it reads nothing
        # that phase writes (the history book, the counters) nor anything the stages' ends
        # change (the counters, the history book; books filed where a phase left new rows,
        # which phase 2 and the ends do not).
        cohort = Aside("end cohort", lambda: self.cohort.end_day(day, date))
        self.counts[day] = eng.run_day(self.phases, lambda k: self.end_phase(k, clock), cohort,
                                       lambda counts: self.end_stages(counts, clock))
        self.cameras[day] = self.state.read("cameras")
        self.events += int(self.counts[day][:, self.event_columns].sum())

    def end_stages(self, counts: np.ndarray, clock: DayClock) -> None:
        """The stages' ends of the day, each given its counters of the day's ``counts``."""
        for stage in self.active:
            with clock.part(f"end {stage.NAME}"):
                stage.end_day(counts[:, self.counters.spans[stage.NAME]])

    def end_phase(self, phase: int, clock: DayClock) -> None:
        """The work after a phase of the stages that have some (``Stage.end_phase``); the day
        values gathered anew by the next phase, as the books filed now replace those they held
        (a stage without steps in the next phase held yesterday's case book to the day's end,
        0.2 byte a citizen at the end of the six years)."""
        for stage in self.phase_enders:
            with clock.part(f"end phase {phase + 1} {stage.NAME}"):
                stage.end_phase(phase)
        for stage in self.active:
            stage.values = None

    def result(self) -> RunData:
        """What the days run so far produced; its memory measured after the cohort's table
        and the tallies are made, whose making adds to the run's peak (tens of MB at 1,000
        members over six years)."""
        sc = self.scenario
        tallies, cohort = tally(self.views[Audit.NAME], sc), self.cohort.table(sc.start)
        return RunData(
            scenario=sc, seed=self.seed, dates=self.dates, counts=self.counts,
            counter_names=self.counters.names, scale=self.pop.scale,
            region_codes=self.pop.regions.codes, region_names=self.pop.regions.names,
            grade_names=self.state.read("grade_names").tolist(), cameras=self.cameras,
            ranking=ranking(self.views[Ranking.NAME], sc), wall_seconds=self.wall_seconds,
            bytes_per_citizen=round(self.bytes_per_citizen(), 1),
            array_bytes_per_citizen=self.array_bytes_per_citizen(), events=self.events,
            chunk_size=self.chunk_size,
            threads=useful_threads(self.pop.size, self.threads),  # the threads it ran on
            tallies=tallies, cohort=cohort)
