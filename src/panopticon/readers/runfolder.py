"""Reading a run folder: every file a reader opens, checked as it is read.

The report, the story, compare, fit and query read run folders only through here (and so can a
dashboard or a remote task), so that a damaged or foreign folder ends the same way everywhere: a
``RunFolderError`` whose one-line message names the file and what is wrong with it. Files are read
when first asked for, so that a damaged table stops only the readers that need it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, ValidationError

from ..language import scenario as scenario_mod
from .outfolder import RUN_MARKERS

SUMMARY, SCENARIO = "summary.json", "scenario.toml"
# The columns readers rely on in the series tables (built column by column, so no schema
# constant exists for them); the cohort and the audit have theirs (cohort.SCHEMA, audit.SCHEMA).
KEY_COLUMNS = {
    "timeseries": pa.schema([("date", pa.date32())]),
    "timeseries_seeds": pa.schema([("seed", pa.int64()), ("date", pa.date32())]),
    "regions": pa.schema([("date", pa.date32()), ("region", pa.string()),
                          ("citizens", pa.float64())]),
}
# what Arrow puts before its reason: the source it was reading (here a buffer) and the error kind
ARROW_WRAPPING = re.compile(r"^(IOError: )?(Could not open Parquet input source '[^']*': )?")


class RunFolderError(ValueError):
    """A run folder, or one of its files, that cannot be read; one line naming it."""


class Summary(BaseModel):
    """The facts of summary.json that readers rely on; other keys pass through unchecked."""

    model_config = ConfigDict(extra="allow", strict=True)
    scenario: str
    seed: int
    start: dt.date
    end: dt.date
    days: int
    citizens: int
    scale: float
    seeds: list[int] | None = None
    provenance: dict[str, str | bool | None] | None = None


class RunFolder:
    """A run folder; each file is read when first asked for and checked as it is read."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise RunFolderError(f"RUN: no such run folder: {self.path}")
        if not self.path.is_dir():
            raise RunFolderError(f"RUN: {self.path} is a file, not a run folder")
        missing = [name for name in RUN_MARKERS if not (self.path / name).exists()]
        if missing:
            raise RunFolderError(f"RUN: {self.path} is not a run folder (no "
                                 f"{', '.join(missing)}); `panopticon run` makes one")

    def check(self) -> RunFolder:
        """Read what says what the run is (summary.json and scenario.toml): a reader that
        needs either calls this first, so that a damaged one is named before any work."""
        _ = self.summary, self.scenario
        return self

    # --- Parquet tables ---------------------------------------------------------------------

    def tables(self) -> dict[str, Path]:
        """Every ``*.parquet`` entry by table name (hidden ones aside), damaged ones too."""
        return {p.stem: p for p in sorted(self.path.glob("*.parquet"))
                if not p.name.startswith(".")}

    def has(self, name: str) -> bool:
        return self.parquet(name).exists()

    def parquet(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    def table(self, name: str, required: pa.Schema | None = None,
              columns: Collection[str] | None = None) -> pa.Table:
        """The whole table, or its ``columns`` that it has (with the required ones), checked
        for the columns readers rely on (``required``, by default KEY_COLUMNS' entry) and, for
        the series tables, for rows."""
        path = self.parquet(name)
        required = required or KEY_COLUMNS.get(name)
        with _open(path) as f, _parquet_errors(path):
            file = pq.ParquetFile(f)
            if columns is not None:
                wanted = set(columns) | set(required.names if required else ())
                columns = [c for c in file.schema_arrow.names if c in wanted]
            table = file.read(columns)
        _check_columns(path, name, table, required)
        return table

    def optional(self, name: str, required: pa.Schema | None = None,
                 columns: Collection[str] | None = None) -> pa.Table | None:
        """Like ``table``, or None where the folder has no such table (older or smaller runs)."""
        return self.table(name, required, columns) if self.has(name) else None

    def dataset(self, name: str) -> ds.Dataset:
        """A lazy dataset of the table (for DuckDB), its footer read and checked first."""
        path = self.parquet(name)
        with _open(path) as f, _parquet_errors(path):
            pq.read_metadata(f)
        with _parquet_errors(path):
            return ds.dataset(path, format="parquet")

    # --- summary.json and scenario.toml -----------------------------------------------------

    @cached_property
    def summary(self) -> dict:
        """summary.json, checked to hold the facts readers rely on (``Summary``)."""
        path = self.path / SUMMARY
        text = _text(path)
        try:
            Summary.model_validate_json(text)
        except ValidationError as e:
            raise RunFolderError(f"{path}: {_pydantic_line(e)}") from None
        return json.loads(text)

    @cached_property
    def _scenario(self) -> tuple[dict, scenario_mod.Scenario, str]:
        path = self.path / SCENARIO
        raw = _bytes(path)
        text = _decode(path, raw)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise RunFolderError(f"{path}: not valid TOML: {e}") from None
        except RecursionError:
            raise RunFolderError(f"{path}: not valid TOML: nested too deep") from None
        try:
            sc = scenario_mod.validate(data, str(path))
        except scenario_mod.ScenarioError as e:
            lines = [line.strip() for line in str(e).splitlines()]
            raise RunFolderError(": ".join(filter(None, (lines[0], "; ".join(lines[1:]))))
                                 ) from None
        return data, sc, hashlib.sha256(raw).hexdigest()

    @property
    def scenario(self) -> scenario_mod.Scenario:
        """The run's scenario, validated as ``panopticon run`` would."""
        return self._scenario[1]

    @property
    def scenario_data(self) -> dict:
        """scenario.toml as written (validated), for readers that show its parameters."""
        return self._scenario[0]

    @property
    def scenario_sha256(self) -> str:
        """The sha256 of scenario.toml as it is now (provenance holds the one it was run with)."""
        return self._scenario[2]


def open_run(folder: Path | str) -> RunFolder:
    """A run folder whose summary and scenario have been read and checked."""
    return RunFolder(folder).check()


def _open(path: Path) -> BinaryIO:
    """The one place a file of a run folder is opened."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing; the run folder is incomplete") from None
    except IsADirectoryError:
        raise RunFolderError(f"{path}: a folder, not a file") from None
    except OSError as e:
        raise RunFolderError(f"{path}: cannot be read ({e.strerror or e})") from None


def _bytes(path: Path) -> bytes:
    with _open(path) as f:
        try:
            return f.read()
        except OSError as e:
            raise RunFolderError(f"{path}: cannot be read ({e.strerror or e})") from None


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RunFolderError(f"{path}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
                             f"{e.start})") from None


def _text(path: Path) -> str:
    return _decode(path, _bytes(path))


@contextmanager
def _parquet_errors(path: Path) -> Iterator[None]:
    """Arrow's errors on reading ``path`` as a RunFolderError naming it."""
    try:
        yield
    except (OSError, pa.ArrowException) as e:
        raise RunFolderError(f"{path}: {parquet_problem(e)}") from None


def parquet_problem(error: BaseException | str) -> str:
    """Arrow's complaint about a Parquet file, on one line and without its wrapping."""
    message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return f"damaged or not a Parquet file ({ARROW_WRAPPING.sub('', message).rstrip('.')})"


def _check_columns(path: Path, name: str, table: pa.Table, required: pa.Schema | None) -> None:
    if required is None:
        return
    for field in required:
        if field.name not in table.column_names:
            raise RunFolderError(f"{path}: no column {field.name!r}; not a run's {name} table")
        actual = table.schema.field(field.name).type
        if actual != field.type:
            raise RunFolderError(f"{path}: column {field.name!r} is {actual}, not "
                                 f"{field.type}; not a run's {name} table")
    if name in KEY_COLUMNS and table.num_rows == 0:
        raise RunFolderError(f"{path}: no rows; a run's {name} table has one per day")


def _pydantic_line(error: ValidationError) -> str:
    """A summary.json's problems on one line: the field and what is wrong with it."""
    parts = []
    for e in error.errors(include_url=False)[:3]:
        where = ".".join(map(str, e["loc"]))
        if e["type"] == "missing":
            parts.append(f"no {where!r}")
        else:
            parts.append(f"{where!r}: {e['msg']}" if where else e["msg"])
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more else "") + (
        "; not a run's summary")
