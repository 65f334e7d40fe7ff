"""A word of bits per citizen, kept only for the citizens whose word is not 0: their ids in
order (:data:`ID`) and their words. The lookups here serve the registry's case book too, whose
rows are several columns.

Consequences keeps in one what citizens have met at least once (a history), which 6% of
china-2018's citizens have by the end of 2014-2019: 6 bytes a row, where an array of n took 2
bytes a citizen. A writer visits its citizens in order, walking the book's rows along: it
changes a citizen's word in its row, and gives the words of the citizens without a row back
as rows of its own, which :func:`file_words` puts in the book between the phases.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# A citizen's id in a book: four bytes, as a population has at most 2,000,000,000 citizens
# (scenario.Population.size), where eight made a row of the history book 10 bytes, not 6.
ID = np.int32


def empty(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """A book without rows, of words of ``dtype``."""
    return np.zeros(0, ID), np.zeros(0, dtype)


@njit(cache=True, nogil=True, inline="always")
def rows_between(ids: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """The first row of citizens lo..hi-1 and the row after their last."""
    return np.searchsorted(ids, lo), np.searchsorted(ids, hi)


@njit(cache=True, nogil=True, inline="always")
def walk(ids: np.ndarray, row: int, i: int) -> int:
    """The first row from ``row`` on of a citizen i or after (citizens visited in order)."""
    while row < ids.shape[0] and ids[row] < i:
        row += 1
    return row


@njit(cache=True, nogil=True, inline="always")
def word_at(ids: np.ndarray, words: np.ndarray, row: int, i: int) -> int:
    """Citizen i's word (``row``: where :func:`walk` stopped for i), 0 without a row."""
    return np.int64(words[row]) if row < ids.shape[0] and ids[row] == i else np.int64(0)


@njit(cache=True, nogil=True, inline="always")
def word_of(ids: np.ndarray, words: np.ndarray, i: int) -> int:
    """Citizen i's word, found by a search (0 without a row): for citizens not visited in
    order."""
    return word_at(ids, words, np.searchsorted(ids, i), i)


@njit(cache=True, nogil=True, inline="always")
def put(ids: np.ndarray, words: np.ndarray, row: int, i: int, h: int, new: np.ndarray,
        added: int) -> int:
    """Citizen i's word ``h`` (``row``: where :func:`walk` stopped for i) into its row, or,
    where it has none and ``h`` is not 0, into row ``added`` of ``new`` (``[citizens, words]``);
    returns the rows added."""
    if row < ids.shape[0] and ids[row] == i:
        words[row] = h
    elif h:
        new[0, added], new[1, added] = i, h
        added += 1
    return added


@njit(cache=True, nogil=True)
def merge_words(ids: np.ndarray, words: np.ndarray, add_ids: np.ndarray, add_words: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The book with the rows ``add_ids``, ``add_words`` (citizens without a row, in order),
    in the order of citizens, in one pass."""
    size = ids.shape[0] + add_ids.shape[0]
    out_ids, out_words = np.empty(size, ids.dtype), np.empty(size, words.dtype)
    r = a = 0
    for k in range(size):
        if a < add_ids.shape[0] and (r == ids.shape[0] or add_ids[a] < ids[r]):
            out_ids[k], out_words[k] = add_ids[a], add_words[a]
            a += 1
        else:
            out_ids[k], out_words[k] = ids[r], words[r]
            r += 1
    return out_ids, out_words


def file_words(ids: np.ndarray, words: np.ndarray, new: list[tuple[np.ndarray, np.ndarray]]
               ) -> tuple[np.ndarray, np.ndarray]:
    """The book with the rows ``new`` (each writer's, in the order of their citizens, none of a
    citizen with a row; ids of any integer type)."""
    if not any(i.shape[0] for i, _ in new):
        return ids, words
    return merge_words(ids, words, np.concatenate([i for i, _ in new], dtype=ids.dtype),
                       np.concatenate([words[:0], *(w for _, w in new)]))


@njit(cache=True, nogil=True)
def words_into(ids: np.ndarray, words: np.ndarray, lo: int, out: np.ndarray) -> None:
    """The words of citizens lo..lo+len(out)-1 into ``out`` (``words``: one per row, or a
    column of a book's rows): 0 but for the rows among them."""
    out[:] = 0
    first, last = rows_between(ids, lo, lo + out.shape[0])
    for r in range(first, last):
        out[ids[r] - lo] = words[r]
