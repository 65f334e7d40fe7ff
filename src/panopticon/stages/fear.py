"""Fear: each citizen's perceived risk of being observed and sanctioned (deterrence, chilling).

Risk r in [0, 1], stored as a byte in 255ths, is updated at the end of each citizen's day,
after consequences, from what happened to them (``[fear]`` of the scenario):

* it fades toward a floor, ``awareness`` x the camera coverage of the citizen's region and town
  (sensing's, today): ``r <- f + (r - f)(1 - decay)``;
* while the citizen is under a sanction it is held at least at ``sanctioned_risk``;
* a record of the citizen's own act (an observed offence, a content flag, a false match, a
  judgment or tax listing) closes ``observed_jump`` of the gap to 1: ``r <- r + j (1 - r)``;
* every ``ties_lag_days``, before the day, the share s of the citizen's ties (per reach, averaged)
  under a sanction yesterday closes ``ties_jump`` x s of the gap to 1.

Each update works in 256ths of a 255th and rounds back to a byte with an offset that differs
from citizen to citizen and from day to day (``rng.dither``), so that a fade of 1% a day moves
risk on average as it would unrounded (rounded to the nearest 255th, a gap under half a 255th
a day would never close). Fear owns the risk array and the tables through which behaviour
reads the risk of the day before (:func:`tables`, published): offences
``x (1 - deterrence r)``, posts ``x (1 - chilling r)`` (the chilling published, the
multiplier ``layout.chilled``), posts against the line ``x (1 - chilling_against r)``. It
reads camera coverage (sensing's) and who is under a sanction (consequences' ``under_sanction``,
bits) as declared arrays.
Ties are stored once, by the state's tie store, for every stage that reads a reach. With fear off
the stage only publishes zero risk and tables of 1.0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..language.scenario import Fear as FearSpec
from ..language.scenario import Scenario
from ..world.codes import (
    FALSE_RECORDS,
    FLAG_FALSE,
    FLAG_TRUE,
    JUDGMENT_UNPAID,
    TAX_LISTED,
)
from ..world.layout import Layout, chilled
from ..world.pieces import BUFFER, CITIZENS, FIRST, RUNS, SAME, WORDS, Fields
from ..world.population import URBAN, region_of
from ..world.rng import CITIZEN_STEP, counter, dither, dither_at, stream_key
from ..world.state import Stage, View, kernel_step
from ..world.tie_tally import SHARE_PART, TieTally, shares_into
from ..world.today import Today, marked_into, unpack_bits, words_of

ONE = 255  # risk 1, as stored
FINE = 8  # bits below a 255th in which an update works (a risk r is r x ONE << FINE)
FINE_ONE = ONE << FINE
FEAR_BLOCK = 4096  # citizens whose sanctions a pass reads from a block of bytes at a time
PERMILLE_Q = 257_002  # 1000 / 255 in 65536ths, as permille rounds every byte exactly
# perceived risk of being observed and sanctioned, in thousandths, summed over citizens
COUNTERS = ("perceived_risk_permille_sum",)
C_RISK = 0
# records beyond offences that tell a citizen they were seen (true or not)
SEEN_RECORDS = FLAG_TRUE | FLAG_FALSE | FALSE_RECORDS | JUDGMENT_UNPAID | TAX_LISTED


def fixed(x: float) -> int:
    """A share in 65536ths, as the kernels multiply and shift by 16."""
    return round(x * 65536)


class FearParams(NamedTuple):
    """Fear's values from the scenario; shares in 65536ths, as the kernels multiply and shift;
    the keys of the roundings' offsets (``rng.dither``)."""

    awareness: float
    decay_q: int
    jump_q: int
    sanc_q: int  # sanctioned_risk in FINE_ONEths
    ties_jump: float
    ties_lag_days: int
    seen: int  # records that tell a citizen they were seen: offences' and SEEN_RECORDS
    k_fade: np.uint64
    k_jump: np.uint64
    k_ties: np.uint64


