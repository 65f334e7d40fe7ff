"""Where Numba keeps the compiled kernels: a folder named by a hash of the package's sources.

Numba's own cache is invalidated only by a change to the file of the function it compiled, yet
the stage kernels inline helpers of other modules (``world.rng``, ``world.layout``): after such a
helper changes, a stale kernel would run with the old helper and give other numbers. Keying the
folder by every source file of the package makes any change compile afresh. ``NUMBA_CACHE_DIR``,
when set, is left as the user gave it. Imported first by the package, before any kernel exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

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


use_source_keyed_cache()
