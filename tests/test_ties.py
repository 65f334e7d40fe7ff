"""Ties on a 10 k sample: the graphs the enumeration gives, measured by networkx and by ties.py,
have the shape the module docstring targets; stored and procedural forms agree; shares do not
depend on chunking."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, prange

from panopticon.language import scenario
from panopticon.world import tie_tally
from panopticon.world.atomics import atomic_add, atomic_and, atomic_cas, atomic_or
from panopticon.world.engine import kernel_threads
from panopticon.world.population import CHILD, HEAD, HOUSEHOLD_MAX, Population, build
from panopticon.world.tie_counts import sizes
from panopticon.world.tie_tally import WIDE, TieStore, shares_into
from panopticon.world.ties import (
    FOLLOWS,
    FRIENDS,
    HOUSEHOLD,
    REACHES,
    SCHOOL,
    WORK_BANDS,
    WORKPLACE,
    TieCSR,
    Ties,
    build_csr,
    clustering,
    csr_share,
    degrees,
    follows_friend,
    household_shares,
    household_span,
    make_ties,
    max_ties,
    permute,
    pick_slots,
    picker,
    reciprocity,
    tail_exponent,
    tie_share,
    ties_into,
)

N = 10_000
SEED = 1
UNDIRECTED = (FRIENDS, HOUSEHOLD, WORKPLACE, SCHOOL)


@pytest.fixture(scope="module")
def pop() -> Population:
    spec = scenario.load("china-2018").with_changes(**{"population.size": N}).population
    return build(spec, SEED)


@pytest.fixture(scope="module")
def ties(pop) -> Ties:
    return make_ties(pop, SEED)


@pytest.fixture(scope="module")
def csrs(ties) -> dict[int, TieCSR]:
    return {reach: build_csr(ties, reach) for reach in range(len(REACHES))}


def edges(csr: TieCSR) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(N), np.diff(csr.indptr)), csr.indices.astype(np.int64)


def graph(csr: TieCSR, directed: bool = False) -> nx.Graph:
    g = nx.DiGraph() if directed else nx.Graph()
    g.add_nodes_from(range(N))
    g.add_edges_from(zip(*(a.tolist() for a in edges(csr))))
    return g


def enumerate_ties(ties: Ties, reach: int, i: int) -> np.ndarray:
    buf = np.empty(max_ties(ties, reach), np.int64)
    return buf[:ties_into(ties, reach, i, buf)]


@pytest.mark.parametrize("reach", UNDIRECTED, ids=[REACHES[r] for r in UNDIRECTED])
def test_undirected_ties_are_seen_from_both_ends_once(csrs, reach):
    src, dst = edges(csrs[reach])
    forward = np.sort(src * N + dst)
    assert np.all(np.diff(forward) > 0), "a tie listed twice"
    assert np.array_equal(forward, np.sort(dst * N + src))
    assert not np.any(src == dst)


def test_friend_degree_histogram_matches_networkx(csrs):
    g = graph(csrs[FRIENDS])
    deg = np.diff(csrs[FRIENDS].indptr)
    assert nx.degree_histogram(g) == np.bincount(deg).tolist()
    assert g.number_of_edges() * 2 == deg.sum()


def test_clustering_matches_networkx(csrs):
    g = graph(csrs[FRIENDS])
    average, transitivity = clustering(csrs[FRIENDS])
    assert average == pytest.approx(nx.average_clustering(g), abs=1e-12)
    assert transitivity == pytest.approx(nx.transitivity(g), abs=1e-12)


def test_friendships_have_plausible_size_and_clustering(csrs):
    deg = np.diff(csrs[FRIENDS].indptr)
    average, transitivity = clustering(csrs[FRIENDS])
    assert 10 <= deg.mean() <= 20  # Dunbar's sympathy group, about 15
    assert 0.2 <= average <= 0.6
    assert 0.1 <= transitivity <= average  # hubs' neighbourhoods are sparser


def test_friend_degrees_are_heavy_tailed(csrs):
    deg = np.diff(csrs[FRIENDS].indptr)
    # Poisson degrees of this mean would put under 1e-12 of citizens above 4 x mean.
    assert np.mean(deg > 4 * deg.mean()) > 0.005
    assert deg.max() > 10 * deg.mean()
    assert 2.5 <= tail_exponent(deg) <= 4.5


def test_follow_reciprocity_and_in_degrees_match_networkx(csrs):
    g = graph(csrs[FOLLOWS], directed=True)
    own = reciprocity(csrs[FOLLOWS])
    assert own == pytest.approx(nx.reciprocity(g), abs=1e-12)
    assert 0.2 <= own <= 0.45  # Twitter: 0.36 of edges (Kwak et al. 2010)
    in_deg = np.bincount(csrs[FOLLOWS].indices, minlength=N)
    assert np.array_equal(in_deg, [d for _, d in sorted(g.in_degree())])


def test_follows_have_popular_accounts_and_no_repeats(csrs):
    src, dst = edges(csrs[FOLLOWS])
    pairs = src * N + dst
    assert np.unique(pairs).size == pairs.size and not np.any(src == dst)
    in_deg = np.bincount(dst, minlength=N)
    assert in_deg.max() > 50 * in_deg.mean()
    assert tail_exponent(in_deg) < tail_exponent(np.diff(csrs[FRIENDS].indptr))


@pytest.mark.parametrize("reach", UNDIRECTED[1:], ids=[REACHES[r] for r in UNDIRECTED[1:]])
def test_households_workplaces_and_schools_are_cliques(csrs, reach):
    assert clustering(csrs[reach])[1] == 1.0


def test_the_ties_read_the_age_band_alone(pop, csrs):
    """The age byte keeps the disposition's level above the band: ties made from the same
    population with every level cleared are the same, in every reach."""
    bands = dataclasses.replace(pop, age=pop.band)
    assert (pop.age != bands.age).mean() > 0.5
    cleared = make_ties(bands, SEED)
    for reach in range(len(REACHES)):
        csr = build_csr(cleared, reach)
        assert np.array_equal(csr.indptr, csrs[reach].indptr)
        assert np.array_equal(csr.indices, csrs[reach].indices)


def test_households_are_parent_links(pop, ties):
    for c in np.flatnonzero(pop.parent >= 0)[:500]:
        family = enumerate_ties(ties, HOUSEHOLD, c)
        siblings = np.flatnonzero(pop.parent == pop.parent[c])
        assert set(family) == {pop.parent[c], *siblings} - {c}


def test_a_household_span_holds_every_family_tie_of_its_citizens(pop, ties):
    """``household_span`` finds the span whose flagged citizens a reading's household shares
    look at: every family tie of a citizen lies within the span that holds it, and a citizen
    in no span has none."""
    for c in range(pop.size):
        head, end = household_span(pop.flags, c)
        family = enumerate_ties(ties, HOUSEHOLD, c)
        if head < 0:
            assert end == -1 and not len(family)
            continue
        assert head <= c < end <= head + HOUSEHOLD_MAX
        assert all(head <= f < end for f in family)
        assert pop.flags[head] & HEAD


@pytest.mark.parametrize("share", [0.001, 0.02, 0.3])
@pytest.mark.parametrize("span", [1, 8, 997])
def test_household_shares_are_the_flagged_share_of_family_ties(pop, ties, share, span):
    """Counted when read, a range of citizens at a time, the household shares are those of the
    enumerated family ties (``tie_share``), bit for bit, for any span of citizens."""
    marks = (np.random.default_rng(7).random(pop.size) < share).astype(np.uint8)
    expected = np.empty(pop.size)
    tie_share(ties, HOUSEHOLD, marks, 0, pop.size, expected)
    got = np.zeros(pop.size)
    for lo in range(0, pop.size, span):
        household_shares(pop.age, pop.flags, bit_words(marks), lo, got[lo:lo + span])
    assert np.array_equal(got, expected)
    assert got.any()


def test_workplaces_and_schools_hold_the_right_ages_in_one_region(pop, csrs):
    for reach, ok in ((WORKPLACE, lambda a: (a >= WORK_BANDS[0]) & (a <= WORK_BANDS[1])),
                      (SCHOOL, lambda a: a == CHILD)):
        src, dst = edges(csrs[reach])
        assert np.all(ok(pop.band[src])) and np.all(ok(pop.band[dst]))
        assert np.array_equal(pop.region[src], pop.region[dst])
        assert np.mean(np.diff(csrs[reach].indptr)[ok(pop.band)] > 0) > 0.95


def test_stored_form_equals_enumeration(ties, csrs):
    for reach, csr in csrs.items():
        for i in range(0, N, 7):
            stored = csr.indices[csr.indptr[i]:csr.indptr[i + 1]]
            assert np.array_equal(stored, enumerate_ties(ties, reach, i)), (REACHES[reach], i)


def test_ties_are_a_function_of_the_seed(pop, csrs):
    again = build_csr(make_ties(pop, SEED), FRIENDS)
    other = build_csr(make_ties(pop, SEED + 1), FRIENDS)
    assert np.array_equal(again.indices, csrs[FRIENDS].indices)
    assert not np.array_equal(other.indptr, csrs[FRIENDS].indptr)


@pytest.mark.parametrize("reach", range(len(REACHES)), ids=REACHES)
def test_tie_share_does_not_depend_on_chunking(ties, csrs, reach):
    flag = (np.random.default_rng(0).random(N) < 0.1).astype(np.uint8)
    whole = np.empty(N)
    tie_share(ties, reach, flag, 0, N, whole)
    for size in (37, 1000):
        parts = np.empty(N)
        for lo in range(0, N, size):
            tie_share(ties, reach, flag, lo, min(lo + size, N), parts[lo:])
        assert np.array_equal(parts, whole)
    stored = np.empty(N)
    csr_share(csrs[reach].indptr, csrs[reach].indices, flag, 0, N, stored)
    assert np.array_equal(stored, whole)


def test_an_accounts_followers_are_the_follows_seen_from_the_other_end(ties, csrs):
    """An account's pickers and the friends who follow it are exactly its in-edges."""
    src, dst = edges(csrs[FOLLOWS])
    order = np.argsort(dst, kind="stable")
    starts = np.searchsorted(dst[order], np.arange(N + 1))
    buf = np.empty(max_ties(ties, FRIENDS), np.int64)
    for a in [*range(0, N, 13), *np.argsort(np.diff(starts))[-20:]]:  # the most followed too
        pickers = [picker(ties, a, s) for s in range(*pick_slots(ties, a))]
        friends = [j for j in buf[:ties_into(ties, FRIENDS, a, buf)] if follows_friend(ties, j, a)]
        found = sorted([j for j in pickers if j >= 0] + friends)
        assert found == sorted(src[order[starts[a]:starts[a + 1]]].tolist()), a


