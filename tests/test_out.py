"""Output paths: panopticon replaces nothing but its own earlier output, refuses before it
simulates, and leaves nothing half-written behind (issue 9, items 1 and 6).

Every refusal: exit 2, one line on stderr, no traceback, the user's files byte-identical, no
scratch file left, and (for `run`) no simulation started.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from panopticon import cli
from panopticon.cli import app
from panopticon.language.scenario import load
from panopticon.readers import calibrate as calibrate_mod
from panopticon.readers import compare, outfolder, report, results
from panopticon.readers.outfolder import MARKER, OutError, check_folder
from panopticon.runner.cost import disk_bytes

runner = CliRunner()
TINY = ["--population", "500", "--end", "2014-01-03", "--quiet"]


def invoke(*args: str, cwd: Path | None = None):
    if cwd is None:
        return runner.invoke(app, [str(a) for a in args])
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)


def files(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder or a link's target)."""
    return {str(p.relative_to(root)): None if p.is_dir() or p.is_symlink() else p.read_bytes()
            for p in sorted(root.rglob("*"))}


def leftovers(root: Path) -> list[str]:
    """Scratch files and folders of panopticon under ``root``."""
    return [str(p) for p in root.rglob(".*") if outfolder.SCRATCH.fullmatch(p.name)]


