"""The catalog as data: acts, channels, sanctions and rewards by any name, every reference to a
name checked, with no Python to add one (issue 10, item 1)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from panopticon.language import catalog
from panopticon.language.scenario import (
    MOVED,
    PRESETS,
    Scenario,
    ScenarioError,
    load,
    validate,
)

PARKING = Path(__file__).parent / "scenarios" / "parking.toml"
EXTENDS = 'extends = "china-2018"\n'


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "user.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(path)
    return str(info.value)


def test_a_new_act_channel_attempt_and_sanction_are_data():
    sc = load(PARKING)
    parking = sc.acts["unpaid_parking"]
    assert (parking.channel, parking.propensity, parking.nature) == (
        "parking_wardens", "offence", "offence")
    assert parking.who.area == "urban" and parking.who.income == [3, 10]
    assert sc.channels["parking_wardens"].false_as == "unpaid_parking"
    assert "loan_application" in catalog.attempts(sc)
    assert [s.blocks for s in sc.sanctions if s.name == "no_bank_loans"] == [
        ["loan_application"]]
    assert "unpaid_parking" in catalog.record_kinds(sc)
    assert catalog.false_channels(sc) == ["cameras", "parking_wardens"]
    assert sc.warnings() == []


def test_china_2018_declares_its_catalog():
    sc = load("china-2018")
    assert catalog.attempts(sc) == ["plane_ticket", "train_ticket", "trip_abroad",
                                    "job_application", "credit_application",
                                    "school_application"]
    assert {n: a.opens for n, a in sc.acts.items() if a.opens != "none"} == {
        "debt_default": "court", "tax_arrears": "tax", "onboard_misconduct": "travel_misconduct"}
    assert sc.acts["school_application"].who == "children"
    assert {s.name: (s.blocks, s.bears) for s in sc.sanctions}["school_ban"] == (
        ["school_application"], "children")


@pytest.mark.parametrize("name", PRESETS)
def test_no_preset_warns_of_an_idle_attempt(name):
    assert not [w for w in load(name).warnings() if "attempt" in w]


def test_an_attempt_that_nothing_blocks_or_favours_is_warned_of(tmp_path):
    path = tmp_path / "idle.toml"
    path.write_text(EXTENDS + "[acts.visa_application]\nrate = 0.0001\nnature = \"attempt\"\n",
                    encoding="utf-8")
    assert load(path).warnings() == [
        "china-2018-extended: attempt act(s) visa_application meet no sanction and no reward:"
        " they are counted, never refused or favoured"]


def test_the_story_text_defaults_to_the_name_in_words():
    sc = load(PARKING)
    assert sc.acts["unpaid_parking"].words("unpaid_parking") == "left a parking fine unpaid"
    assert sc.acts["unpaid_parking"].model_copy(update={"text": ""}).words(
        "unpaid_parking") == "unpaid parking"


@pytest.mark.parametrize(("field", "hint"), [
    ("[life]\njob_apply_rate = 0.002\n", "[life] became attempt acts"),
    ("[sensing]\nface_hit_rate = 0.9\n", "it is channels.cameras.hit now"),
    ("[sensing]\ngood_deed_reported = 0.2\n", "it is channels.good_deed_reports.hit now"),
])
def test_a_field_of_the_old_language_says_where_it_went(tmp_path, field, hint):
    message = _error(tmp_path, EXTENDS + field)
    assert "unknown field" in message and hint in message
    assert len(message.splitlines()) == 1


def test_every_moved_field_is_gone_from_the_language():
    """A hint for a field that still exists would never be shown: the map must name old ones."""
    for loc in MOVED:
        data = load("china-2018").model_dump()
        node = data
        for part in loc[:-1]:
            node = node[0] if part == "*" else node.get(part, {})
        assert loc[-1] not in node, loc


def test_a_who_of_the_wrong_type_is_one_line(tmp_path):
    message = _error(tmp_path, EXTENDS + "[acts.jaywalking]\nwho = 5\n")
    assert message.endswith("field 'acts.jaywalking.who': value 5 is not allowed; it must be one"
                            " of 'adults', 'children', 'everyone', 'internet_users',"
                            " 'payment_users' (or a table of traits (group, age, area, income,"
                            " uses, roles))")


def test_a_who_table_round_trips_through_toml(tmp_path):
    sc = load(PARKING)
    again = tmp_path / "again.toml"
    again.write_text(sc.to_toml(), encoding="utf-8")
    assert load(again) == sc


def test_removing_an_act_that_scoring_names_says_where(tmp_path):
    message = _error(tmp_path, EXTENDS + "[acts.good_deed]\nremove = true\n")
    assert "field 'scoring.points.good_deed': unknown record kind 'good_deed'" in message
    assert message.endswith("(set in china-2018)")


NAME = re.compile(catalog.NAME_PATTERN)


@given(st.from_regex(catalog.NAME_PATTERN, fullmatch=True))
def test_any_name_of_the_pattern_names_an_act(name):
    if name in catalog.RESERVED or name in load("china-2018").acts:
        return
    data = tomllib.loads(load("china-2018").to_toml())
    data["acts"][name] = {"rate": 0.001, "nature": "attempt"}
    data["sanctions"].append({"name": f"no_{name}"[:40], "lists": ["court"], "blocks": [name]})
    sc = validate(data, "test")
    assert name in catalog.attempts(sc) and sc.warnings() == []


@given(st.text(min_size=1, max_size=50).filter(lambda s: not NAME.fullmatch(s)))
def test_a_name_off_the_pattern_is_refused_in_one_line(name):
    data = tomllib.loads(load("china-2018").to_toml())
    data["acts"][name] = {"rate": 0.001}
    with pytest.raises(ScenarioError) as info:
        validate(data, "test")
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "is not allowed; it must be a string (a name is 1 to 40 lower-case" in message


def test_a_scenario_is_a_pydantic_model_of_the_catalog():
    """Scenario.acts is a table of free names: the schema no longer lists act kinds."""
    schema = Scenario.model_json_schema()
    assert list(schema["properties"]["acts"]["patternProperties"]) == [catalog.NAME_PATTERN]
