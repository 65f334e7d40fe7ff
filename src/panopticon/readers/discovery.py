"""Scenario discovery: under which assumptions a conclusion holds or flips, found with PRIM.

A conclusion is a threshold on a study output (``children_barred_wrongly > 1e6``), or a
comparison of two outputs, such as an output of the study's scenario and the same output of
another scenario run at the same points and seeds (``court-list:wrongly_sanctioned_people >
wrongly_sanctioned_people``). At every point of a study (each point's mean over its seeds) it
holds or not; PRIM, the Patient Rule
Induction Method (Friedman and Fisher 1999, as Bryant and Lempert use it for scenario
discovery), then finds boxes of assumption space, bounds on a few parameters, where the rarer
of the two outcomes concentrates. A box is told by its coverage (the share of the outcome's
points that lie in it), its density (the share of the points in it that have the outcome) and
its mass (the share of all points in it).

PRIM here is our own short implementation of peeling and pasting on continuous and integer
parameters, not the EMA Workbench's: importing ``ema_workbench.analysis.prim`` loads the whole
workbench (scikit-learn, statsmodels, seaborn, Platypus: 13 packages, 159 MB, some 20 s on this
machine), its current release needs Python 3.12, and the standalone ``PRIM`` package is GPL-3.
It follows the workbench's choices: each peel removes ``ALPHA`` of the box's points from one
face, picked for the largest gain in density per point removed; peeling stops below
``MIN_MASS`` (or ``MIN_POINTS``) or where no peel raises the density; the box kept is the one of
the trajectory that best balances coverage and density (the largest harmonic mean of the two),
then pasted back out while its density does not fall, and stripped of the restrictions whose
quasi-p-value is ``QP`` or more. Further boxes are found on the points outside the earlier ones
(covering), each kept only with density ``DENSITY`` or more.
Everything is a function of the points, so the boxes are as reproducible as the study.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ALPHA = 0.05  # share of a box's points one peel or paste moves
MIN_MASS = 0.05  # no box with fewer than this share of all points
DENSITY = 0.8  # a further box is kept only with this density or more
MAX_BOXES = 3
MIN_POINTS = 5  # nor with fewer points than this, whatever the mass
QP = 0.05  # a restriction is kept only where its quasi-p-value is below this
OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_CONCLUSION = re.compile(r"^\s*(?P<output>[^<>=\s]+)\s*(?P<op>>=|<=|>|<)\s*(?P<right>\S+)\s*$")


class ConclusionError(ValueError):
    """A conclusion that cannot be read; the message (one line) says what is allowed."""


@dataclass(frozen=True)
class Conclusion:
    """``output op right``: a threshold (``right`` a number) or a comparison with another
    output (``right`` its name)."""

    output: str
    op: str
    right: float | str

    @property
    def text(self) -> str:
        right = self.right if isinstance(self.right, str) else f"{self.right:g}"
        return f"{self.output} {self.op} {right}"

    def holds(self, margin: np.ndarray) -> np.ndarray:
        """Where it holds, given the output less the right side."""
        return OPERATORS[self.op](margin, 0.0)


def parse_conclusion(text: str, outputs: tuple[str, ...]) -> Conclusion:
    """``OUTPUT OP NUMBER`` or ``OUTPUT OP OUTPUT``, with OP one of > >= < <= and each OUTPUT
    one of ``outputs``."""
    m = _CONCLUSION.match(text)
    if m is None:
        raise ConclusionError(f"--conclusion {text!r}: write OUTPUT OP NUMBER or OUTPUT OP OUTPUT,"
                              f" with OP one of {' '.join(OPERATORS)} (children_barred_wrongly"
                              " > 1e6)")
    return Conclusion(_output(text, m["output"], outputs), m["op"],
                      _right(text, m["right"], outputs))


def _output(text: str, name: str, outputs: tuple[str, ...], what: str = "") -> str:
    if name not in outputs:
        raise ConclusionError(f"--conclusion {text!r}: {name} is {what or 'not'} an output of"
                              f" the study; its outputs are {', '.join(outputs)} (add one with"
                              " --output)")
    return name


def _right(text: str, word: str, outputs: tuple[str, ...]) -> float | str:
    """A number, or else an output's name."""
    try:
        value = float(word.replace("_", ""))
    except ValueError:
        return _output(text, word, outputs, "neither a number nor")
    if not math.isfinite(value):
        raise ConclusionError(f"--conclusion {text!r}: {word!r} is not a finite number"
                              " (1000000, 1e6, 0.25)")
    return value


