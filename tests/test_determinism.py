"""Same seed, same result: on any chunk size and thread count, and with common random numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panopticon.language import scenario
from panopticon.readers.results import write_run
from panopticon.runner.rundata import RunData
from panopticon.runner.simulation import Simulation
from panopticon.world import engine
from panopticon.world.engine import DEFAULT_CHUNK, DayClock

SIZE = 4000
SMALL = {"population.size": SIZE, "end": dt.date(2018, 3, 31)}


def small(**changes) -> scenario.Scenario:
    return scenario.load("china-2018").with_changes(**{**SMALL, **changes})


@pytest.fixture(scope="module")
def reference() -> RunData:
    return Simulation(small(), chunk_size=SIZE, threads=1).run()  # one chunk


# (3999, 1): a last chunk of one citizen; (2000, 2): a chunk per thread; (333, 2): many each
@pytest.mark.parametrize(("chunk_size", "threads"), [(1000, 1), (1000, 2), (3999, 1),
                                                      (2000, 2), (333, 2)])
def test_counts_do_not_depend_on_chunks_or_threads(reference, engines, chunk_size, threads):
    counts = Simulation(small(), chunk_size=chunk_size, threads=threads).run().counts
    engines.assert_ran_on(SIZE, chunk_size, threads)
    np.testing.assert_array_equal(counts, reference.counts)


def test_a_small_run_says_it_ran_on_one_thread(reference, monkeypatch):
    """Too few citizens for a second thread (engine.THREAD_CITIZENS): the run takes one, says
    so in its summary's threads, and gives the same counts."""
    monkeypatch.undo()  # the engine's own THREAD_CITIZENS (conftest sets it to 1)
    data = Simulation(small(), chunk_size=1000, threads=2).run()
    assert data.threads == 1
    np.testing.assert_array_equal(data.counts, reference.counts)


def test_the_default_chunk_on_two_threads_gives_the_one_chunk_result(engines):
    """The default chunk size needs more citizens than it holds to give each thread a chunk."""
    n = DEFAULT_CHUNK + 4464
    sc = small(**{"population.size": n, "start": dt.date(2017, 11, 1),
                  "end": dt.date(2018, 2, 28)})  # the ties term and fear's ties from 2018
    counts = Simulation(sc, threads=2).run().counts
    engines.assert_ran_on(n, DEFAULT_CHUNK, 2)
    np.testing.assert_array_equal(counts, Simulation(sc, chunk_size=n, threads=1).run().counts)


def test_the_reference_run_exercises_the_system(reference):
    for name in ("new_listings", "plane_ticket_blocked", "observed_jaywalking",
                 "cameras_false_records", "content_flags_false", "paid_after_listing",
                 "school_ban_stock"):
        assert reference.counter(name).sum() > 0, name


def test_timeseries_parquet_is_byte_identical(tmp_path, engines):
    files = []
    for chunk_size, threads in ((SIZE, 1), (1000, 2)):
        data = Simulation(small(end=dt.date(2014, 12, 31)), chunk_size=chunk_size,
                          threads=threads).run()
        engines.assert_ran_on(SIZE, chunk_size, threads)
        engines.clear()
        out = write_run(data, tmp_path / f"run-{chunk_size}-{threads}")
        files.append((out / "timeseries.parquet").read_bytes())
        files.append((out / "regions.parquet").read_bytes())
    assert files[0] == files[2] and files[1] == files[3]


def test_the_cohort_told_beside_phase_2_is_the_cohort_told_after_it(reference, monkeypatch):
    """Where phase 2 takes one worker of two, the cohort's day runs on the other, beside it:
    the same events, the same counts."""
    monkeypatch.setattr(engine, "THREAD_CITIZENS", 1000)  # phase 1 on 2 workers, phase 2 on 1
    clock = DayClock()
    data = Simulation(small(), chunk_size=1000, threads=2).run(clock=clock)
    assert data.threads == 2 and f"end cohort {engine.BESIDE} 2" in clock.parts
    np.testing.assert_array_equal(data.counts, reference.counts)
    assert data.cohort.equals(reference.cohort) and data.cohort.num_rows > 0


def test_another_seed_gives_another_run(reference):
    other = Simulation(small(seed=2)).run().counts
    assert not np.array_equal(other, reference.counts)


NO_FEAR = {"fear.enabled": False}  # fear would make acts answer to sanctions and records


@pytest.fixture(scope="module")
def fearless() -> RunData:
    return Simulation(small(**NO_FEAR)).run()


def test_scenarios_share_random_numbers(fearless):
    """Without sanctions the system punishes no one, yet citizens act exactly as before."""
    reference = fearless
    lenient = Simulation(small(sanctions=[], rewards=[], **NO_FEAR)).run()
    acts = [n for n in reference.counter_names if n.startswith("acts_")]
    np.testing.assert_array_equal(lenient.counter(*acts), reference.counter(*acts))
    assert lenient.counter("plane_ticket_blocked").sum() == 0
    assert reference.counter("plane_ticket_blocked").sum() > 0


def test_changing_one_act_rate_leaves_other_acts_alone(fearless):
    reference = fearless
    sc = small(**NO_FEAR)
    acts = {k: v.model_dump() for k, v in sc.acts.items()}
    acts["jaywalking"]["rate"] *= 3
    data = Simulation(sc.with_changes(acts=acts)).run()
    for kind in ("red_light", "late_bill", "online_post", "good_deed", "plane_ticket",
                 "job_application"):
        np.testing.assert_array_equal(data.counter(f"acts_{kind}"),
                                      reference.counter(f"acts_{kind}"))
    assert data.counter("acts_jaywalking").sum() > reference.counter("acts_jaywalking").sum()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(1, 3000), seed=st.integers(0, 2**32), chunk=st.integers(1, 4000),
       days=st.integers(1, 120))
def test_invariants_hold_for_any_population(size, seed, chunk, days):
    sc = small(**{"population.size": size, "seed": seed,
                  "end": dt.date(2017, 10, 1) + dt.timedelta(days=days - 1),
                  "start": dt.date(2017, 10, 1)})
    sim = Simulation(sc, chunk_size=chunk, threads=2)
    data = sim.run()
    counts = data.counts
    assert (counts >= 0).all()
    assert (data.counter("citizens").sum(axis=1) == size).all()
    grades = [f"grade_{g}" for g in range(len(sc.scoring.grades))]
    assert (data.counter(*grades).sum(axis=(1, 2)) == size).all()
    s = sc.scoring
    scoring = sim.stages["scoring"]
    for scores in (scoring.score, scoring.true_score):
        assert s.min <= scores.min() and scores.max() <= s.max
    whole = Simulation(sc, chunk_size=size, threads=1).run().counts
    np.testing.assert_array_equal(counts, whole)
