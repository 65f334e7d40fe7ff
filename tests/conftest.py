"""Fixtures shared by the test modules."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from panopticon.runner import pace
from panopticon.world import engine
from panopticon.world.engine import Engine


class EngineSpy(list):
    """Every Engine built while a test runs, so a test can check that it ran on the chunks and
    threads it names: the engine uses no more threads than chunks, so a case with too few
    citizens for its chunk size would silently repeat the one-thread reference."""

    def assert_ran_on(self, n: int, chunk_size: int, threads: int) -> None:
        assert self, "no engine was built"
        for built in self:
            assert built.n == n
            assert len(built.chunks) >= max(math.ceil(n / chunk_size), threads)
            assert built.threads == threads


@pytest.fixture(autouse=True)
def pace_apart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' runs teach the user's pace file nothing (``runner.pace``), even those that
    undo their own ``monkeypatch``: this fixture patches with one of its own, made before
    ``monkeypatch`` (defined before the fixtures that use it), so that it is undone after a
    test's own patches of the file."""
    path = tmp_path_factory.getbasetemp() / "pace" / "pace.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pace, "pace_file", lambda: path)
        yield


@pytest.fixture(autouse=True)
def every_thread_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run on the threads they name: their populations are too small to be worth a
    second thread (``engine.THREAD_CITIZENS``), and the engine would run them on one, repeating
    the one-thread case. A test of that rule calls ``monkeypatch.undo()``."""
    monkeypatch.setattr(engine, "THREAD_CITIZENS", 1)


@pytest.fixture()
def engines(monkeypatch: pytest.MonkeyPatch) -> EngineSpy:
    spy = EngineSpy()
    init = Engine.__init__

    def recording_init(self: Engine, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)
        spy.append(self)

    monkeypatch.setattr(Engine, "__init__", recording_init)
    return spy


@pytest.fixture()
def benchmark_module(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """Loads ``benchmarks/NAME.py`` (scripts, not in the package) as a module, registered for
    the test so that its dataclasses find their module."""
    def load(name: str) -> ModuleType:
        path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        return module

    return load
