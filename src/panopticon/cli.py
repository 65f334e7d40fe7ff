"""The ``panopticon`` command: run a scenario, query a run folder, tell a sampled life, list
presets, show a scenario.

User mistakes (a bad scenario, a bad date, a folder that cannot be written, bad SQL) end with one
clear message and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from .language import scenario as scenario_mod
from .language.scenario import Scenario, ScenarioError
from .readers.outfolder import (
    OutError,
    check_file,
    check_folder,
    claimed,
    default_folder,
    source_name,
)
from .runner import pace
from .runner.cost import disk_bytes, duration
from .world.engine import DEFAULT_CHUNK, THREAD_CITIZENS, useful_threads
from .world.population import represented

if TYPE_CHECKING:  # the simulation and pyarrow load only when a command needs them
    import pyarrow as pa

    from .runner.backends import Backend
    from .runner.checkpoint import Every
    from .runner.cost import Cost
    from .runner.rundata import RunData
    from .runner.seeds import Runs

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Simulate a social credit system on synthetic citizens, and audit it.")
T = TypeVar("T")
# Logs and pipes get wide lines, so that the published table is not folded at 80 columns.
WIDE = None if sys.stdout.isatty() else 140
console = Console(width=WIDE)
err = Console(stderr=True, width=WIDE)
LINE_SECONDS = 60.0  # between two lines of progress where no bar can be drawn


def fail(message: str) -> None:
    """Exit 2 with ``message`` as given: not read as markup (SQL has brackets), never wrapped."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2018-12-31")
    return None


# The scenario field each command-line override sets.
OPTION_FIELDS = {"--population": "population.size", "--scale": "population.scale",
                 "--start": "start", "--end": "end", "--seed": "seed"}


def resolve(source: str, population: int | None, scale: float | None, start: str | None,
            end: str | None, seed: int | None) -> Scenario:
    """The scenario with the command line's overrides, each checked as its field is (one line
    naming the option), then applied and validated together."""
    sc = scenario_mod.load(source)
    given = {"--population": population, "--scale": scale, "--start": _date(start, "--start"),
             "--end": _date(end, "--end"), "--seed": seed}
    given = {option: value for option, value in given.items() if value is not None}
    changes = {OPTION_FIELDS[option]: scenario_mod.check_field(OPTION_FIELDS[option], value,
                                                                f"{option} {value}")
               for option, value in given.items()}
    people = represented(sc.population)
    if population is not None and scale is None:
        changes["population.scale"] = people / population
    elif scale is not None and population is None:
        changes["population.size"] = max(1, round(people / scale))
    origin = "command line (" + " ".join(f"{o} {v}" for o, v in given.items()) + ")"
    return sc.with_changes(origin=origin, **changes) if changes else sc


def check_memory(sc: Scenario, memory_limit: str | None, seeds: int = 1,
                 counterfactual: bool = False, parallel: int = 1) -> Cost:
    """Refuse, before anything is allocated, runs whose memory estimate is above the limit
    (``--memory-limit``, default the memory available); ``cost.check``. Returns the estimate."""
    from .runner.cost import CostError, check, estimate, parse_size

    try:
        limit = "available" if memory_limit is None else parse_size(memory_limit)
    except ValueError as e:
        raise CostError(f"--memory-limit: {e}") from None
    cost = estimate(sc, seeds, counterfactual, parallel)
    check(sc, cost, limit)
    return cost


MEMORY_HELP = ("Most memory the run may use, e.g. 20GiB or 512MB, or none for no check; a run "
               "estimated above it is refused before it starts (default: the memory available).")


class BackendName(str, Enum):
    local = "local"
    ray = "ray"


BACKEND_HELP = ("Where the runs run: local threads or processes, or one Ray task each (pip "
                "install 'panopticon\\[ray]'; docs/cluster.md); the files are the same.")
ADDRESS_HELP = ("With --backend ray: the cluster's head, host:port of `ray start --head` (or "
                "auto: the cluster of this node); default: RAY_ADDRESS, else Ray on this machine.")
BackendOption = Annotated[BackendName, typer.Option(help=BACKEND_HELP)]
AddressOption = Annotated[str | None, typer.Option(help=ADDRESS_HELP, metavar="ADDR")]


def where(backend: Backend, workers: int) -> str:
    """How the runs run, for the line a command starts with."""
    from .runner.backends import Local

    return f"{workers} at a time" if isinstance(backend, Local) else "one Ray task each"


