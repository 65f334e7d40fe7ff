"""Scenario files: TOML, validated with pydantic, presets that a user's file can extend.

A scenario says everything the policy and the world are: who the citizens are, what they do and how
often, what the authorities can see, how records become scores, lists and sanctions. Each number in
a preset is covered by an entry in its ``[sources]`` table (a citation, or "assumption: ...").

Numbers are checked as written: no string or boolean is read as a number, no number is inf or nan,
and every number that ends in an array of the simulation has bounds that the array can hold (scores
and days are 16-bit integers there). A mistake is one line naming the file, the field, the value
and what is allowed; several mistakes are a header line and one line each.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import sys
import tomllib
import types
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..data import read_csv
from . import catalog
from .catalog import NAME_NOTE, NAME_PATTERN
from .fields import NAME, STRICT, TABLE, Note, about, either, name_or_table
from .published import SERIES
from .schedule import (
    NUMBER,
    SCHEDULE,
    Memo,
    every_date,
    on_date,
    schedulable,
    scheduled,
)

Name = Annotated[str, Field(pattern=NAME_PATTERN), Note(NAME_NOTE)]
Group = Literal["everyone", "adults", "children", "internet_users", "payment_users"]
AgeBand = Literal["0-14", "15-29", "30-44", "45-59", "60+"]
Propensity = Literal["offence", "debt", "civic", "travel", "none"]
Nature = Literal["offence", "civic", "attempt"]
Process = Literal["none", "court", "tax", "travel_misconduct"]
Bearer = Literal["person", "children", "household", "employer"]
LIST_NOTE = "court, tax, travel_misconduct, or a name of a black list of [lists]"
Colour = Literal["black", "red"]
ContentType = Literal["comment", "photo", "article", "video"]
# Who has a score: the acts' named groups but children, or no one (a scheme of lists alone).
ScoredWho = Literal["everyone", "adults", "internet_users", "payment_users", "nobody"]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0)]
# An act happens at most once a day per citizen (one draw per kind): a rate is a probability.
DailyRate = Annotated[
    float, Field(ge=0.0, le=1.0, json_schema_extra={"unit": "probability per day"}),
    Note("a daily probability: the chance that a citizen acts on a day")]
# Days a case or listing lasts, or a lag: the registry keeps days as 16-bit integers
# (day of the run + this), so that a run of up to MAX_RUN_DAYS plus any of these fits.
MAX_DAYS = 10_000
Days = Annotated[int, Field(ge=0, le=MAX_DAYS, json_schema_extra={"unit": "days"})]
PositiveDays = Annotated[int, Field(ge=1, le=MAX_DAYS, json_schema_extra={"unit": "days"})]
# Scores are kept as 16-bit integers; points may cross the whole range.
Score = Annotated[int, Field(ge=-32_768, le=32_767, json_schema_extra={"unit": "points"}),
                  Note("scores are 16-bit integers")]
Points = Annotated[int, Field(ge=-65_535, le=65_535, json_schema_extra={"unit": "points"})]
# The values that say how often or how much (rates, probabilities, shares, points) may change
# over time: a field of these types takes a number or a dated schedule (schedule.py). What
# gives the model its shape (days, the score range, grades, caps, factors' weights) and the
# population, drawn once, do not.
SDailyRate = scheduled(DailyRate, "DailyRate")
SProbability = scheduled(Probability, "Probability")
SPrecision = scheduled(Annotated[float, Field(gt=0.0, le=1.0)], "Precision")
SPoints = scheduled(Points, "Points")
SRestorePoints = scheduled(Annotated[int, Field(ge=0, le=65_535)], "RestorePoints")
STermPoints = scheduled(Annotated[int, Field(ge=-32_767, le=32_767)], "TermPoints")
Seed = Annotated[int, Field(ge=0, le=2**64 - 1)]
# The years a run may cover. The model's world is the 2020 census and series dated 2014 to 2020:
# before 2000 China had almost no internet or payment-app users, and decades past the census
# its population (which neither ages nor changes) would be fiction.
FIRST_DATE, LAST_DATE = dt.date(2000, 1, 1), dt.date(2060, 12, 31)
RunDate = Annotated[dt.date, Field(ge=FIRST_DATE, le=LAST_DATE)]
MAX_RUN_DAYS = (LAST_DATE - FIRST_DATE).days + 1
assert MAX_RUN_DAYS + MAX_DAYS < 2**15, "registry days must fit 16-bit integers"
# A series held flat for longer than this past its last date (or before its first) is warned of.
FLAT_WARNING_DAYS = 366
MAX_FILE_BYTES = 10_000_000
MAX_PROBLEMS = 20  # problems listed in one message
SHOWN_ITEMS = 5  # items of an array shown in a message
PRESETS = ("china-2018", "court-list", "rongcheng", "sesame", "fuzhou", "eu-baseline", "census")


class Strict(BaseModel):
    """Every table: unknown fields refused; numbers strict (no "0.002" or true for a number,
    an integer is a number but a float is not an integer) and finite."""

    model_config = STRICT


class DatedValue(Strict):
    """A value on a date. Between dates the series is linear; before its first date and after
    its last it is held flat."""

    date: Annotated[dt.date, about("The date of the value.")]
    value: Annotated[Rate, about("The value on that date, in the series' unit.")]


class DatedShare(Strict):
    """A share on a date. Between dates the series is linear; before its first date and after
    its last it is held flat."""

    date: Annotated[dt.date, about("The date of the share.")]
    value: Annotated[Probability, about("The share on that date.", "share")]


def _check_dates_increase(points: list[DatedValue] | list[DatedShare], what: str) -> None:
    for a, b in zip(points, points[1:]):
        if b.date <= a.date:
            raise ValueError(f"{what} dates must increase: {b.date} comes after {a.date}")


def province_codes() -> list[str]:
    """Province codes of the 2020 census table shipped in panopticon/data."""
    return [row["code"] for row in read_csv("china_provinces_2020.csv")]


class Population(Strict):
    """Who the citizens are: synthetic people drawn from the 2020 census by province, in
    households, each standing for ``scale`` real people."""

    size: Annotated[int, Field(ge=1, le=2_000_000_000),
                    about("Citizens simulated.", "citizens")] = 1_410_000
    scale: Annotated[float, Field(ge=0.001, le=1e10),
                     about("Real people each simulated citizen stands for (counts in results are"
                           " multiplied by it).", "people per citizen")] = 1000.0
    regions: Annotated[list[str], about(
        "Provinces the citizens live in, as 2020 census codes (a city scheme's); empty for the"
        " whole country.")] = []
    age_shares: Annotated[
        dict[AgeBand, Probability],
        about("Share of citizens in each age band; the shares add up to 1.", "share", "band")]
    urban_share: Annotated[Probability, about("Share of citizens who live in towns.", "share")]
    household_size: Annotated[float, Field(ge=1.0, le=10.0), about(
        "Mean people per household (a household has 1 to 5 members).", "people per household")]
    internet_users: Annotated[list[DatedValue], Field(min_length=1), about(
        "Internet users in the whole country by date; the young, the urban and the well-off"
        " adopt first.", "people")]
    payment_users: Annotated[list[DatedValue], Field(min_length=1), about(
        "Payment-app users in the whole country by date, adopting as internet users do.",
        "people")]
    adoption_skew: Annotated[Rate, about(
        "How strongly adoption favours the young, the urban and the well-off (0: at random).")]
    management_share: Annotated[Probability, about(
        "Share of adults in a management role (what management_ban bars).", "share")]

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, regions: list[str]) -> list[str]:
        codes = province_codes()
        unknown = sorted(set(regions) - set(codes))
        if unknown:
            raise ValueError(f"unknown province code(s) {unknown}; codes are the 2020 census's,"
                             f" {codes[0]} to {codes[-1]}, e.g. 370000 (Shandong)")
        return regions

    @model_validator(mode="after")
    def _shares(self) -> Population:
        total = sum(self.age_shares.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"age_shares must add up to 1, they add up to {total:.6f}")
        _check_dates_increase(self.internet_users, "internet_users")
        _check_dates_increase(self.payment_users, "payment_users")
        return self


# When a channel, sanction or reward is in force (the fields of an InForce table).
Start = Annotated[dt.date | None, about("The date it starts; not set: the run's start.")]
End = Annotated[dt.date | None, about("The last day it is in force; not set: to the run's end.")]


class InForce(Strict):
    """A table in force from its ``start`` to its ``end``, fields that each subclass declares
    last (so that a table's fields keep their order in a written scenario)."""

    @model_validator(mode="after")
    def _end_after_start(self) -> InForce:
        if self.end is not None and self.start is not None and self.end < self.start:
            raise ValueError(f"end {self.end} comes before start {self.start}")
        return self

    def in_force(self, date: dt.date) -> bool:
        """Whether it is in force on ``date``."""
        return ((self.start is None or self.start <= date)
                and (self.end is None or date <= self.end))


class Traits(Strict):
    """Who can do an act, by traits of the population: a citizen must meet every condition
    given (a condition not given holds for everyone)."""

    group: Annotated[Group, about("A named group, as `who` names it.")] = "everyone"
    age: Annotated[list[AgeBand], Field(min_length=1), about(
        "Census age bands; not set: every age.")] = list(get_args(AgeBand))
    area: Annotated[Literal["any", "urban", "rural"], about(
        "Town or country dwellers.")] = "any"
    income: Annotated[list[Annotated[int, Field(ge=1, le=10)]], Field(
        min_length=2, max_length=2), about(
        "Income deciles [lowest, highest], 1 the poorest, both included.")] = [1, 10]
    uses: Annotated[list[Literal["internet", "payment"]], about(
        "Services the citizen uses (internet, payment apps), all of them.")] = []
    roles: Annotated[list[Literal["manager"]], about(
        "Roles the citizen holds (a management role).")] = []

    @model_validator(mode="after")
    def _income_range(self) -> Traits:
        low, high = self.income
        if low > high:
            raise ValueError(f"income [{low}, {high}]: the lowest decile {low} is above the"
                             f" highest {high}")
        return self


Who = name_or_table(Group, Traits)


class Act(Strict):
    """One kind of act: who can do it and how often, what it is, what observes it.

    An offence is deterred by fear and counted as one by the audit; an attempt (a ticket, an
    application, a trip abroad) meets the sanctions that block it and the rewards that grant it;
    a civic act is neither. An act that opens a process (a court case, a tax case, the travel
    misconduct list) opens it when its record is made, and an act that opens a court or tax
    case is not done while the citizen's case is open."""

    rate: Annotated[SDailyRate, about(
        "Chance per eligible citizen and day (times the citizen's propensity).")]
    who: Annotated[Who, Note("or a table of traits (group, age, area, income, uses, roles)"),
                   about("Who can do it: a named group, or a table of traits that a citizen"
                         " must all meet.")] = "adults"
    propensity: Annotated[Propensity, about(
        "The citizen's fixed trait that scales the rate (a few people do most: a unit-mean"
        " draw per citizen; travel also grows with income and in towns); none: the rate"
        " alone.")] = "none"
    nature: Annotated[Nature, about(
        "offence: fear deters it; attempt: it meets sanctions and rewards; civic: neither.")
                      ] = "offence"
    opens: Annotated[Process, about(
        "The process its record opens: a court case, a tax case, a listing on the travel"
        " misconduct list; none.")] = "none"
    channel: Annotated[str, Note("a name of [channels], or 'none'"), about(
        "The channel that observes it (a name of [channels]); none: never recorded.")] = "none"
    text: Annotated[str, Field(max_length=80), about(
        "What a citizen did, as the story tells it (\"ran a red light\"); not set: the name"
        " in words.")] = ""

    def words(self, name: str) -> str:
        """What the story says a citizen did."""
        return self.text or catalog.words(name)


class Channel(InForce):
    """A channel that observes acts: the acts that name it are recorded with chance ``hit``
    (times the day's camera coverage of the citizen's region and town, for a camera); a share
    ``false_share`` of its records name the wrong person, drawn over the citizens it covers as
    records of the act ``false_as``. It sees nothing before its start or after its end."""

    type: Annotated[Literal["register", "camera"], about(
        "camera: hit x the camera coverage where the citizen lives (face recognition on street"
        " cameras); register: hit alone.")] = "register"
    hit: Annotated[SProbability, about(
        "Chance that an act it observes is recorded (for a camera: that a seen face is"
        " identified).", "probability")]
    false_share: Annotated[SProbability, about(
        "Share of its records that name the wrong person.", "share")] = 0.0
    false_as: Annotated[str, Note("a name of [acts], or 'none'"), about(
        "The act a false record claims (a name of [acts]); none: it makes none.")] = "none"
    start: Annotated[dt.date | None, about(
        "The date it joins the system; not set: the run's start.")] = None
    end: Annotated[dt.date | None, about(
        "The last day it records; not set: to the run's end.")] = None

    @model_validator(mode="after")
    def _false_records(self) -> Channel:
        makes = any(c.false_share > 0 for _, c in every_date(self))
        if makes and self.false_as == "none":
            raise ValueError("false_share is above 0 but false_as is not set: name the act a"
                             " false record claims")
        return self


class Court(Strict):
    """The court process of a defaulted debt: judgment, listing of a judgment defaulter who does
    not comply, payment, expiry."""

    judgment_rate: Annotated[SProbability, about(
        "Chance per day that a defaulted debt goes to judgment.", "probability per day")]
    comply_rate: Annotated[SProbability, about(
        "Chance per day that a judged debtor pays before listing.", "probability per day")]
    grace_days: Annotated[Days, about("Days a judged debtor has to pay before being listed.")]
    pay_rate_listed: Annotated[SProbability, about(
        "Chance per day that a listed debtor pays.", "probability per day")]
    listing_days: Annotated[PositiveDays, about("A listing expires after this.")]
    settle_rate: Annotated[SProbability, about(
        "Chance per day that an unjudged default is settled.", "probability per day")]


class Tax(Strict):
    """Tax arrears: payment, and exit bans for severe cases."""

    pay_rate: Annotated[SProbability, about(
        "Chance per day that a citizen in arrears pays (ending the case and any exit ban).",
        "probability per day")]
    exit_ban_share: Annotated[SProbability, about(
        "Share of arrears cases severe enough for an exit ban.", "share")]
    exit_ban_after_days: Annotated[Days, about(
        "Days from the opening of a severe case to its exit ban.")]


class Cameras(Strict):
    """Street cameras: how many, and where they look."""

    count: Annotated[list[DatedValue], Field(min_length=1), about(
        "Cameras in the whole country by date.", "cameras")]
    view_factor: Annotated[Rate, about(
        "Coverage = 1 - exp(-view_factor x cameras per person x local density).")]
    urban_density: Annotated[float, Field(ge=1.0), about(
        "Cameras per person in towns over cameras per person in the countryside.", "ratio")]
    region_density: Annotated[dict[str, Annotated[float, Field(gt=0.0)]], about(
        "Cameras per person of a province (census code) relative to the rest, 1 where not"
        " named; the national count is kept.", "ratio", "province")] = {}


class Review(Strict):
    """Content review of one content type: of the posts it flags, ``precision`` go against the
    line; of the posts against the line, it flags ``recall``."""

    precision: Annotated[SPrecision, about(
        "Share of flagged posts that go against the line.", "share")]
    recall: Annotated[SProbability, about(
        "Share of posts against the line that are flagged.", "share")]


class Sensing(Strict):
    """What the authorities observe besides the channels of [channels]: the street cameras that
    a camera channel looks through, and content review, the channel of posts; wrong records are
    kept apart from the ground truth."""

    cameras: Annotated[Cameras, about("Street cameras, which camera channels look through.")]
    content_review: Annotated[dict[ContentType, Review], about(
        "Content review of each content type posted.", key="type")] = {}


class Content(Strict):
    """Posts of one content type."""

    rate: Annotated[SProbability, about(
        "Posts of this type per internet user and day.", "probability per day")]
    against_factor: Annotated[float, Field(gt=0.0), about(
        "Relative odds that a post of this type goes against the line.", "ratio")] = 1.0


class Speech(Strict):
    """What internet users post, by content type, and how much of it goes against the line.

    A user posts at most once a day, with chance the sum of the types' rates; the type is drawn in
    proportion to the rates. ``against_line_share`` is the mean share of posts against the line,
    split over types in proportion to ``against_factor`` (so the mean holds whatever the factors).
    """

    against_line_share: Annotated[SProbability, about(
        "Mean share of posts that go against the line.", "share")]
    content: Annotated[dict[ContentType, Content], Field(min_length=1), about(
        "What is posted, by content type.", key="type")]

    @model_validator(mode="after")
    def _one_post_a_day(self) -> Speech:
        for date, speech in every_date(self):
            total = sum(c.rate for c in speech.content.values())
            if total > 1.0:
                raise ValueError(f"{on_date(date)}content rates add up to {total:g} posts a day;"
                                 " a user posts at most once a day, so they must add up to at"
                                 " most 1")
        return self

    @property
    def rate(self) -> float:
        """The chance that an internet user posts on a day."""
        return sum(c.rate for c in self.content.values())

    def shares(self) -> dict[str, float]:
        """Each content type's share of posts, for every type (0 for types not posted)."""
        total = self.rate
        return {t: self.content[t].rate / total if t in self.content and total > 0 else 0.0
                for t in get_args(ContentType)}

    def against_shares(self) -> dict[str, float]:
        """Each type's mean share of posts against the line, averaging ``against_line_share``."""
        shares = self.shares()
        mean = sum(shares[t] * c.against_factor for t, c in self.content.items()) or 1.0
        return {t: min(1.0, self.against_line_share * self.content[t].against_factor / mean)
                if t in self.content else 0.0 for t in shares}


class Registry(Strict):
    """Regional bureaus: how fast listings and removals travel, and when bureaus join the
    central database (only connected regions' scores reach national services)."""

    list_delay_days: Annotated[Days, about(
        "Days before a court listing reaches airlines and railways.")]
    removal_delay_days: Annotated[Days, about(
        "Days a paid listing stays with airlines and railways (a stale record).")]
    central_connected: Annotated[list[DatedShare], Field(min_length=1), about(
        "Share of regional bureaus linked to the central database, by date.", "share")]
    misconduct_list_days: Annotated[PositiveDays, about(
        "Days a traveller stays on the travel-misconduct list after misconduct on board.")]

    @model_validator(mode="after")
    def _dates(self) -> Registry:
        _check_dates_increase(self.central_connected, "central_connected")
        return self


class Grade(Strict):
    """A named band of scores, min to max inclusive."""

    name: Annotated[str, about("The grade's name, as sanctions and rewards name it.")]
    min: Annotated[Score, about("Lowest score of the grade.")]
    max: Annotated[Score, about("Highest score of the grade.")]

    @model_validator(mode="after")
    def _order(self) -> Grade:
        if self.min > self.max:
            raise ValueError(f"grade {self.name}: min {self.min} is above max {self.max}")
        return self


def _known_grades(grades: list[str], info: ValidationInfo) -> list[str]:
    """Grades named by a sanction or reward must be the scenario's (names passed as context)."""
    names = (info.context or {}).get("grade_names")
    unknown = sorted(set(grades) - set(names)) if names is not None else []
    if unknown:
        raise ValueError(f"unknown grade(s) {unknown}; the scenario's grades are {sorted(names)}")
    return grades


class BadCompany(Strict):
    """A score term from the standing of a citizen's ties: ``weight`` points at a share of 1.

    ``enabled = false`` turns the term off (TOML has no null to remove an inherited table).
    """

    enabled: Annotated[bool, about("false turns the term off.")] = True
    weight: Annotated[STermPoints, about(
        "Points at a share of 1 of bad ties (negative to deduct; a 16-bit score term).",
        "points")]
    reach: Annotated[list[Literal["friends", "follows", "household", "workplace", "school"]],
                     Field(min_length=1), about(
                         "Which ties count; the shares of bad ties are averaged over them.")]
    lists: Annotated[list[str], Note(LIST_NOTE), about(
        "A tie on one of these lists (court, tax, travel_misconduct, or a black list of"
        " [lists]) is bad.")] = []
    grades: Annotated[list[str], about(
        "A tie in one of these grades (names of scoring.grades) is bad.")] = []
    lag_days: Annotated[PositiveDays, about("The term is recomputed every lag_days.")]
    start: Annotated[dt.date | None, about(
        "The date the term starts; not set: the run's start.")] = None

    _grades_known = field_validator("grades")(_known_grades)

    @model_validator(mode="after")
    def _targets(self) -> BadCompany:
        if not self.grades and not self.lists:
            raise ValueError("bad_company names no grade and no list: no tie would count as bad")
        return self


class Cap(Strict):
    """The most points records of one kind can add to a citizen's score, in all or per year."""

    points: Annotated[int, Field(ge=1, le=30_000), about(
        "The most points the kind can add.", "points")]
    per: Annotated[Literal["total", "year"], about(
        "Over the whole run, or per calendar year.")] = "total"


class Factor(Strict):
    """A weighted part of the score: the records of ``kinds`` count ``weight`` x their points."""

    name: Annotated[str, about("The factor's name.")]
    weight: Annotated[float, Field(gt=0.0, le=1.0), about(
        "The factor's weight; the factors' weights add up to 1.", "share")]
    kinds: Annotated[list[Name], about(
        "Record kinds of the factor (acts, or judgment_unpaid, content_flag, tax_listed); each"
        " kind with points is in one factor.")] = []


class Scoring(Strict):
    """The score: each record moves it by its kind's points (times its factor's weight, where
    there are factors), within [min, max]; below base it restores; grades band it."""

    base: Annotated[Score, about("The score every scored citizen starts with.")]
    min: Annotated[Score, about("Lowest score.")]
    max: Annotated[Score, about("Highest score.")]
    points: Annotated[dict[Name, SPoints], about(
        "Points a record of each kind adds (negative: deducts); kinds not named add none. A"
        " kind is an act of [acts], or a process's record: judgment_unpaid, content_flag,"
        " tax_listed.", key="kind")]
    restore_rate: Annotated[SProbability, about(
        "Chance per day that a score below base regains restore_points.",
        "probability per day")]
    restore_points: Annotated[SRestorePoints, about(
        "Points a score below base regains on a day it restores.", "points")]
    grades: Annotated[list[Grade], about(
        "Grades, which together cover every score from min to max once.")]
    public_ranking: Annotated[bool, about("Scores are published in a ranking.")] = True
    bad_company: Annotated[BadCompany | None, about(
        "A score term from the standing of a citizen's ties; not set: none.")] = None
    who: Annotated[ScoredWho, about(
        "Who has a score; the rest have no score, grade or ranking.")] = "everyone"
    caps: Annotated[dict[Name, Cap], about(
        "The most points records of a kind can add (kinds with points above 0).",
        key="kind")] = {}
    factors: Annotated[list[Factor], about(
        "A weighted score: each kind's points count times its factor's weight; none: in"
        " full.")] = []
    expires_days: Annotated[dict[Name, PositiveDays], about(
        "Days after which a record's points lapse, by kind: the score gets back what the record"
        " moved it by (a restoration period); kinds not named never lapse.", key="kind")] = {}

    @model_validator(mode="after")
    def _expiry(self) -> Scoring:
        """Points lapse by expiry or restore at random, not both: restoration would give back
        the same points twice."""
        for date, scoring in every_date(self):
            pointless = sorted(k for k in self.expires_days if not scoring.points.get(k, 0))
            if pointless:
                raise ValueError(f"{on_date(date)}expires_days names {pointless}, which move no"
                                 " points: give them points or remove them from expires_days")
            if self.expires_days and scoring.restore_rate > 0:
                raise ValueError(f"{on_date(date)}restore_rate is {scoring.restore_rate:g} while"
                                 " expires_days gives points back: a score restores either at"
                                 " random or as records expire; set restore_rate = 0")
        return self

    @model_validator(mode="after")
    def _caps_and_factors(self) -> Scoring:
        for date, scoring in every_date(self):
            lost = sorted(k for k in self.caps if scoring.points.get(k, 0) <= 0)
            if lost:
                raise ValueError(f"{on_date(date)}caps on {lost}: only a kind whose points add to"
                                 " the score can be capped; give it points above 0 on every date"
                                 " or remove its cap")
        if not self.factors:
            return self
        total = sum(f.weight for f in self.factors)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"factors' weights must add up to 1, they add up to {total:.6f}")
        kinds = [k for f in self.factors for k in f.kinds]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"factors hold record kind(s) {twice} more than once; each kind"
                             " belongs to one factor")
        given = {k for _, scoring in every_date(self) for k, v in scoring.points.items() if v}
        outside = sorted(k for k in given if k not in kinds)
        if outside:
            raise ValueError(f"factors leave out record kind(s) {outside}, which have points;"
                             " put each in one factor")
        if len({f.name for f in self.factors}) != len(self.factors):
            raise ValueError("factors' names must be unique")
        return self

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


