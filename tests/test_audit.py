"""The audit: group rates and ratios against recounts, the cohort's lives, the story command."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language import scenario
from panopticon.observers.audit import LISTED, MET, SCHEMA, SECTIONS, Rows, gini, measures
from panopticon.observers.cohort import (
    A_TYPE,
    FEAR_JUMP,
    FIELDS,
    ROW,
    TELL_ATTEMPTS,
    TELL_FEAR,
    TELL_GRADE,
    TELL_LISTS,
    TELL_REGISTRY,
    TELL_RELATIVES,
    TELL_SCORE,
    TELL_STANDING,
    TELL_TERM,
    news,
    pick,
    set_bits,
)
from panopticon.readers.results import audit
from panopticon.runner.simulation import Simulation
from panopticon.stages.fear import ONE as RISK_ONE
from panopticon.world.case_book import EVER
from panopticon.world.codes import CONTENT_TYPES
from panopticon.world.layout import history_names
from panopticon.world.population import CHILD, URBAN

runner = CliRunner()
# The whole population is the cohort: every citizen's events are told and can be recounted.
# A poor content review makes wrongful sanctions common enough to count in a tiny run.
TINY = {"population.size": 2500, "start": dt.date(2016, 1, 1), "end": dt.date(2018, 9, 30),
        "audit.cohort_size": 2500,
        **{f"sensing.content_review.{t}.precision": 0.2 for t in CONTENT_TYPES}}


def tiny(**changes) -> scenario.Scenario:
    return scenario.load("china-2018").with_changes(**{**TINY, **changes})


@pytest.fixture(scope="module")
def run():
    sim = Simulation(tiny())
    return sim, sim.run()


def household_deciles(pop) -> np.ndarray:
    """Each citizen's household income decile: a child's is its parent's."""
    return np.where(pop.parent >= 0, pop.income[np.maximum(pop.parent, 0)], pop.income)


def told_people(events, kind: str, detail_start: str = "", wrongful: bool | None = None) -> set:
    """Citizens with an event of ``kind`` whose detail starts so (and wrongful, if given)."""
    keep = pc.and_(pc.equal(events["kind"], kind), pc.starts_with(events["detail"], detail_start))
    if wrongful is not None:
        keep = pc.and_(keep, pc.equal(events["wrongful"], wrongful))
    return set(events.filter(keep)["citizen"].to_pylist())


def test_ever_bits_match_the_lives_told(run):
    """Each per-citizen bit the kernels set matches what the cohort saw happen, citizen by
    citizen (the cohort works standing out again from the state's arrays)."""
    sim, data = run
    ev, met = data.cohort, sim.stages["consequences"].history()
    refused = {what: told_people(ev, "blocked", f"{what} refused")
               for what in ("plane ticket", "train ticket", "trip abroad", "job application",
                            "credit application", "school application")}
    plane = 1 << history_names(sim.scenario).index("plane_ticket_blocked")
    assert set(np.flatnonzero(met & plane)) == refused["plane ticket"]
    assert refused["plane ticket"] and refused["train ticket"]
    blocked = set().union(*refused.values())
    tallies = data.tallies
    assert tallies.get("total", "blocked")[0] == len(blocked)
    # a child refused for a parent's standing is barred, not wrongly blocked for their own
    wrongly = (told_people(ev, "blocked", "", True)
               - told_people(ev, "blocked", "school application"))
    assert tallies.get("total", "wrongly_blocked")[0] == len(wrongly) > 0
    assert tallies.get("total", "sanctioned")[0] == len(told_people(ev, "sanction", "now under"))
    listed = (told_people(ev, "registry", "listed as") | told_people(ev, "registry", "exit ban")
              | told_people(ev, "registry", "put on the travel"))
    assert tallies.get("total", "listed")[0] == len(listed) > 0
    assert tallies.get("total", "children_barred")[0] == len(told_people(ev, "family", "barred"))
    assert tallies.get("total", "transport_discount_granted")[0] == len(
        told_people(ev, "reward", "plane ticket favoured: transport discount")
        | told_people(ev, "reward", "train ticket favoured: transport discount"))
    people = data.counts[:, :, data.counter_names.index("plane_ticket_blocked_people")].sum()
    assert people == len(refused["plane ticket"])