@pytest.mark.parametrize("reaches", [list(REACHES), ["follows"], ["household", "friends"]])
def test_sizes_are_the_numbers_of_ties(ties, csrs, reaches):
    for r, size in sizes(ties, reaches).items():
        assert size.dtype == np.uint16
        assert np.array_equal(size, np.diff(csrs[REACHES.index(r)].indptr)), r
        assert np.array_equal(size, degrees(ties, REACHES.index(r))), r


def mean_shares(shares, sizes):
    """Every citizen's ``tie_tally.shares_into``, as a reading takes it."""
    out = np.empty(shares.age.shape[0])
    shares_into(shares, sizes, 0, out)
    return out


def shares_in_parts(shares, sizes, part: int) -> np.ndarray:
    """The same, a part of ``part`` citizens at a time, as a reading's workers make them."""
    out = np.empty(shares.age.shape[0])
    for lo in range(0, out.shape[0], part):
        shares_into(shares, sizes, lo, out[lo:lo + part])
    return out


def bit_words(flags: np.ndarray) -> np.ndarray:
    """Flags (set: not 0) as bits laid out as ``today.mark`` sets them."""
    packed = np.packbits(flags != 0, bitorder="little")
    return np.concatenate((packed, np.zeros(-packed.size % 8, np.uint8))).view("<u8")


