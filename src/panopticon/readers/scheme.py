"""The scheme of a run: every list, sanction and reward by its name, with the run's figures.

A scenario declares its own acts, sanctions and rewards by any name, and the run's counters are
named from that catalog (docs/design/catalog.md): ``<attempt>_attempts``, ``<attempt>_blocked``,
``<attempt>_blocked_wrongful``, ``<attempt>_blocked_people``, ``<sanction>_stock``,
``<reward>_granted``, and a list's ``<list>_entries``, ``<list>_people``, ``<list>_stock``,
``<list>_exits``, ``<list>_wrongful_stock``, ``<list>_wrongful_entries`` (the scheme's own
lists, ``[lists.NAME]``). Figures are looked up by those names first; ``LISTS_TODAY`` maps the
process lists' names (court, tax, travel_misconduct) to the columns this version writes,
``OLD_COLUMNS`` the others to the columns of runs made before the catalog, so that run folders
of either kind read the same. The kinds of those older runs say what they block and who bears
them in ``BUILT_IN``, as the catalog's items say themselves. An item known to neither is still
shown, with its triggers and dates, and no figures (a figure a run lacks, such as the wrongful
entries of runs made before they were counted, is shown as "-").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..language.catalog import BORNE_FOR, words

# what a kind of a run before the catalog blocks (a sanction) or grants (a reward), and who bears
# it: the catalog's ``blocks``/``grants`` and ``bears`` for the kinds of those runs
BUILT_IN: dict[str, tuple[tuple[str, ...], str]] = {
    "plane_ban": (("plane_ticket",), "person"),
    "train_ban": (("train_ticket",), "person"),
    "exit_ban": (("trip_abroad",), "person"),
    "job_ban": (("job_application",), "person"),
    "credit_denied": (("credit_application",), "person"),
    "school_ban": (("school_application",), "children"),
    "management_ban": (("management_role",), "person"),
    "internet_throttle": (("internet",), "person"),
    "transport_discount": (("plane_ticket", "train_ticket"), "person"),
    "easy_credit": (("credit_application",), "person"),
    "better_jobs": (("job_application",), "person"),
    "institution_access": (("school_application",), "children"),
}
# the built-in lists, which a scenario does not declare: what enters one, what takes one off
BUILT_IN_LISTS: dict[str, tuple[str, str]] = {
    "court": ("a court judgment left unpaid past the grace period (court.grace_days)",
              "payment, or the listing's term (court.listing_days)"),
    "tax": (("tax arrears unpaid past a delay, for a share of cases (tax.exit_ban_after_days, "
             "tax.exit_ban_share)"), "payment of the arrears"),
    "travel_misconduct": ("misconduct on board a plane or train",
                          "the end of its term (registry.misconduct_list_days)"),
}
# the attempts of a run before the catalog (its scenario.toml says no nature), and standings
# (held, counted as a stock) in words
OLD_ATTEMPTS = ("plane_ticket", "train_ticket", "trip_abroad", "job_application",
                "credit_application", "school_application")
STANDINGS: dict[str, str] = {"management_role": "management role", "internet": "internet use"}
BEARS: dict[str, str] = {"person": "the person", "children": "their children",
                         "household": "the other members of their household",
                         "employer": "their employer (the other workers of their workplace)"}
# who is kept out for someone else's standing, besides children: what they are called, and
# whose standing it is, by bearer
KEPT_OUT = {bearer: kept for bearer, kept in BORNE_FOR.items() if bearer != "children"}
# a process list's catalog counter -> the columns the registry writes it as (summed)
LISTS_TODAY: dict[str, tuple[str, ...]] = {
    "court_entries": ("new_listings",), "court_people": ("new_listed_people",),
    "court_stock": ("listed_stock",), "court_exits": ("paid_after_listing", "listing_expired"),
    "tax_entries": ("exit_bans_new",), "tax_stock": ("exit_ban_stock",),
    "travel_misconduct_entries": ("misconduct_listed",),
    "travel_misconduct_stock": ("misconduct_stock",),
}
# a catalog counter -> the column a run made before the catalog wrote it as, for old run folders
OLD_COLUMNS: dict[str, str] = {
    **{f"{a}_{figure}": f"{mode}_{figure}" for a, mode in (
        ("plane_ticket", "plane"), ("train_ticket", "train"))
       for figure in ("attempts", "blocked", "blocked_wrongful", "blocked_people")},
    "trip_abroad_attempts": "exit_attempts", "trip_abroad_blocked": "exit_blocked",
    "trip_abroad_blocked_wrongful": "exit_blocked_wrongful",
    "job_application_attempts": "job_applications",
    "job_application_blocked": "jobs_blocked",
    "job_application_blocked_wrongful": "jobs_blocked_wrongful",
    "credit_application_attempts": "credit_applications",
    "credit_application_blocked": "credit_denied",
    "credit_application_blocked_wrongful": "credit_denied_wrongful",
    "school_application_attempts": "school_applications",
    "school_application_blocked": "schools_blocked",
    "school_application_blocked_wrongful": "schools_blocked_wrongful",
    "internet_throttle_stock": "internet_throttled_stock",
    "school_ban_stock": "children_affected_stock", "school_ban_people": "children_barred_people",
    "transport_discount_granted": "transport_discounts",
    "easy_credit_granted": "easy_credit", "better_jobs_granted": "better_jobs",
    "institution_access_granted": "institution_access",
    "cameras_false_records": "camera_false_matches",
}
# each table's figures: catalog suffix, and whether it is summed over the run or read last day
LIST_FIGURES = (("entries", "run"), ("people", "run"), ("stock", "last"), ("exits", "run"),
                ("wrongful_stock", "last"), ("wrongful_entries", "run"))
ATTEMPT_FIGURES = (("attempts", "run"), ("blocked", "run"), ("blocked_wrongful", "run"),
                   ("blocked_people", "run"))
NO_COUNTER = "no counter in this run"


@dataclass(frozen=True)
class Row:
    """One line of the scheme: a list, or a sanction or reward and one thing it blocks or grants.

    ``figures`` are in real people or events, keyed by catalog suffix (``blocked``, ``stock``),
    None where the run counts none.
    """

    table: str  # lists, sanctions, rewards
    name: str
    on: str  # what puts it in force; for a list, what enters it
    start: str  # ISO date; "" for a list
    end: str  # ISO date, or "" where it runs to the end
    does: str  # what it blocks or grants; for a list, what takes one off it
    bears: str  # who bears it; for a list, the sanctions and rewards it puts in force
    figures: dict[str, float | None]
    note: str
    kind: str = ""  # a list's: process, or black or red, public or not

    @property
    def wrongful_share(self) -> float | None:
        blocked, wrongful = self.figures.get("blocked"), self.figures.get("blocked_wrongful")
        if blocked is None or wrongful is None:
            return None
        return wrongful / blocked if blocked else 0.0


def columns(counter: str, present: set[str]) -> tuple[str, ...] | None:
    """The run's columns that hold a catalog counter: its own name, else a list's columns of
    today (``LISTS_TODAY``) or an older run's (``OLD_COLUMNS``); None where the run has none."""
    if counter in present:
        return (counter,)
    found = LISTS_TODAY.get(counter) or ((OLD_COLUMNS[counter],) if counter in OLD_COLUMNS
                                         else None)
    return found if found and set(found) <= present else None