def test_group_rates_and_ratios_match_a_recount(run):
    sim, data = run
    table = audit(data).to_pylist()
    rows = {(r["section"], r["metric"], r["group_by"], r["group"]): r for r in table}
    pop, met = sim.pop, sim.stages["consequences"].history()
    bits = measures(sim.scenario)["sanctioned"][1]
    income = household_deciles(pop)
    people, sanctioned = defaultdict(int), defaultdict(int)
    for i in range(pop.size):  # one citizen at a time, as a person would count
        people[int(income[i])] += 1
        sanctioned[int(income[i])] += bool(met[i] & bits)
    national = sum(sanctioned.values()) / pop.size
    assert national > 0
    total = rows[("disparate_impact", "sanction_rate", "total", "all")]
    assert total["value"] == pytest.approx(national) and total["unit"] == "rate"
    for d in range(10):
        row = rows[("disparate_impact", "sanction_rate", "income_decile", str(d + 1))]
        assert row["value"] == pytest.approx(sanctioned[d] / people[d])
        assert row["ratio_to_national"] == pytest.approx(sanctioned[d] / people[d] / national)
    for group_by in ("province", "age_band", "area", "income_decile"):
        shares = [r for r in table if r["metric"] == "listing_rate" and r["group_by"] == group_by]
        n = data.tallies.get(group_by, "citizens")
        assert sum(r["value"] * k for r, k in zip(shares, n, strict=True)) == pytest.approx(
            rows[("disparate_impact", "listing_rate", "total", "all")]["value"] * pop.size)


def test_every_tallied_measure_and_group_matches_a_recount_with_numpy(run):
    """The one-pass tally against bincounts of each measure's mask in each grouping."""
    sim, data = run
    view, tallies = sim.views["audit"], data.tallies
    adult = sim.pop.band != CHILD
    listed = np.zeros(view.size, np.int64)  # the lists ever, from the case book's rows
    listed[view.case_ids] = view.case_days[:, EVER]
    assert listed.any()
    words = {LISTED: listed, MET: sim.stages["consequences"].history()}
    masks = {"citizens": np.ones(view.size, bool), "adults": adult, "children": ~adult,
             **{name: (words[source] & bits) != 0
                for name, (source, bits) in measures(sim.scenario).items()}}
    index = {"total": np.zeros(view.size, np.int64), "province": sim.pop.region,
             "income_decile": household_deciles(sim.pop), "age_band": sim.pop.band,
             "area": (view.flags & URBAN) != 0}
    assert tallies.names == list(masks)
    assert sum(tallies.get("total", m)[0] > 0 for m in masks) > 8  # measures met in this run
    for group_by, groups in index.items():
        for name, mask in masks.items():
            np.testing.assert_array_equal(
                tallies.get(group_by, name),
                np.bincount(groups, weights=mask, minlength=len(tallies.labels[group_by])),
                err_msg=f"{name} by {group_by}")


def test_audit_table_has_the_shared_schema_and_every_section(run):
    _, data = run
    table = audit(data)
    assert table.schema == SCHEMA
    assert sorted(set(table["section"].to_pylist())) == sorted(SECTIONS)
    chilling = table.filter(pc.equal(table["section"], "chilling")).to_pylist()
    assert all(r["value"] is None and "not computed" in r["note"] for r in chilling)


def test_counterfactual_counts_what_fear_prevented(run):
    from panopticon.runner.seeds import run_counterfactual

    _, data = run
    data.counterfactual = run_counterfactual(data)
    rows = {(r["metric"], r["group_by"], r["group"]): r for r in audit(data).to_pylist()}
    data.counterfactual = None
    assert rows[("lawful_posts_not_made", "total", "all")]["value"] > 0
    assert 0 < rows[("posts_against_line_not_made_share", "total", "all")]["value"] < 1
    assert rows[("offences_prevented", "total", "all")]["value"] > 0


