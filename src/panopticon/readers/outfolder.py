"""Output folders and who owns them: the marker that proves panopticon made a folder, the checks
of an output path made before anything is computed, and the leftovers of dead processes.

panopticon replaces a folder only when its marker says it is an earlier run and only when asked,
adds files only to a folder it made (a report or a fit: also to an older panopticon's run), and
deletes nothing it did not write. Every check is a plain function that raises ``OutError`` with
one line (the path, what is there, what to do), so that the command line, a dashboard or a Ray
task can call it before spending an hour on a simulation.

Scratch names carry the writer's process id (``.NAME.partial-PID``, ``.NAME.old-PID``,
``.NAME.tmp-PID``): a writer removes its own on failure, and the next writer of ``NAME`` removes
those whose process is dead. PIDs are of this machine: two machines writing one shared folder
must not both write the same ``NAME``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..language.scenario import PRESETS
from ..runner.cost import size

MARKER = ".panopticon-run"
FORMAT = 1  # the marker's format version
OLDER = "older run"  # a run folder of a panopticon before the marker: summary and timeseries
# kind of output -> the folders it may add its files to, besides a new or empty one (by what
# they hold); a run adds to none: it replaces an earlier run, and only when asked
ADDS_TO: dict[str, frozenset[str]] = {
    "run": frozenset(),
    "calibration": frozenset({"calibration"}),
    "fit": frozenset({"run", OLDER, "calibration", "fit"}),
    "report": frozenset({"run", OLDER}),
    "sensitivity": frozenset({"sensitivity"}),
}
KINDS = ("run", "calibration", "fit", "sensitivity")  # what a marker may say

FILES = (MARKER, "scenario.toml", "timeseries.parquet", "regions.parquet", "ranking.parquet",
         "audit.parquet", "cohort.parquet", "summary.json")  # what every run folder holds
SEED_FILES = ("timeseries_seeds.parquet", "timeseries_bands.parquet", "audit_seeds.parquet")
REPORT = "report.html"
FIT_FILES = ("fit.csv", "fit.png")  # `panopticon fit` writes them into the run by default
FIGURES_DIR, FIGURES = "figures", ("timeline", "provinces", "grades", "funnel")
RUN_FILES = frozenset({*FILES, *SEED_FILES, REPORT, *FIT_FILES})
# What every run folder holds, with or without the marker: what tells an OLDER run, and what
# readers (runfolder) ask of a folder before reading it.
RUN_MARKERS = ("summary.json", "timeseries.parquet")

SCRATCH = re.compile(r"\.(?P<name>.+)\.(?P<tag>partial|old|tmp)-(?P<pid>\d+)")

class OutError(Exception):
    """An output path that must not or cannot be written; the message is one line."""


def scratch(path: Path, tag: str) -> Path:
    """The hidden sibling of ``path`` this process writes through: tag partial (a folder being
    written), old (a replaced run being removed) or tmp (a file being written)."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` may be running; when unsure, it is (its files are kept)."""
    if pid <= 0 or os.name == "nt":  # os.kill(pid, 0) would end a process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # not ours to signal: alive
        return True
    return True


