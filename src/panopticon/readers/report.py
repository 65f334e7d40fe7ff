"""The run report: one self-contained HTML file, ``report.html``, built from a run folder alone.

The report reads what a run wrote (Parquet tables, summary.json, scenario.toml) and never runs the
model again, so it can be rebuilt at will, e.g. once an audit has been added to the folder.
Plotly's JavaScript is inlined once, so the file opens offline, attached to an email or archived.
The numbers behind each section come from the functions here; ``figures.py`` draws the same ones
as static images.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..language.catalog import words
from ..language.published import SERIES, Target, load_targets
from ..observers.audit import SCHEMA as AUDIT_SCHEMA
from .provenance import describe, scenario_changed
from .results import BANDS, HEADLINE_SCHEMA, model_series, split_seeds, write_atomic
from .runfolder import open_run
from .scheme import (
    KEPT_OUT,
    OLD_COLUMNS,
    Row,
    attempts,
    borne_by,
    false_channels,
    offences,
    scheme,
    with_catalog_names,
)

if TYPE_CHECKING:
    from .uncertainty import StudyBands

SEED_FIGURES = pa.schema([pa.field("seed", pa.int64()), *HEADLINE_SCHEMA])  # audit_seeds

# published metric -> (chart title, unit on the axis)
LABELS: dict[str, tuple[str, str]] = {
    "judgment_defaulters_listed": ("People ever put on the court's defaulter list",
                                   "people, cumulative"),
    "judgment_defaulter_listings": ("Listings on the court's defaulter list",
                                    "listings, cumulative"),
    "flight_purchases_blocked": ("Plane tickets refused", "purchase attempts, cumulative"),
    "train_purchases_blocked": ("Train tickets refused", "purchase attempts, cumulative"),
    "exit_bans_unpaid_taxes": ("People barred from leaving China for unpaid taxes",
                               "people on the day"),
    "management_role_bans": ("People barred from management roles", "people on the day"),
    "paid_under_pressure": ("Debts paid after a listing", "payments, cumulative"),
    "new_blacklist_entries_2018": ("New blacklist entries in the past year", "entries per year"),
    "blacklist_exits_2018": ("Removals from blacklists in the past year", "removals per year"),
    "new_judgment_defaulters_2018": ("New court listings in the past year", "listings per year"),
    "severe_misconduct_travel_list_2018": (
        "People put on the misconduct travel list in the past year", "people per year"),
    "mobile_payment_users": ("Mobile-payment users", "people"),
    "internet_users": ("Internet users", "people"),
    "cctv_cameras": ("Surveillance cameras", "cameras"),
}
# province rates: column, what it counts, read on the last day ("end") or summed ("run"), per
PROVINCE_RATES: tuple[tuple[str, str, str, str], ...] = (
    ("sanctioned_people_stock", "people under a sanction on the last day", "end", "citizens"),
    ("wrongly_sanctioned_stock", "people wrongly under a sanction on the last day", "end",
     "citizens"),
    ("listed_stock", "people on the court's defaulter list on the last day", "end", "citizens"),
    ("wrongly_graded", "people in another grade than their own acts earn, last day", "end",
     "citizens"),
)


def province_columns(scenario: dict) -> tuple[tuple[str, str, str, str], ...]:
    """PROVINCE_RATES, and the run's catalog's: children under each sanction they bear, people
    under each a household or an employer bears, each channel's false records."""
    return (*PROVINCE_RATES,
            *((f"{s}_stock", (f"children kept out by a parent's {words(s)}, last day (per"
                                " 100,000 children)"), "end", "children")
              for s in borne_by(scenario, "children")),
            *((f"{s}_stock", (f"people kept out by {whose} {words(s)}, last day (per 100,000"
                                " citizens)"), "end", "citizens")
              for bearer, (_, whose) in KEPT_OUT.items() for s in borne_by(scenario, bearer)),
            *((f"{c}_false_records", f"acts {words(c)} pinned on the wrong person, whole run",
               "run", "citizens") for c in false_channels(scenario)))



def blocks(scenario: dict) -> dict[str, str]:
    """Attempts refused: each attempt's blocked counter -> its wrongful counter."""
    return {f"{a}_blocked": f"{a}_blocked_wrongful" for a in attempts(scenario)}


CAUSES: dict[str, str] = {
    "wrongful_by_false_match": "a camera false match on the record",
    "wrongful_by_false_flag": "a lawful post flagged by content review",
    "wrongful_by_stale_record": "a listing kept after the debt was paid",
    "wrongful_by_ties_term": "points lost for bad company (ties)",
}
AUDIT_SECTIONS = ("wrongful", "disparate_impact", "collective_punishment", "chilling",
                  "deterrence", "attempts_vs_people", "access")
AUDIT_COLUMNS = tuple(AUDIT_SCHEMA.names)


