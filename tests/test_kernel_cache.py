"""Numba's cache folder is keyed by the package's sources, so that a kernel compiled against an
older helper of another module is never run; kernels use the host's widest vectors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from llvmlite import binding
from numba import config
from numba.core.registry import cpu_target

from panopticon import kernel_cache
from panopticon.kernel_cache import (
    KEEP,
    sources_digest,
    use_source_keyed_cache,
    use_widest_vectors,
)


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_digest_follows_every_source_file(tmp_path):
    write(tmp_path, "stages/kernel.py", "def k(): return helper()\n")
    write(tmp_path, "world/helper.py", "def helper(): return 1\n")
    before = sources_digest(tmp_path)
    assert sources_digest(tmp_path) == before
    write(tmp_path, "world/helper.py", "def helper(): return 2\n")
    assert sources_digest(tmp_path) != before


def test_the_running_package_uses_its_own_folder():
    if not os.environ.get("NUMBA_CACHE_DIR"):
        assert Path(config.CACHE_DIR).name == sources_digest()


def test_a_folder_per_version_and_the_oldest_dropped(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    root = tmp_path / "panopticon" / "numba"
    for age in range(KEEP + 2):
        old = root / f"old{age}"
        old.mkdir(parents=True)
        os.utime(old, (1_000_000 - age, 1_000_000 - age))
    folder = use_source_keyed_cache()
    assert folder == root / sources_digest() and config.CACHE_DIR == str(folder)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [folder.name, *(f"old{age}" for age in range(KEEP - 1))])


def test_a_cache_dir_the_user_set_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "mine"))
    assert use_source_keyed_cache() is None
    assert config.CACHE_DIR == str(tmp_path / "mine")


def test_an_unwritable_home_leaves_numbas_default(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(config, "CACHE_DIR", "")
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(kernel_cache, "cache_root", lambda: tmp_path / "file" / "numba")
    assert use_source_keyed_cache() is None
    assert config.CACHE_DIR == ""


def host(monkeypatch, **features: bool) -> None:
    """A host with ``features`` and no CPU chosen by the user."""
    monkeypatch.delenv("NUMBA_CPU_NAME", raising=False)
    monkeypatch.delenv("NUMBA_CPU_FEATURES", raising=False)
    monkeypatch.setattr(config, "CPU_FEATURES", None)
    monkeypatch.setattr(binding, "get_host_cpu_features",
                        lambda: binding.FeatureMap({"avx2": True, **features}))


def test_512_bit_vectors_are_preferred_where_the_host_has_them(monkeypatch):
    host(monkeypatch, avx512f=True)
    assert use_widest_vectors()
    assert config.CPU_FEATURES.split(",") == ["+avx2", "+avx512f", "-prefer-256-bit"]


def test_a_host_without_them_keeps_numbas_choice(monkeypatch):
    host(monkeypatch, avx512f=False)
    assert not use_widest_vectors() and config.CPU_FEATURES is None


def test_features_the_user_chose_are_left_alone(monkeypatch):
    host(monkeypatch, avx512f=True)
    monkeypatch.setenv("NUMBA_CPU_FEATURES", "+avx2")
    assert not use_widest_vectors() and config.CPU_FEATURES is None


def test_the_running_package_compiles_with_them():
    chosen = os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES")
    wide = not chosen and binding.get_host_cpu_features().get("avx512f", False)
    assert ("-prefer-256-bit" in cpu_target.target_context.codegen()._tm_features) == wide


KERNEL = """
from numba import njit


@njit(cache=True)
def k(x):
    return x + 1
"""

CHILD = """
import sys
import panopticon  # locks the cache between processes
from numba import int64
sys.path.insert(0, sys.argv[1])
from kernelmod import k
print("calling", flush=True)
assert k(1) == 2
print(k.stats.cache_hits.get((int64,), 0), k.stats.cache_misses.get((int64,), 0), flush=True)
"""


def test_a_kernel_another_process_is_compiling_is_waited_for_then_loaded(tmp_path,
                                                                        monkeypatch):
    """This process compiles a kernel under its lock; another that needs it meanwhile waits,
    then loads it from the cache instead of compiling it beside it."""
    from numba import int64
    from numba.core.dispatcher import Dispatcher
    cache = tmp_path / "cache"
    (tmp_path / "kernelmod.py").write_text(KERNEL)
    monkeypatch.setattr(config, "CACHE_DIR", str(cache))
    monkeypatch.syspath_prepend(str(tmp_path))
    from kernelmod import k
    path = kernel_cache.compile_lock(k, (int64,))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], text=True,
                             stdout=subprocess.PIPE,
                             env={**os.environ, "NUMBA_CACHE_DIR": str(cache)})
    try:
        with kernel_cache.locked(path):
            assert child.stdout.readline() == "calling\n"
            with pytest.raises(subprocess.TimeoutExpired):
                child.wait(timeout=1.0)  # it waits for the kernel's lock
            Dispatcher.compile.__wrapped__(k, (int64,))  # compiled and saved, unlocked
        out, _ = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 0 and out.split() == ["1", "0"]  # loaded, not compiled


def test_a_lock_held_keeps_other_holders_out_until_let_go(tmp_path):
    path = str(tmp_path / "x.lock")
    probe = ("import sys, fcntl, os; fd = os.open(sys.argv[1], os.O_RDWR);"
             "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)")
    with kernel_cache.locked(path, exclusive=False):
        held = subprocess.run([sys.executable, "-c", probe, path])
    free = subprocess.run([sys.executable, "-c", probe, path])
    assert held.returncode != 0 and free.returncode == 0


def test_a_lock_that_cannot_be_made_holds_nothing(tmp_path):
    with kernel_cache.locked(str(tmp_path / "missing" / "x.lock")):
        pass


def test_only_this_checkouts_kernels_are_counted(tmp_path, monkeypatch):
    """Two checkouts of one version share the cache folder; each counts its own kernels."""
    cache = tmp_path / "cache"
    monkeypatch.setattr(config, "CACHE_DIR", str(cache))
    write(tmp_path, "clone/stages/kernel.py", "")
    assert kernel_cache.cached_files() == 0
    for folder in kernel_cache.own_folders(tmp_path / "clone"):
        (cache / folder).mkdir(parents=True)
        (cache / folder / "k-1.py311.1.nbc").write_text("")
    assert kernel_cache.cached_files() == 0
    own = cache / sorted(kernel_cache.own_folders())[0]
    own.mkdir()
    (own / "k-1.py311.nbi").write_text("")
    (own / "k-1.py311.1.nbc").write_text("")
    assert kernel_cache.cached_files() == 1