def open_backend(name: BackendName, address: str | None, workers: int,
                 threads: bool = False) -> Backend:
    """The backend of ``--backend`` and ``--address``, joined now: a Ray cluster that cannot be
    reached ends the command in one line before anything runs."""
    from .runner.backends import BackendError, backend

    try:
        return backend(name.value, address, workers, threads)
    except BackendError as e:
        fail(str(e))


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="A preset name or a scenario TOML file.")]
    = "china-2018",
    population: Annotated[int | None, typer.Option(help="Simulated citizens.")] = None,
    scale: Annotated[float | None, typer.Option(help="Real people per simulated citizen.")]
    = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    seeds: Annotated[int, typer.Option(
        help="Run K seeds, SEED to SEED+K-1; the folder adds their median and 90% band.",
        min=1, metavar="K")] = 1,
    out: Annotated[Path | None, typer.Option(
        help="Run folder (default runs/NAME-seedSEED, or runs/NAME-seedsFIRST-LAST; NAME is "
             "the preset's or the scenario file's name): a new or empty folder, or an earlier "
             "run with --overwrite.")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an earlier run in the folder (never other files).")]
    = False,
    threads: Annotated[int, typer.Option(
        help=f"Worker threads: at most one per {THREAD_CITIZENS:,} citizens, as fewer citizens"
        " run faster on one.", min=1)] = min(
        2, os.cpu_count() or 1),
    chunk_size: Annotated[int, typer.Option(
        help="At most this many citizens per chunk (cut evenly, as many for each thread).",
        min=1)] = DEFAULT_CHUNK,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report",
                                            help="Do not write report.html.")] = False,
    counterfactual: Annotated[bool, typer.Option(
        help="Also run the same scenario and seed with fear off: the audit's chilling and "
             "deterrence, and its figures beside the run's.")] = False,
    memory_limit: Annotated[str | None, typer.Option(help=MEMORY_HELP, metavar="SIZE")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the interrupted run of the same command from its last "
                         "checkpoint, to the same results.")] = False,
    checkpoint_every: Annotated[float, typer.Option(
        help="Minutes between checkpoints of a long run (0: after every day).", min=0,
        metavar="MINUTES")] = 10.0,
    backend: BackendOption = BackendName.local,
    address: AddressOption = None,
) -> None:
    """Run a scenario and write its run folder and report; end with the model beside the
    published record and the audit's headline figures."""
    from .readers.results import write_run
    from .runner.checkpoint import CheckpointError, Stopped, path_of
    from .runner.cost import CostError

    try:
        sc = resolve(scenario, population, scale, start, end, seed)
        scenario_mod.check_field("seed", sc.seed + seeds - 1, f"--seeds {seeds} (the last seed)")
        cost = check_memory(sc, memory_limit, seeds, counterfactual)
    except (ScenarioError, CostError) as e:
        fail(str(e))
    seed_text = f"seed {sc.seed}" if seeds == 1 else f"seeds {sc.seed} to {sc.seed + seeds - 1}"
    folder = out or default_folder(scenario, sc.seed, seeds)
    try:  # before simulating: the folder must be ours to write, with room for the run
        check_folder(folder, "run", overwrite,
                     disk_bytes(sc, seeds, counterfactual, report=not no_report))
    except OutError as e:
        fail(str(e))
    for warning in sc.warnings():
        warn(warning)
    if resume and backend is BackendName.ray:
        fail("--resume continues a local run's checkpoint; with --backend ray a run whose worker"
             " died is run again by Ray: run the command again without --resume")
    runner = open_backend(backend, address, 1)
    if backend is BackendName.ray:
        run_on(runner, sc, seeds, counterfactual, chunk_size, folder, overwrite, no_report)
        return
    checkpoint = path_of(folder)
    try:
        runs = start_runs(sc, seeds, counterfactual, chunk_size, threads, checkpoint, resume)
    except CheckpointError as e:
        fail(str(e))
    console.print(f"[bold]{sc.name}[/]: {sc.population.size:,} citizens x {sc.population.scale:g}"
                  f" people, {sc.start} to {sc.end} ({sc.days} days), {seed_text}")
    time_left = pace.estimate_time(sc, seeds, counterfactual, threads, 1 - runs.done() / runs.total)
    compiling = time_left.compile_seconds
    console.print(f"Estimated: {duration(time_left.seconds)} "
                  f"{on_threads(sc.population.size, threads)} at {time_left.source()},"
                  + (f" {duration(compiling)} of it compiling this version's kernels (its first"
                     " run; they are kept)," if compiling else "")
                  + f" {cost.describe()}", soft_wrap=True, highlight=False)
    try:
        started = time.perf_counter()
        data, per_seed = simulate(runs, quiet, checkpoint, checkpoint_every * 60)
        pace.record(time_left, time.perf_counter() - started, chunk_size)
        write_run(data, folder, per_seed, overwrite=overwrite)
    except (KeyboardInterrupt, Stopped) as e:
        err.print(f"{'stopped' if isinstance(e, Stopped) else 'interrupted'}: {folder} was not "
                  "written (any earlier run there is intact)" + resumable(checkpoint),
                  soft_wrap=True, highlight=False)
        raise typer.Exit(e.code if isinstance(e, Stopped) else 130) from None
    except OutError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the run folder {folder}: {e.strerror or e}")
    checkpoint.unlink(missing_ok=True)
    print_summary(folder)
    if not no_report:
        make_report(folder, png=False)


