"""Fear: perceived risk stays in bounds, fades, rises on records and sanctions, deters and
chills."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from test_ties import mean_shares

from panopticon.language import scenario
from panopticon.runner.simulation import Simulation
from panopticon.stages import counters
from panopticon.stages.fear import (
    FINE_ONE,
    ONE,
    Fear,
    FearParams,
    fear_run,
    params,
    permille,
    tables,
)
from panopticon.stages.fear import jump as jump_where_seen
from panopticon.world.codes import FLAG_FALSE
from panopticon.world.layout import Layout, chilled
from panopticon.world.population import URBAN
from panopticon.world.posts import POST_BITS, field_threshold

SMALL = {"population.size": 3000, "start": dt.date(2017, 10, 1), "end": dt.date(2018, 2, 28)}


def small(**changes) -> scenario.Scenario:
    return scenario.load("china-2018").with_changes(**{**SMALL, **changes})


LAYOUT = Layout.of(small())
INDEX = counters(small()).index
# the records that tell china-2018's citizens they were seen
SEEN = params(small().fear, small(), 0).seen
KEYS = (np.uint64(11), np.uint64(22), np.uint64(33))  # the roundings' keys


def run_one(risk, records=0, sanctioned=False, town=0, floor=(1024, 20480), decay=0.01,
            jump=0.3, sanc=0.8, day=0):
    """One day of fear for citizens of risk ``risk`` (255ths), under a sanction or not; the
    floor in FINE_ONEths (country 4/255, town 80/255)."""
    n = len(risk)
    risk = np.array(risk, np.uint8)
    acc = np.zeros(len(Fear.COUNTERS), np.int64)
    p = FearParams(0.0, round(decay * 65536), round(jump * 65536), round(sanc * FINE_ONE), 0.0,
                   1, SEEN, *KEYS)
    fear_run(0, day, np.full(n, URBAN if town else 0, np.uint8), np.full(n, sanctioned, np.uint8),
             risk, np.array(floor, np.int64), p, acc)
    for j in range(n):  # the kernel does so for the marked, the citizens with records
        jump_where_seen(0, day, j, np.full(n, records, np.uint64), risk, p, acc)
    return risk, acc


def test_risk_fades_toward_the_floor_and_stays_in_bounds():
    risk, acc = run_one([0, 2, 4, 117, ONE], decay=0.5)
    assert risk[0] > 0 and risk[1] > 2 and risk[2] == 4  # below the floor: rises to it
    assert 4 < risk[3] < 117 and risk[4] < ONE  # above: fades
    assert acc[Fear.COUNTERS.index("perceived_risk_permille_sum")] > 0
    x = np.array([0, ONE, 150], np.uint8)
    for day in range(2000):  # everything at once, many times: never leaves [0, 1]
        x, _ = run_one(x, records=LAYOUT.bit("jaywalking"), sanctioned=True, town=1,
                       decay=1.0, jump=1.0, sanc=1.0, day=day)
    assert x.max() <= ONE
    faded, _ = run_one([ONE], floor=(0, 0), decay=1.0)
    assert faded[0] == 0


def test_risk_rounded_to_a_byte_fades_on_average_as_unrounded():
    """A fade of 1% a day moves a risk of 40/255 by under half a 255th: rounded to the nearest
    255th it would never move; rounded with each citizen's offset of the day (rng.dither), the
    mean over citizens follows the unrounded fade, and the counter sums it in thousandths
    (each rounded to a whole one)."""
    risk, n, days = np.full(20_000, 40, np.uint8), 20_000, 100
    for day in range(days):
        risk, acc = run_one(risk, floor=(0, 0), day=day)
    assert abs(risk.mean() - 40 * 0.99 ** days) < 0.1
    total = acc[Fear.COUNTERS.index("perceived_risk_permille_sum")]
    assert abs(total / n - risk.mean() / ONE * 1000) < 0.5


def test_the_counter_sums_each_risk_in_thousandths_rounded():
    r = np.arange(ONE + 1)
    assert [permille(x) for x in r] == np.floor(r * 1000 / ONE + 0.5).astype(int).tolist()


def test_a_record_or_a_sanction_raises_risk():
    base, _ = run_one([40])
    seen, _ = run_one([40], records=LAYOUT.bit("red_light"))
    wronged, _ = run_one([40], records=FLAG_FALSE)
    unseen_post, _ = run_one([40], records=LAYOUT.bit("good_deed"))  # not a cause to fear
    sanctioned, _ = run_one([40], sanctioned=True)
    assert seen[0] > base[0] and wronged[0] > base[0] and unseen_post[0] == base[0]
    assert sanctioned[0] >= round(0.8 * ONE) > base[0]


def post_thresholds(rate: float, chilling: float) -> np.ndarray:
    """Behaviour's posting thresholds by perceived risk in 255ths."""
    return np.array([field_threshold(rate * chilled(r8, chilling), POST_BITS)
                     for r8 in range(256)])


