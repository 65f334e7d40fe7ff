"""Counter-based random numbers: right distributions, pure functions of (key, citizen, day), no
correlation between streams, citizens or days."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from panopticon.language.scenario import load
from panopticon.world.rng import (
    CITIZEN_STEP,
    EXACT_MEAN,
    EXP_QUANTILES,
    STREAMS,
    binomial_quantile,
    bits53,
    bits53_at,
    bits_at,
    chance,
    counter,
    dither,
    dither_at,
    draw_bits,
    exponential,
    normal_quantile,
    picks,
    smallest,
    stream_key,
    uniform,
    uniform_array,
)

N = 1_000_000
KEY = stream_key(1, "act.jaywalking")
OTHER_KEY = stream_key(1, "act.red_light")
# |corr| of n independent pairs has sd 1/sqrt(n); 5 sd is a false alarm in 3 million.
CORR_TOL = 5.0 / math.sqrt(N)

keys = st.integers(0, 2**64 - 1).map(np.uint64)
citizens = st.integers(0, 2**44 - 1)
days = st.integers(0, 2**20 - 1)


@njit(cache=True)
def _count_chances(key, n, day, p):
    hits = 0
    for i in range(n):
        hits += chance(key, i, day, p)
    return hits


@njit(cache=True)
def _exponentials(key, n, day):
    out = np.empty(n)
    for i in range(n):
        out[i] = exponential(key, i, day)
    return out


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.fixture(scope="module")
def draws() -> np.ndarray:
    return uniform_array(KEY, 0, N, 0)


# uniform


def test_uniform_lies_in_the_half_open_unit_interval(draws):
    assert draws.min() >= 0.0
    assert draws.max() < 1.0


def test_uniform_has_mean_one_half(draws):
    assert abs(draws.mean() - 0.5) < 5 * math.sqrt(1 / 12 / N)


def test_uniform_has_variance_one_twelfth(draws):
    # Var of (U - 1/2)^2 is 1/80 - 1/144.
    assert abs(draws.var() - 1 / 12) < 5 * math.sqrt((1 / 80 - 1 / 144) / N)


def test_uniform_fills_equal_bins_equally(draws):
    counts = np.bincount((draws * 100).astype(np.int64), minlength=100)
    expected = N / 100
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 99 + 5 * math.sqrt(2 * 99)  # chi-square, 99 degrees of freedom


@given(key=keys, citizen=citizens, day=days)
@settings(max_examples=50, deadline=None)
def test_uniform_is_a_pure_function_of_key_citizen_and_day(key, citizen, day):
    first = uniform(key, citizen, day)
    assert uniform(key, citizen, day) == first
    # Computed in another kernel, in a batch that starts elsewhere: the same number.
    assert uniform_array(key, citizen, citizen + 1, day)[0] == first


@njit(cache=True)
def _stepped(key, first, n, day):
    """Citizens first..first+n-1's draws, each by a counter stepped from the one before, as
    the passes over everyone take them, then each by its own citizen and day."""
    out = np.empty((2, 3, n), np.uint64)
    count = counter(first, day)
    for j in range(n):
        out[0, 0, j] = bits_at(key, count)
        out[0, 1, j] = bits53_at(key, count)
        out[0, 2, j] = dither_at(key, count)
        count += CITIZEN_STEP
        out[1, 0, j] = draw_bits(key, first + j, day)
        out[1, 1, j] = bits53(key, first + j, day)
        out[1, 2, j] = dither(key, first + j, day)
    return out


@given(key=keys, first=st.integers(0, 2**44 - 300), n=st.integers(1, 300), day=days)
@settings(max_examples=50, deadline=None)
def test_a_counter_stepped_by_citizens_draws_what_each_citizen_draws(key, first, n, day):
    stepped, each = _stepped(key, first, n, day)
    np.testing.assert_array_equal(stepped, each)


def test_a_batch_of_uniforms_does_not_depend_on_where_it_starts(draws):
    np.testing.assert_array_equal(uniform_array(KEY, 1234, 5678, 0), draws[1234:5678])


def test_streams_are_uncorrelated(draws):
    assert abs(corr(draws, uniform_array(OTHER_KEY, 0, N, 0))) < CORR_TOL


def test_neighbouring_citizens_are_uncorrelated(draws):
    assert abs(corr(draws[:-1], draws[1:])) < CORR_TOL


def test_neighbouring_days_are_uncorrelated(draws):
    assert abs(corr(draws, uniform_array(KEY, 0, N, 1))) < CORR_TOL


def test_one_citizen_over_consecutive_days_is_uncorrelated():
    # Day is the low part of the counter: a citizen's run of days must not repeat a pattern.
    series = np.array([uniform(KEY, 7, d) for d in range(20_000)])
    assert abs(corr(series[:-1], series[1:])) < 5 / math.sqrt(series.size)


def test_seeds_next_to_each_other_are_uncorrelated(draws):
    assert abs(corr(draws, uniform_array(stream_key(2, "act.jaywalking"), 0, N, 0))) < CORR_TOL


# chance


@pytest.mark.parametrize("p", [1e-4, 0.01, 0.1, 0.5, 0.9, 0.999])
def test_chance_frequency_matches_p(p):
    hits = _count_chances(KEY, N, 3, p)
    assert abs(hits - N * p) < 5 * math.sqrt(N * p * (1 - p)) + 1


def test_chance_of_zero_never_happens():
    assert _count_chances(KEY, N, 3, 0.0) == 0


def test_chance_of_one_always_happens():
    assert _count_chances(KEY, N, 3, 1.0) == N


@given(key=keys, citizen=citizens, day=days, p=st.floats(0.0, 1.0), q=st.floats(0.0, 1.0))
@settings(max_examples=200, deadline=None)
def test_chance_is_monotone_in_p_for_a_fixed_draw(key, citizen, day, p, q):
    lo, hi = min(p, q), max(p, q)
    assert chance(key, citizen, day, lo) <= chance(key, citizen, day, hi)


@given(key=keys, citizen=citizens, day=days)
@settings(max_examples=100, deadline=None)
def test_chance_agrees_with_the_uniform_of_the_same_draw(key, citizen, day):
    u = uniform(key, citizen, day)
    assert not chance(key, citizen, day, u)
    assert chance(key, citizen, day, min(1.0, u + 2.0**-52))


# exponential


def test_exponential_table_has_mean_one():
    assert EXP_QUANTILES.mean() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(EXP_QUANTILES) > 0)


def test_exponential_draws_have_mean_one():
    x = _exponentials(KEY, N, 0)
    assert abs(x.mean() - 1.0) < 5 / math.sqrt(N)  # unit exponential: sd 1


def test_exponential_draws_have_an_exponential_tail():
    x = _exponentials(KEY, N, 0)
    for t in (0.5, 1.0, 2.0, 4.0):
        share = float((x > t).mean())
        p = math.exp(-t)
        # the 1024-bin table moves each tail probability by at most one bin
        assert abs(share - p) < 5 * math.sqrt(p * (1 - p) / N) + 1 / 1024, t


def test_exponential_uses_every_bin():
    idx = np.searchsorted(EXP_QUANTILES, _exponentials(KEY, 200_000, 0))
    assert np.unique(idx).size == EXP_QUANTILES.size


# keys and streams


def test_stream_key_is_deterministic():
    assert stream_key(7, "sense.camera") == stream_key(7, "sense.camera")


def test_stream_key_differs_by_seed():
    assert len({stream_key(seed, "act.jaywalking") for seed in range(1000)}) == 1000


def test_stream_key_differs_by_stream():
    assert len({stream_key(1, name) for name in STREAMS}) == len(STREAMS)


def test_stream_key_takes_negative_and_huge_seeds():
    assert stream_key(-1, "pop.age") == stream_key(2**64 - 1, "pop.age")
    assert stream_key(-1, "pop.age") != stream_key(1, "pop.age")


def test_stream_names_are_unique():
    # STREAMS is built from a list; a repeated name would collapse and leave a gap in the numbers.
    assert sorted(STREAMS.values()) == list(range(1, len(STREAMS) + 1))


def test_china_2018_draws_on_the_streams_it_had_before_the_catalog():
    """Its acts keep their numbered streams (attempts that were life events theirs), and so do
    the observations of acts a channel records: the same seed, the same run."""
    from panopticon.world.rng import HASHED, stream_number

    sc = load("china-2018")
    for kind, act in sc.acts.items():
        assert stream_number(f"act.{kind}") < HASHED, kind
        if act.channel != "none":
            assert f"sense.{kind}" in STREAMS, kind


@pytest.mark.parametrize("p", [1.5, 7.6, 100.0])
def test_chance_above_one_is_certain(p):
    # behaviour passes rate x trait, which may exceed 1 for frequent acts and keen citizens
    assert _count_chances(KEY, 10_000, 3, p) == 10_000


def test_chance_far_above_one_is_certain():
    assert _count_chances(KEY, 10_000, 3, 1024.0) == 10_000


def test_a_catalog_item_of_any_name_has_streams_of_its_own():
    """Attempts that were life events keep their streams; a new name hashes to its own."""
    from panopticon.world.rng import HASHED, RENAMED, stream_number

    for new, old in RENAMED.items():
        assert stream_key(1, new) == stream_key(1, old)
    names = ["act.unpaid_parking", "act.loan_application", "sense.unpaid_parking",
             "channel.parking_wardens.hit"]
    assert len({stream_key(1, n) for n in [*names, *STREAMS]}) == len(names) + len(STREAMS)
    assert all(stream_number(n) >= HASHED for n in names)
    assert stream_key(1, "act.unpaid_parking") == stream_key(1, "act.unpaid_parking")


def picked(key, day, lo, hi, p) -> np.ndarray:
    """The citizens of lo..hi-1 that ``picks`` picks, as indices."""
    out = np.empty(max(hi - lo, 0), np.int32)
    return out[:picks(key, day, lo, hi, p, out)].astype(np.int64) + lo


@pytest.mark.parametrize("p", [1e-4, 0.003, 0.05, 0.5])
def test_picks_pick_each_citizen_with_chance_p(p):
    n, days = 400_000, 5
    key = stream_key(1, "test.picks")
    counts = np.zeros(n, np.int64)
    for day in range(days):
        np.add.at(counts, picked(key, day, 0, n, p), 1)
    total = n * days
    assert abs(counts.sum() - p * total) < 5 * math.sqrt(total * p * (1 - p))
    # each citizen's count over the days is binomial: its variance too is the binomial's
    assert counts.var() == pytest.approx(days * p * (1 - p), rel=0.1 if p > 1e-3 else 0.3)


def test_neighbouring_citizens_are_picked_independently():
    n, p = 2_000_000, 0.05
    hits = np.zeros(n, bool)
    hits[picked(stream_key(2, "test.picks"), 0, 0, n, p)] = True
    both = np.count_nonzero(hits[1:] & hits[:-1])
    assert abs(both - p * p * (n - 1)) < 5 * math.sqrt(n * p * p)


@given(lo=st.integers(0, 20_000), size=st.integers(0, 20_000), cut=st.integers(0, 20_000),
       p=st.sampled_from([0.0, 1e-3, 0.02, 0.3, 1.0]), day=st.integers(0, 3000))
@settings(max_examples=100, deadline=None)
def test_picks_do_not_depend_on_where_a_chunk_is_cut(lo, size, cut, p, day):
    """The picks of a range are those of any two ranges that split it: the same citizens on
    any chunk size."""
    key = stream_key(3, "test.picks")
    hi, mid = lo + size, lo + min(cut, size)
    whole = picked(key, day, lo, hi, p)
    np.testing.assert_array_equal(whole, np.concatenate([picked(key, day, lo, mid, p),
                                                         picked(key, day, mid, hi, p)]))
    assert (np.diff(whole) > 0).all() and (whole >= lo).all() and (whole < hi).all()
    if p == 1.0:
        assert whole.size == size


def test_picks_differ_by_day_and_stream():
    a = picked(stream_key(1, "test.picks"), 0, 0, 100_000, 0.01)
    b = picked(stream_key(1, "test.picks"), 1, 0, 100_000, 0.01)
    c = picked(stream_key(1, "test.other"), 0, 0, 100_000, 0.01)
    assert len(np.intersect1d(a, b)) < 30 and len(np.intersect1d(a, c)) < 30


@settings(max_examples=40, deadline=None)
@given(keys, st.integers(0, 3000), st.integers(0, 3100))
def test_smallest_are_the_first_of_the_draws_sorted(key, n, size):
    """The heap's picks are the first ``size`` of a stable sort of the draws, in citizen order."""
    want = np.sort(np.argsort(uniform_array(key, 0, n, 0), kind="stable")[:size])
    got = smallest(key, n, size)
    assert got.dtype == np.int64 and np.array_equal(got, want)