RecordKind = Annotated[str, Note("a record kind: an act with a channel, or judgment_unpaid,"
                                 " tax_listed, content_flag")]


class EntryRule(Strict):
    """One way onto a list, a table with one rule: a record kind (``count`` records of it within
    ``within_days``), grades held for ``held_days``, or a score below or above a value."""

    record: Annotated[RecordKind | None, about(
        "A record kind (an act of [acts] that a channel observes, or a process's record:"
        " judgment_unpaid, tax_listed, content_flag); a channel's false records of it count"
        " too.")] = None
    count: Annotated[int | None, Field(ge=1, le=catalog.MAX_COUNT), about(
        f"Records of the kind that enter (1 to {catalog.MAX_COUNT}); not set: 1.",
        "records")] = None
    within_days: Annotated[PositiveDays | None, about(
        "The window the count's records fall in, today included (needed when count is above"
        " 1).")] = None
    grades: Annotated[list[str] | None, Field(min_length=1), about(
        "Grades (names of scoring.grades): a scored citizen in them for held_days days in a"
        " row enters.")] = None
    held_days: Annotated[PositiveDays | None, about(
        "Days in a row in the grades that enter; not set: 1.")] = None
    score_below: Annotated[Score | None, about(
        "A scored citizen whose score is below this enters.")] = None
    score_above: Annotated[Score | None, about(
        "A scored citizen whose score is above this enters (an honour list's rule).")] = None

    RULES: ClassVar[tuple[str, ...]] = ("record", "grades", "score_below", "score_above")

    @model_validator(mode="after")
    def _one_rule(self) -> EntryRule:
        _one_rule_of(self, "an entry rule")
        if self.record is None and (self.count, self.within_days) != (None, None):
            raise ValueError("count and within_days go with record")
        if self.grades is None and self.held_days is not None:
            raise ValueError("held_days goes with grades")
        if (self.count or 1) > 1 and self.within_days is None:
            raise ValueError(f"count = {self.count} needs within_days, the window its records"
                             " fall in, e.g. within_days = 365")
        return self


