"""Consequences by events: the standing of the citizens whose status, lists or score across a
measure's cut moved (``Today.moved``) gives, day after day, what everyone's worked out every day
gives: who is under a sanction, the books, the running totals, the counts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panopticon.language import scenario
from panopticon.observers.cohort import Cohort
from panopticon.runner.simulation import Simulation
from panopticon.stages.consequences import (
    C_SANCTIONED,
    C_WRONGLY,
    STAND_WRONG,
    Consequences,
    everyone_standing,
    family_words,
    standings,
)
from panopticon.world.codes import moves_across
from panopticon.world.population import MANAGER, adoption_ranks, region_of
from panopticon.world.today import moved_into, unpack_bits
from panopticon.world.word_book import keep_set

SIZE = 3000
PRESETS = ("china-2018", "sesame", "fuzhou", "rongcheng")


def simulation(preset: str, **changes: object) -> Simulation:
    """The preset's whole period on a few citizens (with ``changes``), in chunks that split
    words of bits and regions, on two threads."""
    sc = scenario.load(preset).with_changes(**{"population.size": SIZE, **changes})
    return Simulation(sc, chunk_size=777, threads=2)


# china-2018 where the internet users grow from few to nearly all in three years, then fall
# back, and its throttle is on every grade from the start: citizens under it cross the users'
# threshold both ways on most days, which no event of theirs marks (consequences.online_crossed
# counts them).
CROSSING = {
    "population.internet_users": [{"date": dt.date(2014, 1, 1), "value": 1.0e8},
                                  {"date": dt.date(2017, 1, 1), "value": 1.35e9},
                                  {"date": dt.date(2019, 12, 31), "value": 2.0e8}],
    "sanctions.internet_throttle.grades": ["AAA", "AA", "A", "B", "C", "D"],
    "sanctions.internet_throttle.start": None,
}


def book(ids: np.ndarray, words: np.ndarray) -> dict[int, int]:
    """A book's rows whose word is not 0 (a book written in place keeps rows gone to 0)."""
    return {int(i): int(w) for i, w in zip(ids, words) if w}


def check_day(sim: Simulation, days: list[bool], ever: np.ndarray) -> None:
    """After a day: consequences' bits, books and running totals are those of everyone's
    standing worked out from the state as it is; who was ever under a sanction, and wrongly,
    those of every day so far (``ever``, kept here)."""
    cons: Consequences = sim.stages[Consequences.NAME]
    view = sim.views[Cohort.NAME]
    ids = np.arange(view.size)
    sanc, true_sanc, rewards = standings(ids, everyone_standing(view), view.case_ids,
                                         view.case_days)
    wrong = sanc & ~true_sanc
    np.testing.assert_array_equal(cons.sanctioned(), sanc != 0)
    ever |= np.array([sanc != 0, wrong != 0], np.uint8)
    for k in range(2):
        bits = np.empty(view.size, np.uint8)
        unpack_bits(cons.sanctioned_ever[k], 0, bits)
        np.testing.assert_array_equal(bits, ever[k])
    stood = sanc | STAND_WRONG * (wrong != 0)
    assert book(cons.stand_ids, cons.stand_words) == book(ids, stood)
    family = np.zeros(view.size, np.int64)
    family_words(sanc, wrong, rewards, cons.cat, view.flags, family)
    assert book(cons.family_ids, cons.family_words) == book(ids, family)
    regions = region_of(view.starts, ids)
    for column, flags in ((C_SANCTIONED, sanc != 0), (C_WRONGLY, wrong != 0)):
        np.testing.assert_array_equal(
            cons.under_totals[:, column],
            np.bincount(regions, flags, minlength=cons.under_totals.shape[0]))
    manager = (view.flags & MANAGER) != 0
    online = adoption_ranks(view.adopt, 0) < sim.state.read("adoption")[0]
    for m, (bit, by_manager, by_online, _) in enumerate(cons.cat.standings):
        held = (sanc >> bit & 1 != 0) & ((manager & bool(by_manager)) | (online & bool(by_online)))
        np.testing.assert_array_equal(
            cons.stand_totals[:, m], np.bincount(regions, held, minlength=regions.max() + 1))
    days.append(cons.everyone_today)


@pytest.mark.parametrize("preset", PRESETS)
def test_the_moved_citizens_standing_is_everyones_every_day(preset):
    sim, days = simulation(preset), []
    ever = np.zeros((2, SIZE), np.uint8)
    sim.run(after_day=lambda: check_day(sim, days, ever))
    assert not all(days), "no day had its standing by events"


def test_the_stocks_on_internet_use_follow_those_who_cross_the_users_threshold():
    sim, days = simulation("china-2018", **CROSSING), []
    ever = np.zeros((2, SIZE), np.uint8)
    sim.run(after_day=lambda: check_day(sim, days, ever))
    assert not all(days), "no day had its standing by events"


@pytest.mark.parametrize("preset", PRESETS)
def test_a_run_by_events_counts_what_a_run_of_everyone_counts(preset, monkeypatch):
    by_events = simulation(preset).run()
    monkeypatch.setattr(Consequences, "EVENTS", False)
    np.testing.assert_array_equal(by_events.counts, simulation(preset).run().counts)


@settings(deadline=None)
@given(st.lists(st.integers(0, 3), max_size=80), st.integers(0, 80))
def test_moved_into_lists_the_citizens_whose_byte_is_set(values, n):
    moved = np.array([v if v < 3 else 0 for v in values] + [1] * 8, np.uint8)
    n = min(n, len(values))
    todo = np.full(moved.shape[0], -1, np.int32)
    m = moved_into(moved, n, todo)
    np.testing.assert_array_equal(todo[:m], np.flatnonzero(moved[:n]))


@settings(deadline=None)
@given(st.lists(st.sampled_from([0, 0, 3, 7]), max_size=30))
def test_keep_set_keeps_the_rows_not_zero_in_order(values):
    ids, words = np.arange(len(values), dtype=np.int32) * 2, np.array(values, np.uint64)
    want_ids, want_words = ids[words != 0].copy(), words[words != 0].copy()
    kept = keep_set(ids, words)
    np.testing.assert_array_equal(ids[:kept], want_ids)
    np.testing.assert_array_equal(words[:kept], want_words)


def band(score: int, cuts: tuple[int, ...]) -> int:
    return sum(score >= c for c in cuts)


@settings(deadline=None)
@given(st.lists(st.integers(300, 1100), min_size=1, max_size=4, unique=True),
       *(st.integers(250, 1150) for _ in range(4)))
def test_a_move_across_is_a_change_of_the_measures_band(cuts, s0, s, t0, t):
    cuts = tuple(sorted(cuts))
    across = band(s0, cuts) != band(s, cuts) or band(t0, cuts) != band(t, cuts)
    assert bool(moves_across(s0, s, t0, t, cuts)) == across