def run_on(backend: Backend, sc: Scenario, seeds: int, counterfactual: bool, chunk_size: int,
           folder: Path, overwrite: bool, no_report: bool) -> None:
    """``run`` with each seed (the first with its fear-off twin) a task of ``backend``: no
    checkpoint, since a task whose worker dies is run again."""
    from .readers.results import write_run
    from .runner.backends import BackendError
    from .runner.seeds import Runs, run_seeds_on

    console.print(f"[bold]{sc.name}[/]: {sc.population.size:,} citizens x {sc.population.scale:g}"
                  f" people, {sc.start} to {sc.end} ({sc.days} days), {seeds} seed"
                  f"{'s' * (seeds > 1)} from {sc.seed}, one Ray task each")
    try:
        data, per_seed = run_seeds_on(backend, Runs(sc, seeds, counterfactual, chunk_size))
        write_run(data, folder, per_seed, overwrite=overwrite)
    except KeyboardInterrupt:
        err.print(f"interrupted: {folder} was not written (any earlier run there is intact)",
                  soft_wrap=True, highlight=False)
        raise typer.Exit(130) from None
    except (OutError, BackendError) as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the run folder {folder}: {e.strerror or e}")
    print_summary(folder)
    if not no_report:
        make_report(folder, png=False)


def on_threads(n: int, threads: int) -> str:
    """'on 2 threads', or why fewer than asked: the engine's rule (engine.useful_threads)."""
    used = useful_threads(n, threads)
    text = f"on {used} thread{'s' if used > 1 else ''}"
    return text if used == threads else (f"{text} (at most one per {THREAD_CITIZENS:,} citizens:"
                                         " fewer citizens run faster on fewer threads)")


def start_runs(sc: Scenario, seeds: int, counterfactual: bool, chunk_size: int, threads: int,
               checkpoint: Path, resume: bool) -> Runs:
    """The command's runs: from the checkpoint with ``resume``, else from the first day (an
    earlier interrupted run's checkpoint is then replaced, with a warning)."""
    from .runner.checkpoint import load, read_header
    from .runner.seeds import Runs

    runs = Runs(sc, seeds, counterfactual, chunk_size, threads)
    if resume:
        runs = load(checkpoint, runs)
        console.print(f"Resuming from {checkpoint}: {runs.done():,} of {runs.total:,} days run",
                      soft_wrap=True, highlight=False)
    elif checkpoint.exists():
        head = read_header(checkpoint)
        warn(f"{checkpoint} holds an interrupted run ({head['done']:,} of {head['total']:,} "
             "days), which this run replaces; stop it and add --resume to continue that one")
    return runs


def resumable(checkpoint: Path) -> str:
    """What the interrupted run can do next, if it left a checkpoint."""
    from .runner.checkpoint import CheckpointError, read_header

    try:
        head = read_header(checkpoint)
    except CheckpointError:
        return ""
    return (f"; its checkpoint after {head['done']:,} of {head['total']:,} days is kept: the "
            "same command with --resume continues it")


def make_report(folder: Path, png: bool, study: Path | None = None) -> None:
    """Write the run's report.html (and with ``png`` its static figures), with the bands of
    ``study`` or of the study beside the run; say where and how long it took."""
    import time

    from .readers.figures import write_figures
    from .readers.report import load_run, write_report
    from .readers.runfolder import RunFolderError

    began = time.perf_counter()
    try:
        path = write_report(folder, study)
        figures = write_figures(load_run(folder, study)) if png else []
    except KeyboardInterrupt:
        err.print(f"interrupted: the report in {folder} was not written; `panopticon report "
                  f"{folder}` writes it", soft_wrap=True, highlight=False)
        raise typer.Exit(130) from None
    except RunFolderError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the report in {folder}: {e.strerror or e}")
    extra = f" and {len(figures)} figures in {folder / 'figures'}" if figures else ""
    console.print(f"Report: [bold]{path}[/] ({path.stat().st_size / 1e6:.1f} MB){extra}, "
                  f"{time.perf_counter() - began:.1f} s", soft_wrap=True)


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
    png: Annotated[bool, typer.Option("--png", help="Also write static figures in "
                                                    "RUN/figures/*.png.")] = False,
    sensitivity: Annotated[Path | None, typer.Option(
        help="A finished sensitivity study whose bands across assumptions the report shows "
             "beside the seeds' (default: NAME-sensitivity beside the run folder, if it is "
             "a study of the run's scenario).")] = None,
) -> None:
    """Write RUN/report.html, one file that opens offline, from the run folder alone."""
    try:
        check_folder(run, "report")
    except OutError as e:
        fail(str(e))
    make_report(run, png, sensitivity)


