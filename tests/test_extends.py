"""Composed scenario files: `extends` a preset or a user's file, named arrays merged by name.

A file extends a preset or another file (by a path relative to it), several levels deep; its
tables merge key by key into what it extends, its arrays of named items (grades, factors,
sanctions, rewards) item by item: an item named as an inherited one changes the fields it gives,
`remove = true` removes it, a new name is added; `replace = [...]` gives a named array whole.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language import scenario
from panopticon.language.scenario import (
    MAX_EXTENDS,
    PRESETS,
    ScenarioError,
    load,
    named_arrays,
    preset_text,
    resolve,
    validate,
)

CHINA = load("china-2018")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error_lines(source: Path | str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load(source)
    return str(info.value).splitlines()


def _error(source: Path | str) -> str:
    """The message of a file with one mistake: one line."""
    lines = _error_lines(source)
    assert len(lines) == 1, lines
    return lines[0]


def _grades(sc) -> list[tuple[str, int, int]]:
    return [(g.name, g.min, g.max) for g in sc.scoring.grades]


# ---------------------------------------------------------------- extends: files and chains

def test_a_relative_path_is_read_from_the_extending_files_folder(tmp_path, monkeypatch):
    _write(tmp_path, "common/base.toml", 'extends = "china-2018"\nname = "base"\nseed = 5\n')
    my = _write(tmp_path, "cities/my.toml", 'extends = "../common/base.toml"\nname = "my"\n')
    monkeypatch.chdir(_write(tmp_path, "elsewhere/x", "").parent)
    for source in (Path("../cities/my.toml"), my):
        sc = load(source)
        assert (sc.name, sc.seed) == ("my", 5)


def test_an_absolute_path_is_taken_as_written(tmp_path):
    base = _write(tmp_path, "a/base.toml", 'extends = "china-2018"\nseed = 6\n')
    my = _write(tmp_path, "b/my.toml", f'extends = "{base}"\n')
    assert load(my).seed == 6


def test_three_levels_deep_the_nearest_file_wins(tmp_path):
    _write(tmp_path, "a.toml", 'extends = "court-list"\nseed = 1\n[population]\nsize = 1000\n'
           "[acts.jaywalking]\nrate = 0.001\n")
    _write(tmp_path, "b.toml", 'extends = "a.toml"\nseed = 2\n[population]\nsize = 2000\n')
    c = _write(tmp_path, "c.toml", 'extends = "b.toml"\nseed = 3\n')
    sc = load(c)
    assert (sc.seed, sc.population.size, sc.acts["jaywalking"].rate) == (3, 2000, 0.001)
    assert sc.sanctions == load("court-list").sanctions
    assert sc.name == "court-list-extended"  # unnamed all the way: one suffix, not three


def test_an_unnamed_file_takes_its_parents_name_extended(tmp_path):
    _write(tmp_path, "base.toml", 'extends = "china-2018"\nname = "mycity"\n')
    assert load(_write(tmp_path, "my.toml", 'extends = "base.toml"\n')).name == "mycity-extended"


def test_a_chain_of_the_longest_depth_loads_and_one_more_is_refused(tmp_path):
    def chain(n: int) -> Path:
        folder = tmp_path / str(n)
        for i in range(n - 1):  # the last link is the preset
            _write(folder, f"{i}.toml", f'extends = "{i + 1}.toml"\n' if i < n - 2
                   else 'extends = "china-2018"\n')
        return folder / "0.toml"

    assert load(chain(MAX_EXTENDS)).seed == CHINA.seed
    assert f"more than {MAX_EXTENDS} files extend one another" in _error(chain(MAX_EXTENDS + 1))


def test_a_cycle_of_two_is_refused_with_the_chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    _write(tmp_path, "b.toml", 'extends = "./a.toml"\n')
    assert _error("a.toml") == ("b.toml (extended by a.toml): field 'extends': value './a.toml'"
                                " makes a cycle: a.toml -> b.toml -> a.toml")


def test_a_file_that_extends_itself_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "self.toml", 'extends = "self.toml"\n')
    assert _error("self.toml") == ("self.toml: field 'extends': value 'self.toml' makes a cycle:"
                                   " self.toml -> self.toml")


def test_the_same_file_by_another_path_is_a_cycle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "sub/a.toml", 'extends = "../sub/./a.toml"\n')
    assert "makes a cycle: sub/a.toml -> sub/a.toml" in _error("sub/a.toml")


NO_SUCH = "no such preset or file; presets are: " + ", ".join(PRESETS)


@pytest.mark.parametrize(("parent", "why"), [
    ("missing.toml", f"missing.toml: {NO_SUCH}"),
    ("china-2019", f"china-2019: {NO_SUCH}"),
    ("folder", "folder: is a folder; give a scenario file or a preset name"),
])
def test_what_extends_names_must_be_a_preset_or_a_file(tmp_path, monkeypatch, parent, why):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    _write(tmp_path, "my.toml", f'extends = "{parent}"\n')
    assert _error("my.toml") == f"my.toml: field 'extends': value {parent!r} is not allowed: {why}"


def test_a_parent_with_a_syntax_error_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "base.toml", 'extends = "china-2018"\n[court\n')
    _write(tmp_path, "my.toml", 'extends = "base.toml"\n')
    assert _error("my.toml").startswith("base.toml (extended by my.toml): not valid TOML: ")


def test_a_preset_extends_presets_only(monkeypatch):
    text = preset_text("court-list").replace('extends = "china-2018"', 'extends = "mine.toml"')
    monkeypatch.setattr(scenario, "preset_text", lambda name: text if name == "court-list"
                        else preset_text(name))
    assert "a preset extends one of the presets china-2018" in _error("court-list")


# ---------------------------------------------------------------- where a mistake is

def test_a_mistake_names_the_chain_and_the_file_that_wrote_the_value(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "base.toml", 'extends = "court-list"\n[[sanctions]]\nname = "credit_denied"\n'
           'lists = ["court"]\nblocks = ["credit_application"]\nbears = "neighbours"\n'
           '[court]\ngrace_days = -1\n')
    _write(tmp_path, "my.toml", 'extends = "base.toml"\n[court]\nsettle_rate = 2.0\n')
    header, *problems = _error_lines("my.toml")
    assert header == ("my.toml (extends base.toml -> court-list -> china-2018): 3 problems in the"
                      " scenario")
    assert sorted(problems) == sorted([
        ("  field 'court.grace_days': value -1 is not allowed; it must be an integer from 0 to"
         " 10_000 (set in base.toml)"),
        "  field 'court.settle_rate': value 2.0 is not allowed; it must be a number from 0 to 1",
        # the sanction is the merged array's sixth, the first of base.toml's
        ("  field 'sanctions.0.bears': value 'neighbours' is not allowed; it must be one of"
         " 'children', 'employer', 'household', 'person' (set in base.toml)"),
    ])


def test_a_file_that_extends_a_preset_only_is_named_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "my.toml", 'extends = "china-2018"\n[court]\ngrace_days = -1\n')
    assert _error("my.toml").startswith("my.toml: field 'court.grace_days': ")


# ---------------------------------------------------------------- named arrays

def _child(tmp_path: Path, text: str, parent: str = "china-2018"):
    return load(_write(tmp_path, "child.toml", f'extends = "{parent}"\n{text}'))


def test_a_grade_named_as_an_inherited_one_changes_only_what_it_gives(tmp_path):
    sc = _child(tmp_path, '[scoring]\ngrades = [{ name = "B", max = 969 },'
                          ' { name = "A", min = 970 }]\n')
    expected = [(n, 970 if n == "A" else lo, 969 if n == "B" else hi) for n, lo, hi in
                _grades(CHINA)]
    assert _grades(sc) == expected  # in the inherited order, whatever the file's


def test_a_sanction_is_removed_by_name(tmp_path):
    sc = _child(tmp_path, '[[sanctions]]\nname = "exit_ban"\nremove = true\n')
    assert [s.name for s in sc.sanctions] == [s.name for s in CHINA.sanctions
                                              if s.name != "exit_ban"]


def test_a_sanction_of_a_new_name_is_added_after_the_inherited_ones(tmp_path):
    sc = _child(tmp_path, '[[sanctions]]\nname = "no_trains"\nlists = ["tax"]\n'
                          'blocks = ["train_ticket"]\n'
                          '[[sanctions]]\nname = "plane_ban"\nstart = 2016-01-01\n', "court-list")
    court = load("court-list").sanctions
    assert [s.name for s in sc.sanctions] == [s.name for s in court] + ["no_trains"]
    plane = next(s for s in sc.sanctions if s.name == "plane_ban")
    assert plane.model_dump() == {**court[0].model_dump(), "start": scenario.dt.date(2016, 1, 1)}


def test_new_items_of_one_name_are_all_added(tmp_path):
    """Two new items of one name are both added (the scenario then refuses the name twice:
    counters are named after it)."""
    with pytest.raises(ScenarioError, match="'no_trains' names two sanctions"):
        _child(tmp_path, '[[sanctions]]\nname = "no_trains"\nlists = ["court"]\n'
                         'blocks = ["train_ticket"]\n'
                         '[[sanctions]]\nname = "no_trains"\nlists = ["tax"]\n'
                         'blocks = ["train_ticket"]\nremove = false\n', "court-list")


def test_removing_what_is_not_inherited_names_it(tmp_path):
    with pytest.raises(ScenarioError, match=r"child.toml: field 'scoring.factors.0': remove ="
                                            r" true, but no inherited item of scoring.factors has"
                                            r" name 'identity'; they are \[\]"):
        _child(tmp_path, '[scoring]\nfactors = [{ name = "identity", remove = true }]\n')


def test_an_array_named_in_replace_is_given_whole(tmp_path):
    sc = _child(tmp_path, 'replace = ["sanctions", "scoring.grades"]\nrewards = []\n'
                          '[scoring]\ngrades = [{ name = "all", min = 0, max = 1300 }]\n'
                          '[scoring.bad_company]\ngrades = ["all"]\n'
                          '[[sanctions]]\nname = "plane_ban"\ngrades = ["all"]\n'
                          'blocks = ["plane_ticket"]\n')
    assert _grades(sc) == [("all", 0, 1300)]
    assert [(s.name, s.lists, s.grades) for s in sc.sanctions] == [("plane_ban", [], ["all"])]


def test_an_empty_array_means_none(tmp_path):
    sc = _child(tmp_path, "rewards = []\n")
    assert sc.rewards == [] and sc.sanctions == CHINA.sanctions


def test_arrays_of_plain_values_and_unnamed_tables_are_replaced(tmp_path):
    sc = _child(tmp_path, '[scoring.bad_company]\nreach = ["household"]\n'
                          "[registry]\ncentral_connected = [{ date = 2014-01-01, value = 1.0 }]\n")
    assert sc.scoring.bad_company.reach == ["household"]
    assert [(p.date.year, p.value) for p in sc.registry.central_connected] == [(2014, 1.0)]


def test_the_named_arrays_are_read_from_the_schema():
    assert named_arrays() == {"scoring.grades": "name", "scoring.factors": "name",
                              "sanctions": "name", "rewards": "name"}


# ---------------------------------------------------------------- presets and resolved files

def _wholesale(name: str) -> dict:
    """A preset resolved as before arrays merged by name: every array replaced whole."""
    def merge(base: dict, override: dict) -> dict:
        merged = {**base, **{k: merge(base[k], v) if isinstance(v, dict) and
                             isinstance(base.get(k), dict) else v for k, v in override.items()}}
        return {k: v for k, v in merged.items() if override.get(k) != {"remove": True}}

    data = tomllib.loads(preset_text(name))
    data.pop("replace", None)
    parent = data.pop("extends", None)
    return merge(_wholesale(parent), data) if parent else data


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_means_what_it_meant_when_arrays_were_replaced_whole(name):
    assert load(name).to_toml() == validate(_wholesale(name), name).to_toml()


def test_the_wholesale_check_can_fail(monkeypatch):
    """Without its `replace`, rongcheng's sanctions and rewards would merge into china-2018's."""
    text = preset_text("rongcheng").replace('replace = ["sanctions", "rewards"]', "").replace(
        "[acts.job_application]\nremove = true\n", "")  # china-2018's job ban would block it
    monkeypatch.setattr(scenario, "preset_text",
                        lambda name: text if name == "rongcheng" else preset_text(name))
    assert load("rongcheng").to_toml() != validate(_wholesale("rongcheng"), "r").to_toml()


@pytest.mark.parametrize("name", PRESETS)
def test_a_file_extending_its_own_resolved_text_changes_nothing(tmp_path, name):
    text = load(name).to_toml()
    _write(tmp_path, "base.toml", text)
    assert load(_write(tmp_path, "child.toml", 'extends = "base.toml"\n' + text)) == load(name)


def test_show_prints_the_merged_file_which_needs_no_parent(tmp_path):
    _write(tmp_path, "base.toml", 'extends = "china-2018"\nname = "base"\n'
                                  '[[sanctions]]\nname = "exit_ban"\nremove = true\n')
    my = _write(tmp_path, "my.toml", 'extends = "base.toml"\n[[rewards]]\nname = "easy_credit"\n'
                                     'grades = ["AA"]\n')
    result = CliRunner().invoke(app, ["show", str(my)])
    assert result.exit_code == 0, result.output
    assert "extends" not in result.stdout and "replace" not in result.stdout
    assert "remove" not in result.stdout
    expected = load(my)
    assert "exit_ban" not in [s.name for s in expected.sanctions]
    assert next(r for r in expected.rewards if r.name == "easy_credit").grades == ["AA"]
    (tmp_path / "base.toml").unlink()
    assert load(_write(tmp_path, "resolved.toml", result.stdout)) == expected


# ---------------------------------------------------------------- merging is idempotent

@st.composite
def part_of(draw, node, loc: tuple = ()):
    """Any part of a resolved scenario's tables, as a file could give it: some keys of each
    table, some items of each named array (each with its name and some of its fields)."""
    if isinstance(node, dict):
        return {k: draw(part_of(v, (*loc, k))) for k, v in node.items() if draw(st.booleans())}
    key = scenario._named_key(loc) if isinstance(node, list) and node else None
    if key is None:
        return node
    picked = draw(st.lists(st.sampled_from(range(len(node))), min_size=1, unique=True))
    return [{key: node[i][key], **draw(part_of({k: v for k, v in node[i].items() if k != key},
                                               (*loc, node[i][key])))} for i in picked]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(PRESETS))
def test_a_part_of_a_scenario_given_again_changes_nothing(data, name):
    resolved = resolve(name).data
    assert scenario._merge(resolved, resolved, "itself") == resolved
    assert scenario._merge(resolved, data.draw(part_of(resolved)), "a part") == resolved


def test_the_example_of_docs_scenarios_md_loads_as_it_says(tmp_path):
    text = (Path(__file__).parents[1] / "docs" / "scenarios.md").read_text("utf-8")
    for block in re.findall(r"```toml\n(# (\S+)\n.*?)```", text, re.DOTALL):
        if block[1].startswith(("common/", "cities/")):
            _write(tmp_path, block[1], block[0])
    sc = load(tmp_path / "cities" / "mycity.toml")
    assert sc.population.regions == ["370000"]
    assert _grades(sc)[2:4] == [("A", 970, 1029), ("B", 850, 969)]
    assert [s.name for s in sc.sanctions] == [s.name for s in CHINA.sanctions
                                              if s.name != "internet_throttle"] + ["no_promotion"]
    assert [(r.name, r.grades) for r in sc.rewards] == [("transport_discount", ["AAA", "AA", "A"])]
