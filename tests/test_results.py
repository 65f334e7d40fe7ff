"""The run folder's tables as written: regions.parquet a block of days at a time."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from panopticon import Scenario, Simulation
from panopticon.readers import results


@pytest.fixture(scope="module")
def data():
    sc = Scenario.load("china-2018").with_changes(**{
        "population.size": 3_000, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 2, 9)})
    return Simulation(sc).run()


@pytest.mark.parametrize("days", [1, 3, 10_000])
def test_regions_written_by_blocks_of_days_are_the_whole_table(data, tmp_path, days):
    """Row groups of one day, of three days (40 days: the last one short) and of all days: the
    same table, schema and rows, as made at once."""
    path = tmp_path / "regions.parquet"
    n_days, regions, counters = data.counts.shape
    results.write_regions(data, path, days * regions * counters * 8 + 7)
    table, whole = pq.read_table(path), results.regions(data)
    assert table.schema.equals(whole.schema) and table.equals(whole)
    assert pq.ParquetFile(path).num_row_groups == -(-n_days // days)


def test_regions_of_some_days_are_those_rows_of_the_whole_table(data):
    whole, n = results.regions(data), data.counts.shape[1]
    assert results.regions(data, 3, 7).equals(whole.slice(3 * n, 4 * n))
    assert results.regions(data, 0, 0).num_rows == 0