# -- PRIM -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """Open bounds per parameter (-inf, inf where unrestricted) and how it scores."""

    low: np.ndarray
    high: np.ndarray
    coverage: float
    density: float
    mass: float
    points: int

    def restricted(self) -> list[int]:
        return [j for j in range(len(self.low))
                if np.isfinite(self.low[j]) or np.isfinite(self.high[j])]


def inside(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.all((x > low) & (x < high), axis=1)


def _scored(x: np.ndarray, hit: np.ndarray, low: np.ndarray, high: np.ndarray,
            total: int, hits: int) -> Box:
    mask = inside(x, low, high)
    n = int(mask.sum())
    return Box(low.copy(), high.copy(), float(hit[mask].sum() / hits) if hits else 0.0,
               float(hit[mask].mean()) if n else 0.0, n / total, n)


def _peels(x: np.ndarray, mask: np.ndarray, low: np.ndarray, high: np.ndarray):
    """Every single-face peel of the box: (dimension, new low, new high), each taking off at
    least ``ALPHA`` of its points (more where values tie), never all of them."""
    n = int(mask.sum())
    k = max(1, math.ceil(ALPHA * n))
    for j in range(x.shape[1]):
        v = np.sort(x[mask, j])
        if v[k - 1] < v[-1]:
            yield j, v[k - 1], high[j]
        if v[n - k] > v[0]:
            yield j, low[j], v[n - k]


def peel(x: np.ndarray, hit: np.ndarray) -> list[Box]:
    """The peeling trajectory, from the whole space to the last box of mass ``MIN_MASS`` or more
    whose peel still raised the density."""
    total, hits = len(x), int(hit.sum())
    low, high = np.full(x.shape[1], -np.inf), np.full(x.shape[1], np.inf)
    boxes = [_scored(x, hit, low, high, total, hits)]
    while boxes[-1].density < 1:
        box, mask = boxes[-1], inside(x, low, high)
        best = None
        for j, lo, hi in _peels(x, mask, low, high):
            new_low, new_high = low.copy(), high.copy()
            new_low[j], new_high[j] = lo, hi
            cand = _scored(x, hit, new_low, new_high, total, hits)
            if cand.mass < MIN_MASS or cand.points < MIN_POINTS:
                continue
            gain = (cand.density - box.density) / (box.points - cand.points)
            if gain > 0 and (best is None or (gain, cand.points) > best[0]):
                best = ((gain, cand.points), new_low, new_high, cand)
        if best is None:
            break
        _, low, high, chosen = best
        boxes.append(chosen)
    return boxes


def choose(trajectory: list[Box]) -> Box:
    """The box of the trajectory that best balances coverage and density: the largest harmonic
    mean of the two (as an F1 score), the wider on a tie."""
    return max(trajectory, key=lambda b: (_balance(b), b.points))


def _balance(box: Box) -> float:
    both = box.coverage + box.density
    return 2 * box.coverage * box.density / both if both else 0.0


def paste(x: np.ndarray, hit: np.ndarray, box: Box) -> Box:
    """Widen ``box`` one face at a time (``ALPHA`` of its points), best first, while the
    density does not fall."""
    total, hits = len(x), int(hit.sum())
    while True:
        best = None
        for j in box.restricted():
            for side in ("low", "high"):
                cand = _pasted(x, hit, box, j, side, total, hits)
                if cand is not None and cand.density >= box.density and (
                        best is None or (cand.density, cand.points) > (best.density,
                                                                       best.points)):
                    best = cand
        if best is None:
            return box
        box = best


def _pasted(x: np.ndarray, hit: np.ndarray, box: Box, j: int, side: str, total: int,
            hits: int) -> Box | None:
    """``box`` with face ``side`` of parameter ``j`` moved out over the next ``ALPHA`` of its
    points (or fully open where fewer are left); None where the face is already open."""
    bound = box.low[j] if side == "low" else box.high[j]
    if not np.isfinite(bound):
        return None
    low, high = box.low.copy(), box.high.copy()
    low[j], high[j] = -np.inf, np.inf
    near = x[inside(x, low, high), j]
    ordered, counts = np.unique(near[near <= bound] if side == "low" else near[near >= bound],
                                return_counts=True)
    if side == "low":  # nearest the face first
        ordered, counts = ordered[::-1], counts[::-1]
    i = int(np.searchsorted(np.cumsum(counts), max(1, math.ceil(ALPHA * box.points))))
    open_edge = -np.inf if side == "low" else np.inf
    edge = ordered[i + 1] if i + 1 < len(ordered) else open_edge  # the next value out stays out
    if side == "low":
        low[j], high[j] = edge, box.high[j]
    else:
        low[j], high[j] = box.low[j], edge
    return _scored(x, hit, low, high, total, hits)


def quasi_p(x: np.ndarray, hit: np.ndarray, box: Box, j: int) -> float:
    """The chance of a density as high as ``box``'s among its points were they drawn from the
    box without the restriction on parameter ``j`` (one-sided binomial, as the EMA Workbench's
    quasi-p-values): small where the restriction earns its place."""
    low, high = box.low.copy(), box.high.copy()
    low[j], high[j] = -np.inf, np.inf
    wider = hit[inside(x, low, high)].mean()
    hits = round(box.density * box.points)
    return _binomial_tail(hits, box.points, float(wider))


def _binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if p <= 0 or p >= 1:
        return float(k <= n * p)
    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                                 + i * math.log(p) + (n - i) * math.log1p(-p))
                        for i in range(k, n + 1)))


