"""Ties between citizens, recomputed from the seed: no memory per tie unless a CSR form is built.

Five reaches, each enumerable from any citizen by a Numba function of ``(Ties, i, out)``:

* **household**: the head of family and its children (``population.parent_of``; the
  household's other adults are no ties of this reach: a sanction that a household bears meets
  every member, ``consequences``).
* **school**: children (age band 0-14) in the same block of ``school_slots`` consecutive citizens
  of a province. Citizens are laid out household by household, so a block is a neighbourhood and
  siblings share a school.
* **workplace**: adults of working age (15-59) in the same block of ``work_slots`` places of a
  pseudo-random permutation of their province (people commute, so colleagues are not neighbours).
  The permutation is a 4-round Feistel network with cycle walking: both directions cost a few
  hashes, so a citizen's colleagues are found without a table. A workplace is also the employer
  that bears a sanction for a worker (``consequences``).
* **friends** (symmetric): a one-dimensional geometric inhomogeneous random graph (GIRG, Bringmann,
  Keusch and Lengler 2019) over the citizen ordering. Citizen i has a sociability weight w_i
  (Pareto, index ``tail``; mean 1) and i, j at distance d = |i - j| <= ``window`` in one province
  are friends with probability min(1, (reach w_i w_j / d)**2), decided by a hash of the unordered
  pair. Near neighbours are friends of each other, which gives clustering as a Watts-Strogatz
  lattice does; the weights make the degree distribution heavy-tailed (degree is proportional to
  w_i). A small share of long-range friendships comes from clubs: blocks of ``club_slots`` places
  of another permutation of the province, a pair of club mates farther apart than ``window``
  being friends with probability ``club_rate`` w_i w_j. Both parts are symmetric by construction
  and computable from either end.
* **follows** (directed): i follows each friend with chance ``follow_friend`` (independently in
  each direction, which makes follows between friends mostly reciprocated), and makes
  ``follow_picks`` picks of accounts from a national popularity ranking (a permutation of all
  citizens): a few accounts collect most follows, as on microblogs. The picks of all citizens
  are ``follow_picks`` x n slots, rank r owning a run of them sized by the Zipf law (density
  proportional to r**-follow_zipf), and a pseudo-random permutation deals the slots to citizens.
  So both ends are enumerable: i's picks are its slots' ranks, and account a's pickers are the
  owners of its rank's slots, which lets a change of a's standing reach its followers without a
  stored tie (``tie_tally``). A pick that repeats one of i's follows is dropped from both ends.
  Follows are defined for every citizen; who is online on a day is the caller's mask (adoption
  changes by day, ties do not).

Targets (defaults): a mean of about 15 friends, Dunbar's "sympathy group" (Zhou, Sornette, Hill and
Dunbar 2005, layers of 5, 15, 50, 150); average clustering 0.2-0.6, inside the range of social
networks in Newman 2003 (SIAM Review 45, table 1) and above Facebook's 0.14 at degree 100 (Ugander
et al. 2011), an assumption; a degree tail with exponent 2.5-3.5 (an assumption: social networks
are heavy-tailed, rarely exact power laws); follows' edge reciprocity about 0.3, from Twitter's
22.1% of connected pairs being mutual (Kwak et al. 2010), which is 2 x 0.221 / 1.221 = 0.36 of
edges; in-degree exponent about 1 + 1 / follow_zipf = 2.3 (Kwak et al. 2010: 2.276).

Cost (measured on this 2-core machine, one thread): a citizen's friends take about 5 us to
enumerate (2 ``window`` pair draws and 2 ``club_slots`` permutation steps for ~15 ties, ~300 ns
per tie), a pick of an account a few hundred ns (two permutations and the Zipf law's inverse),
colleagues ~90 ns, schoolmates and family ~50-100 ns; nothing is allocated. Every citizen's
numbers of friends and follows are counted by ``tie_counts``, which shares the work of the
pairs' two ends. Memory: 0 bytes per tie; the kernels read the regions' first citizens, age and
flags. Stages keep counts per citizen, not ties (``tie_tally``). :func:`build_csr` stores 8
bytes per citizen plus 4 per tie (friends 99 MB at 1.41 M citizens) for the measures below and
the tests.

Every draw is a pure function of (seed, stream, citizen or pair), so ties do not depend on the
chunk, the thread or which end asks; :func:`tie_share` inherits that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, prange, uint64

from .population import HEAD, HOUSEHOLD_MAX, Population, band, is_child, parent_of, region_of
from .rng import draw_bits, mix64, stream_key
from .today import is_marked

FRIENDS, FOLLOWS, HOUSEHOLD, WORKPLACE, SCHOOL = range(5)
REACHES = ("friends", "follows", "household", "workplace", "school")
WORK_BANDS = (1, 3)  # first and last AGE_BANDS of working age: 15-29 .. 45-59
_WEIGHT_LEVELS = 1024
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
SIDE_BLOCK = 64  # near places whose draws friends_into makes at a time (_side)
_BUILD_BLOCK = 4096


@dataclass(frozen=True)
class TieParams:
    """Shape of the tie model; the defaults aim at the targets of the module docstring."""

    window: int = 256  # farthest index distance of a local friendship
    reach: float = 4.0  # local friendship scale: distance at which two mean weights stop being sure
    tail: float = 1.8  # Pareto index of sociability weights (degree tail exponent ~ tail + 1)
    club_slots: int = 16
    club_rate: float = 0.1  # chance a pair of mean-weight club mates are friends
    work_slots: int = 16  # places per workplace block (about 63% are of working age)
    school_slots: int = 64  # places per school block (about 18% are children)
    follow_friend: float = 0.6  # chance of following a given friend
    follow_picks: int = 8  # picks of popular accounts per citizen
    follow_zipf: float = 0.78  # popularity rank density exponent


class Ties(NamedTuple):
    """Everything a tie kernel reads: stream keys, parameters and the population arrays used."""

    k_weight: np.uint64
    k_local: np.uint64
    k_club: np.uint64
    k_club_perm: np.uint64
    k_work: np.uint64
    k_follow: np.uint64
    k_pick: np.uint64
    k_account: np.uint64
    window: int
    reach: float
    club_slots: int
    club_rate: float
    work_slots: int
    school_slots: int
    follow_friend: float
    follow_picks: int
    zipf_top: float  # n**(1 - follow_zipf) and its exponent's inverse: the CDF of popularity
    zipf_power: float  # ranks is F(x) = (x**(1 / zipf_power) - 1) / (zipf_top - 1), x in [1, n]
    weights: np.ndarray  # float64 Pareto quantiles, indexed by a citizen's top 10 hash bits
    starts: np.ndarray  # int64 first citizen of each region, and n
    age: np.ndarray
    flags: np.ndarray


def make_ties(pop: Population, seed: int, params: TieParams = TieParams()) -> Ties:
    """The tie model of a population under one seed (arrays are shared, not copied)."""
    keys = [stream_key(seed, f"tie.{s}") for s in
            ("weight", "local", "club", "club_perm", "work", "follow", "pick", "account")]
    return Ties(*keys, params.window, params.reach, params.club_slots, params.club_rate,
                params.work_slots, params.school_slots, params.follow_friend,
                params.follow_picks, float(pop.size) ** (1.0 - params.follow_zipf),
                1.0 / (1.0 - params.follow_zipf),
                pareto_levels(params.tail), pop.starts, pop.age, pop.flags)


def pareto_levels(tail: float) -> np.ndarray:
    """Pareto quantiles at the midpoints of equal-probability bins, scaled to mean 1.

    A table lookup on hash bits instead of a power per citizen; the top bin caps weights at
    (2 * levels) ** (1 / tail) times the minimum, far above any window's reach.
    """
    u = (np.arange(_WEIGHT_LEVELS) + 0.5) / _WEIGHT_LEVELS
    w = (1.0 - u) ** (-1.0 / tail)
    return w / w.mean()


# ---------------------------------------------------------------- draws and permutations


@njit(cache=True, nogil=True)
def _unit(bits: np.uint64) -> float:
    return float(np.int64(bits >> uint64(11))) * _TO_UNIT


@njit(cache=True, nogil=True)
def weight(t: Ties, i: int) -> float:
    """Citizen i's sociability (mean 1): a fixed trait, redrawn from the seed when needed."""
    return t.weights[np.int64(draw_bits(t.k_weight, i, 0) >> uint64(54))]


