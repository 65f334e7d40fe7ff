"""Checkpoints: a command's runs pickled whole between two days, so that a killed run continues.

Every draw is a function of (seed, stream, citizen, day) and the state between two days is all in
the simulation's arrays and attributes, so a run pickled at a day's end and loaded in another
process continues to the same bytes as one never stopped, whatever chunk size and threads it
continues with (tests/test_checkpoint.py). The whole object graph is pickled, not a list of
arrays, so that a stage added later needs nothing to be kept: only NumPy views need care, since
NumPy pickles a view as a copy; here a view is pickled as its base and where it lies in it, so
that the state's read-only views and the stages' arrays are one memory again after loading.

A checkpoint is one file beside the run folder, ``.NAME.checkpoint``, written under a scratch name
and renamed into place (a reader never sees half of one); it goes once the run folder is written.
It holds a header (format, a hash of the package's sources, what the command runs, how far it
got), then the runs. Loading refuses, in one line, a checkpoint of other code or another command.
A checkpoint is pickle: load only those this machine's panopticon wrote.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..kernel_cache import sources_digest
from ..readers.results import write_atomic
from .seeds import Runs

FORMAT = 1
SUFFIX = ".checkpoint"


class CheckpointError(Exception):
    """A checkpoint that is missing or cannot continue this command; the message is one line."""


def path_of(folder: Path) -> Path:
    """Where the checkpoint of the run folder ``folder`` is kept: a hidden sibling."""
    folder = Path(folder)
    return folder.with_name(f".{folder.name}{SUFFIX}")


def command_key(runs: Runs) -> dict:
    """What a checkpoint must share with the command that continues it: the scenario (every
    value), the seeds and the counterfactual. Chunk size and threads may differ."""
    scenario = hashlib.blake2b(runs.scenario.to_toml().encode(), digest_size=16).hexdigest()
    return {"scenario": scenario, "seed": runs.scenario.seed, "seeds": runs.k,
            "counterfactual": runs.counterfactual}


def header(runs: Runs) -> dict:
    return {"format": FORMAT, "sources": sources_digest(), "python": sys.version_info[:2],
            "command": command_key(runs), "done": runs.done(), "total": runs.total}


def save(runs: Runs, path: Path) -> None:
    """Write ``runs`` to ``path`` (between two days), replacing any checkpoint there at once."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            pickle.dump(header(runs), f, protocol=pickle.HIGHEST_PROTOCOL)
            _ViewPickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(runs)
            f.flush()
            os.fsync(f.fileno())

    write_atomic(path, write)


def read_header(path: Path) -> dict:
    """The header of the checkpoint at ``path``, without loading the runs."""
    try:
        with open(path, "rb") as f:
            head = pickle.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint to resume at {path}: run the command without "
                              "--resume") from None
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise CheckpointError(f"the checkpoint {path} cannot be read ({e}); remove it and run "
                              "again without --resume") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise CheckpointError(f"the checkpoint {path} is of another format; remove it and run "
                              "again without --resume")
    return head


def load(path: Path, runs: Runs) -> Runs:
    """The runs of the checkpoint at ``path``, which must be of this code and of the command
    that ``runs`` (not yet run) stands for; they continue with ``runs``' chunk size and
    threads."""
    head = read_header(path)
    if head["sources"] != sources_digest() or tuple(head["python"]) != sys.version_info[:2]:
        raise CheckpointError(f"the checkpoint {path} was written by another version of "
                              "panopticon or Python, which may give other numbers; run again "
                              "without --resume")
    mine = command_key(runs)
    differ = [k for k in mine if head["command"].get(k) != mine[k]]
    if differ:
        raise CheckpointError(f"the checkpoint {path} is of another command (its "
                              f"{', '.join(differ)} differ); give the same scenario and options "
                              "as the interrupted run, or run without --resume")
    with open(path, "rb") as f:
        pickle.load(f)
        kept: Runs = pickle.load(f)
    kept.chunk_size, kept.threads = runs.chunk_size, runs.threads
    return kept


class Stopped(Exception):
    """A run stopped on request at the end of a day, after its checkpoint was written; ``code``
    is the exit status the request asks for (128 + the signal's number)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Every:
    """An ``after_day`` hook: save ``runs`` to ``path`` when ``seconds`` have passed since the
    last save (or the start); 0 saves after every day. After :meth:`stop` (a signal's handler
    calls it) it saves at the end of the day under way and raises :class:`Stopped`. A checkpoint
    that cannot be written (a full disk) is said through ``warn``, once, and the run goes on
    without."""

    def __init__(self, runs: Runs, path: Path, seconds: float,
                 warn: Callable[[str], None]) -> None:
        self.runs, self.path, self.seconds, self.warn = runs, path, seconds, warn
        self.last = time.monotonic()
        self.stopping: int | None = None  # the exit status asked for, once stop is called

    def stop(self, code: int) -> None:
        self.stopping = code

    def __call__(self) -> None:
        if self.stopping is None and time.monotonic() - self.last < self.seconds:
            return
        try:
            save(self.runs, self.path)
        except OSError as e:
            self.warn(f"cannot write the checkpoint {self.path} ({e.strerror or e}); the run "
                      "goes on without checkpoints")
            self.seconds = math.inf
        self.last = time.monotonic()
        if self.stopping is not None:
            raise Stopped(self.stopping)


def _view(base: np.ndarray, offset: int, shape: tuple, strides: tuple, dtype: np.dtype,
          writeable: bool) -> np.ndarray:
    view = np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)
    view.flags.writeable = writeable
    return view


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class _ViewPickler(pickle.Pickler):
    """Pickles a view of an array that owns its memory as that array (pickled once) and the
    view's place in it."""

    def reducer_override(self, obj: object) -> object:
        if type(obj) is np.ndarray and isinstance(obj.base, np.ndarray):
            root = _root(obj)
            if root.base is None and root.flags.c_contiguous and root.nbytes:
                offset = obj.__array_interface__["data"][0] - root.__array_interface__["data"][0]
                return _view, (root, offset, obj.shape, obj.strides, obj.dtype,
                               obj.flags.writeable)
        return NotImplemented
