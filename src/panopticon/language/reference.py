"""The scenario language's reference, read off the pydantic models of scenario.py: every table and
field with its type in TOML words, allowed values, bounds, unit, default and description, as
Markdown (docs/reference.md), and a JSON Schema that TOML editors validate a scenario file with.

Both come from the models (fields in declared order, their constraints, ``about`` descriptions
and units, model docstrings), so the documentation cannot drift from the code: a test compares
docs/reference.md with :func:`markdown` (``make reference`` writes it again).
"""

from __future__ import annotations

import datetime as dt
import inspect
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

import tomli_w
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .fields import either
from .scenario import (
    PRESETS,
    Note,
    Scenario,
    item_key,
    named_arrays,
    range_text,
    unwrap,
)
from .schedule import Schedule, SchedulePoint, schedulable

DIALECT = "https://json-schema.org/draft/2020-12/schema"
WORDS = {bool: "true/false", int: "integer", float: "number", str: "string", dt.date: "date"}
# ``extends`` is read by the loader, not a field of the model; the schema and the reference
# both take it from here.
EXTENDS = {
    "type": "string",
    "description": "What this file builds on: a preset's name, or a TOML file's path (relative"
                   " to this file, or absolute). Tables merge key by key; arrays of named items"
                   " merge item by item (see `replace` and `remove`); other arrays replace.",
    "examples": [*PRESETS, "./my-city.toml"],
}
REPLACE = {
    "type": "array",
    "items": {"type": "string", "enum": sorted(named_arrays())},
    "description": "Arrays of named items that this file gives whole, replacing the inherited"
                   " ones instead of merging with them by name.",
}
REMOVE = {
    "type": "boolean",
    "description": "true, with only the item's name: removes the inherited item of that name.",
}

REMOVED_ENTRY = {
    "type": "object", "properties": {"remove": {"const": True}}, "required": ["remove"],
    "additionalProperties": False,
    "description": "An entry of a table of named entries that removes the inherited one.",
}


@dataclass(frozen=True)
class Row:
    """One field: ``path`` is dotted, arrays of tables as ``sanctions[]``, tables of named
    entries as ``acts.<kind>``."""

    path: str
    type: str
    allowed: str
    unit: str
    default: str
    description: str


@dataclass(frozen=True)
class Table:
    """One table of the language: its path ('' at the top level), its model's docstring and what
    a key may be where it is an entry of a table of named entries."""

    path: str
    text: str
    key: str
    rows: list[Row]


def tables(model: type[BaseModel] = Scenario, path: str = "", key: str = "") -> list[Table]:
    """``model``'s table and every table under it, depth first, in declared order."""
    rows: list[Row] = []
    below: list[Table] = []
    for name, field in model.model_fields.items():
        row, child = _field(field, f"{path}.{name}" if path else name)
        rows.append(row)
        if child is not None:
            below += tables(*child)
    if model is Scenario:
        rows[:0] = [_merge_row("extends", "string", "a preset: " + ", ".join(
            f"`{p}`" for p in PRESETS) + "; or a file's path", EXTENDS),
                    _merge_row("replace", "array of string", ", ".join(
                        f"`{a}`" for a in sorted(named_arrays())), REPLACE)]
    if path.endswith("[]") and item_key(model):
        rows.append(_merge_row(f"{path}.remove", "true/false", "", REMOVE))
    return [Table(path, inspect.cleandoc(model.__doc__ or ""), key, rows), *below]


def _field(field: FieldInfo, path: str) -> tuple[Row, tuple | None]:
    """A field's row, and (model, path, key) of the table it holds, if it holds one.

    A table of named entries or an array holds its values (``item``): a table of scalars is one
    row at ``path.<key>``, a table or an array of tables is a row and a table of its own.
    """
    tp, meta = unwrap(field.annotation, field.metadata)
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    origin = get_origin(tp)
    item = get_args(tp)[-1] if origin in (dict, list) else None
    inner, inner_meta = unwrap(item) if item is not None else (tp, [])
    keys, inside = "", path
    if origin is dict:
        word = f"<{extra.get('key', 'name')}>"
        keys, inside = _keys(word, get_args(tp)[0]), f"{path}.{word}"
    elif origin is list:
        inside = f"{path}[]"
    parts = (keys, _allowed(tp, meta), _allowed(inner, inner_meta) if item is not None else "")
    allowed = "; ".join(p for p in parts if p)
    form = schedulable(meta if item is None else inner_meta)
    unit = extra.get("unit") or _unit(item) or (_unit(form.number) if form else "")
    default = _default(field)
    if _is_model(inner):
        kind = "array of tables" if origin is list else "table"
        return Row(path, kind, allowed, unit, default, field.description or ""), (inner, inside,
                                                                                   keys)
    two = either(meta)
    if two is not None:  # a name, or a table of its own
        return (Row(path, "string or table", allowed, unit, default, field.description or ""),
                (two.table, path, ""))
    kind = f"array of {_word(inner)}s" if origin is list else _word(inner)
    kind += " or schedule" if form else ""
    row_path = inside if origin is dict else path
    return Row(row_path, kind, allowed, unit, default, field.description or ""), None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _word(tp: Any) -> str:
    """A type in the words of a TOML file."""
    if _is_model(tp) or get_origin(tp) is dict:
        return "table"
    if get_origin(tp) is Literal:
        return "string"
    return WORDS.get(tp, str(tp))


