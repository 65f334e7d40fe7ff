"""Sensing: which of today's acts the authorities observe, and which observations are wrong.

Each act kind has one channel. Cameras see street offences with the coverage of the citizen's
region (a ramp of camera counts; denser in towns) times the face-recognition hit rate, and
attribute some offences to the wrong person (false matches). Content review flags posts against
the line with the recall of the post's content type, and lawful posts at the false-positive rate
that the type's precision implies.
Ground truth stays in ``acts``; ``records`` holds only what was observed, true or not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.codes import (
    ACT_KINDS,
    CONTENT_TYPES,
    FALSE_MATCH,
    FLAG_FALSE,
    FLAG_TRUE,
    ONLINE_POST,
    PAY_DEBT,
    PAY_TAX,
    POST_AGAINST,
    POST_TYPE,
    POST_TYPE_SHIFT,
)
from ..world.population import URBAN, Regions, load_regions, share_on
from ..world.rng import bits53, chance, stream_key, threshold
from ..world.state import Stage, View
from ..world.today import Today

CAMERA, PAYMENT, COURT, TAX, CONTENT, REPORT, STAFF, NOT_AN_OFFENCE = range(8)
CHANNEL = {
    "jaywalking": CAMERA, "red_light": CAMERA, "late_bill": PAYMENT, "bad_spending": PAYMENT,
    "debt_default": COURT, "tax_arrears": TAX, "online_post": CONTENT, "good_deed": REPORT,
    "onboard_misconduct": STAFF,  # reported by crew: always recorded
    "plane_ticket": NOT_AN_OFFENCE, "train_ticket": NOT_AN_OFFENCE,
}
POST_AGAINST_BIT = POST_AGAINST.bit_length() - 1
COMMON = 1 << ONLINE_POST | POST_TYPE  # lawful posts, the one common act, need no observation
# acts observed, and observations that are wrong
COUNTERS = (
    *(f"observed_{k}" for k in ACT_KINDS),
    "camera_false_matches", "content_flags_true", "content_flags_false",
    *(f"content_flags_true_{t}" for t in CONTENT_TYPES),
    *(f"content_flags_false_{t}" for t in CONTENT_TYPES))
C_OBS0, C_FALSE_MATCH, C_FLAG_TRUE, C_FLAG_FALSE, C_FLAG_TRUE_T0, C_FLAG_FALSE_T0 = (
    COUNTERS.index(n) for n in (
        f"observed_{ACT_KINDS[0]}", "camera_false_matches", "content_flags_true",
        "content_flags_false", f"content_flags_true_{CONTENT_TYPES[0]}",
        f"content_flags_false_{CONTENT_TYPES[0]}"))


class SensingParams(NamedTuple):
    """Sensing's values from the scenario: channels, their rates and the streams of draws."""

    channel: np.ndarray  # per act kind, its channel (CAMERA ...)
    channel_p: np.ndarray  # per channel, the chance an act is recorded (cameras: a face hit)
    recall: np.ndarray  # content review's recall, per content type
    flag_thr: np.ndarray  # draw threshold of a false flag of a lawful post, per content type
    keys: np.ndarray  # per act kind, the stream of its observation
    k_face: np.uint64
    k_false: np.uint64
    k_flag: np.uint64


class SensingArrays(NamedTuple):
    """One chunk's arrays and buffers, and today's coverage and false matches by region."""

    region: np.ndarray
    flags: np.ndarray
    acts: np.ndarray  # today's, read
    records: np.ndarray  # today's, made here
    todo: np.ndarray
    coverage: np.ndarray  # [region, town]: camera coverage today
    false_match_p: np.ndarray  # [region, town]: chance of a false match today


