"""Serve the dashboard's page (``panopticon serve``) with Solara's server under uvicorn."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

LOCAL = ("127.0.0.1", "localhost", "::1")
RUNS_ENV = "PANOPTICON_RUNS"  # the runs folder, for the page's module to read as it loads


def is_local(host: str) -> bool:
    return host in LOCAL


class MissingExtra(ImportError):
    """The dashboard's packages are not installed."""


def check_installed() -> None:
    """Raise MissingExtra, saying what to install, where Solara is absent."""
    for module in ("solara", "solara_assets", "anywidget"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(f"the dashboard needs {module}: pip install "
                               "'panopticon[dashboard]'")


def serve(runs: Path, host: str, port: int) -> None:
    """Serve until interrupted; the page reads and writes run folders in ``runs`` only."""
    import uvicorn
    from solara.server import settings

    from ..language import scenario as scenario_mod
    from .jobs import warm_up
    from .plots import PLOTLY_JS

    warm_up(scenario_mod.load(scenario_mod.PRESETS[0]))  # the preset the page opens with
    settings.assets.extra_locations.append(str(PLOTLY_JS.parent))  # plotly.js, for the figures
    os.environ[RUNS_ENV] = str(Path(runs).resolve())
    os.environ["SOLARA_APP"] = "panopticon.dashboard.app"
    # the page's scripts come from the solara-assets package, nothing is sent to Solara's makers
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning")
