"""What every table of the scenario language is made of: strict numbers, descriptions, notes.

Shared by the scenario models (scenario.py) and the dated schedules a number may be written as
(schedule.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

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
