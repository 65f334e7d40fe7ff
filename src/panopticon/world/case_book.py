"""The registry's case book: a row per citizen with a status or a listing in its past.

Few citizens stand anywhere with courts and lists (under 1% of china-2018's at a time, about 2%
ever over 2014-2019), so where they stand is kept in rows of those citizens, in their order,
not in an array of every citizen: ``ids`` (``word_book.ID``) and ``rows`` (int16,
:data:`COLUMNS` a row): the days a case needs (a court case's last change of state, the day a
paid listing is removed everywhere, a tax case's opening, the end of a travel-misconduct
listing), the lists ever (bits the registry sets) and the status (bits of ``codes``:
IN_DEFAULT ... SHARED), and the day the registry next visits the row (``DUE``: the next day its
status may change without a record). A citizen without a row has status 0 and none of those
days.

The registry writes the rows of its chunk's citizens and gives the rows of new cases, filed by
:func:`file_rows`; each reader takes what it needs: a stage's pass the rows of its chunk
(:func:`statuses_into`, or walking them along in order), a visit the row of one citizen
(:func:`status_of`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .word_book import ID, file_words, words_into

# The columns: the court case's last change of state, the day a paid listing is removed
# everywhere, the tax case's opening, the end of a travel-misconduct listing; the lists ever
# (the registry's EVER_* bits); the status (codes' bits); the day the registry next visits
# the row without a record (0, as a row is made by hand: the next day).
COURT_DAY, STALE_UNTIL, TAX_DAY, MISCONDUCT_UNTIL, EVER, STATUS, DUE = range(7)
COLUMNS = 7


def empty() -> tuple[np.ndarray, np.ndarray]:
    """A book without rows."""
    return np.zeros(0, ID), np.zeros((0, COLUMNS), np.int16)


@njit(cache=True, nogil=True, inline="always")
def row_of(ids: np.ndarray, i: int) -> int:
    """The row of citizen i, or -1 where it has none."""
    r = np.searchsorted(ids, i)
    return r if r < ids.shape[0] and ids[r] == i else -1


@njit(cache=True, nogil=True)
def status_of(ids: np.ndarray, rows: np.ndarray, i: int) -> int:
    """Citizen i's status (0 without a row)."""
    r = row_of(ids, i)
    return np.int64(rows[r, STATUS]) if r >= 0 else 0


@njit(cache=True, nogil=True)
def statuses_into(ids: np.ndarray, rows: np.ndarray, lo: int, out: np.ndarray) -> None:
    """The statuses of citizens lo..lo+len(out)-1 into ``out``: 0 but for the rows among
    them."""
    words_into(ids, rows[:, STATUS], lo, out)


@njit(cache=True, nogil=True)
def keep_open(ids: np.ndarray, rows: np.ndarray) -> int:
    """The rows that stay (a status, or lists ever) moved up to the book's first rows, in
    order, in place; returns how many stay. Rows copied a column at a time, not as slices
    (0.12 ms a day at 1.41 M in 2018 against 0.38 for a merge that did so)."""
    kept = 0
    for r in range(ids.shape[0]):
        if (rows[r, STATUS] != 0) | (rows[r, EVER] != 0):
            ids[kept] = ids[r]
            for c in range(COLUMNS):
                rows[kept, c] = rows[r, c]
            kept += 1
    return kept


def file_rows(ids: np.ndarray, rows: np.ndarray, new: list[tuple[np.ndarray, np.ndarray]],
              room: int) -> tuple[np.ndarray, np.ndarray]:
    """The book with the rows that stay and the rows ``new`` (each chunk's, in order, none of a
    citizen with a row; ids of any integer type), in the order of citizens, in its own arrays
    where they have room (``word_book.file_words``, ``room`` rows)."""
    kept = keep_open(ids, rows)
    return file_words(ids[:kept], rows[:kept], new, room)