class ExitRule(Strict):
    """One way off a list, a table with one rule: days after the last entry, a score above or
    below a value, leaving the grades of entry, or a record."""

    after_days: Annotated[PositiveDays | None, about(
        "Days after the last entry (or re-entry) that the citizen leaves.")] = None
    score_above: Annotated[Score | None, about(
        "A scored citizen whose score is above this leaves.")] = None
    score_below: Annotated[Score | None, about(
        "A scored citizen whose score is below this leaves (an honour list's rule).")] = None
    left_grades: Annotated[Literal[True] | None, about(
        "true: a citizen no longer in the grades of the list's grade entry rules leaves.")
                           ] = None
    record: Annotated[RecordKind | None, about(
        "A record of this kind takes the citizen off (a fine paid).")] = None

    RULES: ClassVar[tuple[str, ...]] = ("after_days", "score_above", "score_below",
                                        "left_grades", "record")

    @model_validator(mode="after")
    def _one_rule(self) -> ExitRule:
        _one_rule_of(self, "an exit rule")
        return self


def _one_rule_of(rule: EntryRule | ExitRule, what: str) -> None:
    """A rule's table gives exactly one of the rules of its kind."""
    given = [k for k in rule.RULES if getattr(rule, k) is not None]
    if len(given) != 1:
        raise ValueError(f"{what} gives one of {', '.join(rule.RULES)}; this one gives"
                         f" {', '.join(given) or 'none'}")


class SchemeList(Strict):
    """A list of the scheme's own: a blacklist that sanctions name, or a red (honour) list that
    rewards name. Any one entry rule puts a citizen on it (again: a renewal); any one exit rule
    takes them off, but not within ``min_days`` of the last entry."""

    colour: Annotated[Colour, about(
        "black: sanctions may name it; red (an honour list): rewards may name it.")]
    public: Annotated[bool, about("The scheme publishes it (the report says so).")] = False
    entry: Annotated[list[EntryRule], Field(min_length=1), about(
        "Ways onto the list; any one enters.")]
    exit: Annotated[list[ExitRule], about(
        "Ways off the list; any one takes the citizen off.")] = []
    min_days: Annotated[Days, about(
        "Days after an entry before any exit rule applies.")] = 0
    text: Annotated[str, Field(max_length=80), about(
        "The list in words, as the report and story name it; not set: the name in"
        " words.")] = ""

    @model_validator(mode="after")
    def _exits(self) -> SchemeList:
        if not self.exit:
            raise ValueError("the list has no exit rule: no one would ever leave it; add an exit"
                             " rule, e.g. exit = [{ after_days = 365 }]")
        return self

    def words(self, name: str) -> str:
        """The list in words, as the report and story name it."""
        return self.text or catalog.words(name)


Blocked = Annotated[str, Note("a name of an attempt act of [acts], or a standing:"
                              " management_role, internet")]
Granted = Annotated[str, Note("a name of an attempt act of [acts]")]