def unpacked(words: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), bitorder="little")[:n].astype(bool)


def packed(flags: np.ndarray) -> np.ndarray:
    """Flags as bits laid out as ``today.marked``, the last word's bits past them all set (an
    update reads none of them)."""
    words = -(-flags.shape[0] // 64)
    bits = np.ones(words * 64, np.uint8)
    bits[:flags.shape[0]] = flags != 0
    return np.packbits(bits, bitorder="little").view(np.uint64)


@given(flags=st.lists(st.booleans(), min_size=0, max_size=700), seed=st.integers(0, 99),
       word=st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_changes_lists_the_flags_that_moved_and_keeps_the_new(flags, seed, word):
    """From any word of the flags last read, the citizens whose flag moved, in order, and the
    new flags kept, the bits of other words untouched."""
    new = np.array(flags, np.uint8) * np.uint8(3)
    lo, n = word * 64, len(flags)
    old = np.random.default_rng(seed).random(lo + n + 128) < 0.3
    marks = bit_words(old)
    changed = tie_tally.changes(new, marks, lo)
    np.testing.assert_array_equal(changed, lo + np.flatnonzero(old[lo:lo + n] != (new != 0)))
    after = unpacked(marks, old.size)
    np.testing.assert_array_equal(after[lo:lo + n], new != 0)
    np.testing.assert_array_equal(np.delete(after, np.s_[lo:lo + n]),
                                  np.delete(old, np.s_[lo:lo + n]))


@pytest.mark.parametrize(("threads", "wide_from", "block", "as_bits"),
                         [(1, WIDE, N, False), (2, WIDE, 64, False), (2, 3, 4096, False),
                          (1, 1, 960, False), (2, 3, N, True), (1, WIDE, N, True)])
def test_a_tally_is_the_reaches_shares_averaged_through_any_changes(pop, ties, threads,
                                                                    wide_from, block, as_bits,
                                                                    monkeypatch):
    """Three tallies of one store (the household reach counted at each reading), each flag set
    and cleared in several rounds and read in blocks of any whole number of words, or from
    bits (``update_bits``): each reading is the shares enumerated afresh, whether a citizen's
    counts are bytes or in the book of the wide (all from 1 tie on; most from 3)."""
    monkeypatch.setattr(tie_tally, "BLOCK", block)
    store = TieStore(pop, SEED, wide_from)
    tallies = [(["friends", "follows", "household"], store.tally(["friends", "follows",
                                                                   "household"])),
               (["household", "friends"], store.tally(["household", "friends"])),
               (["household"], store.tally(["household"]))]  # counted at each reading alone
    rng = np.random.default_rng(threads)
    flags = [np.zeros(N, np.uint8) for _ in tallies]
    for share_set in (0.02, 0.3, 0.05, 0.0, 0.1):
        for k, (reaches, tally) in enumerate(tallies):
            flip = rng.random(N) < share_set
            flags[k] = np.where(flip, 1 - flags[k], flags[k]).astype(np.uint8) * (k + 1)
            with kernel_threads(threads):
                if as_bits:
                    tally.update_bits(packed(flags[k]))
                else:
                    tally.update(lambda lo, hi, out: np.copyto(out, flags[k][lo:hi]))  # noqa: B023
            assert np.array_equal(unpacked(tally.marks, N), flags[k] != 0)
            assert not unpacked(tally.marks, tally.marks.shape[0] * 64)[N:].any()
            got = mean_shares(tally.shares, tally.sizes)
            want = np.zeros(N)
            for r in reaches:
                share = np.empty(N)
                tie_share(ties, REACHES.index(r), (flags[k] != 0).astype(np.uint8), 0, N, share)
                want += share
            assert np.array_equal(got, want / len(reaches))
            assert np.array_equal(shares_in_parts(tally.shares, tally.sizes, 37), got)
    for r, size in store.sizes.items():
        full = sizes(ties, [r])[r]
        wide = full >= wide_from
        assert np.array_equal(size[~wide], full[~wide]) and (size[wide] == WIDE).all(), r
        k = REACHES.index(r)
        book = slice(store.wide.first[k], store.wide.last[k])
        assert np.array_equal(store.wide.ids[book], np.flatnonzero(wide)), r
        assert np.array_equal(store.wide.sizes[book], full[wide]), r


@pytest.mark.parametrize(("threads", "room"), [(1, 1), (2, 3), (2, tie_tally.EVENTS)])
def test_counts_past_half_a_byte_are_in_the_book_of_the_full_exactly_while_there(
        pop, ties, threads, room, monkeypatch):
    """Everyone flagged, then most cleared, then everyone again and no one: each count is its
    half byte below FULL, or FULL with the rest in the book, whatever the room a push's parts
    have to list them (1: a part stops at every citizen, and the room doubles), and the shares
    read are those enumerated."""
    monkeypatch.setattr(tie_tally, "EVENTS", room)
    reaches = ["friends", "follows"]
    tally = TieStore(pop, SEED).tally(reaches)
    rng = np.random.default_rng(room)
    for flags in (np.ones(N, np.uint8), (rng.random(N) < 0.2).astype(np.uint8),
                  np.ones(N, np.uint8), np.zeros(N, np.uint8)):
        with kernel_threads(threads):
            tally.update(lambda lo, hi, out: np.copyto(out, flags[lo:hi]))  # noqa: B023
        want = np.zeros(N)
        for k, r in enumerate(reaches):
            share = np.empty(N)
            tie_share(ties, REACHES.index(r), flags, 0, N, share)
            want += share
            size = sizes(ties, [r])[r]  # the wide's counts are in their own book, not halves
            count = np.where(size >= WIDE, 0, np.rint(share * size)).astype(np.int64)
            halves = np.empty(N, np.uint8)
            tie_tally.counts_into(tally.bad[k], 0, halves)
            assert np.array_equal(halves, np.minimum(count, tie_tally.FULL)), r
            ids, beyond = tally.full[k]
            assert np.array_equal(ids, np.flatnonzero(count >= tie_tally.FULL)), r
            assert np.array_equal(beyond, count[ids] - tie_tally.FULL), r
        assert flags.all() <= (tally.over.ids.shape[0] > 0)  # the book was used
        assert np.array_equal(mean_shares(tally.shares, tally.sizes), want / len(reaches))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 64), st.integers(0, 64), st.integers(0, 2**32 - 1))
