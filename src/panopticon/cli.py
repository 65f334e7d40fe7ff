"""The ``panopticon`` command: run a scenario, list presets, show a resolved scenario.

User mistakes (a bad scenario, a bad date, a folder that cannot be written) end with one clear
message and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import scenario as scenario_mod
from .engine import DEFAULT_CHUNK
from .population import load_regions
from .scenario import Scenario, ScenarioError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Simulate a social credit system on synthetic citizens, and audit it.")
# Logs and pipes get wide lines, so that the published table is not folded at 80 columns.
WIDE = None if sys.stdout.isatty() else 140
console = Console(width=WIDE)
err = Console(stderr=True, width=WIDE)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2018-12-31")
    return None


def resolve(source: str, population: int | None, scale: float | None, start: str | None,
            end: str | None, seed: int | None) -> Scenario:
    """The scenario with the command line's overrides applied and validated."""
    sc = scenario_mod.load(source)
    changes: dict[str, object] = {}
    census = load_regions().total
    if population is not None:
        changes["population.size"] = population
        changes["population.scale"] = scale if scale is not None else census / population
    elif scale is not None:
        changes["population.scale"] = scale
        changes["population.size"] = max(1, round(census / scale))
    for key, value in (("start", _date(start, "--start")), ("end", _date(end, "--end")),
                       ("seed", seed)):
        if value is not None:
            changes[key] = value
    return sc.with_changes(**changes) if changes else sc


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="A preset name or a scenario TOML file.")]
    = "china-2018",
    population: Annotated[int | None, typer.Option(help="Simulated citizens.", min=1)] = None,
    scale: Annotated[float | None, typer.Option(help="Real people per simulated citizen.",
                                                min=1e-9)] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/NAME-SEED).")]
    = None,
    threads: Annotated[int, typer.Option(help="Worker threads.", min=1)] = min(
        2, os.cpu_count() or 1),
    chunk_size: Annotated[int, typer.Option(help="Citizens per chunk.", min=1)] = DEFAULT_CHUNK,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Run a scenario and write its run folder; end with the model beside the published record."""
    from .results import write_run
    from .simulation import Simulation

    try:
        sc = resolve(scenario, population, scale, start, end, seed)
    except ScenarioError as e:
        fail(str(e))
    folder = out or Path("runs") / f"{sc.name}-seed{sc.seed}"
    console.print(f"[bold]{sc.name}[/]: {sc.population.size:,} citizens x {sc.population.scale:g}"
                  f" people, {sc.start} to {sc.end} ({sc.days} days), seed {sc.seed}")
    try:
        sim = Simulation(sc, chunk_size=chunk_size, threads=threads)
        with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("days"), TimeRemainingColumn(), console=console,
                      disable=quiet) as bar:
            task = bar.add_task("days", total=sc.days)
            data = sim.run(progress=lambda done, total: bar.update(task, completed=done))
        write_run(data, folder)
    except KeyboardInterrupt:
        err.print(f"interrupted: {folder} was not written (any earlier run there is intact)")
        raise typer.Exit(130) from None
    except OSError as e:
        fail(f"cannot write the run folder {folder}: {e.strerror or e}")
    print_summary(folder)


def print_summary(folder: Path) -> None:
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    table = Table(title="The model beside the published record (scaled to real people)")
    for col, justify in (("date", "left"), ("figure", "left"), ("published", "right"),
                         ("model", "right"), ("model / published", "right"),
                         ("counts", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in summary["published_comparison"]:
        if row["model"] is None:
            continue
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        table.add_row(row["date"], row["metric"], f"{row['published']:,.0f}",
                      f"{row['model']:,.0f}", ratio, row["counts"])
    console.print(table)
    a = summary["attempts_vs_people"]
    console.print(f"Blocked purchases are attempts, not people: {a['plane_attempts_blocked']:,.0f}"
                  f" plane attempts by {a['plane_people_blocked']:,.0f} people, "
                  f"{a['train_attempts_blocked']:,.0f} train attempts by "
                  f"{a['train_people_blocked']:,.0f} people.")
    console.print(f"{summary['wall_seconds']:.1f} s, "
                  f"{summary['agent_days_per_second'] / 1e6:.1f} M agent-days/s. "
                  f"Results in [bold]{folder}[/]")


@app.command()
def scenarios() -> None:
    """List the presets, one line each."""
    for name, description in scenario_mod.preset_summaries().items():
        console.print(f"[bold]{name}[/]  {description}", highlight=False)


@app.command()
def show(scenario: Annotated[str, typer.Argument(help="A preset name or a scenario file.")]
         ) -> None:
    """Print a scenario as resolved TOML (presets merged, every field explicit)."""
    try:
        print(scenario_mod.load(scenario).to_toml(), end="")
    except ScenarioError as e:
        fail(str(e))
