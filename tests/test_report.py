"""The report: one offline HTML file from a run folder, every section, and sound numbers."""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.published import load_targets
from panopticon.readers import provenance, report
from panopticon.readers.results import model_value

runner = CliRunner()
TINY = ["--population", "20000", "--start", "2017-11-01", "--end", "2018-01-31", "--quiet",
        "--no-report"]
SECTIONS = ("timeline", "provinces", "grades", "scheme", "funnel", "causes", "audit",
            "parameters")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A two-seed run of three months that holds two dates of the published record."""
    out = tmp_path_factory.mktemp("report") / "tiny"
    result = runner.invoke(app, ["run", "china-2018", *TINY, "--seeds", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(out), "--png"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def page(run_folder) -> str:
    return (run_folder / "report.html").read_text("utf-8")


def test_report_is_one_file_that_needs_no_network(run_folder, page):
    assert re.findall(r"<script\b[^>]*\bsrc\s*=", page) == []
    assert re.findall(r"<link\b[^>]*\bhref\s*=", page) == []
    assert re.findall(r"<(?:img|iframe)\b[^>]*\bsrc\s*=", page) == []
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js is inlined
    assert not list(run_folder.glob(".*tmp"))


def test_report_has_every_section_for_a_reader(page):
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page
    assert "are ticket purchases refused, not people" in page
    assert "90% of 2 seeds" in page  # the band is drawn and said
    assert "AAA 1050-1300" in page  # grade names and ranges from scenario.toml
    assert "no full audit" not in page  # the run wrote audit.parquet: the full audit
    assert "<h3>disparate impact</h3>" in page and "figures by age band, area" in page


def test_report_without_audit_file_says_its_table_is_the_counters(run_folder, tmp_path):
    folder = tmp_path / "older"
    shutil.copytree(run_folder, folder)
    (folder / "audit.parquet").unlink()
    assert "no full audit" in report.write_report(folder).read_text("utf-8")


def test_report_survives_counters_at_zero(run_folder, tmp_path):
    folder = tmp_path / "zeros"
    shutil.copytree(run_folder, folder)
    ts = pq.read_table(folder / "timeseries.parquet")
    zeroed = [c for c in ts.column_names if c.endswith(("_blocked", "_wrongful", "_stock"))
              or c.endswith("_false_records")
              or c.startswith(("wrongful_by_", "observed_", "content_flags_"))]
    for c in zeroed:
        ts = ts.set_column(ts.column_names.index(c), c, pa.array(np.zeros(ts.num_rows)))
    pq.write_table(ts, folder / "timeseries.parquet")
    page = report.write_report(folder).read_text("utf-8")
    steps = {s.name: s for s in report.funnel(report.load_run(folder))}
    assert steps["Observed"].total == 0 and steps["Observed"].wrongful_share == 0.0
    assert steps["Acts"].total > 0
    assert all(f'<section id="{anchor}">' in page for anchor in SECTIONS)


def test_funnel_counts_wrong_observations(run_folder, page):
    steps = {s.name: s for s in report.funnel(report.load_run(run_folder))}
    assert 0 < steps["Observed"].wrongful_share < 1
    assert steps["Acts"].total > steps["Observed"].total - steps["Observed"].wrongful
    assert steps["Listed"].wrongful_share is None and "not counted" in page


def test_png_figures_are_written(run_folder):
    names = sorted(p.name for p in (run_folder / "figures").iterdir())
    assert names == ["funnel.png", "grades.png", "provinces.png", "timeline.png"]
    for p in (run_folder / "figures").iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_audit_parquet_is_shown_by_section_and_group(run_folder, tmp_path):
    folder = tmp_path / "with-audit"
    shutil.copytree(run_folder, folder)
    audit = pa.table({
        "section": ["wrongful", "disparate_impact", "disparate_impact"],
        "metric": ["plane_blocked_wrongful", "listing_rate", "listing_rate"],
        "group_by": ["total", "income_decile", "income_decile"],
        "group": ["all", "1", "10"],
        "value": [1234.0, 0.02, 0.005],
        "unit": ["events", "rate", "rate"],
        "ratio_to_national": [None, 2.0, 0.5],
        "note": ["a note only this test writes", "poorest tenth", "richest tenth"],
    })
    pq.write_table(audit, folder / "audit.parquet")
    page = report.write_report(folder).read_text("utf-8")
    assert "a note only this test writes" in page and "no full audit" not in page
    assert "<summary>2 figures by income decile</summary>" in page
    assert "income decile 10" in page


def test_model_series_reads_each_published_figure_as_the_table_does(run_folder):
    """The timeline's line on a target's date is the figure summary.json compares with it."""
    run = report.load_run(run_folder)
    dates = [d.item() for d in run.dates]
    checked = 0
    for t in load_targets():
        if t.date in dates:
            series = report.model_series(run.ts, t.metric)
            assert series[dates.index(t.date)] == pytest.approx(model_value(run.ts, t))
            checked += 1
    assert checked > 0


def test_model_series_sums_yearly_flows_over_the_trailing_year():
    ts = pa.table({"delisted": np.ones(400)})
    series = report.model_series(ts, "blacklist_exits_2018")
    assert series[0] == 1 and series[364] == 365 and series[399] == 365


def test_each_parameter_takes_the_longest_covering_source():
    scenario = {"name": "x", "a": {"b": {"c": 1}, "d": 2.5}, "ab": 3,
                "sanctions": [{"kind": "plane_ban", "lists": ["court"]}],
                "sources": {"a": "data: file", "a.b": "assumption: b", "sanctions": "seed article"}}
    rows = {p.path: (p.value, p.source) for p in report.parameters(scenario)}
    assert rows == {"a.b.c": ("1", "assumption: b"), "a.d": ("2.5", "data: file"),
                    "ab": ("3", "no source given"),
                    "sanctions.0.kind": ("plane_ban", "seed article"),
                    "sanctions.0.lists": ("court", "seed article")}


def test_report_of_a_folder_that_is_not_a_run_is_one_line(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a run folder" in result.output and "Traceback" not in result.output


def test_summary_says_what_made_the_run(run_folder):
    prov = json.loads((run_folder / "summary.json").read_text("utf-8"))["provenance"]
    assert prov["panopticon"] == metadata.version("panopticon")
    assert prov["numpy"] == np.__version__ and prov["pyarrow"] == pa.__version__
    assert prov["numba"] == numba.__version__ and prov["duckdb"] == metadata.version("duckdb")
    assert prov["python"] == platform.python_version() and prov["platform"]
    toml = (run_folder / "scenario.toml").read_bytes()
    assert prov["scenario_sha256"] == hashlib.sha256(toml).hexdigest()
    package = Path(provenance.__file__).parent
    head = subprocess.run(["git", "-C", str(package), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0:  # imported from a checkout, as in development and CI
        assert prov["commit"] == head.stdout.strip() and isinstance(prov["dirty"], bool)


def test_provenance_without_git_says_unknown(monkeypatch):
    monkeypatch.setenv("PATH", "")
    provenance._git.cache_clear()
    try:
        prov = provenance.provenance("name = 'x'\n")
    finally:
        provenance._git.cache_clear()
    assert prov["commit"] is None and prov["dirty"] is None
    assert prov["numpy"] == np.__version__


def test_footer_shows_the_provenance(run_folder, page):
    prov = json.loads((run_folder / "summary.json").read_text("utf-8"))["provenance"]
    footer = page[page.index("<footer"):]
    assert f"Made by panopticon {prov['panopticon']}" in footer
    assert f"NumPy {np.__version__}" in footer and f"Numba {numba.__version__}" in footer
    assert f"Scenario sha256 {prov['scenario_sha256']}: scenario.toml is the scenario run" in footer


def test_a_folder_older_than_provenance_or_edited_since_says_so(run_folder, tmp_path):
    folder = Path(shutil.copytree(run_folder, tmp_path / "older"))
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    del summary["provenance"]
    (folder / "summary.json").write_text(json.dumps(summary), "utf-8")
    footer = report.footer_html(report.load_run(folder))
    assert "unknown version of panopticon" in footer and "hash of the scenario run is unknown" \
        in footer
    edited = Path(shutil.copytree(run_folder, tmp_path / "edited"))
    toml = edited / "scenario.toml"
    toml.write_text(toml.read_text("utf-8").replace("\nseed = 1\n", "\nseed = 7\n", 1), "utf-8")
    assert "scenario.toml has changed since the run" in report.footer_html(report.load_run(edited))


def test_the_provinces_read_their_columns_only_and_rank_as_from_the_whole_table(run_folder):
    """The report reads of regions.parquet what the provinces' rates and map use: the same
    ranking as from every column."""
    import dataclasses

    run = report.load_run(run_folder)
    whole = pq.read_table(run_folder / "regions.parquet")
    assert set(run.regions.column_names) < set(whole.column_names)
    assert set(run.regions.column_names) == report.region_columns(run.scenario) & set(
        whole.column_names)
    from_whole = report.province_rates(dataclasses.replace(run, regions=whole))
    from_read = report.province_rates(run)
    assert from_read.keys() == from_whole.keys() and from_read
    for column, (names, rates) in from_whole.items():
        assert from_read[column][0] == names
        np.testing.assert_array_equal(from_read[column][1], rates)