def test_counts_into_reads_every_citizens_half_byte(lo, n, seed):
    """The counts of any run of citizens, from an odd or even first to an odd or even last,
    are their half bytes (the even citizen's low half), as a reading's shares take them."""
    bad = np.random.default_rng(seed).integers(0, 256, 70, dtype=np.uint8)
    n = min(n, 2 * bad.shape[0] - lo)
    out = np.full(n, 99, np.uint8)
    tie_tally.counts_into(bad, lo, out)
    i = np.arange(lo, lo + n)
    assert np.array_equal(out, (bad[i >> 1] >> ((i & 1) * 4)) & tie_tally.FULL)


@njit(parallel=True)
def _cas_add_in_parallel(halves, targets):
    for k in prange(targets.shape[0]):
        i = targets[k]
        old = halves[i]
        while True:
            found = atomic_cas(halves, i, old, old + 1)
            if found == old:
                break
            old = found


def test_workers_exchanging_the_same_counts_lose_no_add():
    """Adds by compare and exchange, many to the same few counts from both workers: every
    one lands."""
    targets = np.random.default_rng(8).integers(0, 3, 200_000)
    counts = np.zeros(3, np.int64)
    with kernel_threads(2):
        _cas_add_in_parallel(counts, targets)
    assert np.array_equal(counts, np.bincount(targets, minlength=3))


