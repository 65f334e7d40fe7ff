"""Comparing runs: alignment on common dates, differences, their spread over common seeds."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.readers.compare import CompareError, compare
from panopticon.readers.provenance import describe_code
from panopticon.readers.results import split_seeds

runner = CliRunner()
TINY = ["--population", "20000", "--quiet", "--no-report"]
JAN_FEB = ["--start", "2018-01-01", "--end", "2018-02-28"]
MORE_FALSE_MATCHES = 'extends = "china-2018"\nname = "more-false-matches"\n' \
                     "[channels.cameras]\nfalse_share = 0.05\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny runs: a baseline and a policy over two common seeds, the baseline shifted by a
    month, one with another seed and scale, one with no date in common with the baseline."""
    root = tmp_path_factory.mktemp("compare")
    policy = root / "policy.toml"
    policy.write_text(MORE_FALSE_MATCHES)
    specs = {
        "base": ["china-2018", *JAN_FEB, "--seeds", "2"],
        "policy": [str(policy), *JAN_FEB, "--seeds", "2"],
        "shifted": ["china-2018", "--start", "2018-02-01", "--end", "2018-03-31", "--seeds", "2"],
        "other": ["china-2018", *JAN_FEB, "--seed", "3", "--population", "10000"],
        "later": ["china-2018", "--start", "2018-04-01", "--end", "2018-04-03"],
    }
    for name, args in specs.items():
        result = runner.invoke(app, ["run", *TINY, *args, "--out", str(root / name)])
        assert result.exit_code == 0, result.output
    return root


def _series(folder, metric):
    return pq.read_table(folder / "timeseries.parquet").column(metric).to_numpy()


def test_policy_difference_is_computed_from_each_run(runs):
    c = compare([runs / "base", runs / "policy"], ["cameras_false_records", "listed_stock"])
    matches, listed = c.figures
    base, policy = (_series(runs / n, "cameras_false_records").sum() for n in ("base", "policy"))
    assert matches.how == "sum over dates" and matches.values == pytest.approx([base, policy])
    assert matches.differences[0] == pytest.approx(policy - base) and policy > base
    assert listed.how == "on 2018-02-28"
    assert listed.values[0] == pytest.approx(_series(runs / "base", "listed_stock")[-1])
    assert c.warnings == []


def test_common_seeds_give_the_spread_of_the_difference(runs):
    c = compare([runs / "base", runs / "policy"], ["cameras_false_records", "citizens"])
    matches, citizens = c.figures
    per_seed = [pq.read_table(runs / n / "timeseries_seeds.parquet") for n in ("base", "policy")]
    diffs = [b.column("cameras_false_records").to_numpy().sum()
             - a.column("cameras_false_records").to_numpy().sum()
             for a, b in zip(*(split_seeds(t) for t in per_seed), strict=True)]
    p05, median, p95 = matches.bands[0]
    assert median == pytest.approx(np.median(diffs))
    assert p05 == pytest.approx(np.percentile(diffs, 5)) and p05 <= median <= p95
    assert citizens.bands[0] == (0.0, 0.0, 0.0)  # common random numbers: same people


def test_runs_are_aligned_on_their_common_dates(runs):
    c = compare([runs / "base", runs / "shifted"], ["listed_stock", "cameras_false_records"])
    assert (c.first, c.last) == ("2018-02-01", "2018-02-28")
    table = c.aligned
    assert set(table.column("date").to_pylist()) == {
        dt.date(2018, 2, d) for d in range(1, 29)}
    assert table.num_rows == 2 * 2 * 28
    rows = table.filter(pc.and_(pc.equal(table["run"], "shifted"),
                                pc.equal(table["metric"], "cameras_false_records"))).to_pylist()
    base = dict(zip(pq.read_table(runs / "base" / "timeseries.parquet")
                    .column("date").to_pylist(), _series(runs / "base", "cameras_false_records"),
                    strict=True))
    shifted = _series(runs / "shifted", "cameras_false_records")[:28]
    assert [r["value"] for r in rows] == pytest.approx(shifted)
    assert [r["difference"] for r in rows] == pytest.approx(
        [r["value"] - base[r["date"]] for r in rows])
    assert any("starts on 2018-02-01" in w for w in c.warnings)