@pytest.mark.parametrize("u", [1e-12, 1e-6, 0.01, 0.2, 0.5, 0.77, 0.999, 1 - 1e-9])
def test_the_normal_quantile_inverts_the_normal_distribution(u):
    z = normal_quantile(u)
    assert 0.5 * math.erfc(-z / math.sqrt(2.0)) == pytest.approx(u, rel=1e-9)


@given(n=st.integers(0, 400), p=st.floats(0, 1), bits=st.integers(0, 2**53 - 1))
@settings(max_examples=300, deadline=None)
def test_a_small_binomial_is_inverted_exactly(n, p, bits):
    """Below a mean of EXACT_MEAN (on the smaller side) the count is the least k whose
    cumulative chance reaches u (a uniform as ``uniform`` draws it), to the rounding of the
    sum of chances."""
    u = bits / 2**53
    k = binomial_quantile(u, n, p)
    assert 0 <= k <= n
    if min(n * p, n * (1 - p)) < EXACT_MEAN and 0 < p < 1 and n > 0:
        cdf = [math.fsum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(m + 1))
               for m in (k - 1, k)]
        assert cdf[1] >= u - 1e-12 and (k == 0 or cdf[0] <= u + 1e-12)


# a uniform this near 0 or 1 (one draw in 5e8) may meet a cumulative sum's rounding, which can
# order two chances' counts either way by one
TAIL = 1e-9


