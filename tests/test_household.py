"""Sanctions and rewards borne by a household: a member's standing meets the attempts of the
household's other members (the head and those up to the next head), whatever chunk each sits
in; the relatives under it are counted, told in the cohort's stories and audited."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from panopticon.language.scenario import ScenarioError, load
from panopticon.observers.audit import measures
from panopticon.readers.scheme import scheme
from panopticon.runner.simulation import Simulation, phases
from panopticon.stages import counters
from panopticon.world.codes import LISTED
from panopticon.world.engine import Engine
from panopticon.world.layout import history_names
from panopticon.world.population import CHILD, HEAD, HOUSEHOLD_MAX, build

DATE = dt.date(2018, 6, 30)
ALWAYS_CONNECTED = [{"date": dt.date(2014, 1, 1), "value": 1.0}]
QUIET_LIFE = {f"acts.{k}.rate": 0.0 for k in ("school_application", "job_application",
                                               "trip_abroad", "plane_ticket", "train_ticket")}
HOUSEHOLD_CREDIT = {"sanctions.credit_denied.bears": "household",
                    "sanctions.credit_denied.grades": []}


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
        assert pop.age[head] != CHILD and (pop.parent[home] < 0).sum() >= 1
        kids = home[pop.parent[home] >= 0]
        assert (pop.parent[kids] == head).all()
        assert len(set(pop.region[home])) == 1
    assert sum(len(h) > 1 and (pop.parent[h] < 0).sum() > 1 for h in homes) > 0  # adults share


class Household:
    """china-2018 with its credit ban borne by a household; everyone who may applies for credit
    every day; consequences run on hand-set listings, on 37-citizen chunks and 2 threads."""

    def __init__(self, **changes) -> None:
        sc = load("china-2018").with_changes(**{
            "population.size": 300, "registry.central_connected": ALWAYS_CONNECTED,
            **QUIET_LIFE, **HOUSEHOLD_CREDIT, "acts.credit_application.rate": 1.0, **changes})
        self.sim = Simulation(sc, seed=1)
        self.pop = self.sim.pop
        self.index = {n: i for i, n in enumerate(counters(sc).names)}
        self.day = 100

    def home_of(self, size: int) -> np.ndarray:
        """The first household of at least ``size`` members with two adults or more."""
        return next(h for h in households(self.pop.flags)
                    if len(h) >= size and (self.pop.age[h] != CHILD).sum() >= 2)

    def list_on_court_list(self, i: int) -> None:
        self.sim.stages["registry"].status[i] = LISTED
        self.sim.stages["registry"].court_day[i] = self.day - 30

    def run_day(self) -> dict[str, int]:
        """One day of consequences (both phases): the counters summed over regions."""
        self.day += 1
        for name in ("behaviour", "registry", "scoring", "consequences"):
            self.sim.stages[name].start_day(self.day, DATE, self.sim.scenario)
        n_regions, n_counters = len(self.pop.regions.codes), len(self.index)
        cons = self.sim.stages["consequences"]
        with Engine(self.pop.size, n_regions, n_counters, chunk_size=37, threads=2) as eng:
            run = phases([cons], self.sim.views, self.sim.counters)
            acc = eng.run_day(run)
        return {name: int(acc[:, i].sum()) for name, i in self.index.items()}

    def ever(self, what: str) -> np.ndarray:
        """The citizens whose history holds ``what`` (a name of history_names)."""
        bit = 1 << history_names(self.sim.scenario).index(what)
        return np.flatnonzero(self.sim.stages["consequences"].met_ever & bit)


def test_a_members_listing_refuses_the_other_members_and_not_the_member():
    world = Household()
    home = world.home_of(3)
    debtor = int(home[1] if world.pop.age[home[1]] != CHILD else home[0])
    world.list_on_court_list(debtor)
    counts = world.run_day()
    others = home[home != debtor]
    adults = others[world.pop.age[others] != CHILD]
    assert counts["credit_denied_stock"] == counts["credit_denied_people"] == len(others)
    assert counts["credit_application_blocked"] == len(adults)
    assert counts["credit_application_blocked_wrongful"] == 0
    np.testing.assert_array_equal(world.ever("credit_application_blocked"), adults)
    np.testing.assert_array_equal(world.ever("credit_denied_relatives"), others)
    assert counts["sanctioned_people_stock"] == 1  # the debtor alone is under a sanction


def test_two_listed_members_bar_each_other_and_count_each_relative_once():
    world = Household()
    home = world.home_of(2)
    adults = home[world.pop.age[home] != CHILD][:2]
    for i in adults:
        world.list_on_court_list(int(i))
    counts = world.run_day()
    assert counts["credit_denied_stock"] == len(home)  # each is a relative of the other
    assert counts["credit_application_blocked"] == (world.pop.age[home] != CHILD).sum()


def test_a_household_reward_favours_the_other_members():
    world = Household(**{"rewards.easy_credit.bears": "household",
                         "rewards.easy_credit.grades": ["AAA", "AA", "A", "B", "C", "D"]})
    counts = world.run_day()
    adults = (world.pop.age != CHILD).sum()
    in_company = sum(len(h) > 1 for h in households(world.pop.flags))
    assert counts["credit_application_attempts"] == adults
    assert 0 < counts["easy_credit_granted"] <= adults
    assert in_company > 0 and counts["easy_credit_granted"] == sum(
        (world.pop.age[h] != CHILD).sum() for h in households(world.pop.flags) if len(h) > 1)


def test_a_run_with_a_household_sanction_is_the_same_for_any_chunking():
    sc = load("china-2018").with_changes(**{
        "population.size": 4000, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 3, 31),
        "court.judgment_rate": 0.05, **HOUSEHOLD_CREDIT, "acts.credit_application.rate": 0.2})
    one = Simulation(sc, chunk_size=65536, threads=1).run()
    many = Simulation(sc, chunk_size=777, threads=2).run()
    assert one.counter("credit_denied_stock").sum() > 0
    assert one.counter("credit_application_blocked").sum() > 0
    np.testing.assert_array_equal(one.counts, many.counts)
    assert repr(one.cohort) == repr(many.cohort)


def test_the_audit_measures_relatives_barred_only_where_a_household_bears_a_sanction():
    assert "relatives_barred" not in measures(load("china-2018"))
    assert "relatives_barred" in measures(load("china-2018").with_changes(**HOUSEHOLD_CREDIT))


def test_a_household_bearing_a_standing_is_refused_in_one_line():
    with pytest.raises(ScenarioError, match='bears = "household" but blocks the standing'):
        load("china-2018").with_changes(**{"sanctions.internet_throttle.bears": "household"})


def test_the_report_says_who_bears_a_household_sanction():
    sc = load("china-2018").with_changes(**HOUSEHOLD_CREDIT)
    rows = {r.name: r for r in scheme(sc.model_dump(mode="json"), pa.table({}))}
    assert rows["credit_denied"].bears == "the other members of their household"
