"""One scenario over several consecutive seeds, run one after another in bounded memory.

Seeds are ``seed, seed + 1, ...``: every draw is a function of (seed, stream, citizen, day), so two
scenarios run over the same seeds still share their random numbers, seed by seed. Only the first
seed's run is kept whole (it fills the usual run folder); every other run is reduced to its
national daily series as soon as it ends, so memory grows with the series, not the population.
"""

from __future__ import annotations

import gc

import pyarrow as pa

from ..language.scenario import Scenario
from ..observers.audit import counterfactual_scenario
from ..readers.results import tag_seed, timeseries
from .rundata import RunData
from .simulation import Progress, Simulation


def run_seeds(scenario: Scenario, k: int, chunk_size: int, threads: int,
              progress: Progress | None = None) -> tuple[RunData, pa.Table | None]:
    """The first seed's run and, for k > 1, every seed's national series (``tag_seed``'d, for
    ``write_run``); ``progress`` counts seed-days over all k seeds."""
    seeds = [scenario.seed + i for i in range(k)]
    first = _run(scenario, seeds[0], chunk_size, threads, _offset(progress, 0, k))
    if k == 1:
        return first, None
    parts = [tag_seed(timeseries(first), seeds[0])]
    series_only = without_cohort(scenario)  # only the first seed's lives are kept
    for i, seed in enumerate(seeds[1:], start=1):
        data = _run(series_only, seed, chunk_size, threads, _offset(progress, i, k))
        parts.append(tag_seed(timeseries(data), seed))
        del data  # this seed's counters go before the next seed's population is built
    return first, pa.concat_tables(parts)


def _run(scenario: Scenario, seed: int, chunk_size: int, threads: int,
         progress: Progress | None) -> RunData:
    """One seed's run; its Simulation (the population and stage arrays) is freed on return:
    its stages refer to each other, so only the cycle collector frees it, which Python seldom
    runs on long-lived objects unless asked."""
    try:
        return Simulation(scenario, seed=seed, chunk_size=chunk_size, threads=threads).run(progress)
    finally:
        gc.collect()


def _offset(progress: Progress | None, index: int, k: int) -> Progress | None:
    """Progress of the ``index``-th of k seeds as progress over all k seeds' days."""
    if progress is None:
        return None
    return lambda done, total: progress(index * total + done, k * total)


def run_counterfactual(data: RunData, progress: Progress | None = None) -> RunData:
    """``data``'s scenario and seed with fear off (no cohort): with common random numbers, what
    citizens would have done without surveillance's feedback on behaviour."""
    sc = without_cohort(counterfactual_scenario(data.scenario))
    return _run(sc, data.seed, data.chunk_size, data.threads, progress)


def without_cohort(scenario: Scenario) -> Scenario:
    """The scenario without sampled lives, for runs whose series alone are kept."""
    return scenario.with_changes(**{"audit.cohort_size": 0})