class FearArrays(NamedTuple):
    """One chunk's arrays, today's records, and today's floor of risk by region."""

    starts: np.ndarray  # each region's first citizen (population.region_of)
    flags: np.ndarray
    records: np.ndarray  # today's, read
    marked: np.ndarray  # today's (Today.marked): every citizen with records is marked
    todo: np.ndarray
    under_sanction: np.ndarray  # consequences' bits of the whole population, read
    risk: np.ndarray
    floor: np.ndarray  # [region, town] in FINE_ONEths, today


def params(spec: FearSpec, sc: Scenario, seed: int) -> FearParams:
    return FearParams(float(spec.awareness), fixed(spec.decay), fixed(spec.observed_jump),
                      round(spec.sanctioned_risk * FINE_ONE), float(spec.ties_jump),
                      int(spec.ties_lag_days),
                      Layout.of(sc).acts_where(sc, nature="offence") | SEEN_RECORDS,
                      *(stream_key(seed, f"fear.{k}") for k in ("fade", "jump", "ties")))


@njit(cache=True, nogil=True, inline="always")
def rounded(x, offset):
    """Risk ``x`` in FINE_ONEths (0 to FINE_ONE) as stored, in 255ths: rounded with the
    citizen's ``offset`` of the day (``rng.dither``), right on average."""
    return (x + offset) >> FINE


@njit(cache=True, nogil=True, inline="always")
def product32(a, b):
    """``a`` x ``b``, integers that each fit in 32 bits (signed), as 64 bits: the product of two
    32-bit values widened, which LLVM makes one vector instruction of, where AVX2 has none for
    a product of 64-bit integers and takes three and the shifts between them (fear's pass over
    everyone, 1.41 M citizens: 1.0 ns a citizen against 1.6)."""
    return np.int64(np.int32(a)) * np.int64(np.int32(b))


@njit(cache=True, nogil=True, inline="always")
def permille(r):
    """Stored risk ``r`` (255ths) in whole thousandths, as the counter sums it: r x 1000 / 255
    rounded, by a multiplication and a shift (exact for every byte), as a division would stop
    the loop over citizens from vectorising."""
    return (product32(r, PERMILLE_Q) + (1 << 15)) >> 16


def tables(spec: FearSpec | None) -> tuple[np.ndarray, float, np.ndarray]:
    """Per perceived risk as stored, r8 in 255ths (r = r8 / 255): the multiplier of deterred
    rates, and of the against-the-line share of posts; the chilling of posting, whose
    multiplier (``layout.chilled``) behaviour computes per poster. Fear off: 1.0 throughout,
    no chilling."""
    if spec is None:
        return np.ones(256), 0.0, np.ones(256)
    r = np.arange(256) / 255.0
    lawful = np.array([chilled(r8, spec.chilling) for r8 in range(256)])
    deter = 1.0 - spec.deterrence * r
    ratio = np.where(lawful > 0.0, (1.0 - spec.chilling_against * r) / np.maximum(lawful, 1e-300),
                     0.0)
    return np.ascontiguousarray(deter), float(spec.chilling), np.ascontiguousarray(ratio)


@njit(cache=True, nogil=True, inline="always")
def fear_run(first, day, flags, sanctioned, risk, floor, p, acc_r):
    """Citizens from ``first`` of one region: every citizen's risk after today's fade and
    sanctions (``sanctioned``: 1 where under one today), before the jumps of the observed
    (:func:`jump`); branch-free (vectorises).

    ``floor`` is (country, town) in FINE_ONEths. Each step keeps r within [0, 1]: the fade
    moves r part of the way to the floor, the jump part of the way to 1.
    """
    decay_q, sanc_q, key = p.decay_q, p.sanc_q, p.k_fade
    total, count = 0, counter(first, day)
    for j in range(risk.shape[0]):
        x = np.int64(risk[j]) << FINE
        town = np.int64((flags[j] & URBAN) != 0)
        f = floor[0] + (floor[1] - floor[0]) * town
        x -= product32(x - f, decay_q) >> 16  # each within 2**17 of 0
        r = rounded(max(x, sanc_q & -np.int64(sanctioned[j])), dither_at(key, count))
        count += CITIZEN_STEP
        risk[j] = r
        total += permille(r)
    acc_r[C_RISK] += total