@dataclass(frozen=True)
class Run:
    """What a run folder holds, as read from its files."""

    folder: Path
    summary: dict
    scenario: dict
    scenario_sha256: str  # of scenario.toml as read, to hold against the provenance's
    ts: pa.Table
    regions: pa.Table | None
    seeds: pa.Table | None
    audit: pa.Table | None
    seed_figures: pa.Table | None = None  # every seed's headline figures (multi-seed runs)
    study: StudyBands | None = None  # a sensitivity study of the run's scenario

    @property
    def dates(self) -> np.ndarray:
        return self.ts.column("date").to_numpy()

    def total(self, column: str) -> float:
        """A daily counter summed over the run; 0 where an older run lacks the column."""
        return float(self.column(column).sum())

    def last(self, column: str) -> float:
        return float(self.column(column)[-1])

    def column(self, column: str) -> np.ndarray:
        if column not in self.ts.column_names:
            return np.zeros(self.ts.num_rows)
        return self.ts.column(column).to_numpy().astype(np.float64)


def load_run(folder: Path | str, study: Path | None = None) -> Run:
    """Read a run folder, with the sensitivity study ``study`` or else the one beside it
    (``uncertainty.beside``); ``runfolder.RunFolderError`` names a file that is missing, damaged
    or not panopticon's."""
    from .uncertainty import beside, load_study

    run = open_run(folder)
    bands = load_study(study) if study else beside(run.path, run.summary["scenario"])
    return Run(folder=run.path, summary=run.summary, scenario=run.scenario_data,
               scenario_sha256=run.scenario_sha256,
               ts=with_catalog_names(run.table("timeseries")),
               regions=_renamed(run.optional("regions", columns=region_columns(
                   run.scenario_data))), seeds=run.optional("timeseries_seeds"),
               audit=run.optional("audit", AUDIT_SCHEMA),
               seed_figures=run.optional("audit_seeds", SEED_FIGURES),
               study=bands)


# --- the numbers behind each section ---------------------------------------------------------

def targets_by_metric(run: Run) -> dict[str, list[Target]]:
    """Published figures grouped by metric, for the metrics whose model series the run has."""
    groups: dict[str, list[Target]] = {}
    for t in load_targets():
        if SERIES[t.metric][0] in run.ts.column_names:
            groups.setdefault(t.metric, []).append(t)
    return groups


def seed_band(run: Run, metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The 90% band across seeds of a metric's series, taken per seed (so that a yearly sum's
    band is that of the sums); None for a single-seed run."""
    if run.seeds is None:
        return None
    per_seed = np.stack([model_series(t, metric) for t in split_seeds(run.seeds)])
    low, high = np.percentile(per_seed, [BANDS["p05"], BANDS["p95"]], axis=0)
    return low, high


def region_columns(scenario: dict) -> set[str]:
    """The columns of regions.parquet that the provinces' rates and map read, under this
    version's names and an older run's: the rest (some 120 series) is not read."""
    wanted = {"date", "region", "region_code", *(c for column, _, _, per in
                                                 province_columns(scenario)
                                                 for c in (column, per))}
    return wanted | {OLD_COLUMNS[c] for c in wanted if c in OLD_COLUMNS}


def _renamed(table: pa.Table | None) -> pa.Table | None:
    return None if table is None else with_catalog_names(table)


def province_rates(run: Run) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per rate of :func:`province_columns`: provinces ranked highest first and their rate per
    100,000."""
    if run.regions is None:
        return {}
    regions = run.regions
    last_day = regions.filter(pc.equal(regions["date"], pc.max(regions["date"])))
    names = last_day.column("region").to_pylist()
    rates = {}
    for column, _, how, per in province_columns(run.scenario):
        if column not in regions.column_names:
            continue
        if how == "end":
            counts = last_day.column(column).to_numpy()
        else:
            sums = regions.group_by("region").aggregate([(column, "sum")])
            by_name = dict(zip(sums.column("region").to_pylist(),
                               sums.column(f"{column}_sum").to_pylist(), strict=True))
            counts = np.array([by_name[n] for n in names])
        rate = counts / np.maximum(last_day.column(per).to_numpy(), 1.0) * 1e5
        order = np.argsort(-rate, kind="stable")
        rates[column] = ([names[i] for i in order], rate[order])
    return rates


def grade_shares(run: Run) -> dict[str, np.ndarray]:
    """Share of citizens in each grade per day, in percent, best grade first."""
    citizens = np.maximum(run.column("citizens"), 1.0)
    return {c.removeprefix("grade_"): run.column(c) / citizens * 100
            for c in run.ts.column_names if c.startswith("grade_")}


@dataclass(frozen=True)
class Step:
    """One step of the funnel: a total over the run and how much of it is wrongful."""

    name: str
    unit: str
    total: float
    wrongful: float | None  # None: the model counts no wrong ones at this step
    note: str

    @property
    def wrongful_share(self) -> float | None:
        if self.wrongful is None:
            return None
        return self.wrongful / self.total if self.total else 0.0