def test_tables_are_bounded_by_the_plain_rates():
    deter, chilling, ratio = tables(small().fear)
    post = post_thresholds(0.5, chilling)
    assert (np.diff(post) <= 0).all() and post[0] == field_threshold(0.5, POST_BITS) > post[-1]
    assert (deter <= 1.0).all() and (deter >= 0.0).all() and deter[-1] < 1.0
    assert (ratio <= 1.0).all() and (ratio >= 0.0).all()
    deter, chilling, ratio = tables(None)  # fear off
    assert (post_thresholds(0.5, chilling) == field_threshold(0.5, POST_BITS)).all()
    assert (deter == 1.0).all() and (ratio == 1.0).all()


@pytest.mark.parametrize("chilling", [0.0, 0.12, 0.3, 1.0 / 3.0, 0.9, 1.0])
def test_the_chilling_of_posts_is_fears_formula_to_the_last_bit(chilling):
    """Behaviour computes each poster's chilled threshold in its kernel: it must be
    ``1 - chilling r`` rounded as plain floats round it, or results would depend on how the
    kernel was compiled."""
    assert [chilled(r8, chilling) for r8 in range(256)] == [1.0 - chilling * (r8 / 255.0)
                                                          for r8 in range(256)]


def test_sanctioned_ties_raise_risk():
    sim = Simulation(small(**{"population.size": 800}))
    fear = sim.stages["fear"]
    fear.risk[:] = 4
    fear.tie_jump()
    assert (fear.risk == 4).all()  # no one sanctioned: no change
    sim.stages["consequences"].under_sanction[:] = 0x5555_5555_5555_5555  # the even citizens
    fear.tie_jump()
    with_bad_ties = mean_shares(fear.tally.shares, fear.tally.sizes) > 0
    assert ((fear.risk > 4) == with_bad_ties).all() and with_bad_ties.any()


@pytest.fixture(scope="module")
def on_off():
    on = Simulation(small()).run().counts.sum(axis=(0, 1))
    off = Simulation(small(**{"fear.enabled": False})).run().counts.sum(axis=(0, 1))
    return on, off


def test_fear_deters_offences_and_chills_posts_but_not_travel(on_off):
    on, off = on_off
    for name in ("acts_jaywalking", "acts_red_light", "acts_late_bill", "acts_online_post",
                 "posts_lawful", "posts_against_line"):
        assert on[INDEX[name]] < off[INDEX[name]], name
    for name in ("acts_plane_ticket", "acts_train_ticket", "acts_good_deed"):
        assert on[INDEX[name]] == off[INDEX[name]], name
    assert on[INDEX["posts_lawful"]] + on[INDEX["posts_against_line"]] == on[
        INDEX["acts_online_post"]]
    assert off[INDEX["perceived_risk_permille_sum"]] == 0
    mean = on[INDEX["perceived_risk_permille_sum"]] / on[INDEX["citizens"]] / 1000
    assert 0.0 < mean < 1.0


def test_no_fear_table_is_no_fear():
    sc = small(**{"population.size": 500, "end": dt.date(2017, 11, 15)})
    data = sc.model_dump()
    data.pop("fear")
    absent = Simulation(scenario.validate(data, "test")).run().counts
    disabled = Simulation(sc.with_changes(**{"fear.enabled": False})).run().counts
    np.testing.assert_array_equal(absent, disabled)


def test_behaviour_draws_with_the_tables_fear_makes_on_the_day_they_change():
    """Fear makes its tables anew in its start of the day, after behaviour's: behaviour takes
    them on the day's first chunk, not at its own start, so not a day late."""
    switch = dt.date(2017, 10, 4)
    steps = {"shape": "steps", "points": [{"date": SMALL["start"], "value": 0.2},
                                          {"date": switch, "value": 0.9}]}
    sim = Simulation(small(**{"population.size": 500, "end": dt.date(2017, 10, 6),
                              "fear.deterrence": steps}), chunk_size=100)
    seen = []

    def check(phase: int, clock, end=sim.end_phase) -> None:
        if phase == 0:  # behaviour's day values, before the phase's filing lets them go
            taken = sim.stages["behaviour"].values[1]
            np.testing.assert_array_equal(taken, sim.state.read("deterrence"))
            seen.append(taken[255])
        end(phase, clock)

    sim.end_phase = check
    sim.run()
    assert seen == pytest.approx([0.8, 0.8, 0.8, 0.1, 0.1, 0.1])


def test_chilling_against_must_not_be_below_chilling():
    with pytest.raises(scenario.ScenarioError, match="chilling_against"):
        small(**{"fear.chilling": 0.5, "fear.chilling_against": 0.2})


# (1250, 2): a chunk per thread; (1000, 2): a partial last chunk, dealt to the first thread
@pytest.mark.parametrize(("chunk_size", "threads"), [(1000, 1), (1000, 2), (1250, 2)])
def test_fear_runs_do_not_depend_on_chunks_or_threads(engines, chunk_size, threads):
    n = 2500
    sc = small(**{"population.size": n, "end": dt.date(2017, 12, 31)})
    reference = Simulation(sc, chunk_size=n, threads=1).run().counts  # one chunk
    engines.clear()
    counts = Simulation(sc, chunk_size=chunk_size, threads=threads).run().counts
    engines.assert_ran_on(n, chunk_size, threads)
    np.testing.assert_array_equal(counts, reference)