def _allowed(tp: Any, meta: list) -> str:
    """Choices, bounds, least length and notes of a value ('' if it may be any of its type)."""
    parts = [f"one of {_choices(tp)}"] if get_origin(tp) is Literal else []
    parts += [range_text(meta).strip()]
    one, many = ("entry", "entries") if get_origin(tp) is dict else ("item", "items")
    parts += [f"at least {m.min_length} {one if m.min_length == 1 else many}" for m in meta
              if hasattr(m, "min_length")]
    notes = [m.text for m in meta if isinstance(m, Note)]
    parts += notes or [f"matching `{m.pattern}`" for m in meta if getattr(m, "pattern", None)]
    return "; ".join(p for p in parts if p)


def _choices(tp: Any) -> str:
    return ", ".join(f"`{v}`" for v in get_args(tp))


def _keys(word: str, tp: Any) -> str:
    """What a key of a table of named entries may be: one of fixed names, or a free name."""
    key, meta = unwrap(tp)
    if get_origin(key) is Literal:
        return f"`{word}` one of {_choices(key)}"
    return "; ".join(f"`{word}`: {m.text}" for m in meta if isinstance(m, Note))


def _unit(tp: Any) -> str:
    """The unit an Annotated type declares (a table of points holds ``Points``), '' if none."""
    if get_origin(tp) is not Annotated:
        return ""
    units = [x.json_schema_extra["unit"] for x in get_args(tp)[1:] if isinstance(x, FieldInfo)
             and isinstance(x.json_schema_extra, dict) and "unit" in x.json_schema_extra]
    return units[-1] if units else ""


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is None:
        return "not set"
    if isinstance(value, BaseModel):
        return "its fields' defaults"
    if value == {}:  # TOML has no empty table value but an inline one
        return "`{}`"
    return f"`{_toml(value)}`"


def _toml(value: Any) -> str:
    """A value as TOML writes it, arrays on one line."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return tomli_w.dumps({"x": value}).removeprefix("x = ").strip()


def _merge_row(path: str, kind: str, allowed: str, schema: dict) -> Row:
    """A row of what the loader reads to merge files, not a field of the model."""
    return Row(path, kind, allowed, "", "not set", schema["description"])


def schedule_table() -> Table:
    """The table a number written as a schedule is (``<field>`` is the field it schedules)."""
    rows = [Row(f"<field>.{name}", _word(unwrap(f.annotation)[0]) if name == "shape"
                else "array of tables", _allowed(*unwrap(f.annotation, f.metadata)), "",
                "required", f.description or "")
            for name, f in Schedule.model_fields.items()]
    date = SchedulePoint.model_fields["date"]
    rows += [Row("<field>.points[].date", "date", "", "", "required", date.description or ""),
             Row("<field>.points[].value", "the field's", "the field's bounds", "the field's",
                 "required", "The value, within the field's own bounds (an integer for an"
                 " integer field).")]
    text = ("A field of type *number or schedule* written as a schedule. "
            + " ".join(inspect.cleandoc(Schedule.__doc__ or "").split()))
    return Table("<field>", text, "", rows)


def markdown() -> str:
    """docs/reference.md: the reference of every table and field."""
    lines = [INTRO]
    for table in [*tables(), schedule_table()]:
        lines += ["", f"## {f'`{table.path}`' if table.path else 'Top level'}", ""]
        if table.text:
            lines += [table.text, ""]
        if table.key:
            lines += [f"Each entry's key: {table.key}.", ""]
        lines += ["| field | type | allowed | unit | default | description |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(_cell(c) for c in (
            f"`{r.path}`", r.type, r.allowed, r.unit, r.default, r.description)) + " |"
            for r in table.rows]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


INTRO = """\
# Scenario reference

<!-- Generated from src/panopticon/scenario.py by `make reference`
     (`panopticon schema --markdown`); do not edit: a test fails when it differs. -->