@njit(parallel=True)
def _add_in_parallel(counts, targets, deltas):
    for k in prange(targets.shape[0]):
        atomic_add(counts, targets[k], deltas[k])


@njit(parallel=True)
def _or_in_parallel(words, targets, bits):
    for k in prange(targets.shape[0]):
        atomic_or(words, targets[k], bits[k])


@njit(parallel=True)
def _and_in_parallel(words, targets, masks):
    for k in prange(targets.shape[0]):
        atomic_and(words, targets[k], masks[k])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_workers_adding_to_the_same_counts_lose_no_add(dtype):
    """A parallel push's adds, many to the same few counts from both workers, each +1 or
    -1: every one lands, and the counts wrap as integers do, whatever the order."""
    rng = np.random.default_rng(5)
    targets = rng.integers(0, 3, 200_000)
    deltas = rng.choice(np.array([1, -1]), targets.shape[0])
    counts = np.zeros(3, dtype)
    with kernel_threads(2):
        _add_in_parallel(counts, targets, deltas)
    want = np.bincount(targets, weights=deltas, minlength=3).astype(np.int64)
    assert np.array_equal(counts, want.astype(dtype))


def test_workers_setting_bits_of_the_same_words_lose_no_bit():
    """Bits set from both workers into the same few words, each a bit of 64: every one is
    set, whatever the order."""
    rng = np.random.default_rng(6)
    targets = rng.integers(0, 3, 200_000)
    bits = np.uint64(1) << rng.integers(0, 64, targets.shape[0]).astype(np.uint64)
    words = np.zeros(3, np.uint64)
    with kernel_threads(2):
        _or_in_parallel(words, targets, bits)
    want = np.zeros(3, np.uint64)
    np.bitwise_or.at(want, targets, bits)
    assert np.array_equal(words, want)


