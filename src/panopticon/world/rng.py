"""Counter-based random numbers: every draw is a pure function of (seed, stream, citizen, day).

No generator state is carried between draws, so a result does not depend on chunk size, thread
count or the order citizens are visited, and two scenarios run with one seed see the same numbers
(common random numbers). Streams are fixed integers named in :data:`STREAMS`, or a hash of the name
of a scenario's own act or channel, never a position in a scenario, so adding an act kind to one
scenario does not shift the draws of another.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import njit, uint64

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)
_GOLDEN_CITIZEN = uint64((0x9E3779B97F4A7C15 << 20) & 0xFFFFFFFFFFFFFFFF)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_ALWAYS = np.int64(1 << 53)  # a threshold above every bits53 value

# One entry per independent source of randomness. Append only: renumbering changes every result.
STREAMS: dict[str, int] = {
    name: i + 1
    for i, name in enumerate(
        [
            "pop.region", "pop.household", "pop.member", "pop.age", "pop.income", "pop.urban",
            "pop.adoption", "trait.offence", "trait.debt", "trait.dissent", "trait.travel",
            "trait.civic", "act.jaywalking", "act.red_light", "act.late_bill", "act.debt_default",
            "act.judgment", "act.tax_arrears", "act.bad_spending", "act.online_post",
            "act.good_deed", "act.plane_ticket", "act.train_ticket", "act.onboard_misconduct",
            "act.pay_debt", "sense.camera", "sense.face_match", "sense.false_match",
            "sense.payment", "sense.content", "registry.delay", "score.restore",
            "life.school", "life.job", "life.credit", "life.exit", "trait.management",
            "bench.infraction", "bench.detect", "bench.restore", "bench.propensity",
            "act.online_post_line", "sense.content_false", "act.pay_tax",
            "sense.jaywalking", "sense.red_light", "sense.late_bill", "sense.bad_spending",
            "sense.debt_default", "sense.tax_arrears", "sense.online_post", "sense.good_deed",
            "sense.plane_ticket", "sense.train_ticket", "sense.onboard_misconduct",
            "registry.judgment", "registry.exit_ban", "registry.connect",
            "tie.weight", "tie.local", "tie.club", "tie.club_perm", "tie.work", "tie.follow",
            "tie.pick", "tie.account", "act.post_type", "cohort.pick", "act.screen",
            "fear.fade", "fear.jump", "fear.ties",
        ]
    )
}


@njit(inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijection of 64-bit integers with full avalanche."""
    z = uint64(x) + _GOLDEN
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


# Streams of the scenario's catalog, named after its items (``act.<act>``, ``sense.<act>``,
# ``channel.<channel>.hit``): the attempts that were life events and the camera channel keep
# the streams they had, so that the same seed gives the same run.
RENAMED: dict[str, str] = {
    "act.trip_abroad": "life.exit", "act.job_application": "life.job",
    "act.credit_application": "life.credit", "act.school_application": "life.school",
    "channel.cameras.hit": "sense.face_match", "channel.cameras.false": "sense.false_match",
}
HASHED = 1 << 63  # the numbers of streams that STREAMS does not list: above every listed one


def stream_number(stream: str) -> int:
    """A stream's fixed number: its entry of STREAMS (through RENAMED), else a hash of its name,
    so that a catalog item of any name has streams of its own, whatever else a scenario holds."""
    name = RENAMED.get(stream, stream)
    if name in STREAMS:
        return STREAMS[name]
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") | HASHED


def stream_key(seed: int, stream: str) -> np.uint64:
    """The 64-bit key of one named stream under one seed (computed once per run, in Python)."""
    s = np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
    return np.uint64(mix64(s ^ np.uint64(mix64(np.uint64(stream_number(stream))))))


@njit(inline="always")
def counter(citizen: np.int64, day: np.int64) -> np.uint64:
    """((citizen << 20) | day) * GOLDEN, written as a sum, so that the next citizen's is this
    plus CITIZEN_STEP (same bits for day < 2**20)."""
    return uint64(citizen) * _GOLDEN_CITIZEN + uint64(day) * _GOLDEN


# counter(citizen + 1, day) - counter(citizen, day), mod 2**64. A pass over consecutive citizens
# adds it to a counter it keeps (:func:`bits_at`, :func:`dither_at`): LLVM's vectorised loop
# multiplied each citizen's instead, three 32-bit multiplies a vector on AVX2 (fear's pass over
# everyone, 1.41 M citizens: 0.84 ns a citizen against 1.05).
CITIZEN_STEP = _GOLDEN_CITIZEN


@njit(inline="always")
def draw_bits(key: np.uint64, citizen: np.int64, day: np.int64) -> np.uint64:
    """64 random bits for (key, citizen, day); citizen < 2**44, day < 2**20."""
    return bits_at(key, counter(citizen, day))


