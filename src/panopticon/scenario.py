"""Scenario files: TOML, validated with pydantic, presets that a user's file can extend.

A scenario says everything the policy and the world are: who the citizens are, what they do and how
often, what the authorities can see, how records become scores, lists and sanctions. Each number in
a preset is covered by an entry in its ``[sources]`` table (a citation, or "assumption: ...").
"""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ActKind = Literal[
    "jaywalking", "red_light", "late_bill", "bad_spending", "debt_default", "tax_arrears",
    "online_post", "good_deed", "plane_ticket", "train_ticket", "onboard_misconduct",
]
ListName = Literal["court", "tax", "travel_misconduct"]
SanctionKind = Literal[
    "plane_ban", "train_ban", "exit_ban", "school_ban", "job_ban", "internet_throttle",
    "management_ban", "credit_denied",
]
RewardKind = Literal["transport_discount", "easy_credit", "better_jobs", "institution_access"]
Who = Literal["everyone", "adults", "internet_users", "payment_users"]
# What a scoring rule can be triggered by: an act kind, or an event of the court process.
RecordKind = Literal[ActKind, "judgment_unpaid", "content_flag", "tax_listed"]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0)]
Days = Annotated[int, Field(ge=0)]
PRESETS = ("china-2018",)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatedValue(Strict):
    date: dt.date
    value: Rate


def _check_dates_increase(points: list[DatedValue], what: str) -> None:
    for a, b in zip(points, points[1:]):
        if b.date <= a.date:
            raise ValueError(f"{what} dates must increase: {b.date} comes after {a.date}")


class Population(Strict):
    size: Annotated[int, Field(ge=1, le=2_000_000_000)] = 1_410_000
    scale: Annotated[float, Field(gt=0.0)] = 1000.0
    age_shares: dict[Literal["0-14", "15-29", "30-44", "45-59", "60+"], Probability]
    urban_share: Probability
    household_size: Annotated[float, Field(ge=1.0, le=10.0)]
    internet_users: list[DatedValue]
    payment_users: list[DatedValue]
    adoption_skew: Rate
    management_share: Probability

    @model_validator(mode="after")
    def _shares(self) -> Population:
        total = sum(self.age_shares.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"age_shares must add up to 1, they add up to {total:.6f}")
        _check_dates_increase(self.internet_users, "internet_users")
        _check_dates_increase(self.payment_users, "payment_users")
        return self


class Act(Strict):
    rate: Rate  # mean events per eligible citizen per day
    who: Who = "adults"


class Court(Strict):
    judgment_rate: Probability  # a defaulted debt goes to judgment, per day
    comply_rate: Probability  # a judged debtor pays, per day, before listing
    grace_days: Days
    pay_rate_listed: Probability  # a listed debtor pays, per day
    listing_days: Annotated[int, Field(ge=1)]  # a listing expires after this
    settle_rate: Probability  # an unjudged default is settled, per day


class Tax(Strict):
    pay_rate: Probability
    exit_ban_share: Probability  # share of arrears cases severe enough for an exit ban
    exit_ban_after_days: Days


class Cameras(Strict):
    count: list[DatedValue]
    view_factor: Rate  # coverage = 1 - exp(-view_factor * cameras per person)
    urban_density: Annotated[float, Field(ge=1.0)]  # cameras per person in towns / in the country
    region_density: dict[str, Annotated[float, Field(gt=0.0)]] = {}


class Sensing(Strict):
    cameras: Cameras
    face_hit_rate: Probability
    false_match_share: Probability
    payment_observed: Probability
    court_records: Probability
    tax_records: Probability
    good_deed_reported: Probability
    content_precision: Annotated[float, Field(gt=0.0, le=1.0)]
    content_recall: Probability
    against_line_share: Probability  # mean share of posts against the official line


class Registry(Strict):
    list_delay_days: Days
    removal_delay_days: Days
    central_connected: list[DatedValue]  # share of regional bureaus linked to the central database

    @model_validator(mode="after")
    def _dates(self) -> Registry:
        _check_dates_increase(self.central_connected, "central_connected")
        return self


class Grade(Strict):
    name: str
    min: int
    max: int

    @model_validator(mode="after")
    def _order(self) -> Grade:
        if self.min > self.max:
            raise ValueError(f"grade {self.name}: min {self.min} is above max {self.max}")
        return self


class Scoring(Strict):
    base: int
    min: int
    max: int
    points: dict[RecordKind, int]
    restore_rate: Probability  # chance per day that a score below base regains restore_points
    restore_points: Annotated[int, Field(ge=0)]
    grades: list[Grade]
    public_ranking: bool = True

    @model_validator(mode="after")
    def _grades(self) -> Scoring:
        if not self.min <= self.base <= self.max:
            raise ValueError(f"base {self.base} must lie within [min {self.min}, max {self.max}]")
        ordered = sorted(self.grades, key=lambda g: g.min)
        for a, b in zip(ordered, ordered[1:]):
            if b.min <= a.max:
                raise ValueError(
                    f"grades {a.name} [{a.min}, {a.max}] and {b.name} [{b.min}, {b.max}] overlap"
                )
            if b.min != a.max + 1:
                raise ValueError(f"no grade covers scores {a.max + 1} to {b.min - 1}")
        if ordered and (ordered[0].min > self.min or ordered[-1].max < self.max):
            raise ValueError(f"grades must cover every score from {self.min} to {self.max}")
        if len({g.name for g in self.grades}) != len(self.grades):
            raise ValueError("grade names must be unique")
        return self