@njit(cache=True, nogil=True, inline="always")
def observe(i, day, r, town, a, channel, channel_p, coverage, recall, keys, k_face, acc_r):
    """Record bits of the acts in ``a`` that are observed, as ``chance`` per channel; counted.

    Lawful posts are flagged falsely in ``sense_run``; a post against the line that review
    misses (``recall`` per content type) is not flagged at all. Called once per citizen with an
    act to observe: it takes arrays one by one, as a tuple of arrays passed per citizen costs a
    reference count per array.
    """
    rec = 0
    ctype = a >> POST_TYPE_SHIFT & 3
    for k in range(channel.shape[0]):
        if a & (1 << k):
            c = channel[k]
            p = (coverage[r, town] if c == CAMERA else recall[ctype] if c == CONTENT
                 else channel_p[c])
            seen = chance(keys[k], i, day, p)
            if c == CAMERA:
                seen &= chance(k_face, i, day, channel_p[CAMERA])
            if c == CONTENT:
                seen = (a & POST_AGAINST) != 0 and seen
            if seen:
                rec |= 1 << k
                acc_r[C_OBS0 + k] += 1
    if rec & (1 << ONLINE_POST):
        rec |= FLAG_TRUE
        acc_r[C_FLAG_TRUE] += 1
        acc_r[C_FLAG_TRUE_T0 + ctype] += 1
    return rec


@njit(cache=True, nogil=True, inline="always")
def sense_run(first, day, flags, acts, false_thr, p, records, acc_r):
    """Draws every citizen of a run needs: false matches and flags of lawful posts (at
    ``p.flag_thr`` of the post's content type).

    Branch-free over the run's own views (indexed from 0), so that it vectorises.
    """
    flag_thr, k_false, k_flag = p.flag_thr, p.k_false, p.k_flag
    matches = 0
    flagged0 = flagged1 = flagged2 = flagged3 = 0  # scalars, not an array: the loop vectorises
    for j in range(acts.shape[0]):
        i = first + j
        a = np.int64(acts[j])
        thr = false_thr[1] if flags[j] & URBAN else false_thr[0]
        match = np.int64(bits53(k_false, i, day) < thr)
        lawful = (a >> ONLINE_POST & 1) & (1 - (a >> POST_AGAINST_BIT & 1))
        ctype = a >> POST_TYPE_SHIFT & 3
        flag = lawful & np.int64(bits53(k_flag, i, day) < flag_thr[ctype])
        records[j] = (a & (PAY_DEBT | PAY_TAX)) | match * FALSE_MATCH | flag * FLAG_FALSE
        matches += match
        flagged0 += flag & np.int64(ctype == 0)
        flagged1 += flag & np.int64(ctype == 1)
        flagged2 += flag & np.int64(ctype == 2)
        flagged3 += flag & np.int64(ctype == 3)
    acc_r[C_FALSE_MATCH] += matches
    acc_r[C_FLAG_FALSE] += flagged0 + flagged1 + flagged2 + flagged3
    acc_r[C_FLAG_FALSE_T0] += flagged0
    acc_r[C_FLAG_FALSE_T0 + 1] += flagged1
    acc_r[C_FLAG_FALSE_T0 + 2] += flagged2
    acc_r[C_FLAG_FALSE_T0 + 3] += flagged3


@njit(cache=True, nogil=True)
def sense_kernel(first, day, runs, a, p, acc):
    """Turn one chunk's acts into records: observed acts, false matches and content flags.

    Per run of citizens of one region, every citizen's draws first; then the few with an act
    that may be observed (listed in ``a.todo``).
    """
    acts, records, todo, flags, coverage = a.acts, a.records, a.todo, a.flags, a.coverage
    channel, channel_p, recall, keys, k_face = p.channel, p.channel_p, p.recall, p.keys, p.k_face
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        r = a.region[lo]
        false_thr = (threshold(a.false_match_p[r, 0]), threshold(a.false_match_p[r, 1]))
        sense_run(first + lo, day, flags[lo:hi], acts[lo:hi], false_thr, p, records[lo:hi],
                  acc[r])
        m = 0
        for j in range(lo, hi):  # citizens with an act that may be observed
            todo[m] = j
            m += (np.int64(acts[j]) & ~COMMON) != 0
        for t in range(m):
            j = todo[t]
            town = np.int64((flags[j] & URBAN) != 0)
            records[j] |= observe(first + j, day, r, town, np.int64(acts[j]), channel,
                                  channel_p, coverage, recall, keys, k_face, acc[r])


def lawful_flag_rate(precision: float, recall: float, against_share: float) -> float:
    """False-positive rate per lawful post that gives the review its precision on average.

    precision = recall*pi / (recall*pi + fpr*(1-pi))  =>  fpr = recall*pi*(1-P) / (P*(1-pi)).
    """
    pi = min(against_share, 1.0 - 1e-12)
    return min(1.0, recall * pi * (1.0 - precision) / (precision * (1.0 - pi)))


