"""Consecutive kernel steps of a phase run as one call: the same kernels, in the same order."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from numba import njit

from panopticon.language.scenario import load
from panopticon.runner.simulation import Simulation
from panopticon.world import engine
from panopticon.world.fused import Fused, fuse, fused_kernel, generated_folder, source
from panopticon.world.state import Bound


@njit(cache=True, nogil=True)
def add_one(lo, hi, out):
    for i in range(lo, hi):
        out[i] += 1


@njit(cache=True, nogil=True)
def double(lo, hi, out):
    for i in range(lo, hi):
        out[i] *= 2
    return out[lo:hi].sum()


class KernelStep:
    """A kernel step as the engine sees one (:class:`Bound`'s kernel, arguments and keep)."""

    def __init__(self, kernel, out: np.ndarray, kept: list) -> None:
        self.kernel, self.out, self.kept = kernel, out, kept

    def __call__(self, lo, hi, acc, today):
        args = self.arguments(lo, hi, acc, today)
        self.keep(lo, args, self.kernel(*args))

    def arguments(self, lo, hi, acc, today):
        return lo, hi, self.out

    def keep(self, lo, args, result):
        self.kept.append((self.kernel.py_func.__name__, lo, result))


def plain(lo, hi, acc, today):
    """A step that is not one kernel call."""


def test_consecutive_kernel_steps_are_fused_and_others_kept_in_place():
    out, kept = np.zeros(4, np.int64), []
    a, b, c = (KernelStep(k, out, kept) for k in (add_one, double, add_one))
    steps = fuse([a, b, plain, c])
    assert isinstance(steps[0], Fused) and steps[0].steps == [a, b]
    assert steps[1:] == [plain, c]  # one kernel step alone is left as it is
    assert fuse([plain]) == [plain] and fuse([]) == []


def test_fused_steps_take_runs_of_chunks_where_each_does():
    out, kept = np.zeros(4, np.int64), []
    a, b = KernelStep(add_one, out, kept), KernelStep(double, out, kept)
    assert not fuse([a, b])[0].spans
    a.spans = b.spans = True
    assert fuse([a, b])[0].spans


def test_a_kernel_not_importable_by_its_name_is_not_fused():
    out, kept = np.zeros(4, np.int64), []
    local = njit(lambda lo, hi, out: None)
    steps = [KernelStep(add_one, out, kept), KernelStep(local, out, kept)]
    assert fuse(steps) == steps


def test_a_fused_call_runs_the_kernels_in_order_and_keeps_each_result():
    fused_out, fused_kept = np.zeros(6, np.int64), []
    one_out, one_kept = np.zeros(6, np.int64), []
    [together] = fuse([KernelStep(k, fused_out, fused_kept) for k in (add_one, double)])
    apart = [KernelStep(k, one_out, one_kept) for k in (add_one, double)]
    for lo, hi in ((0, 4), (4, 6), (0, 6)):
        together(lo, hi, None, None)
        for step in apart:
            step(lo, hi, None, None)
    np.testing.assert_array_equal(fused_out, one_out)
    assert fused_out.tolist() == [6, 6, 6, 6, 6, 6]  # (1 * 2 + 1) * 2 on every citizen
    assert fused_kept == one_kept
    assert fused_kept[:2] == [("add_one", 0, None), ("double", 0, 8)]


def test_the_generated_kernel_is_made_once_and_named_by_what_it_calls():
    kernels = (add_one, double)
    assert fused_kernel(kernels) is fused_kernel(kernels)
    path = generated_folder() / f"{fused_kernel(kernels).py_func.__module__}.py"
    assert path.read_text() == source(kernels)
    assert "import add_one as k0" in path.read_text()
    assert fused_kernel((double, add_one)) is not fused_kernel(kernels)


def china(n: int = 3000):
    sc = load("china-2018")
    return sc.with_changes(**{"population.size": n, "start": dt.date(2018, 1, 1),
                              "end": dt.date(2018, 2, 28)})


def test_a_days_kernel_steps_run_as_one_call_a_chunk():
    sim = Simulation(china())
    first, *rest = fuse(sim.phases[0])
    assert isinstance(first, Fused)
    assert [s.step.__self__.NAME for s in first.steps] == [
        s.NAME for s in sim.active if s.STEPS]  # every stage with a step (company has none)
    assert [s.step.__name__ for s in rest] == ["capture"]  # the cohort's: not a kernel
    assert all(isinstance(s, Bound) and s.kernel is not None for s in sim.phases[1])
    assert [s.spans for s in sim.phases[1]] == [True]  # relatives: a call per worker
    assert not any(s.spans for s in sim.phases[0])


@pytest.mark.parametrize("threads", [1, 2])
def test_a_run_is_the_same_with_its_steps_fused_or_called_one_by_one(monkeypatch, threads):
    fused = Simulation(china(), chunk_size=701, threads=threads).run()
    monkeypatch.setattr(engine, "fuse", list)
    apart = Simulation(china(), chunk_size=701, threads=threads).run()
    np.testing.assert_array_equal(fused.counts, apart.counts)
    for group_by, counts in fused.tallies.counts.items():
        np.testing.assert_array_equal(counts, apart.tallies.counts[group_by])
    assert fused.cohort.equals(apart.cohort)
