"""Consecutive kernel steps of a phase run as one call, so that a chunk takes the interpreter's
lock once.

Each call of a Numba kernel from Python takes the interpreter's lock to type and unbox its
arguments, lets it go while the kernel runs and takes it again to return. With many workers the
lock passes from thread to thread at every call, and each pass waits for a thread to wake: on 16
threads at 1,410,000 citizens the workers spent as long waiting for it as computing
(docs/performance.md, "Threads"). A step made with :func:`state.kernel_step` says which kernel it
calls with what; :func:`fuse` groups the consecutive ones of a phase into a :class:`Fused` step,
whose one call of a generated kernel calls each of theirs in turn, in the same order, on the
same arguments: the same results, one pass of the lock a chunk instead of one a step.

Where every step of the group also says how its arguments are cut into a chunk's
(:mod:`panopticon.world.pieces`), the group takes a run of chunks in one call a worker a day:
Python makes the arguments once for the run, and the generated kernel cuts them into pieces of
at most a chunk, every step on a piece before the next, as the engine's chunks go; the
engine's workers share one run of all the citizens, each claiming pieces until none is left.
A chunk's Python (some 100 us: the arguments, Numba's typing of them, the results kept) is
then paid once a worker, not once a chunk.

The generated kernel's source is written once to a file beside Numba's cache (named by the
package's sources and the text), so that Numba caches it like any other kernel.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numba import config
from numba.core.registry import CPUDispatcher

from ..kernel_cache import cache_root, sources_digest
from . import pieces
from .today import Today


def fuse(steps: Sequence) -> list:
    """``steps`` with each run of consecutive kernel steps (those whose ``kernel`` is a Numba
    kernel defined at the top of its module) made one :class:`Fused` step: runs of two or more,
    and any run whose steps all have pieces (a call a worker)."""
    out: list = []
    run: list = []
    for step in [*steps, None]:
        if step is not None and fusable(getattr(step, "kernel", None)):
            run.append(step)
            continue
        out += [Fused(run)] if len(run) > 1 or cut(run) else run
        run = []
        if step is not None:
            out.append(step)
    return out


def take_spans(steps: Sequence) -> bool:
    """Whether every one of ``steps`` takes runs of whole chunks (``state.kernel_step``'s
    ``spans``, or a :class:`Fused` step of pieces)."""
    return all(getattr(step, "spans", False) for step in steps)


def cut(steps: Sequence) -> bool:
    """Whether ``steps`` (at least one) all say how their arguments are cut into pieces."""
    return bool(steps) and all(getattr(step, "pieces", None) is not None for step in steps)


def fusable(kernel: object) -> bool:
    """Whether a generated module can import ``kernel`` by its name."""
    if not isinstance(kernel, CPUDispatcher):
        return False
    module = sys.modules.get(kernel.py_func.__module__)
    return getattr(module, kernel.py_func.__name__, None) is kernel


class Fused:
    """Kernel steps run by one call: their arguments, then the kernels in turn without the
    lock, then what each keeps of its kernel's result. On a chunk; or, where every step has
    pieces, on a run of chunks, a piece at a time (``spans``)."""

    def __init__(self, steps: Sequence) -> None:
        self.steps = list(steps)
        self.keeps = [s.keep for s in self.steps]  # None where a step keeps nothing
        self.cut = cut(self.steps)
        self.spans = self.cut or take_spans(self.steps)
        if self.cut:
            self.kernel = load(piece_source(self.steps))
            self.starts = self.steps[0].view.starts
        else:
            self.kernel = fused_kernel(tuple(s.kernel for s in self.steps))

    def __call__(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        if self.cut:
            self.claim(np.array([0, 1], np.int64), lo, hi, acc, today)
            return
        args = [s.arguments(lo, hi, acc, today) for s in self.steps]
        for keep, result in zip(self.keeps, self.kernel(*args)):
            if keep is not None:
                keep(lo, result)

    def claim(self, claims: np.ndarray, lo: int, hi: int, acc: np.ndarray, today: Today
              ) -> None:
        """The pieces of citizens lo..hi-1 that this worker claims (``pieces.claim``) from
        ``claims``, which the phase's other workers share, until none is left."""
        args = [s.arguments(lo, hi, acc, today) for s in self.steps]
        firsts, kept = self.kernel(today.acts.shape[0], lo, hi - lo, self.starts, claims, *args)
        for keep, results in zip((k for k in self.keeps if k is not None), kept):
            for first, result in zip(firsts, results, strict=True):
                keep(lo + first, result)


