"""The page's controls over a scenario: which fields they edit, and the scenario they make.

The edited scenario is made by ``Scenario.with_changes``, the dotted-path changes that calibrate
and sensitivity apply, and so validated as a scenario file is: a value the TOML would refuse is
refused here with the same one-line message naming the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..language import scenario as scenario_mod
from ..language.scenario import Scenario, ScenarioError
from ..world.population import represented

DEFAULT_POPULATION = 20_000  # citizens: a run of two years answers in seconds on 2 cores
DEFAULT_YEARS = 2  # the last years of the preset's calendar, where its latest rules are in force
ORIGIN = "dashboard"  # where the scenario's messages say a problem comes from
SWITCH = "on"  # the last part of a control that turns a sanction or a reward on or off
ARRAYS = ("sanctions", "rewards")


@dataclass(frozen=True)
class Control:
    """One field the page edits: its dotted path, how to show it and its value in ``base``."""

    path: str
    group: str
    label: str
    kind: str  # int, float, date (ISO text, '' for not set), bool
    value: Any


def controls(sc: Scenario) -> list[Control]:
    """The controls of ``sc``, by group: what the scenario language holds that the page edits
    (population, calendar, sanctions and rewards, points, grades, sensing, fear, bad company)."""
    out = [Control("population.size", "run", "citizens", "int", sc.population.size),
           Control("start", "run", "first day", "date", sc.start.isoformat()),
           Control("end", "run", "last day", "date", sc.end.isoformat()),
           Control("seed", "run", "seed", "int", sc.seed)]
    for array in ARRAYS:
        for item in getattr(sc, array):
            base = f"{array}.{item.name}"
            out += [Control(f"{base}.{SWITCH}", array, item.name, "bool", True),
                    Control(f"{base}.start", array, "from", "date", _iso(item.start)),
                    Control(f"{base}.end", array, "to", "date", _iso(item.end))]
    if sc.scoring is not None:
        out += [Control(f"scoring.points.{kind}", "points", kind, "int", points)
                for kind, points in sc.scoring.points.items()]
        out += [Control(f"scoring.grades.{g.name}.min", "grades", f"{g.name} from", "int", g.min)
                for g in sc.scoring.grades[:-1]]
        if sc.scoring.bad_company is not None:
            bc = sc.scoring.bad_company
            out += [Control("scoring.bad_company.enabled", "bad company", "on", "bool",
                            bc.enabled),
                    Control("scoring.bad_company.weight", "bad company", "points", "int",
                            bc.weight)]
    for kind, review in sc.sensing.content_review.items():
        out += [Control(f"sensing.content_review.{kind}.{m}", "sensing", f"{kind} {m}", "float",
                        getattr(review, m)) for m in ("precision", "recall")]
    if sc.fear is not None:
        out.append(Control("fear.enabled", "fear", "on", "bool", sc.fear.enabled))
    return out


def _iso(date: dt.date | None) -> str:
    return "" if date is None else date.isoformat()


def dashboard_defaults(sc: Scenario) -> dict[str, Any]:
    """The edits a preset starts with on the page: DEFAULT_POPULATION citizens over its last
    DEFAULT_YEARS years, so that a first run answers in seconds."""
    start = max(sc.start, dt.date(sc.end.year - DEFAULT_YEARS + 1, 1, 1))
    return {"population.size": min(sc.population.size, DEFAULT_POPULATION),
            "start": start.isoformat()}


def parse(control: Control, text: Any) -> Any:
    """A control's value as its field takes it (a number or a date from the text typed, '' as
    a date not set), or a ScenarioError naming the field; its range is the scenario's to check."""
    if not isinstance(text, str) or control.kind == "bool":
        return text
    text = text.strip().replace("_", "")
    if control.kind == "date":
        return _date(control.path, text)
    number = int if control.kind == "int" else float
    try:
        return number(text)
    except ValueError:
        kind = "a whole number" if number is int else "a number"
        raise ScenarioError(f"{control.path}: {text!r} is not {kind}") from None


def _date(path: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ScenarioError(f"{path}: {text!r} is not a date; write it as YYYY-MM-DD, "
                            "e.g. 2018-12-31") from None


def apply(base: Scenario, edits: dict[str, Any]) -> Scenario:
    """``base`` with the page's ``edits`` (dotted path -> value as the control holds it),
    validated as a scenario file is; a ScenarioError says the first problem in one line.
    Changing the citizens keeps the real people they stand for (the scale follows, as with
    ``panopticon run --population``); a sanction or reward switched off is removed."""
    known = {c.path: c for c in controls(base)}
    changes: dict[str, Any] = {}
    off: dict[str, set[str]] = {a: set() for a in ARRAYS}
    for path, text in edits.items():
        if path not in known:
            raise ScenarioError(f"{path}: not a field the dashboard edits")
        value = parse(known[path], text)
        array, _, rest = path.partition(".")
        if array in ARRAYS and rest.endswith(f".{SWITCH}"):
            if value is False:
                off[array].add(rest.removesuffix(f".{SWITCH}"))
            continue
        changes[path] = value
    if changes.get("population.size", base.population.size) != base.population.size:
        scenario_mod.check_field("population.size", changes["population.size"], ORIGIN)
        changes["population.scale"] = represented(base.population) / changes["population.size"]
    changes = {p: v for p, v in changes.items()
               if p.split(".")[0] not in ARRAYS or p.split(".")[1] not in off[p.split(".")[0]]}
    try:
        sc = base.with_changes(origin=ORIGIN, **changes) if changes else base
        kept = {a: [i.model_dump() for i in getattr(sc, a) if i.name not in off[a]]
                for a in ARRAYS if off[a]}
        return sc.with_changes(origin=ORIGIN, **kept) if kept else sc
    except ScenarioError as e:
        raise ScenarioError(one_line(str(e))) from None


def one_line(message: str) -> str:
    """A scenario's problems as the page's one line: the first, and how many more."""
    lines = message.splitlines()
    if len(lines) == 1:
        return message
    more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
    return f"{ORIGIN}: {lines[1].strip()}{more}"


def scenario_toml(sc: Scenario) -> str:
    """The edited scenario as a file that ``panopticon run`` loads again."""
    return sc.to_toml()