@njit(cache=True, nogil=True)
def _pair_unit(key: np.uint64, a: int, b: int) -> float:
    """A uniform for the ordered pair (a, b); callers order it when the tie is symmetric."""
    return _unit(mix64(draw_bits(key, a, 0) ^ uint64(b)))


@njit(cache=True, nogil=True)
def _split(n: int) -> tuple[int, int]:
    """Bits of the two Feistel halves for a domain of n: their sum is the bits n needs (>= 2)."""
    bits = 2
    while (1 << bits) < n:
        bits += 1
    return bits // 2, bits - bits // 2


@njit(cache=True, nogil=True)
def permute(key: np.uint64, n: int, x: int, forward: bool) -> int:
    """A pseudo-random permutation of [0, n) (or its inverse), by cycle walking.

    Each round xors one half with a hash of the other, so running the rounds backwards inverts
    them; a domain under twice n (for n > 2) makes the expected walk shorter than two passes.
    """
    abits, bbits = _split(n)
    return _walk(key, n, abits, bbits, x, forward)


@njit(cache=True, nogil=True)
def _walk(key: np.uint64, n: int, abits: int, bbits: int, x: int, forward: bool) -> int:
    """:func:`permute` with the halves' bits of ``_split(n)`` given, for a caller that permutes
    one domain many times; x may be a value of the walk past its first pass (it goes on)."""
    while True:
        x = _feistel(key, abits, bbits, x, forward)
        if x < n:
            return x