def with_catalog_names(table: pa.Table) -> pa.Table:
    """An older run's table (timeseries, regions) with its columns of attempts, sanctions,
    rewards and channels under their catalog names (``OLD_COLUMNS``), so that readers know
    one name for each; a table of this version is returned as it is."""
    old = {column: new for new, column in OLD_COLUMNS.items()
           if column in table.column_names and new not in table.column_names}
    if not old:
        return table
    return table.rename_columns([old.get(c, c) for c in table.column_names])


def figure(ts: pa.Table, counter: str, how: str) -> float | None:
    """A counter summed over the run (``run``) or read on its last day (``last``)."""
    found = columns(counter, set(ts.column_names))
    if found is None:
        return None
    values = sum(ts.column(c).to_numpy().astype(np.float64) for c in found)
    return float(values.sum() if how == "run" else values[-1])


def scheme(scenario: dict, ts: pa.Table) -> list[Row]:
    """Every list, sanction and reward of ``scenario`` (a run's scenario.toml, as read), with
    ``ts``'s figures (a timeseries of counter columns, scaled to real people)."""
    measures = [("sanctions", item) for item in scenario.get("sanctions", [])] + [
        ("rewards", item) for item in scenario.get("rewards", [])]
    blockers: dict[str, list[str]] = {}
    for table, item in measures:
        if table == "sanctions":
            for act in acts(item, "blocks")[0]:
                blockers.setdefault(act, []).append(name_of(item))
    rows = list(list_rows(scenario, measures, ts))
    for table, item in measures:
        rows += measure_rows(table, item, scenario, ts, blockers)
    return rows


