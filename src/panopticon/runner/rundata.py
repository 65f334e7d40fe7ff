"""What a run produced, before it is written: the type the loop returns and the writer takes.

It sits apart from the loop so that writing or reading a run folder does not import the day loop
and its stages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..language.scenario import Scenario

if TYPE_CHECKING:
    from ..observers.audit import Tallies


@dataclass
class RunData:
    """Everything a run produced, before it is written out."""

    scenario: Scenario
    seed: int
    dates: list[dt.date]
    counts: np.ndarray  # int64 [day, region, counter], simulated citizens
    counter_names: tuple[str, ...]  # the counters' names, in the order of counts' last axis
    scale: float
    region_codes: list[str]
    region_names: list[str]
    grade_names: list[str]
    cameras: np.ndarray  # cameras in the country, per day
    ranking: tuple[np.ndarray, np.ndarray]  # citizens per score, percentile rank per score
    wall_seconds: float
    bytes_per_citizen: float  # the run's measured peak memory per citizen (Simulation's)
    chunk_size: int
    threads: int
    tallies: Tallies  # citizens per group with each audit measure
    cohort: pa.Table  # the sampled lives' events (cohort.SCHEMA)
    array_bytes_per_citizen: float = 0.0  # of that, the per-citizen arrays kept for the run
    events: int = 0  # the citizens' acts, simulated citizens
    counterfactual: RunData | None = None  # the same scenario and seed with fear off, if run

    def counter(self, *names: str) -> np.ndarray:
        """The named counters' counts, ``[day, region, name]`` (the scenario's catalog decides
        which counters a run has)."""
        return self.counts[..., [self.counter_names.index(n) for n in names]]
