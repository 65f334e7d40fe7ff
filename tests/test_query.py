"""``panopticon query``: SQL over a run folder's Parquet files, in three formats, and its errors."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.query import QueryError, run_query, views

runner = CliRunner()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "small"
    result = runner.invoke(app, ["run", "--population", "2000", "--end", "2014-12-31",
                                 "--quiet", "--no-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def query(*args: str):
    return runner.invoke(app, ["query", *args])


def test_each_parquet_file_is_a_view(run_folder):
    assert list(views(run_folder)) == ["audit", "cohort", "ranking", "regions", "timeseries"]
    result = run_query(run_folder, "select (select count(*) from timeseries), "
                                   "(select count(*) from regions), "
                                   "(select count(distinct region) from regions), "
                                   "(select sum(people) > 0 from ranking)")
    assert result.rows == [(365, 365 * 31, 31, True)]


def test_a_file_added_later_is_a_view_too(run_folder, tmp_path):
    folder = shutil.copytree(run_folder, tmp_path / "with-cohort")
    pq.write_table(pa.table({"cohort": [1990, 2000], "people": [3.0, 4.0]}),
                   folder / "cohort.parquet")
    result = run_query(folder, "select sum(people) from cohort")
    assert result.rows == [(7.0,)]


def test_table_format_prints_columns_and_rows(run_folder):
    result = query(str(run_folder), "select year(date) as year, max(citizens) as citizens "
                                    "from timeseries group by 1")
    assert result.exit_code == 0, result.output
    assert "year" in result.output and "citizens" in result.output
    assert "2014" in result.output and "1 row" in result.output


def test_csv_format_round_trips(run_folder):
    result = query(str(run_folder), "select date, citizens from timeseries order by date",
                   "--format", "csv", "--limit", "0")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 365 and rows[0]["date"] == "2014-01-01"
    assert float(rows[0]["citizens"]) > 1e9


def test_json_format_is_records(run_folder):
    result = query(str(run_folder), "select score, people from ranking order by score",
                   "--format", "json", "--limit", "2")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [set(r) for r in records] == [{"score", "people"}] * 2
    assert records[0]["score"] < records[1]["score"]
    assert "only the first 2 rows" in result.stderr


def test_limit_keeps_the_first_rows_in_order(run_folder):
    result = run_query(run_folder, "select date from timeseries order by date desc", limit=3)
    assert result.truncated and len(result.rows) == 3
    assert str(result.rows[0][0]) == "2014-12-31"
    assert not run_query(run_folder, "select 1", limit=1).truncated


@pytest.mark.parametrize(("sql", "expected"), [
    ("selec 1", 'SQL: Parser Error: syntax error at or near "selec"'),
    ("select * from nope", "views: audit, cohort, ranking, regions, timeseries"),
    ("select nosuch from ranking", 'Referenced column "nosuch" not found'),
])
def test_sql_errors_are_one_line_with_duckdbs_message(run_folder, sql, expected):
    result = query(str(run_folder), sql)
    assert result.exit_code == 2
    assert expected in result.output
    assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output


def test_missing_folder_and_folder_that_is_not_a_run(tmp_path):
    missing = query(str(tmp_path / "nope"), "select 1")
    assert missing.exit_code == 2 and "no such run folder" in missing.output
    (tmp_path / "notes.txt").write_text("not a run")
    not_run = query(str(tmp_path), "select 1")
    assert not_run.exit_code == 2 and "is not a run folder" in not_run.output
    assert "Traceback" not in missing.output + not_run.output
    with pytest.raises(QueryError, match="not a run folder"):
        run_query(tmp_path, "select 1")
