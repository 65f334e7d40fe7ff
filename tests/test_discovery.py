"""Scenario discovery: PRIM finds the boxes of known answers, conclusions are read or refused in
one line, and a study answers them in its folder, summary and command output."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from test_sensitivity import TINY, one_line_error
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.scenario import load
from panopticon.readers import discovery as disc
from panopticon.readers import sensitivity as sens

runner = CliRunner()
NAMES = ["a", "b", "c"]


def uniform(n: int = 400, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3))


def found(x: np.ndarray, holds: np.ndarray, seeds: int = 1) -> disc.Discovery:
    """The discovery of ``y > 0.5`` where ``y`` is 1 exactly where ``holds``."""
    y = np.repeat(holds.astype(float)[:, None], seeds, axis=1)
    return disc.discover(disc.Conclusion("y", ">", 0.5), x, y - 0.5)  # the output less 0.5


def bounds(box: disc.Box) -> dict[str, tuple[float, float]]:
    return {NAMES[j]: (box.low[j], box.high[j]) for j in box.restricted()}


def test_prim_finds_a_known_box_in_two_of_three_parameters():
    x = uniform()
    f = found(x, (x[:, 0] < 0.3) & (x[:, 1] > 0.6))
    assert f.target and len(f.boxes) == 1
    box = f.boxes[0]
    b = bounds(box)
    assert set(b) == {"a", "b"}  # c does nothing and is left free
    assert b["a"][0] == -np.inf and b["a"][1] == pytest.approx(0.3, abs=0.03)
    assert b["b"][1] == np.inf and b["b"][0] == pytest.approx(0.6, abs=0.03)
    assert box.coverage >= 0.95 and box.density >= 0.95
    assert box.mass == pytest.approx(box.points / len(x))
    assert f.trajectory[0].mass == 1 and f.trajectory[0].coverage == 1
    inside = disc.inside(x, box.low, box.high)
    hit = (x[:, 0] < 0.3) & (x[:, 1] > 0.6)
    assert box.coverage == pytest.approx(hit[inside].sum() / hit.sum())
    assert box.density == pytest.approx(hit[inside].mean())


def test_where_a_conclusion_mostly_holds_prim_finds_where_it_fails():
    x = uniform(seed=2)
    f = found(x, ~(x[:, 2] > 0.8))  # fails only where c is above 0.8
    assert not f.target and f.holding == int((x[:, 2] <= 0.8).sum())
    b = bounds(f.boxes[0])
    assert list(b) == ["c"] and b["c"][0] == pytest.approx(0.8, abs=0.03)
    text = " ".join(disc.words(f, NAMES, str))
    assert "where it fails (coverage) lie where c is above 0.79" in text


def test_two_separate_regions_give_two_boxes():
    x = uniform(800, seed=3)
    f = found(x, (x[:, 0] < 0.15) | (x[:, 1] > 0.9))
    assert len(f.boxes) == 2
    assert {tuple(bounds(b)) for b in f.boxes} == {("a",), ("b",)}
    assert sum(b.coverage for b in f.boxes) >= 0.9


def test_a_restriction_that_does_not_earn_its_place_is_lifted():
    x = uniform(seed=6)
    hit = x[:, 0] < 0.3
    inf = np.inf
    box = disc._scored(x, hit, np.array([-inf, -inf, 0.1]), np.array([0.3, inf, inf]),
                       len(x), int(hit.sum()))  # c above 0.1: no reason
    assert disc.quasi_p(x, hit, box, 0) < 1e-6 and disc.quasi_p(x, hit, box, 2) > 0.05
    kept = disc.significant(x, hit, box)
    assert kept.restricted() == [0] and kept.coverage == 1 and kept.density == 1
    assert disc._binomial_tail(3, 3, 0.5) == pytest.approx(0.125)
    assert disc._binomial_tail(0, 10, 0.2) == pytest.approx(1.0)


def test_the_boxes_do_not_depend_on_the_order_of_the_points():
    x = uniform(seed=4)
    holds = (x[:, 0] > 0.5) & (x[:, 2] < 0.4)
    order = np.random.default_rng(0).permutation(len(x))
    one, two = found(x, holds), found(x[order], holds[order])
    assert [(b.low.tolist(), b.high.tolist(), b.density) for b in one.boxes] == [
        (b.low.tolist(), b.high.tolist(), b.density) for b in two.boxes]


def test_grid_points_as_morris_makes_them_are_peeled_by_level():
    x = np.random.default_rng(5).integers(0, 4, (300, 3)) / 3  # four levels, as Morris' grid
    f = found(x, x[:, 1] == 0)
    b = bounds(f.boxes[0])
    assert list(b) == ["b"] and b["b"][1] == pytest.approx(1 / 3)  # the next level stays out
    assert f.boxes[0].coverage == 1 and f.boxes[0].density == 1


def test_everywhere_nowhere_undefined_and_seed_noise_are_said_not_boxed():
    x = uniform(50)
    for holds, words in ((np.ones(50, bool), "It holds at every point"),
                         (np.zeros(50, bool), "It holds at no point")):
        f = found(x, holds)
        assert not f.boxes and words in " ".join(disc.words(f, NAMES, str))
    y = np.column_stack([x[:, 0], x[:, 0] + 0.2])  # two seeds: 0.2 apart
    y[:5] = np.nan
    f = disc.discover(disc.Conclusion("y", ">", 0.5), x, y - 0.5)
    assert f.undefined == 5 and f.points == 45
    cut = x[5:, 0]
    assert f.seeds_disagree == int(((cut > 0.3) & (cut <= 0.5)).sum())
    text = " ".join(disc.words(f, NAMES, str))
    assert "5 points where it is undefined are left out" in text and "seeds disagree" in text


@pytest.mark.parametrize(("text", "expected"), [
    ("children_barred_wrongly 1e6", "write OUTPUT OP NUMBER or OUTPUT OP OUTPUT, with OP one"
                                    " of > >= < <="),
    ("children_barred_wrongly = 1e6", "write OUTPUT OP NUMBER"),
    ("nope > 3", "nope is not an output of the study; its outputs are"
                 " children_barred_wrongly, wrongful_sanction_rate"),
    ("wrongful_sanction_rate < lots", "lots is neither a number nor an output of the study"),
    ("wrongful_sanction_rate < nan", "'nan' is not a finite number"),
])
def test_a_bad_conclusion_is_refused_naming_what_is_allowed(text, expected):
    with pytest.raises(disc.ConclusionError, match="--conclusion") as e:
        disc.parse_conclusion(text, ("children_barred_wrongly", "wrongful_sanction_rate"))
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_conclusions_are_read_with_every_operator():
    outs = ("children_barred_wrongly",)
    for op in (">", ">=", "<", "<="):
        c = disc.parse_conclusion(f"  children_barred_wrongly{op}1_000_000 ", outs)
        assert (c.output, c.op, c.right) == ("children_barred_wrongly", op, 1e6)
    c = disc.parse_conclusion("children_barred_wrongly >= 2", outs)
    assert c.holds(np.array([1.0, 2.0, 3.0]) - c.right).tolist() == [False, True, True]
    c = disc.parse_conclusion("b:children_barred_wrongly>children_barred_wrongly",
                              ("children_barred_wrongly", "b:children_barred_wrongly"))
    assert (c.output, c.op, c.right) == ("b:children_barred_wrongly", ">",
                                         "children_barred_wrongly")


# -- in a study -------------------------------------------------------------------------------

@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_a_study_finds_the_box_its_runs_were_made_to_have(tiny, monkeypatch):
    """Runs that give 2 million where comment precision is below its range's middle and the
    points per flag above theirs, else nothing: the study's box is those two bounds."""
    sc = load(tiny)
    params = sc.sensitivity.parameters
    prec, rate, flag = list(params)
    mid = {p: (b.low + b.high) / 2 for p, b in params.items()}

    def fake_run(spec):
        v = {p: sens.number_at(spec.scenario, p)[0] for p in params}
        hit = v[prec] < mid[prec] and v[flag] > mid[flag]
        return {"wrongly_sanctioned_people": 2e6 * hit + spec.seed,
                "wrongful_sanction_rate": 0.1}

    monkeypatch.setattr(sens, "run_outputs", fake_run)
    out = tiny.parent / "out"
    args = ["sensitivity", str(tiny), "--population", "1000", "--trajectories", "6", "--samples",
            "16", "--seeds", "1", "--screen", "0", "--workers", "1", "--quiet", "--out", str(out),
            "--output", "wrongly_sanctioned_people", "--output", "wrongful_sanction_rate",
            "--conclusion", "wrongly_sanctioned_people > 1e6",
            "--conclusion", "wrongful_sanction_rate < 0.2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrongly_sanctioned_people > 1 million holds at" in result.output
    assert f"lie where {prec} is below" in result.output and f"{flag} is above" in result.output
    assert "wrongful_sanction_rate < 20% holds at" in result.output
    assert "It holds at every point" in result.output
    rows = pq.read_table(out / "discovery.parquet").to_pylist()
    assert {r["parameter"] for r in rows} == {prec, flag}
    first = {r["parameter"]: r for r in rows if r["box"] == 1}
    assert first[prec]["high"] == pytest.approx(mid[prec], rel=0.25)
    assert first[flag]["low"] == pytest.approx(mid[flag], rel=0.25)
    assert first[prec]["coverage"] >= 0.8 and first[prec]["density"] >= 0.8
    found = json.loads((out / "discovery.json").read_text())
    assert [c["conclusion"] for c in found["conclusions"]] == [
        "wrongly_sanctioned_people > 1e+06", "wrongful_sanction_rate < 0.2"]
    assert found["conclusions"][1]["boxes"] == [] and found["conclusions"][0]["trajectory"]
    assert (out / "figures" / "discovery.png").read_bytes()[:4] == b"\x89PNG"
    summary = (out / "summary.md").read_text()
    assert "## Scenario discovery: wrongly_sanctioned_people > 1e+06" in summary
    assert "figures/discovery.png" in summary and "Scenario discovery" in (
        out / "summary.html").read_text()
    # a new conclusion on the finished study runs nothing
    monkeypatch.setattr(sens, "run_outputs", lambda spec: pytest.fail("ran a run"))
    args[args.index("wrongful_sanction_rate < 0.2")] = "wrongful_sanction_rate > 0.2"
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert "It holds at no point" in result.output


def test_a_conclusion_on_an_output_the_study_does_not_read_is_one_line(tiny, tmp_path):
    result = runner.invoke(app, ["sensitivity", str(tiny), "--output", "wrongful_sanction_rate",
                                 "--conclusion", "children_barred_wrongly > 1e6",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert ("children_barred_wrongly is not an output of the study; its outputs are"
            " wrongful_sanction_rate (add one with --output)") in one_line_error(result.output)
    assert not (tmp_path / "out").exists()


def test_a_comparison_with_another_scenario_runs_it_at_the_same_points(tiny, monkeypatch):
    """The other scenario (the court list, same calendar) wrongly sanctions 1 million at every
    point; the study's scenario 2 million where comment precision is below its middle, else
    none: the full scheme sanctions more exactly there."""
    court = tiny.parent / "court.toml"
    court.write_text('extends = "court-list"\nname = "court"\nend = 2014-02-28\n')
    prec, params = "sensing.content_review.comment.precision", load(tiny).sensitivity.parameters
    mid = (params[prec].low + params[prec].high) / 2
    seen = []

    def fake_run(spec):
        seen.append((spec.scenario.name, spec.seed, sens.number_at(spec.scenario, prec)[0]))
        low = sens.number_at(spec.scenario, prec)[0] < mid
        value = 1e6 if spec.scenario.name == "court" else 2e6 * low
        return {"wrongly_sanctioned_people": value}

    monkeypatch.setattr(sens, "run_outputs", fake_run)
    out = tiny.parent / "out"
    result = runner.invoke(app, [
        "sensitivity", str(tiny), "--against", str(court), "--population", "1000",
        "--trajectories", "6", "--samples", "16", "--seeds", "1", "--screen", "0", "--quiet",
        "--workers", "1", "--out", str(out), "--output", "wrongly_sanctioned_people",
        "--conclusion", "wrongly_sanctioned_people > court:wrongly_sanctioned_people"])
    assert result.exit_code == 0, result.output
    mine = sorted((s, v) for n, s, v in seen if n == "tiny")
    assert mine == sorted((s, v) for n, s, v in seen if n == "court")  # the same points, seeds
    assert f"lie where {prec} is below" in result.output
    box = pq.read_table(out / "discovery.parquet").to_pylist()
    assert [r["parameter"] for r in box] == [prec] and box[0]["density"] == 1
    against = pq.read_table(out / "outputs_against.parquet")
    assert set(against.column("wrongly_sanctioned_people").to_pylist()) == {1e6}
    assert against.num_rows == pq.read_table(out / "outputs.parquet").num_rows
    result = runner.invoke(app, ["sensitivity", str(tiny), "--against", "court-list",
                                 "--out", str(tiny.parent / "other")])
    assert "--against court-list: its calendar" in one_line_error(result.output)


def test_a_real_tiny_study_answers_its_conclusion(tiny):
    out = tiny.parent / "real"
    result = runner.invoke(app, ["sensitivity", str(tiny), "--population", "1000",
                                 "--trajectories", "2", "--samples", "2", "--seeds", "1",
                                 "--workers", "1",
                                 "--output", "wrongly_sanctioned_people", "--quiet",
                                 "--conclusion", "wrongly_sanctioned_people > 0",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = json.loads((out / "discovery.json").read_text())["conclusions"][0]
    outputs = pq.read_table(out / "outputs.parquet").column("wrongly_sanctioned_people")
    assert found["holding"] == sum(v > 0 for v in outputs.to_pylist())
    assert found["points"] == outputs.length()
