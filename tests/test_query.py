"""``panopticon query``: SQL over a run folder's Parquet files, in three formats, and its errors."""

from __future__ import annotations

import csv
import io
import json
import shutil

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.readers.query import QueryError, connect, run_query
from panopticon.readers.runfolder import RunFolder

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
    assert list(RunFolder(run_folder).tables()) == ["audit", "cohort", "ranking", "regions",
                                                    "timeseries"]
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


def test_values_names_and_caption_are_text_not_markup_or_emoji(run_folder):
    result = query(str(run_folder), "select '[/bold]' as \"[red]name\", ':smile:' as e, "
                                    "'[link=x]a[/link]' as l")
    assert result.exit_code == 0, result.output
    for shown in ("[/bold]", "[red]name", ":smile:", "[link=x]a[/link]"):
        assert shown in result.stdout
    assert "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}" not in result.stdout


@pytest.mark.parametrize("sql", ["", "   ", "\n\t "])
def test_an_empty_query_is_one_line(run_folder, sql):
    result = query(str(run_folder), sql)
    assert result.exit_code == 2 and "the query is empty" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and result.stdout == ""


# Ways out of the run folder: each must be refused by default, in one line.
ESCAPES = {
    "copy to a file": "copy (select 1) to '{tmp}/out.csv'",
    "copy over the run": "copy (select 1 as x) to '{run}/timeseries.parquet'",
    "read_csv": "select * from read_csv('/etc/passwd')",
    "read_text": "select * from read_text('/etc/hostname')",
    "a path as a table": "select * from '{run}/timeseries.parquet'",
    "read_parquet": "select count(*) from read_parquet('{run}/timeseries.parquet')",
    "glob": "select * from glob('/etc/*')",
    "attach": "attach '{tmp}/other.duckdb' as other",
    "install": "install httpfs",
    "load": "load httpfs",
    "export": "export database '{tmp}/export'",
    "set external access": "set enable_external_access = true",
    "unlock": "set lock_configuration = false",
    "temp directory": "set temp_directory = '{tmp}/spill'",
    "after a harmless statement": "select 1; copy (select 1) to '{tmp}/out.csv'",
}


@pytest.mark.parametrize("name", ESCAPES)
def test_a_query_reads_the_run_only_and_writes_nothing(run_folder, tmp_path, name):
    before = {p.name: p.read_bytes() for p in run_folder.iterdir()}
    result = query(str(run_folder), ESCAPES[name].format(tmp=tmp_path, run=run_folder))
    assert result.exit_code == 2, result.output
    assert "--allow-writes lifts that" in result.stderr and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
    assert {p.name: p.read_bytes() for p in run_folder.iterdir()} == before


def test_allow_writes_lets_copy_to_write(run_folder, tmp_path):
    out = tmp_path / "listed.csv"
    result = query(str(run_folder), f"copy (select date, listed_stock from timeseries) to '{out}'",
                   "--allow-writes")
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "date,listed_stock"


def test_a_connection_from_python_is_sandboxed_too(run_folder):
    con = connect(run_folder)
    assert con.execute("select count(*) from ranking").fetchall()[0][0] > 0
    with pytest.raises(duckdb.PermissionException):
        con.execute("select * from read_csv('/etc/passwd')")
