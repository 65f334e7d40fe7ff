"""The synthetic population matches the census and CNNIC shares it is built from."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panopticon.language import scenario
from panopticon.world.population import (
    ADOPT_LEVELS,
    ADOPT_STORED,
    AGE_BANDS,
    CHILD,
    DISPOSITION_CUTS,
    HEAD,
    MANAGER,
    URBAN,
    Population,
    _quantile_rank,
    adoption_rank,
    adoption_ranks,
    adoption_threshold,
    build,
    share_on,
)
from panopticon.world.rng import EXP_QUANTILES

N = 200_000
SEED = 1
CNNIC_DATES = (dt.date(2017, 6, 30), dt.date(2018, 12, 31))
ARRAYS = ("region", "age", "income", "flags", "adopt", "rank", "parent")


def spec(size: int = N) -> scenario.Population:
    return scenario.load("china-2018").with_changes(**{"population.size": size}).population


@pytest.fixture(scope="module")
def pop() -> Population:
    return build(spec(), SEED)


def users(pop: Population, points, date: dt.date) -> np.ndarray:
    return pop.rank < adoption_threshold(points, date, pop.regions)


def test_every_array_has_one_entry_per_citizen(pop):
    assert pop.size == N
    for name in ARRAYS:
        assert getattr(pop, name).shape == (N,), name


def test_each_region_holds_its_census_share_to_one_citizen(pop):
    counts = np.bincount(pop.region, minlength=len(pop.regions.codes))
    expected = pop.regions.census / pop.regions.total * N
    assert np.abs(counts - expected).max() <= 1.0


def test_citizens_are_laid_out_region_by_region(pop):
    assert np.all(np.diff(pop.region.astype(np.int64)) >= 0)


@pytest.mark.parametrize("band", AGE_BANDS)
def test_age_band_share_matches_the_scenario(pop, band):
    share = float(np.mean(pop.band == AGE_BANDS.index(band)))
    assert abs(share - spec().age_shares[band]) < 0.01


def test_urban_share_matches_the_scenario(pop):
    share = float(np.mean((pop.flags & URBAN) != 0))
    assert abs(share - spec().urban_share) < 0.01


def test_management_roles_go_to_adults_only(pop):
    managers = (pop.flags & MANAGER) != 0
    assert not np.any(managers & (pop.band == CHILD))
    assert abs(managers[pop.band != CHILD].mean() - spec().management_share) < 0.005


def test_children_and_only_children_have_a_parent(pop):
    np.testing.assert_array_equal(pop.parent >= 0, pop.band == CHILD)


def test_every_childs_parent_is_an_adult_under_60(pop):
    parents = pop.parent[pop.parent >= 0]
    assert np.all(pop.band[parents] != CHILD)
    assert np.all(pop.band[parents] != AGE_BANDS.index("60+"))


def test_every_childs_parent_heads_its_household_and_every_head_is_an_adult(pop):
    assert np.all(pop.flags[pop.parent[pop.parent >= 0]] & HEAD)
    assert np.all(pop.band[(pop.flags & HEAD) != 0] != CHILD)


def test_every_childs_parent_lives_in_the_same_region_and_household(pop):
    child = np.flatnonzero(pop.parent >= 0)
    parent = pop.parent[child]
    np.testing.assert_array_equal(pop.region[parent], pop.region[child])
    np.testing.assert_array_equal(pop.flags[parent] & URBAN, pop.flags[child] & URBAN)


def test_every_childs_parent_is_placed_before_the_child(pop):
    child = np.flatnonzero(pop.parent >= 0)
    parent = pop.parent[child]
    assert np.all(parent < child)
    assert np.all(child - parent <= 4)  # households have at most five members


def test_income_deciles_hold_ten_percent_each(pop):
    np.testing.assert_array_equal(np.bincount(pop.income, minlength=10), np.full(10, N // 10))


def test_town_dwellers_earn_more(pop):
    urban = (pop.flags & URBAN) != 0
    assert pop.income[urban].mean() > pop.income[~urban].mean() + 1


@pytest.mark.parametrize("date", CNNIC_DATES, ids=str)
@pytest.mark.parametrize("what", ["internet_users", "payment_users"])
def test_digital_users_match_the_cnnic_figures(pop, what, date):
    points = getattr(spec(), what)
    target = share_on(points, date, pop.regions.total)
    share = float(users(pop, points, date).mean())
    assert share == pytest.approx(target, rel=1e-3)


@pytest.mark.parametrize("date", CNNIC_DATES, ids=str)
def test_payment_users_are_internet_users(pop, date):
    internet = users(pop, spec().internet_users, date)
    payment = users(pop, spec().payment_users, date)
    assert payment.sum() > 0
    assert not np.any(payment & ~internet)


def test_internet_users_only_join_over_time(pop):
    earlier = users(pop, spec().internet_users, CNNIC_DATES[0])
    later = users(pop, spec().internet_users, CNNIC_DATES[1])
    assert not np.any(earlier & ~later)


def test_the_young_adopt_before_the_old(pop):
    young = pop.adopt[pop.band == AGE_BANDS.index("15-29")].mean()
    old = pop.adopt[pop.band == AGE_BANDS.index("60+")].mean()
    assert young < old


def test_adoption_levels_are_even_quantiles(pop):
    counts = np.bincount(pop.adopt, minlength=ADOPT_STORED)
    assert counts.size == ADOPT_STORED
    assert counts.max() - counts.min() <= 1


def test_adoption_ranks_keep_the_levels_and_spread_within_them(pop):
    """A rank's top byte is the citizen's stored level; within a level, the place (its low
    byte) is spread over the 256 places alike, so that a threshold inside a level admits its
    share of the level's citizens, as the order of their latents did."""
    rank = pop.rank
    np.testing.assert_array_equal(rank >> 8, pop.adopt)
    places = np.bincount(rank & 255, minlength=256)
    assert places.min() > 0.7 * N / 256 and places.max() < 1.3 * N / 256
    for thr in (1, 100, 12_345, 32_768 + 77, 65_535):
        level = N / ADOPT_STORED
        admitted = np.count_nonzero(rank < thr)
        assert abs(admitted - thr * N / ADOPT_LEVELS) <= 4 * level ** 0.5 + 2, thr