def simulate(runs: Runs, quiet: bool, checkpoint: Path, every: float
             ) -> tuple[RunData, pa.Table | None]:
    """Run what is left of ``runs`` (seeds, then the first with fear off if asked) under one
    progress bar over runs x days, saving a checkpoint every ``every`` seconds."""
    from .runner.checkpoint import Every

    citizens = runs.scenario.population.size
    unit = "days" if runs.k + runs.counterfactual == 1 else "run-days"
    hook = Every(runs, checkpoint, every, warn)
    if not (quiet or console.is_terminal):  # a file or a pipe: no bar can be drawn
        with stop_at_day_end(hook):
            return runs.run(ProgressLines(citizens, unit), hook)
    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                  RateColumn(citizens), TimeRemainingColumn(), console=console,
                  disable=quiet) as bar:
        task = bar.add_task("days", total=runs.total, completed=runs.done(), events=0)

        def progress(done: int, total: int, events: int) -> None:
            bar.update(task, completed=done, events=events)

        with stop_at_day_end(hook):
            return runs.run(progress, hook)


class ProgressLines:
    """The progress bar's figures as a line every ``LINE_SECONDS`` of simulation, where output
    goes to a file or a pipe (``nohup``, a batch scheduler's log), in which a bar shows nothing
    until the end."""

    def __init__(self, citizens: int, unit: str) -> None:
        self.rates, self.unit = Rates(citizens), unit
        self.last = time.monotonic()

    def __call__(self, done: int, total: int, events: int) -> None:
        now = time.monotonic()
        rates = self.rates.per_second(now, done, events)
        if rates is None or (now - self.last < LINE_SECONDS and done < total):
            return
        self.last = now
        left = duration((total - done) / rates[0]) + " left" if done < total else "done"
        console.print(f"simulating: {done:,} of {total:,} {self.unit} ({done / total:.0%}), "
                      f"{self.rates.text(*rates)}, {left}", highlight=False, soft_wrap=True)


@contextmanager
def stop_at_day_end(hook: Every) -> Iterator[None]:
    """While in the block, SIGTERM (a scheduler's end of allocation) and a first Ctrl-C make
    the run stop at the end of the day under way, with a checkpoint; a second Ctrl-C stops it
    at once. The handlers before are put back after."""
    def on_term(signum: int, frame: object) -> None:
        hook.stop(128 + signum)

    def on_int(signum: int, frame: object) -> None:
        if hook.stopping is not None:
            raise KeyboardInterrupt
        hook.stop(128 + signum)
        err.print("stopping at the end of the day to write a checkpoint (Ctrl-C again: at "
                  "once, from the last checkpoint)", highlight=False, soft_wrap=True)

    before = {sig: signal.signal(sig, handler)
              for sig, handler in ((signal.SIGTERM, on_term), (signal.SIGINT, on_int))}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


class Rates:
    """Citizen-days and events (the citizens' acts) per second of this process's simulation,
    from the first day it ran: what the progress bar and the progress lines show."""

    def __init__(self, citizens: int) -> None:
        self.citizens = citizens
        self.first: tuple[float, float, int] | None = None  # (time, days done, events)

    def per_second(self, now: float, done: float, events: int) -> tuple[float, float] | None:
        """(days, events) a second since the first reading; None until a day has passed."""
        if self.first is None or done <= self.first[1]:
            self.first = (now, done, events)
        seconds = now - self.first[0]
        if seconds <= 0 or done == self.first[1]:
            return None
        return (done - self.first[1]) / seconds, (events - self.first[2]) / seconds

    def text(self, days: float, events: float) -> str:
        """'47.9M citizen-days/s, 12.1M events/s' of rates from :meth:`per_second`."""
        return f"{_short(days * self.citizens)} citizen-days/s, {_short(events)} events/s"


class RateColumn(ProgressColumn):
    """The bar's column of :class:`Rates`."""

    def __init__(self, citizens: int) -> None:
        super().__init__()
        self.rates = Rates(citizens)

    def render(self, task: Task) -> Text:
        rates = self.rates.per_second(task.get_time(), task.completed,
                                      task.fields.get("events", 0))
        return Text("") if rates is None else Text(self.rates.text(*rates), style="cyan")


def print_summary(folder: Path) -> None:
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    if summary["published_comparison"]:
        console.print(published_table(summary))
    else:
        console.print("The published figures are national; this scenario models a city, so"
                      " none is compared.")
    a = summary["attempts_vs_people"]
    if len(a) == 4:  # a scheme with plane and train tickets
        console.print(f"Blocked purchases are attempts, not people:"
                      f" {a['plane_attempts_blocked']:,.0f} plane attempts by"
                      f" {a['plane_people_blocked']:,.0f} people,"
                      f" {a['train_attempts_blocked']:,.0f} train attempts by"
                      f" {a['train_people_blocked']:,.0f} people.")
    console.print(audit_table(summary))
    per_seed = " (first seed)" if "seeds" in summary else ""
    console.print(f"{summary['wall_seconds']:.1f} s{per_seed}, "
                  f"{summary['agent_days_per_second'] / 1e6:.1f} M agent-days/s. "
                  f"Results in [bold]{folder}[/]")


