"""How Numba compiles and keeps the kernels: the host's widest vectors, and a cache folder named
by a hash of the package's sources.

Numba's own cache is invalidated only by a change to the file of the function it compiled, yet
the stage kernels inline helpers of other modules (``world.rng``, ``world.layout``): after such a
helper changes, a stale kernel would run with the old helper and give other numbers. Keying the
folder by every source file of the package makes any change compile afresh. ``NUMBA_CACHE_DIR``,
when set, is left as the user gave it. Imported first by the package, before any kernel exists.

On a processor with 512-bit vectors (AVX-512), LLVM's default tuning for most of them still
prefers 256-bit ones: the passes over citizens then handle four 64-bit lanes at a time instead
of eight. :func:`use_widest_vectors` lifts that preference (the same integer arithmetic, so the
same results; 11-12% less time a day at 1,410,000 citizens, docs/performance.md, "Vectors").
``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES``, when set, are left as the user gave them.

Processes share the cache folder: the seeds and studies run in several, and so do the tests. Numba
keeps each function's kernels in numbered files beside an index; two processes that save kernels
of one function at once may give two of them the same number, so that the index sends a later
process to a kernel compiled for other types (numba/numba#10128). :func:`share_between_processes`
makes each index's reads and writes take a lock of its own, and each kernel's compile (its
function and argument types) one of its own, so that a second process that needs a kernel
another is compiling waits for it and loads it, instead of compiling it again beside it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from llvmlite import binding
from numba import config
from numba.core import caching
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher

try:
    import fcntl
except ImportError:  # not POSIX: each process compiles what it lacks, as Numba does
    fcntl = None  # type: ignore[assignment]

PACKAGE = Path(__file__).resolve().parent
KEEP = 4  # cache folders kept (other versions of the sources, other checkouts)


def sources_digest(root: Path = PACKAGE) -> str:
    """A hash of every Python file of the package, by relative path and content."""
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_root() -> Path:
    """The parent of the cache folders: the user's cache directory (``XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "panopticon" / "numba"


def use_source_keyed_cache() -> Path | None:
    """Point Numba's cache at this version's folder and drop all but the newest KEEP others;
    None (Numba's default) where ``NUMBA_CACHE_DIR`` is set or the folder cannot be made."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    root = cache_root()
    folder = root / sources_digest()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        folder.touch()
    except OSError:
        return None
    others = sorted((p for p in root.iterdir() if p.is_dir() and p != folder),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    config.CACHE_DIR = str(folder)
    return folder


def own_folders(root: Path = PACKAGE) -> set[str]:
    """The folders within Numba's cache folder of this checkout's kernels: Numba names each by
    a module's folder and a hash of its path, so that two checkouts of one version (a clone
    beside a working tree) share the cache folder and not these."""
    return {caching._CacheLocator.get_suitable_cache_subpath(str(path))
            for path in root.rglob("*.py")}


def cached_files() -> int | None:
    """How many of this checkout's kernels Numba's cache folder holds (None where Numba keeps
    them beside the sources): more after a run than before it means the run compiled kernels,
    whose minutes are no measure of the machine's pace, and none means a first run
    (``runner.pace``)."""
    if not config.CACHE_DIR:
        return None
    return sum(f.endswith(".nbc") for folder in own_folders()
               for _, _, files in os.walk(os.path.join(config.CACHE_DIR, folder)) for f in files)


@contextmanager
def locked(path: str, exclusive: bool = True) -> Iterator[None]:
    """Hold a lock on the file ``path`` (made where missing) against other processes and other
    open files of this one: exclusive, or shared with other shared holders. Where the file
    cannot be made or locked, nothing is held."""
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except OSError:
            if fd is not None:
                os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # which lets the lock go


def compile_lock(dispatcher: Dispatcher, sig: object) -> str | None:
    """The lock file of one kernel of a cached function (its argument types), beside the
    function's index (its folder made); None for a function that Numba does not cache, or
    where the folder cannot be made."""
    index = getattr(getattr(dispatcher._cache, "_cache_file", None), "_index_path", None)
    if index is None:
        return None
    try:
        os.makedirs(os.path.dirname(index), exist_ok=True)
    except OSError:
        return None
    return f"{index}.{hashlib.blake2b(str(sig).encode(), digest_size=8).hexdigest()}.lock"


_held: set[str] = set()  # the compile locks this process holds (under Numba's compiler lock)


def _locking_compile(compile_: Callable) -> Callable:
    """``Dispatcher.compile`` under the kernel's lock: a kernel that another process is
    compiling is waited for, then loaded from the cache. Numba's own lock is taken first, so
    that this process's threads compile one at a time, as Numba has them do, and a kernel
    compiled within another's compile (a function it calls) takes its own lock."""
    def compile(self: Dispatcher, sig: object) -> object:
        with global_compiler_lock:
            path = compile_lock(self, sig)
            if path is None or path in _held:
                return compile_(self, sig)
            _held.add(path)
            try:
                with locked(path):
                    return compile_(self, sig)
            finally:
                _held.discard(path)
    compile.__wrapped__ = compile_  # type: ignore[attr-defined]
    return compile


def _locking_index(method: Callable, exclusive: bool) -> Callable:
    """An index's ``load`` or ``save`` under the index's lock: shared to read, exclusive to
    number and write a kernel's file."""
    def under_lock(self: caching.IndexDataCacheFile, *args: object) -> object:
        with locked(f"{self._index_path}.lock", exclusive):
            return method(self, *args)
    under_lock.__wrapped__ = method  # type: ignore[attr-defined]
    return under_lock


def share_between_processes() -> bool:
    """Lock Numba's cache index and each kernel's compile across processes (see the module's
    docstring); whether it did (once a process; not where the system has no file locks)."""
    if fcntl is None or hasattr(Dispatcher.compile, "__wrapped__"):
        return False
    Dispatcher.compile = _locking_compile(Dispatcher.compile)
    files = caching.IndexDataCacheFile
    files.load = _locking_index(files.load, exclusive=False)
    files.save = _locking_index(files.save, exclusive=True)
    return True


def use_widest_vectors() -> bool:
    """Compile for the host's features without LLVM's preference for 256-bit vectors where
    the host has 512-bit ones; whether it did (not where the user chose the CPU or features,
    or where the host's features cannot be read)."""
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return False
    try:
        features = binding.get_host_cpu_features()
    except RuntimeError:
        return False
    if not config.ENABLE_AVX or not features.get("avx512f"):
        return False
    config.CPU_FEATURES = features.flatten() + ",-prefer-256-bit"
    return True


use_widest_vectors()
use_source_keyed_cache()
share_between_processes()
