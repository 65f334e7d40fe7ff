"""A citizen's post: its draw in fields, and the lawful post it makes, for every stage that
reads one (behaviour counts the day's posts and draws those against the line; content review's
false flags and the cohort read a citizen's lawful post as drawn here).

A post is one draw of the post's stream in three independent fields: whether it is posted (under
the poster's threshold, posting's rate chilled by fear at its perceived risk,
``layout.chilled``), its content type, and whether it goes against the line.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from .codes import CONTENT_TYPES, ONLINE_POST, POST_AGAINST, POST_TYPE_SHIFT
from .layout import DISSENT, Layout, chilled, trait_keys
from .population import adoption_rank
from .rng import draw_bits, exponential, stream_key

N_TYPES = len(CONTENT_TYPES)
# A post's draw, split in fields: whether one is posted, its content type, against the line.
POST_BITS, TYPE_BITS, AGAINST_BITS = 22, 16, 26
AGAINST_ONE = float(1 << AGAINST_BITS)
# A lawful post is kept with chance p (1 - A) / (1 - p A), at most p (p <= 1): a posting field
# at or above p's share of it, with a margin far above rounding, keeps none.
KEPT_BOUND = (1 << POST_BITS) * (1.0 + 1e-9)

class PostDraw(NamedTuple):
    """What a citizen's post is drawn from (:func:`lawful_post`), for the stages that read one."""

    key: np.uint64  # the post's stream (act.online_post)
    rate: float  # an internet user's chance of posting a day, without fear
    shares: np.ndarray  # per content type, its share of posts
    against_shares: np.ndarray  # per content type, mean share of posts against the line
    dissent_key: np.uint64  # the disposition's stream (trait.dissent, day 0)


@njit(cache=True, nogil=True, inline="always")
def post_fields(i, day, key):
    """Citizen i's post today as three independent uniform fields of one draw: whether it is
    posted (POST_BITS bits), its content type (TYPE_BITS) and whether it goes against the line
    (AGAINST_BITS). Integers only, so that the loop over citizens vectorises."""
    x = np.int64(draw_bits(key, i, day))
    return ((x >> (TYPE_BITS + AGAINST_BITS)) & ((1 << POST_BITS) - 1),
            (x >> AGAINST_BITS) & ((1 << TYPE_BITS) - 1), x & ((1 << AGAINST_BITS) - 1))


@njit(cache=True, nogil=True, inline="always")
def field_cap(p: float, bits: int) -> float:
    """The threshold of :func:`field_threshold` before it is rounded down."""
    return min(max(p, 0.0), 1.0) * (1 << bits) + 0.5


@njit(cache=True, nogil=True)
def field_threshold(p: float, bits: int) -> int:
    """The threshold under which a uniform field of ``bits`` bits falls with chance ``p``."""
    return np.int64(field_cap(p, bits))


@njit(cache=True, nogil=True, inline="always")
def under_cap(field, cap):
    """1 where ``field < np.int64(cap)`` (``cap`` positive), else 0: the same comparison made in
    floats (field + 1 <= cap, exact for a field below 2**53), as AVX2 has no vector conversion
    of a float to a 64-bit integer and emulating it cost behaviour's pass 2 ns a citizen."""
    return np.int64(np.float64(field + 1) <= cap)


@njit(cache=True, nogil=True, inline="always")
def post_type(typed, cuts):
    """The content type that a type field falls in, by its thresholds ``cuts``."""
    return (np.int64(typed >= cuts[0]) + np.int64(typed >= cuts[1])
            + np.int64(typed >= cuts[2]))


@njit(cache=True, nogil=True, inline="always")
def against_share(pd, t, disposition):
    """A post of content type t's chance of going against the line, for a citizen of
    ``disposition`` (times fear's ratio): the type's share times it, at most 1."""
    return min(pd.against_shares[t] * disposition, 1.0)


@njit(cache=True, nogil=True, inline="always")
def lawful_weight(pd, t, disposition):
    """A post's chance of being of content type t and within the line, for a citizen of
    ``disposition`` (times fear's ratio)."""
    return pd.shares[t] * (1.0 - against_share(pd, t, disposition))