@njit(cache=True, nogil=True, inline="always")
def _feistel(key: np.uint64, abits: int, bbits: int, x: int, forward: bool) -> int:
    """One pass of the 4 rounds over the domain of abits + bbits bits: no branch, so that a
    caller can run the first passes of several walks side by side."""
    amask = (1 << abits) - 1
    bmask = (1 << bbits) - 1
    hi, lo = x >> bbits, x & bmask
    for k in range(4):
        r = k if forward else 3 - k
        if r % 2 == 0:
            hi ^= np.int64(draw_bits(key, lo, r) >> uint64(11)) & amask
        else:
            lo ^= np.int64(draw_bits(key, hi, r) >> uint64(11)) & bmask
    return (hi << bbits) | lo


@njit(cache=True, nogil=True)
def _span(t: Ties, i: int) -> tuple[int, int]:
    r = region_of(t.starts, i)
    return t.starts[r], t.starts[r + 1]


@njit(cache=True, nogil=True)
def _block_mates(key: np.uint64, lo: int, hi: int, i: int, slots: int, out: np.ndarray,
                 m: int) -> int:
    """Write the others in i's block of a permutation of [lo, hi) to out[m:]; return the new m."""
    n = hi - lo
    rkey = mix64(key ^ uint64(lo))  # one permutation per region
    first = permute(rkey, n, i - lo, True) // slots * slots
    for y in range(first, min(first + slots, n)):
        j = lo + permute(rkey, n, y, False)
        if j != i:
            out[m] = j
            m += 1
    return m


# ---------------------------------------------------------------- one citizen's ties


@njit(cache=True, nogil=True, inline="always")
def household_head(age: np.ndarray, flags: np.ndarray, i: int) -> tuple[int, bool]:
    """The head of i's family and whether it is i's parent (a tie of i's); -1 for an adult who
    does not head a household (no family ties)."""
    head = parent_of(age, flags, i)
    if head >= 0:
        return head, True
    return (np.int64(i) if flags[i] & HEAD else -1), False  # int64: a prange's i is unsigned