def assert_refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> Path:
    """A real run folder, made once; tests copy it."""
    out = tmp_path_factory.mktemp("earlier") / "run"
    result = runner.invoke(app, ["run", *TINY, "--no-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def no_simulation(monkeypatch):
    """Fails a test whose command starts simulating."""
    def simulate(*args, **kwargs):
        raise AssertionError("simulated before refusing")

    monkeypatch.setattr(cli, "simulate", simulate)


@pytest.fixture
def project(tmp_path) -> Path:
    """A user's project folder: a scenario file and notes."""
    (tmp_path / "study.toml").write_text('extends = "china-2018"\n')
    (tmp_path / "notes.txt").write_text("my notes\n")
    return tmp_path


def copy_run(earlier: Path, to: Path) -> Path:
    shutil.copytree(earlier, to, symlinks=True)
    return to


# --- refused before simulating -----------------------------------------------------------------

def _file(p: Path) -> Path:
    return p / "notes.txt"


def _link(p: Path) -> Path:
    (p / "data").mkdir()
    (p / "link").symlink_to(p / "data")
    return p / "link"


def _foreign(p: Path) -> Path:
    (p / "data").mkdir()
    (p / "data" / "survey.csv").write_text("a,b\n1,2\n")
    return p / "data"


def _older_run(p: Path) -> Path:
    old = p / "old-run"
    old.mkdir()
    (old / "summary.json").write_text("{}")
    (old / "timeseries.parquet").write_bytes(b"PAR1")
    return old


def _under_a_file(p: Path) -> Path:
    return p / "notes.txt" / "run"


def _bad_marker(p: Path) -> Path:
    (p / "run").mkdir()
    (p / "run" / MARKER).write_text("not json")
    (p / "run" / "summary.json").write_text("{}")
    return p / "run"


def _calibration(p: Path) -> Path:
    (p / "cal").mkdir()
    outfolder.write_marker(p / "cal", "calibration")
    (p / "cal" / "study.db").write_bytes(b"sqlite")
    return p / "cal"


@pytest.mark.parametrize(("make", "words"), [
    (_file, ("is a file, not a folder",)),
    (_link, ("is a link",)),
    (_foreign, ("did not make", "survey.csv")),
    (_older_run, ("older panopticon", "remove or rename it by hand")),
    (_under_a_file, ("notes.txt is a file",)),
    (_bad_marker, ("not a panopticon marker",)),
    (_calibration, ("calibration", "not a place for a run")),
])
def test_run_refuses_what_it_did_not_make_before_simulating(project, no_simulation, make, words):
    out = make(project)
    before = files(project)
    assert_refused(invoke("run", *TINY, "--out", out, "--overwrite"), str(out), *words)
    assert files(project) == before and leftovers(project) == []


@pytest.mark.parametrize("where", [".", "ABSOLUTE", ".."])
def test_run_refuses_the_current_folder_and_those_above_it(project, no_simulation, where):
    work = project / "work"
    work.mkdir()
    (work / "scenario.toml").write_text('extends = "china-2018"\n')
    out = str(work) if where == "ABSOLUTE" else where
    before = files(project)
    result = invoke("run", *TINY, "--out", out, "--overwrite", cwd=work)
    assert_refused(result, "is the current folder or holds it")
    assert files(project) == before and leftovers(project) == []


def test_an_earlier_run_needs_overwrite(tmp_path, earlier, no_simulation):
    out = copy_run(earlier, tmp_path / "run")
    before = files(tmp_path)
    assert_refused(invoke("run", *TINY, "--out", out), "already holds a run", "--overwrite")
    assert files(tmp_path) == before


@pytest.mark.parametrize("notes", ["notes.txt", "figures/mine.png", "sub/data.csv"])
def test_overwrite_never_deletes_a_users_file_in_a_run(tmp_path, earlier, no_simulation, notes):
    out = copy_run(earlier, tmp_path / "run")
    (out / notes).parent.mkdir(exist_ok=True)
    (out / notes).write_text("mine")
    before = files(tmp_path)
    assert_refused(invoke("run", *TINY, "--out", out, "--overwrite"),
                   notes.split("/")[0], "which panopticon did not write")
    assert files(tmp_path) == before


def test_an_unwritable_parent_is_refused(tmp_path, monkeypatch, no_simulation):
    monkeypatch.setattr(outfolder.os, "access", lambda path, mode: False)
    assert_refused(invoke("run", *TINY, "--out", tmp_path / "a" / "run"),
                   "no permission to write in", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_not_enough_space_names_the_estimate_and_the_free_space(tmp_path, monkeypatch,
                                                                no_simulation):
    monkeypatch.setattr(outfolder, "free_bytes", lambda folder: 1_000)
    assert_refused(invoke("run", *TINY, "--out", tmp_path / "run"), "needs about",
                   "has 1000 B free")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_appears_while_simulating_is_not_replaced(tmp_path, monkeypatch):
    out = tmp_path / "run"
    simulate = cli.simulate

    def meanwhile(*args, **kwargs):
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        return simulate(*args, **kwargs)

    monkeypatch.setattr(cli, "simulate", meanwhile)
    assert_refused(invoke("run", *TINY, "--no-report", "--out", out), "did not make")
    assert files(tmp_path) == {"run": None, "run/notes.txt": b"mine"}


# --- what is allowed ---------------------------------------------------------------------------

def test_an_empty_folder_is_used_and_marked(tmp_path):
    (tmp_path / "run").mkdir()
    result = invoke("run", *TINY, "--no-report", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "run" / MARKER).read_text())
    assert set(found) == {"format", "kind", "panopticon", "created"}
    assert (found["format"], found["kind"]) == (1, "run")
    assert leftovers(tmp_path) == []


def test_overwrite_replaces_an_earlier_run_with_its_stale_scratch(tmp_path, earlier, dead_pid):
    out = copy_run(earlier, tmp_path / "run")
    (out / f".report.html.tmp-{dead_pid}").write_text("half")
    (out / "summary.json").write_text('{"earlier": true}')
    result = invoke("run", *TINY, "--no-report", "--out", out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert "earlier" not in (out / "summary.json").read_text()
    assert leftovers(tmp_path) == []


def test_default_folders_are_named_by_the_scenario_file(project, monkeypatch):
    (project / "other.toml").write_text('extends = "china-2018"\n')
    for name in ("study", "other"):
        result = invoke("run", f"{name}.toml", *TINY, "--no-report", cwd=project)
        assert result.exit_code == 0, result.output
        assert (project / "runs" / f"{name}-seed1" / MARKER).is_file()
    monkeypatch.setattr(cli, "simulate", lambda *a, **k: pytest.fail("simulated"))
    assert_refused(invoke("run", "study.toml", *TINY, cwd=project),
                   "runs/study-seed1 already holds a run", "--overwrite")


# --- nothing half-written ----------------------------------------------------------------------

def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(("fault", "code", "words"), [
    (full_disk, 2, "No space left on device"), (ctrl_c, 130, "was not written")])
def test_a_failed_write_keeps_the_earlier_run_and_leaves_nothing(tmp_path, earlier, monkeypatch,
                                                                 fault, code, words):
    out = copy_run(earlier, tmp_path / "run")
    before = files(tmp_path)
    write_table = results.pq.write_table
    calls = []

    def second_table_fails(table, path):
        calls.append(path)
        if len(calls) == 2:  # the first table is written: the staging folder holds files
            fault()
        write_table(table, path)

    monkeypatch.setattr(results.pq, "write_table", second_table_fails)
    result = invoke("run", *TINY, "--no-report", "--out", out, "--overwrite")
    assert result.exit_code == code and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1 and words in result.stderr
    assert files(tmp_path) == before and leftovers(tmp_path) == []


def test_a_failed_move_into_place_puts_the_earlier_run_back(tmp_path, earlier, monkeypatch):
    out = copy_run(earlier, tmp_path / "run")
    before = files(tmp_path)
    replace = os.replace

    def fails_into_place(src, dst):
        if Path(src).name.startswith(".run.partial-"):
            raise OSError(errno.EXDEV, "cross-device link")
        replace(src, dst)

    monkeypatch.setattr(results.os, "replace", fails_into_place)
    result = invoke("run", *TINY, "--no-report", "--out", out, "--overwrite")
    assert result.exit_code == 2 and "cross-device link" in result.stderr
    assert files(tmp_path) == before and leftovers(tmp_path) == []


def half_then(fault):
    """A write_atomic whose write puts half a file down, then fails with ``fault``."""
    def write_atomic(path, write):
        def half(p):
            p.write_text("<html>half")
            fault()

        results.write_atomic(path, half)

    return write_atomic


@pytest.mark.parametrize(("fault", "code", "words"), [
    (ctrl_c, 130, "the report in"), (full_disk, 2, "No space left on device")])
def test_a_failed_report_leaves_no_temporary_file(tmp_path, earlier, monkeypatch, fault, code,
                                                  words):
    out = copy_run(earlier, tmp_path / "run")
    before = files(tmp_path)
    monkeypatch.setattr(report, "write_atomic", half_then(fault))
    result = invoke("report", out)
    assert result.exit_code == code and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1 and words in result.stderr
    assert files(tmp_path) == before and leftovers(tmp_path) == []


def test_ctrl_c_during_the_report_of_a_run_keeps_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "write_atomic", half_then(ctrl_c))
    result = invoke("run", *TINY, "--out", tmp_path / "run")
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and "panopticon report" in result.stderr
    assert (tmp_path / "run" / "summary.json").is_file()
    assert not (tmp_path / "run" / "report.html").exists() and leftovers(tmp_path) == []


def test_report_writes_only_into_a_run_folder(tmp_path):
    foreign = _foreign(tmp_path)
    before = files(tmp_path)
    assert_refused(invoke("report", foreign), "did not make", "survey.csv")
    assert files(tmp_path) == before


def test_report_and_fit_add_to_an_older_run_without_marking_it(tmp_path, seeded):
    older = copy_run(seeded, tmp_path / "older")
    (older / MARKER).unlink()
    assert invoke("report", older).exit_code == 0
    assert_refused(invoke("fit", older), "no target")  # the check passed: the fit was tried
    assert (older / "report.html").is_file() and not (older / MARKER).exists()


# --- compare --out -----------------------------------------------------------------------------

def test_compare_out_replaces_only_its_own_table(tmp_path, earlier):
    table = tmp_path / "aligned.parquet"
    args = ["compare", earlier, earlier, "--out", table]
    assert invoke(*args).exit_code == 0
    first = table.read_bytes()
    assert_refused(invoke(*args), "already exists", "--overwrite")
    assert table.read_bytes() == first
    assert invoke(*args, "--overwrite").exit_code == 0
    mine = tmp_path / "mine.parquet"
    pq.write_table(pq.read_table(table).replace_schema_metadata(None), mine)
    before = files(tmp_path)
    assert_refused(invoke("compare", earlier, earlier, "--out", mine, "--overwrite"),
                   "not written by panopticon")
    assert_refused(invoke("compare", earlier, earlier, "--out", tmp_path, "--overwrite"),
                   "is a folder")
    assert files(tmp_path) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize(("fault", "code"), [(ctrl_c, 130), (full_disk, 2)])
def test_a_failed_compare_out_leaves_nothing(tmp_path, earlier, monkeypatch, fault, code):
    def half(table, path):
        Path(path).write_bytes(b"PAR1half")
        fault()

    monkeypatch.setattr(compare.pq, "write_table", half)
    result = invoke("compare", earlier, earlier, "--out", tmp_path / "aligned.parquet")
    assert result.exit_code == code and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# --- stale scratch of dead processes -----------------------------------------------------------

@pytest.fixture
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_dead_writers_scratch_goes_and_a_live_ones_stays(tmp_path, earlier, dead_pid):
    live = os.getppid()
    dead_partial = copy_run(earlier, tmp_path / f".run.partial-{dead_pid}")
    (dead_partial / MARKER).unlink()  # as an older panopticon left it: its files only
    dead_old = copy_run(earlier, tmp_path / f".run.old-{dead_pid}")
    live_partial = copy_run(earlier, tmp_path / f".run.partial-{live}")
    users = tmp_path / f".run.partial-{dead_pid + 1}"
    users.mkdir()  # a name like ours, but not made by panopticon: kept
    (users / "notes.txt").write_text("mine")
    other = copy_run(earlier, tmp_path / f".other.partial-{dead_pid}")
    result = invoke("run", *TINY, "--no-report", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert not dead_partial.exists() and not dead_old.exists()
    assert live_partial.exists() and other.exists() and (users / "notes.txt").read_text() == "mine"


def test_a_dead_writers_temporary_file_goes_when_the_file_is_written_again(tmp_path, dead_pid):
    path = tmp_path / "a.txt"
    stale, live = tmp_path / f".a.txt.tmp-{dead_pid}", tmp_path / f".a.txt.tmp-{os.getppid()}"
    stale.write_text("half")
    live.write_text("being written")
    results.write_atomic(path, lambda p: p.write_text("whole"))
    assert path.read_text() == "whole" and not stale.exists() and live.exists()


def test_pid_alive(dead_pid):
    assert outfolder.pid_alive(os.getpid()) and outfolder.pid_alive(0)
    assert not outfolder.pid_alive(dead_pid)


# --- calibrate and fit -------------------------------------------------------------------------

@pytest.fixture
def no_calibration(monkeypatch):
    monkeypatch.setattr(calibrate_mod, "calibrate",
                        lambda *a, **k: pytest.fail("calibrated before refusing"))


@pytest.mark.parametrize("make", [_file, _foreign, _older_run])
def test_calibrate_refuses_a_folder_it_did_not_make(project, no_calibration, make):
    out = make(project)
    before = files(project)
    assert_refused(invoke("calibrate", "china-2018", "--out", out), str(out))
    assert files(project) == before


def test_calibrate_refuses_a_run_folder(tmp_path, earlier, no_calibration):
    out = copy_run(earlier, tmp_path / "run")
    before = files(tmp_path)
    assert_refused(invoke("calibrate", "china-2018", "--out", out), "not a place for a calibration")
    assert files(tmp_path) == before


@pytest.mark.parametrize("empty", [False, True])
def test_calibrate_marks_its_folder_and_resumes_in_it(tmp_path, monkeypatch, empty):
    monkeypatch.setattr(calibrate_mod, "calibrate", lambda *a, **k: (None, []))
    out = tmp_path / "cal"
    if empty:
        out.mkdir()
    for _ in range(2):
        result = invoke("calibrate", "china-2018", "--out", out, "--quiet")
        assert result.exit_code == 0, result.output
    assert json.loads((out / MARKER).read_text())["kind"] == "calibration"


def test_a_failed_calibration_leaves_no_empty_folder(tmp_path, monkeypatch):
    def fails(*args, **kwargs):
        raise calibrate_mod.CalibrationError("china-2018: no target")

    monkeypatch.setattr(calibrate_mod, "calibrate", fails)
    assert_refused(invoke("calibrate", "china-2018", "--out", tmp_path / "a" / "cal"),
                   "no target")
    assert list((tmp_path / "a").iterdir()) == []


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seeded") / "run"
    result = runner.invoke(app, ["run", *TINY, "--seeds", "2", "--no-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("make", [_file, _foreign, _link])
def test_fit_refuses_a_folder_it_did_not_make(project, seeded, make):
    out = make(project)
    before = files(project)
    assert_refused(invoke("fit", seeded, "--out", out), str(out))
    assert files(project) == before


def test_a_fit_that_cannot_be_made_leaves_no_folder(tmp_path, seeded):
    assert_refused(invoke("fit", seeded, "--out", tmp_path / "fit"), "no target")
    assert list(tmp_path.iterdir()) == []


# --- what a run folder holds -------------------------------------------------------------------

def test_what_panopticon_writes_into_a_run_is_its_own(tmp_path, earlier):
    out = copy_run(earlier, tmp_path / "run")
    result = invoke("report", out, "--png")
    assert result.exit_code == 0, result.output
    for name in (calibrate_mod.FIT_TABLE, calibrate_mod.FIT_FIGURE):
        (out / name).write_text("a fit")
    assert (out / "report.html").is_file() and len(list((out / "figures").iterdir())) == 4
    assert outfolder.foreign_entries(out) == []
    check_folder(out, "run", overwrite=True)
    with pytest.raises(OutError, match="already holds a run"):
        check_folder(out, "run")


def test_the_size_estimate_is_on_the_high_side_and_grows_with_regions(tmp_path):
    out = tmp_path / "run"
    result = invoke("run", "--population", "2000", "--end", "2014-12-31", "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    size = sum(p.stat().st_size for p in out.rglob("*"))
    sc = load(out / "scenario.toml")
    assert size <= disk_bytes(sc) <= 10 * size
    city = sc.with_changes(**{"population.regions": ["370000"]})
    assert disk_bytes(city) < disk_bytes(sc)
    assert disk_bytes(sc, seeds=3, counterfactual=True) > disk_bytes(sc)
