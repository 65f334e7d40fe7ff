"""Consecutive kernel steps of a phase run as one call: the same kernels, in the same order."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest
from numba import njit

from panopticon.language.scenario import load
from panopticon.runner.simulation import Simulation
from panopticon.world import engine
from panopticon.world.fused import Fused, fuse, fused_kernel, generated_folder, source
from panopticon.world.pieces import BUFFER, CITIZENS, FIRST, RUNS, WORDS, Fields
from panopticon.world.state import Bound
from panopticon.world.today import Today, words_of


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

    pieces = None

    def __init__(self, kernel, out: np.ndarray, kept: list) -> None:
        self.kernel, self.out, self.kept = kernel, out, kept

    def __call__(self, lo, hi, acc, today):
        self.keep(lo, self.kernel(*self.arguments(lo, hi, acc, today)))

    def arguments(self, lo, hi, acc, today):
        return lo, hi, self.out

    def keep(self, lo, result):
        self.kept.append((self.kernel.py_func.__name__, lo, result))


class Row(NamedTuple):
    """A named tuple argument: a table every piece reads, a value per citizen, a buffer."""

    table: np.ndarray
    values: np.ndarray
    buffer: np.ndarray


@njit(cache=True, nogil=True)
def stamp(first, runs, row, words, offset):
    """Into each citizen's buffer entry and value, its number, its run's and ``offset``; the
    piece's first citizen and lengths, to keep."""
    for q in range(runs.shape[0] - 1):
        for j in range(runs[q], runs[q + 1]):
            row.buffer[j] = first + j + 1000 * q
            row.values[j] += row.buffer[j] + row.table[0] + 100_000 * offset
    return first, offset, row.buffer.shape[0], words.shape[0]


@njit(cache=True, nogil=True)
def offset_in(offset, lo, hi):
    """A piece's offset: the run's, plus its first citizen (a kind that is a function)."""
    return offset + lo


class PieceStep(KernelStep):
    """A kernel step whose arguments say how they are cut into pieces."""

    pieces = (FIRST, RUNS, Fields(Row, {"values": CITIZENS, "buffer": BUFFER}), WORDS, offset_in)

    def __init__(self, starts, values, kept):
        super().__init__(stamp, values, kept)
        self.view = SimpleNamespace(starts=starts)
        self.runs = engine.RegionRuns(starts)

    def arguments(self, lo, hi, acc, today):
        n = hi - lo
        return (lo, self.runs(lo, hi), Row(np.array([7]), self.out[lo:hi], today.acts[:n]),
                today.marked[words_of(n)], lo + 5)


@pytest.mark.parametrize(("n", "capacity"), [(1, 1), (10, 3), (130, 64), (200, 200), (301, 7)])
def test_a_run_of_chunks_cut_into_pieces_is_as_its_chunks_one_by_one(n, capacity):
    starts = np.array([0, 0, 5, 9, 9, 64, 150, n])  # regions, some without citizens
    starts = np.minimum(starts, n)
    together, apart = np.zeros(n, np.int64), np.zeros(n, np.int64)
    kept_together, kept_apart = [], []
    [fused] = fuse([PieceStep(starts, together, kept_together)])
    assert isinstance(fused, Fused) and fused.spans  # a step alone with pieces is fused too
    fused(0, n, None, Today.of(capacity))
    step, today = PieceStep(starts, apart, kept_apart), Today.of(capacity)
    for lo, hi in engine.chunk_bounds(n, capacity):
        step(lo, hi, None, today)
    np.testing.assert_array_equal(together, apart)
    assert kept_together == kept_apart  # each piece's result, at its first citizen
    assert len(kept_apart) == len(engine.chunk_bounds(n, capacity))


@pytest.mark.parametrize(("n", "capacity", "threads"), [(1_000, 100, 2), (5_000, 700, 3),
                                                      (301, 7, 2)])
def test_workers_share_the_pieces_of_a_phase_each_piece_once(n, capacity, threads):
    """A phase of one step that cuts its run into pieces: the workers claim pieces of all the
    citizens until none is left, each piece once, with what the step made of it kept at its
    first citizen; as the step on those pieces one by one."""
    starts = np.minimum(np.array([0, 0, 5, 9, 9, 64, 150, n]), n)
    shared, apart = np.zeros(n, np.int64), np.zeros(n, np.int64)
    kept_shared, kept_apart = [], []
    with engine.Engine(n, 1, 1, chunk_size=capacity, threads=threads) as eng:
        eng.run_phase([PieceStep(starts, shared, kept_shared)])
        assert eng.threads == threads
    kept_shared.sort(key=lambda k: k[1])
    firsts = [lo for _, lo, _ in kept_shared]
    ends = [lo + size for _, lo, (_, _, size, _) in kept_shared]
    assert firsts == [0, *ends[:-1]] and ends[-1] == n  # in order, each citizen once
    step, today = PieceStep(starts, apart, kept_apart), Today.of(capacity)
    for lo, hi in zip(firsts, ends, strict=True):
        assert hi - lo <= capacity
        step(lo, hi, None, today)
    np.testing.assert_array_equal(shared, apart)
    assert kept_shared == kept_apart


def test_a_step_without_pieces_keeps_the_group_a_call_a_chunk():
    out, kept = np.zeros(4, np.int64), []
    starts = np.array([0, 4])
    steps = fuse([PieceStep(starts, out, kept), KernelStep(add_one, out, kept)])
    assert isinstance(steps[0], Fused) and not steps[0].spans


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


def test_a_days_kernel_steps_run_as_one_call_a_worker():
    sim = Simulation(china())
    [first] = fuse(sim.phases[0])
    assert isinstance(first, Fused) and first.spans  # cut into pieces: a call a worker
    assert [s.step.__self__.NAME for s in first.steps[:-1]] == [
        s.NAME for s in sim.active if s.STEPS]  # every stage with a step (company has none)
    assert first.steps[-1].step.__name__ == "capture"  # the cohort's, last
    assert all(isinstance(s, Bound) and s.kernel is not None for s in sim.phases[1])
    assert [s.spans for s in sim.phases[1]] == [True]  # relatives: a call per worker


@pytest.mark.parametrize("threads", [1, 2])
def test_a_run_is_the_same_with_its_steps_fused_or_called_one_by_one(monkeypatch, threads):
    fused = Simulation(china(), chunk_size=701, threads=threads).run()
    monkeypatch.setattr(engine, "fuse", list)
    apart = Simulation(china(), chunk_size=701, threads=threads).run()
    np.testing.assert_array_equal(fused.counts, apart.counts)
    for group_by, counts in fused.tallies.counts.items():
        np.testing.assert_array_equal(counts, apart.tallies.counts[group_by])
    assert fused.cohort.equals(apart.cohort)
