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
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# A citizen's id in a book: four bytes, as a population has at most 2,000,000,000 citizens
# (scenario.Population.size), where eight made a row of the history book 10 bytes, not 6.
ID = np.int32
GROUP = 8  # words tested at once (rows_of_words): a vector of eight


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


@njit(cache=True, nogil=True, inline="always")
def rows_of_words(first: int, words: np.ndarray, ids: np.ndarray, out: np.ndarray,
                  added: int) -> int:
    """The words not 0 of citizens first.. (``words``) as rows of a book from row ``added``
    (``ids``, ``out``); returns the new count. Eight words at a time are tested at once, and
    only eight with one not 0 are visited: a test per citizen took 0.3 ns a citizen where
    almost every word is 0 (consequences' family words, china-2018)."""
    whole = words.shape[0] - words.shape[0] % GROUP
    for g in range(0, whole, GROUP):
        some = 0
        for k in range(GROUP):
            some |= words[g + k]
        if some:
            added = rows_of_some(first, words, g, g + GROUP, ids, out, added)
    return rows_of_some(first, words, whole, words.shape[0], ids, out, added)


@njit(cache=True, nogil=True, inline="always")
def rows_of_some(first: int, words: np.ndarray, lo: int, hi: int, ids: np.ndarray,
                 out: np.ndarray, added: int) -> int:
    """:func:`rows_of_words` of ``words[lo:hi]``, a word at a time."""
    for j in range(lo, hi):
        if words[j]:
            ids[added], out[added] = first + j, words[j]
            added += 1
    return added


@intrinsic
def move_within(typingctx, array, to, start, count):
    """``array[to:to + count] = array[start:start + count]`` (a contiguous array, indices
    within it), where the two may overlap: LLVM's ``memmove``, which copies once, where
    Numba's slice assignment copies an overlapping source to a temporary first (a new array
    each time, and twice the bytes: 5.8 against 49 us to merge 72 rows into a book of 77,568,
    scratch ``memmovebench.py``). The caller keeps the indices within the array: nothing
    here checks them."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
            and all(isinstance(v, types.Integer) for v in (to, start, count))):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        to, start, count = (context.cast(builder, v, t, types.intp)
                            for v, t in zip(args[1:], sig.args[1:]))
        item = context.get_abi_sizeof(context.get_data_type(sig.args[0].dtype))
        cgutils.raw_memmove(builder,
                            cgutils.get_item_pointer(context, builder, sig.args[0], ary, [to]),
                            cgutils.get_item_pointer(context, builder, sig.args[0], ary, [start]),
                            count, item)
        return context.get_dummy_value()

    return types.none(array, to, start, count), codegen


@njit(cache=True, nogil=True)
def merge_from_end(ids: np.ndarray, rows: np.ndarray, held: int, add_ids: np.ndarray,
                   add_rows: np.ndarray, columns: int) -> None:
    """The book's ``held`` first rows merged with the rows ``add_ids``, ``add_rows``
    (citizens without a row, in order) in ``ids``, ``rows``, which have room for both, in the
    order of citizens; a row is ``columns`` values (a word book's one word, the case book's
    columns) and the rows are given flat, one after the other. From the end, so that no row is
    written over before it is read: the book's rows after each new one moved up by the new
    rows before them in one ``memmove`` (:func:`move_within`), where row by row cost 2.5 ns a
    row; the rows before the first new one are where they were, and are not visited."""
    end = held
    for a in range(add_ids.shape[0] - 1, -1, -1):
        p = np.searchsorted(ids[:end], add_ids[a])
        if p < end:
            move_within(ids, p + a + 1, p, end - p)
            move_within(rows, (p + a + 1) * columns, p * columns, (end - p) * columns)
        ids[p + a] = add_ids[a]
        rows[(p + a) * columns:(p + a + 1) * columns] = add_rows[a * columns:(a + 1) * columns]
        end = p


@njit(cache=True, nogil=True)
def keep_set(ids: np.ndarray, words: np.ndarray) -> int:
    """The rows whose word is not 0 moved up to the book's first rows, in order, in place;
    returns how many stay (a book written in place keeps the rows whose word went to 0)."""
    kept = 0
    for r in range(ids.shape[0]):
        if words[r]:
            ids[kept], words[kept] = ids[r], words[r]
            kept += 1
    return kept


def has_room(a: np.ndarray, size: int) -> bool:
    """Whether ``a`` is the start of an array (its ``base``) of its kind with ``size`` rows."""
    b = a.base
    return (isinstance(b, np.ndarray) and b.dtype == a.dtype and b.shape[1:] == a.shape[1:]
            and b.strides == a.strides and b.ctypes.data == a.ctypes.data
            and b.shape[0] >= size)


def reserved(a: np.ndarray, room: int, size: int) -> np.ndarray:
    """An empty array of ``a``'s kind of ``room`` rows, or of ``size`` where the system will
    not give the address space (strict accounting of memory, ``vm.overcommit_memory`` 2):
    the book is then copied at each filing, as it was before it had room."""
    try:
        return np.empty((room, *a.shape[1:]), a.dtype)
    except MemoryError:
        return np.empty((size, *a.shape[1:]), a.dtype)


def grown(ids: np.ndarray, rows: np.ndarray, size: int, room: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """The book's arrays made ``size`` rows long, its rows first: in place where their
    arrays have the room (:func:`has_room`), else in new ones of ``room`` rows, at least
    ``size``, whose rows beyond ``size`` take no memory until they are written."""
    if all(has_room(a, size) for a in (ids, rows)):
        return ids.base[:size], rows.base[:size]
    full = [reserved(a, max(room, size), size) for a in (ids, rows)]
    for f, a in zip(full, (ids, rows), strict=True):
        f[:a.shape[0]] = a
    return full[0][:size], full[1][:size]


def file_words(ids: np.ndarray, rows: np.ndarray, new: list[tuple[np.ndarray, np.ndarray]],
               room: int) -> tuple[np.ndarray, np.ndarray]:
    """The book ``ids``, ``rows`` (a word a row, or ``[rows, columns]``: the case book's) with
    the rows ``new`` (each writer's, in the order of their citizens, none of a citizen with a
    row; ids of any integer type), in its own arrays where they have room, in new ones of
    ``room`` rows (the largest the book can be) otherwise: a book is never held twice, as it
    was while a copy was made. The arrays given, and any view of them, then hold other rows."""
    add = sum(i.shape[0] for i, _ in new)
    if not add:
        return ids, rows
    held = ids.shape[0]
    ids, rows = grown(ids, rows, held + add, room)
    columns = rows.shape[1] if rows.ndim == 2 else 1
    merge_from_end(ids, rows.reshape(-1), held,
                   np.concatenate([i for i, _ in new], dtype=ids.dtype),
                   np.concatenate([rows[:0], *(d for _, d in new)]).reshape(-1), columns)
    return ids, rows


@njit(cache=True, nogil=True)
def words_into(ids: np.ndarray, words: np.ndarray, lo: int, out: np.ndarray) -> None:
    """The words of citizens lo..lo+len(out)-1 into ``out`` (``words``: one per row, or a
    column of a book's rows): 0 but for the rows among them."""
    out[:] = 0
    first, last = rows_between(ids, lo, lo + out.shape[0])
    for r in range(first, last):
        out[ids[r] - lo] = words[r]
