"""The audit: what the system did to people, by cause and by group, as a long table of figures.

Flows come from the daily counters (events, per province); people and group rates come from
per-citizen "ever" bits that the stages keep (registry's lists ever, in its case book: on a list;
consequences' history, in bit arrays and its history book: blocked, wrongly blocked, under a
sanction, rewarded, a child barred),
read through a view of the state and counted by group once at the end of the run (:func:`tally`),
so the day loop pays a bit-or per event and one per citizen in the vectorised standing pass.
Chilling and deterrence compare the run with the same scenario and seed with fear off
(:func:`counterfactual_scenario`): thanks to common random numbers the difference is the
policy's, not noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numba import njit

from ..language.catalog import words
from ..language.scenario import Scenario
from ..stages.consequences import sanction_bits
from ..world.case_book import EVER
from ..world.layout import (
    KIN_HISTORY,
    Layout,
    blocked_attempts,
    borne_by,
    history_names,
)
from ..world.population import (
    AGE_BANDS,
    CHILD,
    URBAN,
    Population,
    band,
    decile,
    parent_of,
    region_of,
)
from ..world.state import View
from ..world.word_book import walk, word_at

if TYPE_CHECKING:
    from ..runner.rundata import RunData

SECTIONS = ("wrongful", "disparate_impact", "collective_punishment", "chilling", "deterrence",
            "attempts_vs_people", "access")
GROUP_BYS = ("province", "income_decile", "age_band", "area")
SCHEMA = pa.schema([("section", pa.string()), ("metric", pa.string()), ("group_by", pa.string()),
                    ("group", pa.string()), ("value", pa.float64()), ("unit", pa.string()),
                    ("ratio_to_national", pa.float64()), ("note", pa.string())])
# Per-citizen measures counted by group: true where the citizen's bits of one history (the
# registry's lists ever, its case book's column EVER, or the consequences' history,
# world.layout.history_names) hold any of the given bits.
LISTED, MET = "listed_ever", "met_ever"


def measures(sc: Scenario) -> dict[str, tuple[str, int]]:
    """The measures of a run of ``sc``: on a list; sanctioned, wrongly; blocked at any attempt,
    wrongly; blocked at a travel attempt (the travel propensity's, as the seed article's
    tickets); blocked at each attempt a sanction blocks; a child barred for a parent, wrongly;
    where a household (an employer) bears a sanction, a relative (a colleague) barred for a
    member, wrongly; granted each reward."""
    bit = {n: 1 << b for b, n in enumerate(history_names(sc))}
    blocked = blocked_attempts(sc)
    kids, _ = borne_by(sc, "children")

    def any_of(names: list[str]) -> int:
        return sum(bit[n] for n in names)

    return {"listed": (LISTED, 0xFF), "sanctioned": (MET, bit["sanctioned"]),
            "wrongly_sanctioned": (MET, bit["wrongly_sanctioned"]),
            "blocked": (MET, any_of([f"{a}_blocked" for a in blocked])),
            "wrongly_blocked": (MET, bit["wrongly_blocked"]),
            "travel_blocked": (MET, any_of([f"{a}_blocked" for a in blocked
                                            if sc.acts[a].propensity == "travel"])),
            "children_barred": (MET, any_of([f"{s}_children" for s in kids])),
            "children_barred_wrongly": (MET, any_of([f"{s}_children_wrongly" for s in kids])),
            **{f"{who}_barred{w}": (MET, any_of([f"{s}_{who}{w}" for s in names]))
               for who, names in kin_borne(sc) for w in ("", "_wrongly")},
            **{f"{a}_blocked": (MET, bit[f"{a}_blocked"]) for a in blocked},
            **{f"{r.name}_granted": (MET, bit[f"{r.name}_granted"]) for r in sc.rewards}}


def kin_borne(sc: Scenario) -> list[tuple[str, list[str]]]:
    """Who bears a sanction for someone else, besides children, in the history's words
    (relatives, colleagues), and the sanctions they bear: only where some sanction has them
    bear it."""
    return [(KIN_HISTORY[bearer][0], names) for bearer in ("household", "employer")
            if (names := borne_by(sc, bearer)[0])]


DENOMINATORS = ("citizens", "adults", "children")
NOT_COMPUTED = "not computed: run with --counterfactual (the same scenario and seed, fear off)"


@dataclass
class Tallies:
    """Citizens per group (``labels[group_by]``) with each measure, ``counts[group_by]``
    [group, measure] with measures in the order of ``names`` (the denominators, then the
    scenario's :func:`measures`)."""

    labels: dict[str, list[str]]
    counts: dict[str, np.ndarray]
    names: list[str]

    def get(self, group_by: str, measure: str) -> np.ndarray:
        return self.counts[group_by][:, self.names.index(measure)]


class Audit:
    """What the audit's tally reads of the state at the end of a run."""

    NAME = "audit"
    READS = ("age", "flags", "case_ids", "case_days", "sanctioned_ever", "history_ids",
             "history_words")


@njit(cache=True, nogil=True, inline="always")
def household_income(age: np.ndarray, flags: np.ndarray, i: int) -> int:
    """Income decile 0..9 of citizen i's household: a child's is its parent's."""
    p = parent_of(age, flags, i)
    return decile(flags[p] if p >= 0 else flags[i])


def group_labels(pop: Population | View) -> dict[str, list[str]]:
    """Per grouping, its groups' labels, in the order of their indices (``group_counts``)."""
    return {"total": ["all"], "province": list(pop.regions.names),
            "income_decile": [str(d) for d in range(1, 11)], "age_band": list(AGE_BANDS),
            "area": ["rural", "urban"]}


@njit(cache=True, nogil=True)
def group_counts(starts, age, flags, case_ids, listed, history, on_met, bits, first, out):
    """Add each citizen to its row of every grouping (``first``: each grouping's first row in
    ``out``; the groups as :func:`group_labels` orders them, the decile the household's,
    :func:`household_income`) in the columns citizens, adults, children and each measure (bits
    ``bits[m]`` of the history where ``on_met[m]``: ``history``, consequences' bit arrays of
    the sanctioned ever, its book's citizens and their words; else of the lists ever:
    ``listed``, of the case book's citizens ``case_ids``; both books walked along). One pass
    without an array of n: masks per measure and float weights were the run's peak, 54 bytes a
    citizen above what it holds (tracemalloc at 300,000 citizens), and the deciles' array 7
    more."""
    measures = bits.shape[0]
    row = np.empty(first.shape[0], np.int64)
    ever_sanctioned, history_ids, history_words = history
    book = hbook = 0
    for i in range(age.shape[0]):
        book, hbook = walk(case_ids, book, i), walk(history_ids, hbook, i)
        ever = word_at(case_ids, listed, book, i)
        met = word_at(history_ids, history_words, hbook, i) | sanction_bits(ever_sanctioned, i)
        adult = np.int64(band(age[i]) != CHILD)
        row[0] = first[0]
        row[1] = first[1] + region_of(starts, i)
        row[2] = first[2] + household_income(age, flags, i)
        row[3] = first[3] + band(age[i])
        row[4] = first[4] + np.int64((flags[i] & URBAN) != 0)
        for g in range(row.shape[0]):
            r = row[g]
            out[r, 0] += 1
            out[r, 1] += adult
            out[r, 2] += 1 - adult
            for m in range(measures):
                word = met if on_met[m] else ever
                out[r, 3 + m] += (word & bits[m]) != 0


def tally(view: View, sc: Scenario) -> Tallies:
    """Count, per group, the citizens with each measure of ``sc`` (``view``: an :class:`Audit`
    view)."""
    found = measures(sc)
    labels = group_labels(view)
    sizes = np.array([len(names) for names in labels.values()], np.int64)
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    out = np.zeros((int(sizes.sum()), len(DENOMINATORS) + len(found)), np.int64)
    group_counts(view.starts, view.age, view.flags, view.case_ids, view.case_days[:, EVER],
                 (view.sanctioned_ever, view.history_ids, view.history_words),
                 np.array([source == MET for source, _ in found.values()], np.bool_),
                 np.array([bits for _, bits in found.values()], np.int64).reshape(-1), first, out)
    counts = {group_by: out[f:f + k] for group_by, f, k in zip(labels, first, sizes,
                                                                 strict=True)}
    return Tallies(labels, counts, [*DENOMINATORS, *found])


def counterfactual_scenario(sc: Scenario) -> Scenario:
    """The same scenario with surveillance's behavioural feedback (fear) off."""
    if sc.fear is None or not sc.fear.enabled:
        return sc
    return sc.with_changes(**{"fear.enabled": False})


def gini(rates: np.ndarray, weights: np.ndarray) -> float | None:
    """Gini coefficient of group rates, each group weighted by its size (None if all are 0).
    Summed exactly (``math.fsum``), not by BLAS, whose dot product rounds differently from one
    machine to another: the same run gives the same bytes anywhere."""
    w = weights / max(math.fsum(weights), 1)
    mean = math.fsum(w * rates)
    if mean <= 0.0:
        return None
    pairs = w[:, None] * w[None, :] * np.abs(rates[:, None] - rates[None, :])
    return math.fsum(pairs.ravel()) / (2.0 * mean)


def _div(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """a / b, NaN where b is 0."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=b != 0)


# A figure's parts: (group_by, labels, numerator per group, denominator per group).
Part = tuple[str, list[str], np.ndarray, np.ndarray]


def by_group(tallies: Tallies, measure: str, per: str,
             group_bys: tuple[str, ...] = GROUP_BYS) -> list[Part]:
    """A tallied measure over ``per`` in total and per group."""
    return [(g, tallies.labels[g], tallies.get(g, measure), tallies.get(g, per))
            for g in ("total", *group_bys)]


def by_province(tallies: Tallies, per_region: Flows) -> list[Part]:
    """A count per province (a counter's region axis) in total and per province, per citizen."""
    citizens = tallies.get("province", "citizens")
    return [("total", ["all"], per_region.sum(keepdims=True), citizens.sum(keepdims=True)),
            ("province", tallies.labels["province"], per_region, citizens)]


class Rows:
    """The audit's rows, added figure by figure."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.rows: list[tuple] = []

    def add(self, section: str, metric: str, group_by: str, group: str, value: float | None,
            unit: str, note: str, ratio: float | None = None) -> None:
        def finite(x: float | None) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)

        self.rows.append((section, metric, group_by, group, finite(value), unit, finite(ratio),
                          note))

    def figure(self, section: str, metric: str, unit: str, note: str, parts: list[Part]) -> None:
        """One row per group of each part. A rate or ratio is numerator over denominator; a
        count of people or events is the numerator in real people. Every row's ratio to national
        compares the group's numerator per denominator with the country's."""
        _, _, num, den = parts[0]
        national = _div(num.sum(), den.sum())
        for group_by, labels, num, den in parts:
            rate = _div(num, den)
            values = rate if unit in ("rate", "ratio") else num * self.scale
            for label, value, ratio in zip(labels, values, _div(rate, national), strict=True):
                self.add(section, metric, group_by, label, value, unit, note, ratio)

    def table(self) -> pa.Table:
        return pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in self.rows],
                                    schema=SCHEMA)


NOTES = {
    "wrongful_by_false_match": "blocked attempts wrongful because a camera gave the citizen "
    "someone else's offence",
    "wrongful_by_false_flag": "blocked attempts wrongful because content review flagged a lawful "
    "post",
    "wrongful_by_stale_record": "blocked attempts wrongful because a paid debt's listing had not "
    "yet been removed (sharing delay)",
    "wrongful_by_ties_term": "blocked attempts wrongful because of points lost for the standing "
    "of ties (bad company)",
    "blocked_wrongful": "blocked attempts that the citizen's true case (no wrong record, no "
    "stale listing, no ties term) would have passed",
    "false_records": "wrong records made: channels' false records (camera false matches) and "
    "lawful posts flagged",
    "list_wrongful_days": "days spent on the list {list} by the published evidence that the true "
    "evidence (true records, the true score) would not have put there, summed over members",
    "wrongly_blocked_people": "people blocked wrongly at least once at an attempt of their own",
    "wrongly_sanctioned_people": "people under a sanction in force at least once that their "
    "true case would not carry (whether or not they met it)",
    "listing_rate": "share of the group ever on a list (court, tax exit ban, travel misconduct)",
    "sanction_rate": "share of the group ever under a sanction in force (list or grade)",
    "wrongful_sanction_rate": "share of the group ever under a sanction their true case would "
    "not carry",
    "blocked_rate": "share of the group ever blocked at an attempt",
    "wrongly_blocked_rate": "share of the group ever blocked wrongly at an attempt",
    "children_barred": "children ever barred for a parent's list or grade (a sanction borne by "
    "children); they did nothing",
    "children_barred_wrongly": "children barred for a parent whose own sanction was wrongful",
    "children_barred_rate": "share of the group's children ever barred for a parent (income: "
    "the parent's decile)",
    "relatives_barred": "people ever barred for another household member's standing (a"
    " sanction borne by a household); they did nothing",
    "relatives_barred_wrongly": "people barred for a household member whose own sanction was"
    " wrongful",
    "relatives_barred_rate": "share of the group ever barred for another household member",
    "colleagues_barred": "people ever barred, in the attempts they make for their employer, for"
    " a colleague's standing (a sanction borne by an employer); they did nothing",
    "colleagues_barred_wrongly": "people barred for a colleague whose own sanction was wrongful",
    "colleagues_barred_rate": "share of the group ever barred for a colleague",
    "barred_blocked": "a citizen's attempts refused for a parent's, household member's or"
    " colleague's standing (events)",
    "posts_not_made": "posts that the same citizens made in the run without fear (same seed), "
    "less those made with it",
    "posts_not_made_share": "posts not made over the posts made without fear",
    "offences_prevented": "offences committed without fear (same seed) less those committed "
    "with it",
    "offences_prevented_share": "offences prevented over the offences committed without fear",
    "blocked_attempts": "attempts refused (events: one person may be refused many times)",
    "blocked_people": "distinct people refused at least once",
    "attempts_per_person": "refused attempts per person refused",
    "access": "share of the income decile's {per} ever {what}; income decile of the household "
    "(a child's is its parent's); richer deciles travel and apply more, so they also meet more "
    "blocks",
    "top_to_bottom": "the richest decile's rate over the poorest's",
    "gini": "Gini coefficient of the rate across income deciles, weighted by their size (0: "
    "equal)",
}
WRONGFUL_EVENTS = ("wrongful_by_false_match", "wrongful_by_false_flag", "wrongful_by_stale_record",
                   "wrongful_by_ties_term")


def denominator(sc: Scenario, attempt: str) -> str:
    """The denominator of an attempt's rates: the children, the adults, or everyone, as its
    ``who`` admits."""
    who = sc.acts[attempt].who
    group, ages = (who, None) if isinstance(who, str) else (who.group, who.age)
    if group == "children" or ages == ["0-14"]:
        return "children"
    return "adults" if group == "adults" or (ages and "0-14" not in ages) else "citizens"


def access(sc: Scenario) -> list[tuple[str, str, str]]:
    """The access figures of ``sc``: measure, denominator, what a member of the decile met."""
    return [("travel_blocked", "adults", "refused a travel attempt (a ticket)"),
            ("children_barred", "children", "barred for a parent's standing"),
            *((f"{a}_blocked", denominator(sc, a), f"refused: {words(a)}")
              for a in blocked_attempts(sc)),
            *((f"{r.name}_granted", "children" if r.bears == "children" else "adults",
               f"favoured: {words(r.name)}") for r in sc.rewards)]


class Flows:
    """A run's counters summed over its days, per region, by name."""

    def __init__(self, data: RunData) -> None:
        self.sums = data.counts.sum(axis=0)  # [region, counter]
        self.index = {name: i for i, name in enumerate(data.counter_names)}

    def __call__(self, *names: str) -> np.ndarray:
        """The sum of the named counters, per region (zeros for none: a scheme without
        offences)."""
        return self.sums[:, [self.index[n] for n in names]].sum(axis=1)


def audit_table(data: RunData) -> pa.Table:
    """The audit of a run from its ``[day, region, counter]`` counts and its tallies; chilling
    and deterrence from its counterfactual, the same run with fear off, where it was made."""
    rows, sc = Rows(data.scale), data.scenario
    per_region, tallies = Flows(data), data.tallies
    cf = None if data.counterfactual is None else Flows(data.counterfactual)
    for add in (_wrongful, _disparate_impact, _collective_punishment, _attempts_vs_people,
                _access):
        add(rows, per_region, tallies, sc)
    _chilling(rows, per_region, cf, tallies)
    _deterrence(rows, per_region, cf, tallies, sc)
    return rows.table()


def _wrongful(rows: Rows, per_region: Flows, t: Tallies, sc: Scenario) -> None:
    for name in WRONGFUL_EVENTS:
        rows.figure("wrongful", name, "events", NOTES[name],
                    by_province(t, per_region(name)))
    for attempt in Layout.of(sc).attempts(sc):
        rows.figure("wrongful", f"{attempt}_blocked_wrongful", "events",
                    NOTES["blocked_wrongful"], by_province(t, per_region(
                        f"{attempt}_blocked_wrongful")))
    for name in sc.lists:
        rows.figure("wrongful", f"{name}_wrongful_days", "person-days",
                    NOTES["list_wrongful_days"].format(list=name),
                    by_province(t, per_region(f"{name}_wrongful_stock")))
    false = [f"{c}_false_records" for c in Layout.of(sc).false_channels]
    rows.figure("wrongful", "false_records", "events", NOTES["false_records"],
                by_province(t, per_region(*false, "content_flags_false")))
    for name, measure in (("wrongly_blocked_people", "wrongly_blocked"),
                          ("wrongly_sanctioned_people", "wrongly_sanctioned")):
        rows.figure("wrongful", name, "people", NOTES[name],
                    by_group(t, measure, "citizens", ("province",)))


def _disparate_impact(rows: Rows, per_region: Flows, t: Tallies, sc: Scenario) -> None:
    for metric, measure in (("listing_rate", "listed"), ("sanction_rate", "sanctioned"),
                            ("wrongful_sanction_rate", "wrongly_sanctioned"),
                            ("blocked_rate", "blocked"),
                            ("wrongly_blocked_rate", "wrongly_blocked")):
        rows.figure("disparate_impact", metric, "rate", NOTES[metric],
                    by_group(t, measure, "citizens"))


def _collective_punishment(rows: Rows, per_region: Flows, t: Tallies, sc: Scenario) -> None:
    section = "collective_punishment"
    for metric in ("children_barred", "children_barred_wrongly"):
        rows.figure(section, metric, "people", NOTES[metric],
                    by_group(t, metric, "children", ("province", "income_decile", "area")))
    rows.figure(section, "children_barred_rate", "rate", NOTES["children_barred_rate"],
                by_group(t, "children_barred", "children", ("province", "income_decile", "area")))
    for who, _ in kin_borne(sc):
        for metric in (f"{who}_barred", f"{who}_barred_wrongly"):
            rows.figure(section, metric, "people", NOTES[metric],
                        by_group(t, metric, "citizens", ("province", "income_decile", "area")))
        rows.figure(section, f"{who}_barred_rate", "rate", NOTES[f"{who}_barred_rate"],
                    by_group(t, f"{who}_barred", "citizens",
                             ("province", "income_decile", "area")))
    kin = {a for s in sc.sanctions if s.bears != "person" for a in s.blocks}
    for attempt in (a for a in Layout.of(sc).attempts(sc) if a in kin):
        for name in (f"{attempt}_blocked", f"{attempt}_blocked_wrongful"):
            rows.figure(section, name, "events", NOTES["barred_blocked"]
                        + (", wrongful" if "wrongful" in name else ""),
                        by_province(t, per_region(name)))


def _attempts_vs_people(rows: Rows, per_region: Flows, t: Tallies, sc: Scenario) -> None:
    for attempt in blocked_attempts(sc):
        blocked = per_region(f"{attempt}_blocked")
        people = per_region(f"{attempt}_blocked_people")
        section = "attempts_vs_people"
        rows.figure(section, f"{attempt}_blocked", "events", NOTES["blocked_attempts"],
                    by_province(t, blocked))
        rows.figure(section, f"{attempt}_blocked_people", "people", NOTES["blocked_people"],
                    by_province(t, people))
        rows.figure(section, f"{attempt}_attempts_per_person", "ratio",
                    NOTES["attempts_per_person"],
                    [("total", ["all"], blocked.sum(keepdims=True), people.sum(keepdims=True)),
                     ("province", t.labels["province"], blocked, people)])


def _access(rows: Rows, per_region: Flows, t: Tallies, sc: Scenario) -> None:
    for measure, per, what in access(sc):
        metric = f"{measure}_rate"
        rows.figure("access", metric, "rate", NOTES["access"].format(per=per, what=what),
                    by_group(t, measure, per, ("income_decile",)))
        rates = _div(t.get("income_decile", measure), t.get("income_decile", per))
        rows.add("access", f"{metric}_top_to_bottom", "income_decile", "all",
                 _div(rates[-1], rates[0]).item(), "ratio", NOTES["top_to_bottom"])
        rows.add("access", f"{metric}_gini", "income_decile", "all",
                 gini(np.nan_to_num(rates), t.get("income_decile", per).astype(float)), "gini",
                 NOTES["gini"])


def _against_counterfactual(rows: Rows, section: str, metric: str, note: str,
                            per_region: Flows, cf: Flows | None, names: tuple[str, ...],
                            t: Tallies) -> None:
    """Counts without fear less counts with it (events), and that over the counts without fear;
    rows without values where the counterfactual was not run."""
    if cf is None:
        rows.add(section, metric, "total", "all", None, "events", NOT_COMPUTED)
        rows.add(section, f"{metric}_share", "total", "all", None, "rate", NOT_COMPUTED)
        return
    without = cf(*names)
    diff = without - per_region(*names)
    rows.figure(section, metric, "events", NOTES[note], by_province(t, diff))
    rows.figure(section, f"{metric}_share", "rate", NOTES[f"{note}_share"],
                [("total", ["all"], diff.sum(keepdims=True), without.sum(keepdims=True)),
                 ("province", t.labels["province"], diff, without)])


def offences(sc: Scenario) -> list[str]:
    """The acts that fear deters and the audit counts as offences (nature offence)."""
    return [k for k, act in sc.acts.items() if act.nature == "offence"]


def daily_differences(data: RunData, counterfactual: RunData) -> dict[str, np.ndarray]:
    """Chilling and deterrence per day (real people): the fear-off run's counts less the run's,
    by name -> the counters it sums."""
    prevented = counterfactual.counts.sum(axis=1) - data.counts.sum(axis=1)  # [day, counter]
    index = {name: i for i, name in enumerate(data.counter_names)}
    differences = {"lawful_posts_not_made": ("posts_lawful",),
                   "posts_against_line_not_made": ("posts_against_line",),
                   "offences_prevented": tuple(f"acts_{k}" for k in offences(data.scenario))}
    return {name: prevented[:, [index[c] for c in names]].sum(axis=1) * data.scale
            for name, names in differences.items()}


def _chilling(rows: Rows, per_region: Flows, cf: Flows | None, t: Tallies) -> None:
    for metric, names in (("posts_not_made", ("posts_lawful", "posts_against_line")),
                          ("lawful_posts_not_made", ("posts_lawful",)),
                          ("posts_against_line_not_made", ("posts_against_line",))):
        _against_counterfactual(rows, "chilling", metric, "posts_not_made", per_region, cf, names,
                                t)


def _deterrence(rows: Rows, per_region: Flows, cf: Flows | None, t: Tallies,
                sc: Scenario) -> None:
    kinds = offences(sc)
    names = tuple(f"acts_{k}" for k in kinds)
    _against_counterfactual(rows, "deterrence", "offences_prevented", "offences_prevented",
                            per_region, cf, names, t)
    for kind, name in zip(kinds, names, strict=True):
        _against_counterfactual(rows, "deterrence", f"{kind}_prevented", "offences_prevented",
                                per_region, cf, (name,), t)


# The audit's headline figures (section, metric, group_by, group), for the end of a run; then,
# by the catalog (headline_keys), those of attempts and travel.
HEADLINE = (
    *(("wrongful", name, "total", "all") for name in WRONGFUL_EVENTS),
    ("wrongful", "wrongly_blocked_people", "total", "all"),
    ("wrongful", "wrongly_sanctioned_people", "total", "all"),
    ("disparate_impact", "sanction_rate", "total", "all"),
    ("disparate_impact", "sanction_rate", "income_decile", "1"),
    ("disparate_impact", "sanction_rate", "income_decile", "10"),
    ("disparate_impact", "sanction_rate", "area", "rural"),
    ("disparate_impact", "wrongful_sanction_rate", "total", "all"),
    ("collective_punishment", "children_barred", "total", "all"),
    ("collective_punishment", "children_barred_wrongly", "total", "all"),
    ("chilling", "lawful_posts_not_made", "total", "all"),
    ("chilling", "lawful_posts_not_made_share", "total", "all"),
    ("chilling", "posts_against_line_not_made_share", "total", "all"),
    ("deterrence", "offences_prevented", "total", "all"),
    ("deterrence", "offences_prevented_share", "total", "all"),
    ("access", "travel_blocked_rate_top_to_bottom", "income_decile", "all"),
    ("access", "children_barred_rate_top_to_bottom", "income_decile", "all"),
    ("access", "travel_blocked_rate_gini", "income_decile", "all"),
)


def headline_keys(sc: Scenario) -> list[tuple[str, str, str, str]]:
    """HEADLINE, then per travel attempt (the seed article's tickets) the blocks per person
    blocked, and per attempt a sanction blocks the richest decile's rate over the poorest's."""
    blocked = blocked_attempts(sc)
    return [*HEADLINE,
            *(("attempts_vs_people", f"{a}_attempts_per_person", "total", "all")
              for a in blocked if sc.acts[a].propensity == "travel"),
            *(("access", f"{a}_blocked_rate_top_to_bottom", "income_decile", "all")
              for a in blocked)]


def headline(audit: pa.Table, sc: Scenario, fear_off: pa.Table | None = None) -> list[dict]:
    """The headline figures of an audit table of a run of ``sc``, each with the same figure of
    the run with fear off (``fear_off``'s audit table) where it was run."""
    def index(table: pa.Table) -> dict[tuple, dict]:
        return {(r["section"], r["metric"], r["group_by"], r["group"]): r
                for r in table.to_pylist()}

    rows, other = index(audit), index(fear_off) if fear_off is not None else {}
    out = []
    for key in headline_keys(sc):
        row = rows[key]
        out.append({"section": key[0], "metric": key[1], "group_by": key[2], "group": key[3],
                    "value": row["value"], "unit": row["unit"],
                    "ratio_to_national": row["ratio_to_national"],
                    "fear_off": other[key]["value"] if key in other else None})
    return out
