"""Bit codes of the arrays and buffers that stages hand each other, and their vocabularies.

Today's buffers: ``acts`` (behaviour -> sensing, consequences): the bit of each act done today
(``world.layout``: posting at bit 0, the scenario's act kinds after it); ``records`` (sensing,
registry -> scoring, fear): the same bits for acts observed, plus wrong and institutional records.
Arrays: ``status`` (registry): where a citizen stands with courts and lists; ``score_gap``
(scoring): how far the true score is from the published one, and why (the wrong causes);
``scored`` (scoring's day value): who has a score; a history (consequences' ``sanctioned_ever``
and history book): sanctions and rewards met; consequences' ``under_sanction`` (bits) and family
book: who is under a sanction today, and the measures their relatives meet for them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..language.catalog import MAX_ACTS, MAX_FALSE_CHANNELS
from ..language.scenario import ContentType
from .population import CHILD, band

CONTENT_TYPES: tuple[str, ...] = ContentType.__args__  # type: ignore[attr-defined]
MAX_GRADES = 8
# The acts word (a citizen's day, 64 bits): posting at bit 0, the scenario's act kinds from bit 1
# (world.layout), then the bits below; bit 63 stays unused, so int64 arithmetic is safe.
ONLINE_POST = 0
# the content type of the day's post (index into CONTENT_TYPES), two bits above the kinds
POST_TYPE_SHIFT = MAX_ACTS + 1
POST_TYPE = 3 << POST_TYPE_SHIFT

# acts that are not scenario act kinds
POST_AGAINST = 1 << POST_TYPE_SHIFT + 2  # the day's post goes against the official line
PAY_DEBT = POST_AGAINST << 1  # pays (or settles) the debt in the court process
PAY_TAX = POST_AGAINST << 2  # pays tax arrears

# records beyond observed acts
FLAG_TRUE = POST_AGAINST << 3  # content review flags a post against the line
FLAG_FALSE = POST_AGAINST << 4  # content review flags a lawful post
JUDGMENT_UNPAID = POST_AGAINST << 5  # listed as a dishonest judgment debtor
TAX_LISTED = POST_AGAINST << 6  # tax arrears put on the exit-ban list
RECORD_KINDS_EXTRA = {
    "content_flag": (FLAG_TRUE, FLAG_FALSE),
    "judgment_unpaid": (JUDGMENT_UNPAID,),
    "tax_listed": (TAX_LISTED,),
}
# a channel's false record (f: its place among the channels that make them, world.layout): it
# names the citizen for someone else's act
FALSE_SHIFT = (TAX_LISTED << 1).bit_length() - 1
FALSE_RECORDS = ((1 << MAX_FALSE_CHANNELS) - 1) << FALSE_SHIFT
WRONG_RECORDS = FALSE_RECORDS | FLAG_FALSE
WORD_BITS = FALSE_SHIFT + MAX_FALSE_CHANNELS
assert WORD_BITS <= 63, "the acts word keeps clear of the sign bit"

# status bits (registry); SHARED: a court listing that airlines and railways have (list_delay
# days after it), which consequences read instead of the listing's day
IN_DEFAULT, JUDGED, LISTED, TAX_CASE, EXIT_BAN, MISCONDUCT, STALE, SHARED = (1 << b
                                                                             for b in range(8))

# wrong cause bits (scoring): why a citizen's score holds wrong points
CAUSE_FALSE_MATCH, CAUSE_FALSE_FLAG, CAUSE_TIES = 1, 2, 4
# score_gap (scoring): the true score minus the published one, shifted above the wrong causes,
# both in two bytes where scores span at most 4095 points (layout.gap_dtype)
GAP_SHIFT = 3
CAUSES = (1 << GAP_SHIFT) - 1

# lists, in the order of ListName
LISTS = ("court", "tax", "travel_misconduct")

# grades: at most MAX_GRADES, so at most N_CUTS scores where the grade changes
N_CUTS = MAX_GRADES - 1


@njit(cache=True, nogil=True, inline="always")
def true_of(score, gap):
    """The true score of a citizen with published ``score`` and ``score_gap`` word ``gap``."""
    return np.int64(score) + (np.int64(gap) >> GAP_SHIFT)


@njit(cache=True, nogil=True, inline="always")
def cause_of(gap):
    """The wrong cause bits (CAUSE_*) of a ``score_gap`` word."""
    return np.int64(gap) & CAUSES


@njit(cache=True, nogil=True, inline="always")
def gap_of(score, true, cause):
    """The ``score_gap`` word of a published and a true score and wrong cause bits."""
    return (np.int64(true) - np.int64(score)) << GAP_SHIFT | cause


@njit(cache=True, nogil=True, inline="always")
def is_scored(age, rank, scored):
    """Whether a citizen of ``age`` (its byte of ``Population.age``) and adoption ``rank``
    (``population.adoption_rank``) has a score, by scoring's day value ``scored``: rank below
    ``scored[0]``, and an adult where ``scored[1]`` is 1 (everyone: ``(ADOPT_LEVELS, 0)``; no
    one: ``(0, 0)``)."""
    return (rank < scored[0]) & ((band(age) != CHILD) | (scored[1] == 0))


MIN_CUTS = 4  # effective_steps' least length: the 4 of china-2018 from 2018


def effective_steps(cuts: np.ndarray, steps: np.ndarray) -> tuple[tuple, tuple]:
    """``consequences.score_steps``' cuts and steps as the kernels take them: only the cuts where a
    measure changes (2 to 4 of the 15 in china-2018; a cut whose step is 0 changes nothing), as
    tuples padded with cuts that change nothing to a power of two, at least :data:`MIN_CUTS`.
    Numba compiles a tuple's length into the kernels, so that each score is compared with those
    cuts alone (the standing pass took 3.1 ns a citizen with the 15, 1.5 with the 2); the
    powers of two keep the kernels' versions few, and the least of them one a run: a run whose
    measures changed from 2 cuts to 4 compiled its largest kernels twice (some 40 s)."""
    changes = np.flatnonzero(steps[1:])
    size = max(MIN_CUTS, 1 << max(0, int(changes.shape[0]) - 1).bit_length())
    pad = size - changes.shape[0]
    return (tuple(cuts[changes].tolist()) + (int(cuts[-1]),) * pad,
            (int(steps[0]), *steps[1:][changes].tolist(), *(0,) * pad))


@njit(cache=True, nogil=True, inline="always")
def moves_across(s0, s, t0, t, cuts):
    """1 where a published score s0 -> s or a true score t0 -> t crosses any of ``cuts`` (a
    tuple: consequences' scores where a measure changes), else 0: a move that changes what a
    citizen meets. Branch-free, for vectorised passes; in 32 bits, which hold every score
    and cut, so that a pass in 32-bit lanes (scoring.restore_block) stays in them."""
    s0, s, t0, t = np.int32(s0), np.int32(s), np.int32(t0), np.int32(t)
    x = np.int32(0)
    for k in range(len(cuts)):
        c = np.int32(cuts[k])
        x = np.int32(x | ((s0 >= c) ^ (s >= c)) | ((t0 >= c) ^ (t >= c)))
    return x


def bit_positions(mask: int) -> np.ndarray:
    return np.array([b for b in range(WORD_BITS) if mask >> b & 1], dtype=np.int64)