@given(first=st.integers(0, 2**44 - 300), levels=st.lists(st.integers(0, 255), min_size=1,
                                                             max_size=300))
@settings(max_examples=50, deadline=None)
def test_ranks_stepped_over_consecutive_citizens_are_each_citizens_rank(first, levels):
    """adoption_ranks steps each citizen's order from the one before (adoption_order): the
    same ranks as each citizen's own, wherever the run starts."""
    adopt = np.array(levels, np.uint8)
    each = [adoption_rank(level, first + j) for j, level in enumerate(levels)]
    np.testing.assert_array_equal(adoption_ranks(adopt, first), each)


def test_one_seed_builds_the_same_population(pop):
    again = build(spec(), SEED)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(again, name), getattr(pop, name), err_msg=name)


def test_another_seed_builds_another_population(pop):
    other = build(spec(), SEED + 1)
    for name in ("age", "income", "flags", "adopt", "parent"):
        assert not np.array_equal(getattr(other, name), getattr(pop, name)), name


@given(size=st.integers(1, 5000))
@settings(max_examples=25, deadline=None)
def test_regions_and_deciles_are_exact_for_any_size(size):
    small = build(spec(size), SEED)
    regions = np.bincount(small.region, minlength=len(small.regions.codes))
    assert np.abs(regions - small.regions.census / small.regions.total * size).max() <= 1.0
    assert np.abs(np.bincount(small.income, minlength=10) - size / 10).max() <= 1.0
    assert np.all(small.parent < np.arange(size))


@given(values=st.lists(st.one_of(st.integers(-3, 3).map(float),
                                 st.floats(-1e6, 1e6, allow_nan=False)), max_size=3000),
       levels=st.sampled_from([1, 10, 7, ADOPT_LEVELS]))
@settings(max_examples=60, deadline=None)
def test_quantile_ranks_are_the_stable_sorts_levels(values, levels):
    """Ranks without a sort equal a stable sort's, ties (many here) in index order."""
    x = np.array(values, dtype=float)
    expected = np.empty(x.size, np.uint16)
    expected[np.argsort(x, kind="stable")] = np.arange(x.size) * levels // max(x.size, 1)
    np.testing.assert_array_equal(_quantile_rank(x, levels, np.uint16), expected)


@pytest.mark.parametrize("values", [[0.0, 5e-324], [-1e308, 1e308, 0.0, 5.0], [1.0, 1.0 + 2**-52]],
                         ids=["subnormal range", "overflowing range", "one ulp"])
def test_quantile_ranks_hold_at_the_ends_of_floats(values):
    x = np.array(values * 40)
    expected = np.empty(x.size, np.uint16)
    expected[np.argsort(x, kind="stable")] = np.arange(x.size) * ADOPT_LEVELS // x.size
    np.testing.assert_array_equal(_quantile_rank(x, ADOPT_LEVELS, np.uint16), expected)


def least_mean_tops(levels: int) -> tuple[tuple[int, ...], float]:
    """The cuts of EXP_QUANTILES' equally likely bins into ``levels`` levels whose largest values
    have the least mean over the bins, and that mean: by dynamic programming over every cut."""
    n = EXP_QUANTILES.shape[0]
    b = np.arange(n + 1)
    top = np.concatenate([[0.0], EXP_QUANTILES])  # top[e]: the largest of bins below e
    best, back = np.where(b == 0, 0.0, np.inf), []
    for _ in range(levels):
        cost = best[None, :] + (b[:, None] - b[None, :]) * top[:, None]  # [end, start]
        cost[b[:, None] <= b[None, :]] = np.inf
        start = cost.argmin(axis=1)
        best = cost[b, start]
        back.append(start)
    end, cuts = n, []
    for start in reversed(back[1:]):
        end = int(start[end])
        cuts.append(end)
    return tuple(reversed(cuts)), float(best[n] / n)


def test_the_disposition_cuts_give_the_least_mean_bound_of_eight_levels():
    """The levels kept above the age band are the eight that bound the screen of the posts
    against the line closest on average: 1.28 times the mean disposition, where two levels
    (one bit) could at best give 2.75."""
    cuts, mean = least_mean_tops(len(DISPOSITION_CUTS) + 1)
    assert cuts == DISPOSITION_CUTS
    assert mean == pytest.approx(1.275, abs=5e-4)
    assert least_mean_tops(2)[1] == pytest.approx(2.754, abs=5e-4)
