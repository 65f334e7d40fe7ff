"""Consequences' history: the book of words kept only where not 0 (world.word_book), against a
dict of the same words, and the bit arrays of the sanctioned ever, against numpy's bits."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from panopticon.language.scenario import Population
from panopticon.stages.consequences import (
    EVER_SANCTIONED,
    EVER_WRONGLY_SANCTIONED,
    history_into,
    note_sanctioned,
)
from panopticon.world.word_book import (
    ID,
    empty,
    file_words,
    merge_from_end,
    put,
    rows_of_words,
    walk,
    word_at,
    words_into,
)

N = 300


def book_of(words: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array(sorted(words), ID)
    return ids, np.array([words[i] for i in ids], np.uint16)


@given(held=st.dictionaries(st.integers(0, N - 1), st.integers(1, 65535), max_size=60),
       writes=st.lists(st.dictionaries(st.integers(0, N - 1), st.integers(0, 65535),
                                       max_size=40), min_size=1, max_size=4))
@settings(max_examples=80, deadline=None)
def test_writers_in_order_then_filed_keep_every_word(held, writes):
    """Writers, each visiting its citizens in order (a range of its own), change the words of
    those with a row in place and give back rows for the others; filed, the book holds every
    word not 0, in order, as a dict would, with its ids in four bytes (the writers' rows in
    eight)."""
    ids, words = book_of(held)
    want = dict(held)
    new = []
    bounds = np.linspace(0, N, len(writes) + 1).astype(int)
    for (lo, hi), writer in zip(zip(bounds[:-1], bounds[1:], strict=True), writes, strict=True):
        rows, added, row = np.empty((2, N), np.int64), 0, np.searchsorted(ids, lo)
        for i in sorted(c for c in writer if lo <= c < hi):
            row = walk.py_func(ids, row, i)
            assert word_at.py_func(ids, words, row, i) == want.get(i, 0)
            added = put.py_func(ids, words, row, i, writer[i], rows, added)
            if writer[i] or i in want:
                want[i] = writer[i]
        new.append((rows[0, :added], rows[1, :added].astype(np.uint16)))
    ids, words = file_words(ids, words, new, N)
    assert ids.dtype == ID and np.all(np.diff(ids) > 0)
    kept = {i: w for i, w in want.items() if w or i in held}
    assert dict(zip(ids.tolist(), words.tolist(), strict=True)) == kept
    dense = np.empty(N, np.uint16)
    words_into(ids, words, 0, dense)
    np.testing.assert_array_equal(dense, [kept.get(i, 0) for i in range(N)])


@given(filings=st.lists(st.sets(st.integers(0, N - 1), max_size=50), min_size=1, max_size=5),
       seed=st.integers(0, 99))
@settings(max_examples=60, deadline=None)
def test_filed_day_after_day_the_book_stays_in_its_arrays(filings, seed):
    """Day after day of new rows (split between two writers), each filing merged from the end
    in the book's own arrays: the book holds every row, in order, and after its first rows
    stays in the arrays of the book's largest size that the first filing made."""
    rng = np.random.default_rng(seed)
    ids, words = empty(np.uint16)
    want: dict[int, int] = {}
    for filing in filings:
        fresh = np.array(sorted(set(filing) - set(want)), np.int64)
        cut = rng.integers(0, fresh.shape[0] + 1)
        new_words = rng.integers(1, 65536, fresh.shape[0]).astype(np.uint16)
        want.update(zip(fresh.tolist(), new_words.tolist(), strict=True))
        before = ids.base
        ids, words = file_words(ids, words, [(fresh[:cut], new_words[:cut]),
                                             (fresh[cut:], new_words[cut:])], N)
        assert dict(zip(ids.tolist(), words.tolist(), strict=True)) == want
        assert ids.dtype == ID and np.all(np.diff(ids) > 0)
        if want:
            assert ids.base.shape == words.base.shape == (N,)
        if before is not None:
            assert ids.base is before


@given(held=st.sets(st.integers(0, N - 1), max_size=80), added=st.sets(st.integers(0, N - 1),
       max_size=30), columns=st.integers(1, 7), dtype=st.sampled_from([np.uint8, np.int16,
       np.uint64]), seed=st.integers(0, 99))
@settings(max_examples=80, deadline=None)
def test_rows_merged_from_the_end_are_the_rows_sorted_by_citizen(held, added, columns, dtype,
                                                                  seed):
    """Rows of one to seven columns of any width, new ones merged into a book's in its own
    arrays (the rows moved up in place, overlapping what they came from): the book's rows and
    the new ones, in the order of citizens, and the arrays' room beyond them untouched."""
    rng = np.random.default_rng(seed)
    old = np.array(sorted(held), ID)
    new = np.array(sorted(added - held), ID)
    old_rows = rng.integers(0, 100, (old.shape[0], columns)).astype(dtype)
    new_rows = rng.integers(100, 200, (new.shape[0], columns)).astype(dtype)
    size = old.shape[0] + new.shape[0]
    ids, rows = np.full(size + 3, -1, ID), np.full((size + 3) * columns, 7, dtype)
    ids[:old.shape[0]], rows[:old_rows.size] = old, old_rows.reshape(-1)
    merge_from_end(ids, rows, old.shape[0], new, new_rows.reshape(-1), columns)
    order = np.argsort(np.concatenate([old, new]), kind="stable")
    np.testing.assert_array_equal(ids[:size], np.concatenate([old, new])[order])
    np.testing.assert_array_equal(rows[:size * columns].reshape(size, columns),
                                  np.concatenate([old_rows, new_rows])[order])
    assert (ids[size:] == -1).all() and (rows[size * columns:] == 7).all()