class Sanction(InForce):
    """A sanction: in force for citizens on any list or in any grade it names, or whose score is
    below its ``score_below`` (a grade or a score counts where the region is connected and the
    citizen scored), from its start to its end. It
    refuses the attempts it blocks, or takes away a standing it blocks (a management role,
    internet use at full speed); it is borne by the person, by their children (a parent's
    sanction, met by the child's attempt), by the other members of their household, or by their
    employer (met by the attempts the other workers of their workplace make, for it)."""

    name: Annotated[Name, about("Its name; the run counts it by this name.")]
    grades: Annotated[list[str], about(
        "Citizens in these grades (names of scoring.grades) are sanctioned.")] = []
    lists: Annotated[list[str], Note(LIST_NOTE), about(
        "Citizens on these lists (court, tax, travel_misconduct, or a black list of [lists])"
        " are sanctioned.")] = []
    score_below: Annotated[Score | None, about(
        "Scored citizens whose score is below this are sanctioned (no grade needed).")] = None
    blocks: Annotated[list[Blocked], about(
        "Attempt acts it refuses, or standings it takes away (management_role, internet).")]
    bears: Annotated[Bearer, about(
        "Who bears it: the person; their children (a child's attempt refused for a parent's"
        " standing); the other members of their household (a relative's attempt refused"
        " for theirs); or their employer (a colleague's attempt, made for the firm, refused:"
        " the other working-age citizens of their workplace).")] = "person"
    start: Start = None
    end: End = None

    _grades_known = field_validator("grades")(_known_grades)

    @model_validator(mode="after")
    def _targets(self) -> Sanction:
        if not self.grades and not self.lists and self.score_below is None:
            raise ValueError(f"sanction {self.name} names no grade, no list and no score_below:"
                             " it would hit no one")
        return self


class Reward(InForce):
    """A reward: for citizens on the red lists or in the grades it names, or whose score is
    above its ``score_above``, from its start to its end, the attempts
    it grants are favoured (a ticket discounted, credit made easy), for the person, their
    children, the other members of their household or their employer."""

    name: Annotated[Name, about("Its name; the run counts it by this name.")]
    grades: Annotated[list[str], about(
        "Citizens in these grades (names of scoring.grades) are rewarded.")] = []
    lists: Annotated[list[str], Note("a name of a red list of [lists]"), about(
        "Citizens on these red lists of [lists] are rewarded.")] = []
    score_above: Annotated[Score | None, about(
        "Scored citizens whose score is above this are rewarded (no grade needed).")] = None
    grants: Annotated[list[Granted], about("Attempt acts it favours.")]
    bears: Annotated[Bearer, about(
        "Who is favoured: the person; their children (a child's attempt favoured for a"
        " parent's standing); the other members of their household; or their employer (the"
        " other working-age citizens of their workplace, in the attempts they make for it).")
    ] = "person"
    start: Start = None
    end: End = None

    _grades_known = field_validator("grades")(_known_grades)

    @model_validator(mode="after")
    def _targets(self) -> Reward:
        if not self.grades and not self.lists and self.score_above is None:
            raise ValueError(f"reward {self.name} names no grade, no list and no score_above: it"
                             " would favour no one")
        return self


class Fear(Strict):
    """Perceived risk of being observed and sanctioned, and what it deters and chills.

    Risk r in [0, 1] per citizen. Each day it fades toward a floor, ``awareness`` x the camera
    coverage of the citizen's region and town, by ``decay`` of the gap; it is held at least at
    ``sanctioned_risk`` while the citizen is sanctioned; a record of the citizen's own act (or a
    wrong one) closes ``observed_jump`` of the gap to 1; every ``ties_lag_days`` the share s of
    ties sanctioned closes ``ties_jump`` x s of it. Offences (acts of nature offence) happen at
    ``rate x (1 - deterrence r)``, posts against the line at ``rate x (1 - chilling_against r)``
    and posts at ``rate x (1 - chilling r)``. ``enabled = false`` turns it off.
    """

    enabled: Annotated[bool, about("false turns fear off.")] = True
    awareness: Annotated[SProbability, about(
        "The floor risk fades to, as a share of the local camera coverage.", "share")]
    decay: Annotated[SProbability, about(
        "Share of the gap to the floor that fades per day.", "share per day")]
    observed_jump: Annotated[SProbability, about(
        "Share of the gap to 1 that a record of the citizen's own act closes.", "share")]
    sanctioned_risk: Annotated[SProbability, about(
        "The least risk of a citizen under a sanction.", "probability")]
    ties_jump: Annotated[SProbability, about(
        "Share of the gap to 1 closed when all of a citizen's ties are sanctioned.", "share")]
    ties_lag_days: Annotated[PositiveDays, about("Ties are looked at every ties_lag_days.")]
    reach: Annotated[list[Literal["friends", "follows", "household", "workplace", "school"]],
                     Field(min_length=1), about(
                         "Which ties count; the shares sanctioned are averaged over them.")
                     ] = ["friends", "household"]
    deterrence: Annotated[SProbability, about(
        "Share of offences deterred at risk 1 (acts of nature offence).", "share")]
    chilling: Annotated[SProbability, about("Share of posts chilled at risk 1.", "share")]
    chilling_against: Annotated[SProbability, about(
        "Share of posts against the line chilled at risk 1 (at least chilling).", "share")]

    @model_validator(mode="after")
    def _against(self) -> Fear:
        for date, f in every_date(self):
            if f.chilling_against < f.chilling:
                raise ValueError(f"{on_date(date)}chilling_against {f.chilling_against:g} must be"
                                 f" at least chilling {f.chilling:g}: posts against the line are"
                                 " chilled at least as much as posts")
        return self


class Audit(Strict):
    """What the audit keeps beyond totals: a cohort of sampled citizens with full histories."""

    cohort_size: Annotated[int, Field(ge=0, le=100_000), about(
        "Citizens sampled, whose lives are kept day by day (0: no cohort).", "citizens")] = 1000