def published_table(summary: dict) -> Table:
    """The published figures beside the model's. A multi-seed run shows the median across seeds
    and its 90% band instead of the first seed's figure (kept in summary.json), so that a gap can
    be told from noise within the 140 columns of a log."""
    seeds = summary.get("seeds")
    model, band = ("median", "90% band") if seeds else ("model", None)
    table = Table(title="The model beside the published record (scaled to real people)",
                  caption=f"over seeds {seeds[0]} to {seeds[-1]}" if seeds else None)
    columns = ["date", "figure", "published", model, band, f"{model} / published", "counts"]
    for col in filter(None, columns):
        table.add_column(col, justify="left" if col in ("date", "figure", "counts") else "right")
    for row in summary["published_comparison"]:
        if row["model"] is None:
            continue
        value = row["model_median"] if seeds else row["model"]
        ratio = f"{value / row['published']:.2f}" if row["published"] else "-"
        spread = [f"{_short(row['model_p05'])}–{_short(row['model_p95'])}"] if seeds else []
        table.add_row(row["date"], row["metric"], f"{row['published']:,.0f}", f"{value:,.0f}",
                      *spread, ratio, row["counts"])
    return table


def audit_table(summary: dict) -> Table:
    """The audit's headline figures (all of them in audit.parquet), with the fear-off run's
    beside them where it was run."""
    cf = summary.get("counterfactual", False)
    notes = ([] if cf else ["chilling and deterrence: run with --counterfactual"]) + (
        ["first seed"] if "seeds" in summary else [])
    table = Table(title="The audit: what the system did to people (whole run, real people)",
                  caption="; ".join(notes) or None)
    for col in ("section", "figure", "value", "vs national", *(["fear off"] if cf else [])):
        table.add_column(col, justify="left" if col in ("section", "figure") else "right")
    for row in summary["audit"]:
        figure = row["metric"] + ("" if row["group"] == "all"
                                  else f" ({row['group_by']} {row['group']})")
        ratio = row["ratio_to_national"]
        extra = [_figure(row["fear_off"], row["unit"])] if cf else []
        table.add_row(row["section"], figure, _figure(row["value"], row["unit"]),
                      "" if ratio is None or row["group_by"] == "total" else f"{ratio:.2f}",
                      *extra)
    return table


def _figure(value: float | None, unit: str) -> str:
    """An audit figure in its unit: counts whole, rates in percent, ratios to two places."""
    if value is None:
        return "-"
    if unit in ("people", "events"):
        return f"{value:,.0f}"
    return f"{value:.3%}" if unit == "rate" else f"{value:.2f}"


def _short(value: float) -> str:
    """A count in three significant digits (1.88M), to fit a band in a narrow column."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


@app.command()
def story(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
    citizen: Annotated[int | None, typer.Option(
        help="A cohort member's id (default: a life with a wrongful sanction, else the fullest).")]
    = None,
) -> None:
    """Tell one sampled life of a run as a dated timeline: what they did, what was observed,
    what it cost them and what was wrong in it."""
    from .readers.runfolder import RunFolderError
    from .readers.story import StoryError, render

    try:
        console.print(render(run, citizen))
    except (StoryError, RunFolderError) as e:
        fail(str(e))


@app.command()
def scenarios() -> None:
    """List the presets, one line each."""
    for name, description in scenario_mod.preset_summaries().items():
        console.print(f"[bold]{name}[/]  {description}", highlight=False)


@app.command()
def show(scenario: Annotated[str, typer.Argument(help="A preset name or a scenario file.")]
         ) -> None:
    """Print a scenario as resolved TOML (what it extends merged in, every field explicit)."""
    try:
        print(scenario_mod.load(scenario).to_toml(), end="")
    except ScenarioError as e:
        fail(str(e))


@app.command()
def schema(markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the reference of every field (docs/reference.md) instead.")]
           = False) -> None:
    """Print the JSON Schema of a scenario file, for TOML editors (taplo, Even Better TOML):
    panopticon schema > scenario.schema.json, then #:schema ./scenario.schema.json atop a file."""
    from .language import reference

    print(reference.markdown() if markdown else json.dumps(reference.json_schema(), indent=2),
          end="" if markdown else "\n")


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def query(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
    sql: Annotated[str, typer.Argument(help="DuckDB SQL; each Parquet file is a view named "
                                            "after it: timeseries, regions, ranking, ...")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    limit: Annotated[int, typer.Option(help="Most rows to print; 0 for all.", min=0)] = 100,
    allow_writes: Annotated[bool, typer.Option(
        "--allow-writes", help="Let the SQL reach files, extensions and settings (COPY ... TO, "
                               "read_csv, ATTACH, INSTALL, SET). Without it a query reads only "
                               "the run's tables and writes nothing.")] = False,
) -> None:
    """Run SQL over a run folder's Parquet files and print the result."""
    from .readers.query import QueryError, run_query, to_csv, to_json, to_table

    try:
        result = run_query(run, sql, limit or None, allow_writes)
    except QueryError as e:
        fail(str(e))
    for warning in result.warnings:
        warn(warning)
    if fmt is Format.table:
        console.print(to_table(result))
    else:
        sys.stdout.write(to_csv(result) if fmt is Format.csv else to_json(result))
    if result.truncated:
        err.print(f"only the first {limit:,} row{'s' * (limit != 1)}; --limit 0 prints all",
                  highlight=False)


def warn(message: str) -> None:
    """``message`` on stderr as given (not read as markup), on one line."""
    err.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


@app.command("compare")
def compare_runs(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders; the first is the "
                                                    "baseline.")],
    metric: Annotated[list[str] | None, typer.Option(
        help="A timeseries column to compare (repeat for more); default: key figures.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the aligned long table (run, date, metric, value, difference) to this "
             "Parquet file: a new one, or an earlier compare's with --overwrite.")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace the table an earlier compare wrote at --out.")] = False,
) -> None:
    """Runs side by side on their common dates, with differences against the first run."""
    from .readers.compare import CompareError, compare, to_table, write_aligned
    from .readers.runfolder import RunFolderError

    try:
        if out is not None:
            check_file(out, overwrite)
        result = compare(runs, metric)
    except (CompareError, RunFolderError, OutError) as e:
        fail(str(e))
    for warning in result.warnings:
        warn(warning)
    console.print(to_table(result))
    if out is not None:
        try:
            write_aligned(result, out, overwrite)
        except KeyboardInterrupt:
            err.print(f"interrupted: {out} was not written", highlight=False)
            raise typer.Exit(130) from None
        except OutError as e:
            fail(str(e))
        except OSError as e:
            fail(f"--out: cannot write {out}: {e.strerror or e}")
        console.print(f"Aligned table: [bold]{out}[/]")


