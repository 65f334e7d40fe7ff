"""One simulation at a time, in the background: the page starts it, follows it and may cancel it.

A run is the runner's own (``runner.seeds.Runs``, as ``panopticon run``) and writes an ordinary run
folder (``readers.results.write_run``, staged then renamed: a cancelled or failed run leaves
nothing). A second run while one is going is refused with a message that says which is going.
The server makes a tiny run as it starts (``warm_up``), which loads the compiled kernels.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..language.scenario import Scenario
from .folders import RunsFolder

THREADS = min(2, os.cpu_count() or 1)
WARM_UP = {"population.size": 200, "days": 3}  # a run that only loads the compiled kernels


class Busy(RuntimeError):
    """A run was asked for while another is going; the message names that one."""


class Cancelled(Exception):
    """Raised at the end of a day once the page has asked the run to stop."""


@dataclass(eq=False)
class Job:
    """A run under way or over: its folder name, progress in days, and how it ended."""

    name: str
    scenario: Scenario
    counterfactual: bool
    done: int = 0
    total: int = 1
    state: str = "running"  # running, done, cancelled, failed
    error: str | None = None
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None  # from start to the folder written
    stop: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)  # set once state is final

    @property
    def running(self) -> bool:
        return self.state == "running"

    def progress(self, done: int, total: int, events: int = 0) -> None:
        self.done, self.total = done, total

    def after_day(self) -> None:
        if self.stop.is_set():
            raise Cancelled


Work = Callable[[Job, Path], None]


def simulate(job: Job, folder: Path) -> None:
    """Run ``job``'s scenario (and its fear-off counterfactual if asked) and write its folder."""
    from ..readers.results import write_run
    from ..runner.seeds import Runs

    runs = Runs(job.scenario, 1, job.counterfactual, threads=THREADS)
    data, per_seed = runs.run(job.progress, job.after_day)
    write_run(data, folder, per_seed)


def tiny(scenario: Scenario) -> Scenario:
    """``scenario``'s last days with a few citizens: a run that only loads the kernels."""
    start = max(scenario.start, scenario.end - dt.timedelta(days=WARM_UP["days"] - 1))
    return scenario.with_changes(**{"population.size": WARM_UP["population.size"],
                                    "start": start})


def warm_up(scenario: Scenario) -> threading.Thread:
    """Load the simulation's compiled kernels in the background with a tiny run of ``scenario``
    (nothing written), so that the page's first run does not wait for them (1.6 s of a 6 s first
    run on 2 cores, measured; a fresh install compiles them here instead of in that run)."""
    def run() -> None:
        from ..runner.seeds import Runs

        Runs(tiny(scenario), 1, threads=THREADS).run()

    thread = threading.Thread(target=run, daemon=True, name="panopticon-warm-up")
    thread.start()
    return thread


class Runner:
    """The dashboard's one background run slot, shared by every page of the server."""

    def __init__(self, folders: RunsFolder, work: Work = simulate) -> None:
        self.folders, self.work = folders, work
        self.current: Job | None = None
        self._lock = threading.Lock()

    def start(self, scenario: Scenario, counterfactual: bool = False) -> Job:
        """Start a run of ``scenario`` into a new folder, or raise Busy if one is going."""
        with self._lock:
            if self.current is not None and self.current.running:
                raise Busy(f"a run is going ({self.current.name}, {self.current.done:,} of "
                           f"{self.current.total:,} days): wait for it or cancel it")
            job = Job(self.folders.new_name(scenario.name), scenario, counterfactual,
                      total=scenario.days * (1 + counterfactual))
            self.current = job
        threading.Thread(target=self._run, args=(job,), daemon=True,
                         name=f"panopticon-run-{job.name}").start()
        return job

    def cancel(self) -> None:
        """Ask the run under way to stop at the end of its day."""
        if self.current is not None:
            self.current.stop.set()

    def _run(self, job: Job) -> None:
        try:
            self.work(job, self.folders.path(job.name))
            state = "done"
        except Cancelled:
            state = "cancelled"
        except Exception as e:  # the page shows the one line; the server log keeps the rest
            traceback.print_exc()
            job.error, state = f"{type(e).__name__}: {e}".splitlines()[0], "failed"
        job.seconds = time.perf_counter() - job.started
        job.state = state
        job.ended.set()
