"""The public ranking at the end of a run: scored citizens per score, and each score's rank."""

from __future__ import annotations

import numpy as np

from ..language.scenario import Scenario
from ..world.codes import scored_mask
from ..world.state import View


class Ranking:
    """What the ranking reads of the state."""

    NAME = "ranking"
    READS = ("score", "age", "adopt", "scored")


def ranking(view: View, sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """The ranking of the citizens scored today (by ``view``, a :class:`Ranking` view)."""
    scored = scored_mask(view.age, view.adopt, view.scored)
    return rank(view.score[scored], sc.scoring.min, sc.scoring.max)


def rank(scores: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Citizens per score from ``lo`` to ``hi``, and each score's percentile rank (the share at
    or below it)."""
    counts = np.bincount(scores.astype(np.int64) - lo, minlength=hi - lo + 1)
    above = counts[::-1].cumsum()[::-1] - counts
    return counts, 100.0 * (1.0 - above / max(counts.sum(), 1))