def test_ratio_of_a_figure_compares_rates_per_group():
    rows = Rows(scale=10.0)
    rows.figure("s", "m", "people", "n", [("total", ["all"], np.array([30]), np.array([300])),
                                          ("area", ["rural", "urban"], np.array([10, 20]),
                                           np.array([200, 100]))])
    got = {r[3]: (r[4], r[6]) for r in rows.rows}
    assert got == {"all": (300.0, 1.0), "rural": (100.0, 0.5), "urban": (200.0, 2.0)}
    rows.figure("s", "r", "rate", "n", [("area", ["a", "b"], np.array([0, 0]), np.array([5, 0]))])
    assert rows.rows[-2][4] == 0.0 and rows.rows[-2][6] is None  # 0 / 0 national: no ratio
    assert rows.rows[-1][4] is None  # no one in the group: no rate


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 100)), min_size=1, max_size=12))
def test_group_rates_average_to_the_national_rate(groups):
    num = np.array([min(a, b) for a, b in groups])
    den = np.array([b for _, b in groups])
    rows = Rows(scale=1.0)
    labels = [str(g) for g in range(len(groups))]
    rows.figure("s", "m", "rate", "n", [("total", ["all"], num.sum(keepdims=True),
                                         den.sum(keepdims=True)), ("g", labels, num, den)])
    national, *per_group = rows.rows
    assert sum(r[4] * d for r, d in zip(per_group, den, strict=True)) == pytest.approx(
        national[4] * den.sum())
    for r in per_group:
        assert r[6] is None if national[4] == 0 else r[6] == pytest.approx(r[4] / national[4])
    g = gini(num / den, den.astype(float))
    assert g is None if num.sum() == 0 else 0.0 <= g < 1.0


@given(rates=st.lists(st.floats(0, 1), min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_a_gini_is_summed_exactly_so_the_groups_order_does_not_touch_a_bit(rates, seed):
    """Sums in any order (BLAS's on another machine) would round differently."""
    rng = np.random.default_rng(seed)
    r, w = np.array(rates), rng.integers(1, 10**6, len(rates)).astype(float)
    order = rng.permutation(len(rates))
    assert gini(r[order], w[order]) == gini(r, w)


def test_gini_across_groups():
    assert gini(np.array([0.1, 0.1, 0.1]), np.ones(3)) == pytest.approx(0.0)
    assert gini(np.array([0.0, 1.0]), np.ones(2)) == pytest.approx(0.5)
    assert gini(np.array([0.0, 1.0]), np.array([3.0, 1.0])) == pytest.approx(0.75)
    assert gini(np.zeros(4), np.ones(4)) is None


def test_cohort_is_the_same_for_any_chunks_and_threads():
    sc = tiny(**{"population.size": 3000, "audit.cohort_size": 40,
                 "start": dt.date(2017, 11, 1), "end": dt.date(2018, 2, 28)})
    tables = [Simulation(sc, chunk_size=c, threads=t).run() for c, t in ((65_536, 1), (333, 2))]
    assert tables[0].cohort.num_rows > 40
    assert tables[0].cohort.equals(tables[1].cohort)
    for group_by, counts in tables[0].tallies.counts.items():
        np.testing.assert_array_equal(counts, tables[1].tallies.counts[group_by])
    ids = sorted(set(tables[0].cohort["citizen"].to_pylist()))
    assert ids == pick(3000, 40, sc.seed).tolist() != pick(3000, 40, sc.seed + 1).tolist()


def told_parts(now: np.ndarray, before: np.ndarray, acts: np.ndarray, records: np.ndarray,
               tried: int) -> int:
    """What ``news`` should say, written with numpy from each part's own test."""
    moved = {name: now[ROW[name]] != before[ROW[name]] for name in FIELDS}
    risk, was = now[ROW["risk"]] / RISK_ONE, before[ROW["risk"]] / RISK_ONE
    parts = ((TELL_REGISTRY, moved["status"] | (now[ROW["shared"]] != 0)),
             (TELL_TERM, moved["term"]), (TELL_SCORE, moved["score"] & (records != 0)),
             (TELL_GRADE, moved["grade"]),
             (TELL_LISTS, moved["on"]), (TELL_STANDING, moved["sanc"]),
             (TELL_ATTEMPTS, (acts & tried) != 0), (TELL_RELATIVES, moved["family"]),
             (TELL_FEAR, risk - was >= FEAR_JUMP))
    return sum(bit for bit, where in parts if where.any())


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.floats(0.0, 1.0))
def test_the_story_tells_exactly_the_parts_that_have_news(seed, members, moving):
    """``news`` names a part of the day's story exactly where that part has a row to tell."""
    rng = np.random.default_rng(seed)
    before = rng.integers(0, 4, (len(FIELDS), members))
    before[ROW["risk"]] = rng.integers(0, RISK_ONE + 1, members)
    now = np.where(rng.random(before.shape) < moving / 4, rng.integers(0, 4, before.shape),
                   before)
    now[ROW["risk"]] = np.clip(before[ROW["risk"]] + rng.integers(-16, 16, members), 0,
                               RISK_ONE)
    acts, records = rng.integers(0, 16, members), rng.integers(0, 3, members)
    assert news(now, before, acts, records, 0b1010) == told_parts(now, before, acts, records,
                                                                  0b1010)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**20), max_size=30), st.lists(st.integers(0, 19), min_size=1,
                                                              max_size=8, unique=True))