@njit(cache=True, nogil=True, inline="always")
def household_end(flags: np.ndarray, head: int) -> int:
    """The citizen after the last that ``head``'s household may hold."""
    end = head + 1
    while end < min(head + HOUSEHOLD_MAX, flags.shape[0]) and not flags[end] & HEAD:
        end += 1
    return end


@njit(cache=True, nogil=True, inline="always")
def household_span(flags: np.ndarray, i: int) -> tuple[int, int]:
    """The household whose span of citizens holds i, as (its head, the citizen after its
    span); (-1, -1) where none does (an adult who neither heads nor joins a household): the
    only citizens whose family ties i may be."""
    head = np.int64(i)
    while head > i - HOUSEHOLD_MAX and head >= 0 and not flags[head] & HEAD:
        head -= 1
    if head <= i - HOUSEHOLD_MAX or head < 0:
        return -1, -1
    end = household_end(flags, head)
    return (head, end) if i < end else (-1, -1)


@njit(cache=True, nogil=True)
def household_into(t: Ties, i: int, out: np.ndarray) -> int:
    """i's family: its parent and siblings, or its children (none for an adult who does not
    head a household); returns how many were written."""
    head, parent = household_head(t.age, t.flags, i)
    if head < 0:
        return 0
    m = 0
    if parent:
        out[0] = head
        m = 1
    for j in range(head + 1, household_end(t.flags, head)):
        if j != i and is_child(t.age[j]):
            out[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True, inline="always")
def household_shares(age: np.ndarray, flags: np.ndarray, marks: np.ndarray, lo: int,
                     out: np.ndarray) -> None:
    """Add to ``out[k]`` the share of citizen lo + k's family ties (:func:`household_into`'s)
    that are marked in ``marks`` (bits laid out as ``today.mark`` sets them; none without
    family ties): counted when read, so that nothing is kept or made for all n.

    A range of citizens, not one: an inlined helper called per citizen with arrays that it
    reads in a loop costs a pair of reference counts per array and call (two thirds of a
    reading's household shares, 2026-12-04: ``benchmarks/refcounts.py``)."""
    for k in range(out.shape[0]):
        i = lo + k
        head, parent = household_head(age, flags, i)
        if head < 0:
            continue
        m = np.int64(parent)
        flagged = m * is_marked(marks, head)
        for j in range(head + 1, household_end(flags, head)):
            if j != i and is_child(age[j]):
                flagged += is_marked(marks, j)
                m += 1
        if m > 0:
            out[k] += flagged / m


@njit(cache=True, nogil=True)
def school_into(t: Ties, i: int, out: np.ndarray) -> int:
    """A child's schoolmates: the other children of its neighbourhood block (none for adults)."""
    if not is_child(t.age[i]):
        return 0
    lo, hi = _span(t, i)
    first = lo + (i - lo) // t.school_slots * t.school_slots
    m = 0
    for j in range(first, min(first + t.school_slots, hi)):
        if j != i and is_child(t.age[j]):
            out[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True)
def _working(t: Ties, j: int) -> bool:
    return WORK_BANDS[0] <= band(t.age[j]) <= WORK_BANDS[1]


@njit(cache=True, nogil=True)
def workplace_into(t: Ties, i: int, out: np.ndarray) -> int:
    """A working-age adult's colleagues: the working-age others of its workplace block."""
    if not _working(t, i):
        return 0
    lo, hi = _span(t, i)
    c = _block_mates(t.k_work, lo, hi, i, t.work_slots, out, 0)
    m = 0
    for k in range(c):  # compact in place: m <= k
        if _working(t, out[k]):
            out[m] = out[k]
            m += 1
    return m


@njit(cache=True, nogil=True)
def _pair_scale(t: Ties, wi: float, j: int) -> float:
    """w_i w_j for a pair's scale: the product of the two weights first, so that it is the same
    from either end (a product commutes; (reach w_i) w_j and (reach w_j) w_i may differ)."""
    return wi * weight(t, j)