# acts of a run before the catalog that were no offences (its scenario.toml says no nature)
NOT_OFFENCES = ("online_post", "good_deed", "plane_ticket", "train_ticket")


def offences(scenario: dict) -> list[str]:
    """The acts a run's scenario counts as offences (nature offence; an older run's: all but
    NOT_OFFENCES)."""
    return [k for k, act in scenario.get("acts", {}).items()
            if act.get("nature", "civic" if k in NOT_OFFENCES else "offence") == "offence"]


def attempts(scenario: dict) -> list[str]:
    """The attempts of a run's scenario (an older run's: ``OLD_ATTEMPTS``)."""
    acts = scenario.get("acts", {})
    if any("nature" in act for act in acts.values()):
        return [k for k, act in acts.items() if act.get("nature") == "attempt"]
    return list(OLD_ATTEMPTS)


def false_channels(scenario: dict) -> dict[str, str]:
    """The channels of a run's scenario that make false records, and the act those claim (an
    older run's: its cameras, of jaywalking)."""
    if "channels" not in scenario:
        return {"cameras": "jaywalking"}
    return {name: str(c.get("false_as")) for name, c in scenario["channels"].items()
            if c.get("false_as", "none") != "none"}


def borne_by(scenario: dict, bearer: str) -> list[str]:
    """The sanctions of a run's scenario that ``bearer`` (children, household, employer) bears
    for someone else (an older run's: its school ban, borne by children)."""
    return [name_of(s) for s in scenario.get("sanctions", []) if acts(s, "blocks")[1] == bearer]


def name_of(item: dict) -> str:
    return str(item.get("name") or item.get("kind"))


def acts(item: dict, verb: str) -> tuple[tuple[str, ...], str]:
    """What an item blocks or grants (``verb``), and who bears it: its own catalog fields, else
    its built-in kind's; nothing known for a name that is neither."""
    built = BUILT_IN.get(str(item.get("kind", item.get("name"))), ((), "person"))
    return tuple(item.get(verb, built[0])), str(item.get("bears", built[1]))


def triggers(item: dict) -> dict[str, list]:
    """What puts an item in force: the catalog's ``on`` table, or today's fields."""
    on = item.get("on", item)
    return {k: on[k] if isinstance(on[k], list) else [on[k]]
            for k in ("lists", "grades", "score_below", "score_above")
            if on.get(k) not in (None, [])}


def list_rows(scenario: dict, measures: list[tuple[str, dict]], ts: pa.Table) -> Iterator[Row]:
    """The process lists, the lists the scenario declares, and any that a sanction or reward
    names besides, each with what it puts in force."""
    declared = scenario.get("lists", {})
    declared = declared if isinstance(declared, dict) else {}
    names = [*BUILT_IN_LISTS, *declared]
    users: dict[str, list[str]] = {}
    for _, item in measures:
        for name in triggers(item).get("lists", []):
            users.setdefault(str(name), []).append(name_of(item))
    names += [n for n in users if n not in names]
    for name in names:
        item = declared.get(name)
        entry, exit_ = ((_rules(item.get("entry"), "entry"), _exits(item)) if item
                        else BUILT_IN_LISTS.get(name, ("not known", "not known")))
        figures = {suffix: figure(ts, f"{name}_{suffix}", how) for suffix, how in LIST_FIGURES}
        yield Row("lists", name, entry, "", "", exit_, ", ".join(users.get(name, [])) or "none",
                  figures, "" if any(v is not None for v in figures.values()) else NO_COUNTER,
                  _kind(item) if item else "process")


