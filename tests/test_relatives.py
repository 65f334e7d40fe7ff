"""Sanctions and rewards borne by a household or an employer: a member's standing meets the
attempts of the household's other members (the head and those up to the next head), a worker's
those of the other workers of their workplace, whatever chunk each sits in; the relatives and
colleagues under it are counted, told in the cohort's stories and audited."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panopticon.language.scenario import ScenarioError, load
from panopticon.observers.audit import measures
from panopticon.readers.scheme import scheme
from panopticon.runner.simulation import Simulation, phases
from panopticon.stages import counters
from panopticon.stages.consequences import Consequences, children_met, children_moved
from panopticon.world.case_book import statuses_into
from panopticon.world.codes import LISTED, SHARED
from panopticon.world.engine import Engine
from panopticon.world.layout import Layout, history_names
from panopticon.world.population import AGE_BANDS, CHILD, HEAD, HOUSEHOLD_MAX, build
from panopticon.world.ties import workplace_into
from panopticon.world.word_book import ID

DATE = dt.date(2018, 6, 30)
ALWAYS_CONNECTED = [{"date": dt.date(2014, 1, 1), "value": 1.0}]
QUIET_LIFE = {f"acts.{k}.rate": 0.0 for k in ("school_application", "job_application",
                                               "trip_abroad", "plane_ticket", "train_ticket")}


def credit_ban(bearer: str) -> dict:
    """china-2018's credit ban, from the court list alone, borne by ``bearer``."""
    return {"sanctions.credit_denied.bears": bearer, "sanctions.credit_denied.grades": []}


def households(flags: np.ndarray) -> list[np.ndarray]:
    """Citizens by household: from each head to the next."""
    return np.split(np.arange(flags.size), np.flatnonzero(flags & HEAD)[1:])


def test_a_household_runs_from_its_head_to_the_next_and_holds_the_heads_children():
    sc = load("china-2018").with_changes(**{"population.size": 20_000})
    pop = build(sc.population, seed=3)
    assert pop.flags[0] & HEAD
    homes = households(pop.flags)
    assert max(map(len, homes)) <= HOUSEHOLD_MAX
    for home in homes:
        head = home[0]
        assert pop.band[head] != CHILD and (pop.parent[home] < 0).sum() >= 1
        kids = home[pop.parent[home] >= 0]
        assert (pop.parent[kids] == head).all()
        assert len(set(pop.region[home])) == 1
    assert sum(len(h) > 1 and (pop.parent[h] < 0).sum() > 1 for h in homes) > 0  # adults share


class World:
    """china-2018 with its credit ban borne by a household (or ``bearer``); everyone who may
    applies for credit every day; consequences run on hand-set listings, on 37-citizen chunks
    and 2 threads."""

    def __init__(self, bearer: str = "household", **changes) -> None:
        sc = load("china-2018").with_changes(**{
            "population.size": 300, "registry.central_connected": ALWAYS_CONNECTED,
            **QUIET_LIFE, **credit_ban(bearer), **changes})
        self.sim = Simulation(sc, seed=1)
        self.pop = self.sim.pop
        credit = Layout.of(sc).bit("credit_application")
        self.acts = np.where(self.pop.band != CHILD, credit, 0).astype(np.uint64)
        self.index = {n: i for i, n in enumerate(counters(sc).names)}
        self.day = 100

    def home_of(self, size: int) -> np.ndarray:
        """The first household of at least ``size`` members with two adults or more."""
        return next(h for h in households(self.pop.flags)
                    if len(h) >= size and (self.pop.band[h] != CHILD).sum() >= 2)

    def list_on_court_list(self, i: int) -> None:
        self.sim.stages["registry"].set_statuses(i, LISTED | SHARED)  # 30 days: transport has it

    def run_day(self) -> dict[str, int]:
        """One day of consequences (both phases and the day's end): the counters summed over
        regions."""
        self.day += 1
        for name in ("behaviour", "registry", "scoring", "consequences"):
            self.sim.stages[name].start_day(self.day, DATE, self.sim.scenario)
        n_regions, n_counters = len(self.pop.regions.codes), len(self.index)
        cons, registry = self.sim.stages["consequences"], self.sim.stages["registry"]

        def give_acts(lo, hi, acc, today):
            """Today's acts, and the statuses as the registry leaves them in phase 1."""
            today.acts[: hi - lo] = self.acts[lo:hi]
            today.marked[:] = ~np.uint64(0)  # as behaviour marks at least those with an act
            statuses_into(registry.case_ids, registry.case_days, lo, today.status[: hi - lo])

        with Engine(self.pop.size, n_regions, n_counters, chunk_size=37, threads=2) as eng:
            run = phases([cons], self.sim.views, self.sim.counters)
            acc = eng.run_day([[give_acts, *run[0]], run[1]], cons.end_phase)
        cons.end_day(acc[:, self.sim.counters.spans["consequences"]])
        return {name: int(acc[:, i].sum()) for name, i in self.index.items()}

    def ever(self, what: str) -> np.ndarray:
        """The citizens whose history holds ``what`` (a name of history_names)."""
        bit = 1 << history_names(self.sim.scenario).index(what)
        return np.flatnonzero(self.sim.stages["consequences"].history() & bit)


