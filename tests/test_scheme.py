"""The scheme section: every list, sanction and reward of a run's scenario by name, with figures
that are the timeseries' own, for the catalog's names, an older run's kinds and names a later
catalog may give."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.scenario import PRESETS, load
from panopticon.readers import report
from panopticon.readers.scheme import NO_COUNTER, Row, scheme

# a month in which plane bans, though on every grade, start only after the run, and train bans
# on every grade are in force: planes must show no block, trains some
LATE = """extends = "china-2018"
name = "late-plane-ban"

[[sanctions]]
name = "plane_ban"
grades = ["AAA", "AA", "A", "B", "C", "D"]
start = 2030-01-01

[[sanctions]]
name = "train_ban"
grades = ["AAA", "AA", "A", "B", "C", "D"]
"""
# the counters of the attempt each sanction blocks, written out here rather than taken from the
# module under test: attempts, blocked, blocked wrongfully
ATTEMPT_COLUMNS = {
    sanction: tuple(f"{attempt}_{f}" for f in ("attempts", "blocked", "blocked_wrongful"))
    for sanction, attempt in (("plane_ban", "plane_ticket"), ("train_ban", "train_ticket"),
                              ("exit_ban", "trip_abroad"), ("job_ban", "job_application"),
                              ("credit_denied", "credit_application"),
                              ("school_ban", "school_application"))}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> report.Run:
    folder = tmp_path_factory.mktemp("scheme")
    (folder / "late.toml").write_text(LATE, "utf-8")
    result = CliRunner().invoke(app, [
        "run", str(folder / "late.toml"), "--population", "5000", "--start", "2018-01-01",
        "--end", "2018-01-31", "--quiet", "--out", str(folder / "run")])
    assert result.exit_code == 0, result.output
    return report.load_run(folder / "run")


def rows_of(run: report.Run, table: str) -> dict[str, Row]:
    return {r.name: r for r in scheme(run.scenario, run.ts) if r.table == table}


def total(run: report.Run, column: str) -> float:
    return float(run.ts.column(column).to_numpy().sum())


@pytest.mark.parametrize("preset", PRESETS)
def test_section_names_every_list_sanction_and_reward_of_each_preset(run, preset):
    data = tomllib.loads(load(preset).to_toml())
    html = report.scheme_html(dataclasses.replace(run, scenario=data))
    names = ["court", "tax", "travel_misconduct", *(s["name"] for s in data["sanctions"]),
             *(w["name"] for w in data.get("rewards", []))]
    for name in names:
        assert f"<td>{name}</td>" in html, name
    assert NO_COUNTER not in html  # every built-in kind has its counters


def test_report_of_the_run_holds_the_section(run):
    page = (run.folder / "report.html").read_text("utf-8")
    assert '<section id="scheme">' in page
    assert "<td>plane_ban</td>" in page and "never in force in it" in page


def test_a_sanction_that_starts_after_the_run_blocks_nothing(run):
    sanctions = rows_of(run, "sanctions")
    plane, train = sanctions["plane_ban"], sanctions["train_ban"]
    assert plane.start == "2030-01-01" and "never in force" in plane.note
    assert plane.on == "lists court, travel_misconduct; grades AAA, AA, A, B, C, D"
    assert plane.figures["attempts"] > 0
    assert plane.figures["blocked"] == plane.figures["blocked_people"] == 0
    assert train.figures["blocked"] > 0 and "never in force" not in train.note


def test_figures_are_the_timeseries_totals(run):
    sanctions = rows_of(run, "sanctions")
    for kind, (attempts, blocked, wrongful) in ATTEMPT_COLUMNS.items():
        row = sanctions[kind]
        assert row.figures["attempts"] == pytest.approx(total(run, attempts))
        assert row.figures["blocked"] == pytest.approx(total(run, blocked))
        assert row.figures["blocked_wrongful"] == pytest.approx(total(run, wrongful))
    assert sanctions["train_ban"].figures["blocked_people"] == pytest.approx(
        total(run, "train_ticket_blocked_people"))
    assert sanctions["management_ban"].figures["stock"] == run.last("management_ban_stock")
    assert sanctions["management_ban"].figures["attempts"] is None
    court = rows_of(run, "lists")["court"]
    assert court.figures["entries"] == pytest.approx(total(run, "new_listings"))
    assert court.figures["stock"] == run.last("listed_stock")
    assert court.figures["exits"] == pytest.approx(
        total(run, "paid_after_listing") + total(run, "listing_expired"))
    assert "plane_ban" in court.bears and "exit_ban" not in court.bears  # what it puts in force
    rewards = rows_of(run, "rewards")
    assert rewards["transport_discount"].figures["granted"] == pytest.approx(
        total(run, "transport_discount_granted"))
    assert rewards["better_jobs"].figures["granted"] == pytest.approx(
        total(run, "better_jobs_granted"))


FUTURE = {
    "lists": {"parking_blacklist": {
        "colour": "black", "entry": [{"record": "unpaid_parking", "count": 3, "within_days": 365}],
        "exit": [{"after_days": 365}]}},
    "sanctions": [
        {"name": "no_bank_loans", "on": {"lists": ["parking_blacklist"], "score_below": 600},
         "blocks": ["loan_application"], "bears": "household",
         "start": dt.date(2018, 1, 15), "end": dt.date(2023, 12, 31)},
        {"kind": "housing_ban", "grades": ["D"]},
        {"kind": "plane_ban", "lists": ["parking_blacklist"]},
    ],
    "rewards": [{"name": "bus_discount", "on": {"lists": ["volunteer_honour"]},
                 "grants": ["bus_ticket"]}],
}


def test_names_no_version_knows_are_shown_with_their_rules_and_no_counter(run):
    future = dataclasses.replace(run, scenario=run.scenario | FUTURE)
    rows = {r.name: r for r in scheme(future.scenario, future.ts)}
    loans = rows["no_bank_loans"]
    assert (loans.on, loans.start, loans.end) == (
        "lists parking_blacklist; score below 600", "2018-01-15", "2023-12-31")
    assert loans.does == "loan application"
    assert loans.bears == "the other members of their household"
    assert loans.note == NO_COUNTER and set(loans.figures.values()) == {None}
    assert rows["housing_ban"].does == "not known" and rows["housing_ban"].note == NO_COUNTER
    assert rows["bus_discount"].note == NO_COUNTER
    assert rows["parking_blacklist"].on == "3 records of unpaid parking within 365 days"
    assert rows["parking_blacklist"].does == "365 days after the last entry"
    assert rows["parking_blacklist"].bears == "no_bank_loans, plane_ban"
    assert rows["volunteer_honour"].bears == "bus_discount"  # named by a reward, not declared
    assert rows["court"].kind == "process"  # the process lists are every scheme's
    html = "".join(body for *_, body in report.sections(future))
    for name in ("no_bank_loans", "housing_ban", "bus_discount", "parking_blacklist"):
        assert f"<td>{name}</td>" in html
    assert NO_COUNTER in html


def test_counters_named_from_the_catalog_are_read_first():
    ts = pa.table({"loan_application_attempts": np.array([5.0, 7.0]),
                   "loan_application_blocked": np.array([1.0, 2.0]),
                   "loan_application_blocked_wrongful": np.array([0.0, 1.0]),
                   "no_bank_loans_stock": np.array([3.0, 4.0]),
                   "plane_ticket_blocked": np.array([9.0, 9.0]),
                   "plane_blocked": np.array([1.0, 1.0])})
    rows = {r.name: r for r in scheme(FUTURE, ts)}
    loans = rows["no_bank_loans"]
    assert loans.figures == {"attempts": 12.0, "blocked": 3.0, "blocked_wrongful": 1.0,
                             "blocked_people": None, "stock": 4.0}
    assert loans.wrongful_share == pytest.approx(1 / 3) and loans.note == ""
    assert rows["plane_ban"].figures["blocked"] == 18.0  # the catalog's name, not today's


def test_a_list_figure_that_two_counters_make_today_is_their_sum():
    ts = pa.table({"paid_after_listing": np.array([1.0, 2.0]),
                   "listing_expired": np.array([3.0, 0.0]), "listed_stock": np.array([5.0, 4.0])})
    court = {r.name: r for r in scheme({}, ts)}["court"]
    assert court.figures == {"entries": None, "people": None, "stock": 4.0, "exits": 6.0,
                             "wrongful_stock": None, "wrongful_entries": None}


def test_an_attempt_blocked_by_two_sanctions_says_its_figures_are_shared(run):
    both = [{"kind": "credit_denied", "grades": ["D"]},
            {"name": "loan_refusal", "lists": ["court"], "blocks": ["credit_application"]}]
    rows = {r.name: r for r in scheme(run.scenario | {"sanctions": both}, run.ts)}
    assert "also by loan_refusal" in rows["credit_denied"].note
    assert "also by credit_denied" in rows["loan_refusal"].note
    assert rows["loan_refusal"].figures["blocked"] == rows["credit_denied"].figures["blocked"]