def review_rates(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per content type, content review's recall and its false-flag rate per lawful post."""
    review = sc.sensing.content_review
    against = sc.speech.against_shares() if sc.speech is not None else {}
    recall = np.array([review[t].recall if t in review else 0.0 for t in CONTENT_TYPES])
    false_p = np.array([lawful_flag_rate(review[t].precision, review[t].recall, against[t])
                        if t in review and t in against else 0.0 for t in CONTENT_TYPES])
    return recall, false_p


def params(sc: Scenario, seed: int) -> SensingParams:
    s = sc.sensing
    channel_p = np.zeros(8)
    channel_p[[CAMERA, PAYMENT, COURT, TAX, REPORT, STAFF]] = [
        s.face_hit_rate, s.payment_observed, s.court_records, s.tax_records,
        s.good_deed_reported, 1.0]
    recall, flag_false_p = review_rates(sc)
    return SensingParams(
        channel=np.array([CHANNEL[k] for k in ACT_KINDS], dtype=np.int64), channel_p=channel_p,
        recall=recall, flag_thr=np.array([threshold(p) for p in flag_false_p], np.int64),
        keys=np.array([stream_key(seed, f"sense.{k}") for k in ACT_KINDS], dtype=np.uint64),
        k_face=stream_key(seed, "sense.face_match"),
        k_false=stream_key(seed, "sense.false_match"),
        k_flag=stream_key(seed, "sense.content_false"))


@dataclass
class Sensing(Stage):
    """Channel probabilities, and camera coverage by region and town/country for today."""

    NAME = "sensing"
    OWNS = ("records", "coverage", "cameras")
    READS = ("region", "flags", "acts")
    COUNTERS = COUNTERS

    view: View
    seed: int
    sc: Scenario | None = None
    p: SensingParams | None = None
    density: np.ndarray | None = None  # relative cameras per person, [region, town]
    day: int = 0
    coverage: np.ndarray | None = None
    false_match_p: np.ndarray | None = None

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Sensing:
        sensing = cls(view=view, seed=seed)
        sensing.tune(sc)
        return sensing

    def tune(self, sc: Scenario) -> None:
        self.sc, self.p = sc, params(sc, self.seed)
        self.density = camera_density(sc, self.view.regions)

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Today's cameras and their coverage (published), and the chance of a false match."""
        self.day = day
        if sc is not self.sc:
            self.tune(sc)
        s = sc.sensing
        cameras = share_on(s.cameras.count, date)
        per_person = cameras / self.view.regions.national
        self.coverage = 1.0 - np.exp(-s.cameras.view_factor * per_person * self.density)
        # Wrong attributions: a share of all camera attributions, spread over covered citizens.
        street_rate = sum(sc.acts[k].rate for k in ACT_KINDS
                          if CHANNEL[k] == CAMERA and k in sc.acts)
        odds = s.false_match_share / max(1.0 - s.false_match_share, 1e-12)
        self.false_match_p = np.minimum(1.0, self.coverage * s.face_hit_rate * street_rate * odds)
        self.view.publish("coverage", self.coverage)
        self.view.publish("cameras", np.float64(cameras))

    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        n = hi - lo
        a = SensingArrays(self.view.region[lo:hi], self.view.flags[lo:hi], today.acts[:n],
                          today.records[:n], today.todo[:n], self.coverage, self.false_match_p)
        sense_kernel(lo, self.day, self.view.runs(lo, hi), a, self.p, acc)


def camera_density(sc: Scenario, regions: Regions) -> np.ndarray:
    """Cameras per person relative to the national mean, by [region, town]; the national mean
    is 1 by design (over every province, for a scenario of some of them too)."""
    cams = sc.sensing.cameras
    everywhere = load_regions()
    national = np.array([cams.region_density.get(code, 1.0) for code in everywhere.codes])
    regional = np.array([cams.region_density.get(code, 1.0) for code in regions.codes])
    u = sc.population.urban_share
    town = np.array([1.0, cams.urban_density]) / (1.0 - u + u * cams.urban_density)
    density = regional[:, None] * town[None, :]
    weights = everywhere.census / everywhere.total
    return density / float(weights @ national)

