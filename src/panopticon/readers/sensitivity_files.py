"""What a sensitivity study writes: the sample and output tables, the indices, the figures
(Morris mu*-sigma, Sobol bars, each output's spread, PRIM's peeling) and the summaries in words.

Every file is written under a temporary name and renamed into place, the summaries last, so
that a folder with them holds all the rest. The study itself (points, runs, indices, PRIM's
boxes) is :class:`readers.sensitivity.Study`; nothing here runs a simulation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import discovery
from .report import human
from .results import write_atomic

if TYPE_CHECKING:
    from ..language.scenario import FreeParameter
    from .sensitivity import Study

FIGURES_DIR = "figures"
WIDE = 0.5  # Sobol intervals wider than this (half-width) say too few samples, not a share


def samples_table(study: Study) -> pa.Table:
    rows = [{"phase": name, "point": i, **v} for name, points in study.point_values()
            for i, v in enumerate(points)]
    return pa.Table.from_pylist(rows)


def outputs_table(study: Study, against: bool = False) -> pa.Table:
    """Every run's outputs (or the other scenario's, at the same points): phase, point, seed,
    then one column per output."""
    st, rows = study.settings, []
    ys = (study.morris_y, study.sobol_y) if not against else np.split(study.against_y,
                                                                      [len(study.morris_y)])
    for name, y in zip(("morris", "sobol"), ys):
        for i, j in np.ndindex(y.shape[:2]):
            rows.append({"phase": name, "point": i, "seed": st.scenario.seed + j,
                         **dict(zip(st.outputs, map(float, y[i, j]), strict=True))})
    return pa.Table.from_pylist(rows)


def indices_rows(indices: dict[str, dict], params: dict[str, FreeParameter]) -> list[dict]:
    """Long rows: output, parameter, then each index."""
    return [{"output": out, "parameter": p, **{k: float(v[i]) for k, v in ix.items()}}
            for out, ix in indices.items() for i, p in enumerate(params)]


def spread_rows(study: Study) -> list[dict]:
    """Per output, over every point of both phases (each the mean of its seeds): the range, the
    median, the sd across points (the assumptions' effect) and the mean sd across seeds at a
    point (seed noise; None for one seed)."""
    y = np.concatenate([study.morris_y, study.sobol_y])
    rows = []
    for j, name in enumerate(study.settings.outputs):
        defined = y[np.isfinite(y[:, :, j]).all(axis=1), :, j]  # [point, seed]
        means = defined.mean(axis=1)
        seeds = defined.std(axis=1, ddof=1) if y.shape[1] > 1 and means.size else None
        rows.append({"output": name, "points": int(means.size),
                     "undefined": int(y.shape[0] - means.size),
                     **dict(zip(("min", "p05", "median", "p95", "max"),
                                map(float, np.percentile(means, [0, 5, 50, 95, 100]))
                                if means.size else [math.nan] * 5, strict=True)),
                     "sd_points": float(means.std(ddof=1)) if means.size > 1 else math.nan,
                     "sd_seeds": float(seeds.mean()) if seeds is not None else None})
    return rows


def short(path: str) -> str:
    """A parameter's label in figures: the last two parts of its path."""
    return ".".join(path.split(".")[-2:])


def _grid(n: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.remove()
    return plt, fig, axes.flat


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    write_atomic(path, lambda p: fig.savefig(p, dpi=100, format="png"))
    plt.close(fig)


def morris_figure(study: Study, path: Path) -> None:
    """Per output, each parameter at (mu*, sigma): right is influential, up is nonlinear or
    interacting."""
    plt, fig, axes = _grid(len(study.morris))
    for ax, (name, ix) in zip(axes, study.morris.items()):
        ax.scatter(ix["mu_star"], ix["sigma"], s=14)
        for p, x, y in zip(study.settings.parameters, ix["mu_star"], ix["sigma"]):
            ax.annotate(short(p), (x, y), fontsize=6)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("mu*", fontsize=7)
        ax.set_ylabel("sigma", fontsize=7)
        ax.tick_params(labelsize=6)
    _save(plt, fig, path)


def sobol_figure(study: Study, path: Path) -> None:
    """Per output, each kept parameter's S1 and ST with their confidence intervals."""
    plt, fig, axes = _grid(len(study.sobol))
    at = np.arange(len(study.chosen))
    for ax, (name, ix) in zip(axes, study.sobol.items()):
        ax.bar(at - 0.2, ix["S1"], 0.4, yerr=ix["S1_conf"], label="S1 (alone)")
        ax.bar(at + 0.2, ix["ST"], 0.4, yerr=ix["ST_conf"], label="ST (with interactions)")
        ax.set_xticks(at, [short(p) for p in study.chosen], rotation=30, ha="right", fontsize=6)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    if study.sobol:
        next(iter(fig.axes)).legend(fontsize=6)
    _save(plt, fig, path)


def spread_figure(study: Study, path: Path) -> None:
    """Per output, its value at every point (mean over seeds) with the range across seeds."""
    y = np.concatenate([study.morris_y, study.sobol_y])
    names = study.settings.outputs
    plt, fig, axes = _grid(len(names))
    for ax, j in zip(axes, range(len(names))):
        runs = y[:, :, j]
        order = np.argsort(runs.mean(axis=1))
        mean = runs.mean(axis=1)[order]
        ax.vlines(np.arange(len(order)), runs.min(axis=1)[order], runs.max(axis=1)[order],
                  colors="grey", linewidth=0.6, label="range across seeds")
        ax.plot(mean, ".", markersize=3, label="mean over seeds")
        ax.set_title(names[j], fontsize=8)
        ax.set_xlabel("points, sorted", fontsize=7)
        ax.tick_params(labelsize=6)
    if len(names):
        next(iter(fig.axes)).legend(fontsize=6)
    _save(plt, fig, path)


def discovery_figure(study: Study, path: Path) -> None:
    """Per conclusion, the first box's peeling trajectory: density against coverage, each box
    coloured by how many parameters it restricts, the box kept (after pasting) starred."""
    found = [f for f in study.discoveries if f.trajectory]
    plt, fig, axes = _grid(len(found))
    for ax, f in zip(axes, found):
        points = ax.scatter([b.coverage for b in f.trajectory], [b.density for b in f.trajectory],
                            c=[len(b.restricted()) for b in f.trajectory], s=12, cmap="viridis")
        ax.plot(f.boxes[0].coverage, f.boxes[0].density, "r*", markersize=10, label="box 1")
        fig.colorbar(points, ax=ax).set_label("parameters restricted", fontsize=7)
        ax.set_title(f"{f.conclusion.text}: where it {_outcome(f)}", fontsize=8)
        ax.set_xlabel("coverage", fontsize=7)
        ax.set_ylabel("density", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    _save(plt, fig, path)


def _outcome(found: discovery.Discovery) -> str:
    return "holds" if found.target else "fails"


def discovery_findings(study: Study) -> list[tuple[str, list[str]]]:
    """Per conclusion, in words (see :func:`discovery.words`)."""
    names = study.discovery_points()[0]
    return [(f.conclusion.text, discovery.words(
        f, names, lambda v, n=f.conclusion.output: fmt(n, v))) for f in study.discoveries]


def figures(study: Study) -> dict[str, Callable[[Study, Path], None]]:
    """The figures a study draws: the discovery figure only where PRIM found a box."""
    return FIGURES | ({"discovery": discovery_figure}
                      if any(f.trajectory for f in study.discoveries) else {})


def fmt(name: str, value: float | None) -> str:
    """An output's value for a reader: rates and shares as percentages, ratios as they are,
    counts in words (12.1 million)."""
    if value is None or not math.isfinite(value):
        return "undefined"
    metric = name.partition("[")[0]
    if metric.endswith(("_rate", "_share")):
        return f"{value * 100:.3g}%"
    if metric.endswith("_top_to_bottom"):
        return f"{value:.3g}"
    return human(value)


def _pct(x: float) -> str:
    return f"{max(x, 0.0) * 100:.0f}%"


def findings(study: Study) -> list[tuple[str, list[str]]]:
    """Per output, in words: its range across the points, seed noise against the assumptions'
    effect, and the assumptions that drive it."""
    out = []
    for row in spread_rows(study):
        name = row["output"]
        if not row["points"]:
            out.append((name, ["Undefined at every point (a ratio over nobody)."]))
            continue
        out.append((name, [_range_words(name, row), *_noise_words(name, row),
                           *_morris_words(study, name), *_sobol_words(study, name)]))
    return out


def _range_words(name: str, row: dict) -> str:
    if row["max"] == row["min"]:
        return f"{fmt(name, row['min'])} at every one of the {row['points']} points."
    text = (f"From {fmt(name, row['min'])} to {fmt(name, row['max'])} across the"
            f" {row['points']} points (median {fmt(name, row['median'])}, 90% of points between"
            f" {fmt(name, row['p05'])} and {fmt(name, row['p95'])})")
    text += (f"; it stays above {fmt(name, row['min'])} at every point." if row["min"] > 0
             else "; it is 0 at some point.")
    if row["undefined"]:
        text += f" Undefined at {row['undefined']} points, left out."
    return text


def _noise_words(name: str, row: dict) -> list[str]:
    if row["sd_seeds"] is None or not math.isfinite(row["sd_points"]):
        return []
    text = (f"Seed noise: a point's seeds differ by {fmt(name, row['sd_seeds'])} (sd), against"
            f" {fmt(name, row['sd_points'])} (sd) across points.")
    if 0 < row["sd_points"] <= 2 * row["sd_seeds"]:
        text += (" The seeds move it nearly as much as the assumptions: its indices are mostly"
                 " noise at this population and number of seeds.")
    return [text]


def _morris_words(study: Study, name: str) -> list[str]:
    ix = study.morris.get(name)
    if ix is None:
        return ["Morris: the same at every point, or undefined at some; no ranking."]
    order = [i for i in np.argsort(-ix["mu_star"])[:3] if ix["mu_star"][i] > 0]
    params = list(study.settings.parameters)
    ranked = ", ".join(f"{params[i]} (mu* {fmt(name, ix['mu_star'][i])})" for i in order)
    return [f"Morris ranks first: {ranked}."]


def _sobol_words(study: Study, name: str) -> list[str]:
    ix = study.sobol.get(name)
    if ix is None:
        return []
    params = list(study.chosen)
    order = [i for i in np.argsort(-ix["ST"]) if ix["ST"][i] >= 0.05][:3]
    if not order:
        return ["Sobol: no kept assumption explains 5% of its variance or more."]
    parts = [_share_words(params[i], *(ix[k][i] for k in ("S1", "S1_conf", "ST", "ST_conf")))
             for i in order]
    text = "Sobol: " + "; ".join(parts) + "."
    if any(max(ix["S1_conf"][i], ix["ST_conf"][i]) > WIDE for i in order):
        text += (f" {study.settings.samples} base samples leave intervals wider than"
                 f" ± {WIDE:.0%} on some: raise --samples to apportion the rest.")
    return [text]


def _share_words(param: str, s1: float, s1_conf: float, st: float, st_conf: float) -> str:
    """A parameter's share of an output's variance, or that the samples cannot tell it."""
    if max(s1_conf, st_conf) > WIDE:
        return (f"{param} {_pct(st)} with its interactions but ± {_pct(st_conf)}, too wide to"
                " tell")
    return (f"{_pct(s1)} of its variance comes from {param} alone (± {_pct(s1_conf)}),"
            f" {_pct(st)} with its interactions (± {_pct(st_conf)})")


def header(study: Study) -> list[str]:
    """What the study ran: scenario, population, calendar, points, seeds, what Morris kept."""
    st = study.settings
    sc = st.scenario
    runs = (len(study.morris_x) + len(study.sobol_x)) * st.seeds
    return [f"Scenario {sc.name}, {sc.population.size:,} citizens (scale"
            f" {sc.population.scale:,.0f}), {sc.start} to {sc.end}, seeds {sc.seed} to"
            f" {sc.seed + st.seeds - 1} at every point, sampler seed {st.seed}.",
            f"Morris: {st.trajectories} trajectories over {len(st.parameters)} parameters"
            f" ({len(study.morris_x)} points). Sobol: {st.samples} base samples over the"
            f" {len(study.chosen)} parameters whose mu* reaches {st.screen:g} of the largest mu*"
            f" of some output ({len(study.sobol_x)} points). {runs} runs in all.",
            *([] if st.against is None else [
                f"Compared with {st.against.name}, run at every point and seed"
                f" ({(len(study.morris_x) + len(study.sobol_x)) * st.seeds} more runs)."]),
            "Varied: " + "; ".join(f"{p} from {b.low:g} to {b.high:g}" + (" (log)" if b.log else "")
                                   + (" [kept for Sobol]" if p in study.chosen else "")
                                   for p, b in st.parameters.items()) + "."]


def summary_markdown(study: Study) -> str:
    lines = [f"# Sensitivity of {study.settings.scenario.name}", "",
             *(f"{t}\n" for t in header(study))]
    for name, sentences in findings(study):
        lines += [f"## {name}", "", *(f"{t}\n" for t in sentences)]
    for name, sentences in discovery_findings(study):
        lines += [f"## Scenario discovery: {name}", "", *(f"{t}\n" for t in sentences)]
    lines += ["## Figures", "", *(f"![{f}]({FIGURES_DIR}/{f}.png)\n" for f in figures(study))]
    return "\n".join(lines)


def summary_html(study: Study) -> str:
    import html

    body = [f"<h1>Sensitivity of {html.escape(study.settings.scenario.name)}</h1>",
            *(f"<p>{html.escape(t)}</p>" for t in header(study))]
    for name, sentences in findings(study):
        body += [f"<h2>{html.escape(name)}</h2>", *(f"<p>{html.escape(t)}</p>" for t in sentences)]
    for name, sentences in discovery_findings(study):
        body += [f"<h2>Scenario discovery: {html.escape(name)}</h2>",
                 *(f"<p>{html.escape(t)}</p>" for t in sentences)]
    body += ["<h2>Figures</h2>", *(f'<p><img src="{FIGURES_DIR}/{f}.png" alt="{f}"></p>'
                                   for f in figures(study))]
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sensitivity</title>"
            "</head><body>\n" + "\n".join(body) + "\n</body></html>\n")


FIGURES = {"morris": morris_figure, "sobol": sobol_figure, "spread": spread_figure}


def _finite(x: object) -> object:
    """JSON without NaN: None where a float is not finite."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def write_study(study: Study, out: Path) -> None:
    """The study's tables, indices, figures and summaries in ``out``, each written atomically;
    the summaries last, so that a folder with them holds all the rest."""
    st = study.settings
    morris = indices_rows(study.morris, st.parameters)
    sobol = indices_rows(study.sobol, study.chosen)
    spread = spread_rows(study)
    tables = {"samples": samples_table(study), "outputs": outputs_table(study),
              "morris": pa.Table.from_pylist(morris), "sobol": pa.Table.from_pylist(sobol),
              "spread": pa.Table.from_pylist(spread)}
    if study.against_y is not None:
        tables["outputs_against"] = outputs_table(study, against=True)
    for name, table in tables.items():
        write_atomic(out / f"{name}.parquet", lambda p, t=table: pq.write_table(t, p))
    sc = st.scenario
    indices = {"study": {"scenario": sc.name, "citizens": sc.population.size,
                         "scale": sc.population.scale, "start": sc.start.isoformat(),
                         "end": sc.end.isoformat(), "seeds": st.seeds},
               "parameters": {p: b.model_dump() for p, b in st.parameters.items()},
               "outputs": list(st.outputs), "sobol_parameters": list(study.chosen),
               "morris": morris, "sobol": sobol, "spread": spread}
    write_atomic(out / "indices.json",
                 lambda p: p.write_text(json.dumps(_finite(indices), indent=1), "utf-8"))
    if st.conclusions:
        write_discovery(study, out)
    (out / FIGURES_DIR).mkdir(exist_ok=True)
    for name, draw in figures(study).items():
        draw(study, out / FIGURES_DIR / f"{name}.png")
    write_atomic(out / "summary.md", lambda p: p.write_text(summary_markdown(study), "utf-8"))
    write_atomic(out / "summary.html", lambda p: p.write_text(summary_html(study), "utf-8"))


def write_discovery(study: Study, out: Path) -> None:
    """``discovery.parquet`` (one row per restricted parameter of each box) and
    ``discovery.json`` (per conclusion: how often it holds, its boxes, the first box's peeling
    trajectory)."""
    names = study.discovery_points()[0]
    rows = [r for f in study.discoveries for r in discovery.rows(f, names)]
    schema = pa.schema([("conclusion", pa.string()), ("outcome", pa.string()),
                        ("box", pa.int64()), ("parameter", pa.string()), ("low", pa.float64()),
                        ("high", pa.float64()), ("coverage", pa.float64()),
                        ("density", pa.float64()), ("mass", pa.float64()),
                        ("points", pa.int64())])
    table = pa.Table.from_pylist(rows, schema=schema)
    write_atomic(out / "discovery.parquet", lambda p: pq.write_table(table, p))
    found = {"parameters": names, "conclusions": [discovery.as_dict(f, names)
                                                  for f in study.discoveries]}
    write_atomic(out / "discovery.json",
                 lambda p: p.write_text(json.dumps(_finite(found), indent=1), "utf-8"))
