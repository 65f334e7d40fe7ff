"""What the page shows of a run folder, read through the report's, story's and compare's code.

Figures are the report's plotly figures and tables the report's HTML, so the page and
report.html say the same; a sampled life is ``panopticon story``'s own text, exported as HTML.
What is read or drawn from a run folder is kept for the folder's version (its summary.json's
time), so that a run shown again, or a page drawn again, costs nothing.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rich.console import Console

from ..readers import compare as compare_mod
from ..readers import report, story
from ..readers.report import Run, human, percent, table_html
from . import provinces

T = TypeVar("T")
MAP_CAPTION = ("One tile per province, placed roughly as the provinces lie (north at the top), "
               "each the same size whatever its area; the darker, the higher the rate. Pick the "
               "figure in the menu above the map; the ranking below gives the order.")


@dataclass(frozen=True)
class Figure:
    """One figure of the page: its anchor, title, caption, and a plotly figure as plotly's JSON
    or HTML or both."""

    key: str
    title: str
    caption: str
    plot: str | None = None
    html: str = ""


def per_version(read: Callable[..., T]) -> Callable[..., T]:
    """``read(folder, *args)`` done once per version of the run folder and kept (eight)."""
    kept = functools.lru_cache(maxsize=8)(lambda folder, version, *args: read(folder, *args))

    @functools.wraps(read)
    def cached(folder: Path, *args):
        return kept(Path(folder), _version(folder), *args)
    return cached


def _version(folder: Path) -> int | None:
    try:
        return (Path(folder) / "summary.json").stat().st_mtime_ns
    except OSError:  # no run folder: the reader says so, and nothing is kept
        return None


@per_version
def load(folder: Path) -> Run:
    """The run folder as the report reads it (a RunFolderError names a damaged file)."""
    return report.load_run(folder)


def header(run: Run) -> str:
    """One line on the run: scenario, period, citizens and seconds taken."""
    s = run.summary
    return (f"{s['scenario']}: {s['start']} to {s['end']}, {s['citizens']:,} citizens x "
            f"{s['scale']:,.0f} people, seed {s['seed']}, simulated in {s['wall_seconds']:.1f} s")


def audit_value(value: float | None, unit: str) -> str:
    """An audit figure as the page shows it: counts in words, rates in percent."""
    if value is None:
        return "-"
    if unit in ("people", "events"):
        return human(value)
    return percent(value) if unit in ("rate", "share") else f"{value:.3g}"


def key_figures(run: Run) -> str:
    """The audit's national totals (summary.json's, as ``panopticon run`` prints them), with
    the fear-off run's beside them where it was made."""
    rows = [r for r in run.summary.get("audit", []) if r["group_by"] == "total"]
    cf = bool(run.summary.get("counterfactual"))
    return table_html(
        ["section", "figure", "value", *(["fear off"] if cf else [])],
        [[r["section"].replace("_", " "), r["metric"], audit_value(r["value"], r["unit"]),
          *([audit_value(r["fear_off"], r["unit"])] if cf else [])] for r in rows],
        numeric={2, 3})


def published(run: Run) -> str:
    """The model beside each published figure (summary.json's comparison)."""
    rows = [r for r in run.summary.get("published_comparison", []) if r["model"] is not None]
    if not rows:
        return "<p>This scenario has no published national figure to compare.</p>"
    return table_html(["date", "figure", "published", "model", "model / published"],
                      [[r["date"], r["metric"], human(r["published"]), human(r["model"]),
                        "-" if not r["published"] else f"{r['model'] / r['published']:.2f}"]
                       for r in rows], numeric={2, 3, 4})


@per_version
def figures(folder: Path) -> list[Figure]:
    """The report's sections the page shows, in reading order."""
    run, caps = load(folder), report.CAPTIONS
    out = [Figure("timeline", "The model against the published record",
                  caps["timeline"].format(band=""), report.timeline_figure(run).to_json(),
                  published(run)),
           Figure("funnel", "From acts to sanctions, and the wrongful share at each step",
                  caps["funnel"], report.funnel_figure(run).to_json(), report.funnel_table(run)),
           Figure("causes", "Why wrongful sanctions happened", caps["causes"],
                  report.causes_figure(run).to_json()),
           Figure("audit", "The audit", caps["audit"], None, report.audit_html(run))]
    if report.province_rates(run):
        out += [Figure("map", "The provinces on a map, per 100,000 people", MAP_CAPTION,
                       provinces.map_figure(run).to_json()),
                Figure("provinces", "Provinces ranked, per 100,000 people",
                       caps["provinces"], report.provinces_figure(run).to_json())]
    return out


@per_version
def life(folder: Path, citizen: int | None) -> str:
    """One sampled life as ``panopticon story`` tells it, as HTML; a StoryError says why not."""
    console = Console(record=True, width=110, file=io.StringIO())  # recorded, not printed
    console.print(story.render(folder, citizen))
    return console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")


def comparison(first: Path, other: Path) -> tuple[str, list[str]]:
    """Two runs side by side (``panopticon compare``'s figures): an HTML table and the
    warnings on what their difference mixes in."""
    c = compare_mod.compare([first, other])
    rows = [[f.metric, f.how, human(f.values[0]), human(f.values[1]),
             compare_mod.signed(f.differences[0], human),
             "-" if not f.values[0] else f"{f.differences[0] / f.values[0]:+.1%}"]
            for f in c.figures]
    return table_html(["figure", "read", c.labels[0], c.labels[1], "difference", "change"], rows,
                      numeric={2, 3, 4, 5}), c.warnings


def audit_comparison(first: Path, other: Path) -> str:
    """The audit's national totals of two runs side by side, each with its difference: compare's
    figures are the series both runs count, while a sanction switched off leaves its series out
    of one run, and the audit still counts what it did (children barred: 0)."""
    runs = [load(first), load(other)]
    totals = [{r["metric"]: r for r in run.summary.get("audit", []) if r["group_by"] == "total"}
              for run in runs]
    rows = []
    for metric, row in totals[0].items():
        a, b = row["value"], totals[1].get(metric, {}).get("value")
        if a is None or b is None:
            diff = "-"
        elif row["unit"] in ("people", "events"):
            diff = compare_mod.signed(b - a, human)
        else:
            diff = f"{b - a:+.3g}"
        rows.append([metric, audit_value(a, row["unit"]), audit_value(b, row["unit"]), diff])
    return table_html(["figure", first.name, other.name, "difference"], rows, numeric={1, 2, 3})