def significant(x: np.ndarray, hit: np.ndarray, box: Box) -> Box:
    """``box`` without the restrictions that do not earn their place (quasi-p-value ``QP`` or
    more), the least significant lifted first."""
    total, hits = len(x), int(hit.sum())
    while box.restricted():
        qp, j = max((quasi_p(x, hit, box, j), j) for j in box.restricted())
        if qp < QP:
            break
        low, high = box.low.copy(), box.high.copy()
        low[j], high[j] = -np.inf, np.inf
        box = _scored(x, hit, low, high, total, hits)
    return box


@dataclass
class Discovery:
    """What a study says about one conclusion: where it holds, and the boxes of the rarer
    outcome (``target``: True where those are the points where it holds)."""

    conclusion: Conclusion
    points: int  # points with the output defined
    undefined: int
    holding: int
    seeds_disagree: int  # points where some seeds hold and others do not
    target: bool = True
    boxes: list[Box] = field(default_factory=list)
    trajectory: list[Box] = field(default_factory=list)  # the first box's peeling


def discover(conclusion: Conclusion, x: np.ndarray, y: np.ndarray) -> Discovery:
    """PRIM boxes of ``conclusion`` over points ``x`` ``[point, parameter]`` with ``y``
    ``[point, seed]`` its output less its right side; none where it holds everywhere or
    nowhere."""
    defined = np.all(np.isfinite(y), axis=1)
    x, y = x[defined], y[defined]
    per_seed = conclusion.holds(y)
    holds = conclusion.holds(y.mean(axis=1))
    found = Discovery(conclusion, len(x), int((~defined).sum()), int(holds.sum()),
                      int(np.sum(per_seed.any(axis=1) & ~per_seed.all(axis=1))))
    if found.holding in (0, found.points):
        return found
    found.target = found.holding * 2 <= found.points
    hit = holds == found.target
    free = np.ones(len(x), dtype=bool)
    total, hits = len(x), int(hit.sum())
    for _ in range(MAX_BOXES):
        trajectory = peel(x[free], hit[free])
        box = significant(x[free], hit[free], paste(x[free], hit[free], choose(trajectory)))
        if not box.restricted() or box.points < MIN_POINTS or (
                found.boxes and box.density < DENSITY):
            break
        mask = free & inside(x, box.low, box.high)
        found.boxes.append(Box(box.low, box.high, float(hit[mask].sum() / hits),
                               box.density, float(mask.sum() / total), int(mask.sum())))
        found.trajectory = found.trajectory or trajectory
        free &= ~mask
        if not hit[free].any():
            break
    return found