class FreeParameter(Strict):
    """A scenario number that calibration or a sensitivity study may move within [low, high],
    on a log axis if ``log``."""

    low: Annotated[float, about("The lowest value calibration or a sensitivity study may try.")]
    high: Annotated[float, about("The highest value calibration or a sensitivity study may"
                                 " try.")]
    log: Annotated[bool, about("Search or sample on a log axis (low must be above 0).")] = False

    @model_validator(mode="after")
    def _bounds(self) -> FreeParameter:
        if self.low >= self.high:
            raise ValueError(f"low {self.low} must be below high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"low {self.low} must be above 0 on a log axis (log = true)")
        return self


class Calibration(Strict):
    """What ``panopticon calibrate`` may change and how it weighs the published targets.

    ``parameters``: dotted paths of scenario numbers (``court.comply_rate``) with their bounds;
    a value of a schedule by its index (``acts.plane_ticket.rate.points.1.value``), an item of an
    array of named items by its name (``scoring.grades.C.min``: a grade's cut-off, which moves
    the grade across it too, ``D.max``).
    ``weights``: metric of the targets file -> weight, or metric@date -> the weight of that one
    target (it overrides the metric's); targets not named are not fitted.
    ``objective``: "log" weighs the error ln(model / published), "relative" model / published - 1.
    """

    objective: Annotated[Literal["log", "relative"], about(
        "How an error is measured: ln(model / published), or model / published - 1.")] = "log"
    parameters: Annotated[dict[str, FreeParameter], Field(min_length=1), about(
        "Scenario numbers calibration may change, by dotted path (a schedule's value:"
        " acts.plane_ticket.rate.points.1.value; a grade's cut-off: scoring.grades.C.min).",
        key="path")]
    weights: Annotated[dict[str, Annotated[float, Field(ge=0.0)]], Field(min_length=1), about(
        "Weight of each published metric, or of one target (metric@YYYY-MM-DD).", key="metric")]

    @field_validator("weights")
    @classmethod
    def _known_metrics(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(key for key in weights if not _is_target_key(key))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; a key is a metric or metric@YYYY-MM-DD"
                             f" (one target), metrics are {', '.join(SERIES)}")
        return weights


class Sensitivity(Strict):
    """What ``panopticon sensitivity`` varies: the assumptions and their plausible ranges.

    ``parameters``: dotted paths of scenario numbers, as in ``[calibration.parameters]``, with the
    range a study samples them over (uniformly, or on a log axis with ``log``). Without this
    table a study varies the calibration parameters whose source is an assumption.
    """

    parameters: Annotated[dict[str, FreeParameter], Field(min_length=1), about(
        "Scenario numbers a sensitivity study varies, by dotted path, with their plausible"
        " range (as calibration.parameters).", key="path")]


def _is_target_key(key: str) -> bool:
    """A weight's key: a metric of the published record, or metric@date for one of its targets."""
    metric, at, date = key.partition("@")
    if not at:
        return metric in SERIES
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        return False
    return metric in SERIES


class PathError(ValueError):
    """A dotted path that names nothing in a scenario; the message says what is there."""


def find(data: Any, path: str) -> tuple[Any, tuple]:
    """The value at a dotted path through a scenario's tables as data (``model_dump``), and its
    location with array items as indices. Items of an array of named items are named by their
    key (``scoring.grades.C.min``), other items by index (``acts.plane_ticket.rate.points.1``)."""
    node, loc, parts = data, (), path.split(".")
    for i, part in enumerate(parts):
        key = _item(node, part, tuple(parts[:i]))
        node, loc = node[key], (*loc, key)
    return node, loc


def _item(node: Any, part: str, where: tuple) -> Any:
    """The key or index that ``part`` names in ``node`` (at ``where``), or a PathError that
    lists what is there."""
    here = f"'{_dotted(where)}'" if where else "the scenario"
    if isinstance(node, dict):
        if part not in node:
            raise PathError(f"{here} has no {part!r}; it has {', '.join(map(str, node))}")
        return part
    if isinstance(node, list):
        key = _named_key(where)
        names = [x.get(key) if isinstance(x, dict) else None for x in node] if key else []
        if key and part in names:
            return names.index(part)
        if not key and part.isdigit() and int(part) < len(node):
            return int(part)
        items = (f"items named by {key}: {', '.join(map(str, names))}" if key
                 else f"items 0 to {len(node) - 1}" if node else "no items")
        raise PathError(f"{here} has no item {part!r}; it has {items}")
    what = "not set" if node is None else f"{_show(node)}, not a table or a schedule"
    raise PathError(f"{here} is {what}")


def number_at(root: BaseModel | dict, path: str) -> tuple[Any, type | None]:
    """The value at a dotted path (see :func:`find`) of a scenario or its data, and its declared
    type (None if not a number); a PathError where the path names nothing."""
    value, _ = find(root.model_dump() if isinstance(root, BaseModel) else root, path)
    tp, _ = _schema_at(tuple(path.split(".")))
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value, tp if number and tp in (int, float) else None


def _grade_cut(data: dict, loc: tuple) -> tuple[dict, str, dict | None] | None:
    """For the location of a grade's min or max: the grade, the side, and the grade across that
    cut-off (the one just below a min, just above a max; None at an end of the score range).
    None for any other location."""
    if len(loc) != 4 or loc[:2] != ("scoring", "grades") or loc[3] not in ("min", "max"):
        return None
    grades, side = data["scoring"]["grades"], loc[3]
    grade = grades[loc[2]]
    other, edge = ("max", grade["min"] - 1) if side == "min" else ("min", grade["max"] + 1)
    return grade, side, next((g for g in grades if g[other] == edge), None)


def _move_cut(data: dict, loc: tuple, value: Any) -> None:
    """Set a grade's min or max and move the grade across the cut-off with it, so that the
    grades still tile the score range (C.min = 700 sets D.max = 699)."""
    grade, side, across = _grade_cut(data, loc)  # type: ignore[misc]
    if across is not None and isinstance(value, int):
        across["max" if side == "min" else "min"] = value - 1 if side == "min" else value + 1
    grade[side] = value


class Scenario(Strict):
    """A scenario: the world (citizens, what they do, what is seen) and the policy (scores,
    lists, sanctions and rewards), over a span of days."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"),
                    Note("up to 100 letters, digits, '.', '_' or '-', the first a letter or"
                         " digit: it names the run folder"),
                    about("The scenario's name; it names the run folder and the calibration"
                          " study.")]
    description: Annotated[str, about(
        "One line on the scenario (panopticon scenarios lists it).")] = ""
    start: Annotated[RunDate, about("The first day of the run.")]
    end: Annotated[RunDate, about("The last day of the run.")]
    seed: Annotated[Seed, about(
        "Seed of every random draw: a seed gives the same run for any chunk size and thread"
        " count.")] = 1
    population: Annotated[Population, about("Who the citizens are.")]
    acts: Annotated[dict[Name, Act], about(
        f"What citizens do, by kind (posts are in [speech]); at most {catalog.MAX_ACTS}; none:"
        " nobody does anything a scheme records.", key="name")] = {}
    channels: Annotated[dict[Name, Channel], about(
        "What observes acts, by name (posts are observed by sensing.content_review).",
        key="name")] = {}
    court: Annotated[Court, about("The court process of defaulted debts.")]
    tax: Annotated[Tax, about("Tax arrears and exit bans.")]
    sensing: Annotated[Sensing, about("What the authorities observe.")]
    registry: Annotated[Registry, about("Listings, removals and the central database.")]
    scoring: Annotated[Scoring, about("The score and its grades.")]
    lists: Annotated[dict[Name, SchemeList], about(
        f"The scheme's own lists, black or red, by name; at most {catalog.MAX_LISTS}.",
        key="name")] = {}
    sanctions: Annotated[list[Sanction], about("The sanctions.")] = []
    rewards: Annotated[list[Reward], about("The rewards.")] = []
    sanction_scope: Annotated[Literal["any", "own_domain"], about(
        "\"own_domain\": a sanction only from a list of its own domain, and no score that"
        " travels (no grade sanctions, rewards, ties term or public ranking).")] = "any"
    speech: Annotated[Speech | None, about("What internet users post; not set: nothing.")] = None
    fear: Annotated[Fear | None, about("Deterrence and chilling; not set: none.")] = None
    audit: Annotated[Audit, about("What the audit keeps beyond totals.")] = Audit()
    calibration: Annotated[Calibration | None, about(
        "What panopticon calibrate may change; not set: nothing.")] = None
    sensitivity: Annotated[Sensitivity | None, about(
        "What panopticon sensitivity varies; not set: the calibration parameters that are"
        " assumptions.")] = None
    sources: Annotated[dict[str, str], about(
        "The source of every number: the longest key that is a prefix of its dotted path;"
        " \"data:\" cites a data file, \"assumption:\" gives a reason.", key="path")] = {}
    _memo: Memo = PrivateAttr(default_factory=Memo)  # its schedules, for on(date)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.end < self.start:
            raise ValueError(f"end {self.end} comes before start {self.start}")
        catalog.check(self)
        posted = {t for _, speech in every_date(self.speech) for t, c in speech.content.items()
                  if c.rate > 0} if self.speech else set()
        unreviewed = sorted(posted - set(self.sensing.content_review))
        if unreviewed:
            raise ValueError(f"sensing.content_review has no entry for {unreviewed}, which"
                             " speech.content posts: give each a precision and a recall")
        if self.calibration is not None:
            self.check_table("calibration")
        return self

    def check_table(self, table: str) -> None:
        """Every parameter of ``[calibration]`` or ``[sensitivity]`` names a number with allowed
        bounds, and no grade cut-off is named twice (as a grade's min and its neighbour's max);
        a ValueError says which does not. Calibration's is checked as the scenario loads;
        sensitivity's when a study starts, so that a scenario which drops a part the inherited
        table names (fear, a content type) still loads and runs."""
        data, cuts = self.model_dump(), {}
        for path, bounds in getattr(self, table).parameters.items():
            cut = self._check_free(path, bounds, data, table)
            if cut in cuts:
                raise ValueError(f"{table} parameters {cuts[cut]!r} and {path!r} are the"
                                 " same cut-off between two grades (moving one moves the"
                                 " other); name it once")
            if cut is not None:
                cuts[cut] = path

    @model_validator(mode="after")
    def _own_domain(self) -> Scenario:
        if self.sanction_scope != "own_domain":
            return self
        catalog.own_domain(self)
        company = self.scoring.bad_company
        if self.rewards or self.scoring.public_ranking or (company and company.enabled):
            raise ValueError("sanction_scope 'own_domain' allows no score that travels: no"
                             " rewards, no scoring.public_ranking and no scoring.bad_company"
                             " (set enabled = false)")
        return self

    def _check_free(self, path: str, bounds: FreeParameter, data: dict,
                    table: str) -> frozenset | None:
        """A free parameter must name a number of this scenario (``data``, its dump), and its
        bounds must be allowed; a grade's cut-off must keep every grade within them. Returns
        the cut-off a grade's min or max names (its two sides), None for another number."""
        try:
            value, tp = number_at(data, path)
        except PathError as err:
            raise ValueError(f"{table} parameter {path!r} is not a number of the scenario:"
                             f" {err}") from None
        if tp is None:
            hint = (f"; it is a schedule: name one of its values, such as"
                    f" '{path}.points.0.value', and remove this one (\"{path}\" ="
                    f" {{ remove = true }} under [{table}.parameters])"
                    if isinstance(value, dict) and "points" in value
                    else "; write a dotted path through tables, such as 'court.comply_rate'")
            raise ValueError(f"{table} parameter {path!r} is not a number of the scenario"
                             + hint)
        if tp is int and not (bounds.low.is_integer() and bounds.high.is_integer()):
            raise ValueError(f"{table} parameter {path!r} is an integer: its low and high"
                             " must be whole numbers")
        _, meta = _schema_at(tuple(path.split(".")))
        for bound in (bounds.low, bounds.high):
            if not _within(bound, meta):
                raise ValueError(f"{table} parameter {path!r}: bound {bound} is outside what"
                                 f" the field allows:{range_text(meta)}")
        cut = _grade_cut(data, find(data, path)[1])
        if cut is None:
            return None
        grade, side, across = cut
        low, high = ((across["min"] + 1 if across else grade["min"], grade["max"]) if side == "min"
                     else (grade["min"], across["max"] - 1 if across else grade["max"]))
        if not low <= bounds.low < bounds.high <= high:
            moves = (f"moving {grade['name']}.{side} moves {across['name']}."
                     f"{'max' if side == 'min' else 'min'} with it" if across else
                     f"{grade['name']}.{side} is the end of the score range")
            raise ValueError(f"{table} parameter {path!r}: bounds {bounds.low:g} to"
                             f" {bounds.high:g} would leave a grade empty or scores without a"
                             f" grade; {moves}, so it may range from {low} to {high}")
        return frozenset({(grade["name"], side), (across["name"] if across else None,
                                                  "max" if side == "min" else "min")})

    @staticmethod
    def load(source: str | Path) -> Scenario:
        """A preset by name or a TOML file (see the module function ``load``)."""
        return load(source)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def warnings(self) -> list[str]:
        """What the run will do that the data do not support, as one-line warnings: dated series
        held flat for more than FLAT_WARNING_DAYS past their last date or before their first;
        attempts that nothing blocks or favours."""
        return self._flat_series() + catalog.warnings(self)

    def _flat_series(self) -> list[str]:
        margin = dt.timedelta(days=FLAT_WARNING_DAYS)
        series = dated_series(self)
        after = [f"{path} (to {points[-1].date})" for path, points in series
                 if self.end - points[-1].date > margin]
        before = [f"{path} (from {points[0].date})" for path, points in series
                  if points[0].date - self.start > margin]
        parts = []
        if after:
            parts.append(f"goes more than a year past {', '.join(after)}: their last values are"
                         " held flat")
        if before:
            parts.append(f"starts more than a year before {', '.join(before)}: their first"
                         " values are held flat")
        if not parts:
            return []
        return [f"{self.name}: the run ({self.start} to {self.end}) {'; it '.join(parts)}"]

    def with_changes(self, *, origin: str | None = None, **changes: Any) -> Scenario:
        """A validated copy with top-level or dotted fields replaced (``population.size=...``,
        items of named arrays by name, other items by index, see :func:`find`); moving a
        grade's min or max moves the grade across that cut-off with it. A problem is reported
        as from ``origin`` (default: the scenario and the changed fields)."""
        data = self.model_dump()
        for key, value in changes.items():
            *parents, leaf = key.split(".")
            try:
                node, loc = find(data, ".".join(parents)) if parents else (data, ())
                part = _item(node, leaf, tuple(parents))
            except PathError as err:
                raise ScenarioError(f"{self.name}: nothing to change at {key!r}: {err}") from None
            if _grade_cut(data, (*loc, part)) is not None:
                _move_cut(data, (*loc, part), value)
            else:
                node[part] = value
        return validate(data, origin or f"{self.name} (changed {', '.join(changes)})")

    def on(self, date: dt.date) -> Scenario:
        """The scenario on ``date``: every schedule replaced by its value on that date, built
        without validation (the values were validated). It is ``self`` where the scenario has
        no schedule, and the same object on every date whose values are the same, so that a
        stage that recomputes its parameters when its scenario object changes pays nothing on
        the days between a schedule's steps."""
        memo = self._memo
        if memo.owner != id(self):
            memo = self._memo = Memo(self)
        return memo.on(self, date)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(exclude_none=True))