def test_workers_clearing_bits_of_the_same_words_lose_no_clear():
    """Bits cleared from both workers in the same few words, each a bit of 64: every one is
    cleared, whatever the order."""
    rng = np.random.default_rng(7)
    targets = rng.integers(0, 3, 2_000)
    masks = ~(np.uint64(1) << rng.integers(0, 64, targets.shape[0]).astype(np.uint64))
    words = np.full(3, ~np.uint64(0), np.uint64)
    with kernel_threads(2):
        _and_in_parallel(words, targets, masks)
    want = np.full(3, ~np.uint64(0), np.uint64)
    np.bitwise_and.at(want, targets, masks)
    assert np.array_equal(words, want)


def test_a_store_refuses_a_bound_of_the_wide_a_byte_cannot_mark(pop):
    for bad in (0, WIDE + 1):
        with pytest.raises(ValueError, match="wide_from must be 1 to 255"):
            TieStore(pop, SEED, bad)


def test_tie_share_is_the_flagged_share(ties, csrs):
    csr = csrs[FRIENDS]
    flag = np.zeros(N, np.uint8)
    flag[::3] = 1
    share = np.empty(N)
    tie_share(ties, FRIENDS, flag, 0, N, share)
    src, dst = edges(csr)
    bad = np.bincount(src, weights=flag[dst], minlength=N)
    assert np.allclose(share, bad / np.diff(csr.indptr))


@pytest.mark.parametrize("n", [1, 2, 3, 31, 1000, 4097])
def test_permutation_is_a_bijection_with_its_inverse(n):
    key = np.uint64(12345)
    forward = np.array([permute(key, n, x, True) for x in range(n)])
    assert np.array_equal(np.sort(forward), np.arange(n))
    assert all(permute(key, n, int(y), False) == x for x, y in enumerate(forward))
