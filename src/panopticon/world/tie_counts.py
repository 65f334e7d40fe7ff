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
  ``ties.follows_into``, with :func:`ties._is_friend`'s test in place of the list of friends,
  made only for a pick of the picker's region (one in 20 of china-2018's);
- a citizen's picks are dealt as ``ties._picked`` deals them, from what every pick shares
  (:class:`_Deal`): the first pass of each pick's permutations side by side (the passes of one
  are a chain of hashes, each waiting on the last).
The counts equal the enumeration's exactly (tests/test_tie_counts.py).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .ties import (
    REACHES,
    Ties,
    _club_friend,
    _club_key,
    _club_of,
    _degrees,
    _feistel,
    _near_draw,
    _near_friends,
    _rank_of_slot,
    _region_friend,
    _span,
    _split,
    _walk,
    follows_friend,
    permute,
    weight,
)

_BLOCK = 4096  # citizens whose local pairs one task counts


class _Deal(NamedTuple):
    """What every pick shares: the halves' bits (``ties._split``) of the permutations of the
    slots and of the accounts."""

    slot_a: int
    slot_b: int
    account_a: int
    account_b: int


@njit(cache=True, nogil=True, inline="always")
def _local_side(t: Ties, i: int, wi: float, w: np.ndarray, base: int, far: int,
                hit: np.ndarray) -> None:
    """hit[d - 1]: whether i and i + d are local friends, d = 1..far (no branch: this loop
    vectorises); ``w`` holds the weights from citizen ``base``."""
    for d in range(1, far + 1):
        hit[d - 1] = _near_friends(t, _near_draw(t, i, i + d), wi * w[i + d - base])


@njit(cache=True, nogil=True)
def _local_and_picks(t: Ties, deal: _Deal, lo_b: int, hi_b: int, friends: np.ndarray,
                     follows: np.ndarray, beyond: np.ndarray) -> None:
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
        lo, hi = _span(t, i)
        far = min(t.window, hi - 1 - i)
        _local_side(t, i, w[i - lo_b], w, lo_b, far, hit)
        for d in range(1, far + 1):
            if hit[d - 1]:
                j = i + d
                f[i - lo_b] += 1
                f[j - lo_b] += 1
                g[i - lo_b] += follows_friend(t, i, j)
                g[j - lo_b] += follows_friend(t, j, i)
        friends[i] += f[i - lo_b]
        _deal(t, deal, i, picks)
        follows[i] += g[i - lo_b] + _kept_picks(t, i, lo, hi, w[i - lo_b], picks)
    beyond[0, :top - hi_b] = f[hi_b - lo_b:]
    beyond[1, :top - hi_b] = g[hi_b - lo_b:]


@njit(cache=True, nogil=True)
def _deal(t: Ties, deal: _Deal, i: int, picks: np.ndarray) -> None:
    """picks[k]: ``ties._picked`` of i's pick k, each permutation's first passes side by side
    (few walks go on: each domain is under twice its size)."""
    n = t.age.shape[0]
    slots = n * t.follow_picks
    for k in range(t.follow_picks):
        picks[k] = _feistel(t.k_pick, deal.slot_a, deal.slot_b, i * t.follow_picks + k, True)
    for k in range(t.follow_picks):
        s = picks[k] if picks[k] < slots else \
            _walk(t.k_pick, slots, deal.slot_a, deal.slot_b, picks[k], True)
        picks[k] = _feistel(t.k_account, deal.account_a, deal.account_b,
                            _rank_of_slot(t, s), False)
    for k in range(t.follow_picks):
        if picks[k] >= n:
            picks[k] = _walk(t.k_account, n, deal.account_a, deal.account_b, picks[k], False)


@njit(cache=True, nogil=True)
def _kept_picks(t: Ties, i: int, lo: int, hi: int, wi: float, picks: np.ndarray) -> int:
    """How many of i's picks (of its region [lo, hi), weight wi) ``ties.follows_into`` keeps:
    not i, not a friend it follows, not a repeat of an earlier pick."""
    m = 0
    rkey = _club_key(t, lo)
    club = -1  # i's, found at its first pick of the region
    for k in range(t.follow_picks):
        j = picks[k]
        if j == i:
            continue
        if lo <= j < hi:
            club = _club_of(t, rkey, lo, hi, i) if club < 0 else club
            if _region_friend(t, i, j, wi, rkey, lo, hi, club) and follows_friend(t, i, j):
                continue
        repeat = False
        for e in range(k):
            repeat |= picks[e] == j
        m += not repeat
    return m


def _dealt(t: Ties) -> _Deal:
    """The :class:`_Deal` of a tie model."""
    n = t.age.shape[0]
    return _Deal(*_split(n * t.follow_picks), *_split(n))


@njit(cache=True, nogil=True, parallel=True)
def _count_local_and_picks(t: Ties, deal: _Deal, friends: np.ndarray,
                           follows: np.ndarray) -> None:
    """Blocks in parallel, each adding its own citizens' counts; then each block's counts of
    the citizens past it (a window of the next block's, which another thread may count)."""
    n = t.age.shape[0]
    blocks = (n + _BLOCK - 1) // _BLOCK
    beyond = np.zeros((blocks, 2, t.window), np.int64)
    for b in prange(blocks):
        _local_and_picks(t, deal, b * _BLOCK, min(n, (b + 1) * _BLOCK), friends, follows,
                         beyond[b])
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
    rkey = _club_key(t, lo)
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
    _count_local_and_picks(t, _dealt(t), friends, follows)
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