@njit(cache=True, nogil=True, inline="always")
def jumped(r, jump_q, key, i, day):
    """Stored risk ``r`` after a jump of ``jump_q`` (65536ths) of the gap to 1."""
    x = np.int64(r) << FINE
    return rounded(x + (product32(FINE_ONE - x, jump_q) >> 16), dither(key, i, day))


@njit(cache=True, nogil=True, inline="always")
def jump(first, day, j, records, risk, p, acc_r):
    """Citizen j's risk jumps part of the way to 1 where a record of today is of a kind it
    sees (``p.seen``); the run's total follows."""
    if np.int64(records[j]) & p.seen:
        before = risk[j]
        risk[j] = jumped(before, p.jump_q, p.k_jump, first + j, day)
        acc_r[C_RISK] += permille(risk[j]) - permille(before)


@njit(cache=True, nogil=True)
def fear_kernel(first, day, runs, a, p, acc):
    """Fear's day for a chunk (citizens from ``first``), per run of one region: the fade and
    the sanctions of everyone, a block of at most FEAR_BLOCK at a time, whose bits of who is
    under a sanction (consequences' ``under_sanction``) are first made bytes, so that the pass
    vectorises (a bit read within it, a load of a word per citizen, did not: 2.4 ns a citizen
    against 0.6); then the jumps of the few with records."""
    sanctioned = np.empty(min(FEAR_BLOCK, a.risk.shape[0]), np.uint8)
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        r = region_of(a.starts, first + lo)
        for b in range(lo, hi, FEAR_BLOCK):
            e = min(hi, b + FEAR_BLOCK)
            unpack_bits(a.under_sanction, first + b, sanctioned[:e - b])
            fear_run(first + b, day, a.flags[b:e], sanctioned[:e - b], a.risk[b:e], a.floor[r],
                     p, acc[r])
        for t in range(marked_into(a.marked, lo, hi, a.todo)):  # the few with records
            jump(first, day, a.todo[t], a.records, a.risk, p, acc[r])


@njit(cache=True, nogil=True, parallel=True)
def start_at_floor(starts, flags, floor, risk):
    """Each citizen's risk set to its region's floor (``starts``: each region's first
    citizen), in town or country, rounded to the nearest 255th, in one pass (indexing the
    floors by arrays of n made 17 bytes a citizen of copies on the first day)."""
    for r in range(starts.shape[0] - 1):
        for i in prange(starts[r], starts[r + 1]):
            risk[i] = (floor[r, np.int64((flags[i] & URBAN) != 0)] + (1 << FINE - 1)) >> FINE


@njit(cache=True, nogil=True, inline="always")
def ties_jumped(ties_jump, share, first, key, day, risk):
    """The risk of citizens from ``first`` (``risk``: their view) after a jump toward 1 by
    ``ties_jump`` x their ``share`` of ties under a sanction: a loop over views, which
    vectorises, where the same loop indexing the whole arrays from a parallel loop's part did
    not (a reading at 1.41 M citizens late in 2019, one thread: 2.6 ms against 10.8 with the
    shares, scratch ``jumpvar.py``)."""
    for k in range(share.shape[0]):
        jump = np.int64(np.rint(ties_jump * share[k] * 65536))
        risk[k] = jumped(risk[k], jump, key, first + k, day)