@given(n=st.integers(0, 10**9), p=st.floats(0, 1), q=st.floats(0, 1),
       u=st.floats(0, 1, exclude_max=True), v=st.floats(0, 1, exclude_max=True))
@settings(max_examples=300, deadline=None)
def test_a_binomial_count_is_monotone_in_its_uniform_and_its_chance(n, p, q, u, v):
    """Two runs that invert one uniform at two chances keep their counts in order (fear's
    chilling never adds a post) on either side of EXACT_MEAN and of one half, but for a uniform
    within TAIL of 0 or 1 (binomial_quantile's docstring), and a larger uniform never gives a
    smaller count."""
    (p, q), (u, v) = sorted((p, q)), sorted((u, v))
    exact = [min(n * x, n * (1 - x)) < EXACT_MEAN for x in (p, q)]
    inner = TAIL <= u <= 1.0 - TAIL
    if exact[0] == exact[1] and (p <= 0.5) == (q <= 0.5) and inner:  # same side of EXACT_MEAN
        assert binomial_quantile(u, n, p) <= binomial_quantile(u, n, q)
    assert binomial_quantile(u, n, p) <= binomial_quantile(v, n, p)


@pytest.mark.parametrize(("n", "p"), [(50, 0.3), (1000, 0.01), (20_000, 0.47), (10**7, 0.5)])
def test_binomial_counts_have_the_binomials_mean_and_variance(n, p):
    x = np.array([binomial_quantile(u, n, p) for u in uniform_array(np.uint64(9), 0, 20_000, 0)])
    mean, var = n * p, n * p * (1 - p)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / x.size)
    assert x.var() == pytest.approx(var, rel=0.05)
