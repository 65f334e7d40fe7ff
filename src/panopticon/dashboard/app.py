"""The dashboard's page (Solara): change a scheme, run it, read what it did, compare, open runs.

Every session shares the server's runs folder and its one background run slot; the rest (the
preset, the edits, the run shown) belongs to the browser tab.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import solara

from ..language import scenario as scenario_mod
from ..language.scenario import Scenario, ScenarioError
from ..readers.compare import CompareError
from ..readers.runfolder import RunFolderError
from ..readers.story import StoryError
from . import edits as edits_mod
from . import views
from .folders import FolderError, RunsFolder
from .jobs import Busy, Job, Runner
from .plots import PlotlyFigure, fetch_plotly
from .server import RUNS_ENV

FOLDERS = RunsFolder(os.environ.get(RUNS_ENV, "runs"))
RUNNER = Runner(FOLDERS)
VIEW_NAMES = {"scheme": "Change and run", "results": "What it did",
              "compare": "Compare two runs", "open": "Open a run folder"}
FIRST = scenario_mod.PRESETS[0]  # the preset the page opens with
# seconds between redraws of the progress: each redraw reconciles the page's whole widget tree
# (about 0.05 s of Python, measured), time the run's own threads wait for the interpreter
PROGRESS_EVERY = 1.0
READ_ERRORS = (RunFolderError, FolderError, StoryError, CompareError)
TABLE_STYLE = """
.pan-html table { border-collapse: collapse; font-size: 0.85em; width: 100%; margin: 6px 0 14px; }
.pan-html th, .pan-html td { border-bottom: 1px solid #e3e7eb; padding: 3px 6px;
  text-align: left; vertical-align: top; }