def remove_stale(path: Path) -> list[Path]:
    """Remove the scratch siblings of ``path`` left by dead processes; return them.

    Only names of the scratch pattern for ``path`` itself, with a dead PID; a folder only where
    it holds nothing but what panopticon writes into a run folder."""
    try:
        entries = list(Path(path).parent.iterdir())
    except OSError:
        return []
    removed = []
    for entry in entries:
        m = SCRATCH.fullmatch(entry.name)
        if not m or m["name"] != Path(path).name or pid_alive(int(m["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            try:
                if foreign_entries(entry):
                    continue
            except OSError:  # gone meanwhile, or not ours to read
                continue
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def marker(kind: str) -> dict:
    """The marker of a new folder of ``kind``."""
    from .. import __version__

    return {"format": FORMAT, "kind": kind, "panopticon": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def write_marker(folder: Path, kind: str) -> None:
    (Path(folder) / MARKER).write_text(json.dumps(marker(kind)) + "\n", "utf-8")


def read_marker(folder: Path) -> dict | None:
    """The folder's marker, or None where it has none; OutError where the file is not one."""
    path = Path(folder) / MARKER
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        data = None
    if not (isinstance(data, dict) and data.get("kind") in KINDS
            and isinstance(data.get("format"), int)):
        raise OutError(f"{path} is not a panopticon marker; remove or rename {folder} by hand,"
                       " or choose another folder")
    return data


def foreign_entries(folder: Path) -> list[str]:
    """What a run folder holds that panopticon does not write there (a user's notes), as paths
    relative to it; panopticon's scratch files of its own names count as its own."""
    figures = {f"{name}.png" for name in FIGURES}
    foreign = []
    for entry in sorted(Path(folder).iterdir()):
        if entry.name == FIGURES_DIR and entry.is_dir() and not entry.is_symlink():
            foreign += [f"{FIGURES_DIR}/{p.name}" for p in sorted(entry.iterdir())
                        if not _own_file(p, figures)]
        elif not _own_file(entry, RUN_FILES):
            foreign.append(entry.name)
    return foreign


def _own_file(entry: Path, names: set[str] | frozenset[str]) -> bool:
    m = SCRATCH.fullmatch(entry.name)
    name = m["name"] if m and m["tag"] == "tmp" else entry.name
    return name in names and entry.is_file() and not entry.is_symlink()


def check_folder(path: Path, kind: str = "run", overwrite: bool = False,
                 need_bytes: int = 0) -> None:
    """Raise OutError unless panopticon may write a folder of ``kind`` at ``path``.

    A run goes to a new or empty folder, or replaces an earlier run with ``overwrite`` when that
    holds nothing panopticon does not write. A calibration, a fit or a report adds its files to
    a new or empty folder or to one panopticon made (``ADDS_TO``). Never a file, a link, the
    current folder or one that holds it. Then ``check_writable``: a run is written beside the
    folder and moved into place, the others inside it.
    """
    path = Path(path)
    _check_not_cwd(path)
    if path.is_symlink():
        raise OutError(f"{path} is a link; panopticon writes only into a real folder: choose"
                       " another one")
    if path.exists():
        if not path.is_dir():
            raise OutError(f"{path} is a file, not a folder; it is left as it is: choose another"
                           " folder")
        _check_owner(path, kind, overwrite)
    check_writable(path, need_bytes, inside=kind != "run")
    if kind == "run" and path.exists():  # the earlier run's files are removed
        check_writable(path, inside=True)


def _check_not_cwd(path: Path) -> None:
    try:
        cwd, target = Path.cwd().resolve(), path.resolve()
    except OSError:  # the current folder is gone: it cannot be the target
        return
    if target == cwd or target in cwd.parents:
        raise OutError(f"{path} is the current folder or holds it; panopticon will not write"
                       " over it: choose a folder inside it, e.g. runs/NAME")


def _check_owner(folder: Path, kind: str, overwrite: bool) -> None:
    entries = sorted(p.name for p in folder.iterdir())
    if not entries:
        return
    found = read_marker(folder)
    if found is None and not set(RUN_MARKERS) <= set(entries):
        resume = (" (to resume an older panopticon's study in it, pass its study file with"
                  " --storage)" if kind == "calibration" else "")
        raise OutError(f"{folder} is a folder panopticon did not make (no {MARKER}; it holds"
                       f" {entries[0]!r}{_more(entries)}); it is left as it is: choose a new or"
                       f" empty folder{resume}")
    held = OLDER if found is None else found["kind"]
    if held in ADDS_TO[kind]:
        return
    if held == OLDER:
        raise OutError(f"{folder} holds a run of an older panopticon (no {MARKER} marker);"
                       " it is left as it is: remove or rename it by hand, or choose"
                       " another folder")
    made = f"made {found.get('created', 'at an unknown time')}"
    if kind != "run" or held != "run":
        raise OutError(f"{folder} holds a panopticon {held} ({made}), not a place for a {kind};"
                       " choose another folder")
    if not overwrite:
        raise OutError(f"{folder} already holds a run ({made}); add --overwrite to replace it,"
                       " or choose another folder with --out")
    foreign = foreign_entries(folder)
    if foreign:
        raise OutError(f"{folder} holds {foreign[0]!r}{_more(foreign)}, which panopticon did"
                       " not write; --overwrite would delete it: move it out first, or choose"
                       " another folder")


def _more(names: list[str]) -> str:
    return f" and {len(names) - 1} more" if len(names) > 1 else ""


def check_file(path: Path, overwrite: bool = False, kind: str = "comparison") -> None:
    """Raise OutError unless a Parquet table of ``kind`` may be written at ``path``: a new file,
    or with ``overwrite`` one whose metadata says panopticon wrote it (``table_marker``)."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        what = "a link" if path.is_symlink() else "a folder"
        raise OutError(f"{path} is {what}; panopticon writes only a new file there: choose"
                       " another path")
    if path.exists():
        if not overwrite:
            raise OutError(f"{path} already exists; add --overwrite to replace it, or choose"
                           " another path")
        if not _marked_table(path, kind):
            raise OutError(f"{path} was not written by panopticon; it is left as it is:"
                           " choose another path")
    check_writable(path)


def table_marker(kind: str) -> dict[bytes, bytes]:
    """Parquet metadata that marks a table as panopticon's, for ``check_file``."""
    return {MARKER.encode(): json.dumps(marker(kind)).encode()}


def _marked_table(path: Path, kind: str) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        found = (pq.read_schema(path).metadata or {}).get(MARKER.encode())
        return found is not None and json.loads(found).get("kind") == kind
    except (OSError, ValueError, AttributeError, pa.ArrowException):
        return False


def free_bytes(folder: Path) -> int:
    """Free space, in bytes, of the file system that holds ``folder``."""
    return shutil.disk_usage(folder).free


def check_writable(path: Path, need_bytes: int = 0, inside: bool = False) -> None:
    """Raise OutError unless ``path`` can be made or replaced (``inside``: written into): the
    nearest existing folder above it (or ``path`` itself) is one we may write in, with
    ``need_bytes`` free."""
    path = Path(path)
    base = path if inside else path.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise OutError(f"{path} cannot be made: {base} is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutError(f"{path} cannot be written: no permission to write in {base}")
    free = free_bytes(base)
    if free < need_bytes:
        raise OutError(f"{path} needs about {size(need_bytes)} and {base} has {size(free)}"
                       " free; free some space or choose another folder")


@contextmanager
def claimed(path: Path, kind: str, need_bytes: int = 0) -> Iterator[Path]:
    """A folder for the output of a ``kind`` written in the block: checked (``check_folder``),
    and made and marked if new or empty. If the block fails before anything but the marker is
    written there, the marker goes again, and the folder too where the claim made it."""
    path = Path(path)
    check_folder(path, kind, need_bytes=need_bytes)
    made = not path.exists()
    fresh = made or not any(path.iterdir())
    path.mkdir(parents=True, exist_ok=True)
    if fresh:
        write_marker(path, kind)
    try:
        yield path
    except BaseException:
        if fresh and [p.name for p in path.iterdir()] == [MARKER]:
            (path / MARKER).unlink()
            if made:
                path.rmdir()
        raise


def source_name(source: str) -> str:
    """A preset's name, or a scenario file's stem: what default output folders are named by,
    so that two scenario files extending one preset get folders of their own."""
    return source if source in PRESETS else Path(source).stem


def default_folder(source: str, seed: int, seeds: int = 1) -> Path:
    """``runs/NAME-seedSEED`` (``-seedsFIRST-LAST``), NAME from ``source_name``: the same
    command twice finds its own earlier run."""
    name = source_name(source)
    return Path("runs") / (f"{name}-seed{seed}" if seeds == 1
                           else f"{name}-seeds{seed}-{seed + seeds - 1}")
