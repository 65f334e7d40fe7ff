"""The scheme's own lists: the Lists stage alone on citizens whose records and scores are set by
hand (entry at the count-th record within the window, exits after days and not within min_days,
by score, by grades held; false records list by the published evidence only; counters that add
up), the same bytes for any chunking, and a run whose report names its lists and measures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stages import SEED, alone, today_with
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.scenario import Scenario, load, validate
from panopticon.readers import report
from panopticon.readers.scheme import scheme
from panopticon.runner.simulation import Simulation
from panopticon.stages import counters
from panopticon.stages.consequences import REWARDS_SHIFT, active_masks
from panopticon.stages.lists import FIGURES, Lists
from panopticon.stages.scoring import EVERYONE, grade_table
from panopticon.world.codes import FALSE_SHIFT, GAP_SHIFT
from panopticon.world.layout import Layout
from panopticon.world.population import build

SCHEME = Path(__file__).parent / "scenarios" / "lists.toml"
BLACK, RED = "red_light_blacklist", "honour_roll"
N = 4
BASE = 1000


def scheme_with(lists: dict | None = None, **changes) -> Scenario:
    """The test scheme on a few citizens, with lists added or replaced (by name)."""
    data = load(SCHEME).with_changes(**{"population.size": N, **changes}).model_dump()
    data["lists"].update(lists or {})
    return validate(data, "test")


class Roll:
    """The Lists stage alone: citizens' scores set by hand, records given day by day."""

    def __init__(self, lists: dict | None = None, **changes) -> None:
        self.sc = sc = scheme_with(lists, **changes)
        grade_of, names = grade_table(sc)
        self.score = np.full(N, BASE, np.int16)
        self.true_score = np.full(N, BASE, np.int16)
        self.gap = np.zeros(N, np.int16)  # scoring's score_gap, from true_score each day
        self.stage = alone(Lists, sc, build(sc.population, SEED), score=self.score,
                           score_gap=self.gap, scored=np.array([EVERYONE, 0]),
                           grade_of=grade_of, grade_names=np.array(names))
        self.names = counters(sc)
        self.layout = Layout.of(sc)
        self.day = -1

    def bit(self, kind: str) -> int:
        return self.layout.bit(kind)

    def next_day(self, records: dict[int, int] | None = None) -> dict[str, int]:
        """A day with ``records`` (citizen: record bits); the day's counters of the lists."""
        self.day += 1
        self.gap[:] = (self.true_score - self.score) << GAP_SHIFT
        self.stage.start_day(self.day, dt.date(2018, 1, 1), self.sc)
        acc = np.zeros((31, len(self.names.names)), np.int64)
        rec = np.zeros(N, np.uint64)
        for j, bits in (records or {}).items():
            rec[j] = bits
        span = self.names.spans["lists"]
        self.stage.step(0, N, acc[:, span], self.stage.view.today(today_with(N, records=rec)))
        return dict(zip(self.names.names[span], acc[:, span].sum(axis=0).tolist(), strict=True))

    def on(self, name: str, j: int = 0, true: bool = False) -> bool:
        word = self.stage.on_true if true else self.stage.on
        return bool(word[j] >> list(self.sc.lists).index(name) & 1)


def days_on(roll: Roll, name: str, days: int, records: dict[int, dict[int, int]]) -> list[int]:
    """The days of ``days`` that citizen 0 is on list ``name``, given records by day."""
    on = []
    for d in range(days):
        roll.next_day(records.get(d))
        if roll.on(name):
            on.append(d)
    return on


def test_entry_at_the_count_th_record_within_the_window():
    roll = Roll()
    red = roll.bit("red_light")
    seen = {0: {0: red, 1: red}, 50: {0: red, 1: red}, 89: {0: red}, 90: {1: red}}
    entered = []
    for d in range(91):
        roll.next_day(seen.get(d))
        entered.append((roll.on(BLACK, 0), roll.on(BLACK, 1)))
    assert [d for d, (a, _) in enumerate(entered) if a][:1] == [89]  # 89 - 0 < 90 days
    assert not any(b for _, b in entered)  # its third record came 90 days after the first


