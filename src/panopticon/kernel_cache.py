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
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from llvmlite import binding
from numba import config

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


def cached_files() -> int | None:
    """How many files Numba's cache folder holds (None where Numba keeps them beside the
    sources): more after a run than before it means the run compiled kernels, whose minutes
    are no measure of the machine's pace (``runner.pace``)."""
    if not config.CACHE_DIR:
        return None
    return sum(len(files) for _, _, files in os.walk(config.CACHE_DIR))


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
