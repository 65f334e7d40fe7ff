"""One sampled life told as a dated timeline, from a run folder's ``cohort.parquet``.

Lawful posts, the commonest act and one the system does nothing with unless it flags one, are
told as one line per stretch between other events.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..observers.cohort import LAWFUL_POST, SCHEMA
from .runfolder import open_run

HARMS = ("blocked", "sanction", "family")  # kinds that cost the citizen something
WRONG_TEXT = {"false_record": "false record(s)", "blocked": "wrongful refusal(s)",
              "sanction": "wrongful sanction(s) imposed", "grade": "wrong grade change(s)",
              "score": "score change(s) from a wrong record or bad company",
              "fear": "rise(s) in fear after a wrong record", "registry": "stale listing(s)",
              "list": "listing(s) on a scheme's list by wrong evidence",
              "family": "bar(s) for a parent's wrongful sanction"}


class StoryError(ValueError):
    """A run folder or citizen that has no story to tell; the message says why."""


def load_cohort(run: Path | str) -> pa.Table:
    """The run's cohort events (cohort.SCHEMA), ordered by citizen and date; a
    ``RunFolderError`` names a damaged file."""
    folder = open_run(run)
    if not folder.has("cohort"):
        raise StoryError(f"RUN: {run} has no cohort.parquet; a run of this version of "
                         "`panopticon run` writes one")
    return folder.table("cohort", SCHEMA)


def told(events: pa.Table) -> pa.Array:
    """Which events count toward a full life (lawful posts do not)."""
    return pc.invert(pc.and_(pc.equal(events["kind"], "act"),
                             pc.equal(events["detail"], LAWFUL_POST)))


def choose(events: pa.Table) -> int:
    """The default life: among citizens with a wrongful sanction or block, else all, the one
    with the most events (lawful posts aside); the lowest id on a tie."""
    counts = events.filter(told(events)).group_by("citizen").aggregate([("citizen", "count")])
    n = dict(zip(counts["citizen"].to_pylist(), counts["citizen_count"].to_pylist(),
                 strict=True))
    harmed = pc.is_in(events["kind"], pa.array(["blocked", "sanction"]))
    wronged = set(events.filter(pc.and_(events["wrongful"], harmed))["citizen"].to_pylist())
    pool = wronged or set(n)
    return min(pool, key=lambda c: (-n.get(c, 0), c))


def life(events: pa.Table, citizen: int | None) -> tuple[int, list[dict]]:
    """The chosen citizen's id and events; a StoryError names the field if it is not there."""
    if events.num_rows == 0:
        raise StoryError("the run's cohort is empty (audit.cohort_size = 0): no life to tell")
    if citizen is None:
        citizen = choose(events)
    rows = events.filter(pc.equal(events["citizen"], citizen)).to_pylist()
    if not rows:
        members = pc.unique(events["citizen"]).to_pylist()
        raise StoryError(f"--citizen: {citizen} is not in the cohort; its {len(members):,} "
                         f"members include {', '.join(map(str, sorted(members)[:5]))}")
    return citizen, rows


def timeline(events: list[dict]) -> Table:
    """Dated rows, wrongful ones marked; stretches of lawful posts folded into one row."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("date", "what", "", "detail"):
        table.add_column(col, no_wrap=col != "detail")
    posts: list[dict] = []

    def fold() -> None:
        if posts:
            span = f" until {posts[-1]['date']}" if len(posts) > 1 else ""
            table.add_row(str(posts[0]["date"]), Text("act", style="dim"), "",
                          Text(f"posted lawfully {len(posts)} time{'s' * (len(posts) > 1)}{span}",
                               style="dim"))
            posts.clear()

    for r in events:
        if r["kind"] == "profile":
            continue
        if r["kind"] == "act" and r["detail"] == LAWFUL_POST:
            posts.append(r)
            continue
        fold()
        style = "bold red" if r["wrongful"] else ("yellow" if r["kind"] in HARMS else "")
        table.add_row(str(r["date"]), Text(r["kind"], style=style),
                      Text("WRONG", style="bold red") if r["wrongful"] else "",
                      Text(r["detail"], style=style))
    fold()
    return table


def reckoning(events: list[dict]) -> Text:
    """The closing line: what the life's events cost the citizen and what was wrong in them."""
    refused = Counter(r["detail"].split(" (")[0].removesuffix(" refused") for r in events
                      if r["kind"] == "blocked")
    imposed = sum(r["kind"] == "sanction" and r["detail"].startswith("now under")
                  for r in events)
    barred = sum(r["kind"] == "family" and r["detail"].startswith("barred") for r in events)
    wrong = Counter(r["kind"] for r in events if r["wrongful"])
    cost = [f"{sum(refused.values())} refusal(s)"
            + (f" ({', '.join(f'{k} x{n}' for k, n in refused.most_common())})" if refused
               else ""),
            f"{imposed} sanction(s) imposed"]
    if barred:
        cost.append(f"barred {barred} time(s) for a parent's sanction")
    text = Text("What it cost them: ", style="bold")
    text.append("; ".join(cost) + ". ")
    text.append("What was wrong: ", style="bold")
    text.append(", ".join(f"{n} {WRONG_TEXT.get(k, k)}" for k, n in wrong.most_common())
                if wrong else "nothing the audit can see", style="red" if wrong else "")
    text.append(".")
    return text


def render(run: Path, citizen: int | None = None) -> Group:
    """One life of ``run``'s cohort (``citizen``, or :func:`choose`'s) as Rich renderables."""
    citizen, events = life(load_cohort(run), citizen)
    profile = next((r["detail"] for r in events if r["kind"] == "profile"), "")
    header = Text(f"Citizen {citizen}", style="bold")
    header.append(f": {profile}" if profile else "")
    n = sum(r["kind"] != "profile" and r["detail"] != LAWFUL_POST for r in events)
    header.append(f" ({n} events, lawful posts aside, from {events[0]['date']} to "
                  f"{events[-1]['date']})", style="dim")
    return Group(header, timeline(events), reckoning(events))