def test_a_book_without_room_is_filed_into_arrays_with_room_and_left_as_it_was():
    ids, words = np.array([3, 9], ID), np.array([7, 8], np.uint16)
    filed = file_words(ids, words, [(np.array([5]), np.array([1], np.uint16))], N)
    assert filed[0].tolist() == [3, 5, 9] and filed[1].tolist() == [7, 1, 8]
    assert filed[0].base.shape == (N,) and filed[1].base.shape == (N,)
    assert ids.tolist() == [3, 9] and words.tolist() == [7, 8]


def test_a_book_whose_room_the_system_refuses_is_filed_into_arrays_of_its_size():
    """Where the address space for a row per citizen is refused (here 2**50 rows), the book
    is filed into arrays of its own size, and again, as before books had room."""
    book = empty(np.uint16)
    for day, i in enumerate((7, 3)):
        book = file_words(*book, [(np.array([i]), np.array([day + 1], np.uint16))], 1 << 50)
        assert book[0].base is None or book[0].base.shape[0] == day + 1
    assert book[0].tolist() == [3, 7] and book[1].tolist() == [2, 1]


def test_an_empty_book_files_nothing_new_as_itself():
    ids, words = empty(np.uint16)
    assert file_words(ids, words, [(ids, words)], N) == (ids, words)


@njit
def _note(i0, sanc, wrong, ever, under):
    note_sanctioned(i0, sanc, wrong, ever, under)


@given(blocks=st.lists(st.tuples(st.integers(0, N - 1), st.integers(0, 150)), max_size=8),
       seed=st.integers(0, 99))
@settings(max_examples=60, deadline=None)
def test_the_sanctioned_ever_are_set_from_any_citizen_and_never_cleared(blocks, seed):
    """Blocks of citizens from any first citizen (not on a word's bound, as chunks of 777
    are) set the bits of those under a sanction today, and of those wrongly; bits set stay
    set; the bits of today are each block's, the rest left as they were; the history of each
    citizen joins them to its book's word."""
    rng = np.random.default_rng(seed)
    ever = np.zeros((2, -(-N // 64)), np.uint64)
    under = rng.integers(0, 2**63, ever.shape[1], dtype=np.uint64)  # yesterday's, any
    want = np.zeros((2, N), bool)
    today = np.unpackbits(under.view(np.uint8), bitorder="little")[:N].astype(bool)
    for i0, n in blocks:
        n = min(n, N - i0)
        sanc = rng.integers(0, 2, n) * rng.integers(1, 8, n)
        wrong = sanc & rng.integers(0, 2, n)
        _note(i0, sanc, wrong, ever, under)
        want[0, i0:i0 + n] |= sanc != 0
        want[1, i0:i0 + n] |= wrong != 0
        today[i0:i0 + n] = sanc != 0
    bits = np.unpackbits(ever.view(np.uint8), axis=1, bitorder="little")[:, :N]
    np.testing.assert_array_equal(bits, want)
    np.testing.assert_array_equal(np.unpackbits(under.view(np.uint8), bitorder="little")[:N],
                                  today)
    ids, words = book_of({7: 8, 200: 24})
    history = np.empty(N, np.uint16)
    history_into(ever, ids, words, 0, history)
    expected = EVER_SANCTIONED * want[0] | EVER_WRONGLY_SANCTIONED * want[1]
    expected[[7, 200]] |= [8, 24]
    np.testing.assert_array_equal(history, expected)


@njit(cache=True)
def rows_of(first, words, added):
    ids, out = np.full(words.shape[0] + added, -1, ID), np.zeros(words.shape[0] + added, np.uint16)
    return ids, out, rows_of_words(first, words, ids, out, added)


@given(words=st.lists(st.sampled_from([0, 0, 0, 1, 7, 65535]), max_size=70),
       first=st.integers(0, 10_000), added=st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_a_blocks_words_not_0_become_rows_in_order_whatever_its_length(words, first, added):
    """Tested eight at a time, and the tail one by one: every word not 0 gives a row, in
    order, after the rows already there."""
    ids, out, count = rows_of(first, np.array(words, np.int64), added)
    kept = [(first + j, w) for j, w in enumerate(words) if w]
    assert count == added + len(kept)
    assert list(zip(ids[added:count].tolist(), out[added:count].tolist())) == kept
    assert (ids[:added] == -1).all() and (ids[count:] == -1).all()


def test_the_largest_population_allowed_has_its_ids_in_a_book():
    """A book's ids are four bytes: every citizen of the largest population a scenario may
    have fits."""
    most = next(m.le for m in Population.model_fields["size"].metadata if hasattr(m, "le"))
    assert most - 1 <= np.iinfo(ID).max