class Sanction(Strict):
    kind: SanctionKind
    grades: list[str] = []
    lists: list[ListName] = []
    start: dt.date | None = None

    @model_validator(mode="after")
    def _targets(self) -> Sanction:
        if not self.grades and not self.lists:
            raise ValueError(f"sanction {self.kind} names no grade and no list: it would hit no one")
        return self


class Reward(Strict):
    kind: RewardKind
    grades: list[str]
    start: dt.date | None = None


class Life(Strict):
    school_apply_rate: Probability  # a child's family seeks a top school, per day
    job_apply_rate: Probability
    credit_apply_rate: Probability
    exit_travel_rate: Probability


class Scenario(Strict):
    name: str
    description: str = ""
    start: dt.date
    end: dt.date
    seed: int = 1
    population: Population
    acts: dict[ActKind, Act]
    court: Court
    tax: Tax
    sensing: Sensing
    registry: Registry
    scoring: Scoring
    sanctions: list[Sanction] = []
    rewards: list[Reward] = []
    life: Life
    sources: dict[str, str] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.end < self.start:
            raise ValueError(f"end {self.end} comes before start {self.start}")
        names = {g.name for g in self.scoring.grades}
        for item in [*self.sanctions, *self.rewards]:
            unknown = sorted(set(item.grades) - names)
            if unknown:
                raise ValueError(
                    f"{item.kind} names unknown grade(s) {unknown}; grades are {sorted(names)}"
                )
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def with_changes(self, **changes: Any) -> Scenario:
        """A validated copy with top-level or dotted fields replaced (``population.size=...``)."""
        data = self.model_dump()
        for key, value in changes.items():
            node = data
            *parents, leaf = key.split(".")
            for p in parents:
                node = node[p]
            node[leaf] = value
        return validate(data, f"{self.name} (changed {', '.join(changes)})")

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(exclude_none=True))


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names file, field, value and what is allowed."""


def preset_text(name: str) -> str:
    if name not in PRESETS:
        raise ScenarioError(f"unknown preset {name!r}; presets are: {', '.join(PRESETS)}")
    return resources.files("panopticon.presets").joinpath(f"{name}.toml").read_text("utf-8")


def preset_summaries() -> dict[str, str]:
    return {name: tomllib.loads(preset_text(name)).get("description", "") for name in PRESETS}


def _merge(base: dict, override: dict) -> dict:
    """Tables merge key by key; any other value (arrays included) replaces the base's."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse(text: str, origin: str) -> dict:
    if not text.strip():
        raise ScenarioError(f"{origin}: the file is empty; a scenario needs at least `extends` or `name`")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{origin}: not valid TOML ({err})") from None


def _resolve(data: dict, origin: str, seen: tuple[str, ...] = ()) -> dict:
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or parent not in PRESETS:
        raise ScenarioError(
            f"{origin}: field 'extends': value {parent!r} is not allowed; "
            f"allowed: one of the presets {', '.join(PRESETS)}"
        )
    if parent in seen:
        raise ScenarioError(f"{origin}: 'extends' loops through {parent!r}")
    base = _resolve(_parse(preset_text(parent), f"preset {parent}"), parent, (*seen, parent))
    merged = _merge(base, data)
    merged.setdefault("name", f"{parent} (extended)")
    return merged


def load(source: str | Path) -> Scenario:
    """A scenario from a preset name or a TOML file; raises ScenarioError with a readable message."""
    path = Path(source)
    if isinstance(source, str) and source in PRESETS:
        origin, text = f"preset {source}", preset_text(source)
    elif path.is_file():
        origin = str(path)
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            raise ScenarioError(f"{origin}: not a text file (expected UTF-8 TOML)") from None
    else:
        raise ScenarioError(
            f"{source}: no such preset or file; presets are: {', '.join(PRESETS)}"
        )
    return validate(_resolve(_parse(text, origin), origin), origin)


def validate(data: dict, origin: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(describe_errors(err, origin)) from None


def _allowed_fields(loc: tuple) -> list[str]:
    """The field names a model accepts at ``loc`` (its parent path), for unknown-field messages."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for arg in (ann, *get_args(ann), *[a for x in get_args(ann) for a in get_args(x)]):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
                break
        else:
            return []
    return sorted(getattr(model, "model_fields", {}))


def describe_errors(err: ValidationError, origin: str) -> str:
    """One line per problem: file, dotted field, offending value and what is allowed."""
    lines = [f"{origin}: {err.error_count()} problem(s) in the scenario"]
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_fields(loc[:-1])) or "none"
            lines.append(f"  field '{field}': unknown field; allowed here: {allowed}")
        elif e["type"] == "missing":
            lines.append(f"  field '{field}': required but missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            shown = repr(value) if not isinstance(value, dict) else "(table)"
            lines.append(f"  field '{field}': value {shown[:80]} is not allowed: {msg}")
    return "\n".join(lines)
