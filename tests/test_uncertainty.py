"""The report's bands of the headline figures: across a multi-seed run's seeds, and across the
assumptions of a sensitivity study beside the run (readers/uncertainty.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.readers import report, uncertainty

runner = CliRunner()
SMALL = ["--population", "500", "--end", "2014-06-30", "--quiet", "--no-report"]
FIGURE = "wrongly_sanctioned_people"


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    invoke("run", *SMALL, "--seeds", "3", "--out", str(root / "china-2018-seeds1-3"))
    invoke("run", *SMALL, "--seed", "3", "--out", str(root / "china-2018-seed3"))
    return root


def study(folder, scenario: str = "china-2018") -> None:
    """A finished study's indices.json, as `panopticon sensitivity` writes it."""
    folder.mkdir()
    spread = {"output": FIGURE, "points": 20, "undefined": 0, "min": 1e6, "p05": 2e6,
              "median": 5e6, "p95": 9e6, "max": 1.2e7, "sd_points": 2e6, "sd_seeds": 1e5}
    sobol = [{"output": FIGURE, "parameter": p, "S1": s, "S1_conf": 0.1, "ST": s + 0.05,
              "ST_conf": c} for p, s, c in (("fear.chilling", 0.2, 0.1),
                                            ("speech.against_line_share", 0.6, 0.1),
                                            ("fear.deterrence", 0.9, 0.8))]
    (folder / "indices.json").write_text(json.dumps({
        "study": {"scenario": scenario, "citizens": 2000, "scale": 705000.0,
                  "start": "2014-01-01", "end": "2019-12-31", "seeds": 2},
        "parameters": {}, "outputs": [FIGURE], "sobol_parameters": [], "morris": [],
        "sobol": sobol, "spread": [spread]}))


def test_every_seed_s_headline_figures_are_its_own_run_s(runs):
    figures = pq.read_table(runs / "china-2018-seeds1-3" / "audit_seeds.parquet")
    assert sorted(set(figures.column("seed").to_pylist())) == [1, 2, 3]
    alone = json.loads((runs / "china-2018-seed3" / "summary.json").read_text())["audit"]
    third = [r for r in figures.to_pylist() if r["seed"] == 3]
    assert [(r["metric"], r["group"], r["value"]) for r in third] == [
        (r["metric"], r["group"], r["value"]) for r in alone]
    first = json.loads((runs / "china-2018-seeds1-3" / "summary.json").read_text())["audit"]
    assert [r["value"] for r in figures.to_pylist() if r["seed"] == 1 and r["section"] not in
            ("chilling", "deterrence")] == [r["value"] for r in first if r["section"] not in
                                            ("chilling", "deterrence")]


def test_seed_band_is_the_percentiles_of_the_seeds(runs):
    run = report.load_run(runs / "china-2018-seeds1-3")
    values = uncertainty.seed_values(run.seed_figures)["sanction_rate"]
    assert len(values) == 3
    low, high = np.percentile(values, [5, 95])
    row = next(r for r in uncertainty.rows(run.summary["audit"], run.seed_figures, None)
               if r[0] == "sanction rate")
    assert row[2] == uncertainty.band_text("sanction_rate", low, high)
    assert row[3] == "-"


def test_report_shows_the_study_beside_the_run(runs):
    study(runs / "china-2018-sensitivity")
    try:
        html = report.page(report.load_run(runs / "china-2018-seeds1-3"))
        section = html[html.index('id="certainty"'):]
        text = re.sub("<[^>]+>", "|", section[:section.index("</section>")])
        assert "china-2018-sensitivity, 2,000 citizens" in text
        assert "|wrongly sanctioned people|" in text
        assert "2 million to 9 million (all points: 1 million to 12 million)" in text
        # the largest total index whose interval can tell, not the widest
        assert "speech.against_line_share: 65% of its variance (Sobol)" in text
        assert report.load_run(runs / "china-2018-seed3").study is not None  # any seed's run
    finally:
        for p in (runs / "china-2018-sensitivity").iterdir():
            p.unlink()
        (runs / "china-2018-sensitivity").rmdir()


def test_a_study_of_another_scenario_is_not_taken(runs):
    study(runs / "china-2018-sensitivity", scenario="court-list")
    try:
        assert report.load_run(runs / "china-2018-seeds1-3").study is None
        assert report.load_run(runs / "china-2018-seeds1-3",
                               runs / "china-2018-sensitivity").study is not None
    finally:
        (runs / "china-2018-sensitivity" / "indices.json").unlink()
        (runs / "china-2018-sensitivity").rmdir()


def test_report_without_seeds_or_study_has_no_such_section(runs):
    assert 'id="certainty"' not in report.page(report.load_run(runs / "china-2018-seed3"))


def test_naming_an_unfinished_study_is_one_line(runs, tmp_path):
    (tmp_path / "study").mkdir()
    result = runner.invoke(app, ["report", str(runs / "china-2018-seed3"), "--sensitivity",
                                 str(tmp_path / "study")])
    assert result.exit_code == 2
    assert "not a finished sensitivity study" in result.output
    assert len(result.output.strip().splitlines()) == 1
    (tmp_path / "study" / "indices.json").write_text("{}")
    result = runner.invoke(app, ["report", str(runs / "china-2018-seed3"), "--sensitivity",
                                 str(tmp_path / "study")])
    assert result.exit_code == 2 and "not a sensitivity study's indices" in result.output