@app.command()
def serve(
    runs: Annotated[Path, typer.Option(help="The folder of run folders the page opens and "
                                            "writes its runs in.")] = Path("runs"),
    host: Annotated[str, typer.Option(help="Address to listen on; another than localhost "
                                           "lets other machines reach the page.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
) -> None:
    """Open the dashboard in the browser: change a scheme, run it, read what it did, compare
    runs and open run folders (Solara; http://HOST:PORT)."""
    from .dashboard.server import MissingExtra, check_installed, is_local
    from .dashboard.server import serve as serve_page

    try:
        check_installed()
    except MissingExtra as e:
        fail(str(e))
    if not is_local(host):
        warn(f"--host {host}: anyone who can reach this address can run simulations and read "
             "the run folders; nothing authenticates them")
    console.print(f"panopticon dashboard on [bold]http://{host}:{port}[/] (runs in "
                  f"{runs}); Ctrl-C stops it", soft_wrap=True, highlight=False)
    serve_page(runs, host, port)


def in_study_folder(folder: Path, kind: str, resumable: str, errors: tuple[type, ...],
                    work: Callable[[], T]) -> T:
    """``work()`` holding ``folder`` for a study of ``kind``: a Ctrl-C says how to resume
    (``resumable``) and exits 130, and ``errors`` or a failed write end the command in one
    line."""
    try:
        with claimed(folder, kind):
            return work()
    except KeyboardInterrupt:
        err.print(f"interrupted: {resumable}", soft_wrap=True)
        raise typer.Exit(130) from None
    except errors as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write {folder}: {e.strerror or e}")


@app.command()
def calibrate(
    scenario: Annotated[str, typer.Argument(help="A preset name or a scenario TOML file with a "
                                                 "\\[calibration] table.")],
    targets: Annotated[Path | None, typer.Option(
        help="Published targets, columns as calibration_targets.csv (default: the packaged one).",
        metavar="FILE")] = None,
    trials: Annotated[int, typer.Option(help="Trials in all, counting those stored.", min=1,
                                        metavar="N")] = 60,
    jobs: Annotated[int, typer.Option(help="Trials run at once (threads); the result does not "
                                           "depend on it.", min=1, metavar="J")] = min(
        2, os.cpu_count() or 1),
    storage: Annotated[str | None, typer.Option(
        help="Optuna storage: an SQLite file or a URL (default OUT/study.db); rerun to resume.",
        metavar="URL-OR-PATH")] = None,
    population: Annotated[int, typer.Option(help="Simulated citizens in trials and in the fit.",
                                            min=1)] = 141_000,
    seeds: Annotated[int, typer.Option(help="Seeds of the fit's median and 90% band.", min=1,
                                       metavar="K")] = 5,
    seed: Annotated[int | None, typer.Option(help="Seed of the sampler and of the runs.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default calibrations/NAME, NAME the preset's or the scenario "
             "file's name): new, empty or an earlier calibration's, whose study it resumes."
    )] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    memory_limit: Annotated[str | None, typer.Option(help=MEMORY_HELP, metavar="SIZE")] = None,
    backend: BackendOption = BackendName.local,
    address: AddressOption = None,
) -> None:
    """Fit the scenario's free parameters to the published targets with Optuna (TPE); write the
    calibrated scenario, fit.csv and fit.png."""
    from .readers.calibrate import (
        BATCH,
        STUDY_FILE,
        CalibrationError,
        complete,
        storage_url,
    )
    from .readers.calibrate import calibrate as run_calibration
    from .runner.backends import BackendError
    from .runner.cost import CostError

    try:
        sc = resolve(scenario, None, None, None, None, seed)
        trial = sc.with_changes(origin=f"--population {population}", **{
            "population.size": population,
            "population.scale": represented(sc.population) / population})
        check_memory(trial, memory_limit, parallel=min(jobs, max(BATCH, seeds)))
    except (ScenarioError, CostError) as e:
        fail(str(e))
    folder = out or Path("calibrations") / source_name(scenario)
    try:
        check_folder(folder, "calibration")
    except OutError as e:
        fail(str(e))
    url = storage_url(storage or folder / STUDY_FILE)
    runner = open_backend(backend, address, jobs, threads=True)
    console.print(f"[bold]{sc.name}[/]: {trials} trials at {population:,} citizens,"
                  f" {where(runner, jobs)}, seed {sc.seed}; study in {url}")
    with Progress(TextColumn("calibrating"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("trials {task.fields[best]}"), TimeRemainingColumn(),
                  console=console, disable=quiet) as bar:
        task = bar.add_task("trials", total=trials, best="")

        def show(study) -> None:
            bar.update(task, completed=complete(study), best=f"best {study.best_value:.4f}")

        _, rows = in_study_folder(
            folder, "calibration", f"completed trials are stored in {url}; run the same command"
            " again to resume", (CalibrationError, ScenarioError, OutError, BackendError),
            lambda: run_calibration(sc, targets, trials, runner, url, population,
                                    represented(sc.population), seeds, folder, show))
    console.print(fit_table(rows, seeds))
    console.print(f"Calibrated scenario, fit.csv and fit.png in [bold]{folder}[/]")


@app.command()
def sensitivity(
    scenario: Annotated[str, typer.Argument(help="A preset name or a scenario TOML file; "
                                                 "\\[sensitivity.parameters] says what varies.")],
    output: Annotated[list[str] | None, typer.Option(
        "--output", help="A figure to explain: a headline figure of the audit "
        "(wrongly_sanctioned_people, sanction_rate[income_decile=1], ...) or a published series "
        "at a date (judgment_defaulters_listed@2018-12-31); repeat it for several (default: "
        "the audit's wrongful sanctions, children barred, chilling, deterrence and access "
        "ratios).", metavar="NAME")] = None,
    conclusion: Annotated[list[str] | None, typer.Option(
        "--conclusion", help="A conclusion to test, OUTPUT OP NUMBER (\"children_barred_wrongly "
        "> 1e6\"; OP one of > >= < <=) on an output of the study: where it holds, and the boxes "
        "of assumptions where it flips (PRIM); repeat it for several. Adding one to a finished "
        "study with --resume runs nothing.", metavar="TEXT")] = None,
    against: Annotated[str | None, typer.Option(
        help="Another scenario (preset or TOML) run too at every point and seed, for "
             "conclusions that compare the two: \"court-list:wrongly_sanctioned_people > "
             "wrongly_sanctioned_people\".", metavar="SCENARIO")] = None,
    population: Annotated[int, typer.Option(help="Simulated citizens in every run.",
                                            min=1)] = 2_000,
    end: Annotated[str | None, typer.Option(help="Last day of every run (YYYY-MM-DD; default: "
                                                 "the scenario's).")] = None,
    seeds: Annotated[int, typer.Option(help="Seeds run at every point, to tell seed noise from "
                                            "the assumptions' effect.", min=1,
                                       metavar="K")] = 2,
    trajectories: Annotated[int, typer.Option(help="Morris trajectories (k + 1 points each).",
                                              min=2, metavar="R")] = 4,
    samples: Annotated[int, typer.Option(help="Sobol base samples, a power of two (N (k' + 2) "
                                              "points).", min=1, metavar="N")] = 8,
    screen: Annotated[float, typer.Option(
        help="A parameter goes on to Sobol where its Morris mu* reaches this share of the "
             "largest mu* of some output.", min=0.0, max=1.0)] = 0.1,
    workers: Annotated[int, typer.Option(help="Runs at once (local processes); the result does "
                                              "not depend on it.", min=1, metavar="J")] = min(
        2, os.cpu_count() or 1),
    seed: Annotated[int | None, typer.Option(help="Seed of the sampler and the first seed of the "
                                                  "runs (default: the scenario's).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default runs/NAME-sensitivity): new, empty, or with --resume a "
             "study's.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the study in the output folder: its "
                                              "finished runs are kept.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    memory_limit: Annotated[str | None, typer.Option(help=MEMORY_HELP, metavar="SIZE")] = None,
    backend: BackendOption = BackendName.local,
    address: AddressOption = None,
) -> None:
    """Which audit figures hold whatever the assumptions, and which assumption drives each:
    Morris screening, then Sobol indices (SALib); write tables, figures and a summary."""
    import time

    from .readers.sensitivity import DONE_DIR, SensitivityError, check_study, study_settings
    from .readers.sensitivity import sensitivity as run_sensitivity
    from .readers.sensitivity_files import discovery_findings
    from .runner.backends import BackendError
    from .runner.cost import CostError

    try:
        sc = resolve(scenario, population, None, None, end, seed)
        check_memory(sc, memory_limit, parallel=workers)
        other = None if against is None else resolve(against, population, None, None, end, seed)
        settings = study_settings(sc, output or [], seeds, trajectories, samples, screen,
                                  conclusion, other)
        folder = out or Path("runs") / f"{source_name(scenario)}-sensitivity"
        check_folder(folder, "sensitivity")
        check_study(folder, settings, resume)
    except (ScenarioError, CostError, SensitivityError, OutError) as e:
        fail(str(e))
    runner = open_backend(backend, address, workers)
    console.print(f"[bold]{sc.name}[/]: {len(settings.parameters)} parameters, {seeds} seeds at"
                  f" every point, {population:,} citizens, {where(runner, workers)}; study in"
                  f" {folder}")
    started, kept = time.monotonic(), len(list((folder / DONE_DIR).glob("*.json")))
    with Progress(TextColumn("{task.fields[phase]}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, disable=quiet) as bar:
        task = bar.add_task("runs", total=None, phase="morris")

        def show(phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, phase=phase)

        study = in_study_folder(
            folder, "sensitivity", f"finished runs are kept in {folder}; add --resume to the"
            " same command to continue",
            (SensitivityError, ScenarioError, OutError, BackendError),
            lambda: run_sensitivity(settings, folder, runner, resume, on_run=show))
    runs = (len(study.morris_x) + len(study.sobol_x)) * seeds * (1 + (against is not None)) - kept
    console.print(f"{runs} runs in {time.monotonic() - started:,.0f} s"
                  + (f" ({kept} kept from before)" if kept else "")
                  + f"; Sobol kept {', '.join(study.chosen) or 'no parameter'}")
    for text in (t for _, sentences in discovery_findings(study) for t in sentences):
        console.print(text, highlight=False)
    console.print(f"Summary, tables and figures in [bold]{folder}[/] (summary.md)")


@app.command()
def fit(
    run: Annotated[Path, typer.Argument(help="A run folder of `panopticon run --seeds K`.")],
    targets: Annotated[Path | None, typer.Option(
        help="Published targets (default: the packaged calibration_targets.csv).",
        metavar="FILE")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: the run folder): new, empty or made by panopticon.")]
    = None,
) -> None:
    """Write fit.csv and fit.png (model median and 90% band beside each target) for a run."""
    from .language.published import load_targets
    from .readers.calibrate import CalibrationError, write_fit
    from .readers.results import split_seeds
    from .readers.runfolder import RunFolderError, open_run

    folder = out or run
    try:
        source = open_run(run)
        if not source.has("timeseries_seeds"):
            fail(f"{run}: no timeseries_seeds.parquet; run the scenario with --seeds K first")
        sc = source.scenario
        weights = sc.calibration.weights if sc.calibration else {}
        runs = split_seeds(source.table("timeseries_seeds"))
        with claimed(folder, "fit"):
            rows = write_fit(runs, load_targets(targets), weights, folder)
    except (CalibrationError, RunFolderError, OutError) as e:
        fail(str(e))
    except (OSError, KeyError, ValueError) as e:
        fail(f"cannot read the run or the targets: {e}")
    console.print(fit_table(rows, len(runs)))
    console.print(f"fit.csv and fit.png in [bold]{folder}[/]")


def fit_table(rows: list[dict], seeds: int) -> Table:
    """The fit: each target beside the model's median and 90% band, fitted ones marked."""
    table = Table(title=f"Fit: model median and 90% band over {seeds} seeds beside the targets",
                  caption="weight 0: shown, not fitted")
    for col in ("date", "figure", "weight", "published", "median", "90% band",
                "median / published"):
        table.add_column(col, justify="left" if col in ("date", "figure") else "right")
    for r in rows:
        table.add_row(r["date"], r["metric"], f"{r['weight']:g}", f"{r['published']:,.0f}",
                      f"{r['model_median']:,.0f}",
                      f"{_short(r['model_p05'])}–{_short(r['model_p95'])}", f"{r['ratio']:.2f}")
    return table