def test_records_outside_the_window_do_not_count():
    roll = Roll()
    red = roll.bit("red_light")
    seen = {0: {0: red}, 96: {0: red}, 97: {0: 1 << FALSE_SHIFT}, 98: {0: red}}
    on = days_on(roll, BLACK, 99, seen)  # a false record of jaywalking is no red light
    assert on == []  # the first record is 96 days old: two of three within 90 days
    counts = roll.next_day({0: red})
    assert roll.on(BLACK) and counts[f"{BLACK}_entries"] == 1


def test_two_records_of_a_kind_on_one_day_count_twice():
    roll = Roll(one_record_list(entry=[{"record": "jaywalking", "count": 2, "within_days": 1}],
                                exit=[{"after_days": 5}]))
    roll.next_day({0: roll.bit("jaywalking") | 1 << FALSE_SHIFT, 1: roll.bit("jaywalking")})
    assert roll.on("quick", 0) and not roll.on("quick", 1)
    assert not roll.on("quick", 0, true=True)  # one true record


def one_record_list(**rules) -> dict:
    return {"quick": {"colour": "black", "entry": [{"record": "late_bill"}], **rules}}


def test_exit_after_days_from_the_entry():
    roll = Roll(one_record_list(exit=[{"after_days": 10}]))
    on = days_on(roll, "quick", 15, {2: {0: roll.bit("late_bill")}})
    assert on == list(range(2, 12))


def test_no_exit_within_min_days():
    roll = Roll(one_record_list(exit=[{"after_days": 10}], min_days=20))
    on = days_on(roll, "quick", 30, {2: {0: roll.bit("late_bill")}})
    assert on == list(range(2, 22))


def test_a_new_entry_renews_the_days_to_exit():
    roll = Roll(one_record_list(exit=[{"after_days": 10}]))
    bill = roll.bit("late_bill")
    on = days_on(roll, "quick", 25, {2: {0: bill}, 8: {0: bill}})
    assert on == list(range(2, 18))


def test_a_score_above_takes_a_member_off_once_min_days_have_passed():
    roll = Roll()
    red = roll.bit("red_light")
    for _ in range(3):
        roll.next_day({0: red})
    assert roll.on(BLACK)
    roll.score[0] = roll.true_score[0] = 1021
    for _ in range(29):  # days 3 to 31: min_days = 30 since the entry on day 2
        roll.next_day()
        assert roll.on(BLACK)
    counts = roll.next_day()
    assert not roll.on(BLACK) and counts[f"{BLACK}_exits"] == 1


def test_a_score_enters_a_red_list_and_a_low_score_takes_one_off():
    roll = Roll()
    roll.score[0] = roll.true_score[0] = 1041
    counts = roll.next_day()
    assert roll.on(RED) and counts[f"{RED}_entries"] == 1 and counts[f"{RED}_stock"] == 1
    roll.score[0] = roll.true_score[0] = 1000
    roll.next_day()
    assert roll.on(RED)  # neither rule to leave holds
    roll.score[0] = roll.true_score[0] = 959
    counts = roll.next_day()
    assert not roll.on(RED) and counts[f"{RED}_exits"] == 1


GRADE_LIST = {"low": {"colour": "black", "entry": [{"grades": ["D"], "held_days": 3}],
                      "exit": [{"left_grades": True}]}}


def test_grades_held_for_days_in_a_row_enter_and_leaving_them_exits():
    roll = Roll(GRADE_LIST)
    roll.score[0] = roll.true_score[0] = 500
    on = []
    for d in range(6):
        if d == 1:  # out of grade D for a day: the days in a row start again
            roll.score[0] = roll.true_score[0] = 700
        elif d == 2:
            roll.score[0] = roll.true_score[0] = 500
        roll.next_day()
        on.append(roll.on("low"))
    assert on == [False, False, False, False, True, True]  # D on days 2, 3, 4
    roll.score[0] = roll.true_score[0] = 600  # grade C
    roll.next_day()
    assert not roll.on("low")


