"""The memory estimate: its parts follow the scenario, its arrays match the stages', and a run
that cannot fit is refused in one line (docs/memory.md has the estimate against peak RSS)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from panopticon.language.scenario import PRESETS, load
from panopticon.runner import cost
from panopticon.runner.cost import Available, CostError, check, estimate, parse_size
from panopticon.world.word_book import empty, file_words


def sized(n: int, name: str = "china-2018", **changes) -> object:
    return load(name).with_changes(**{"population.size": n, **changes})


def test_parts_follow_the_scenario():
    base = estimate(sized(100_000))
    assert base.seeds == base.counterfactual == 0
    assert estimate(sized(200_000)).citizens == pytest.approx(2 * base.citizens, rel=1e-6)
    assert estimate(sized(100_000, end=dt.date(2015, 12, 31))).counters < base.counters
    assert estimate(sized(100_000), seeds=3).seeds > 0
    assert estimate(sized(100_000), counterfactual=True).counterfactual > 0
    twice = estimate(sized(100_000), parallel=2)
    assert twice.memory - twice.base == 2 * (base.memory - base.base)
    assert estimate(sized(100_000, **{"audit.cohort_size": 0})).cohort == 0


def test_ties_are_counted_for_the_reaches_tallied():
    off = {"scoring.bad_company.enabled": False, "fear.enabled": False}
    assert estimate(sized(100_000, **off)).ties == 0
    assert cost.tallies(sized(1000)) == [["friends", "follows", "household"],
                                         ["friends", "household"]]
    # sizes of 2 reaches, a byte each, and 3 counts, half a byte each (the household reach is
    # counted at each reading), each tally's bit of flags
    assert estimate(sized(1000)).ties == 1000 * (2 + 3 / 2 + 2 / 8)
    fear_only = sized(1000, **{"scoring.bad_company.enabled": False, "fear.reach": ["follows"]})
    assert cost.tallies(fear_only) == [["follows"]]
    assert estimate(sized(1000, **off), counterfactual=True).counterfactual == 0  # no twin


def test_the_score_range_costs_memory():
    wide = {"scoring.min": -32_768, "scoring.max": 32_767,
            "scoring.grades": [{"name": "all", "min": -32_768, "max": 32_767}],
            "sanctions": [], "rewards": [], "scoring.bad_company": None}
    narrow = dict(wide, **{"scoring.min": 0, "scoring.max": 1300,
                           "scoring.grades": [{"name": "all", "min": 0, "max": 1300}]})
    assert estimate(sized(1000, **wide)).scores > 40 * estimate(sized(1000, **narrow)).scores


def test_per_citizen_bytes_are_the_stages_arrays():
    """The arrays every stage keeps per citizen, as the simulation counts them, and the tallies
    of ties as the estimate counts them."""
    from panopticon.runner.simulation import Simulation

    sc = sized(100_032)  # whole words of the tallies' bits of flags
    sim = Simulation(sc)
    assert sim.array_bytes_per_citizen() == cost.citizen_bytes(sc) == 10.375  # the term a byte
    store, tallies = sim.state.ties, [sim.stages[s].tally for s in ("company", "fear")]
    held = (sum(s.nbytes for s in store.sizes.values())
            + sum(t.bad.nbytes + t.marks.nbytes for t in tallies))
    assert held == cost.tie_bytes(sc)
    wide = sum(a.nbytes for a in store.wide) + sum(t.wide_bad.nbytes for t in tallies)
    assert wide < 0.05 * sc.population.size  # the book of citizens with 255 ties or more


@pytest.mark.parametrize("name", PRESETS)
def test_the_ties_build_peaks_below_the_days(name):
    """The estimate counts the days' memory, not the build's: the population, the numbers of
    ties kept and those being counted are less than the days' arrays, working bytes and ties
    (a scenario without tallies counts no ties)."""
    sc = sized(1000, name)
    if not cost.tallies(sc):
        assert estimate(sc).ties == 0
        return
    tallied = {r for reaches in cost.tallies(sc) for r in reaches if r not in cost.COUNTED}
    build = 1000 * (cost.POPULATION_BYTES + cost.TIE_BUILD_BYTES + cost.SIZE_BYTES * len(tallied))
    days = estimate(sc)
    assert build <= days.citizens + days.ties


@pytest.mark.parametrize(("text", "expected"), [
    ("20GiB", 20 << 30), ("512MB", 512_000_000), ("1.5G", 3 << 29), ("4096", 4096),
    (" 2 tib ", 2 << 40), ("none", None), ("None", None),
])
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["potato", "-1GB", "20 GiBs", "1e400GB", "9" * 400 + "GB", ""])
def test_what_is_not_a_size(text):
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


def test_a_run_above_the_limit_is_refused_in_one_line(monkeypatch):
    sc = sized(2_000_000_000)
    need = estimate(sc)
    assert need.memory > 32 << 30  # more than an ordinary machine has, and than the limit below
    with pytest.raises(CostError) as info:
        check(sc, need, 32 << 30)
    message = str(info.value)
    assert message.startswith(f"china-2018: the run needs about {cost.size(need.memory)} of"
                              " memory (citizens ")
    assert "and --memory-limit is 32 GiB" in message and "\n" not in message
    check(sc, need, None)  # no check
    monkeypatch.setattr(cost, "available_memory", lambda: Available(1 << 30, "MemAvailable"))
    with pytest.raises(CostError, match=r"and 1 GiB is available \(MemAvailable\)"):
        check(sc, need)
    monkeypatch.setattr(cost, "available_memory", lambda: None)
    check(sc, need)  # nothing known: no check


def test_available_memory_takes_the_lower_of_meminfo_and_the_cgroup(monkeypatch):
    monkeypatch.setattr(cost, "_meminfo", lambda: Available(8 << 30, "MemAvailable"))
    monkeypatch.setattr(cost, "_cgroup", lambda: Available(2 << 30, "left under the cgroup's"
                                                                     " limit"))
    assert cost.available_memory().bytes == 2 << 30
    monkeypatch.setattr(cost, "_cgroup", lambda: None)
    assert cost.available_memory() == Available(8 << 30, "MemAvailable")


def test_this_machine_reports_its_memory():
    free = cost.available_memory()
    assert free is not None and free.bytes > 0


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"),
                                         (1020 << 20, "1020 MiB"), (3 << 40, "3 TiB")])
def test_sizes_are_written_in_binary_units(n, text):
    assert cost.size(n) == text


def test_each_seed_run_is_freed_before_the_next(monkeypatch):
    """The estimate counts one simulation at a time: a seed's Simulation (a cycle of stages)
    must be gone when its run returns."""
    import weakref

    from panopticon.runner import seeds
    from panopticon.runner.simulation import Simulation

    alive = []
    run = Simulation.run

    def tracked(self, progress=None, after_day=None):
        alive.append(weakref.ref(self))
        return run(self, progress, after_day)

    monkeypatch.setattr(Simulation, "run", tracked)
    sc = sized(500, end=dt.date(2014, 1, 3))
    seeds.run_seeds(sc, 2, 65_536, 1)
    assert len(alive) == 2 and all(ref() is None for ref in alive)


def test_time_follows_citizens_days_runs_and_threads(monkeypatch):
    monkeypatch.setattr(cost.os, "cpu_count", lambda: 16)
    base = cost.run_seconds(sized(1_410_000), threads=1)
    fixed = cost.START_SECONDS
    thrice = cost.run_seconds(sized(1_410_000), seeds=3)
    assert thrice - fixed == pytest.approx(3 * (base - fixed))
    assert cost.run_seconds(sized(1_410_000), seeds=2) == cost.run_seconds(
        sized(1_410_000), counterfactual=True)
    shorter = sized(1_410_000, start=dt.date(2018, 1, 1), end=dt.date(2018, 12, 31))
    assert cost.run_seconds(shorter) < base / 4
    per_day = sized(1_410_000).days * cost.DAY_SECONDS  # the days' cost, whatever the citizens
    tenth = cost.run_seconds(sized(141_000), threads=1)
    assert tenth - fixed - per_day == pytest.approx((base - fixed - per_day) / 10)
    by_threads = [cost.run_seconds(sized(1_410_000), threads=t) for t in (1, 2, 3, 4, 16, 64)]
    assert by_threads == sorted(by_threads, reverse=True) and by_threads[-1] == by_threads[-2]
    monkeypatch.setattr(cost.os, "cpu_count", lambda: 2)
    assert cost.run_seconds(sized(1_410_000), threads=16) == by_threads[1]


def test_a_small_run_is_estimated_on_the_one_thread_it_runs_on(monkeypatch):
    monkeypatch.undo()  # the engine's own THREAD_CITIZENS (conftest sets it to 1)
    monkeypatch.setattr(cost.os, "cpu_count", lambda: 16)
    small, large = sized(20_000), sized(1_410_000)
    assert cost.run_seconds(small, threads=2) == cost.run_seconds(small, threads=1)
    assert cost.run_seconds(large, threads=2) < cost.run_seconds(large, threads=1)


@pytest.mark.parametrize(("seconds", "text"), [
    (0.2, "about 1 s"), (42.4, "about 42 s"), (240, "about 4 min"), (5700, "about 1 h 35 min")])
def test_durations_read_as_estimates(seconds, text):
    assert cost.duration(seconds) == text


def test_a_run_measures_its_own_peak_memory():
    """The peak above the start, not an earlier run's peak; never less than the arrays it holds,
    the tallies of ties included."""
    from panopticon.runner.simulation import Simulation

    sc = sized(50_000, start=dt.date(2018, 1, 1), end=dt.date(2018, 1, 10))
    Simulation(sized(500, start=sc.start, end=sc.end)).run()  # compiling is not the run's
    big = np.ones(25 << 20)  # 200 MiB: a peak before the run, which the run must not count
    del big
    sim = Simulation(sc)
    data = sim.run()
    ties = cost.tie_bytes(sc) / sc.population.size
    assert sim.array_bytes_per_citizen() + ties < data.bytes_per_citizen < 4000
    assert data.array_bytes_per_citizen == sim.array_bytes_per_citizen()


def test_held_bytes_count_each_memory_once():
    a = np.zeros(1000, np.int64)
    held = {"a": a, "view": a[10:], "again": [a.view(), (a,)], "other": np.ones(10)}
    assert cost.held_bytes(held) == 8000 + 80


def test_held_bytes_of_a_book_are_its_rows_not_its_room():
    """Views alone of an array count the span they cover: a book's arrays have room for a row
    per citizen that is never written (word_book.grown)."""
    ids, words = file_words(*empty(np.uint16), [(np.array([5, 9]), np.array([1, 2], np.uint16))],
                            1_000_000)
    assert ids.base.shape == (1_000_000,)
    assert cost.held_bytes({"book": (ids, words), "other": np.ones(10)}) == 2 * (4 + 2) + 80
    assert cost.held_bytes({"a": ids.base[:1], "b": ids[1:]}) == 2 * 4
