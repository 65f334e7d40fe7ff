"""The public ranking at the end of a run: scored citizens per score, and each score's rank."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.codes import is_scored
from ..world.population import adoption_rank
from ..world.state import View


class Ranking:
    """What the ranking reads of the state."""

    NAME = "ranking"
    READS = ("score", "age", "adopt", "scored")


def ranking(view: View, sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """The ranking of the citizens scored today (by ``view``, a :class:`Ranking` view)."""
    counts = np.zeros(sc.scoring.max - sc.scoring.min + 1, np.int64)
    scored_counts(view.age, view.adopt, view.scored, view.score, sc.scoring.min, counts)
    return rank(counts)


@njit(cache=True, nogil=True)
def scored_counts(age, adopt, scored, score, lo, counts):
    """Add each scored citizen to ``counts`` at its score minus ``lo``: one pass, where a mask,
    the scores it selects and their int64 copy were 11 bytes a citizen at a run's end."""
    for i in range(score.shape[0]):
        if is_scored(age[i], adoption_rank(adopt[i], i), scored):
            counts[np.int64(score[i]) - lo] += 1


def rank(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Citizens per score (``counts``, from the lowest score up), and each score's percentile
    rank (the share at or below it)."""
    above = counts[::-1].cumsum()[::-1] - counts
    return counts, 100.0 * (1.0 - above / max(counts.sum(), 1))