def test_false_records_list_by_the_published_evidence_only():
    roll = Roll(one_record_list(entry=[{"record": "jaywalking"}], exit=[{"after_days": 5}]))
    counts = roll.next_day({0: 1 << FALSE_SHIFT, 1: roll.bit("jaywalking")})
    assert roll.on("quick", 0) and not roll.on("quick", 0, true=True)
    assert roll.on("quick", 1) and roll.on("quick", 1, true=True)
    assert counts["quick_stock"] == 2 and counts["quick_wrongful_stock"] == 1
    assert counts["quick_entries"] == 2 and counts["quick_wrongful_entries"] == 1
    assert roll.next_day({0: 1 << FALSE_SHIFT})["quick_wrongful_entries"] == 0  # a renewal


def test_an_entry_the_true_evidence_makes_too_is_not_wrongful_whenever_it_comes():
    roll = Roll(one_record_list(entry=[{"record": "jaywalking"}], exit=[{"after_days": 5}]))
    assert roll.next_day({0: roll.bit("jaywalking")})["quick_wrongful_entries"] == 0
    roll = Roll(one_record_list(entry=[{"record": "jaywalking"}], exit=[{"after_days": 5}]))
    roll.next_day({0: 1 << FALSE_SHIFT})  # in on a false record, then on a true one as well
    counts = roll.next_day({0: roll.bit("jaywalking")})
    assert counts["quick_entries"] == 0 and counts["quick_wrongful_entries"] == 0
    assert roll.on("quick", 0, true=True) and counts["quick_wrongful_stock"] == 0


def test_a_low_true_score_keeps_the_true_evidence_on_a_red_list_too():
    roll = Roll()
    roll.score[0], roll.true_score[0] = 1041, 1000  # a score raised by nothing true
    counts = roll.next_day()
    assert roll.on(RED) and not roll.on(RED, true=True)
    assert counts[f"{RED}_wrongful_stock"] == 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 3), max_size=4),
                          st.lists(st.integers(900, 1100), min_size=N, max_size=N)),
                min_size=1, max_size=60))
def test_entries_less_exits_are_the_change_of_stock(days):
    roll = Roll(**{f"lists.{BLACK}.min_days": 0})
    red, deed = roll.bit("red_light"), roll.bit("good_deed")
    stock = {BLACK: 0, RED: 0}
    people = {BLACK: set(), RED: set()}
    for who, scores in days:
        roll.score[:] = roll.true_score[:] = scores
        counts = roll.next_day({j: red | deed for j in who})
        for name in (BLACK, RED):
            assert counts[f"{name}_stock"] >= 0
            assert counts[f"{name}_stock"] - stock[name] == (counts[f"{name}_entries"]
                                                              - counts[f"{name}_exits"])
            stock[name] = counts[f"{name}_stock"]
            members = {j for j in range(N) if roll.on(name, j)}
            assert stock[name] == len(members)
            assert counts[f"{name}_people"] == len(members - people[name])
            assert 0 <= counts[f"{name}_wrongful_entries"] <= counts[f"{name}_entries"]
            people[name] |= members


def test_lists_put_their_measures_in_force_by_colour():
    sc = load(SCHEME)
    names = [g.name for g in sc.scoring.grades]
    before = active_masks(sc, names, dt.date(2018, 2, 28)).lists
    after = active_masks(sc, names, dt.date(2018, 3, 1)).lists
    black, red = 3 + list(sc.lists).index(BLACK), 3 + list(sc.lists).index(RED)
    sanction = 1 << [s.name for s in sc.sanctions].index("no_credit_for_red_lights")
    reward = 1 << REWARDS_SHIFT + [r.name for r in sc.rewards].index("honour_trains")
    assert before[black] == 0 and after[black] == sanction
    assert before[red] == after[red] == reward


