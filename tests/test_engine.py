"""The day loop: chunks cover each citizen once, totals ignore chunking and threads, phases wait."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from panopticon.world import engine
from panopticon.world.engine import DayClock, Engine, chunk_bounds, spans_of, useful_threads
from panopticon.world.today import (
    Today,
    mark,
    marked_into,
    marked_or_due_into,
    pop_lowest,
    unpack_bits,
)

N_REGIONS, N_COUNTERS = 3, 4


def toy_step(lo: int, hi: int, acc: np.ndarray, today: Today | None) -> None:
    """Each citizen adds to its region: one head count, its index, its index squared, odd ones."""
    i = np.arange(lo, hi, dtype=np.int64)
    r = i % N_REGIONS
    np.add.at(acc[:, 0], r, 1)
    np.add.at(acc[:, 1], r, i)
    np.add.at(acc[:, 2], r, i * i)
    np.add.at(acc[:, 3], r, i % 2)


def expected_toy(n: int) -> np.ndarray:
    acc = np.zeros((N_REGIONS, N_COUNTERS), np.int64)
    toy_step(0, n, acc, None)
    return acc


@given(n=st.integers(0, 10_000), chunk_size=st.integers(1, 12_000), threads=st.integers(1, 16))
@settings(max_examples=200, deadline=None)
def test_chunks_cover_every_citizen_exactly_once(n, chunk_size, threads):
    bounds = chunk_bounds(n, chunk_size, threads)
    covered = np.zeros(n, np.int64)
    for lo, hi in bounds:
        assert 0 <= lo < hi <= n
        assert hi - lo <= chunk_size
        covered[lo:hi] += 1
    assert np.all(covered == 1)


@given(n=st.integers(1, 10_000), chunk_size=st.integers(1, 12_000), threads=st.integers(1, 16))
@settings(max_examples=200, deadline=None)
def test_chunks_are_in_order_contiguous_and_dealt_evenly(n, chunk_size, threads):
    """As few chunks as the chunk size allows, rounded up to a multiple of the threads where
    there are citizens enough, of sizes that differ by one at most: each worker gets its
    share."""
    bounds = chunk_bounds(n, chunk_size, threads)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) <= chunk_size and max(sizes) - min(sizes) <= 1
    fewest = math.ceil(n / chunk_size)
    assert len(bounds) == min(n, math.ceil(fewest / threads) * threads)
    if len(bounds) % threads == 0:
        per_worker = [sum(sizes[w::threads]) for w in range(threads)]
        assert max(per_worker) - min(per_worker) <= len(bounds) // threads


def test_no_citizens_means_no_chunks():
    assert chunk_bounds(0, 10) == []


@given(n=st.integers(0, 3000), chunk_size=st.integers(1, 4000), threads=st.sampled_from([1, 2]))
@settings(max_examples=60, deadline=None)
def test_day_totals_do_not_depend_on_chunk_size_or_threads(n, chunk_size, threads):
    with Engine(n, N_REGIONS, N_COUNTERS, chunk_size=chunk_size, threads=threads) as eng:
        np.testing.assert_array_equal(eng.run_day([[toy_step]]), expected_toy(n))


def test_each_day_starts_from_zero():
    with Engine(1000, N_REGIONS, N_COUNTERS, chunk_size=64, threads=2) as eng:
        eng.run_day([[toy_step]])
        np.testing.assert_array_equal(eng.run_day([[toy_step]]), expected_toy(1000))


def test_steps_of_one_phase_all_run_on_every_chunk():
    with Engine(1000, N_REGIONS, N_COUNTERS, chunk_size=64, threads=2) as eng:
        np.testing.assert_array_equal(eng.run_day([[toy_step, toy_step]]), 2 * expected_toy(1000))


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_chunk_size_below_one_is_an_error(chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        Engine(100, N_REGIONS, N_COUNTERS, chunk_size=chunk_size)
    with pytest.raises(ValueError, match="chunk_size"):
        chunk_bounds(100, chunk_size)


@pytest.mark.parametrize("threads", [0, -2])
def test_threads_below_one_is_an_error(threads):
    with pytest.raises(ValueError, match="threads"):
        Engine(100, N_REGIONS, N_COUNTERS, threads=threads)


def test_more_threads_than_citizens_are_not_started():
    with Engine(5, N_REGIONS, N_COUNTERS, chunk_size=60, threads=8) as eng:
        assert eng.threads == 5


def test_a_thread_is_started_per_thread_citizens_at_most(monkeypatch):
    """Small runs are faster on one thread than on two (docs/performance.md): the engine starts
    one per THREAD_CITIZENS citizens, and never more than asked."""
    monkeypatch.undo()
    per = engine.THREAD_CITIZENS
    assert [useful_threads(n, 4) for n in (0, 1, per - 1, per, 2 * per - 1, 2 * per, 9 * per)] \
        == [1, 1, 1, 1, 1, 2, 4]
    assert useful_threads(9 * per, 1) == 1
    with Engine(2 * per - 1, N_REGIONS, N_COUNTERS, chunk_size=1000, threads=2) as eng:
        assert eng.threads == 1 and len(eng.chunks) == math.ceil((2 * per - 1) / 1000)
    with Engine(2 * per, N_REGIONS, N_COUNTERS, chunk_size=1000, threads=2) as eng:
        assert eng.threads == 2 and len(eng.chunks) % 2 == 0


def test_threads_get_as_many_chunks_each_where_the_chunk_size_alone_would_not_deal_them_so():
    with Engine(100, N_REGIONS, N_COUNTERS, chunk_size=60, threads=8) as eng:
        assert eng.threads == 8 and [hi - lo for lo, hi in eng.chunks] == [12, 13] * 4


def test_a_worker_held_up_by_a_chunk_takes_fewer_and_every_chunk_runs_once():
    ran = []

    def slow_first(lo, hi, acc, today):
        ran.append((threading.get_ident(), lo))
        if lo == 0:
            time.sleep(0.5)  # as a costly chunk would, without the interpreter's lock

    with Engine(800, N_REGIONS, N_COUNTERS, chunk_size=100, threads=2) as eng:
        eng.run_phase([slow_first])
    assert sorted(lo for _, lo in ran) == list(range(0, 800, 100))
    held = next(t for t, lo in ran if lo == 0)
    assert sum(t == held for t, _ in ran) <= 2 < sum(t != held for t, _ in ran)


@given(n=st.integers(0, 10_000), chunk_size=st.integers(1, 12_000), threads=st.integers(1, 16))
@settings(max_examples=200, deadline=None)
def test_spans_join_consecutive_whole_chunks_a_worker_each(n, chunk_size, threads):
    chunks = chunk_bounds(n, chunk_size, threads)
    spans = spans_of(chunks, threads)
    assert len(spans) == min(threads, len(chunks))
    assert [lo for lo, _ in spans] == [0, *(hi for _, hi in spans)][:len(spans)]  # in order
    assert spans[-1][1] == n if spans else n == 0
    ends = {hi for _, hi in chunks}
    assert all(lo in {0} | ends and hi in ends for lo, hi in spans)  # whole chunks
    taken = [sum(lo <= a < hi for a, _ in chunks) for lo, hi in spans]
    assert sum(taken) == len(chunks) and (not taken or max(taken) - min(taken) <= 1)


def spanning(lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
    """A step that takes runs of chunks (``state.kernel_step``'s ``spans``)."""
    toy_step(lo, hi, acc, today)


spanning.spans = True


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_phase_whose_steps_take_runs_of_chunks_is_a_call_per_worker(threads):
    calls = []

    def log(lo, hi, acc, today):
        calls.append((lo, hi))
    log.spans = True

    with Engine(1_000, N_REGIONS, N_COUNTERS, chunk_size=90, threads=threads) as eng:
        totals = eng.run_day([[log, spanning], [log, toy_step]])
        chunks, spans = eng.chunks, eng.spans
    np.testing.assert_array_equal(totals, 2 * expected_toy(1_000))
    assert len(spans) == threads and sorted(calls[:threads]) == spans
    assert sorted(calls[threads:]) == chunks  # a step that does not take them: by chunk


@pytest.mark.parametrize(("cost", "workers"), [(1.0, 4), (0.5, 4), (1 / 300, 3), (1 / 1000, 1)])
def test_a_light_phase_takes_fewer_workers_and_changes_no_total(cost, workers):
    """A phase's workers are those its costliest step's work pays for (``cost``: a share of
    phase 1's a citizen), at most the engine's; each takes a run of as many chunks."""
    def light(lo, hi, acc, today):
        toy_step(lo, hi, acc, today)
    light.spans, light.cost = True, cost

    def lighter(lo, hi, acc, today):
        toy_step(lo, hi, acc, today)
    lighter.spans, lighter.cost = True, cost / 10

    clock = DayClock()
    with Engine(1_000, N_REGIONS, N_COUNTERS, chunk_size=90, threads=4, clock=clock) as eng:
        totals = eng.run_day([[spanning], [lighter, light]])
        assert eng.workers_for([light, toy_step]) == 4  # a step without a cost weighs 1
    np.testing.assert_array_equal(totals, 3 * expected_toy(1_000))
    assert {w for p, w in clock.busy if p == 1} == set(range(workers))


@pytest.mark.parametrize(("chunk_size", "threads"), [(7, 1), (7, 2), (50, 2), (1000, 2)])
def test_a_later_phase_sees_what_the_earlier_phase_wrote_for_every_citizen(chunk_size, threads):
    n = 997
    written = np.zeros(n, np.int64)

    def write(lo, hi, acc, today):
        written[lo:hi] = np.arange(lo, hi) + 1

    def read_mirror(lo, hi, acc, today):
        # each citizen reads the one at the other end of the line: usually another chunk
        i = np.arange(lo, hi)
        acc[0, 0] += int(np.count_nonzero(written[n - 1 - i] == n - i))

    with Engine(n, N_REGIONS, N_COUNTERS, chunk_size=chunk_size, threads=threads) as eng:
        assert eng.run_day([[write], [read_mirror]])[0, 0] == n


@pytest.mark.parametrize("threads", [1, 3])
def test_a_clock_times_each_phase_and_worker_and_changes_no_total(threads):
    clock = DayClock()
    with Engine(5_000, N_REGIONS, N_COUNTERS, 700, threads, clock) as eng:
        timed = [eng.run_day([[toy_step], [toy_step, toy_step]]) for _ in range(2)]
    np.testing.assert_array_equal(timed[1], 3 * expected_toy(5_000))
    assert set(clock.phases) == {0, 1}
    assert set(clock.busy) == set(clock.cpu) == {(p, w) for p in (0, 1) for w in range(threads)}
    for (p, w), busy in clock.busy.items():
        assert 0 < busy <= clock.phases[p]  # within its phase
        assert clock.cpu[p, w] >= 0
    with clock.part("start toy"):
        pass
    assert clock.parts["start toy"] > 0
    clock.reset()
    assert not (clock.phases or clock.busy or clock.cpu or clock.parts)


@pytest.mark.parametrize(("cost", "threads", "beside"), [(1 / 1000, 2, True), (1.0, 2, False),
                                                        (1 / 1000, 1, False)])
def test_work_beside_a_phase_runs_on_a_worker_it_leaves_idle_else_after_it(cost, threads,
                                                                          beside):
    """Work beside a light phase runs on another thread while the phase runs (timed within
    it, and the day's end's wait for it apart); where the phase takes every worker, after it on
    the calling thread."""
    log: list[tuple[str, int]] = []
    began = threading.Event()  # the work beside has started (the phase waits for it)
    if not beside:
        began.set()

    def light(lo, hi, acc, today):
        began.wait(5)  # beside: they overlap, else this would wait in vain
        log.append(("phase", threading.get_ident()))
    light.spans, light.cost = True, cost

    def aside():
        began.set()
        log.append(("beside", threading.get_ident()))

    clock = DayClock()
    with Engine(1_000, N_REGIONS, N_COUNTERS, chunk_size=500, threads=threads,
                clock=clock) as eng:
        eng.run_day([[toy_step], [light]], beside_last=engine.Aside("tell", aside))
    here = threading.get_ident()
    if beside:
        assert ("phase", here) in log and log[-1] == ("phase", here)
        assert [who for what, who in log if what == "beside"] != [here]
        assert set(clock.parts) == {f"tell {engine.BESIDE} 2", f"{engine.WAITED} tell"}
    else:
        assert log[-1] == ("beside", here) and set(clock.parts) == {"tell"}


def test_an_error_beside_a_phase_is_raised_once_the_phase_is_done():
    """The phase is done, the work beside it given back still running; its error is raised
    where it is waited on, at the latest at the day's end."""
    ran: list[int] = []

    def light(lo, hi, acc, today):
        ran.append(lo)
    light.spans, light.cost = True, 1 / 1000

    def fail():
        raise ValueError("beside")

    with Engine(1_000, N_REGIONS, N_COUNTERS, chunk_size=500, threads=2) as eng:
        pending = eng.run_phase([light], beside=engine.Aside("fail", fail))
        assert ran == [0]  # one worker's run of both chunks, done
        with pytest.raises(ValueError, match="beside"):
            pending.result()
        with pytest.raises(ValueError, match="beside"):
            eng.run_day([[light]], beside_last=engine.Aside("fail", fail))


def test_the_work_beside_the_last_phase_runs_on_beside_the_days_ends():
    """The work beside the last phase goes on while the day's ends run (each waits for the
    other to have begun: run one after the other, the first would wait in vain), and the
    day is not over until it is done."""
    began, ended, seen = threading.Event(), threading.Event(), []

    def light(lo, hi, acc, today):
        pass
    light.spans, light.cost = True, 1 / 1000

    def aside():
        began.set()
        seen.append(ended.wait(5))

    def ends(counts):
        assert began.wait(5)
        counts[0, 0] = 7
        ended.set()

    with Engine(1_000, N_REGIONS, N_COUNTERS, chunk_size=500, threads=2) as eng:
        counts = eng.run_day([[light]], beside_last=engine.Aside("tell", aside), ends=ends)
    assert seen == [True] and counts[0, 0] == 7


def test_phases_run_in_the_order_given():
    log: list[str] = []
    with Engine(10, 1, 1, chunk_size=3, threads=1) as eng:
        eng.run_day([[lambda lo, hi, a, s: log.append("a")],
                     [lambda lo, hi, a, s: log.append("b")]])
    assert log == ["a"] * 4 + ["b"] * 4


def test_each_worker_keeps_one_today_of_chunk_capacity():
    seen: dict[int, Today] = {}

    def look(lo, hi, acc, today):
        seen.setdefault(id(today), today)
        assert today.acts.shape[0] >= hi - lo
        time.sleep(0.002)  # long enough that each worker takes some of the chunks

    with Engine(1000, N_REGIONS, N_COUNTERS, chunk_size=64, threads=2) as eng:
        eng.run_day([[look]])
        eng.run_day([[look]])
        largest = max(hi - lo for lo, hi in eng.chunks)
    assert len(seen) == 2 and largest == 63  # 16 chunks of 62 or 63
    assert all(t.acts.shape == t.records.shape == t.todo.shape == (largest,)
               for t in seen.values())


def test_what_a_step_keeps_of_a_chunk_is_made_once_a_run_per_worker_and_chunk():
    made: list[tuple[int, int, int]] = []

    def chunk_arrays(lo, hi, today):
        made.append((lo, hi, id(today)))
        return today.acts[:hi - lo], lo

    def step(lo, hi, acc, today):
        acts, first = today.kept(lo, hi, chunk_arrays)
        assert first == lo and acts.shape == (hi - lo,) and np.shares_memory(acts, today.acts)
        assert today.kept(lo, hi, other_arrays) == ("other", lo)
        time.sleep(0.002)  # long enough that each worker takes some of the chunks

    def other_arrays(lo, hi, today):
        made.append((lo, hi, -1))
        return "other", lo

    with Engine(1000, N_REGIONS, N_COUNTERS, chunk_size=64, threads=2) as eng:
        for _ in range(3):
            eng.run_day([[step]])
        chunks = eng.chunks
    mine = [(lo, hi, w) for lo, hi, w in made if w != -1]
    assert len(mine) == len(set(mine))  # once a run for each worker that meets the chunk
    assert {(lo, hi) for lo, hi, _ in mine} == set(chunks)
    assert len(mine) == sum(w == -1 for *_, w in made)  # each maker its own
    assert len({w for *_, w in mine}) == 2  # each worker's buffers


@given(n=st.integers(1, 300), first=st.integers(0, 10_000), data=st.data())
@settings(max_examples=200, deadline=None)
def test_the_marked_of_a_run_are_found_in_order_with_those_of_a_list(n, first, data):
    """Today.marked: a stage finds the citizens of its run that an earlier stage marked, and
    the registry those with a word of a case and those of its case book due today (citizens
    numbered from the population's first, the chunk's first ``first``, some outside the
    chunk)."""
    marks = data.draw(st.sets(st.integers(0, n - 1)))
    listed = sorted(data.draw(st.sets(st.integers(-50, n + 50))))
    lo = data.draw(st.integers(0, n))
    hi = data.draw(st.integers(lo, n))
    words = np.array(data.draw(st.lists(st.integers(0, 15), min_size=n, max_size=n)), np.uint64)
    mask = data.draw(st.integers(0, 15))
    due = np.array([data.draw(st.integers(0, 9)) for _ in listed], np.int16)
    day = data.draw(st.integers(0, 9))
    today = Today.of(n)
    for j in marks:
        mark(today.marked, j)
    kept = [(first + j, d) for j, d in zip(listed, due, strict=True) if first + j >= 0]
    ids = np.array([i for i, _ in kept], np.int64)
    due = np.array([d for _, d in kept], np.int16)
    m = marked_into(today.marked, lo, hi, today.todo)
    assert today.todo[:m].tolist() == sorted(j for j in marks if lo <= j < hi)
    m = marked_or_due_into(today.marked, words, mask, ids, due, day, first, lo, hi, today.todo)
    chosen = {j for j in marks if int(words[j]) & mask} | {
        i - first for i, d in kept if d <= day}
    assert today.todo[:m].tolist() == sorted(j for j in chosen if lo <= j < hi)


@njit
def set_bits_by_popping(word):
    out = []
    while word:
        b, word = pop_lowest(word)
        out.append(b)
    return out


@given(word=st.integers(1, 2**64 - 1))
@settings(max_examples=300, deadline=None)
def test_pop_lowest_visits_the_bits_set_in_order(word):
    """Popping the lowest bit until none is left gives the positions of the bits set, from the
    lowest, the top one (63) included."""
    want = [b for b in range(64) if word >> b & 1]
    assert set_bits_by_popping(np.uint64(word)) == want


@given(lo=st.integers(0, 400), n=st.integers(0, 400), seed=st.integers(0, 99))
@settings(max_examples=200, deadline=None)
def test_bits_unpack_into_bytes_from_any_citizen(lo, n, seed):
    """A bit array read as a byte per citizen from any first citizen, for any length: inside a
    word, across words, and whole words between odd ends."""
    bits = np.random.default_rng(seed).integers(0, 2**63, 14, dtype=np.uint64)
    out = np.full(n, 7, np.uint8)
    unpack_bits(bits, lo, out)
    want = np.unpackbits(bits.view(np.uint8), bitorder="little")[lo:lo + n]
    np.testing.assert_array_equal(out, want)