@njit(cache=True, nogil=True)
def _near_draw(t: Ties, i: int, j: int) -> float:
    """u d**2 of a pair at distance d <= window: friends when under (reach w_i w_j)**2."""
    d = abs(i - j)
    return _unit(draw_bits(t.k_local, min(i, j), d)) * np.float64(d * d)


@njit(cache=True, nogil=True, inline="always")
def _near_friends(t: Ties, ud2: float, scale: float) -> bool:
    """Whether a pair within the window with :func:`_near_draw` ud2 and weights' product
    ``scale`` (w_i w_j) are friends: ud2 < (reach w_i w_j)**2."""
    x = t.reach * scale
    return ud2 < x * x


@njit(cache=True, nogil=True, inline="always")
def _near_draws(t: Ties, i: int, step: int, d0: int, ud2: np.ndarray) -> None:
    """:func:`_near_draw` of i's pairs with i + step * d for d = d0.. into ``ud2``: a loop
    without branches, which vectorises."""
    for k in range(ud2.shape[0]):
        ud2[k] = _near_draw(t, i, i + step * (d0 + k))


@njit(cache=True, nogil=True)
def _side(t: Ties, i: int, wi: float, cap: float, step: int, far: int, out: np.ndarray,
          m: int, ud2: np.ndarray) -> int:
    """Friends at i + step * d for d = 1..far: pairs with u d**2 < (reach w_i w_j)**2.

    The pairs' draws are made :data:`SIDE_BLOCK` at a time in a loop of their own (``ud2``
    their room), then tested against the largest weight first (``cap``), so that most far
    places cost a draw and no weight (a citizen's 512 near places: 1.45 us against 2.4 with
    the draw and the test in one loop, scratch ``sidevar.py``).
    """
    for d0 in range(1, far + 1, SIDE_BLOCK):
        block = ud2[:min(SIDE_BLOCK, far + 1 - d0)]
        _near_draws(t, i, step, d0, block)
        for k in range(block.shape[0]):
            if block[k] < cap:
                j = i + step * (d0 + k)
                if _near_friends(t, block[k], _pair_scale(t, wi, j)):
                    out[m] = j
                    m += 1
    return m


@njit(cache=True, nogil=True)
def _local_friends(t: Ties, i: int, wi: float, lo: int, hi: int, out: np.ndarray) -> int:
    cap = (t.reach * wi * t.weights[-1]) ** 2 * (1.0 + 1e-9)  # above any rounding
    ud2 = np.empty(SIDE_BLOCK)
    m = _side(t, i, wi, cap, -1, min(t.window, i - lo), out, 0, ud2)
    return _side(t, i, wi, cap, 1, min(t.window, hi - 1 - i), out, m, ud2)


@njit(cache=True, nogil=True)
def _club_friend(t: Ties, i: int, j: int, scale: float) -> bool:
    """Whether club mates i and j are friends: a pair farther apart than the window (nearer
    pairs are the local model's to decide), with chance club_rate w_i w_j (``scale``)."""
    far = abs(j - i) > t.window
    return far and _pair_unit(t.k_club, min(i, j), max(i, j)) < t.club_rate * scale


@njit(cache=True, nogil=True)
def _club_friends(t: Ties, i: int, wi: float, lo: int, hi: int, out: np.ndarray,
                  m: int) -> int:
    c = _block_mates(t.k_club_perm, lo, hi, i, t.club_slots, out, m)
    for k in range(m, c):  # compact in place
        if _club_friend(t, i, out[k], _pair_scale(t, wi, out[k])):
            out[m] = out[k]
            m += 1
    return m


@njit(cache=True, nogil=True)
def friends_into(t: Ties, i: int, out: np.ndarray) -> int:
    """i's friends (local ones in index order, then club ones); j is i's friend iff i is j's."""
    lo, hi = _span(t, i)
    wi = weight(t, i)
    m = _local_friends(t, i, wi, lo, hi, out)
    return _club_friends(t, i, wi, lo, hi, out, m)


