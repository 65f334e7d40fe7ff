"""SQL over a run folder: every Parquet file in it is a DuckDB view named after the file.

Views come from the folder's contents, not from a fixed list, so that tables added later (the
multi-seed tables, a cohort table) can be queried without a change here. A damaged file is left
out with a warning, so the healthy ones stay queryable; a query that needs it fails naming it.
By default DuckDB sees the tables only through Arrow and may touch no file: a query can read the
run and nothing else, and write nothing (``allow_writes`` lifts that). Mistakes (no folder, a
folder that is not a run, bad SQL) raise ``QueryError`` with a one-line message for the CLI.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
from rich.table import Table
from rich.text import Text

from .runfolder import RunFolder, RunFolderError, parquet_problem

# DuckDB refuses every file, extension and setting: the views are Arrow datasets it is handed.
SANDBOX = {"enable_external_access": False, "autoinstall_known_extensions": False,
           "autoload_known_extensions": False, "temp_directory": "", "lock_configuration": True}
# how DuckDB names a table it cannot find, and an Arrow stream that failed while it read it
MISSING_TABLE = re.compile(r"Table with name (\S+) does not exist")
FAILED_STREAM = re.compile(r"reading the stream registered as '([^']+)' failed: (.*)", re.S)


class QueryError(Exception):
    """A mistake the user can fix, described in one line."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool  # the query gave more rows than the limit
    warnings: list[str] = field(default_factory=list)  # damaged files left out, one line each


@dataclass
class Views:
    """A DuckDB connection with a view per healthy table, and the problem of each damaged one."""

    con: duckdb.DuckDBPyConnection
    folder: RunFolder
    damaged: dict[str, str]  # view name -> one line naming the file and what is wrong

    def warnings(self) -> list[str]:
        """A line per damaged file: each table left out, and a summary or scenario that cannot
        be read (the views do not need them, but the user should know)."""
        notes = [f"{problem}; view {name} left out" for name, problem in self.damaged.items()]
        for part in ("summary", "scenario"):
            try:
                getattr(self.folder, part)
            except RunFolderError as e:
                notes.append(str(e))
        return notes


def connect(folder: Path | str, allow_writes: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per healthy Parquet file of the run folder;
    sandboxed (no file, extension or setting) unless ``allow_writes``."""
    return open_views(folder, allow_writes).con


def open_views(folder: Path | str, allow_writes: bool = False) -> Views:
    try:
        run = RunFolder(folder)
    except RunFolderError as e:
        raise QueryError(str(e)) from None
    con = duckdb.connect(config={} if allow_writes else SANDBOX)
    damaged = {}
    for name in run.tables():
        try:
            con.register(name, run.dataset(name))
        except RunFolderError as e:
            damaged[name] = str(e)
    return Views(con, run, damaged)


def run_query(folder: Path | str, sql: str, limit: int | None = None,
              allow_writes: bool = False) -> QueryResult:
    """Rows of ``sql`` over the run folder, at most ``limit`` of them (None: all)."""
    if not sql.strip():
        raise QueryError("SQL: the query is empty; e.g. \"select * from timeseries limit 5\"")
    views = open_views(folder, allow_writes)
    con = views.con
    try:
        cursor = con.execute(sql)
        if cursor.description is None:  # a statement without a result, e.g. SET
            return QueryResult([], [], False, views.warnings())
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
    except duckdb.Error as e:
        raise QueryError(_sql_message(e, views)) from None
    finally:
        con.close()
    truncated = limit is not None and len(rows) > limit
    return QueryResult(columns, rows[:limit] if truncated else rows, truncated, views.warnings())


def _sql_message(error: duckdb.Error, views: Views) -> str:
    """DuckDB's message on one line (its caret diagram dropped); a damaged file named where the
    query needed it; the views named if no table matched (DuckDB's guess is often a system
    table); and how to lift the sandbox where it refused."""
    text = str(error)
    failed = FAILED_STREAM.search(text)
    if failed and failed[1] in views.folder.tables():
        return f"{views.folder.parquet(failed[1])}: {parquet_problem(failed[2])}"
    missing = MISSING_TABLE.search(text)
    if missing and missing[1] in views.damaged:
        return views.damaged[missing[1]]
    lines = []
    for line in text.splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    message = "SQL: " + " ".join(lines)
    if isinstance(error, duckdb.CatalogException):
        names = [row[0] for row in views.con.execute(
            "select view_name from duckdb_views() where not internal order by 1").fetchall()]
        message += f" (views: {', '.join(names)})"
    if isinstance(error, duckdb.PermissionException) or "configuration has been locked" in text:
        message += ("; a query reads the run folder's tables only and writes nothing: "
                    "--allow-writes lifts that")
    return message


def to_table(result: QueryResult) -> Table:
    """A Rich table: numbers right-aligned and readable, a caption with the row count. Names
    and values are Text, shown as they are: never read as markup or emoji."""
    shown = f"{len(result.rows):,} row{'s' * (len(result.rows) != 1)}"
    table = Table(caption=Text(f"first {shown}" if result.truncated else shown))
    for i, name in enumerate(result.columns):
        numeric = _is_number(next((row[i] for row in result.rows if row[i] is not None), None))
        table.add_column(Text(name), justify="right" if numeric else "left")
    for row in result.rows:
        table.add_row(*(Text(_cell(v)) for v in row))
    return table


def to_csv(result: QueryResult) -> str:
    """CSV with a header, values at full precision, NULL as an empty field."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows(result.rows)
    return buf.getvalue()


def to_json(result: QueryResult) -> str:
    """A JSON array of objects; dates as ISO strings, NaN and infinities as null (valid JSON)."""
    records = [{c: _json_value(v) for c, v in zip(result.columns, row, strict=True)}
               for row in result.rows]
    return json.dumps(records, indent=2, allow_nan=False) + "\n"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(value: object) -> str:
    """Floats (counts in real people) rounded and with thousands separators; integers (years,
    scores) as they are."""
    if value is None:
        return "NULL"
    if isinstance(value, float | Decimal):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        return f"{v:,.0f}" if abs(v) >= 1e5 else f"{v:,.6g}"
    return str(value)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
