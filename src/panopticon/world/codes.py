"""Bit codes that stages pass to each other through per-citizen arrays.

``acts`` (behaviour -> sensing, consequences): bit ``ACT_BIT[kind]`` for each act done today.
``records`` (sensing -> registry -> scoring): the same bits for acts observed, plus wrong and
institutional records. ``status`` (registry state): where a citizen stands with courts and lists.
"""

from __future__ import annotations

import numpy as np

from ..language.scenario import ActKind, ContentType

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


def bit_positions(mask: int) -> np.ndarray:
    return np.array([b for b in range(32) if mask >> b & 1], dtype=np.int64)
