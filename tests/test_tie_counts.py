"""The numbers of friends and follows counted pair by pair (tie_counts) are exactly what
enumerating each citizen's ties gives, for any population, tie shape and thread count."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panopticon.language import scenario
from panopticon.world.engine import kernel_threads
from panopticon.world.population import build
from panopticon.world.tie_counts import friends_and_follows, sizes
from panopticon.world.ties import FOLLOWS, FRIENDS, REACHES, TieParams, degrees, make_ties

CHINA = scenario.load("china-2018")


def ties_of(n: int, seed: int, params: TieParams = TieParams(), provinces: int = 0):
    changes = {"population.size": n}
    if provinces:  # a few provinces: regions of every size down to a handful of citizens
        changes["population.regions"] = scenario.province_codes()[:provinces]
    return make_ties(build(CHINA.with_changes(**changes).population, seed), seed, params)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 9000), seed=st.integers(0, 2**32), provinces=st.sampled_from([0, 1, 3]),
       window=st.integers(1, 300), club_slots=st.integers(2, 40),
       follow_picks=st.integers(0, 12), threads=st.sampled_from([1, 2]))
def test_counts_are_the_enumerated_numbers_of_ties(n, seed, provinces, window, club_slots,
                                                    follow_picks, threads):
    """Up to 9,000 citizens: two or three blocks of tie_counts' 4,096, whose local pairs across
    a block's end are counted by the block before it."""
    params = TieParams(window=window, club_slots=club_slots, follow_picks=follow_picks)
    t = ties_of(n, seed, params, provinces)
    with kernel_threads(threads):
        friends, follows = friends_and_follows(t)
    assert friends.dtype == follows.dtype == np.uint16
    assert np.array_equal(friends, degrees(t, FRIENDS))
    assert np.array_equal(follows, degrees(t, FOLLOWS))


def test_sizes_counts_each_reach_asked():
    t = ties_of(20_000, 3)
    got = sizes(t, ["school", "follows", "household"])
    assert list(got) == ["school", "follows", "household"]
    for r, size in got.items():
        assert size.dtype == np.uint16
        assert np.array_equal(size, degrees(t, REACHES.index(r))), r
    assert np.array_equal(sizes(t, ["friends"])["friends"], degrees(t, FRIENDS))
