"""Damaged or foreign run folders: every reader ends in one line naming the file, exit 2, no
traceback, and leaves the folder as it was; healthy tables stay queryable."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon.cli import app

runner = CliRunner()


@pytest.fixture(scope="session")
def healthy(tmp_path_factory) -> Path:
    """One small two-seed run folder, made once; tests damage copies of it."""
    out = tmp_path_factory.mktemp("damaged") / "healthy"
    result = runner.invoke(app, ["run", "--population", "2000", "--end", "2014-01-10",
                                 "--seeds", "2", "--quiet", "--no-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


# --- the damage done to a file ---------------------------------------------------------------

def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def text(path: Path) -> None:
    path.write_text("date,citizens\n2014-01-01,3\n")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "part-0.parquet").write_bytes(b"")


def unreadable(path: Path) -> None:
    """Marked only: root reads any file, so the test refuses to open it (``deny``)."""


def missing(path: Path) -> None:
    path.unlink()


def flipped_page(path: Path) -> None:
    """Bytes of the first data page flipped: the footer reads, the data does not."""
    column = pq.read_metadata(path).row_group(0).column(0)
    start = column.dictionary_page_offset if column.has_dictionary_page else \
        column.data_page_offset
    data = bytearray(path.read_bytes())
    for i in range(start, start + 24):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def foreign(path: Path) -> None:
    pq.write_table(pa.table({"x": [1, 2]}), path)


def wrong_type(path: Path) -> None:
    """The first column, one readers key on, replaced by one of another type."""
    table = pq.read_table(path)
    column = pa.array([0] * table.num_rows, pa.int8())
    pq.write_table(table.set_column(0, table.field(0).name, column), path)


def no_rows(path: Path) -> None:
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 0), path)


def not_utf8(path: Path) -> None:
    path.write_bytes(b"\xff\xfe" + path.read_bytes())


def not_json_object(path: Path) -> None:
    path.write_text("[1, 2]")


def missing_keys(path: Path) -> None:
    path.write_text('{"scenario": "china-2018"}')


def wrong_value_type(path: Path) -> None:
    path.write_text(path.read_text().replace('"scale": ', '"scale": "many", "was": ', 1))


def not_toml(path: Path) -> None:
    path.write_text('name = "x"\n[scoring\n')


def invalid_scenario(path: Path) -> None:
    path.write_text(path.read_text().replace("seed = ", 'seed = "one"\nwas = ', 1))


PARQUET = (truncated, text, empty, folder, unreadable, flipped_page, foreign, wrong_type, missing)
SERIES = ("timeseries", "timeseries_seeds", "regions")  # tables with a row per day
DAMAGES = {
    "summary.json": (truncated, not_json_object, missing_keys, wrong_value_type, empty, not_utf8,
                     folder, unreadable, missing),
    "scenario.toml": (not_toml, invalid_scenario, empty, not_utf8, folder, unreadable, missing),
    **{f"{t}.parquet": PARQUET + (no_rows,) for t in SERIES},
    "audit.parquet": PARQUET, "cohort.parquet": PARQUET,
    "ranking.parquet": PARQUET, "timeseries_bands.parquet": PARQUET,
    "audit_seeds.parquet": PARQUET,
}
# what each reader reads; of that, what it can do without
READS = {
    "report": ("summary.json", "scenario.toml", "timeseries.parquet", "regions.parquet",
               "timeseries_seeds.parquet", "audit.parquet", "audit_seeds.parquet"),
    "story": ("summary.json", "scenario.toml", "cohort.parquet"),
    "compare": ("summary.json", "scenario.toml", "timeseries.parquet",
                "timeseries_seeds.parquet"),
    "fit": ("summary.json", "scenario.toml", "timeseries_seeds.parquet"),
    "query": tuple(f"{t}.parquet" for t in (*SERIES, "audit", "cohort", "ranking",
                                            "timeseries_bands", "audit_seeds")),
}
OPTIONAL = {"report": {"regions.parquet", "timeseries_seeds.parquet", "audit.parquet",
                       "audit_seeds.parquet"},
            "compare": {"timeseries_seeds.parquet"}}
# a query reads any table it is given: only a file that cannot be read at all is damaged to it
QUERY_DAMAGES = {truncated, text, empty, folder, unreadable, flipped_page}
# what makes a folder a run folder, for every reader
MARKERS = ("summary.json", "timeseries.parquet")


def damages(command: str, name: str) -> list:
    if command == "query":
        return [d for d in DAMAGES[name] if d in QUERY_DAMAGES]
    return [d for d in DAMAGES[name] if d is not missing or name not in OPTIONAL.get(command, ())]


CASES = [pytest.param(command, name, damage, id=f"{command}-{name}-{damage.__name__}")
         for command, names in READS.items()
         for name in dict.fromkeys((*names, *MARKERS))
         for damage in (damages(command, name) if name in names else [missing])]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every entry under ``root``: a file's bytes, None for a folder (read with the builtin
    open, which the unreadable case leaves alone)."""
    entries: dict[str, bytes | None] = {}
    for where, dirs, files in os.walk(root):
        for d in dirs:
            entries[os.path.relpath(os.path.join(where, d), root)] = None
        for f in files:
            with open(os.path.join(where, f), "rb") as handle:
                entries[os.path.relpath(os.path.join(where, f), root)] = handle.read()
    return entries