def test_a_members_listing_refuses_the_other_members_and_not_the_member():
    world = World()
    home = world.home_of(3)
    debtor = int(home[1] if world.pop.band[home[1]] != CHILD else home[0])
    world.list_on_court_list(debtor)
    counts = world.run_day()
    others = home[home != debtor]
    adults = others[world.pop.band[others] != CHILD]
    assert counts["credit_denied_stock"] == counts["credit_denied_people"] == len(others)
    assert counts["credit_application_blocked"] == len(adults)
    assert counts["credit_application_blocked_wrongful"] == 0
    np.testing.assert_array_equal(world.ever("credit_application_blocked"), adults)
    np.testing.assert_array_equal(world.ever("credit_denied_relatives"), others)
    assert counts["sanctioned_people_stock"] == 1  # the debtor alone is under a sanction


def test_two_listed_members_bar_each_other_and_count_each_relative_once():
    world = World()
    home = world.home_of(2)
    adults = home[world.pop.band[home] != CHILD][:2]
    for i in adults:
        world.list_on_court_list(int(i))
    counts = world.run_day()
    assert counts["credit_denied_stock"] == len(home)  # each is a relative of the other
    assert counts["credit_application_blocked"] == (world.pop.band[home] != CHILD).sum()


def test_a_household_reward_favours_the_other_members():
    world = World(**{"rewards.easy_credit.bears": "household",
                         "rewards.easy_credit.grades": ["AAA", "AA", "A", "B", "C", "D"]})
    counts = world.run_day()
    adults = (world.pop.band != CHILD).sum()
    in_company = sum(len(h) > 1 for h in households(world.pop.flags))
    assert counts["credit_application_attempts"] == adults
    assert 0 < counts["easy_credit_granted"] <= adults
    assert in_company > 0 and counts["easy_credit_granted"] == sum(
        (world.pop.band[h] != CHILD).sum() for h in households(world.pop.flags) if len(h) > 1)


def colleagues(world: World, i: int) -> np.ndarray:
    """The other working-age citizens of i's workplace, in order."""
    out = np.empty(64, np.int64)
    return np.sort(out[:workplace_into(world.sim.stages["consequences"].ties, i, out)])


def test_a_workers_listing_refuses_the_colleagues_and_not_the_worker():
    world = World("employer")
    worker = next(i for i in range(world.pop.size) if len(colleagues(world, i)) >= 3)
    mates = colleagues(world, worker)
    world.list_on_court_list(worker)
    counts = world.run_day()
    assert counts["credit_denied_stock"] == counts["credit_denied_people"] == len(mates)
    assert counts["credit_application_blocked"] == len(mates)
    assert counts["sanctioned_people_stock"] == 1  # the worker alone is under a sanction
    np.testing.assert_array_equal(world.ever("credit_application_blocked"), mates)
    np.testing.assert_array_equal(world.ever("credit_denied_colleagues"), mates)
    assert world.ever("credit_denied_colleagues_wrongly").size == 0
    again = world.run_day()  # a stock each day, a person once
    assert (again["credit_denied_stock"], again["credit_denied_people"]) == (len(mates), 0)