@njit(cache=True, nogil=True)
def _is_friend(t: Ties, i: int, j: int) -> bool:
    """Whether j is among :func:`friends_into` i, without enumerating i's friends."""
    if i == j or region_of(t.starts, i) != region_of(t.starts, j):
        return False
    lo, hi = _span(t, i)
    rkey = _club_key(t, lo)
    club = _club_of(t, rkey, lo, hi, i) if abs(i - j) > t.window else -1
    return _region_friend(t, i, j, weight(t, i), rkey, lo, hi, club)


@njit(cache=True, nogil=True)
def _club_key(t: Ties, lo: int) -> np.uint64:
    """The key of the clubs' permutation of the region from citizen lo (``_block_mates``')."""
    return mix64(t.k_club_perm ^ uint64(lo))


@njit(cache=True, nogil=True)
def _club_of(t: Ties, rkey: np.uint64, lo: int, hi: int, i: int) -> int:
    """The club of i, of region [lo, hi) whose clubs' key is ``rkey``."""
    return permute(rkey, hi - lo, i - lo, True) // t.club_slots


@njit(cache=True, nogil=True)
def _region_friend(t: Ties, i: int, j: int, wi: float, rkey: np.uint64, lo: int, hi: int,
                  club: int) -> bool:
    """:func:`_is_friend` for j != i of i's region [lo, hi), from what is the same for all of
    i's j: its weight wi, the clubs' key and its club (read only when j is beyond the window)."""
    if abs(i - j) <= t.window:
        return _near_friends(t, _near_draw(t, i, j), _pair_scale(t, wi, j))
    same = _club_of(t, rkey, lo, hi, j) == club
    return same and _club_friend(t, i, j, _pair_scale(t, wi, j))


@njit(cache=True, nogil=True)
def _slot_start(t: Ties, rank: int) -> int:
    """The first pick slot of a popularity rank: slots x F(rank + 1), F the ranks' Zipf CDF."""
    n = t.age.shape[0]
    if rank >= n:
        return n * t.follow_picks
    share = (float(rank + 1) ** (1.0 / t.zipf_power) - 1.0) / (t.zipf_top - 1.0)
    return min(np.int64(n * t.follow_picks * share), n * t.follow_picks)


@njit(cache=True, nogil=True)
def _rank_of_slot(t: Ties, s: int) -> int:
    """The popularity rank that owns pick slot s: the inverse CDF, then a step to the exact run."""
    n = t.age.shape[0]
    u = (s + 0.5) / (n * t.follow_picks)
    rank = min(max(np.int64((1.0 + u * (t.zipf_top - 1.0)) ** t.zipf_power) - 1, 0), n - 1)
    while rank > 0 and _slot_start(t, rank) > s:
        rank -= 1
    while rank < n - 1 and _slot_start(t, rank + 1) <= s:
        rank += 1
    return rank


@njit(cache=True, nogil=True)
def _picked(t: Ties, q: int) -> int:
    """The account of pick q (citizen q // follow_picks's pick q % follow_picks)."""
    n = t.age.shape[0]
    s = permute(t.k_pick, n * t.follow_picks, q, True)
    return permute(t.k_account, n, _rank_of_slot(t, s), False)


@njit(cache=True, nogil=True)
def follows_friend(t: Ties, i: int, j: int) -> bool:
    """Whether i follows its friend j."""
    return _pair_unit(t.k_follow, i, j) < t.follow_friend


@njit(cache=True, nogil=True)
def pick_slots(t: Ties, a: int) -> tuple[int, int]:
    """The pick slots of account a's popularity rank: its pickers are :func:`picker` of each."""
    rank = permute(t.k_account, t.age.shape[0], a, True)
    return _slot_start(t, rank), _slot_start(t, rank + 1)


@njit(cache=True, nogil=True)
def picker(t: Ties, a: int, s: int) -> int:
    """Who follows account a through its pick slot s, or -1 where :func:`follows_into` drops
    that pick (a self-pick, a friend it follows already, a repeat of an earlier pick)."""
    q = permute(t.k_pick, t.age.shape[0] * t.follow_picks, s, False)
    i = q // t.follow_picks
    if i == a or (_is_friend(t, i, a) and follows_friend(t, i, a)):
        return -1
    for earlier in range(i * t.follow_picks, q):
        if _picked(t, earlier) == a:
            return -1
    return i


