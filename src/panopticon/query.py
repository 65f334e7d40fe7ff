"""SQL over a run folder: every Parquet file in it is a DuckDB view named after the file.

Views come from the folder's contents, not from a fixed list, so that tables added later (the
multi-seed tables, a cohort table) can be queried without a change here. Mistakes (no folder, a
folder that is not a run, bad SQL) raise ``QueryError`` with a one-line message for the CLI.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
from rich.table import Table

# Every finished run folder has these; results.write_run moves a folder into place only whole.
RUN_MARKERS = ("summary.json", "timeseries.parquet")


class QueryError(Exception):
    """A mistake the user can fix, described in one line."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool  # the query gave more rows than the limit


def views(folder: Path | str) -> dict[str, Path]:
    """The run folder's Parquet files by view name; checks first that it is a run folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise QueryError(f"no such run folder: {folder}")
    missing = [name for name in RUN_MARKERS if not (folder / name).is_file()]
    if missing:
        raise QueryError(f"{folder} is not a run folder (no {', '.join(missing)}); "
                         "`panopticon run` makes one")
    return {p.stem: p for p in sorted(folder.glob("*.parquet"))}


def connect(folder: Path | str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per Parquet file of the run folder."""
    con = duckdb.connect()
    for name, path in views(folder).items():
        con.read_parquet(str(path)).create_view(name)
    return con


def run_query(folder: Path | str, sql: str, limit: int | None = None) -> QueryResult:
    """Rows of ``sql`` over the run folder, at most ``limit`` of them (None: all)."""
    con = connect(folder)
    try:
        cursor = con.execute(sql)
        if cursor.description is None:  # a statement without a result, e.g. SET
            return QueryResult([], [], False)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
    except duckdb.Error as e:
        raise QueryError(_sql_message(e, con)) from None
    finally:
        con.close()
    truncated = limit is not None and len(rows) > limit
    return QueryResult(columns, rows[:limit] if truncated else rows, truncated)


def _sql_message(error: duckdb.Error, con: duckdb.DuckDBPyConnection) -> str:
    """DuckDB's message on one line (its caret diagram dropped), naming the views if no table
    matched: DuckDB's own guess is often a system table."""
    lines = []
    for line in str(error).splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    message = "SQL: " + " ".join(lines)
    if isinstance(error, duckdb.CatalogException):
        names = [row[0] for row in con.execute(
            "select view_name from duckdb_views() where not internal order by 1").fetchall()]
        message += f" (views: {', '.join(names)})"
    return message


def to_table(result: QueryResult) -> Table:
    """A Rich table: numbers right-aligned and readable, a caption with the row count."""
    shown = f"{len(result.rows):,} row{'s' * (len(result.rows) != 1)}"
    table = Table(caption=f"first {shown}" if result.truncated else shown)
    for i, name in enumerate(result.columns):
        numeric = _is_number(next((row[i] for row in result.rows if row[i] is not None), None))
        table.add_column(name, justify="right" if numeric else "left")
    for row in result.rows:
        table.add_row(*(_cell(v) for v in row))
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