def dated_series(model: BaseModel, prefix: str = "") -> list[tuple[str, list[DatedValue]]]:
    """Every series of dated values in a scenario's tables, with its dotted path."""
    found = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += dated_series(value, f"{prefix}{name}.")
        elif isinstance(value, list) and value and isinstance(value[0], (DatedValue, DatedShare)):
            found.append((f"{prefix}{name}", value))
    return found


# Where a value of merged tables was written: its location in that file, and the file if not
# the first of the chain (``Resolved.locate``).
Locate = Callable[[tuple], tuple[tuple, str | None]]


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names file, field, value and what is allowed."""


def preset_text(name: str) -> str:
    if name not in PRESETS:
        raise ScenarioError(f"unknown preset {name!r}; presets are: {', '.join(PRESETS)}")
    return resources.files("panopticon.presets").joinpath(f"{name}.toml").read_text("utf-8")


def preset_summaries() -> dict[str, str]:
    return {name: tomllib.loads(preset_text(name)).get("description", "") for name in PRESETS}


# How files compose (docs/scenarios.md). A file may extend a preset or another file; its tables
# merge into what it extends key by key, its arrays of named items (``item_key``) item by item.
MAX_EXTENDS = 32  # files and presets in one chain of extends
REMOVE = "remove"  # `remove = true` in an item of a named array removes the inherited item


def item_key(model: type[BaseModel]) -> str | None:
    """The field that names the items of an array of ``model`` tables, by which a file merges
    them with the items it extends: the model's ``merge_key``, else ``name`` if it has one."""
    key = getattr(model, "merge_key", "name")
    return key if key in model.model_fields else None


def _named_key(loc: tuple) -> str | None:
    """The key of the items of the array at ``loc`` if the schema says it is one of named items."""
    tp, _ = _schema_at(loc)
    if get_origin(tp) is not list:
        return None
    item, _ = unwrap(get_args(tp)[0])
    return item_key(item) if _is_model(item) else None


def named_arrays(model: type[BaseModel] = Scenario, prefix: str = "") -> dict[str, str]:
    """Each array of named items reached through tables: dotted path -> the key of its items."""
    found = {}
    for name, field in model.model_fields.items():
        tp, _ = unwrap(field.annotation, field.metadata)
        item = unwrap(get_args(tp)[0])[0] if get_origin(tp) is list else tp
        if _is_model(item) and item is not tp and item_key(item):
            found[prefix + name] = item_key(item)
        elif _is_model(tp):
            found |= named_arrays(tp, f"{prefix}{name}.")
    return found


def _merge(base: dict, override: dict, origin: str, replace: frozenset[tuple] = frozenset(),
           loc: tuple = ()) -> dict:
    """A file's tables (``override``) over those it extends: tables merge key by key, arrays of
    named items by name (unless ``replace`` names them), and anything else replaces the base's.
    ``loc`` names items of named arrays by their key, so ``replace`` may reach into them."""
    out = dict(base)
    entries = get_origin(_schema_at(loc)[0]) is dict
    for key, value in override.items():
        here, old = (*loc, key), out.get(key, [])
        if entries and isinstance(value, dict) and REMOVE in value:
            _remove_entry(out, key, value, origin, here)
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = _merge(old, value, origin, replace, here)
        elif here not in replace and _both_tables(old, value) and (name := _named_key(here)):
            out[key] = _merge_items(old, value, name, origin, replace, here)
        else:
            out[key] = value
    return out


def _remove_entry(out: dict, key: str, value: dict, origin: str, loc: tuple) -> None:
    """`remove = true`, alone, as an entry of a table of named entries (``[acts.good_deed]``,
    ``"court.comply_rate" = { remove = true }`` of calibration.parameters) removes the
    inherited entry of that name."""
    where = f"{origin}: field '{_dotted(loc)}'"
    if value != {REMOVE: True}:
        raise ScenarioError(f"{where}: value {_show(value)} is not allowed; an entry that says"
                            f" {REMOVE} gives {REMOVE} = true alone, and removes the inherited"
                            f" entry {key!r}")
    if key not in out:
        raise ScenarioError(f"{where}: {REMOVE} = true, but {_dotted(loc[:-1])} inherits no entry"
                            f" {key!r}; it inherits {_show(list(out))}")
    del out[key]


def _both_tables(old: Any, new: Any) -> bool:
    """Two arrays of tables (none inherited is an empty one), the new one not empty: `x = []`
    means none, not "no change"."""
    return (isinstance(old, list) and isinstance(new, list) and bool(new)
            and all(isinstance(item, dict) for item in old + new))


def _merge_items(inherited: list[dict], given: list[dict], key: str, origin: str,
                 replace: frozenset[tuple], loc: tuple) -> list[dict]:
    """An item named as an inherited one changes the fields it gives, or with `remove = true`
    removes it; an item of a new name is added after the inherited ones."""
    field, names = _dotted(loc), [item.get(key) for item in inherited]
    out: list[dict | None] = list(inherited)
    seen: set[str] = set()
    for i, item in enumerate(given):
        where = f"{origin}: field '{field}.{i}'"
        name, remove = item.get(key), item.get(REMOVE, False)
        changes = {k: v for k, v in item.items() if k != REMOVE}
        if not isinstance(name, str):
            raise ScenarioError(f"{where}: an item of {field} needs a {key} (a string): a file's"
                                f" items of {field} merge by {key} with those it extends"
                                + "".join(_moved((*loc, i, k)) for k in item))
        if not isinstance(remove, bool):
            raise ScenarioError(f"{origin}: field '{field}.{i}.{REMOVE}': value {_show(remove)}"
                                " is not allowed; it must be true or false")
        at = [j for j, n in enumerate(names) if n == name]
        if at and name in seen:
            raise ScenarioError(f"{where}: {key} {name!r} is given twice in {field}; give an"
                                f" inherited {key} once, or the whole array with"
                                f" replace = [\"{field}\"]")
        seen.add(name)
        if len(at) > 1:
            raise ScenarioError(f"{where}: {len(at)} inherited items of {field} have {key}"
                                f" {name!r}; give the whole array with replace = [\"{field}\"]")
        if remove and not at:
            raise ScenarioError(f"{where}: remove = true, but no inherited item of {field} has"
                                f" {key} {name!r}; they are {_show(names)}")
        if remove and len(changes) > 1:
            raise ScenarioError(f"{where}: an item with remove = true gives only its {key}, not"
                                f" {', '.join(sorted(set(changes) - {key}))}")
        if remove:
            out[at[0]] = None
        elif at:
            out[at[0]] = _merge(out[at[0]], changes, origin, replace, (*loc, name))
        else:
            out.append(changes)
    return [item for item in out if item is not None]


def _replaced(value: Any, data: dict, origin: str, extends: bool) -> frozenset[tuple]:
    """The named arrays that a file's ``replace`` says it gives whole, as locations."""
    if value is None:
        return frozenset()
    where = f"{origin}: field 'replace'"
    if not extends:
        raise ScenarioError(f"{where}: a file that extends nothing has nothing to replace")
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ScenarioError(f"{where}: value {_show(value)} is not allowed; it must be an array of"
                            " the dotted names of arrays this file gives whole, e.g."
                            ' ["sanctions"]')
    for path in value:
        if _named_key(tuple(path.split("."))) is None:
            raise ScenarioError(f"{where}: {path!r} is not an array of named items (other arrays"
                                f" are always given whole); they are {', '.join(named_arrays())}")
        if not _gives(data, tuple(path.split("."))):
            raise ScenarioError(f"{where}: the file does not give {path!r}; give it in the file"
                                " (an empty array for none)")
    return frozenset(tuple(path.split(".")) for path in value)


def _gives(data: Any, loc: tuple) -> bool:
    """Whether a file's tables give ``loc`` (items of named arrays named by their key)."""
    for i, part in enumerate(loc):
        if isinstance(data, list) and (key := _named_key(loc[:i])):
            data = next((x for x in data if isinstance(x, dict) and x.get(key) == part), None)
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return False
    return data is not None