def test_two_listed_colleagues_bar_each_other_and_count_each_colleague_once():
    world = World("employer")
    worker = next(i for i in range(world.pop.size) if len(colleagues(world, i)) >= 3)
    pair = [worker, int(colleagues(world, worker)[0])]
    for i in pair:
        world.list_on_court_list(i)
    counts = world.run_day()
    under = np.union1d(colleagues(world, pair[0]), colleagues(world, pair[1]))
    assert set(pair) <= set(under)
    assert counts["credit_denied_stock"] == counts["credit_denied_people"] == len(under)


def test_an_employer_reward_favours_workers_with_a_rewarded_colleague_only():
    world = World("employer", **{"rewards.easy_credit.bears": "employer",
                                     "rewards.easy_credit.grades": ["AAA", "AA", "A", "B"]})
    counts = world.run_day()
    favoured = world.ever("easy_credit_granted")
    assert counts["easy_credit_granted"] == favoured.size > 0
    books = world.sim.stages["consequences"]
    assert books.family_ids.size and books.family_ids.dtype == books.history_ids.dtype == ID
    assert all(len(colleagues(world, int(i))) for i in favoured)
    retired = np.flatnonzero(world.pop.band == AGE_BANDS.index("60+"))  # no employer
    assert retired.size and not np.isin(retired, favoured).any()


@pytest.mark.parametrize("bearer", ["household", "employer"])
def test_a_run_with_a_sanction_borne_by_others_is_the_same_for_any_chunking(bearer):
    sc = load("china-2018").with_changes(**{
        "population.size": 4000, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 3, 31),
        "court.judgment_rate": 0.05, **credit_ban(bearer), "acts.credit_application.rate": 0.2})
    one = Simulation(sc, chunk_size=65536, threads=1).run()
    many = Simulation(sc, chunk_size=777, threads=2).run()
    assert one.counter("credit_denied_stock").sum() > 0
    assert one.counter("credit_application_blocked").sum() > 0
    np.testing.assert_array_equal(one.counts, many.counts)
    assert repr(one.cohort) == repr(many.cohort)


@pytest.mark.parametrize("bearer, who", [("household", "relatives"), ("employer", "colleagues")])
def test_the_audit_measures_people_barred_for_others_only_where_they_bear_a_sanction(bearer,
                                                                                     who):
    assert f"{who}_barred" not in measures(load("china-2018"))
    assert {f"{who}_barred", f"{who}_barred_wrongly"} <= set(
        measures(load("china-2018").with_changes(**credit_ban(bearer))))


@pytest.mark.parametrize("bearer", ["household", "employer"])
def test_a_standing_borne_by_others_is_refused_in_one_line(bearer):
    with pytest.raises(ScenarioError, match=f'bears = "{bearer}" but blocks the standing'):
        load("china-2018").with_changes(**{"sanctions.internet_throttle.bears": bearer})


@pytest.mark.parametrize("bearer, words", [
    ("household", "the other members of their household"),
    ("employer", "their employer (the other workers of their workplace)")])
def test_the_report_says_who_bears_a_sanction(bearer, words):
    sc = load("china-2018").with_changes(**credit_ban(bearer))
    rows = {r.name: r for r in scheme(sc.model_dump(mode="json"), pa.table({}))}
    assert rows["credit_denied"].bears == words


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), lo=st.integers(0, 2_999), size=st.integers(1, 700),
       share=st.sampled_from([0.0, 0.002, 0.05, 0.5]), dtype=st.sampled_from([np.uint8,
                                                                              np.uint16]))
