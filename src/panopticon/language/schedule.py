"""Dated schedules: a rate, probability, share or points value written as values on dates.

A field whose type is ``scheduled(number, name)`` takes either a number or a schedule,
``{ shape = "steps", points = [{ date = 2014-01-01, value = 0.0015 }, ...] }``: "steps" holds each
point's value from its date until the next point's, "linear" goes in a straight line between
points (rounded to whole numbers for an integer field); before the first date and after the last
the value is held flat. Each value keeps the bounds of the field it schedules.

``Scenario.on(date)`` puts each schedule's value on that date in its place (:class:`Memo`), and
the checks across fields (content rates adding up to at most 1, ...) run on the model on every
date where a schedule has a point (:func:`every_date`).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import BaseModel, Discriminator, Field, Tag, create_model, model_validator

from .fields import STRICT, about

NUMBER, SCHEDULE = "number", "schedule"  # the tags of the two forms of a schedulable field
MEMO_SIZE = 64  # scenarios on recent values that Scenario.on keeps
Model = TypeVar("Model", bound=BaseModel)


class SchedulePoint(BaseModel):
    """A point of a schedule: its value from (steps) or at (linear) its date."""

    model_config = STRICT

    date: Annotated[dt.date, about("The date of the value.")]
    value: Any  # each field's schedule gives its number's type and bounds (scheduled)


class Schedule(BaseModel):
    """A value that changes over time, in place of a number: ``shape`` = "steps" holds each
    point's value from its date until the next point's date, "linear" goes in a straight line
    between points (rounded for an integer field); before the first date and after the last the
    value is held flat. Each value keeps the field's own type and bounds."""

    model_config = STRICT

    shape: Annotated[Literal["steps", "linear"], about(
        "steps: each value holds from its date to the next; linear: straight lines between the"
        " points.")]
    points: Annotated[list[SchedulePoint], Field(min_length=1), about(
        "The values by date, dates strictly increasing.")]

    @model_validator(mode="after")
    def _dates_increase(self) -> Schedule:
        for a, b in zip(self.points, self.points[1:]):
            if b.date <= a.date:
                why = "is given twice" if b.date == a.date else f"comes after {a.date}"
                raise ValueError(f"the points' dates must increase: {b.date} {why}")
        return self

    def on(self, date: dt.date) -> Any:
        """The value on ``date``."""
        points = self.points
        after = bisect.bisect_right(points, date, key=lambda p: p.date)
        if after == 0:
            return points[0].value
        a = points[after - 1]
        if after == len(points) or self.shape == "steps":
            return a.value
        b = points[after]
        lo, hi = sorted((a.value, b.value))
        x = a.value + (b.value - a.value) * (date - a.date).days / (b.date - a.date).days
        x = min(max(x, lo), hi)  # within the points' values despite rounding
        return round(x) if isinstance(lo, int) else x


class Schedulable:
    """Annotated metadata of a field that takes a number or a schedule: the number's type and
    the schedule's model."""

    def __init__(self, number: Any, model: type[Schedule]) -> None:
        self.number = number
        self.model = model


def _form(value: Any) -> str:
    """Which form a value of a schedulable field is written in: a table is a schedule."""
    return SCHEDULE if isinstance(value, (dict, Schedule)) else NUMBER


def scheduled(number: Any, name: str) -> Any:
    """The type of a field that takes a ``number`` (an Annotated type with its bounds) or a
    schedule of such numbers; ``name`` names the schedule's tables in the JSON Schema."""
    point = create_model(f"{name}Point", __base__=SchedulePoint, __module__=__name__,
                         __doc__=SchedulePoint.__doc__,
                         value=(number, about("The value, within the field's own bounds.")))
    model = create_model(f"{name}Schedule", __base__=Schedule, __module__=__name__,
                         __doc__=Schedule.__doc__,
                         points=(list[point], Field(min_length=1, description=(
                             "The values by date, dates strictly increasing."))))
    forms = Union[Annotated[number, Tag(NUMBER)], Annotated[model, Tag(SCHEDULE)]]  # noqa: UP007
    return Annotated[forms, Discriminator(_form), Schedulable(number, model)]


def schedulable(meta: list) -> Schedulable | None:
    """The Schedulable among a field's constraints, None if the field takes no schedule."""
    return next((m for m in meta if isinstance(m, Schedulable)), None)


def schedules_in(node: Any, loc: tuple = ()) -> list[tuple[tuple, Schedule]]:
    """Every schedule under ``node`` (through tables, tables of named entries and arrays), with
    its location."""
    if isinstance(node, Schedule):
        return [(loc, node)]
    if isinstance(node, BaseModel):
        items: Any = ((name, getattr(node, name)) for name in type(node).model_fields)
    elif isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return []
    return [found for key, value in items for found in schedules_in(value, (*loc, key))]


def with_values(node: Any, values: dict[tuple, Any]) -> Any:
    """``node`` with the values put at their locations, without validation (they were
    validated): only the tables on the way to them are copied."""
    if () in values:
        return values[()]
    below: dict[Any, dict[tuple, Any]] = {}
    for loc, value in values.items():
        below.setdefault(loc[0], {})[loc[1:]] = value
    if isinstance(node, BaseModel):
        return node.model_copy(update={k: with_values(getattr(node, k), v)
                                       for k, v in below.items()})
    out = dict(node) if isinstance(node, dict) else list(node)
    for key, value in below.items():
        out[key] = with_values(node[key], value)
    return out


def every_date(model: Model) -> Iterator[tuple[dt.date | None, Model]]:
    """``model`` on each date where one of its schedules has a point, or (None, model) if it has
    none. A check across fields that is linear in the values (a sum, a difference, a sign)
    holds on every date if it holds on these: between two of them each value is flat or a
    straight line."""
    found = schedules_in(model)
    if not found:
        yield None, model
        return
    for date in sorted({p.date for _, s in found for p in s.points}):
        yield date, with_values(model, {loc: s.on(date) for loc, s in found})


def on_date(date: dt.date | None) -> str:
    """How a message of a check across fields says the date it failed on ('' without one)."""
    return f"on {date}, " if date is not None else ""


class Memo:
    """What ``Scenario.on`` keeps with a scenario: its schedules, and the scenario on the values
    of recent dates (so that the same values give the same object). It is no part of the
    scenario's value (any two are equal) and belongs to the object whose id it holds: a copy of
    the scenario, which copies its private attributes, makes its own."""

    def __init__(self, owner: BaseModel | None = None,
                 found: list[tuple[tuple, Schedule]] | None = None) -> None:
        self.owner = id(owner) if owner is not None else None
        self.found = found if found is not None or owner is None else schedules_in(owner)
        self.copies: dict[tuple, Any] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Memo)

    __hash__ = None  # type: ignore[assignment]

    def on(self, model: Model, date: dt.date) -> Model:
        """``model`` (the owner) with every schedule replaced by its value on ``date``."""
        if not self.found:
            return model
        values = tuple(s.on(date) for _, s in self.found)
        copy = self.copies.get(values)
        if copy is None:
            copy = with_values(model, {loc: v for (loc, _), v in zip(self.found, values)})
            copy._memo = Memo(copy, [])  # a scenario without schedules: on() returns it
            if len(self.copies) >= MEMO_SIZE:
                self.copies.clear()
            self.copies[values] = copy
        return copy
