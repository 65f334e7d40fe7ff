"""Bit codes of the arrays and buffers that stages hand each other, and their vocabularies.

Today's buffers: ``acts`` (behaviour -> sensing, consequences): bit ``ACT_BIT[kind]`` for each act
done today; ``records`` (sensing, registry -> scoring, fear): the same bits for acts observed, plus
wrong and institutional records; ``events`` (consequences): attempts and life events met today.
Arrays: ``status`` (registry): where a citizen stands with courts and lists; ``wrong_cause``
(scoring): why a score holds wrong points; ``scored`` (scoring's day value): who has a score;
``met_ever`` and ``family`` (consequences): sanctions and rewards met, a parent's standing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..language.scenario import ActKind, ContentType, RewardKind, SanctionKind
from .population import CHILD

ACT_KINDS: tuple[str, ...] = ActKind.__args__  # type: ignore[attr-defined]
CONTENT_TYPES: tuple[str, ...] = ContentType.__args__  # type: ignore[attr-defined]
MAX_GRADES = 8
ACT_INDEX = {kind: i for i, kind in enumerate(ACT_KINDS)}
ACT_BIT = {kind: 1 << i for i, kind in enumerate(ACT_KINDS)}
JAYWALKING, RED_LIGHT, LATE_BILL, BAD_SPENDING, DEBT_DEFAULT, TAX_ARREARS, ONLINE_POST, \
    GOOD_DEED, PLANE_TICKET, TRAIN_TICKET, ONBOARD_MISCONDUCT = range(len(ACT_KINDS))

# the content type of the day's post (index into CONTENT_TYPES), two bits above the kinds
POST_TYPE_SHIFT = 12
POST_TYPE = 3 << POST_TYPE_SHIFT
assert len(ACT_KINDS) <= POST_TYPE_SHIFT

# acts that are not scenario act kinds
POST_AGAINST = 1 << 20  # the day's post goes against the official line
PAY_DEBT = 1 << 21  # pays (or settles) the debt in the court process
PAY_TAX = 1 << 22  # pays tax arrears

# records beyond observed acts
FALSE_MATCH = 1 << 23  # a camera attributes someone else's offence to this citizen
FLAG_TRUE = 1 << 24  # content review flags a post against the line
FLAG_FALSE = 1 << 25  # content review flags a lawful post
JUDGMENT_UNPAID = 1 << 26  # listed as a dishonest judgment debtor
TAX_LISTED = 1 << 27  # tax arrears put on the exit-ban list
RECORD_KINDS_EXTRA = {
    "content_flag": (FLAG_TRUE, FLAG_FALSE),
    "judgment_unpaid": (JUDGMENT_UNPAID,),
    "tax_listed": (TAX_LISTED,),
}
WRONG_RECORDS = FALSE_MATCH | FLAG_FALSE

# status bits (registry)
IN_DEFAULT, JUDGED, LISTED, TAX_CASE, EXIT_BAN, MISCONDUCT, STALE = (1 << b for b in range(7))

# wrong_cause bits (scoring): why a citizen's score holds wrong points
CAUSE_FALSE_MATCH, CAUSE_FALSE_FLAG, CAUSE_TIES = 1, 2, 4

# lists, in the order of ListName
LISTS = ("court", "tax", "travel_misconduct")

# sanctions and rewards in force (consequences), in the order of SanctionKind and RewardKind
SANCTION_KINDS: tuple[str, ...] = SanctionKind.__args__  # type: ignore[attr-defined]
REWARD_KINDS: tuple[str, ...] = RewardKind.__args__  # type: ignore[attr-defined]
SANCTION_BIT = {k: 1 << i for i, k in enumerate(SANCTION_KINDS)}
REWARD_BIT = {k: 1 << i for i, k in enumerate(REWARD_KINDS)}
PLANE, TRAIN, EXIT, SCHOOL, JOB, INTERNET, MANAGEMENT, CREDIT = (
    SANCTION_BIT[k] for k in ("plane_ban", "train_ban", "exit_ban", "school_ban", "job_ban",
                              "internet_throttle", "management_ban", "credit_denied"))
DISCOUNT, EASY_CREDIT, BETTER_JOBS, INSTITUTIONS = (
    REWARD_BIT[k] for k in ("transport_discount", "easy_credit", "better_jobs",
                            "institution_access"))
# met_ever bits (consequences): what a citizen has met at least once (distinct people, for the
# audit)
(EVER_PLANE, EVER_TRAIN, EVER_SCHOOL, EVER_EXIT, EVER_JOB, EVER_CREDIT, EVER_WRONGLY_BLOCKED,
 EVER_SANCTIONED, EVER_WRONGLY_SANCTIONED, EVER_DISCOUNT, EVER_EASY_CREDIT, EVER_BETTER_JOB,
 EVER_INSTITUTION, EVER_SCHOOL_WRONGFUL) = (1 << b for b in range(14))
# family bits (consequences), written for parents in phase 1, read for their children in phase 2
FAMILY_BARRED, FAMILY_WRONGFUL, FAMILY_FAVOURED = 1, 2, 4
FAMILY_SANCTIONED = 8  # under some sanction today (fear reads it for the citizen and ties)
# events (consequences): life events drawn today, and tickets bought (their act bits)
EXIT_TRIP, JOB_APPLICATION, CREDIT_APPLICATION = 1, 2, 4

# grades: at most MAX_GRADES, so at most N_CUTS scores where the grade changes
N_CUTS = MAX_GRADES - 1


@njit(cache=True, nogil=True, inline="always")
def is_scored(age, adopt, scored):
    """Whether a citizen has a score, by scoring's day value ``scored``: adoption rank below
    ``scored[0]``, and an adult where ``scored[1]`` is 1 (everyone: ``(ADOPT_LEVELS, 0)``; no one:
    ``(0, 0)``)."""
    return (adopt < scored[0]) & ((age != CHILD) | (scored[1] == 0))


def scored_mask(age: np.ndarray, adopt: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Citizens with a score, over whole arrays (:func:`is_scored`)."""
    return is_scored.py_func(age, adopt, scored)


def bit_positions(mask: int) -> np.ndarray:
    return np.array([b for b in range(32) if mask >> b & 1], dtype=np.int64)
