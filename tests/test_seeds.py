"""``panopticon run --seeds K``: per-seed series, their bands, and the first seed's usual files."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language import scenario
from panopticon.readers import results
from panopticon.readers.outfolder import FILES, SEED_FILES
from panopticon.runner.seeds import run_seeds

runner = CliRunner()
SMALL_RUN = ["--population", "2000", "--end", "2014-12-31", "--quiet", "--no-report"]
K = 4


def run(out, *args: str):
    result = runner.invoke(app, ["run", *SMALL_RUN, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    outputs = {name: run(root / name, *args) for name, args in (
        ("plain", ()), ("one", ("--seeds", "1")), ("many", ("--seeds", str(K))))}
    return root, outputs


def test_many_seeds_add_two_files_to_the_usual_ones(runs):
    root, _ = runs
    assert sorted(p.name for p in (root / "many").iterdir()) == sorted(FILES + SEED_FILES)
    assert sorted(p.name for p in (root / "one").iterdir()) == sorted(FILES)


def test_one_seed_is_a_plain_run_and_many_start_with_it(runs):
    root, _ = runs
    plain = (root / "plain" / "timeseries.parquet").read_bytes()
    assert (root / "one" / "timeseries.parquet").read_bytes() == plain
    assert (root / "many" / "timeseries.parquet").read_bytes() == plain
    one = json.loads((root / "one" / "summary.json").read_text())
    assert "seeds" not in one and "model_median" not in one["published_comparison"][0]


def test_per_seed_table_holds_each_seed_and_seeds_differ(runs):
    root, _ = runs
    per_seed = pq.read_table(root / "many" / "timeseries_seeds.parquet")
    assert per_seed.column_names[:2] == ["seed", "date"]
    assert per_seed.column("seed").to_pylist() == [s for s in range(1, K + 1) for _ in range(365)]
    plain = pq.read_table(root / "plain" / "timeseries.parquet")
    first = per_seed.filter(pc.equal(per_seed["seed"], 1)).drop_columns(["seed"])
    assert first.equals(plain)
    jaywalking = [per_seed.filter(pc.equal(per_seed["seed"], s))["acts_jaywalking"].to_numpy()
                  for s in range(1, K + 1)]
    assert all(not np.array_equal(jaywalking[0], other) for other in jaywalking[1:])


def test_bands_are_ordered_and_are_the_percentiles_across_seeds(runs):
    root, _ = runs
    bands = pq.read_table(root / "many" / "timeseries_bands.parquet")
    assert bands.column_names == ["series", "date", "p05", "median", "p95"]
    p05, median, p95 = (bands[c].to_numpy() for c in ("p05", "median", "p95"))
    assert np.all(p05 <= median) and np.all(median <= p95)
    per_seed = pq.read_table(root / "many" / "timeseries_seeds.parquet")
    values = per_seed["acts_jaywalking"].to_numpy().reshape(K, 365)
    jaywalking = bands.filter(pc.equal(bands["series"], "acts_jaywalking"))
    np.testing.assert_allclose(jaywalking["median"].to_numpy(), np.median(values, axis=0))
    assert bands.num_rows == 365 * (per_seed.num_columns - 2)


def test_summary_and_printed_table_show_the_band(runs):
    root, outputs = runs
    summary = json.loads((root / "many" / "summary.json").read_text())
    assert summary["seeds"] == list(range(1, K + 1))
    rows = [r for r in summary["published_comparison"] if r["model"] is not None]
    assert rows and all(r["model_p05"] <= r["model_median"] <= r["model_p95"] for r in rows)
    assert "median / published" in outputs["many"] and "90% band" in outputs["many"]
    assert f"over seeds 1 to {K}" in outputs["many"]
    assert "90% band" not in outputs["one"]


def test_progress_counts_seed_days_and_the_acts_so_far():
    sc = scenario.load("china-2018").with_changes(**{"population.size": 500,
                                                     "end": scenario.load("china-2018").start})
    seen: list[tuple[int, int, int]] = []
    first, per_seed = run_seeds(sc, 3, chunk_size=256, threads=1,
                                progress=lambda *args: seen.append(args))
    assert [(done, total) for done, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    acts = [n for n in first.counter_names if n.startswith("acts_")]
    assert seen[0][2] == first.counter(*acts).sum() > 0
    assert seen[2][2] > seen[1][2] > seen[0][2]
    assert first.seed == sc.seed and per_seed.series.num_rows == 3
    seeds = per_seed.figures.column("seed").unique().to_pylist()
    assert seeds == [sc.seed, sc.seed + 1, sc.seed + 2]


def test_seed_files_are_written_with_the_rest_or_not_at_all(tmp_path, monkeypatch):
    sc = scenario.load("china-2018").with_changes(**{"population.size": 500,
                                                     "end": scenario.load("china-2018").start})
    data, per_seed = run_seeds(sc, 2, chunk_size=256, threads=1)
    target = tmp_path / "run"
    results.write_run(data, target)  # an earlier single-seed run in the folder
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    write_table = results.pq.write_table

    def fail_on_bands(table, path):
        if "timeseries_bands" in str(path):
            raise OSError("disk full")
        write_table(table, path)

    monkeypatch.setattr(results.pq, "write_table", fail_on_bands)
    with pytest.raises(OSError):
        results.write_run(data, target, per_seed, overwrite=True)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    monkeypatch.setattr(results.pq, "write_table", write_table)
    results.write_run(data, target, per_seed, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES + SEED_FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_default_folder_names_the_seeds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "--population", "500", "--end", "2014-01-02",
                                 "--seed", "7", "--seeds", "3", "--quiet", "--no-report"])
    assert result.exit_code == 0, result.output
    assert "seeds 7 to 9" in result.output
    assert (tmp_path / "runs" / "china-2018-seeds7-9" / "timeseries_bands.parquet").is_file()