def test_phase_2_finds_every_child_whose_parent_brings_a_measure_and_no_other(seed, lo, size,
                                                                             share, dtype):
    """``children_met`` lists, in order, the children of a chunk whose parent's family word
    (a byte or two, by the catalog) holds a bit of a measure counted over a child, each with
    the bits of that word that a child meets, as an index of every child would."""
    pop = build(load("china-2018").with_changes(**{"population.size": 3_000}).population, seed=7)
    rng = np.random.default_rng(seed)
    top = 1 << 8 * np.dtype(dtype).itemsize  # words with bits anywhere in their byte or two
    family = (rng.random(pop.size) < share).astype(dtype) * rng.integers(1, top, pop.size,
                                                                         dtype=dtype)
    hi = min(lo + size, pop.size)
    of_parent = 0b0110 if dtype == np.uint8 else 0b0110_0000_0110
    counted = 0b0010 if dtype == np.uint8 else 0b0100_0000_0010  # the others: rewards
    kids = lo + np.flatnonzero(pop.band[lo:hi] == CHILD)
    words = family[pop.parent[kids]].astype(np.int64) & of_parent
    ids = np.flatnonzero(family)
    visit, got = children_met(lo, hi, pop.age, pop.flags, ids, family[ids], of_parent, counted)
    met = (words & counted) != 0
    assert visit.tolist() == kids[met].tolist()
    assert got[0].tolist() == words[met].tolist() and not got[1].any()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**31), lo=st.integers(0, 2_999), size=st.integers(1, 700),
       share=st.sampled_from([0.002, 0.05, 0.5]))
def test_on_a_day_of_events_phase_2_finds_the_children_of_the_heads_moved(seed, lo, size,
                                                                         share):
    """``children_moved`` lists, in order, the children of a chunk whose parent is among the
    heads whose word changed today and brings or brought a measure counted over a child, each
    with the bits of the word now and before that a child meets."""
    pop = build(load("china-2018").with_changes(**{"population.size": 3_000}).population, seed=7)
    rng = np.random.default_rng(seed)
    heads = np.flatnonzero((pop.flags & HEAD) != 0)
    heads = heads[rng.random(heads.shape[0]) < share]
    before, now = rng.integers(0, 16, (2, heads.shape[0]))
    of_parent, counted = 0b0110, 0b0010
    hi = min(lo + size, pop.size)
    kids = lo + np.flatnonzero(pop.band[lo:hi] == CHILD)
    row = {h: k for k, h in enumerate(heads)}
    moved = [c for c in kids if pop.parent[c] in row
             and (before[row[pop.parent[c]]] | now[row[pop.parent[c]]]) & counted]
    visit, got = children_moved(lo, hi, pop.age, pop.flags, np.array([heads, before, now]),
                                of_parent, counted)
    assert visit.tolist() == moved
    assert got[0].tolist() == [now[row[pop.parent[c]]] & of_parent for c in moved]
    assert got[1].tolist() == [before[row[pop.parent[c]]] & of_parent for c in moved]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 2_000), data=st.data())
def test_phase_2_takes_the_attempts_of_its_run_from_phase_1s_pieces_wherever_they_end(n, data):
    """Phase 1's pieces (the workers' claims) and phase 2's runs need not end at the same
    citizens: a run of phase 2 takes, in order, exactly the attempts of its citizens."""
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=8)) if n > 1 else set())
    tried = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=50))), np.int64)
    rows = np.stack([tried, tried * 7 + 1])
    kin = {lo: rows[:, (tried >= lo) & (tried < hi)]
           for lo, hi in zip([0, *cuts], [*cuts, n], strict=True)}
    lo = data.draw(st.integers(0, n))
    hi = data.draw(st.integers(lo, n))
    got = Consequences.tried_in(SimpleNamespace(kin=kin), lo, hi)
    np.testing.assert_array_equal(got, rows[:, (tried >= lo) & (tried < hi)])
