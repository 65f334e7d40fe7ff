"""Bad input gets one line and exit code 2, never a traceback, and nothing is written or run.

Three sources of bad input: the corpus of malformed scenario files in tests/corpus (one class of
mistake each, with the message it must get in a ``# expect:`` line), mistakes on the command
line, and valid presets mutated at random (types, values, nesting, deletions, encodings).
"""

from __future__ import annotations

import re
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panopticon import cli
from panopticon.cli import app
from panopticon.language.scenario import PRESETS, Scenario, ScenarioError, load, preset_text
from panopticon.readers import calibrate

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.toml"))
runner = CliRunner()


def expectation(path: Path) -> str:
    """The fragment a corpus file's message must hold, from its ``# expect:`` line."""
    raw = path.read_bytes()
    if not raw:  # an empty file has no room for the line
        return "the file has no settings"
    text = raw.decode("utf-16") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8", "replace")
    return re.search(r"^\ufeff?# expect: (.*)$", text, re.MULTILINE).group(1)


def started(*args, **kwargs):
    raise AssertionError("a simulation started")


@pytest.fixture
def invoke(tmp_path, monkeypatch):
    """Run the command line from an empty folder with --out in another; no simulation may start.
    Returns (result, the folders that must stay empty)."""
    monkeypatch.setattr(cli, "simulate", started)
    monkeypatch.setattr(calibrate, "calibrate", started)
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    out.mkdir()
    monkeypatch.chdir(cwd)

    def run(args: list[str]) -> tuple:
        return runner.invoke(app, [*args, "--out", str(out / "run")]), (cwd, out)

    return run


def assert_refused(result, folders, fragment: str, one_line: bool = True) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output + result.stderr
    assert fragment in result.stderr, result.stderr
    first, *rest = result.stderr.splitlines()
    if one_line:
        assert first.startswith("error: ")
    if one_line and "problems in the scenario" in first:  # several problems: one line each
        assert len(rest) >= 2 and all(line.startswith(("  field '", "  ... and "))
                                      for line in rest)
    elif one_line:
        assert rest == [], result.stderr
    for folder in folders:
        assert list(folder.iterdir()) == [], f"{folder} was written to"


def test_the_corpus_has_a_file_per_class():
    assert len(FILES) >= 60
    assert all(expectation(path) for path in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_malformed_file_gets_one_line_and_exit_code_2(invoke, path):
    result, folders = invoke(["run", str(path)])
    assert_refused(result, folders, expectation(path))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_corpus_fails_in_load_with_a_scenario_error_or_on_memory(path):
    """Every file is refused by ``scenario.load`` (ScenarioError), except those that ask for
    more memory than any machine has: those load and are refused by the memory check."""
    if "of memory" in expectation(path):
        assert isinstance(load(path), Scenario)
    else:
        with pytest.raises(ScenarioError):
            load(path)


CLI_CASES = [
    (["run", "--seed", "-1"], "--seed -1: field 'seed': value -1 is not allowed; it must be an"
                              " integer from 0 to 18_446_744_073_709_551_615"),
    (["run", "--seed", str(2**64)], f"--seed {2**64}: field 'seed'"),
    (["run", "--seed", str(2**64 - 1), "--seeds", "2"], "--seeds 2 (the last seed)"),
    (["run", "--population", "2000000000"], "of memory (citizens"),
    (["run", "--population", "3000000000"], "field 'population.size': value 3000000000"),
    (["run", "--population", "0"], "--population 0: field 'population.size'"),
    (["run", "--population", "-5"], "--population -5: field 'population.size'"),
    (["run", "--scale", "inf"], "--scale inf: field 'population.scale': value inf is not"
                                " allowed; it must be a finite number"),
    (["run", "--scale", "nan"], "--scale nan: field 'population.scale'"),
    (["run", "--scale", "-1000"], "--scale -1000.0: field 'population.scale'"),
    (["run", "--scale", "0"], "--scale 0.0: field 'population.scale'"),
    (["run", "--scale", "0.0000001"], "from 0.001 to 10_000_000_000"),
    (["run", "--end", "1800-01-01"], "--end 1800-01-01: field 'end': value 1800-01-01 is not"
                                     " allowed; it must be a date from 2000-01-01 to 2060-12-31"),
    (["run", "--start", "2070-01-01"], "--start 2070-01-01: field 'start'"),
    (["run", "--end", "2018-02-30"], "--end: '2018-02-30' is not a date"),
    (["run", "--start", "2019-01-01", "--end", "2018-01-01"], "comes before start"),
    (["run", "--memory-limit", "potato"], "--memory-limit: 'potato' is not a size"),
    (["run", "--memory-limit", "1e400GB"], "is not a size"),
    (["run", "--population", "1000", "--memory-limit", "1MB"], "and --memory-limit is 977 KiB"),
    (["run", "--population", "1000", "--counterfactual", "--seeds", "3", "--memory-limit",
      "100MiB"], "of memory"),
    (["run", "x" * 5000], "cannot be read (File name too long)"),
    (["run", "no-such-preset"], "no such preset or file"),
    (["calibrate", "china-2018", "--memory-limit", "1MB"], "of memory"),
    (["calibrate", "china-2018", "--population", "3000000000"],
     "--population 3000000000: field 'population.size'"),
    (["calibrate", "china-2018", "--seed", "-1"], "--seed -1: field 'seed'"),
]


@pytest.mark.parametrize(("args", "fragment"), CLI_CASES, ids=lambda a: " ".join(a)[:40])
def test_a_command_line_mistake_gets_one_line_and_exit_code_2(invoke, args, fragment):
    result, folders = invoke(args)
    assert_refused(result, folders, fragment)


def test_a_folder_or_a_huge_file_is_named_as_such(invoke, tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * 10_000_000 + b"\n")
    result, folders = invoke(["run", str(big)])
    assert_refused(result, folders, "bytes is too large for a scenario file")
    result, folders = invoke(["run", str(CORPUS)])
    assert_refused(result, folders, "is a folder; give a scenario file or a preset name")


@pytest.mark.parametrize("args", [["run", "--seed", "abc"], ["run", "--population", "1.5"],
                                  ["run", "--seeds", "0"], ["run", "--nope"]])
def test_what_the_option_parser_refuses_is_exit_code_2_without_a_traceback(invoke, args):
    """Typer's own usage errors (a box of a few lines) are left as they are."""
    result, folders = invoke(args)
    assert_refused(result, folders, "", one_line=False)


def test_a_run_past_the_dated_series_warns_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "simulate", started)
    result = runner.invoke(app, ["run", "--population", "1000", "--end", "2030-12-31",
                                 "--out", str(tmp_path / "run")])
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: china-2018: the run (2014-01-01 to 2030-12-31) goes more than a year past"
        " population.internet_users (to 2018-12-31), population.payment_users (to 2018-12-31),"
        " sensing.cameras.count (to 2020-12-31), registry.central_connected (to 2020-12-31):"
        " their last values are held flat"]
    assert isinstance(result.exception, AssertionError)  # then the simulation would start