def _parse(text: str, origin: str) -> dict:
    """The TOML of a scenario file; a UTF-8 byte order mark at its start is ignored."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{origin}: not valid TOML: {err}") from None
    except RecursionError:
        raise ScenarioError(f"{origin}: not valid TOML for a scenario: arrays or inline tables"
                            " nested too deep") from None
    except ValueError as err:  # not a TOMLDecodeError: Python's limit on an integer's digits
        why = (f"an integer of more than {sys.get_int_max_str_digits()} digits"
               if "digits" in str(err) else str(err))
        raise ScenarioError(f"{origin}: not valid TOML for a scenario: {why}") from None
    # A file of only comments parses to {} and would otherwise report every table as missing.
    if not data:
        raise ScenarioError(
            f"{origin}: the file has no settings; a scenario needs at least"
            f" `extends = \"{PRESETS[0]}\"` or a complete set of tables"
        )
    return data


@dataclass(frozen=True)
class _Link:
    """A file or preset of a chain of extends."""

    identity: str  # its real path, or "preset NAME": a cycle comes back to one
    label: str  # how a message names it
    folder: Path | None  # where its relative `extends` are read from; None for a preset


_Layer = tuple[_Link, dict]  # a file of a chain of extends and its own tables


def _preset_link(name: str, label: str) -> _Link:
    return _Link(f"preset {name}", label, None)


def _file_link(path: Path, label: str | None = None) -> _Link:
    try:
        identity = str(path.resolve())
    except (OSError, ValueError, RuntimeError):  # read already, so hardly ever
        identity = str(path.absolute())
    return _Link(identity, label or os.path.normpath(path), path.parent)


def _origin(chain: tuple[_Link, ...]) -> str:
    """The last file of a chain, as extended by the others: where its own mistakes are."""
    *by, last = chain
    return f"{last.label} (extended by {_arrows(by)})" if by else last.label


def _arrows(links: Any) -> str:
    """A chain of files as `a.toml -> b.toml`, its middle left out if it is long."""
    labels = [link.label for link in links]
    if len(labels) > 6:
        labels = [*labels[:2], f"... {len(labels) - 4} more ...", *labels[-2:]]
    return " -> ".join(labels)


def _resolve(data: dict, chain: tuple[_Link, ...]) -> tuple[dict, tuple[_Layer, ...]]:
    """A file's tables (``data``, of the last of ``chain``) merged over what it extends, and the
    layers: this file and those it extends, nearest first, each with its own tables."""
    origin = _origin(chain)
    value = data.pop("extends", None)
    replace = _replaced(data.pop("replace", None), data, origin, value is not None)
    if value is None:
        return data, ((chain[-1], data),)
    parent, text = _extended(value, chain, origin)
    base, above = _resolve(_parse(text, _origin((*chain, parent))), (*chain, parent))
    try:
        merged = _merge(base, data, origin, replace)
    except RecursionError:  # dotted keys nest tables deeper than inline ones can
        raise ScenarioError(f"{origin}: tables nested too deep to merge with those it"
                            " extends") from None
    if "name" not in data and isinstance(base.get("name"), str):
        merged["name"] = base["name"].removesuffix("-extended") + "-extended"
    return merged, ((chain[-1], data), *above)


def _extended(value: Any, chain: tuple[_Link, ...], origin: str) -> tuple[_Link, str]:
    """What ``extends = value`` names, in the last file of ``chain``, and its text: a preset by
    name, or a file by a path relative to that file's folder. Presets extend presets only."""
    where, presets = f"{origin}: field 'extends'", ", ".join(PRESETS)
    folder = chain[-1].folder
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: value {_show(value)} is not allowed; it must be a preset"
                            f" ({presets}) or the path of a scenario file")
    if value not in PRESETS and folder is None:
        raise ScenarioError(f"{where}: value {_show(value)} is not allowed; a preset extends one"
                            f" of the presets {presets}")
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(f"{where}: more than {MAX_EXTENDS} files extend one another, from"
                            f" {chain[0].label} to {value!r}")
    if value in PRESETS:
        parent, text = _preset_link(value, value), preset_text(value)
    else:
        path = folder / value
        text = _read(path, _one_line(f"{where}: value {_show(value)} is not allowed:"
                                     f" {os.path.normpath(path)}"))
        parent = _file_link(path)
    if parent.identity in {x.identity for x in chain}:
        raise ScenarioError(f"{where}: value {_show(value)} makes a cycle:"
                            f" {_arrows((*chain, parent))}")
    return parent, text


@dataclass(frozen=True)
class Resolved:
    """A preset or TOML file merged over all it extends, not yet validated."""

    data: dict  # the merged tables
    layers: tuple[_Layer, ...]  # the file and those it extends, nearest first

    @property
    def origin(self) -> str:
        """Where its mistakes are reported from: the file, and the chain it extends if that
        holds a user's file (``my.toml (extends base.toml -> china-2018)``)."""
        root, *parents = (link for link, _ in self.layers)
        if any(p.folder is not None for p in parents):
            return f"{root.label} (extends {_arrows(parents)})"
        return root.label

    def locate(self, loc: tuple) -> tuple[tuple, str | None]:
        """Where the merged value at ``loc`` was written: its location in the nearest file
        that gives it, and that file's label if it is not the first; for a field that no file
        gives, in the nearest file that gives its table; (loc, None) if unknown."""
        for i, (link, data) in enumerate(self.layers):
            found = _find(data, self.data, loc)
            if found is not None:
                return found, (link.label if i else None)
        for k in range(len(loc) - 1, 0, -1):  # a field that no file gives: in its table's file
            for i, (link, data) in enumerate(self.layers):
                found = _find(data, self.data, loc[:k])
                if found is not None:
                    return (*found, *loc[k:]), (link.label if i else None)
        return loc, None


def _find(data: Any, merged: Any, loc: tuple) -> tuple | None:
    """``loc`` of the merged tables as a location in one file's ``data``, or None if the file
    does not give it. Items of named arrays are matched by their key, other items by index."""
    out = []
    for i, part in enumerate(loc):
        if isinstance(merged, list) and isinstance(data, list) and isinstance(part, int):
            item, key = merged[part] if part < len(merged) else None, _named_key(loc[:i])
            if key and isinstance(item, dict) and key in item:
                part = next((j for j, x in enumerate(data)
                             if isinstance(x, dict) and x.get(key) == item[key]), None)
            if part is None or part >= len(data):
                return None
            data, merged = data[part], item
        elif isinstance(merged, dict) and isinstance(data, dict) and part in data:
            data, merged = data[part], merged.get(part)
        else:
            return None
        out.append(part)
    return tuple(out)


def resolve(source: str | Path) -> Resolved:
    """A preset (by name) or TOML file merged over all it extends."""
    if isinstance(source, str) and source in PRESETS:
        root, text = _preset_link(source, f"preset {source}"), preset_text(source)
    else:
        text = _read(Path(source))
        root = _file_link(Path(source), str(source))
    return Resolved(*_resolve(_parse(text, root.label), (root,)))


def load(source: str | Path) -> Scenario:
    """A scenario from a preset name or a TOML file; raises ScenarioError with a readable
    message."""
    resolved = resolve(source)
    return validate(resolved.data, resolved.origin, resolved.locate)