# -- in words ---------------------------------------------------------------------------------

def _bounds_words(box: Box, names: list[str]) -> str:
    parts = []
    for j in box.restricted():
        lo, hi = box.low[j], box.high[j]
        if np.isfinite(lo) and np.isfinite(hi):
            parts.append(f"{names[j]} is between {lo:.3g} and {hi:.3g}")
        elif np.isfinite(lo):
            parts.append(f"{names[j]} is above {lo:.3g}")
        else:
            parts.append(f"{names[j]} is below {hi:.3g}")
    return " and ".join(parts)


def words(found: Discovery, names: list[str], value: Callable[[float], str]) -> list[str]:
    """The discovery in sentences: how often the conclusion holds, then each box with its
    coverage and density; ``value`` writes the output's numbers for a reader."""
    c = found.conclusion
    said = f"{c.output} {c.op} {c.right if isinstance(c.right, str) else value(c.right)}"
    lines = []
    if not found.points:
        return [f"{said}: the output is undefined at every point; nothing to discover."]
    share = found.holding / found.points
    head = (f"{said} holds at {found.holding} of the {found.points} points"
            f" ({share:.0%}, each point's mean over its seeds)")
    if found.undefined:
        head += f"; {found.undefined} points where it is undefined are left out"
    lines.append(head + ".")
    if found.holding == found.points:
        lines.append("It holds at every point: no assumption within these ranges flips it.")
    elif found.holding == 0:
        lines.append("It holds at no point: no assumption within these ranges makes it true.")
    elif not found.boxes:
        lines.append("PRIM finds no box of parameters where the "
                     + ("points where it holds" if found.target else "points where it fails")
                     + " concentrate: it turns on no few assumptions at these sizes.")
    outcome = "holds" if found.target else "fails"
    for i, box in enumerate(found.boxes, 1):
        lines.append(f"Box {i}: {box.coverage:.0%} of the points where it {outcome} (coverage)"
                     f" lie where {_bounds_words(box, names)}; it {outcome} at"
                     f" {box.density:.0%} of the {box.points} points in that box (density),"
                     f" {box.mass:.0%} of all points (mass).")
    if found.seeds_disagree:
        lines.append(f"At {found.seeds_disagree} points the seeds disagree on it: near the"
                     " threshold, seed noise decides.")
    return lines


def rows(found: Discovery, names: list[str]) -> list[dict]:
    """Long rows: one per restricted parameter of each box, with the box's scores."""
    return [{"conclusion": found.conclusion.text, "outcome": "holds" if found.target else
             "fails", "box": i, "parameter": names[j],
             "low": float(box.low[j]) if np.isfinite(box.low[j]) else None,
             "high": float(box.high[j]) if np.isfinite(box.high[j]) else None,
             "coverage": box.coverage, "density": box.density, "mass": box.mass,
             "points": box.points}
            for i, box in enumerate(found.boxes, 1) for j in box.restricted()]


def as_dict(found: Discovery, names: list[str]) -> dict:
    c = found.conclusion
    return {"conclusion": c.text, "output": c.output, "op": c.op, "right": c.right,
            "points": found.points, "undefined": found.undefined, "holding": found.holding,
            "seeds_disagree": found.seeds_disagree,
            "boxes_of": "holds" if found.target else "fails",
            "boxes": [{"coverage": b.coverage, "density": b.density, "mass": b.mass,
                       "points": b.points,
                       "bounds": {names[j]: [float(b.low[j]) if np.isfinite(b.low[j]) else None,
                                             float(b.high[j]) if np.isfinite(b.high[j])
                                             else None] for j in b.restricted()}}
                      for b in found.boxes],
            "trajectory": [{"coverage": b.coverage, "density": b.density, "mass": b.mass,
                            "restricted": len(b.restricted())} for b in found.trajectory]}
