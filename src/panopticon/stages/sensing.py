"""Sensing: which of today's acts the authorities observe, and which observations are wrong.

Each act kind names its channel (``[channels]`` of the scenario; none: never recorded). A
register records an act with its hit rate; a camera channel with the coverage of the citizen's
region (a ramp of camera counts; denser in towns) times its hit rate (face recognition). A
channel that makes false records names citizens for acts they did not do, as records of its
``false_as``, at the rate that makes them its ``false_share`` of its records. Content review, the
channel of posts, flags posts against the line with the recall of the post's content type, and
lawful posts at the false-positive rate that the type's precision implies. A channel records
nothing outside its start and end.
Ground truth stays in ``acts``; ``records`` holds only what was observed, true or not.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..language.scenario import Scenario
from ..world.codes import (
    CONTENT_TYPES,
    FALSE_SHIFT,
    FLAG_FALSE,
    FLAG_TRUE,
    ONLINE_POST,
    PAY_DEBT,
    PAY_TAX,
    POST_AGAINST,
    POST_TYPE,
    POST_TYPE_SHIFT,
)
from ..world.layout import Layout
from ..world.pieces import BUFFER, CITIZENS, FIRST, RUNS, SAME, WORDS, Fields
from ..world.population import URBAN, Regions, load_regions, region_of, share_on
from ..world.posts import PostDraw, lawful_post_today, post_draw
from ..world.rng import chance, picks, stream_key
from ..world.state import Stage, View, kernel_step
from ..world.today import Today, mark, marked_into, pop_lowest, words_of

COMMON = 1 << ONLINE_POST | POST_TYPE  # lawful posts, the one common act, need no observation
NO_CHANNEL = -1
# content review's flags; then, by the catalog (counters(sc)), acts observed and each channel's
# false records
FIXED_COUNTERS = (
    "content_flags_true", "content_flags_false",
    *(f"content_flags_true_{t}" for t in CONTENT_TYPES),
    *(f"content_flags_false_{t}" for t in CONTENT_TYPES))
C_FLAG_TRUE, C_FLAG_FALSE, C_FLAG_TRUE_T0, C_FLAG_FALSE_T0 = (FIXED_COUNTERS.index(n) for n in (
    "content_flags_true", "content_flags_false", f"content_flags_true_{CONTENT_TYPES[0]}",
    f"content_flags_false_{CONTENT_TYPES[0]}"))
C_OBS0 = len(FIXED_COUNTERS)


class SensingParams(NamedTuple):
    """Sensing's values from the scenario: per act kind its channel, per channel its kind and
    rates; content review; the streams of draws."""

    channel: np.ndarray  # per act kind (bit), its channel's index in channels, or NO_CHANNEL
    camera: np.ndarray  # per channel, 1 for a camera channel
    hit: np.ndarray  # per channel, its hit rate where it is in force
    recall: np.ndarray  # content review's recall, per content type
    flag_p: np.ndarray  # the chance of a false flag of a lawful post, per content type
    keys: np.ndarray  # per act kind, the stream of its observation
    hit_keys: np.ndarray  # per channel, the stream of a camera's identification
    false_keys: np.ndarray  # per channel that makes false records, its stream
    false_picks: np.ndarray  # per channel that makes false records, the stream of its picks
    k_flag: np.uint64
    k_flag_picks: np.uint64
    post: PostDraw  # a picked citizen's lawful post is drawn as behaviour draws it


class SensingArrays(NamedTuple):
    """One chunk's arrays and buffers, and today's coverage and false records by region."""

    starts: np.ndarray  # each region's first citizen (population.region_of)
    flags: np.ndarray
    adopt: np.ndarray  # and risk: whether a picked citizen posts lawfully (lawful_post)
    risk: np.ndarray
    acts: np.ndarray  # today's, read
    records: np.ndarray  # today's, made here
    todo: np.ndarray
    marked: np.ndarray  # today's: behaviour's, and here whom a false record or flag names
    coverage: np.ndarray  # [region, town]: camera coverage today
    hit: np.ndarray  # per channel, its hit rate today (0 outside its start and end)
    false_p: np.ndarray  # [false channel, region, town]: chance of a false record today
    false_top: np.ndarray  # per false channel, its largest chance today
    adoption: np.ndarray  # behaviour's adoption thresholds today
    chilling: float  # fear's chilling of posting, and its ratio of the against-the-line share
    chilling_against: np.ndarray


@njit(cache=True, nogil=True, inline="always")
def watched_kinds(channel):
    """The bits of the act kinds (not posting, content review's) that a channel observes."""
    bits = 0
    for k in range(1, channel.shape[0]):
        if channel[k] != NO_CHANNEL:
            bits |= 1 << k
    return bits


@njit(cache=True, nogil=True, inline="always")
def observe_run(first, day, r, n, todo, acts, flags, records, channel, watched, camera, hit,
                coverage, recall, keys, hit_keys, acc_r):
    """Record bits of the acts of the run's marked (``todo[:n]``) that are observed, as
    ``chance`` per channel, counted; paying passes to records as it is. Only the bits of
    ``watched`` (:func:`watched_kinds`) are visited: a marked citizen has done few kinds.

    Lawful posts are flagged falsely in ``false_flags``; a post against the line that review
    misses (``recall`` per content type) is not flagged at all. Called once per run, its loop
    over the citizens inside: an inlined helper given arrays per citizen costs a reference
    count per array, twice, wherever it reads them under a branch.
    """
    for t in range(n):
        j = todo[t]
        a = np.int64(acts[j])
        if not a & ~COMMON:  # nothing that may be observed, or paying
            continue
        i, town = first + j, np.int64((flags[j] & URBAN) != 0)
        rec = a & (PAY_DEBT | PAY_TAX)
        ctype = a >> POST_TYPE_SHIFT & 3
        if a & POST_AGAINST and chance(keys[ONLINE_POST], i, day, recall[ctype]):
            rec |= 1 << ONLINE_POST | FLAG_TRUE
            acc_r[C_OBS0 + ONLINE_POST] += 1
            acc_r[C_FLAG_TRUE] += 1
            acc_r[C_FLAG_TRUE_T0 + ctype] += 1
        kinds = np.uint64(a & watched)
        while kinds:  # the kinds done that a channel observes, in order
            k, kinds = pop_lowest(kinds)
            c = channel[k]
            seen = chance(keys[k], i, day, coverage[r, town] if camera[c] else hit[c])
            if camera[c]:
                seen &= chance(hit_keys[c], i, day, hit[c])
            if seen:
                rec |= 1 << k
                acc_r[C_OBS0 + k] += 1
        records[j] |= rec


@njit(cache=True, nogil=True, inline="always")
def false_flags(first, day, a, p, picked, acc):
    """Lawful posts of a chunk flagged falsely, each with its content type's chance
    (``p.flag_p``): the chunk's citizens picked at the largest chance, then kept where they
    post lawfully today (drawn as behaviour draws a post, which counts the others') at their
    post's share of it; those flagged are marked and counted in their region."""
    top, acts, records, marked, starts = p.flag_p.max(), a.acts, a.records, a.marked, a.starts
    for t in range(picks(p.k_flag_picks, day, first, first + acts.shape[0], top, picked)):
        j = picked[t]
        post = lawful_post_today(first + j, day, acts[j], a.adopt[j], np.int64(a.risk[j]),
                                 a.adoption, a.chilling, a.chilling_against, p.post)
        ctype = post >> POST_TYPE_SHIFT & 3
        if post and chance(p.k_flag, first + j, day, p.flag_p[ctype] / top):
            records[j] |= FLAG_FALSE
            mark(marked, j)
            r = region_of(starts, first + j)
            acc[r, C_FLAG_FALSE] += 1
            acc[r, C_FLAG_FALSE_T0 + ctype] += 1


@njit(cache=True, nogil=True, inline="always")
def false_records(first, day, starts, flags, chances, top, key, pick_key, bit, records, picked,
                  marked, acc, counter):
    """A channel's false records over a chunk's citizens (``chances``: by region, country and
    town, below ``top``, the day's largest anywhere): picked at ``top``, then kept at their own
    share of it, marked and counted in their region (``counter``)."""
    for t in range(picks(pick_key, day, first, first + records.shape[0], top, picked)):
        j = picked[t]
        r = region_of(starts, first + j)
        if chance(key, first + j, day, chances[r, np.int64((flags[j] & URBAN) != 0)] / top):
            records[j] |= 1 << bit
            mark(marked, j)
            acc[r, counter] += 1


@njit(cache=True, nogil=True)
def sense_kernel(first, day, runs, a, p, acc):
    """Turn one chunk's acts into records: observed acts, false records and content flags.

    First the draws that need no act, on records made empty: lawful posts flagged falsely and
    each channel's false records, a few citizens picked over the whole chunk (once, not per
    run of a region: a pick's walk starts at its block's first citizen). Then, per run of
    citizens of one region, the few with an act that may be observed, or paying (which passes
    to records as it is), found among the marked (``Today.marked``).
    """
    acts, records, todo, flags, coverage = a.acts, a.records, a.todo, a.flags, a.coverage
    channel, camera, hit, recall, keys, hit_keys = (p.channel, p.camera, a.hit, p.recall, p.keys,
                                                    p.hit_keys)
    c_false, watched = C_OBS0 + channel.shape[0], watched_kinds(channel)
    records[:] = 0
    false_flags(first, day, a, p, todo, acc)
    for f in range(a.false_p.shape[0]):
        false_records(first, day, a.starts, flags, a.false_p[f], a.false_top[f], p.false_keys[f],
                      p.false_picks[f], FALSE_SHIFT + f, records, todo, a.marked, acc,
                      c_false + f)
    for q in range(runs.shape[0] - 1):
        lo, hi = runs[q], runs[q + 1]
        r = region_of(a.starts, first + lo)
        observe_run(first, day, r, marked_into(a.marked, lo, hi, todo), todo, acts, flags,
                    records, channel, watched, camera, hit, coverage, recall, keys, hit_keys,
                    acc[r])


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
    """Sensing's parameters from ``sc``; channels' hit rates as if all were in force."""
    layout = Layout.of(sc)
    channels = list(sc.channels)
    recall, flag_false_p = review_rates(sc)
    return SensingParams(
        channel=np.array([NO_CHANNEL, *(channels.index(sc.acts[k].channel)
                                        if sc.acts[k].channel in sc.channels else NO_CHANNEL
                                        for k in layout.kinds[1:])], np.int64),
        camera=np.array([c.type == "camera" for c in sc.channels.values()], np.int64),
        hit=np.array([float(c.hit) for c in sc.channels.values()]),
        recall=recall, flag_p=flag_false_p,
        keys=np.array([stream_key(seed, f"sense.{k}") for k in layout.kinds], dtype=np.uint64),
        hit_keys=np.array([stream_key(seed, f"channel.{c}.hit") for c in channels], np.uint64),
        false_keys=np.array([stream_key(seed, f"channel.{c}.false")
                             for c in layout.false_channels], np.uint64),
        false_picks=np.array([stream_key(seed, f"channel.{c}.false.picks")
                              for c in layout.false_channels], np.uint64),
        k_flag=stream_key(seed, "sense.content_false"),
        k_flag_picks=stream_key(seed, "sense.content_false.picks"), post=post_draw(sc, seed))


def false_chances(sc: Scenario, p: SensingParams, hit: np.ndarray, coverage: np.ndarray,
                  false_channels: tuple[str, ...]) -> np.ndarray:
    """Per channel that makes false records (``Layout.false_channels``, taken once: it walks
    every channel's schedules), the chance of one per citizen today by [region, town]: a share
    ``false_share`` of its records, spread over the citizens it covers (the camera coverage of a
    camera channel) at its hit rate today (``hit``) times the rates of the acts it observes."""
    channels = list(sc.channels)
    out = np.zeros((len(false_channels), *coverage.shape))
    for f, name in enumerate(false_channels):
        c, channel = channels.index(name), sc.channels[name]
        rate = sum(a.rate for a in sc.acts.values() if a.channel == name)
        odds = channel.false_share / max(1.0 - channel.false_share, 1e-12)
        seen = coverage if p.camera[c] else np.ones_like(coverage)
        out[f] = np.minimum(1.0, seen * hit[c] * rate * odds)
    return out


@dataclass
class Sensing(Stage):
    """Channel probabilities, and camera coverage by region and town/country for today."""

    NAME = "sensing"
    OWNS = ("records", "coverage", "cameras")
    READS = ("flags", "adopt", "risk", "acts", "adoption", "chilling", "chilling_against")
    WRITES = ("marked",)

    view: View
    seed: int
    sc: Scenario | None = None
    p: SensingParams | None = None
    hit: np.ndarray | None = None  # per channel, its hit rate today
    density: np.ndarray | None = None  # relative cameras per person, [region, town]
    day: int = 0
    coverage: np.ndarray | None = None
    false_p: np.ndarray | None = None
    false_top: np.ndarray | None = None  # per channel that makes false records, its top chance
    false_channels: tuple[str, ...] = ()

    @classmethod
    def counters(cls, sc: Scenario) -> tuple[str, ...]:
        """Content review's flags, ``observed_<kind>`` per act kind, and
        ``<channel>_false_records`` per channel that makes false records."""
        layout = Layout.of(sc)
        return (*FIXED_COUNTERS, *(f"observed_{k}" for k in layout.kinds),
                *(f"{c}_false_records" for c in layout.false_channels))

    @classmethod
    def build(cls, sc: Scenario, seed: int, view: View) -> Sensing:
        sensing = cls(view=view, seed=seed)
        sensing.tune(sc)
        return sensing

    def tune(self, sc: Scenario) -> None:
        self.sc, self.p = sc, params(sc, self.seed)
        self.false_channels = Layout.of(sc).false_channels
        self.density = camera_density(sc, self.view.regions)

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Today's cameras and their coverage (published), the channels in force, and the
        chances of false records."""
        self.day = day
        if sc is not self.sc:
            self.tune(sc)
        s = sc.sensing
        cameras = share_on(s.cameras.count, date)
        per_person = cameras / self.view.regions.national
        self.coverage = 1.0 - np.exp(-s.cameras.view_factor * per_person * self.density)
        in_force = np.array([c.in_force(date) for c in sc.channels.values()], bool)
        self.hit = np.where(in_force, self.p.hit, 0.0)
        self.false_p = false_chances(sc, self.p, self.hit, self.coverage, self.false_channels)
        self.false_top = self.false_p.max(axis=(1, 2), initial=0.0)
        self.view.publish("coverage", self.coverage)
        self.view.publish("cameras", np.float64(cameras))
        self.values = None

    @kernel_step(sense_kernel, pieces=(FIRST, SAME, RUNS, Fields(SensingArrays, {
        **dict.fromkeys(("flags", "adopt", "risk"), CITIZENS),
        **dict.fromkeys(("acts", "records", "todo"), BUFFER), "marked": WORDS}),
        SAME, SAME))
    def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        a = SensingArrays(*today.kept(lo, hi, self.chunk_arrays), *self.day_values())
        return lo, self.day, self.view.runs(lo, hi), a, self.p, acc

    def chunk_arrays(self, lo: int, hi: int, today: Today) -> tuple:
        """SensingArrays' arrays of citizens lo..hi for the run (Today.kept)."""
        n = hi - lo
        v = self.view
        return (v.starts, v.flags[lo:hi], v.adopt[lo:hi], v.risk[lo:hi], today.acts[:n],
                today.records[:n], today.todo[:n], today.marked[words_of(n)])

    def gather_day(self) -> tuple:
        """SensingArrays' day values: coverage, channels' hit rates, false records' chances;
        behaviour's adoption thresholds and fear's tables, to draw a picked citizen's post."""
        v = self.view
        return (self.coverage, self.hit, self.false_p, self.false_top, v.adoption,
                float(v.chilling), v.chilling_against)


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
    return density / math.fsum(weights * national)  # not BLAS's dot: the same on any machine