def deny(monkeypatch, target: Path) -> None:
    """Make ``target`` unreadable to this process, as a file of another user would be."""
    real = Path.open

    def refusing(self, *args, **kwargs):
        if self == target:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing)


def command_line(command: str, run: Path, healthy: Path, name: str) -> list[str]:
    table = name.removesuffix(".parquet")
    return {"report": ["report", str(run)], "story": ["story", str(run)],
            "compare": ["compare", str(healthy), str(run)], "fit": ["fit", str(run)],
            "query": ["query", str(run), f"select * from {table}"]}[command]


def damaged_copy(healthy: Path, tmp_path: Path, name: str, damage, monkeypatch) -> Path:
    run = Path(shutil.copytree(healthy, tmp_path / "run"))
    damage(run / name)
    if damage is unreadable:
        deny(monkeypatch, run / name)
    return run


def assert_one_line(result, *named: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in named:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize(("command", "name", "damage"), CASES)
def test_a_damaged_file_ends_in_one_line_naming_it(healthy, tmp_path, monkeypatch, command,
                                                     name, damage):
    run = damaged_copy(healthy, tmp_path, name, damage, monkeypatch)
    before = snapshot(run)
    result = runner.invoke(app, command_line(command, run, healthy, name))
    assert_one_line(result, str(run), name)
    assert snapshot(run) == before


@pytest.mark.parametrize("damage", sorted(QUERY_DAMAGES, key=lambda d: d.__name__),
                         ids=lambda d: d.__name__)
def test_healthy_views_stay_queryable_beside_a_damaged_one(healthy, tmp_path, monkeypatch,
                                                           damage):
    run = damaged_copy(healthy, tmp_path, "cohort.parquet", damage, monkeypatch)
    result = runner.invoke(app, ["query", str(run), "select count(*) as days from timeseries",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "days\n10\n"
    if damage is flipped_page:  # its footer reads: found only by a query that reads its data
        assert result.stderr == ""
        return
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1 and str(run / "cohort.parquet") in warning[0]
    assert "view cohort left out" in warning[0]


@pytest.mark.parametrize("name", ["summary.json", "scenario.toml"])
def test_a_query_needs_no_summary_or_scenario_but_names_a_damaged_one(healthy, tmp_path,
                                                                      monkeypatch, name):
    run = damaged_copy(healthy, tmp_path, name, truncated, monkeypatch)
    result = runner.invoke(app, ["query", str(run), "select count(*) from ranking"])
    assert result.exit_code == 0, result.output
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1 and str(run / name) in warning[0]


def test_a_stray_folder_named_like_a_table_is_left_out_and_named(healthy, tmp_path):
    run = Path(shutil.copytree(healthy, tmp_path / "run"))
    (run / "x.parquet").mkdir()
    before = snapshot(run)
    used = runner.invoke(app, ["query", str(run), "select * from x"])
    assert_one_line(used, str(run / "x.parquet"), "a folder, not a file")
    other = runner.invoke(app, ["query", str(run), "select count(*) from timeseries"])
    assert other.exit_code == 0 and "x.parquet" in other.stderr
    for command in (["story", str(run)], ["compare", str(healthy), str(run)]):
        assert runner.invoke(app, command).exit_code == 0  # they read no x table
    assert snapshot(run) == before


def test_every_reader_reads_the_healthy_folder(healthy, tmp_path):
    """The damage cases above fail for the damage alone: the same commands succeed on the
    undamaged copy (fit with a target inside the run's ten days)."""
    run = Path(shutil.copytree(healthy, tmp_path / "run"))
    targets = tmp_path / "targets.csv"
    targets.write_text("date,metric,value,kind,source,note\n"
                       "2014-01-10,judgment_defaulters_listed,1000,cumulative_people,test,\n")
    for command in (["story", str(run)], ["compare", str(healthy), str(run)],
                    ["fit", str(run), "--targets", str(targets), "--out", str(tmp_path / "fit")],
                    *(["query", str(run), f"select * from {name.removesuffix('.parquet')}",
                       "--limit", "0"] for name in READS["query"]),
                    ["report", str(run)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
        assert result.stderr == "", (command, result.stderr)