def _read(path: Path, label: str | None = None) -> str:
    """The text of a scenario file, or a ScenarioError that says why it cannot be one (naming
    it as ``label``, by default its path)."""
    label = label or str(path)
    try:
        if path.is_dir():
            raise ScenarioError(f"{label}: is a folder; give a scenario file or a preset name")
        if not path.is_file():
            raise ScenarioError(f"{label}: no such preset or file; presets are:"
                                f" {', '.join(PRESETS)}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{label}: {path.stat().st_size:_} bytes is too large for a"
                                f" scenario file (at most {MAX_FILE_BYTES:_})")
        raw = path.read_bytes()
    except OSError as err:
        raise ScenarioError(f"{label}: cannot be read ({err.strerror or err})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError(f"{label}: the file is UTF-16; a scenario must be a UTF-8 TOML file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ScenarioError(
            f"{label}: line {line}: byte 0x{raw[err.start]:02x} is not UTF-8;"
            " a scenario must be a UTF-8 TOML file"
        ) from None


def validate(data: dict, origin: str, locate: Locate | None = None) -> Scenario:
    """The scenario of merged tables; ``locate`` says where in which file a value was written."""
    try:
        return Scenario.model_validate(data, context={"grade_names": _grade_names(data)})
    except ValidationError as err:
        raise ScenarioError(describe_errors(err, origin, locate)) from None


def _grade_names(data: Any) -> list[str] | None:
    """The grades sanctions may name, or None while [scoring] itself is invalid (reported alone)."""
    try:
        return [g.name for g in Scoring.model_validate(data["scoring"]).grades]
    except (ValidationError, KeyError, TypeError):
        return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def unwrap(tp: Any, meta: list | tuple = ()) -> tuple[Any, list]:
    """The bare type under ``Annotated`` and ``X | None``, with the constraints met on the way."""
    meta = list(meta)
    while True:
        if get_origin(tp) is Annotated:
            tp, *extra = get_args(tp)
            meta += [m for x in extra for m in getattr(x, "metadata", [x])]
        elif get_origin(tp) in (Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp, meta


def _schema_at(loc: tuple) -> tuple[Any, list]:
    """The declared type and constraints at a pydantic error location, or (None, []) off the schema.

    Pydantic's messages say what was wrong with the input; the schema says what would be right.
    """
    tp, meta, _ = _walk_schema(loc)
    return tp, meta


def _walk_schema(loc: tuple) -> tuple[Any, list, tuple]:
    """The declared type and constraints at ``loc``, and ``loc`` without the tags that pydantic
    puts in the location of a field that takes a number or a schedule (``rate.schedule.points``
    is the user's ``rate.points``), or a name or a table (``who.table.age``). A field that takes
    a schedule is its number, and one that takes a table its name, unless the location goes on
    into the table."""
    tp, meta, plain = Scenario, [], []
    for i, part in enumerate(loc):
        form, two = schedulable(meta), either(meta)
        if form is not None and part in (NUMBER, SCHEDULE):
            tp, meta = (form.model, []) if part == SCHEDULE else (tp, meta)
            continue
        if two is not None and part in (NAME, TABLE):
            tp, meta = (two.table, []) if part == TABLE else (tp, meta)
            continue
        if form is not None and part in form.model.model_fields:
            tp = form.model
        if two is not None and part in two.table.model_fields:
            tp = two.table
        plain.append(part)
        if _is_model(tp):
            field = tp.model_fields.get(part)
            if field is None:
                return None, [], (*plain, *loc[i + 1:])
            tp, meta = unwrap(field.annotation, field.metadata)
        elif get_origin(tp) in (dict, list):
            tp, meta = unwrap(get_args(tp)[-1])  # the value type; list indices and dict keys alike
        else:
            return None, [], (*plain, *loc[i + 1:])
    return tp, meta, tuple(plain)


def _table_at(loc: tuple) -> Any:
    """The type at ``loc`` as a table: a schedule's model where the field takes one, the table
    where it takes a name or a table."""
    tp, meta = _schema_at(loc)
    form, two = schedulable(meta), either(meta)
    return form.model if form is not None else two.table if two is not None else tp


def _names(tp: Any) -> list[str]:
    """The field names of a table, or the choices of a Literal."""
    if _is_model(tp):
        return sorted(tp.model_fields)
    if get_origin(tp) is Literal:
        return sorted(get_args(tp))
    return []


def _num(x: float | dt.date) -> str:
    if isinstance(x, dt.date):
        return str(x)
    return f"{int(x):_}" if float(x).is_integer() else f"{x:_}"


def _within(x: float, meta: list) -> bool:
    """Whether x meets the ge/gt/le/lt constraints in ``meta``."""
    checks = {"ge": x.__ge__, "gt": x.__gt__, "le": x.__le__, "lt": x.__lt__}
    return all(checks[a](getattr(m, a)) for m in meta for a in checks if hasattr(m, a))


def range_text(meta: list) -> str:
    """The ge/gt/le/lt bounds in ``meta`` as words (" from 0 to 1", " >= 0"), '' if none."""
    ops = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    bounds = {a: getattr(m, a) for m in meta for a in ops if hasattr(m, a)}
    if "ge" in bounds and "le" in bounds:
        return f" from {_num(bounds['ge'])} to {_num(bounds['le'])}"
    return " " + " and ".join(f"{ops[a]} {_num(v)}" for a, v in bounds.items()) if bounds else ""


def _allowed(tp: Any, meta: list) -> str:
    """What a value may be, in the words of a TOML file rather than Python's ('' if unknown),
    with the field's Note."""
    notes = [m.text for m in meta if isinstance(m, Note)]
    text = _kind(tp, meta)
    return f"{text} ({'; '.join(notes)})" if text and notes else text


def _kind(tp: Any, meta: list) -> str:
    if _is_model(tp):
        return f"a table with fields {', '.join(_names(tp))}"
    origin = get_origin(tp)
    if origin is dict:
        keys = _names(get_args(tp)[0])
        return f"a table with keys {', '.join(keys)}" if keys else "a table"
    if origin is list:
        least = [m.min_length for m in meta if getattr(m, "min_length", None)]
        size = f" of at least {least[0]} item{'s' * (least[0] > 1)}" if least else ""
        return f"an array{size}, each item {_allowed(*unwrap(get_args(tp)[0]))}"
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in _names(tp))
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer" + range_text(meta)
    if tp is float:
        return "a number" + range_text(meta)
    if tp is dt.date:
        return "a date" + range_text(meta) + ", written as 2018-01-01 (no quotes)"
    if tp is str:
        return "a string"
    return ""


def _blame(loc: tuple, model: type[BaseModel], msg: str) -> tuple:
    """The field a table-wide check is about: the first of the table's fields its message names.

    Checks across fields (dates in order, grades that tile the score range) run on the whole table,
    so pydantic reports the table; their messages name the field they concern ("grade" counts for
    "grades").
    """
    for word in re.findall(r"\w+", msg):
        for name in (word, word + "s"):
            if name in model.model_fields:
                return (*loc, name)
    return loc


def _show(value: Any, depth: int = 0) -> str:
    """A value as it would be written in TOML, cut short (arrays to a few items and levels, huge
    integers to their size): the user wrote TOML, not Python."""
    if isinstance(value, dict):
        text = "(a table)"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, list):
        items = [_show(v, depth + 1) for v in value[:SHOWN_ITEMS]] if depth < 3 else ["..."]
        text = "[" + ", ".join(items + ["..."] * (len(value) > len(items))) + "]"
    elif isinstance(value, str):
        text = repr(value[:100])
    elif isinstance(value, int) and abs(value) >= 10**40:
        digits = int(value.bit_length() * math.log10(2)) + 1  # str() refuses over 4300 digits
        text = f"{'-' * (value < 0)}(an integer of about {digits:_} digits)"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _problem(e: dict) -> str:
    """One pydantic error as one line that a user who has never seen the model classes can act
    on."""
    loc = tuple(e["loc"])
    msg = e["msg"].removeprefix("Value error, ")
    if e.get("at"):
        return f"field '{_dotted(loc)}': {msg}"
    if e["type"] == "extra_forbidden":
        names = _names(_table_at(loc[:-1]))
        return (f"field '{_dotted(loc)}': unknown field; allowed here: {', '.join(names)}"
                + _moved(loc))
    if loc[-1:] == ("[key]",):  # a key of a table of named entries, such as [acts]
        loc = loc[:-1]
        key, key_meta = unwrap(get_args(_schema_at(loc[:-1])[0])[0])
        if get_origin(key) is not Literal:
            return (f"field '{_dotted(loc)}': the name {_show(loc[-1])} is not allowed; it must"
                    f" be {_allowed(key, key_meta)}")
        return f"field '{_dotted(loc)}': unknown field; allowed here: {', '.join(_names(key))}"
    tp, meta = _schema_at(loc)
    table = _table_at(loc)
    if e["type"] == "value_error" and _is_model(table):
        return f"field '{_dotted(_blame(loc, table, msg))}': {msg}"
    if e["type"] == "value_error":  # a field validator's own words say what is allowed
        return f"field '{_dotted(loc)}': value {_show(e.get('input'))} is not allowed: {msg}"
    allowed = _allowed(tp, meta) or msg
    if e["type"] == "finite_number":
        allowed = allowed.replace("a number", "a finite number", 1)
    if e["type"] == "missing":
        return f"field '{_dotted(loc)}': required but missing; it must be {allowed}"
    value = e.get("input")
    return (f"field '{_dotted(loc)}': value {_show(value)} is not allowed; it must be {allowed}"
            + _schedule_hint(tp, meta, value, e["type"]))


# Fields of earlier versions of the language, and where what they said is written now.
MOVED: dict[tuple, str] = {
    ("life",): "[life] became attempt acts ([acts.trip_abroad], [acts.job_application],"
               " [acts.credit_application], [acts.school_application], nature = \"attempt\")",
    ("sensing", "face_hit_rate"): "it is channels.cameras.hit now",
    ("sensing", "false_match_share"): "it is channels.cameras.false_share now",
    ("sensing", "payment_observed"): "it is channels.payment_records.hit now",
    ("sensing", "court_records"): "it is channels.courts.hit now",
    ("sensing", "tax_records"): "it is channels.tax_office.hit now",
    ("sensing", "good_deed_reported"): "it is channels.good_deed_reports.hit now",
    ("sanctions", "*", "kind"): "a sanction has a name and says what it blocks (name ="
                                " \"plane_ban\", blocks = [\"plane_ticket\"])",
    ("rewards", "*", "kind"): "a reward has a name and says what it grants (name ="
                              " \"easy_credit\", grants = [\"credit_application\"])",
}


def _moved(loc: tuple) -> str:
    """Where a field of an earlier version of the language is written now ('' if it is not
    one)."""
    hint = MOVED.get(tuple("*" if isinstance(p, int) else p for p in loc))
    return f" ({hint})" if hint else ""


def _schedule_hint(tp: Any, meta: list, value: Any, kind: str) -> str:
    """What a message of a number adds about schedules: that a field which takes one may be
    given one, where the value is not a number; that one which does not, cannot."""
    if tp not in (int, float):
        return ""
    if schedulable(meta) is not None and kind.endswith("_type"):
        return (", or a schedule such as { shape = \"steps\", points = [{ date = 2018-01-01,"
                " value = ... }] }")
    if schedulable(meta) is None and isinstance(value, dict):
        return (" (this field takes no schedule: only rates, probabilities, shares and points"
                " do; see docs/reference.md)")
    return ""


def _problems(errors: list[dict]) -> list[str]:
    """Each problem once: an unknown key of a fixed table is one problem, not also a bad value."""
    unknown = {tuple(e["loc"][:-1]) for e in errors if e["loc"][-1:] == ("[key]",)}
    kept = [e for e in errors if e["loc"][-1:] == ("[key]",) or tuple(e["loc"]) not in unknown]
    return list(dict.fromkeys(_one_line(_problem(e) + (f" (set in {e['source']})"
                                                       if e.get("source") else ""))
                              for e in kept))


def _one_line(text: str) -> str:
    """Text with its line breaks and other control characters escaped (a name may hold them)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _at(e: dict) -> tuple:
    """The field a check across tables blames (an :class:`At` error's), () for another error."""
    return getattr((e.get("ctx") or {}).get("error"), "loc", ())


def describe_errors(err: ValidationError, origin: str, locate: Locate | None = None) -> str:
    """A problem as one line: file, dotted field, offending value and what is allowed; several
    as a header line and one line each (the first MAX_PROBLEMS). With ``locate``, a field is
    named where it was written, and the file that wrote it if not the first."""
    errors = [{**e, "loc": _walk_schema(tuple(e["loc"]) + _at(e))[2], "at": bool(_at(e))}
              for e in err.errors(include_url=False)]
    if locate is not None:
        errors = [{**e, **dict(zip(("loc", "source"), locate(tuple(e["loc"])), strict=True))}
                  for e in errors]
    problems = _problems(errors)
    origin = _one_line(origin)
    if len(problems) == 1:
        return f"{origin}: {problems[0]}"
    lines = [f"{origin}: {len(problems)} problems in the scenario"]
    lines += [f"  {p}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"  ... and {len(problems) - MAX_PROBLEMS} more")
    return "\n".join(lines)


def check_field(path: str, value: Any, origin: str) -> Any:
    """``value`` as the scenario field at a dotted ``path`` would take it (a command-line
    option's, say), or a ScenarioError naming ``origin``, the field and what is allowed."""
    tp, meta = _schema_at(tuple(path.split(".")))
    adapter = TypeAdapter(Annotated[tp, *meta] if meta else tp,
                          config=ConfigDict(strict=True, allow_inf_nan=False))
    try:
        return adapter.validate_python(value)
    except ValidationError as err:
        errors = [{**e, "loc": (*path.split("."), *e["loc"])} for e in err.errors()]
        raise ScenarioError(f"{origin}: {_problems(errors)[0]}") from None