Every table and field of a scenario file, in the order the models declare them. A path is
dotted; `sanctions[]` is an array of tables (`[[sanctions]]` in TOML) and `acts.<name>` a table
of named entries (`[acts.jaywalking]`). Types are TOML's: a number may be written as an integer
(`rate = 1`) but an integer not as a number (`size = 1e6` is refused); a date is written bare
(`start = 2018-01-01`), a string in quotes. A file that `extends` a preset writes only what it
changes; one that does not must give every field marked *required*. Units: a *probability per
day* is the chance of an event on one day; a *share* is a part of a whole, from 0 to 1.

Editors: `panopticon schema > scenario.schema.json` writes the JSON Schema of a scenario file.
With [Taplo](https://taplo.tamasfe.dev) (the command line, or the Even Better TOML extension of
VS Code) put `#:schema ./scenario.schema.json` on a scenario file's first line, or map files to
it in `.taplo.toml` (`[[rule]]` with `include = ["scenarios/*.toml"]` and
`schema.path = "./scenario.schema.json"`), and the editor completes field names, shows these
descriptions and marks unknown fields, wrong types, choices and bounds as you type.
`panopticon show FILE` remains the full check: it also finds what the schema cannot (missing
fields of a table that a preset does not give, checks across fields such as grades that must
cover the score range).

A field of type *number or schedule* (a rate, probability, share or points value) may change
over time: write it as a number, or as a schedule,
`rate = { shape = "steps", points = [{ date = 2014-01-01, value = 0.0015 }, ...] }` (the last
table below, and [scenarios.md](scenarios.md#values-that-change-over-time)). A table of named
entries (`acts.<name>`, `calibration.parameters.<path>`, ...) merges with the one it extends
entry by entry; an entry written as `{ remove = true }` removes the inherited one."""


def json_schema() -> dict:
    """The JSON Schema of a scenario file as written (for TOML editors and validators).

    It is ``Scenario.model_json_schema()`` with ``extends`` allowed, and with what a file must
    hold relaxed to what the loader's merge leaves to the user: a file that extends a preset
    needs no field at all, and a table (merged key by key into the preset's) no field or entry
    of its own; an item of an array of named items (merged by name) no field but its name, and
    may say ``remove``; an item of any other array of tables (which replaces the inherited
    array) stays complete; an entry of a table of named entries may be ``{ remove = true }``.
    So the schema refuses nothing the loader takes; the loader checks the rest.
    """
    schema = Scenario.model_json_schema()
    schema["properties"] = {"extends": EXTENDS, "replace": REPLACE, **schema["properties"]}
    items = {_def_name(s["items"]) for s in _subschemas(schema) if "$ref" in s.get("items", {})}
    keys = {model.__name__: item_key(model) for model in _models(Scenario)}
    for name, definition in schema["$defs"].items():
        if name in items and keys.get(name):  # a named item may give only what it changes
            definition["required"] = [keys[name]]
            definition["properties"]["remove"] = REMOVE
        elif name not in items:
            definition.pop("required", None)
            for field in definition["properties"].values():
                field.pop("minProperties", None)
    for table in _subschemas(schema):  # an entry of a table of named entries may be removed
        if isinstance(table.get("additionalProperties"), dict):
            table["additionalProperties"] = {"anyOf": [table["additionalProperties"],
                                                       REMOVED_ENTRY]}
        for pattern, entry in table.get("patternProperties", {}).items():
            table["patternProperties"][pattern] = {"anyOf": [entry, REMOVED_ENTRY]}
        if "patternProperties" in table:  # a key off the pattern is refused
            table["additionalProperties"] = False
    schema["if"] = {"not": {"required": ["extends"]}}
    schema["then"] = {"required": schema.pop("required")}
    return {"$schema": DIALECT, **schema}


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every model its fields hold, at any depth."""
    found = [model]
    for field in model.model_fields.values():
        for tp in _types(field.annotation):
            if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in found:
                found += [m for m in _models(tp) if m not in found]
    return found


def _types(tp: Any) -> list[Any]:
    """``tp`` and every type argument in it (of Annotated, unions, lists, dicts)."""
    return [tp, *(t for arg in get_args(tp) for t in _types(arg))]


def _def_name(ref: dict) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]


def _subschemas(node: Any) -> list[dict]:
    """Every object in a JSON document, ``node`` included."""
    if isinstance(node, list):
        return [s for v in node for s in _subschemas(v)]
    if not isinstance(node, dict):
        return []
    return [node, *(s for v in node.values() for s in _subschemas(v))]


__all__ = ["EXTENDS", "Row", "Table", "json_schema", "markdown", "tables"]
