"""The scenario language's reference and JSON Schema, generated from the models (reference.py)."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language import reference, scenario

DOC = Path(__file__).resolve().parents[1] / "docs" / "reference.md"
REGENERATE = "make reference (or: panopticon schema --markdown > docs/reference.md)"


def test_docs_reference_is_what_the_models_make_now():
    """A change of the scenario models without a new docs/reference.md fails here."""
    made = reference.markdown()
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if committed != made:
        old, new = committed.splitlines(), made.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old),
                                                                                   len(new)))
        pytest.fail(f"docs/reference.md is out of date with src/panopticon/scenario.py (first"
                    f" difference at line {line + 1}); regenerate it: {REGENERATE}")


def test_every_table_and_field_is_described():
    tables = reference.tables()
    assert [t.path for t in tables if not t.text] == [], "a model without a docstring"
    rows = [r for t in tables for r in t.rows]
    assert [r.path for r in rows if not r.description] == [], "a field without about(...)"
    assert len({r.path for r in rows}) == len(rows)


def test_paths_types_bounds_units_and_defaults_follow_the_models():
    rows = {r.path: r for t in reference.tables() for r in t.rows}
    assert rows["acts.<name>.rate"].type == "number or schedule"
    assert rows["acts.<name>.rate"].unit == "probability per day"
    assert rows["acts.<name>.who"].type == "string or table"
    assert rows["acts.<name>.who"].allowed.startswith("one of `everyone`, `adults`")
    assert rows["acts.<name>.who"].default == '`"adults"`'
    assert rows["acts.<name>.who.income"].default == "`[1, 10]`"
    assert rows["court.grace_days"] == reference.Row(
        "court.grace_days", "integer", "from 0 to 10_000", "days", "required",
        "Days a judged debtor has to pay before being listed.")
    assert rows["scoring.points.<kind>"].unit == "points"  # the unit of a table's values
    assert rows["sanctions"].type == "array of tables"
    assert rows["sanctions[].start"].default == "not set"
    assert rows["fear.reach"].default == '`["friends", "household"]`'
    assert "at least 1 item" in rows["population.internet_users"].allowed
    assert rows["population.scale"].unit == "people per citizen"
    paths = [t.path for t in reference.tables()]
    assert paths[:3] == ["", "population", "population.internet_users[]"]  # declared order
    assert "calibration.parameters.<path>" in paths


def test_every_documented_field_is_one_the_loader_knows():
    """Each path, read as a location of the error messages, is a field of that type."""
    merging = ("extends", "replace")  # read by the loader to merge files, not model fields
    rows = [r for t in reference.tables() for r in t.rows
            if r.path not in merging and not r.path.endswith(".remove")]
    for row in rows:
        tp, _ = scenario._schema_at(tuple(row.path.replace("[]", ".0").split(".")))
        assert tp is not None, row.path
        word = row.type.removesuffix(" or schedule").removesuffix(" or table")
        assert row.type.startswith("array") or reference._word(tp) == word, row.path


def _as_json(value):
    """A TOML document as an editor validates it: dates as ISO strings (Taplo's reading)."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def _errors(text: str) -> list[str]:
    """What the schema says of a document: each error, and why no form fits where a value may
    take one of several (a number or a schedule; an entry or its removal)."""
    validator = jsonschema.Draft202012Validator(reference.json_schema())
    return _messages(validator.iter_errors(_as_json(tomllib.loads(text))))


def _messages(errors) -> list[str]:
    return [m for e in errors for m in (e.message, *_messages(e.context or ()))]


def test_the_json_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(reference.json_schema())


@pytest.mark.parametrize("name", scenario.PRESETS)
def test_every_preset_as_written_and_resolved_meets_the_schema(name):
    assert _errors(scenario.preset_text(name)) == []
    assert _errors(scenario.load(name).to_toml()) == []


@pytest.mark.parametrize("text, word", [
    ('extends = "china-2018"\n[acts.jaywalking]\nrate = 2.0', "maximum"),
    ('extends = "china-2018"\n[acts.jaywalking]\nrate = "0.002"', "not of type"),
    ('extends = "china-2018"\n[acts.jaywalking]\nrates = 0.1', "Additional properties"),
    ('extends = "china-2018"\n[acts.Loitering]\nrate = 0.1', "does not match any of the regexes"),
    ('extends = "china-2018"\nsanction_scope = "some"', "is not one of"),
    ('extends = "china-2018"\n[[sanctions]]\nlists = ["court"]', "'name' is a required"),
    ('name = "x"', "'start' is a required"),
    ('extends = "china-2018"\nreplace = ["acts"]', "is not one of"),
    ('extends = "china-2018"\n[[sanctions]]\nname = "plane_ban"\nremove = 1', "not of type"),
    ('extends = "china-2018"\n[population]\ninternet_users = []', "should be non-empty"),
])
def test_the_schema_refuses_what_the_loader_refuses(text, word):
    errors = _errors(text)
    assert any(word in e for e in errors), errors


def test_a_partial_table_of_a_file_that_extends_is_accepted():
    """Tables merge into the preset's key by key, so a file may give any part of one."""
    assert _errors('extends = "china-2018"\n[scoring.bad_company]\nweight = -50\n'
                   '[speech.content]\n[calibration.weights]') == []


def test_a_named_item_may_give_only_its_name_and_what_it_changes():
    """Arrays of named items merge by name: an item changes, removes or adds one."""
    assert _errors('extends = "china-2018"\nreplace = ["rewards"]\n[[sanctions]]\n'
                   'name = "plane_ban"\nstart = 2019-01-01\n[[sanctions]]\n'
                   'name = "school_ban"\nremove = true\n[[scoring.grades]]\nname = "A"\n'
                   'max = 1300') == []


def test_schema_command_prints_the_schema_and_the_reference():
    runner = CliRunner()
    out = runner.invoke(app, ["schema"])
    assert out.exit_code == 0 and json.loads(out.stdout) == reference.json_schema()
    out = runner.invoke(app, ["schema", "--markdown"])
    assert out.exit_code == 0 and out.stdout == reference.markdown()