def test_other_seeds_and_scales_are_warned_of(runs):
    c = compare([runs / "base", runs / "other"])
    assert any("has seeds [3]" in w for w in c.warnings)
    assert any("people per citizen" in w for w in c.warnings)
    assert all(f.bands is None for f in c.figures)  # no common seeds, no band


def test_runs_without_a_common_date_or_alone_cannot_be_compared(runs):
    with pytest.raises(CompareError, match="share no date"):
        compare([runs / "base", runs / "later"])
    with pytest.raises(CompareError, match="at least two"):
        compare([runs / "base"])


def test_compare_command_prints_the_table_and_writes_the_aligned_file(runs, tmp_path):
    out = tmp_path / "aligned.parquet"
    result = runner.invoke(app, ["compare", str(runs / "base"), str(runs / "policy"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Runs compared over 2018-01-01 to 2018-02-28" in result.output
    assert "median [90% band] by seed" in result.output
    assert pq.read_table(out).column_names == ["run", "date", "metric", "value", "difference"]


@pytest.mark.parametrize(("second", "args", "message"), [
    ("policy", ["--metric", "cameras_false_record"], "did you mean cameras_false_records"),
    ("later", [], "share no date"),
])
def test_compare_mistakes_are_one_line(runs, second, args, message):
    result = runner.invoke(app, ["compare", str(runs / "base"), str(runs / second), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def _copy(runs, name, tmp_path, label):
    folder = Path(shutil.copytree(runs / name, tmp_path / label))
    return folder, json.loads((folder / "summary.json").read_text("utf-8"))


def _write(folder, summary):
    (folder / "summary.json").write_text(json.dumps(summary), "utf-8")


def test_runs_of_other_code_are_warned_of_one_line_each(runs, tmp_path):
    newer, summary = _copy(runs, "policy", tmp_path, "newer")
    summary["provenance"] |= {"panopticon": "9.9.9", "commit": "f" * 40,
                                "dirty": False}
    _write(newer, summary)
    c = compare([runs / "base", newer])
    assert [w for w in c.warnings if "changes of the code" in w] == [
        f"newer was made by panopticon 9.9.9 (commit {'f' * 10}), base by "
        f"{describe_code(json.loads((runs / 'base' / 'summary.json').read_text())['provenance'])}"
        ": the difference may hold changes of the code, not only of the scenarios"]
    older, summary = _copy(runs, "policy", tmp_path, "older")
    del summary["provenance"]
    _write(older, summary)
    result = runner.invoke(app, ["compare", str(runs / "base"), str(older)])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "changes of the code" in line]
    assert len(warned) == 1 and "older was made by an unknown version of panopticon" in warned[0]


def test_two_scenarios_of_one_name_are_warned_of(runs, tmp_path):
    changed, summary = _copy(runs, "base", tmp_path, "changed")
    toml = changed / "scenario.toml"
    text = toml.read_text("utf-8")
    assert "\nfalse_share = 0.01\n" in text  # the cameras' (the other channels make none)
    toml.write_text(text.replace("\nfalse_share = 0.01\n", "\nfalse_share = 0.5\n"), "utf-8")
    c = compare([runs / "base", changed])
    assert c.warnings[0].startswith("changed: scenario.toml has changed since the run")
    assert len(c.warnings) == 2 and "channels.cameras.false_share" in c.warnings[1]
    summary["provenance"]["scenario_sha256"] = hashlib.sha256(toml.read_bytes()).hexdigest()
    _write(changed, summary)
    c = compare([runs / "base", changed])
    assert c.warnings == ["changed and base both run scenario 'china-2018' but differ in "
                          "channels.cameras.false_share: the name does not tell them apart"]
    # other seed and scale, the same rules: the warnings say so, not that the rules differ
    assert not any("both run" in w for w in compare([runs / "base", runs / "other"]).warnings)


def test_a_label_is_shown_as_text(runs, tmp_path):
    odd = Path(shutil.copytree(runs / "policy", tmp_path / "[red]policy:smile:"))
    result = runner.invoke(app, ["compare", str(runs / "base"), str(odd), "--metric",
                                 "listed_stock"])
    assert result.exit_code == 0, result.output
    assert "[red]policy:smile:" in result.stdout