@njit(cache=True, nogil=True, parallel=True)
def jump_by_ties(ties_jump, shares, sizes, key, day, risk):
    """Each citizen's risk jumps toward 1 by ``ties_jump`` x its share of ties under a sanction
    (``tie_tally.shares_into``, in 65536ths): in place, a part of the citizens at a time
    (numpy's copies of n were a reading's peak of memory)."""
    for part in prange(-(-risk.shape[0] // SHARE_PART)):
        first = np.int64(part) * SHARE_PART
        share = np.empty(min(SHARE_PART, risk.shape[0] - first))
        shares_into(shares, sizes, first, share)
        ties_jumped(ties_jump, share, first, key, day, risk[first:first + share.shape[0]])


@dataclass
class Fear(Stage):
    """Perceived risk per citizen, its update rules, and the tables behaviour reads it through."""

    NAME = "fear"
    OWNS = ("risk", "deterrence", "chilling", "chilling_against", "deterred")
    READS = ("flags", "coverage", "under_sanction", "records", "marked")
    COUNTERS = COUNTERS

    view: View
    seed: int
    risk: np.ndarray  # uint8, 255ths; zeros (untouched pages) while fear is off
    tally: TieTally | None  # of ties under a sanction, over the spec's reaches
    spec: FearSpec | None = None
    sc: Scenario | None = None
    p: FearParams | None = None
    day: int = 0
    floor: np.ndarray | None = None  # [region, town] in FINE_ONEths, today

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Fear:
        fear = cls(view=view, seed=seed, risk=view.own("risk", np.zeros(view.size, np.uint8)),
                   tally=None)
        layout = Layout.of(sc)
        view.publish("deterred", np.array([kind in sc.acts and sc.acts[kind].nature == "offence"
                                           for kind in layout.kinds], np.int64))
        fear.tune(sc)
        if fear.spec is not None:
            fear.tally = view.ties.tally(fear.spec.reach)
        return fear

    def tune(self, sc: Scenario) -> None:
        """Parameters and the published tables from ``sc``."""
        self.sc = sc
        self.spec = sc.fear if sc.fear is not None and sc.fear.enabled else None
        self.p = None if self.spec is None else params(self.spec, sc, self.seed)
        for name, table in zip(("deterrence", "chilling", "chilling_against"), tables(self.spec),
                               strict=True):
            self.view.publish(name, table)

    def active(self) -> bool:
        return self.spec is not None

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Today's floor (from today's camera coverage); on day 0 everyone starts at it; ties."""
        self.day = day
        if sc is not self.sc:
            self.tune(sc)
        self.floor = np.rint(self.p.awareness * self.view.coverage * FINE_ONE).astype(np.int64)
        if day == 0:
            start_at_floor(self.view.starts, self.view.flags, self.floor, self.risk)
        elif day % self.p.ties_lag_days == 0:
            self.tie_jump()

    def tie_jump(self) -> None:
        """Risk jumps with the share of ties under a sanction yesterday."""
        self.tally.update_bits(self.view.under_sanction)
        jump_by_ties(self.p.ties_jump, self.tally.shares, self.tally.sizes, self.p.k_ties,
                     self.day, self.risk)

    @kernel_step(fear_kernel, pieces=(FIRST, SAME, RUNS, Fields(FearArrays, {
        "flags": CITIZENS, "records": BUFFER, "marked": WORDS, "todo": BUFFER,
        "risk": CITIZENS}), SAME, SAME))
    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        a = FearArrays(*today.kept(lo, hi, self.chunk_arrays), self.floor)
        return lo, self.day, self.view.runs(lo, hi), a, self.p, acc

    def chunk_arrays(self, lo: int, hi: int, today: Today) -> tuple:
        """FearArrays' arrays of citizens lo..hi for the run (Today.kept)."""
        v, n = self.view, hi - lo
        return (v.starts, v.flags[lo:hi], today.records[:n], today.marked[words_of(n)],
                today.todo[:n], v.under_sanction, self.risk[lo:hi])