def fused_kernel(kernels: tuple[CPUDispatcher, ...]):
    """One kernel that calls ``kernels`` in turn, each on its own tuple of arguments, and
    returns their results as a tuple."""
    return load(source(kernels))


def source(kernels: Sequence[CPUDispatcher]) -> str:
    """The generated module's text for a chunk."""
    params = ", ".join(f"a{i}" for i in range(len(kernels)))
    calls = ", ".join(f"k{i}(*a{i})" for i in range(len(kernels)))
    return module_text(kernels, {}, [
        f"def fused({params}):", f"    return ({calls},)"])


def piece_source(steps: Sequence) -> str:
    """The generated module's text for a run of chunks: for each piece the worker claims
    (``pieces.claim``), its arguments cut from the run's (``pieces.source``), the kernels
    called in turn on them; the results of the steps that keep them in a list each, with the
    pieces' first citizens."""
    imports: dict[object, str] = {}
    params = ", ".join(f"a{i}" for i in range(len(steps)))
    lines = [f"def fused(capacity, first, size, starts, claims, {params}):",
             "    firsts = []",
             *(f"    r{i} = []" for i, s in enumerate(steps) if s.keep is not None),
             "    while True:",
             "        lo, hi = claim_piece(claims, size, capacity)",
             "        if lo == size:",
             "            break",
             "        firsts.append(lo)",
             "        n = hi - lo",
             "        piece_runs = region_runs(starts, first + lo, first + hi)"]
    for i, step in enumerate(steps):
        args = ", ".join(pieces.source(kind, f"a{i}[{k}]", imports)
                         for k, kind in enumerate(step.pieces))
        call = f"k{i}({args})"
        lines.append(f"        r{i}.append({call})" if step.keep is not None else f"        {call}")
    kept = "".join(f"r{i}, " for i, s in enumerate(steps) if s.keep is not None)
    lines.append(f"    return firsts, ({kept})")
    return module_text([s.kernel for s in steps], imports, lines, [
        "from panopticon.world.pieces import claim as claim_piece",
        "from panopticon.world.pieces import runs as region_runs"])


def module_text(kernels: Sequence[CPUDispatcher], imports: dict[object, str],
                body: list[str], extra: Sequence[str] = ()) -> str:
    """A generated module: its imports (the kernels as k0, k1...; what the pieces use under
    its name in ``imports``), then the kernel ``fused`` whose lines are ``body``."""
    lines = [f"from {k.py_func.__module__} import {k.py_func.__name__} as k{i}"
             for i, k in enumerate(kernels)]
    lines += [f"from {thing.__module__} import {thing.__qualname__} as {name}"
              for thing, name in imports.items()]
    return "\n".join([
        '"""Generated by panopticon.world.fused: kernels called in turn, in one call."""',
        "from numba import njit", *extra, *lines, "", "",
        "@njit(cache=True, nogil=True)", *body, ""])


@functools.cache
def load(text: str):
    """The kernel ``fused`` of a generated module of source ``text``."""
    name = "panopticon_fused_" + hashlib.blake2b(
        (sources_digest() + text).encode(), digest_size=8).hexdigest()
    path = generated_folder() / f"{name}.py"
    if not path.exists():  # written once: Numba's cache goes by the file's time of change
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Numba's cache finds a function's module by its name
    spec.loader.exec_module(module)
    return module.fused


def generated_folder() -> Path:
    """Where the generated modules go: beside the compiled kernels (Numba's cache folder, or
    the user's cache directory), or a temporary folder where neither can be written."""
    for base in (config.CACHE_DIR, cache_root()):
        if base:
            folder = Path(base) / "fused"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return folder
            except OSError:
                continue
    return Path(tempfile.mkdtemp(prefix="panopticon-fused-"))