@njit(cache=True, nogil=True)
def follows_into(t: Ties, i: int, out: np.ndarray) -> int:
    """Accounts i follows: some of its friends, then picks of popular accounts (no repeats)."""
    return _follows_of_friends(t, i, out, friends_into(t, i, out))


@njit(cache=True, nogil=True)
def _follows_of_friends(t: Ties, i: int, out: np.ndarray, f: int) -> int:
    """:func:`follows_into` from i's ``f`` friends already in ``out``."""
    m = 0
    for k in range(f):
        if follows_friend(t, i, out[k]):
            out[m] = out[k]
            m += 1
    for q in range(i * t.follow_picks, (i + 1) * t.follow_picks):
        j = _picked(t, q)
        seen = j == i
        for k in range(m):
            seen |= out[k] == j
        if not seen:
            out[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True)
def ties_into(t: Ties, reach: int, i: int, out: np.ndarray) -> int:
    """i's ties of one reach (FRIENDS, FOLLOWS, HOUSEHOLD, WORKPLACE or SCHOOL) into out."""
    if reach == FRIENDS:
        return friends_into(t, i, out)
    if reach == FOLLOWS:
        return follows_into(t, i, out)
    if reach == HOUSEHOLD:
        return household_into(t, i, out)
    if reach == WORKPLACE:
        return workplace_into(t, i, out)
    return school_into(t, i, out)


@njit(cache=True, nogil=True)
def max_ties(t: Ties, reach: int) -> int:
    """A buffer size that holds any citizen's ties of a reach (and enumeration scratch)."""
    friends = 2 * t.window + t.club_slots
    if reach == FRIENDS:
        return friends
    if reach == FOLLOWS:
        return friends + t.follow_picks
    if reach == HOUSEHOLD:
        return HOUSEHOLD_MAX
    return t.work_slots if reach == WORKPLACE else t.school_slots


# ---------------------------------------------------------------- kernels over chunks


@njit(cache=True, nogil=True)
def tie_share(t: Ties, reach: int, flag: np.ndarray, lo: int, hi: int, out: np.ndarray) -> None:
    """out[i - lo] = share of i's ties of a reach with flag[j] != 0, for i in [lo, hi).

    A citizen without ties of the reach gets 0 (no company is no bad company). Each share is a
    function of i alone, so the result does not depend on how citizens are chunked.
    """
    buf = np.empty(max_ties(t, reach), np.int64)
    for i in range(lo, hi):
        m = ties_into(t, reach, i, buf)
        bad = 0
        for k in range(m):
            bad += flag[buf[k]] != 0
        out[i - lo] = bad / m if m > 0 else 0.0


@njit(cache=True, nogil=True)
def csr_share(indptr: np.ndarray, indices: np.ndarray, flag: np.ndarray, lo: int, hi: int,
              out: np.ndarray) -> None:
    """:func:`tie_share` read from a stored CSR form (same values)."""
    for i in range(lo, hi):
        bad = 0
        for k in range(indptr[i], indptr[i + 1]):
            bad += flag[indices[k]] != 0
        m = indptr[i + 1] - indptr[i]
        out[i - lo] = bad / m if m > 0 else 0.0