# ---------------------------------------------------------------- presets mutated at random

LEAVES = st.one_of(
    st.integers(), st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64, -(2**64), 10**400]),
    st.floats(), st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e308, 5e-324]),
    st.text(max_size=12), st.booleans(), st.dates(), st.datetimes(), st.times(),
)
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)


def _paths(node, prefix=()):
    """Every (path, value) under a parsed TOML document; array items have integer parts."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*prefix, key), value
        if isinstance(value, (dict, list)):
            yield from _paths(value, (*prefix, key))


def _parent(doc, path):
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_dict(draw) -> dict:
    """A preset's parsed TOML with a few values tweaked, replaced, deleted, added or nested
    deeper."""
    doc = tomllib.loads(preset_text(draw(st.sampled_from(PRESETS))))
    for _ in range(draw(st.integers(0, 3))):
        paths = [p for p, _ in _paths(doc)]
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        how = draw(st.sampled_from(["tweak", "replace", "delete", "add", "nest"]))
        old = parent[path[-1]]
        if how == "tweak" and isinstance(old, (int, float)) and not isinstance(old, bool):
            # a number of the same kind, often valid: the estimate meets odd valid scenarios
            parent[path[-1]] = draw(st.integers(-70_000, 70_000) if isinstance(old, int)
                                    else st.floats(0.0, 1.0))
        elif how == "replace":
            parent[path[-1]] = draw(VALUES)
        elif how == "delete":
            del parent[path[-1]]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
        elif how == "nest":
            for _ in range(draw(st.integers(1, 60))):
                parent[path[-1]] = draw(st.sampled_from([[parent[path[-1]]],
                                                         {"x": parent[path[-1]]}]))
    return doc


@st.composite
def mutated_bytes(draw) -> bytes:
    """A mutated preset as file bytes, sometimes with its encoding or its text damaged too."""
    text = tomli_w.dumps(draw(mutated_dict()))
    data = text.encode("utf-8")
    how = draw(st.sampled_from(["none", "none", "bom", "byte", "truncate", "deep", "utf-16",
                                "line"]))
    at = draw(st.integers(0, len(data)))
    if how == "bom":
        data = b"\xef\xbb\xbf" + data
    elif how == "byte":
        data = data[:at] + draw(st.sampled_from([b"\x00", b"\xe9", b"\xff", b"\x80"])) + data[at:]
    elif how == "truncate":
        data = data[:at]
    elif how == "deep":
        depth = draw(st.integers(1, 3000))
        open_, close = draw(st.sampled_from([(b"[", b"]"), (b"{ a = ", b" }")]))
        data = b"deep = " + open_ * depth + b"1" + close * depth + b"\n" + data
    elif how == "utf-16":
        data = text.encode("utf-16")
    elif how == "line":
        lines = data.splitlines(keepends=True)
        data = b"".join(lines + lines[: draw(st.integers(0, len(lines)))])
    return data


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_bytes())
def test_a_mutated_preset_loads_or_gets_a_scenario_error_and_the_command_line_one_line(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutated.toml"
        path.write_bytes(data)
        try:
            assert isinstance(load(path), Scenario)
        except ScenarioError as e:
            assert "Traceback" not in str(e)
        out = Path(tmp) / "out"
        result = runner.invoke(app, ["run", str(path), "--memory-limit", "1B", "--quiet",
                                     "--out", str(out)])
        # A valid scenario is refused by the memory limit: either way, exit 2 before running.
        assert result.exit_code == 2, (result.exception, result.output)
        assert isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output + result.stderr
        assert not out.exists()