@njit(cache=True, nogil=True, inline="always")
def kept_chance(p, lawful):
    """The chance ``p L / (1 - p (1 - L))`` that :func:`lawful_post` keeps a post (p: of
    posting, L: the lawful share, above 0), its denominator written ``1 - p + p L``: as the
    other form, it is 0 in floats where p is 1 and L under 2**-53, a division by zero."""
    return p * lawful / (1.0 - p + p * lawful)


@njit(cache=True, nogil=True, inline="always")
def lawful_post(i, day, online, r8, chilling, ratio, pd):
    """Citizen i's lawful post today as the acts word holds it (``ONLINE_POST`` and its content
    type), 0 for none, for a citizen whose post today does not go against the line (behaviour
    drew that already): so with chance ``p (1 - a_t) s_t / (1 - p A)``, where an internet user
    (``online`` 1) posts with chance p (posting's rate chilled by fear at perceived risk
    ``r8``), a post of type t (share s_t) goes against the line with chance a_t (the type's
    share times the citizen's disposition and fear's ``ratio``, at most 1) and A is their mean
    over types. The type is drawn in proportion to ``s_t (1 - a_t)`` and the post kept with
    chance ``p (1 - A) / (1 - p A)`` (:func:`kept_chance`), at most 1 as p is: a lawful post
    comes with the chance the model gives it, and at most one post a day."""
    posted, typed, _ = post_fields(i, day, pd.key)
    if not online:
        return 0
    p = pd.rate * chilled(r8, chilling)
    if p <= 1.0 and posted >= p * KEPT_BOUND:  # kept with chance at most p: no draw needed
        return 0
    disposition = exponential(pd.dissent_key, i, 0) * ratio
    lawful = 0.0  # 1 - A
    for t in range(N_TYPES):
        lawful += lawful_weight(pd, t, disposition)
    if lawful <= 0.0 or posted >= kept_chance(p, lawful) * (1 << POST_BITS):
        return 0
    u, t, below = typed / float(1 << TYPE_BITS) * lawful, 0, lawful_weight(pd, 0, disposition)
    while t < N_TYPES - 1 and u >= below:
        t += 1
        below += lawful_weight(pd, t, disposition)
    return 1 << ONLINE_POST | t << POST_TYPE_SHIFT


@njit(cache=True, nogil=True, inline="always")
def online_today(adopt, i, adoption):
    """1 where citizen i (its adoption level ``adopt``) uses the internet today."""
    return np.int64(adoption_rank(adopt, i) < adoption[0])


@njit(cache=True, nogil=True, inline="always")
def lawful_post_today(i, day, acts, adopt, r8, adoption, chilling, chilling_against, pd):
    """Citizen i's lawful post today (:func:`lawful_post`) as a stage that reads one finds it:
    none where its acts today hold a post against the line, online by today's adoption
    thresholds, fear's chilling and ratio at its perceived risk ``r8``."""
    if acts & POST_AGAINST:
        return 0
    return lawful_post(i, day, online_today(adopt, i, adoption), r8, chilling,
                       chilling_against[r8], pd)


def type_cuts(weights: np.ndarray) -> np.ndarray:
    """Thresholds of a post's type field at the cumulative shares of the types' ``weights`` (a
    type of weight 0 is never drawn; all types of weight 0: type 0 always)."""
    never = (1 << TYPE_BITS) + 1
    total = weights.sum()
    if total <= 0.0:
        return np.full(N_TYPES - 1, never, np.int64)
    shares = weights / total
    return np.array([never if not shares[k + 1:].any() else field_threshold(c, TYPE_BITS)
                     for k, c in enumerate(np.cumsum(shares)[:-1])], np.int64)


def post_draw(sc: Scenario, seed: int) -> PostDraw:
    """What a post is drawn from in ``sc`` (without speech nobody posts)."""
    if sc.speech is None:
        rate, shares, against = 0.0, np.eye(N_TYPES)[0], np.zeros(N_TYPES)
    else:
        rate = float(sc.speech.rate)
        shares = np.array(list(sc.speech.shares().values()))
        against = np.array(list(sc.speech.against_shares().values()))
    return PostDraw(key=stream_key(seed, f"act.{Layout.of(sc).kinds[ONLINE_POST]}"), rate=rate,
                    shares=shares, against_shares=against,
                    dissent_key=trait_keys(seed)[DISSENT])