@njit(cache=True, nogil=True, parallel=True)
def _degrees(t: Ties, reach: int, n: int, out: np.ndarray) -> None:
    for b in prange((n + _BUILD_BLOCK - 1) // _BUILD_BLOCK):
        buf = np.empty(max_ties(t, reach), np.int64)
        for i in range(b * _BUILD_BLOCK, min(n, (b + 1) * _BUILD_BLOCK)):
            out[i] = ties_into(t, reach, i, buf)


@njit(cache=True, nogil=True, parallel=True)
def _fill(t: Ties, reach: int, indptr: np.ndarray, indices: np.ndarray) -> None:
    n = indptr.shape[0] - 1
    for b in prange((n + _BUILD_BLOCK - 1) // _BUILD_BLOCK):
        buf = np.empty(max_ties(t, reach), np.int64)
        for i in range(b * _BUILD_BLOCK, min(n, (b + 1) * _BUILD_BLOCK)):
            m = ties_into(t, reach, i, buf)
            for k in range(m):
                indices[indptr[i] + k] = buf[k]


def degrees(t: Ties, reach: int) -> np.ndarray:
    """Every citizen's number of ties of a reach (out-degree for follows)."""
    n = t.age.shape[0]
    out = np.empty(n, np.int64)
    _degrees(t, reach, n, out)
    return out


@dataclass(frozen=True)
class TieCSR:
    """Stored ties of one reach: i's ties are ``indices[indptr[i]:indptr[i + 1]]``."""

    indptr: np.ndarray  # int64, n + 1
    indices: np.ndarray  # int32, one per tie, in enumeration order

    @property
    def nbytes(self) -> int:
        return self.indptr.nbytes + self.indices.nbytes


def build_csr(t: Ties, reach: int) -> TieCSR:
    """The stored form of one reach, for the measures below and the tests: two passes of the
    enumeration (count, then fill)."""
    indptr = np.zeros(t.age.shape[0] + 1, np.int64)
    indptr[1:] = np.cumsum(degrees(t, reach))
    indices = np.empty(indptr[-1], np.int32)
    _fill(t, reach, indptr, indices)
    return TieCSR(indptr, indices)


# ---------------------------------------------------------------- measures of a stored form


@njit(cache=True, nogil=True)
def _sorted_rows(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    out = indices.copy()
    for i in range(indptr.shape[0] - 1):
        out[indptr[i]:indptr[i + 1]].sort()
    return out


@njit(cache=True, nogil=True)
def _has(indptr: np.ndarray, rows: np.ndarray, a: int, b: int) -> bool:
    """Whether sorted row a holds b."""
    lo, hi = indptr[a], indptr[a + 1]
    k = lo + np.searchsorted(rows[lo:hi], b)
    return k < hi and rows[k] == b


@njit(cache=True, nogil=True)
def _triangles(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Links among each citizen's neighbours (undirected graph, symmetric rows)."""
    n = indptr.shape[0] - 1
    tri = np.zeros(n, np.int64)
    for i in range(n):
        for a in range(indptr[i], indptr[i + 1]):
            for b in range(a + 1, indptr[i + 1]):
                tri[i] += _has(indptr, rows, rows[a], rows[b])
    return tri


def clustering(csr: TieCSR) -> tuple[float, float]:
    """Average local clustering (0 below degree 2, as networkx counts) and transitivity."""
    rows = _sorted_rows(csr.indptr, csr.indices)
    tri = _triangles(csr.indptr, rows)
    deg = np.diff(csr.indptr)
    pairs = deg * (deg - 1) / 2
    local = np.divide(tri, pairs, out=np.zeros(len(deg)), where=pairs > 0)
    return float(local.mean()), float(tri.sum() / max(pairs.sum(), 1))


@njit(cache=True, nogil=True)
def _reciprocated(indptr: np.ndarray, rows: np.ndarray) -> int:
    count = 0
    for i in range(indptr.shape[0] - 1):
        for k in range(indptr[i], indptr[i + 1]):
            count += _has(indptr, rows, rows[k], i)
    return count


def reciprocity(csr: TieCSR) -> float:
    """Share of directed ties whose reverse is also a tie (networkx's ``reciprocity``)."""
    rows = _sorted_rows(csr.indptr, csr.indices)
    return _reciprocated(csr.indptr, rows) / max(len(rows), 1)


def tail_exponent(deg: np.ndarray, top: float = 0.01) -> float:
    """Hill estimate of the degree density's power-law exponent from the top share of degrees."""
    d = np.sort(deg[deg > 0])[::-1]
    k = max(int(len(d) * top), 2)
    return 1.0 + 1.0 / float(np.mean(np.log(d[:k] / d[k])))
