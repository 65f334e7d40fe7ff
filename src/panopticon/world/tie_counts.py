"""Each citizen's number of ties per reach, counted for the whole population at a run's build.

The tallies (``tie_tally``) divide by these numbers. Enumerating each citizen's friends one by
one (``ties.friends_into``) draws a hash for each of its 512 local pairs and, for most, another for
the other end's weight, and walks its club's permutation 17 times: about 5 us a citizen, most of
a large run's build. Friends and follows are counted here by the same rules at a lower cost:
- a block's weights are drawn once, and each local pair is tested once, from its first citizen,
  for both ends, in a loop without branches, which the compiler vectorises;
- a club's members are found with one walk each, and each of its pairs is tested once, for both
  ends: a club is a block of a permutation, so the clubs share out the citizens and a thread
  that counts whole clubs writes only their members' counts;
- a pick is dropped when it is the picker, a friend it follows or a repeat, as in
  ``ties.follows_into``, with :func:`ties._is_friend` in place of the list of friends.
The counts equal the enumeration's exactly (tests/test_tie_counts.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from .rng import mix64
from .ties import REACHES, Ties, _club_friend, _degrees, _is_friend, _near_draw, _near_friends, \
    _picked, _span, follows_friend, permute, weight

_BLOCK = 4096  # citizens whose local pairs one task counts


@njit(cache=True, nogil=True, inline="always")
def _local_side(t: Ties, i: int, wi: float, w: np.ndarray, base: int, far: int,
                hit: np.ndarray) -> None:
    """hit[d - 1]: whether i and i + d are local friends, d = 1..far (no branch: this loop
    vectorises); ``w`` holds the weights from citizen ``base``."""
    for d in range(1, far + 1):
        hit[d - 1] = _near_friends(t, _near_draw(t, i, i + d), wi * w[i + d - base])


@njit(cache=True, nogil=True)
def _local_and_picks(t: Ties, lo_b: int, hi_b: int, friends: np.ndarray, follows: np.ndarray,
                     beyond: np.ndarray) -> None:
    """Add the local friends, the local friends followed and the picks kept of citizens
    [lo_b, hi_b): each local pair is tested once, from its first citizen, and counted for both
    ends; the counts of the citizens past the block (at most a window of them) go to
    ``beyond`` (friends, follows), added to theirs once every block is counted."""
    n = t.age.shape[0]
    top = min(hi_b + t.window, n)
    w = np.empty(top - lo_b)
    for j in range(lo_b, top):
        w[j - lo_b] = weight(t, j)
    f = np.zeros(top - lo_b, np.int64)
    g = np.zeros(top - lo_b, np.int64)
    hit = np.empty(t.window, np.bool_)
    picks = np.empty(t.follow_picks, np.int64)
    for i in range(lo_b, hi_b):
        far = min(t.window, _span(t, i)[1] - 1 - i)
        _local_side(t, i, w[i - lo_b], w, lo_b, far, hit)
        for d in range(1, far + 1):
            if hit[d - 1]:
                j = i + d
                f[i - lo_b] += 1
                f[j - lo_b] += 1
                g[i - lo_b] += follows_friend(t, i, j)
                g[j - lo_b] += follows_friend(t, j, i)
        friends[i] += f[i - lo_b]
        follows[i] += g[i - lo_b] + _kept_picks(t, i, picks)
    beyond[0, :top - hi_b] = f[hi_b - lo_b:]
    beyond[1, :top - hi_b] = g[hi_b - lo_b:]


@njit(cache=True, nogil=True)
def _kept_picks(t: Ties, i: int, picks: np.ndarray) -> int:
    """How many of i's picks ``ties.follows_into`` keeps: not i, not a friend it follows, not a
    repeat of an earlier pick."""
    m = 0
    for k in range(t.follow_picks):
        j = _picked(t, i * t.follow_picks + k)
        picks[k] = j
        if j == i or (_is_friend(t, i, j) and follows_friend(t, i, j)):
            continue
        repeat = False
        for e in range(k):
            repeat |= picks[e] == j
        m += not repeat
    return m


@njit(cache=True, nogil=True, parallel=True)
def _count_local_and_picks(t: Ties, friends: np.ndarray, follows: np.ndarray) -> None:
    """Blocks in parallel, each adding its own citizens' counts; then each block's counts of
    the citizens past it (a window of the next block's, which another thread may count)."""
    n = t.age.shape[0]
    blocks = (n + _BLOCK - 1) // _BLOCK
    beyond = np.zeros((blocks, 2, t.window), np.int64)
    for b in prange(blocks):
        _local_and_picks(t, b * _BLOCK, min(n, (b + 1) * _BLOCK), friends, follows, beyond[b])
    for b in range(blocks - 1):
        lo = (b + 1) * _BLOCK
        for k in range(min(t.window, n - lo)):
            friends[lo + k] += beyond[b, 0, k]
            follows[lo + k] += beyond[b, 1, k]


@njit(cache=True, nogil=True)
def _club(t: Ties, lo: int, hi: int, first: int, mates: np.ndarray, wm: np.ndarray,
          friends: np.ndarray, follows: np.ndarray) -> None:
    """Add the friends and friends followed within one club: places [first, first + slots) of
    the permutation of region [lo, hi)."""
    rkey = mix64(t.k_club_perm ^ uint64(lo))  # ties._block_mates' permutation
    m = min(first + t.club_slots, hi - lo) - first
    for k in range(m):
        mates[k] = lo + permute(rkey, hi - lo, first + k, False)
        wm[k] = weight(t, mates[k])
    for a in range(m):
        i = mates[a]
        for b in range(a + 1, m):
            j = mates[b]
            if _club_friend(t, i, j, wm[a] * wm[b]):
                friends[i] += 1
                friends[j] += 1
                follows[i] += follows_friend(t, i, j)
                follows[j] += follows_friend(t, j, i)


@njit(cache=True, nogil=True, parallel=True)
def _count_clubs(t: Ties, clubs: np.ndarray, friends: np.ndarray, follows: np.ndarray) -> None:
    """Every club of every region; ``clubs`` holds each region's first club's number, then the
    number of clubs."""
    for c in prange(clubs[-1]):
        r = np.searchsorted(clubs, c, side="right") - 1
        mates = np.empty(t.club_slots, np.int64)
        wm = np.empty(t.club_slots)
        _club(t, t.starts[r], t.starts[r + 1], (c - clubs[r]) * t.club_slots, mates, wm,
              friends, follows)


def friends_and_follows(t: Ties) -> tuple[np.ndarray, np.ndarray]:
    """Every citizen's numbers of friends and of accounts followed (uint16), as
    ``ties.friends_into`` and ``ties.follows_into`` would enumerate them."""
    n = t.age.shape[0]
    friends, follows = np.zeros(n, np.uint16), np.zeros(n, np.uint16)
    _count_local_and_picks(t, friends, follows)
    per_region = (np.diff(t.starts) + t.club_slots - 1) // t.club_slots
    _count_clubs(t, np.concatenate(([0], np.cumsum(per_region))), friends, follows)
    return friends, follows


def sizes(t: Ties, reaches: list[str]) -> dict[str, np.ndarray]:
    """Each reach's number of ties per citizen (uint16; follows: accounts followed), counted in
    parallel (a tally keeps them a byte each, ``tie_tally.TieStore``)."""
    out: dict[str, np.ndarray] = {}
    if {"friends", "follows"} & set(reaches):
        out["friends"], out["follows"] = friends_and_follows(t)
    for r in reaches:
        if r not in out:
            out[r] = np.empty(t.age.shape[0], np.uint16)
            _degrees(t, REACHES.index(r), t.age.shape[0], out[r])
    return {r: out[r] for r in reaches}