def test_a_scheme_without_lists_keeps_nothing_and_is_idle():
    sim = Simulation(load("china-2018").with_changes(**{"population.size": 100}))
    stage = sim.stages["lists"]
    assert not stage.active() and stage.since.nbytes == stage.days.nbytes == 0
    assert stage.on.strides == (0,) and not stage.on.any()
    span = counters(sim.scenario).spans["lists"]
    assert span.start == span.stop


def quick_scheme(**changes) -> Scenario:
    """The scheme on 2,000 citizens for four months, red lights frequent enough to list."""
    return load(SCHEME).with_changes(**{
        "population.size": 2000, "end": dt.date(2018, 4, 30), "acts.red_light.rate": 0.03,
        "acts.good_deed.rate": 0.03, **changes})


@pytest.fixture(scope="module")
def reference():
    sim = Simulation(quick_scheme())
    return sim.run(), sim


@pytest.mark.parametrize(("chunk", "threads"), [(1000, 1), (1000, 2), (65_536, 2)])
def test_the_same_bytes_for_any_chunk_size_and_thread_count(reference, chunk, threads):
    data, sim = reference
    other = Simulation(quick_scheme(), chunk_size=chunk, threads=threads)
    again = other.run()
    assert again.counts.tobytes() == data.counts.tobytes()
    for name in ("on_lists", "on_lists_true", "list_since", "list_days", "list_ever"):
        assert other.state.read(name).tobytes() == sim.state.read(name).tobytes(), name


def test_a_run_lists_sanctions_and_rewards_by_the_lists(reference):
    data, _ = reference
    total = {n: int(data.counts[:, :, i].sum()) for i, n in enumerate(data.counter_names)}
    for name in (BLACK, RED):
        assert total[f"{name}_entries"] > 0
        assert {f"{name}_{f}" for f in FIGURES} <= set(total)
    later = Simulation(quick_scheme(**{"sanctions.no_credit_for_red_lights.start":
                                       dt.date(2030, 1, 1)})).run()
    blocked = later.counter("credit_application_blocked").sum()
    assert total["credit_application_blocked"] > blocked  # the black list's sanction, from March
    assert total["honour_trains_granted"] > 0
    events = {d for k, d in zip(data.cohort.column("kind").to_pylist(),
                                data.cohort.column("detail").to_pylist(), strict=True)
              if k == "list"}
    assert {"put on the city's red-light blacklist", "put on honour roll"} <= events


def test_the_report_names_the_lists_and_their_measures(tmp_path):
    result = CliRunner().invoke(app, [
        "run", str(SCHEME), "--population", "2000", "--end", "2018-02-28", "--quiet",
        "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    run = report.load_run(tmp_path / "run")
    rows = {r.name: r for r in scheme(run.scenario, run.ts)}
    assert rows[BLACK].kind == "public blacklist: the city's red-light blacklist"
    assert rows[BLACK].on == "3 records of red light within 90 days"
    assert rows[BLACK].does == ("180 days after the last entry; or score above 1020 (none within"
                                " 30 days of an entry)")
    assert rows[BLACK].bears == "no_credit_for_red_lights"
    assert rows[RED].bears == "honour_trains" and rows[RED].kind == "red (honour) list"
    assert rows[RED].figures["entries"] is not None
    page = (tmp_path / "run" / "report.html").read_text("utf-8")
    for name in (BLACK, RED, "no_credit_for_red_lights", "honour_trains"):
        assert f"<td>{name}</td>" in page, name
    audit = pq.read_table(tmp_path / "run" / "audit.parquet").to_pylist()
    days = {r["metric"] for r in audit if r["unit"] == "person-days"}
    assert days == {f"{BLACK}_wrongful_days", f"{RED}_wrongful_days"}


def test_a_list_that_puts_nothing_in_force_is_a_warning():
    assert scheme_with().warnings() == []
    assert scheme_with(GRADE_LIST).warnings() == [
        "lists: list(s) low put no sanction or reward in force: their members are counted,"
        " nothing more"]