def funnel(run: Run) -> list[Step]:
    """Acts -> observed -> recorded -> listed -> sanctioned, each summed over the whole run."""
    points = run.scenario.get("scoring", {}).get("points", {})
    costs = {k for k, p in points.items() if min(_values(p)) < 0}
    kinds, refused = offences(run.scenario), blocks(run.scenario)
    false = {c: run.total(f"{c}_false_records") for c in false_channels(run.scenario)}
    false_match, false_flag = sum(false.values()), run.total("content_flags_false")
    observed = [run.total(f"observed_{k}") for k in kinds] + [run.total("content_flags_true")]
    recorded = [run.total(f"observed_{k}") for k in kinds if k in costs]
    flag_costs = "content_flag" in costs
    wrong_recorded = (sum(n for c, n in false.items() if false_channels(run.scenario)[c] in costs)
                      + false_flag * flag_costs)
    recorded_total = (sum(recorded) + run.total("content_flags_true") * flag_costs
                      + wrong_recorded)
    blocked = sum(run.total(c) for c in refused)
    done = [*map(words, kinds), *(["posts against the line"] if run.scenario.get("speech") else [])]
    black = [n for n, item in run.scenario.get("lists", {}).items()
             if item.get("colour") == "black"]
    return [
        Step("Acts", "offences committed", sum(run.total(f"acts_{k}") for k in kinds)
             + run.total("posts_against_line"), 0.0,
             f"what citizens really did: {', '.join(done) or 'none'} (never wrongful: they"
             " happened)"),
        Step("Observed", "observations naming someone", sum(observed) + false_match + false_flag,
             false_match + false_flag,
             "what the scheme's channels and content review saw; wrongful: false records "
             f"({', '.join(false) or 'none'}) and lawful posts flagged"),
        Step("Recorded", "records that cost points", recorded_total, wrong_recorded,
             "observations that the scenario's rules turn into lost points"),
        Step("Listed", "new list entries", run.total("new_listings") + run.total("exit_bans_new")
             + run.total("misconduct_listed") + sum(run.total(f"{n}_entries") for n in black),
             sum(run.total(f"{n}_wrongful_entries") for n in black) if black else None,
             "court defaulter list, tax exit bans, misconduct travel list"
             + "".join(f", {words(n)}" for n in black)
             + ("; wrongful: entries to the scheme's blacklists that the true evidence does not"
                " make" if black else "") + "; a court listing follows a real default, and one"
             " kept after payment counts as wrongful below, where it blocks"),
        Step("Sanctioned", "attempts blocked", blocked,
             sum(run.total(w) for w in refused.values()),
             "attempts refused: " + (", ".join(map(words, attempts(run.scenario))) or "none")),
    ]


def _values(value: float | dict) -> list[float]:
    """A number of scenario.toml, or the values of a schedule written in its place."""
    return [p["value"] for p in value["points"]] if isinstance(value, dict) else [value]


def wrongful_causes(run: Run) -> dict[str, float]:
    """Wrongful blocks over the run by the cause that made them (one block may have several)."""
    return {label: run.total(column) for column, label in CAUSES.items()}


def counter_audit(run: Run) -> pa.Table:
    """An audit table (AUDIT_COLUMNS) from the run's counters alone, shown where the run folder
    has no audit.parquet: national totals, no breakdown by group."""
    rows = [("wrongful", c, run.total(c), "events",
             f"{c.replace('_', ' ')} over the run that the citizen's true case would not have met")
            for c in blocks(run.scenario).values()]
    rows += [
        ("wrongful", "wrongly_sanctioned_people", run.last("wrongly_sanctioned_stock"), "people",
         "people under a sanction on the last day that their true case would not bring"),
        ("wrongful", "wrongly_graded_people", run.last("wrongly_graded"), "people",
         "people in another grade than their own acts earn, on the last day"),
        *(("wrongful", c, run.total(c), "events", f"wrongful blocks caused by {label}")
          for c, label in CAUSES.items()),
        ("collective_punishment", "children_barred_people",
         sum(run.total(f"{s}_people") for s in borne_by(run.scenario, "children")), "people",
         "children ever kept out for a parent's standing"),
    ]
    for bearer, (who, whose) in KEPT_OUT.items():
        if names := borne_by(run.scenario, bearer):
            rows.append(("collective_punishment", f"{who}_barred_people",
                         sum(run.total(f"{s}_people") for s in names), "people",
                         f"people ever kept out for {whose} standing"))
    for a in attempts(run.scenario):
        what = words(a)
        rows += [("attempts_vs_people", f"{a}_blocked", run.total(f"{a}_blocked"), "events",
                  f"{what} attempts refused since the start"),
                 ("attempts_vs_people", f"{a}_blocked_people", run.total(f"{a}_blocked_people"),
                  "people", f"different people refused a {what} at least once")]
    section, metric, value, unit, note = zip(*rows, strict=True)
    n = len(rows)
    return pa.table({"section": section, "metric": metric, "group_by": ["total"] * n,
                     "group": ["all"] * n, "value": pa.array(value, pa.float64()), "unit": unit,
                     "ratio_to_national": pa.nulls(n, pa.float64()), "note": note})