@njit(inline="always")
def bits_at(key: np.uint64, count: np.uint64) -> np.uint64:
    """:func:`draw_bits` for the citizen and day whose :func:`counter` is ``count``."""
    return mix64(uint64(key) ^ count)


@njit(inline="always")
def dither(key: np.uint64, citizen: np.int64, day: np.int64) -> np.int64:
    """An offset in [0, 256) for rounding a value in 256ths, for (key, citizen, day): the top
    byte of :func:`draw_bits`' :func:`counter` plus the key, not mixed. It steps by a fixed
    fraction of 256 from one citizen to the next and from one day to the next (the golden
    ratio's), so that values rounded with it are right on average over citizens and over a
    citizen's days, for an addition a citizen in a loop that vectorises."""
    return dither_at(key, counter(citizen, day))


@njit(inline="always")
def dither_at(key: np.uint64, count: np.uint64) -> np.int64:
    """:func:`dither` for the citizen and day whose :func:`counter` is ``count``."""
    return np.int64((uint64(key) + count) >> uint64(56))


@njit(inline="always")
def uniform(key: np.uint64, citizen: np.int64, day: np.int64) -> float:
    """A float in [0, 1) for (key, citizen, day)."""
    return float(np.int64(draw_bits(key, citizen, day) >> uint64(11))) * _TO_UNIT


@njit(inline="always")
def chance(key: np.uint64, citizen: np.int64, day: np.int64, p: float) -> bool:
    """True with probability ``p``; compares integers, which vectorises where floats do not."""
    return bits53(key, citizen, day) < threshold(p)


# Quantiles of the unit exponential at the midpoints of 1024 equal-probability bins (mean 1):
# a table lookup instead of a logarithm, for traits drawn by every citizen every day.
_EXP_BINS = 1024
EXP_QUANTILES = -np.log(1.0 - (np.arange(_EXP_BINS) + 0.5) / _EXP_BINS)
EXP_QUANTILES /= EXP_QUANTILES.mean()


@njit(inline="always")
def exponential_bin(key: np.uint64, citizen: np.int64, day: np.int64) -> np.int64:
    """The bin of EXP_QUANTILES that :func:`exponential` takes for (key, citizen, day): its
    place among the draw's 1024 equally likely values, smallest first."""
    return np.int64(draw_bits(key, citizen, day) >> uint64(54))


@njit(inline="always")
def exponential(key: np.uint64, citizen: np.int64, day: np.int64) -> float:
    """A unit-mean exponential draw (to 1/1024 in probability): heterogeneity of propensities."""
    return EXP_QUANTILES[exponential_bin(key, citizen, day)]


@njit(cache=True)
def uniform_array(key: np.uint64, lo: np.int64, hi: np.int64, day: np.int64) -> np.ndarray:
    """Uniforms for citizens lo..hi-1 on one day (used by population building and tests)."""
    out = np.empty(hi - lo, dtype=np.float64)
    for i in range(lo, hi):
        out[i - lo] = uniform(key, i, day)
    return out


