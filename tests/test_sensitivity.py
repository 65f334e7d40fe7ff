"""``panopticon sensitivity``: the [sensitivity] table, the analysis against known answers, the
study's folder, and that it depends on neither the number of workers nor an interruption."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.scenario import FreeParameter, load
from panopticon.readers import sensitivity as sens

runner = CliRunner()
# Three assumptions of china-2018's nine (the others removed), two months, 1,000 citizens.
TINY = """extends = "china-2018"
name = "tiny"
end = 2014-02-28

[sensitivity.parameters]
"sensing.content_review.photo.precision" = { remove = true }
"speech.against_line_share" = { remove = true }
"channels.cameras.false_share" = { remove = true }
"channels.cameras.hit" = { remove = true }
"fear.deterrence" = { remove = true }
"fear.chilling" = { remove = true }
# Harsh enough that false flags sanction people within two months.
"scoring.points.content_flag" = { low = -400, high = -100 }
"""
OUTPUTS = ("--output", "wrongly_sanctioned_people", "--output", "wrongful_sanction_rate",
           "--output", "judgment_defaulters_listed@2014-02-28")
SIZES = ("--population", "1000", "--trajectories", "2", "--samples", "2", "--seeds", "2")
# Ishigami's function (a = 7, b = 0.1) on [-pi, pi]^3: its Sobol indices are known.
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def study(tiny, out: str, *args: str, code: int = 0):
    result = runner.invoke(app, ["sensitivity", str(tiny), *SIZES, *OUTPUTS, "--quiet",
                                 "--out", str(tiny.parent / out), *args])
    assert result.exit_code == code, result.output
    return tiny.parent / out if code == 0 else result.output


def one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize(("entry", "expected"), [
    ('"court.nope" = { low = 0.1, high = 0.2 }',
     "sensitivity parameter 'court.nope' is not a number of the scenario: 'court' has no 'nope'"),
    ('"court.comply_rate" = { low = 0.1, high = 2.0 }',
     "sensitivity parameter 'court.comply_rate': bound 2.0 is outside what the field allows:"
     " from 0 to 1"),
    ('"court.grace_days" = { low = 1.5, high = 30 }', "is an integer: its low and high must be"),
])
def test_a_bad_parameter_is_one_line_naming_it(tmp_path, entry, expected):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "china-2018"\n[sensitivity.parameters]\n{entry}\n')
    result = runner.invoke(app, ["sensitivity", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert expected in one_line_error(result.output)
    assert not (tmp_path / "out").exists()


def test_nothing_to_vary_and_an_unknown_output_are_one_line(tmp_path, tiny):
    result = runner.invoke(app, ["sensitivity", "census", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "nothing to vary: no [sensitivity.parameters] table" in one_line_error(result.output)
    result = runner.invoke(app, ["sensitivity", str(tiny), "--output", "nope"])
    assert "--output nope: not a headline figure" in one_line_error(result.output)
    result = runner.invoke(app, ["sensitivity", str(tiny), "--samples", "3"])
    assert "must be a power of two" in one_line_error(result.output)


def test_without_a_table_the_assumed_calibration_parameters_vary():
    china = load("china-2018")
    bare = china.model_copy(update={"sensitivity": None})
    assert sens.study_parameters(bare) == china.calibration.parameters
    assert list(sens.study_parameters(china)) == list(china.sensitivity.parameters)
    odd = china.with_changes(**{"sensitivity.parameters": {"court.x": {"low": 0, "high": 1}}})
    with pytest.raises(sens.SensitivityError, match="sensitivity parameter 'court.x'"):
        sens.study_parameters(odd)  # checked when a study starts, not as the scenario loads
    no_fear = china.with_changes(fear=None)  # the inherited table names fear's numbers
    with pytest.raises(sens.SensitivityError, match="'fear' is not set"):
        sens.study_parameters(no_fear)


def test_sobol_indices_of_ishigami_match_the_known_answer():
    params = {f"x{i}": FreeParameter(low=-math.pi, high=math.pi) for i in (1, 2, 3)}
    x = sens.sobol_points(params, 4096, seed=1)
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    ix = sens.sobol_indices(params, y, seed=1)
    assert ix["S1"] == pytest.approx(ISHIGAMI_S1, abs=0.05)
    assert ix["ST"] == pytest.approx(ISHIGAMI_ST, abs=0.05)
    assert np.all(ix["ST"] >= ix["S1"] - ix["S1_conf"] - ix["ST_conf"])


def test_morris_screens_out_a_parameter_without_effect_on_a_log_axis():
    params = {"a": FreeParameter(low=1, high=100, log=True), "b": FreeParameter(low=0, high=1),
              "c": FreeParameter(low=0, high=1)}
    x = sens.morris_points(params, 20, seed=3)
    y = 2 * x[:, 0] + x[:, 1]  # log10 a moves it twice as fast as b; c not at all
    ix = sens.morris_indices(params, x, y, seed=3)
    assert ix["mu_star"][0] > ix["mu_star"][1] > 0 == ix["mu_star"][2]
    assert list(sens.screened(params, {"y": ix["mu_star"]}, 0.1)) == ["a", "b"]


def test_a_backend_plugs_in_and_the_analysis_finds_what_it_computes(tiny, tmp_path):
    """A backend that computes a known function of the points: Morris drops the parameter that
    does nothing, Sobol gives the first nearly all the variance; no simulation runs."""
    sc = load(tiny)
    settings = sens.study_settings(sc, ["wrongly_sanctioned_people"], 2, 6, 16, 0.1)
    paths = list(settings.parameters)

    class Known:
        def map(self, run, specs, memory):
            assert run is sens.run_outputs and memory > 0
            for spec in specs:
                v = [sens.number_at(spec.scenario, p)[0] for p in paths]
                yield {"wrongly_sanctioned_people": 100 * v[0] + v[1] / 10 + spec.seed % 2}

    done = sens.sensitivity(settings, tmp_path / "out", Known())
    assert list(done.chosen) == [paths[0]]
    s1 = done.sobol["wrongly_sanctioned_people"]["S1"]
    assert s1[0] == pytest.approx(1.0, abs=0.05)
    spread = pq.read_table(tmp_path / "out" / "spread.parquet").to_pylist()[0]
    assert spread["sd_seeds"] == pytest.approx(math.sqrt(0.5))  # seeds 1 and 2 differ by 1


def test_a_study_writes_its_folder_the_same_on_one_and_two_workers(tiny):
    one = study(tiny, "one", "--workers", "1")
    two = study(tiny, "two", "--workers", "2")
    for name in ("samples.parquet", "outputs.parquet", "morris.parquet", "sobol.parquet",
                 "spread.parquet", "indices.json", "summary.md", "summary.html"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    for name in ("morris", "sobol", "spread"):
        assert (one / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    outputs = pq.read_table(one / "outputs.parquet")
    samples = pq.read_table(one / "samples.parquet")
    morris_points = 2 * (3 + 1)
    assert samples.column("phase").to_pylist().count("morris") == morris_points
    assert outputs.num_rows == 2 * samples.num_rows  # every point at both seeds
    assert set(outputs.column("seed").to_pylist()) == {1, 2}
    assert len(list((one / "done").iterdir())) == outputs.num_rows
    indices = json.loads((one / "indices.json").read_text())
    for row in indices["sobol"]:
        assert row["ST"] >= row["S1"] - row["S1_conf"] - row["ST_conf"]
    summary = (one / "summary.md").read_text()
    assert "## wrongly_sanctioned_people" in summary and "across the" in summary
    assert not list(one.rglob(".*tmp*"))


def test_an_interrupted_study_resumes_to_the_same_result(tiny, monkeypatch):
    whole = study(tiny, "whole", "--workers", "1")
    real, calls = sens.run_outputs, []

    def ctrl_c_on_the_tenth_run(spec):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return real(spec)

    monkeypatch.setattr(sens, "run_outputs", ctrl_c_on_the_tenth_run)
    output = study(tiny, "resumed", "--workers", "1", code=130)
    assert "add --resume to the same command" in output
    resumed = tiny.parent / "resumed"
    assert len(list((resumed / "done").iterdir())) == 9 and not (resumed / "summary.md").exists()
    monkeypatch.setattr(sens, "run_outputs", real)
    assert "holds a sensitivity study; add --resume" in one_line_error(
        study(tiny, "resumed", "--workers", "1", code=2))
    assert "was run with another seeds" in one_line_error(
        study(tiny, "resumed", "--resume", "--seeds", "3", code=2))
    calls.clear()
    monkeypatch.setattr(sens, "run_outputs", lambda spec: calls.append(1) or real(spec))
    study(tiny, "resumed", "--workers", "1", "--resume")
    assert len(calls) == len(list((whole / "done").iterdir())) - 9  # only the runs not kept
    for name in ("outputs.parquet", "indices.json", "summary.md"):
        assert (resumed / name).read_bytes() == (whole / name).read_bytes(), name
