"""Static figures of a run (``panopticon report RUN --png``): the report's charts as PNG files.

For print, slides and articles, where an interactive page will not go. They draw the numbers of
``report.py`` with matplotlib, each file written atomically into ``RUN/figures/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .outfolder import FIGURES, FIGURES_DIR
from .report import (
    GRADE_COLOURS,
    LABELS,
    MODEL_COLOUR,
    PUBLISHED_COLOUR,
    Run,
    funnel,
    grade_shares,
    human,
    model_series,
    percent,
    province_columns,
    province_rates,
    seed_band,
    targets_by_metric,
)
from .results import write_atomic

BAND_RGBA = (0.12, 0.31, 0.47, 0.2)


def write_figures(run: Run) -> list[Path]:
    """Draw every figure into ``run.folder/figures`` and return the files written."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    out = run.folder / FIGURES_DIR
    out.mkdir(exist_ok=True)
    # the names a run folder's owner check knows (outfolder.FIGURES), in the same order
    drawings: dict[str, Callable[[Run], object]] = dict(
        zip(FIGURES, (timeline, provinces, grades, funnel_chart), strict=True))
    return [_save(draw(run), out / f"{name}.png") for name, draw in drawings.items()]


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def timeline(run: Run):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    groups = targets_by_metric(run)
    cols = 3
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(15, 3.2 * rows), squeeze=False)
    for ax, (metric, targets) in zip(axes.flat, groups.items()):
        band = seed_band(run, metric)
        if band is not None:
            ax.fill_between(run.dates, band[0], band[1], color=BAND_RGBA, lw=0,
                            label="model, 90% of seeds")
        ax.plot(run.dates, model_series(run.ts, metric), color=MODEL_COLOUR, lw=1.4,
                label="model")
        ax.scatter([t.date for t in targets], [t.value for t in targets], color=PUBLISHED_COLOUR,
                   zorder=3, s=22, label="published")
        title, unit = LABELS[metric]
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("The model against the published record (real people)", fontsize=13)
    fig.tight_layout()
    return fig


def provinces(run: Run):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    rates = province_rates(run)
    titles = {column: what for column, what, _, _ in province_columns(run.scenario)
              if column in rates}
    fig, axes = plt.subplots(2, -(-len(rates) // 2), figsize=(18, 15), squeeze=False)
    for ax, (column, (names, values)) in zip(axes.flat, rates.items()):
        ax.barh(names, values, color=MODEL_COLOUR)
        ax.invert_yaxis()
        ax.set_title(titles[column], fontsize=9, wrap=True)
        ax.set_xlabel("per 100,000", fontsize=8)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(rates):]:
        ax.axis("off")
    fig.suptitle("Provinces ranked, per 100,000 people", fontsize=13)
    fig.tight_layout()
    return fig


def grades(run: Run):
    import matplotlib.pyplot as plt

    shares = grade_shares(run)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    names = list(shares)[::-1]  # worst grade at the bottom
    ax.stackplot(run.dates, *[shares[n] for n in names], labels=names,
                 colors=list(GRADE_COLOURS[: len(names)])[::-1])
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of citizens")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title("Who is in which grade, over time")
    fig.tight_layout()
    return fig


def funnel_chart(run: Run):
    import matplotlib.pyplot as plt

    steps = funnel(run)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    y = np.arange(len(steps))
    totals = [s.total for s in steps]
    wrong = [s.wrongful or 0.0 for s in steps]
    ax.barh(y - 0.2, totals, height=0.4, color=MODEL_COLOUR, label="all")
    ax.barh(y + 0.2, wrong, height=0.4, color=PUBLISHED_COLOUR, label="wrongful")
    for i, s in enumerate(steps):
        ax.text(s.total, i - 0.2, f" {human(s.total)}", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{s.name}\n({s.unit})\nwrongful: {percent(s.wrongful_share)}"
                      for s in steps])
    ax.invert_yaxis()
    ax.set_xlabel("count over the whole run (log scale)")
    ax.legend(loc="lower right")
    ax.set_title("From acts to sanctions, and the wrongful share at each step")
    fig.tight_layout()
    return fig
