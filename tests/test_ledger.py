"""The ledger of points owed back: entries come back by due day, in citizen order, once."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from panopticon.world.ledger import Ledger


def fill(ledger: Ledger, entries: list[tuple[int, int, int, int]], chunk: int, seed: int) -> None:
    """Put (made day, citizen, points, due day) entries day by day and, within a day, chunk by
    chunk in a shuffled order (as threads finish them)."""
    n = max((c for _, c, _, _ in entries), default=0) + 1
    rng = np.random.default_rng(seed)
    for made in sorted({m for m, _, _, _ in entries}):
        for lo in rng.permutation(range(0, n, chunk)):
            mine = [e for e in entries if e[0] == made and lo <= e[1] < lo + chunk]
            for day in sorted({d for *_, d in mine}):
                due = [(c, p) for _, c, p, d in mine if d == day]
                ledger.put(day, int(lo), np.array([c for c, _ in due]),
                           np.array([p for _, p in due]), np.array([p // 2 for _, p in due]))


# made day, citizen, points, due day (after the made day)
entry = st.tuples(st.integers(0, 3), st.integers(0, 200), st.integers(-50, 50),
                  st.integers(0, 5)).map(lambda e: (e[0], e[1], e[2], e[0] + 1 + e[3]))


@settings(max_examples=60, deadline=None)
@given(st.lists(entry, max_size=60, unique_by=lambda e: (e[0], e[1], e[3])),
       st.integers(1, 64), st.integers(0, 2**32 - 1))
def test_a_day_comes_back_sorted_by_citizen_whatever_the_chunks(entries, chunk, seed):
    entries = sorted(entries)
    one, many = Ledger(), Ledger()
    fill(one, entries, 10_000, 0)
    fill(many, entries, chunk, seed)
    assert len(one) == len(many) == len(entries)
    for day in range(10):
        a, b = one.take(day), many.take(day)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
        mine = sorted((c, m, p) for m, c, p, d in entries if d == day)  # a citizen's by made day
        assert list(a[0]) == [c for c, _, _ in mine]
        assert list(a[1]) == [p for _, _, p in mine]
        assert many.take(day)[0].shape == (0,)  # taken once
    assert len(many) == 0