def test_set_bits_are_the_word_bits_by_member_then_event(words, positions):
    words, bits = np.array(words, np.int64), np.array([1 << p for p in positions], np.int64)
    pos, col = set_bits(words, bits)
    want_pos, want_col = np.nonzero((words[:, None] & bits[None, :]) != 0)
    np.testing.assert_array_equal(pos, want_pos)
    np.testing.assert_array_equal(col, want_col)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = runner.invoke(app, ["run", "china-2018", "--population", "3000", "--start",
                                 "2017-06-01", "--end", "2018-06-30", "--quiet",
                                 "--counterfactual", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_run_prints_the_audit_beside_the_run_without_fear(folder):
    out, output = folder
    assert "The audit" in output and "fear off" in output and "lawful_posts_not_made" in output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counterfactual"] is True
    chilling = [r for r in summary["audit"] if r["section"] == "chilling"]
    assert chilling and all(r["value"] is not None for r in chilling)
    ts = pq.read_table(out / "timeseries.parquet")
    assert pc.sum(ts["lawful_posts_not_made"]).as_py() == pytest.approx(next(
        r["value"] for r in summary["audit"] if r["metric"] == "lawful_posts_not_made"))
    cohort = pq.read_table(out / "cohort.parquet")
    assert cohort.schema.names == ["citizen", "date", "kind", "detail", "wrongful"]
    assert len(set(cohort["citizen"].to_pylist())) == 1000
    profiles = cohort.filter(pc.equal(cohort["kind"], "profile"))
    assert profiles.num_rows == 1000 and all(" income decile " in d
                                             for d in profiles["detail"].to_pylist())


def test_story_tells_a_life(folder):
    out, _ = folder
    told = runner.invoke(app, ["story", str(out)])
    assert told.exit_code == 0, told.output
    assert told.output.startswith("Citizen ") and "What it cost them" in told.output
    member = pq.read_table(out / "cohort.parquet")["citizen"][0].as_py()
    one = runner.invoke(app, ["story", str(out), "--citizen", str(member)])
    assert one.exit_code == 0 and one.output.startswith(f"Citizen {member}:")


@pytest.mark.parametrize(("args", "expected"), [
    (["--citizen", "-5"], "--citizen: -5 is not in the cohort"),
    (["--citizen", "99999999"], "--citizen: 99999999 is not in the cohort"),
])
def test_a_citizen_outside_the_cohort_is_a_one_line_error(folder, args, expected):
    out, _ = folder
    result = runner.invoke(app, ["story", str(out), *args])
    assert result.exit_code == 2
    assert expected in result.output and len(result.output.strip().splitlines()) == 1


def test_story_of_a_folder_without_a_cohort_is_a_message(tmp_path):
    result = runner.invoke(app, ["story", str(tmp_path)])
    assert result.exit_code == 2 and "RUN:" in result.output and "Traceback" not in result.output


def test_a_post_against_the_line_is_told_with_its_content_type(run):
    _, data = run
    ev = data.cohort
    told = ev.filter(pc.match_substring(ev["detail"], "against the official line"))
    acts = set(told.filter(pc.equal(told["kind"], "act"))["detail"].to_pylist())
    assert acts == {f"posted {a} against the official line" for a in A_TYPE.values()}
