"""How many citizens a day change what consequences works out for everyone every day.

Consequences' pass over everyone (``consequences.stand_block``) works out each citizen's
standing, the sanctions and rewards it is under (and those of its true case), every day, and
counts the stocks from it. Issue 11's event-driven design keeps such a stock as a running total
changed where a standing changes; this measures whether that could pay: over a run of a
preset, per year, the share of citizens a day

- whose standing differs from the day before (what a running total would be changed for);
- whose published or true score crossed one of the cuts where a measure starts or ends (what
  scoring would have to mark for consequences, restorations included), on the days whose cuts
  are yesterday's (on the others, where the measures in force changed, everyone's standing
  would be worked out again: ``days_recounted``);
- under a sanction, and under any measure (a book of them would be passed over instead of
  everyone).

A stage pays to go by events where they are under about 1% of citizens a day
(docs/design/events.md, step 3). This runs the whole scenario at ``-n`` citizens on one thread,
working out everyone's standing after each day as the cohort does (``consequences.standings``).

    .venv/bin/python benchmarks/event_shares.py                  # china-2018, 141,000 citizens
    .venv/bin/python benchmarks/event_shares.py --preset fuzhou -n 50000

Results also as JSON (``--json``, default runs/bench/event_shares.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from panopticon.language.scenario import load
from panopticon.runner.simulation import Simulation
from panopticon.stages.consequences import everyone_standing, standings
from panopticon.world.codes import GAP_SHIFT

ROOT = Path(__file__).resolve().parent.parent
COUNTS = ("days", "standing_changed", "crossed_a_cut", "under_a_sanction", "under_a_measure",
          "days_recounted")


def everyone(view) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Every citizen's standing today (sanctions, true sanctions, rewards: rows), where its
    published and true scores fall among today's cuts of the measures (one number each), and
    the cuts."""
    st = everyone_standing(view)
    ids = np.arange(view.age.shape[0], dtype=np.int64)
    rows = np.stack(standings(ids, st, view.case_ids, view.case_days))
    cuts = np.array(st.cuts, np.int64)
    score = view.score.astype(np.int64)
    true = score + (view.score_gap.astype(np.int64) >> GAP_SHIFT)
    place = (np.searchsorted(cuts, score, side="right") * (len(cuts) + 1)
             + np.searchsorted(cuts, true, side="right"))
    return rows, place, st.cuts


def shares(preset: str, n: int) -> dict[int, dict[str, float]]:
    """Per year of the run, each of COUNTS but the days as a share of citizens a day (the
    changes from the year's first day on, against the day before), and the days recounted."""
    sc = load(preset).with_changes(**{"population.size": n})
    sim = Simulation(sc, threads=1)
    view, sums, before = sim.cohort.view, {}, None

    def after_day() -> None:
        nonlocal before
        now = everyone(view)
        if before is not None:
            year = (sc.start + dt.timedelta(days=sim.day - 1)).year
            s = sums.setdefault(year, dict.fromkeys(COUNTS, 0))
            s["days"] += 1
            s["standing_changed"] += int((now[0] != before[0]).any(axis=0).sum())
            if now[2] == before[2]:
                s["crossed_a_cut"] += int((now[1] != before[1]).sum())
            else:
                s["days_recounted"] += 1
            s["under_a_sanction"] += int((now[0][0] != 0).sum())
            s["under_a_measure"] += int((now[0] != 0).any(axis=0).sum())
        before = now

    sim.run(after_day=after_day)
    return {year: {k: v if k == "days_recounted" else v / (s["days"] * n)
                   for k, v in s.items() if k != "days"}
            for year, s in sorted(sums.items())}


def main(argv: Sequence[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="china-2018")
    ap.add_argument("-n", "--citizens", type=int, default=141_000)
    ap.add_argument("--json", type=Path, default=ROOT / "runs" / "bench" / "event_shares.json")
    args = ap.parse_args(argv)
    result = shares(args.preset, args.citizens)
    print(f"{args.preset}, {args.citizens:,} citizens: shares of citizens a day")
    print(f"{'year':>6} {'standing changed':>17} {'crossed a cut':>14} {'sanctioned':>11} "
          f"{'any measure':>12} {'days recounted':>15}")
    for year, s in result.items():
        print(f"{year:>6} {s['standing_changed']:>17.4%} {s['crossed_a_cut']:>14.4%} "
              f"{s['under_a_sanction']:>11.2%} {s['under_a_measure']:>12.2%} "
              f"{s['days_recounted']:>15}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"preset": args.preset, "citizens": args.citizens,
                                     "years": result}, indent=2))
    print(f"written: {args.json}")
    return result


if __name__ == "__main__":
    main()