@dataclass(frozen=True)
class Parameter:
    path: str
    value: str
    source: str


def parameters(scenario: dict) -> list[Parameter]:
    """Every parameter of the scenario with the source that covers it: the ``[sources]`` entry
    with the longest key that is its dotted path or a prefix of it."""
    sources = scenario.get("sources", {})
    rows = []
    for path, value in leaves({k: v for k, v in scenario.items()
                               if k not in ("sources", "name", "description")}):
        covering = [k for k in sources if path == k or path.startswith(k + ".")]
        source = sources[max(covering, key=len)] if covering else "no source given"
        rows.append(Parameter(path, _show(value), source))
    return rows


def leaves(node: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(dotted path, value) of each parameter; a list of scalars or of dated values is one."""
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from leaves(value, path + ".")
        elif isinstance(value, list) and value and all(
                isinstance(v, dict) and "date" not in v for v in value):
            yield from leaves({str(i): v for i, v in enumerate(value)}, path + ".")
        else:
            yield path, value


def _show(value: object) -> str:
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return "; ".join(f"{v['date']}: {_show(v['value'])}" for v in value)
        return ", ".join(_show(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:,.10g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def human(value: float) -> str:
    """A count for a reader: 12.1 million, 830 thousand, 42."""
    for size, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if abs(value) >= size:
            scaled = value / size
            return f"{scaled:,.0f} {word}" if abs(scaled) >= 100 else f"{scaled:.3g} {word}"
    return f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:.2g}"


def percent(share: float | None) -> str:
    if share is None:
        return "not counted"
    return f"{share * 100:.2g}%" if share < 0.1 else f"{share * 100:.0f}%"


# --- the page --------------------------------------------------------------------------------

def write_report(folder: Path | str, study: Path | None = None) -> Path:
    """Build ``report.html`` in the run folder (atomically) and return its path; ``study`` is a
    sensitivity study to show bands from, if not the one beside the run."""
    run = load_run(folder, study)
    path = run.folder / "report.html"
    text = page(run)
    write_atomic(path, lambda p: p.write_text(text, "utf-8"))
    return path


def attempts_text(run: Run) -> str:
    """The seed article's '23 million' put right: attempts against people, from the run."""
    published = {t.metric: t.value for t in load_targets() if t.date == dt.date(2018, 12, 31)}
    total = published["flight_purchases_blocked"] + published["train_purchases_blocked"]
    dates = [d.item() for d in run.dates]
    on = dt.date(2018, 12, 31) if dates[0] <= dt.date(2018, 12, 31) <= dates[-1] else dates[-1]
    i = dates.index(on)
    figures = {c: float(run.column(c)[i]) for c in (
        "flight_purchases_blocked", "flight_people_blocked", "train_purchases_blocked",
        "train_people_blocked")}
    return (
        f"The article's \"23 million\" are ticket purchases refused, not people: by the end of "
        f"2018, {human(published['flight_purchases_blocked'])} plane and "
        f"{human(published['train_purchases_blocked'])} train purchase attempts "
        f"({human(total)} in all) had been blocked since 2013, and one person can be refused "
        f"many times. In this run, by {on}, {human(figures['flight_purchases_blocked'])} plane "
        f"tickets were refused to {human(figures['flight_people_blocked'])} different people, "
        f"and {human(figures['train_purchases_blocked'])} train tickets to "
        f"{human(figures['train_people_blocked'])} people.")


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


MODEL_COLOUR, BAND_COLOUR, PUBLISHED_COLOUR, MUTED = (
    "#1f4e79", "rgba(31, 78, 121, 0.2)", "#c0392b", "#8a9299")
GRADE_COLOURS = ("#1a9850", "#66bd63", "#a6d96a", "#fee08b", "#fdae61", "#f46d43", "#d73027",
                 "#a50026")
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def timeline_figure(run: Run):
    """One panel per published metric: model line, its band across seeds, published points."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    groups = targets_by_metric(run)
    cols = 3
    rows = -(-len(groups) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[LABELS[m][0] for m in groups],
                        vertical_spacing=0.25 / rows, horizontal_spacing=0.08)
    dates = run.dates
    for i, (metric, targets) in enumerate(groups.items()):
        at = {"row": i // cols + 1, "col": i % cols + 1}
        first = i == 0
        band = seed_band(run, metric)
        if band is not None:
            fig.add_trace(go.Scatter(x=dates, y=band[0], line={"width": 0}, hoverinfo="skip",
                                     showlegend=False, legendgroup="band"), **at)
            fig.add_trace(go.Scatter(x=dates, y=band[1], line={"width": 0}, fill="tonexty",
                                     fillcolor=BAND_COLOUR, name="model, 90% of seeds",
                                     legendgroup="band", showlegend=first, hoverinfo="skip"),
                          **at)
        fig.add_trace(go.Scatter(x=dates, y=model_series(run.ts, metric), name="model",
                                 line={"color": MODEL_COLOUR, "width": 1.8}, legendgroup="model",
                                 showlegend=first), **at)
        fig.add_trace(go.Scatter(
            x=[t.date for t in targets], y=[t.value for t in targets], mode="markers",
            name="published", marker={"color": PUBLISHED_COLOUR, "size": 8},
            legendgroup="published", showlegend=first,
            hovertext=[f"{human(t.value)}: {t.source}" + (f" ({t.note})" if t.note else "")
                       for t in targets], hoverinfo="text+x"), **at)
        fig.update_yaxes(title_text=LABELS[metric][1], title_font_size=11, **at)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=260 * rows + 100, margin={"t": 90, "l": 60, "r": 20, "b": 40},
                      legend={"orientation": "h", "yref": "container", "y": 1.0,
                              "yanchor": "top", "x": 0},
                      template="plotly_white")
    return fig


def provinces_figure(run: Run):
    """Ranked horizontal bars per province, one rate at a time, picked from a menu."""
    import plotly.graph_objects as go

    rates = province_rates(run)
    titles = {column: f"{what}, per 100,000"
              for column, what, _, _ in province_columns(run.scenario)}
    names, values = next(iter(rates.values()))
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=MODEL_COLOUR,
                           hovertemplate="%{y}: %{x:,.1f} per 100,000<extra></extra>"))
    buttons = [{"label": titles[c].split(",")[0], "method": "update",
                "args": [{"x": [v], "y": [n]}, {"xaxis.title.text": titles[c]}]}
               for c, (n, v) in rates.items()]
    fig.update_layout(
        height=22 * len(names) + 170, template="plotly_white",
        margin={"t": 70, "l": 130, "r": 20, "b": 50},
        xaxis_title=titles[next(iter(rates))], yaxis={"autorange": "reversed"},
        updatemenus=[{"buttons": buttons, "x": 0, "xanchor": "left", "y": 1.0,
                      "yanchor": "bottom", "pad": {"b": 10}}])
    return fig


def grades_figure(run: Run):
    """Share of citizens per grade over time, stacked, the worst grade at the bottom."""
    import plotly.graph_objects as go

    shares = grade_shares(run)
    fig = go.Figure()
    for (name, share), colour in reversed(list(zip(shares.items(), GRADE_COLOURS))):
        fig.add_trace(go.Scatter(x=run.dates, y=share, name=name, stackgroup="grades",
                                 line={"width": 0.5, "color": colour},
                                 hovertemplate=f"{name}: %{{y:.2f}}% of citizens<extra></extra>"))
    fig.update_layout(height=420, template="plotly_white", yaxis_title="% of citizens",
                      yaxis_range=[0, 100], legend={"traceorder": "reversed"},
                      hovermode="x unified", margin={"t": 20, "l": 60, "r": 20, "b": 40})
    return fig


def funnel_figure(run: Run):
    """Each step's total beside its wrongful part, on a log scale (they differ a millionfold)."""
    import plotly.graph_objects as go

    steps = funnel(run)
    labels = [f"{s.name}<br><span style='font-size:11px'>{s.unit}</span>" for s in steps]
    fig = go.Figure([
        go.Bar(y=labels, x=[s.total for s in steps], orientation="h", name="all",
               marker_color=MODEL_COLOUR, text=[human(s.total) for s in steps],
               textposition="outside", cliponaxis=False),
        go.Bar(y=labels, x=[s.wrongful or 0 for s in steps], orientation="h", name="wrongful",
               marker_color=PUBLISHED_COLOUR, textposition="outside", cliponaxis=False,
               text=[f"{human(s.wrongful)} ({percent(s.wrongful_share)})" if s.wrongful
                     else percent(s.wrongful_share) for s in steps])])
    fig.update_layout(barmode="group", height=440, template="plotly_white",
                      legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                      xaxis={"type": "log", "title": "count over the whole run (log scale)"},
                      yaxis={"autorange": "reversed"},
                      margin={"t": 40, "l": 190, "r": 150, "b": 50})
    return fig


def causes_figure(run: Run):
    import plotly.graph_objects as go

    causes = wrongful_causes(run)
    fig = go.Figure(go.Bar(x=list(causes.values()), y=list(causes), orientation="h",
                           marker_color=PUBLISHED_COLOUR,
                           text=[human(v) for v in causes.values()], textposition="outside",
                           cliponaxis=False))
    fig.update_layout(height=260, template="plotly_white", yaxis={"autorange": "reversed"},
                      xaxis_title="wrongful blocks over the whole run",
                      margin={"t": 20, "l": 300, "r": 120, "b": 50})
    return fig


def _plot(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG)


def table_html(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """An HTML table; cells are escaped here, columns in ``numeric`` aligned right."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)

    def cell(i: int, value: str) -> str:
        attributes = ' class="num"' if i in numeric else ""
        return f"<td{attributes}>{escape(value)}</td>"

    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def funnel_table(run: Run) -> str:
    rows = [[s.name, s.unit, human(s.total), "-" if s.wrongful is None else human(s.wrongful),
             percent(s.wrongful_share), s.note] for s in funnel(run)]
    return table_html(["step", "counts", "total", "wrongful", "wrongful share", "what it is"],
                      rows, numeric={2, 3, 4})


def _audit_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return human(value) if unit in ("people", "events") else f"{value:.3g}"


def audit_html(run: Run) -> str:
    """The audit by section; rows broken down by group fold away under their section."""
    table = run.audit if run.audit is not None else counter_audit(run)
    records = table.select(list(AUDIT_COLUMNS)).to_pylist()
    order = {s: i for i, s in enumerate(AUDIT_SECTIONS)}
    parts = []
    for section in sorted({r["section"] for r in records}, key=lambda s: order.get(s, 99)):
        rows = [r for r in records if r["section"] == section]
        totals = [r for r in rows if r["group_by"] == "total"]
        groups = [r for r in rows if r["group_by"] != "total"]
        parts.append(f"<h3>{escape(section.replace('_', ' '))}</h3>")
        if totals:
            parts.append(_audit_rows(totals))
        if groups:
            by = sorted({r["group_by"].replace("_", " ") for r in groups})
            parts.append(f"<details><summary>{len(groups)} figures by {escape(', '.join(by))}"
                         f"</summary>{_audit_rows(groups)}</details>")
    return "".join(parts)


def certainty_html(run: Run) -> str:
    """Each headline figure beside its band across seeds and across the assumptions."""
    from .uncertainty import rows

    return table_html(["figure", "this run", "90% of seeds", "90% of assumptions",
                       "what moves it most"],
                      rows(run.summary["audit"], run.seed_figures, run.study), numeric={1, 2})


def certainty_caption(run: Run) -> str:
    seeds = run.summary.get("seeds")
    parts = [CAPTIONS["certainty"]]
    if seeds:
        parts.append(f"Seeds: the run's {len(seeds)} seeds ({seeds[0]} to {seeds[-1]}).")
    if run.study is not None:
        f = run.study.facts
        parts.append(
            f"Assumptions: the sensitivity study in {run.study.folder.name}, {f['citizens']:,} "
            f"citizens (each for {f['scale']:,.0f} people) from {f['start']} to {f['end']}, "
            f"{f['seeds']} seed(s) at every point of the assumptions it varies; '-' where it "
            "did not read the figure.")
    else:
        parts.append("No sensitivity study is beside this run (`panopticon sensitivity` "
                     "writes one; `panopticon report --sensitivity` names another).")
    return " ".join(parts)


def _audit_rows(rows: list[dict]) -> str:
    return table_html(
        ["figure", "group", "value", "unit", "ratio to national", "what it counts"],
        [[r["metric"].replace("_", " "),
          "all" if r["group_by"] == "total" else f"{r['group_by'].replace('_', ' ')} {r['group']}",
          _audit_value(r["value"], r["unit"]), r["unit"],
          _audit_value(r["ratio_to_national"], "ratio"), r["note"]] for r in rows],
        numeric={2, 4})


def scheme_html(run: Run) -> str:
    """The scheme's lists, sanctions and rewards, one table each."""
    rows = scheme(run.scenario, run.ts)

    def of(table: str) -> list[Row]:
        return [r for r in rows if r.table == table]

    def count(r: Row, key: str) -> str:
        value = r.figures.get(key)
        return "-" if value is None else human(value)

    def dates(r: Row) -> list[str]:
        return [r.start, r.end or "end of run"]

    lists = table_html(
        ["list", "kind", "enters on", "leaves on", "puts in force", "entries",
         "entries made wrongly", "people ever entered", "on it, last day", "exits",
         "on it wrongly, last day", "note"],
        [[r.name, r.kind, r.on, r.does, r.bears,
          *(count(r, k) for k in ("entries", "wrongful_entries", "people", "stock", "exits",
                                  "wrongful_stock")),
          r.note] for r in of("lists")], numeric={5, 6, 7, 8, 9, 10})
    sanctions = table_html(
        ["sanction", "in force for", "from", "to", "blocks", "borne by", "attempts", "blocked",
         "blocked wrongfully", "wrongful share", "people blocked at least once",
         "under it, last day", "note"],
        [[r.name, r.on, *dates(r), r.does, r.bears, count(r, "attempts"), count(r, "blocked"),
          count(r, "blocked_wrongful"),
          "-" if r.wrongful_share is None else percent(r.wrongful_share),
          count(r, "blocked_people"), count(r, "stock"), r.note] for r in of("sanctions")],
        numeric=set(range(6, 12)))
    rewards = table_html(
        ["reward", "granted for", "from", "to", "makes easier or cheaper", "to whom",
         "times granted", "note"],
        [[r.name, r.on, *dates(r), r.does, r.bears, count(r, "granted"), r.note]
         for r in of("rewards")], numeric={6})
    return (f"<h3>lists</h3>{lists}<h3>sanctions</h3>{sanctions}"
            f"<h3>rewards</h3>{rewards if of('rewards') else '<p>The scheme grants none.</p>'}")


def parameters_html(run: Run) -> str:
    params = parameters(run.scenario)
    kinds = {k: sum(p.source.startswith(k) for p in params)
             for k in ("data:", "seed article", "assumption")}
    summary = (f"{len(params)} parameters: {kinds['data:']} from data shipped with panopticon, "
               f"{kinds['seed article']} from the seed article, {kinds['assumption']} "
               f"assumptions.")
    return f"<p>{escape(summary)}</p>" + table_html(
        ["parameter", "value", "source"], [[p.path, p.value, p.source] for p in params])


CAPTIONS = {
    "timeline": (
        "Each panel follows one figure that Chinese authorities or the press published (red "
        "dots; point at one to see its source) and the same figure in the simulation (blue "
        "line{band}). Counts are scaled to real people. Cumulative figures add up since the "
        "start of the run; 'per year' figures are the total of the 365 days ending on each "
        "date. Read the axis: a ticket refused twice counts twice, a person listed twice is "
        "one person."),
    "provinces": (
        "One bar per province, highest rate at the top. Rates are per 100,000 inhabitants (per "
        "100,000 children for school bans), so that provinces of any size can be compared. "
        "Pick the figure in the menu above the chart."),
    "grades": (
        "The share of all citizens in each grade, day by day; the grades and their score "
        "ranges are the scenario's ({grades}). Sanctions and rewards follow grades: a growing "
        "band at the bottom means more people punished."),
    "funnel": (
        "How acts become sanctions, and how errors creep in on the way. Each step counts "
        "something different (see the table), so the bars show sizes rather than a strict "
        "funnel. The scale is logarithmic: each gridline is ten times the one before. Red is "
        "the wrongful part: an act pinned on the wrong person, a lawful post flagged, a "
        "list entry or a sanction that the person's true record would not bring."),
    "scheme": (
        "Every list, sanction and reward of the run's scenario, by the scenario's names, with "
        "what puts it in force, its dates and who bears it. Lists: entries over the run (a "
        "person listed twice counts twice), different people who entered during it, people on "
        "the list on the last day, and exits over the run. Sanctions: the attempts at what a "
        "sanction blocks over the run (by everyone, sanctioned or not), those blocked, those "
        "blocked wrongfully (the person's true record would not have brought the sanction) and "
        "their share, and the different people blocked at least once; 'under it, last day' "
        "counts the people it holds that day (managers barred, internet users throttled, "
        "children kept from top schools). Rewards: times granted over the run. Counts are "
        "scaled to real people; '-' marks a figure this run does not count."),
    "causes": (
        "Why wrongful sanctions happened, summed over the run. One refusal can have several "
        "causes, so the bars can add up to more than the wrongful total."),
    "audit": "What the system does to people, as totals at the end of the run.",
    "certainty": (
        "Each headline figure of the audit with two spreads: across seeds (the chance in who "
        "does what and who is seen, the scenario fixed) and across the assumptions, the "
        "numbers no source fixes, over the ranges the scenario holds plausible. A conclusion "
        "that holds over the second band does not hang on the assumptions."),
    "audit_counters": (
        "This run folder has no full audit (audit.parquet); the table shows what the run's "
        "counters give, as national totals."),
    "parameters": (
        "Every number the scenario sets and where it comes from: 'data:' a file shipped with "
        "panopticon, 'seed article' the 2019 article the model follows, 'assumption' a value "
        "chosen by the modellers, open to calibration and to argument."),
}


def sections(run: Run) -> list[tuple[str, str, str, str]]:
    """(anchor, title, caption, body) of each section, in reading order."""
    seeds = run.summary.get("seeds")
    band = f", with the shaded band holding 90% of {len(seeds)} seeds" if seeds else ""
    grades = ", ".join(
        f"{g['name']} {g['min']}-{g['max']}" for g in run.scenario["scoring"]["grades"])
    audit_caption = CAPTIONS["audit"] if run.audit is not None else CAPTIONS["audit_counters"]
    provinces = (_plot(provinces_figure(run)) if province_rates(run)
                 else "<p>This run folder has no provinces table.</p>")
    return [
        ("timeline", "The model against the published record",
         CAPTIONS["timeline"].format(band=band), _plot(timeline_figure(run))),
        ("provinces", "Provinces ranked, per 100,000 people", CAPTIONS["provinces"], provinces),
        ("grades", "Who is in which grade, over time", CAPTIONS["grades"].format(grades=grades),
         _plot(grades_figure(run))),
        ("scheme", "The scheme: lists, sanctions and rewards", CAPTIONS["scheme"],
         scheme_html(run)),
        ("funnel", "From acts to sanctions, and the wrongful share at each step",
         CAPTIONS["funnel"], _plot(funnel_figure(run)) + funnel_table(run)),
        ("causes", "Why wrongful sanctions happened", CAPTIONS["causes"],
         _plot(causes_figure(run))),
        ("audit", "The audit", audit_caption, audit_html(run)),
        *([("certainty", "How sure: across seeds and across assumptions",
            certainty_caption(run), certainty_html(run))]
          if run.seed_figures is not None or run.study is not None else []),
        ("parameters", "The scenario's parameters and their sources", CAPTIONS["parameters"],
         parameters_html(run)),
    ]


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 0 24px 60px; color: #1d2329; line-height: 1.45; }
h1 { margin: 28px 0 4px; } h2 { margin-top: 44px; border-bottom: 1px solid #d6dbe0; }
h3 { margin: 18px 0 6px; text-transform: capitalize; }
.lede { color: #4a545e; } .caption { color: #4a545e; max-width: 860px; }
.box { background: #fdf3e7; border-left: 4px solid #e08e2b; padding: 10px 16px; margin: 16px 0; }
.scope { font-size: 0.92em; color: #4a545e; }
nav { display: flex; flex-wrap: wrap; gap: 4px 18px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; width: 100%; }
th, td { border-bottom: 1px solid #e3e7eb; padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: #f3f5f7; } td.num { text-align: right; white-space: nowrap; }
details summary { cursor: pointer; color: #1f4e79; margin: 4px 0 8px; }
"""


def header_html(run: Run) -> str:
    s = run.summary
    seeds = s.get("seeds")
    seed_text = (f"{len(seeds)} runs with seeds {seeds[0]} to {seeds[-1]} (charts show the "
                 f"first, with the spread of all where drawn)" if seeds else f"seed {s['seed']}")
    people = s["citizens"] * s["scale"]
    return (
        f"<h1>{escape(s['scenario'])}: what the system does</h1>"
        f"<p class=\"lede\">{escape(run.scenario.get('description', ''))}</p>"
        f"<p>{escape(s['start'])} to {escape(s['end'])} ({s['days']:,} days), "
        f"{s['citizens']:,} simulated citizens, each standing for {s['scale']:,.0f} real people "
        f"({escape(human(people))} in all), {escape(seed_text)}.</p>"
        f"<p class=\"scope\">Every citizen here is synthetic, generated from public census "
        f"aggregates: nothing in this report observes, scores or describes a real person. "
        f"It is a model of the system the seed article describes, not a measurement of it.</p>"
        f"<div class=\"box\">{escape(attempts_text(run))}</div>")


def page(run: Run) -> str:
    """The whole report as one HTML document, plotly.js inlined once in the head."""
    from plotly.offline import get_plotlyjs

    parts = sections(run)
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t, _, _ in parts)
    body = "".join(f'<section id="{a}"><h2>{escape(t)}</h2><p class="caption">{escape(c)}</p>'
                   f"{content}</section>" for a, t, c, content in parts)
    title = f"panopticon report: {run.summary['scenario']}"
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>{header_html(run)}"
            f"<nav>{nav}</nav>{body}{footer_html(run)}</body></html>")


def footer_html(run: Run) -> str:
    """What made the run (its provenance), and whether scenario.toml is still the one run."""
    prov = run.summary.get("provenance")
    changed = scenario_changed(prov, run.scenario_sha256)
    if changed is None:
        scenario = "The hash of the scenario run is unknown."
    elif changed:
        scenario = (f"scenario.toml has changed since the run (sha256 {run.scenario_sha256}, "
                    f"run with {prov['scenario_sha256']}): the parameters shown may not be "
                    "those run.")
    else:
        scenario = f"Scenario sha256 {run.scenario_sha256}: scenario.toml is the scenario run."
    return (f"<footer class=\"scope\">{escape(describe(prov))} {escape(scenario)} Report made "
            f"from the run folder {escape(run.folder.name)} on {dt.date.today()}.</footer>")
