"""Who the citizens are: synthetic people built from the 2020 census, as a struct of arrays.

Citizens are laid out region by region (in census proportions) and household by household, so a
citizen's region is found from the regions' first citizens (:func:`region_of`), and a child's
parent is the head of its household, a few places before it: a household runs from its head
(flag HEAD) to the next head.
Fixed traits that are cheap to recompute are not stored: stages draw the propensities from
(seed, trait stream, citizen) when they need them, and find a child's parent by :func:`parent_of`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit, uint64

from ..data import read_csv
from ..language.scenario import DatedValue
from ..language.scenario import Population as PopulationSpec
from .rng import exponential_bin, stream_key, uniform, uniform_array

AGE_BANDS = ("0-14", "15-29", "30-44", "45-59", "60+")
CHILD = 0
# Population.age: the age band (an index into AGE_BANDS) in its low AGE_BITS bits (band), the
# level of the citizen's disposition against the line above them (disposition_level): both
# fixed for the run, in one byte where the band alone left five bits free.
AGE_BITS = 3
AGE_MASK = (1 << AGE_BITS) - 1
URBAN, MANAGER, HEAD = 1, 2, 4  # bits of Population.flags (HEAD: a household's first member)
DISPOSITION_STREAM = "trait.dissent"
# The levels of the disposition kept in Population.age: a level is the number of these bins of
# rng.EXP_QUANTILES at or below the citizen's (drawn on DISPOSITION_STREAM, day 0, as behaviour
# draws it). They minimise the mean over citizens of their level's largest disposition (1.28
# times the mean disposition; two levels at best 2.75), which bounds the posts against the line
# that behaviour's screen names (tests/test_population.py finds them again).
DISPOSITION_CUTS = (258, 477, 658, 801, 906, 976, 1013)
N_DISPOSITION = len(DISPOSITION_CUTS) + 1
INCOME_SHIFT = 4  # Population.flags' high four bits: the income decile (see decile)
HOUSEHOLD_MAX = 5  # _households gives a head at most 4 more members
ADOPT_LEVELS = 65_536  # adoption ranks and thresholds, in 65536ths of the citizens
ADOPT_STORED = 256  # Population.adopt: the rank's level in 256ths, a byte (adoption_rank)
ORDER_STEP = uint64(0x9E3779B97F4A7C15)  # the golden ratio's fraction of 2**64 (adoption_order)


@dataclass(frozen=True)
class Regions:
    codes: list[str]
    names: list[str]
    census: np.ndarray  # 2020 census population per region
    national: int  # the whole country's census, which national figures (users, cameras) share

    @property
    def total(self) -> int:
        return int(self.census.sum())


def load_regions(codes: list[str] | tuple[str, ...] = ()) -> Regions:
    """Provinces of the 2020 census, shipped as package data (source in data/SOURCES.md).

    ``codes`` keeps only those provinces (a city scheme's); none keeps all.
    """
    rows = read_csv("china_provinces_2020.csv")
    national = sum(int(r["population_2020"]) for r in rows)
    rows = [r for r in rows if not codes or r["code"] in codes]
    return Regions(
        codes=[r["code"] for r in rows],
        names=[r["name_en"] for r in rows],
        census=np.array([int(r["population_2020"]) for r in rows], dtype=np.int64),
        national=national,
    )


def represented(spec: PopulationSpec) -> float:
    """Real people a scenario's citizens stand for: the census of the whole country, or, for
    a scenario of some provinces' city, its own size x scale."""
    return float(load_regions().total) if not spec.regions else spec.size * spec.scale


@dataclass
class Population:
    """Per-citizen arrays; ``scale`` real people stand behind each simulated citizen."""

    starts: np.ndarray  # int64 first citizen of each region of Regions, and n (region_of)
    age: np.ndarray  # uint8: the age band (band) and the disposition's level above it
    flags: np.ndarray  # uint8 bits URBAN, MANAGER, HEAD (one more free); the income decile above
    #   INCOME_SHIFT
    adopt: np.ndarray  # uint8 level of digital adoption in 256ths: lower adopts earlier
    #   (the rank within a level: adoption_rank)
    scale: float
    regions: Regions

    @property
    def size(self) -> int:
        return int(self.starts[-1])

    @property
    def region(self) -> np.ndarray:
        """Each citizen's region (:func:`region_of`), made on demand (uint8)."""
        return np.repeat(np.arange(len(self.starts) - 1, dtype=np.uint8), np.diff(self.starts))

    @property
    def band(self) -> np.ndarray:
        """Each citizen's age band, an index into AGE_BANDS (:func:`band`), made on demand."""
        return self.age & AGE_MASK

    @property
    def income(self) -> np.ndarray:
        """Each citizen's income decile, 0 (poorest) .. 9 (:func:`decile`), made on demand."""
        return self.flags >> INCOME_SHIFT

    @property
    def rank(self) -> np.ndarray:
        """Each citizen's :func:`adoption_rank`, made on demand (int64)."""
        return adoption_ranks(self.adopt, 0)

    @property
    def parent(self) -> np.ndarray:
        """Each citizen's parent (:func:`parent_of`), made on demand (int64: 8 bytes a
        citizen, and as many while it is made)."""
        return parents(self.age, self.flags, np.arange(self.size))

    def bytes_per_citizen(self) -> float:
        arrays = (self.age, self.flags, self.adopt)
        return sum(a.nbytes for a in arrays) / max(self.size, 1)


@njit(cache=True, nogil=True, inline="always")
def adoption_rank(level: int, i: int) -> int:
    """Citizen i's adoption rank in [0, ADOPT_LEVELS), ``level`` its byte of
    ``Population.adopt``: the level's 256 ranks, and the citizen's place within its level by a
    fixed order (:func:`adoption_order`), which spreads a level's citizens evenly over regions
    and households (the order of their latents, which that byte stood for when it was stored,
    weighs nothing within 1/256 of the citizens)."""
    return rank_in_order(level, adoption_order(i))


@njit(cache=True, nogil=True, inline="always")
def adoption_order(i: int) -> np.uint64:
    """Citizen i's order within its level: i times the golden ratio's fraction of 2**64, whose
    top byte :func:`rank_in_order` reads. Citizen i + 1's is this plus ORDER_STEP, so that a
    pass over consecutive citizens adds where it would multiply: AVX2 has no 64-bit multiply,
    and the three of 32 bits that stand for one, three ranks a citizen, took 0.7-0.9 ns of
    consequences' pass over everyone (5.1 ns a citizen, 1.41 M citizens, one thread)."""
    return uint64(i) * ORDER_STEP


@njit(cache=True, nogil=True, inline="always")
def rank_in_order(level: int, order: np.uint64) -> int:
    """The adoption rank of a citizen of ``level`` (its byte of ``Population.adopt``) whose
    :func:`adoption_order` is ``order``."""
    return np.int64(level) << 8 | np.int64(order >> uint64(56))


@njit(cache=True, nogil=True)
def adoption_ranks(adopt: np.ndarray, first: int) -> np.ndarray:
    """The :func:`adoption_rank` of citizens first.. from their bytes ``adopt``."""
    out, order = np.empty(adopt.shape[0], np.int64), adoption_order(first)
    for j in range(adopt.shape[0]):
        out[j] = rank_in_order(adopt[j], order)
        order += ORDER_STEP
    return out


@njit(cache=True, nogil=True, inline="always")
def region_of(starts: np.ndarray, i: int) -> int:
    """Citizen i's region, from each region's first citizen (``Population.starts``): the
    population comes region by region, so its region takes no byte of its own."""
    return np.searchsorted(starts, i, side="right") - 1


@njit(cache=True, nogil=True, inline="always")
def decile(flags: int) -> int:
    """A citizen's income decile, 0 (poorest) .. 9, from its byte of flags: kept there, in
    bits the flags leave free, it takes no byte of its own."""
    return np.int64(flags) >> INCOME_SHIFT


@njit(cache=True, nogil=True, inline="always")
def band(age: int) -> int:
    """A citizen's age band, an index into AGE_BANDS, from its byte of ``Population.age`` (or
    an array's, from Python)."""
    return age & AGE_MASK


@njit(cache=True, nogil=True, inline="always")
def is_child(age: int) -> bool:
    """Whether a citizen is a child, from its byte of ``Population.age``."""
    return band(age) == CHILD


@njit(cache=True, nogil=True, inline="always")
def disposition_level(age: int) -> int:
    """A citizen's level of disposition against the line (DISPOSITION_CUTS), from its byte of
    ``Population.age``."""
    return np.int64(age) >> AGE_BITS


@njit(cache=True, nogil=True, inline="always")
def parent_of(age: np.ndarray, flags: np.ndarray, i: int) -> int:
    """A child's parent, the head of its household: the nearest citizen before it flagged
    HEAD (a head is an adult, first of its household); -1 for an adult."""
    if not is_child(age[i]):
        return -1
    return head_at_or_before(flags, np.int64(i) - 1)  # int64: a prange's index is unsigned


@njit(cache=True, nogil=True, inline="always")
def head_at_or_before(flags: np.ndarray, i: int) -> int:
    """The nearest citizen at or before i flagged HEAD (i itself for a head): the first
    household whose members may be i or after it."""
    while (flags[i] & HEAD) == 0:
        i -= 1
    return i


@njit(cache=True, nogil=True)
def parents(age: np.ndarray, flags: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """:func:`parent_of` each citizen of ``ids``."""
    out = np.empty(ids.shape[0], np.int64)
    for k in range(ids.shape[0]):
        out[k] = parent_of(age, flags, ids[k])
    return out


def region_bounds(census: np.ndarray, n: int) -> np.ndarray:
    """First citizen of each region, allocating ``n`` citizens in census proportions."""
    cum = np.concatenate([[0], np.cumsum(census)])
    return np.round(cum / cum[-1] * n).astype(np.int64)


@njit(cache=True)
def _households(bounds, adult_cdf, parent_cdf, child_p, member_p, urban_share,
                manager_share, k_hh, k_mem, k_age, k_urb, age, flags):
    """Fill households region by region: a head (adult, flagged HEAD), then adults or children
    of the head; the members of a household are the head and those up to the next head."""
    for r in range(bounds.shape[0] - 1):
        i = bounds[r]
        while i < bounds[r + 1]:
            size = 1
            for t in range(4):
                size += uniform(k_hh, i, t) < member_p
            end = min(i + size, bounds[r + 1])
            has_child = False
            for j in range(i + 1, end):
                if uniform(k_mem, j, 0) < child_p:
                    has_child = True
            urban = uniform(k_urb, i, 0) < urban_share
            head_cdf = parent_cdf if has_child else adult_cdf
            for j in range(i, end):
                is_child = j > i and uniform(k_mem, j, 0) < child_p
                cdf = head_cdf if j == i else adult_cdf
                age[j] = 0 if is_child else np.searchsorted(cdf, uniform(k_age, j, 0), "right")
                f = np.uint8(URBAN if urban else 0) | np.uint8(HEAD if j == i else 0)
                if not is_child and uniform(k_urb, j, 1) < manager_share:
                    f |= np.uint8(2)
                flags[j] = f
            i = end


def _quantile_rank(latent: np.ndarray, levels: int, dtype: type) -> np.ndarray:
    """Each value's level in [0, levels), as ``dtype``: the r-th smallest of n (ties in index
    order, as a stable sort orders them) gets r * levels // n, so every level holds its exact
    share. Found without sorting every value (:func:`_rank_levels`)."""
    out = np.empty(latent.shape[0], dtype)
    if latent.shape[0]:
        _rank_levels(latent, levels, out)
    return out


_PER_BIN = 16  # values per bin of the ranks' histogram, on average


@njit(cache=True, nogil=True, inline="always")
def _bin(x: float, lo: float, scale: float, bins: int) -> int:
    """A value's bin: monotone in x (a difference and a product by a positive number round
    monotonically), so every value of a bin ranks above those of the bins before it. Past the
    last bin (an infinite product too), the last."""
    v = (x - lo) * scale
    return np.int64(v) if v < bins else bins - 1


@njit(cache=True, nogil=True)
def _rank_levels(x: np.ndarray, levels: int, out: np.ndarray) -> None:
    """out[i] = (stable rank of x[i]) * levels // n. A histogram gives each bin its first
    rank; where all of a bin's ranks share a level, its values take it, and only the values of
    the bins where a level starts are sorted, bin by bin."""
    n = x.shape[0]
    lo, hi = x.min(), x.max()
    bins = max(n // _PER_BIN, 1)
    scale = bins / (hi - lo) if hi > lo else 0.0
    scale = scale if np.isfinite(scale) else 0.0  # a range too narrow for a float
    start = np.zeros(bins + 1, np.int64)
    for i in range(n):
        start[_bin(x[i], lo, scale, bins) + 1] += 1
    start = np.cumsum(start)
    first, last = start[:-1] * levels // n, (start[1:] - 1) * levels // n
    mixed = first != last
    size = np.where(mixed, start[1:] - start[:-1], 0)  # values held per mixed bin
    begin = np.cumsum(size) - size  # where each mixed bin's values start in held
    held = np.empty(size.sum(), np.int64)  # the mixed bins' values, bin by bin, in index order
    fill = begin.copy()
    for i in range(n):
        b = _bin(x[i], lo, scale, bins)
        if mixed[b]:
            held[fill[b]] = i
            fill[b] += 1
        else:
            out[i] = first[b]
    for b in np.flatnonzero(mixed):
        seg = held[begin[b]:begin[b] + size[b]]
        for k, o in enumerate(np.argsort(x[seg], kind="mergesort")):
            out[seg[o]] = (start[b] + k) * levels // n


def _age_cdfs(spec: PopulationSpec) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Age-band CDFs for heads of families (under 60) and for other adults, and member chances.

    Other adults' bands are corrected for the heads' skew, so that all bands match age_shares.
    """
    shares = np.array([spec.age_shares[b] for b in AGE_BANDS])
    member_p = (spec.household_size - 1.0) / 4.0  # each of 4 possible extra members is present
    # Non-head members are children with this chance, so that children make up their share.
    child_p = min(1.0, shares[CHILD] * spec.household_size / max(spec.household_size - 1.0, 1e-9))
    parent = shares.copy()
    parent[CHILD] = parent[-1] = 0.0
    parent /= parent.sum()
    heads = (1.0 - (1.0 - member_p * child_p) ** 4) / spec.household_size
    other = shares - heads * parent
    other[CHILD] = 0.0
    other = np.clip(other, 0.0, None)
    return np.cumsum(other) / other.sum(), np.cumsum(parent), child_p, member_p


def build(spec: PopulationSpec, seed: int) -> Population:
    """The synthetic population for one seed (identical for any chunking of later stages)."""
    regions = load_regions(spec.regions)
    n = spec.size
    adult_cdf, parent_cdf, child_p, member_p = _age_cdfs(spec)
    starts = region_bounds(regions.census, n)
    age = np.empty(n, np.uint8)
    flags = np.empty(n, np.uint8)
    keys = [stream_key(seed, s) for s in ("pop.household", "pop.member", "pop.age", "pop.urban")]
    _households(starts, adult_cdf, parent_cdf, child_p, member_p, spec.urban_share,
                spec.management_share, *keys, age, flags)
    # Town dwellers earn more: their latent income is shifted up before ranking into deciles.
    latent = _uniforms(seed, "pop.income", n)
    _shift_towns(latent, flags, 0.5)
    income = _quantile_rank(latent, 10, np.uint8)
    income <<= INCOME_SHIFT
    flags |= income
    del income
    _keep_disposition(stream_key(seed, DISPOSITION_STREAM), age)
    # Digital adoption favours the young, the urban and the well-off (strength: adoption_skew);
    # logistic noise keeps every group represented among users.
    latent = _uniforms(seed, "pop.adoption", n)
    _odds(latent)
    np.log(latent, out=latent)
    _adoption_latent(latent, spec.adoption_skew, YOUTH, age, flags)
    adopt = _quantile_rank(latent, ADOPT_STORED, np.uint8)
    return Population(starts=starts, age=age, flags=flags, adopt=adopt,
                      scale=spec.scale, regions=regions)


# Adoption's lean by age band (AGE_BANDS), before adoption_skew.
YOUTH = np.array([0.3, 1.0, 0.7, 0.2, -0.8])


# The latents are made in place, one array of n floats at a time: numpy's expressions made
# four more, 42 bytes a citizen above the population's own, the run's peak of memory.
@njit(cache=True, nogil=True)
def _shift_towns(latent: np.ndarray, flags: np.ndarray, shift: float) -> None:
    """latent[i] += shift where citizen i lives in a town."""
    for i in range(latent.shape[0]):
        latent[i] += shift * ((flags[i] & URBAN) != 0)


@njit(cache=True, nogil=True)
def _keep_disposition(key: np.uint64, age: np.ndarray) -> None:
    """Each citizen's disposition level (DISPOSITION_CUTS) into its byte of ages, above the
    band: the comparisons, as behaviour's pass would make them, once and not every day."""
    for i in range(age.shape[0]):
        b = exponential_bin(key, i, 0)
        level = 0
        for cut in DISPOSITION_CUTS:
            level += b >= cut
        age[i] |= np.uint8(level << AGE_BITS)


@njit(cache=True, nogil=True)
def _odds(u: np.ndarray) -> None:
    """u[i] -> u / (1 - u), u kept within [1e-12, 1 - 1e-12] first."""
    for i in range(u.shape[0]):
        x = min(max(u[i], 1e-12), 1 - 1e-12)
        u[i] = x / (1 - x)


@njit(cache=True, nogil=True)
def _adoption_latent(log_odds: np.ndarray, skew: float, youth: np.ndarray, age: np.ndarray,
                     flags: np.ndarray) -> None:
    """log_odds[i] -> minus the latent readiness to adopt (adoption rank 0 is the readiest):
    skew x (the age band's lean, a town's, an income decile's) plus the logistic noise."""
    for i in range(log_odds.shape[0]):
        lean = youth[band(age[i])] + 0.5 * ((flags[i] & URBAN) != 0) + 0.08 * decile(flags[i])
        log_odds[i] = -(skew * lean + log_odds[i])


def _uniforms(seed: int, stream: str, n: int) -> np.ndarray:
    return uniform_array(stream_key(seed, stream), 0, n, 0)


def share_on(points: list[DatedValue], date: dt.date, denominator: float = 1.0) -> float:
    """Linear interpolation of dated values (held flat outside their range), over denominator."""
    days = np.array([p.date.toordinal() for p in points], dtype=float)
    values = np.array([p.value for p in points], dtype=float)
    return float(np.interp(date.toordinal(), days, values)) / denominator


def adoption_threshold(points: list[DatedValue], date: dt.date, regions: Regions) -> int:
    """Citizens whose :func:`adoption_rank` is below this are users on ``date`` (national share
    met)."""
    share = min(1.0, share_on(points, date, regions.national))
    return int(round(share * ADOPT_LEVELS))