.pan-html th { background: #f3f5f7; } .pan-html td.num { text-align: right; white-space: nowrap; }
.pan-html h3 { margin: 12px 0 4px; text-transform: capitalize; }
"""


def edited(preset: str, edits: dict[str, Any]) -> tuple[Scenario | None, str | None]:
    """The preset with the page's edits, or the one-line error that refuses them."""
    try:
        return edits_mod.apply(scenario_mod.load(preset), edits), None
    except ScenarioError as e:
        return None, str(e)


@solara.component
def Page() -> None:
    view, set_view = solara.use_state("scheme")
    shown, set_shown = solara.use_state(None)  # the run folder the results view shows
    preset, set_preset = solara.use_state(FIRST)  # kept while other views are open
    edits, set_edits = solara.use_state(edits_mod.dashboard_defaults(scenario_mod.load(FIRST)))

    def show(name: str) -> None:
        set_shown(name)
        set_view("results")

    solara.Style(TABLE_STYLE)
    solara.Title("panopticon")
    with solara.Column(style={"padding": "12px 24px", "max-width": "1400px"}):
        solara.Markdown("## panopticon: change the policy, watch what it does to people")
        solara.ToggleButtonsSingle(value=VIEW_NAMES[view], values=list(VIEW_NAMES.values()),
                                   on_value=lambda v: set_view(_key(v)))
        if view == "scheme":
            SchemeView(preset, edits, set_preset, set_edits, on_done=show)
        elif view == "results":
            ResultsView(shown)
        elif view == "compare":
            CompareView()
        else:
            OpenView(on_open=show)
    fetch_plotly()


def _key(name: str) -> str:
    return next(k for k, v in VIEW_NAMES.items() if v == name)


@solara.component
def SchemeView(preset: str, edits: dict[str, Any], set_preset, set_edits, on_done) -> None:
    """A preset, its controls, the TOML download and the run with its progress."""
    counterfactual, set_counterfactual = solara.use_state(False)
    message, set_message = solara.use_state(None)
    going = RUNNER.current if RUNNER.current is not None and RUNNER.current.running else None
    job, set_job = solara.use_state(going)  # a run going when the view opens, followed here
    base = solara.use_memo(lambda: scenario_mod.load(preset), [preset])
    sc, error = edited(preset, edits)

    def pick(name: str) -> None:
        set_preset(name)
        set_edits(edits_mod.dashboard_defaults(scenario_mod.load(name)))

    def edit(path: str, value: Any) -> None:
        set_edits({**edits, path: value})

    def run() -> None:
        try:
            set_job(RUNNER.start(sc, counterfactual))
            set_message(None)
        except Busy as e:
            set_message(str(e))

    solara.Markdown("**Preset** (then change it below; every value is checked as the "
                    "scenario file is)")
    solara.ToggleButtonsSingle(value=preset, values=list(scenario_mod.PRESETS), on_value=pick)
    solara.Text(base.description)
    if error:
        solara.Error(error, classes=["pan-error"])
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Button("Run", on_click=run, disabled=sc is None, color="primary",
                      classes=["pan-run"])
        solara.Checkbox(label="also run with fear off (chilling and deterrence; twice the time)",
                        value=counterfactual, on_value=set_counterfactual)
        if sc is not None:
            solara.FileDownload(lambda: edits_mod.scenario_toml(sc), filename=f"{sc.name}.toml",
                                label="Download scenario TOML", mime_type="application/toml")
    if message:
        solara.Warning(message, classes=["pan-busy"])
    JobPanel(job, on_done=on_done)
    Controls(base, edits, edit)


@solara.component
def Controls(base: Scenario, edits: dict[str, Any], edit) -> None:
    """The preset's controls, one card per group."""
    groups: dict[str, list[edits_mod.Control]] = {}
    for c in edits_mod.controls(base):
        groups.setdefault(c.group, []).append(c)
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        for group, items in groups.items():
            with solara.Card(group, style={"min-width": "260px", "max-width": "460px"}):
                for c in items:
                    Field(c, edits.get(c.path, c.value), edit)


@solara.component
def Field(c: edits_mod.Control, value: Any, edit) -> None:
    """One control: a checkbox for a switch, else text checked when it is applied."""
    label = c.label
    if c.group in edits_mod.ARRAYS and c.kind != "bool":  # "school_ban from"
        label = f"{c.path.split('.')[1]} {c.label}"
    if c.kind == "bool":
        solara.Checkbox(label=label, value=bool(value), on_value=lambda v: edit(c.path, v))
    else:
        solara.InputText(label, value=str(value), on_value=lambda v: edit(c.path, v),
                         classes=[f"pan-field-{c.path.replace('.', '-')}"])


@solara.component
def JobPanel(job: Job | None, on_done) -> None:
    """The run under way: progress, cancel, and its end."""
    _, set_tick = solara.use_state(0.0)

    def follow(cancel: threading.Event) -> None:
        while job is not None and job.running and not cancel.is_set():
            job.ended.wait(PROGRESS_EVERY)
            set_tick(time.monotonic())

    solara.use_thread(follow, dependencies=[job], intrusive_cancel=False)
    state = job.state if job is not None else None

    def finished() -> None:
        if job is not None and state == "done":
            on_done(job.name)

    solara.use_effect(finished, [job, state])
    if job is None:
        return
    if job.running:
        with solara.Row(style={"align-items": "center"}):
            solara.Text(f"running {job.name}: {job.done:,} of {job.total:,} days",
                        classes=["pan-progress-text"])
            solara.Button("Cancel", on_click=RUNNER.cancel, color="error",
                          classes=["pan-cancel"])
        solara.ProgressLinear(100 * job.done / max(job.total, 1))
    elif job.state == "cancelled":
        solara.Warning(f"{job.name} cancelled after {job.done:,} of {job.total:,} days; "
                       "nothing was written", classes=["pan-cancelled"])
    elif job.state == "failed":
        solara.Error(f"{job.name} failed: {job.error}")


@solara.component
def ResultsView(name: str | None) -> None:
    """What the run did: its key figures at once, then the report's sections and a sampled
    life, each drawn in the background and shown when ready."""
    def read() -> tuple[views.Run | None, Path | None, str | None]:
        if name is None:
            return None, None, "No run shown yet: run a scheme, or open a run folder."
        try:
            folder = FOLDERS.path(name)
            return views.load(folder), folder, None
        except READ_ERRORS as e:
            return None, None, str(e)

    run, folder, problem = solara.use_memo(read, [name])
    if run is None:
        (solara.Info if name is None else solara.Error)(problem)
        return
    solara.Markdown(f"### {name}")
    solara.Text(views.header(run), classes=["pan-header"])
    solara.Markdown("#### Key figures of the audit")
    solara.HTML(unsafe_innerHTML=views.key_figures(run), classes=["pan-html", "pan-key"])
    Sections(folder)
    Life(folder)


def ready(result: solara.Result, doing: str) -> bool:
    """Whether a background reading is in; if not, a line saying it is under way, or why
    it failed."""
    if result.state == solara.ResultState.FINISHED:
        return True
    if result.state == solara.ResultState.ERROR:
        if not isinstance(result.error, READ_ERRORS):
            raise result.error
        solara.Error(str(result.error))
    else:
        solara.Text(f"{doing} ...", classes=["pan-waiting"], style={"color": "#4a545e"})
        solara.ProgressLinear(True)
    return False


@solara.component
def Sections(folder: Path) -> None:
    """The report's sections, in reading order."""
    result = solara.use_thread(lambda: views.figures(folder), dependencies=[folder],
                               intrusive_cancel=False)
    if not ready(result, "drawing the figures"):
        return
    for f in result.value:
        solara.Markdown(f"#### {f.title}")
        solara.Text(f.caption, style={"color": "#4a545e"})
        if f.plot is not None:
            PlotlyFigure.element(figure=f.plot, _dom_classes=["pan-plot", f"pan-plot-{f.key}"])
        if f.html:
            solara.HTML(unsafe_innerHTML=f.html, classes=["pan-html", f"pan-{f.key}"])


@solara.component
def Life(folder: Path) -> None:
    """A sampled life, the story's default or the citizen typed."""
    citizen, set_citizen = solara.use_state("")
    solara.Markdown("#### A sampled life")
    solara.InputText("citizen id (empty: a life with a wrongful sanction)", value=citizen,
                     on_value=set_citizen, classes=["pan-citizen"])
    try:
        who = int(citizen) if citizen.strip() else None
    except ValueError:
        solara.Error(f"citizen: {citizen!r} is not a whole number")
        return
    Story(folder, who)


@solara.component
def Story(folder: Path, citizen: int | None) -> None:
    """One life as ``panopticon story`` tells it."""
    result = solara.use_thread(lambda: views.life(folder, citizen),
                               dependencies=[folder, citizen], intrusive_cancel=False)
    if ready(result, "telling a life"):
        solara.HTML(unsafe_innerHTML=result.value, classes=["pan-life"])


@solara.component
def CompareView() -> None:
    """Two run folders side by side, the difference of each figure."""
    names = FOLDERS.runs()
    first, set_first = solara.use_state(names[1] if len(names) > 1 else None)
    other, set_other = solara.use_state(names[0] if names else None)
    solara.Markdown("Two runs of one seed share their random numbers: the difference is the "
                    "policy's, not chance.")
    with solara.Row():
        solara.Select("baseline", values=names, value=first, on_value=set_first,
                      classes=["pan-first"])
        solara.Select("against", values=names, value=other, on_value=set_other,
                      classes=["pan-other"])
    if first is None or other is None:
        solara.Info("Pick two run folders.")
        return
    try:
        paths = FOLDERS.path(first), FOLDERS.path(other)
        table, warnings = views.comparison(*paths)
        audit = views.audit_comparison(*paths)
    except READ_ERRORS as e:
        solara.Error(str(e))
        return
    for w in warnings:
        solara.Warning(w)
    solara.Markdown("#### The audit, side by side")
    solara.HTML(unsafe_innerHTML=audit, classes=["pan-html", "pan-compare-audit"])
    solara.Markdown("#### The series both runs count, on their last common date or summed")
    solara.HTML(unsafe_innerHTML=table, classes=["pan-html", "pan-compare"])


@solara.component
def OpenView(on_open) -> None:
    """Every run folder under the runs folder, newest first."""
    names = FOLDERS.runs()
    solara.Markdown(f"Run folders in `{FOLDERS.root}`:")
    if not names:
        solara.Info("none yet")
    for name in names:
        solara.Button(name, on_click=lambda n=name: on_open(n), text=True,
                      classes=["pan-open"])