def measure_rows(table: str, item: dict, scenario: dict, ts: pa.Table,
                 blockers: dict[str, list[str]]) -> Iterator[Row]:
    """A sanction's rows, one per thing it blocks, or a reward's row."""
    name = name_of(item)
    what, bears = acts(item, "blocks" if table == "sanctions" else "grants")
    on = "; ".join(f"{k.replace('_', ' ')} {', '.join(map(str, v))}"
                   for k, v in triggers(item).items()) or "nothing"
    start, end = str(item.get("start") or scenario.get("start", "")), str(item.get("end") or "")
    late = "starts after the run: never in force in it" if start > str(
        scenario.get("end", start)) else ""
    common = (name, on, start, end)
    if table == "rewards":
        granted = figure(ts, f"{name}_granted", "run")
        yield Row(table, *common, ", ".join(_act_text(a) for a in what) or "not known",
                  BEARS.get(bears, bears), {"granted": granted},
                  _notes(late, NO_COUNTER if granted is None else ""))
        return
    stock = figure(ts, f"{name}_stock", "last")
    for act in what or ("",):
        attempted = act and act not in STANDINGS
        figures = {suffix: figure(ts, f"{act}_{suffix}", how) if attempted else None
                   for suffix, how in ATTEMPT_FIGURES} | {"stock": stock}
        others = [n for n in blockers.get(act, []) if n != name]
        shared = (f"figures are of every {_act_text(act)} blocked, also by {', '.join(others)}"
                  if others and attempted else "")
        counted = any(v is not None for v in figures.values())
        yield Row(table, *common, _act_text(act) if act else "not known",
                  BEARS.get(bears, bears), figures,
                  _notes(late, shared, "" if counted else NO_COUNTER))


def _act_text(act: str) -> str:
    return STANDINGS.get(act) or words(act)


def _kind(item: dict) -> str:
    """A list of the scheme in words: its colour, public or not, its own words."""
    colour = {"black": "blacklist", "red": "red (honour) list"}.get(str(item.get("colour")),
                                                                   "list")
    public = "public " if item.get("public") else ""
    return f"{public}{colour}" + (f": {item['text']}" if item.get("text") else "")


def _exits(item: dict) -> str:
    """A list's exit rules in words, with the days before any applies."""
    text = _rules(item.get("exit"), "exit")
    days = item.get("min_days", 0)
    return f"{text} (none within {days} days of an entry)" if days else text


def _rules(rules: object, side: str) -> str:
    """A list's entry or exit rules in one line (``rule; or rule``)."""
    if not rules or not isinstance(rules, list):
        return "none"
    return "; or ".join(_rule(r, side) if isinstance(r, dict) else str(r) for r in rules)


def _rule(rule: dict, side: str) -> str:
    """One rule in words: "3 records of red light within 90 days", "score above 1020"."""
    if "record" in rule:
        count = rule.get("count", 1)
        kind = words(str(rule["record"]))
        return (f"{count} records of {kind} within {rule.get('within_days')} days" if count > 1
                else f"a record of {kind}")
    if "grades" in rule:
        held = rule.get("held_days", 1)
        grades = " or ".join(map(str, rule["grades"]))
        return f"grade {grades}" + (f" for {held} days in a row" if held > 1 else "")
    if "after_days" in rule:
        return f"{rule['after_days']} days after the last entry"
    if rule.get("left_grades"):
        return "out of the grades of entry"
    return "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in rule.items()) or side


def _notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