@njit(cache=True, nogil=True)
def smallest(key: np.uint64, n: np.int64, size: np.int64) -> np.ndarray:
    """The ``size`` citizens of 0..n-1 with the smallest draws ``uniform(key, i, 0)`` (the
    first on a tie), in order: one pass that keeps them in a heap, without the n draws that a
    sort or a partition of them would hold."""
    size = min(size, n)
    value = np.empty(size, np.int64)
    ids = np.empty(size, np.int64)
    for i in range(size):  # a max-heap of the first ``size``, built by sifting each up
        value[i], ids[i] = bits53(key, i, 0), i
        c = i
        while c > 0 and (value[(c - 1) // 2], ids[(c - 1) // 2]) < (value[c], ids[c]):
            p = (c - 1) // 2
            value[c], value[p], ids[c], ids[p] = value[p], value[c], ids[p], ids[c]
            c = p
    for i in range(size, n):
        v = bits53(key, i, 0)
        if size == 0 or v >= value[0]:
            continue
        value[0], ids[0] = v, i
        c = 0
        while True:  # sift down
            big, left = c, 2 * c + 1
            for k in (left, left + 1):
                if k < size and (value[k], ids[k]) > (value[big], ids[big]):
                    big = k
            if big == c:
                break
            value[c], value[big], ids[c], ids[big] = value[big], value[c], ids[big], ids[c]
            c = big
    return np.sort(ids)


@njit(inline="always")
def bits53(key: np.uint64, citizen: np.int64, day: np.int64) -> np.int64:
    """The 53 bits behind :func:`chance` for (key, citizen, day), as a non-negative integer.

    ``chance(key, citizen, day, p)`` is ``bits53(key, citizen, day) < threshold(p)``: a kernel
    that draws once can test a cheap bound first and compute an exact ``p`` only when it matters.
    """
    return bits53_at(key, counter(citizen, day))


@njit(inline="always")
def bits53_at(key: np.uint64, count: np.uint64) -> np.int64:
    """:func:`bits53` for the citizen and day whose :func:`counter` is ``count``."""
    return np.int64(bits_at(key, count) >> uint64(11))


@njit(inline="always")
def threshold(p: float) -> np.int64:
    """The integer :func:`bits53` is compared with for probability ``p``, as in :func:`chance`.

    Capped at 1, so that a product of rates above 1 stays certain instead of overflowing. Equal
    to ``int64(p * 2**53)`` for p < 1, but built from two float-to-int32 conversions, which AVX2
    vectorises where a float-to-int64 conversion is done one value at a time.
    """
    x = p * 2147483648.0  # p * 2**31
    high = np.int32(min(x, 2147483647.0))
    low = np.int32((x - np.float64(high)) * 4194304.0)  # the fraction's next 22 bits
    exact = (np.int64(high) << np.int64(22)) | np.int64(low)
    return _ALWAYS if p >= 1.0 else exact


# Rare draws are made per block of citizens, not per citizen: the picks of a block on a day are
# a function of (key, block, day) alone, so that a chunk that cuts a block finds the same ones.
BLOCK_BITS = 12
_PICK_BITS = 20  # a block's k-th pick is counter (block << 20 | k): below 2**44 for 2**24 blocks


@njit(cache=True, nogil=True)
def picks(key: np.uint64, day: np.int64, lo: np.int64, hi: np.int64, p: float,
          out: np.ndarray) -> np.int64:
    """The citizens of lo..hi-1 that an independent draw of chance ``p`` each picks today,
    written to ``out`` as offsets from ``lo``; their number.

    As ``chance(key', i, day, p)`` for every citizen in distribution, at a cost per pick, not
    per citizen: the gaps between picks are geometric, drawn in fixed blocks of 2**BLOCK_BITS
    citizens. ``key`` must be a stream of its own (its counters are not citizens').
    """
    if p <= 0.0 or hi <= lo:
        return 0
    if p >= 1.0:
        for j in range(hi - lo):
            out[j] = j
        return hi - lo
    log_q = np.log1p(-p)
    size, m = 1 << BLOCK_BITS, 0
    for b in range(lo >> BLOCK_BITS, ((hi - 1) >> BLOCK_BITS) + 1):
        i, end, k = (b << BLOCK_BITS) - 1, min((b + 1) << BLOCK_BITS, hi), 0
        while True:
            gap = np.log1p(-uniform(key, (b << _PICK_BITS) | k, day)) / log_q
            i += 1 + np.int64(min(gap, size))
            if i >= end:
                break
            if i >= lo:
                out[m] = i - lo
                m += 1
            k += 1
    return m


@njit(cache=True, nogil=True)
def normal_quantile(u: float) -> float:
    """The standard normal's quantile at ``u`` in (0, 1): a start within 5e-4 (Abramowitz and
    Stegun 26.2.23, on the smaller tail) refined by two Newton steps on ``erfc``."""
    q = min(u, 1.0 - u)
    if q <= 0.0:
        return -np.inf if u <= 0.0 else np.inf
    t = np.sqrt(-2.0 * np.log(q))
    z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (
        1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
    for _ in range(2):  # the upper tail's chance at z is q
        z += (0.5 * math.erfc(z / np.sqrt(2.0)) - q) / (np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi))
    return z if u > 0.5 else -z


EXACT_MEAN = 50.0  # a binomial of a smaller mean (on its smaller side) is inverted exactly


@njit(cache=True, nogil=True)
def binomial_quantile(u: float, n: np.int64, p: float) -> np.int64:
    """The count of a binomial (n trials of chance p) at the uniform ``u``: exact below a mean of
    EXACT_MEAN (on the smaller side: n p or n (1 - p)), the normal's quantile rounded above it.
    Monotone in ``u``, and in ``p`` on either side of EXACT_MEAN, so that two runs that invert one
    ``u`` at two chances (fear on and off) keep their counts in order (across it, where the
    normal's rounding and the exact count may differ by one, nearly so; and for a ``u`` within
    about 1e-13 of 0 or 1, where the exact count's cumulative sum meets its rounding)."""
    if n <= 0 or p <= 0.0 or u <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial_quantile(1.0 - u, n, 1.0 - p)
    mean = n * p
    if mean < EXACT_MEAN:
        pmf = np.exp(n * np.log1p(-p))
        cdf, k, odds = pmf, 0, p / (1.0 - p)
        while cdf <= u and k < n:
            pmf *= (n - k) / (k + 1.0) * odds
            k += 1
            cdf += pmf
        return k
    x = np.ceil(mean - 0.5 + normal_quantile(u) * np.sqrt(mean * (1.0 - p)))
    return np.int64(min(max(x, 0.0), float(n)))
