"""What every table of the scenario language is made of: strict numbers, descriptions, notes.

Shared by the scenario models (scenario.py) and the dated schedules a number may be written as
(schedule.py); a field may take a name or a table (``who = "adults"`` or ``who = { age = ... }``).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

# Every table: unknown fields refused; numbers strict (no "0.002" or true for a number, an
# integer is a number but a float is not an integer) and finite.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Note:
    """What a value means, added to the message of a value that is not allowed (Annotated
    metadata)."""

    def __init__(self, text: str) -> None:
        self.text = text


def about(text: str, unit: str = "", key: str = "") -> Any:
    """A field's one-line description for the reference and the JSON Schema (docs/reference.md),
    with its unit and, for a table of named entries, the word for a key (``acts.<kind>``)."""
    extra = {name: value for name, value in (("unit", unit), ("key", key)) if value}
    return Field(description=text, **({"json_schema_extra": extra} if extra else {}))


NAME, TABLE = "name", "table"  # the tags of the two forms of a field that takes either


class Either:
    """Annotated metadata of a field written as a name (a string) or as a table: the two types,
    so that a message and the reference can say both."""

    def __init__(self, name: Any, table: type[BaseModel]) -> None:
        self.name = name
        self.table = table


def _written_as(value: Any) -> str:
    return TABLE if isinstance(value, (dict, BaseModel)) else NAME


def name_or_table(name: Any, table: type[BaseModel]) -> Any:
    """The type of a field that takes a ``name`` (a Literal of names) or a ``table``."""
    forms = Union[Annotated[name, Tag(NAME)], Annotated[table, Tag(TABLE)]]  # noqa: UP007
    return Annotated[forms, Discriminator(_written_as), Either(name, table)]


def either(meta: list) -> Either | None:
    """The Either among a field's constraints, None if the field takes one form."""
    return next((m for m in meta if isinstance(m, Either)), None)
