"""Plotly figures on the page: plotly.js fetched once per page, each figure sent as its JSON.

Plotly's own FigureWidget sends its 5 MB script bundle with every figure, over the page's
websocket, and validates each figure again in Python: four figures cost about 20 MB and 15 s
after a run. Here the server serves plotly's own plotly.min.js as a static file (the browser
loads and caches it once), and a small widget draws each figure from its JSON, as wide as its
place on the page (redrawn when that changes). The page fetches plotly.js as it opens
(``fetch_plotly``), so that the first results do not wait for it.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import plotly
import traitlets

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# the page's address of PLOTLY_JS: Solara serves its asset folders under /static/assets/
PLOTLY_JS_URL = f"/static/assets/{PLOTLY_JS.name}?v={plotly.__version__}"

DRAW = """
function plotlyJs(src) {
  window.panopticonPlotly ??= new Promise((resolve, reject) => {
    if (window.Plotly) return resolve(window.Plotly);
    const script = Object.assign(document.createElement("script"), {src});
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error(`plotly.js did not load from ${src}`));
    document.head.appendChild(script);
  });
  return window.panopticonPlotly;
}

export default {
  async render({ model, el }) {
    el.style.width = "100%";
    const Plotly = await plotlyJs(model.get("src"));
    if (!model.get("figure")) return;  // no figure: plotly.js fetched ahead of the results
    let drawn = false;
    const draw = () => {
      const fig = JSON.parse(model.get("figure"));
      Plotly.react(el, fig.data, fig.layout, {displaylogo: false});
      drawn = true;
    };
    // drawn once the page has laid el out (before, plotly takes its default width), then
    // redrawn to el's width whenever it changes
    const follow = new ResizeObserver(() => {
      if (el.clientWidth) drawn ? Plotly.Plots.resize(el) : draw();
    });
    follow.observe(el);
    model.on("change:figure", draw);
    return () => { follow.disconnect(); model.off("change:figure", draw); Plotly.purge(el); };
  }
};
"""


class PlotlyFigure(anywidget.AnyWidget):
    """One plotly figure, given as plotly's JSON (``fig.to_json()``); without one, it only
    fetches plotly.js."""

    _esm = DRAW
    figure = traitlets.Unicode("").tag(sync=True)
    src = traitlets.Unicode(PLOTLY_JS_URL).tag(sync=True)


def fetch_plotly() -> None:
    """An empty figure on the page, which starts fetching plotly.js before any run ends."""
    PlotlyFigure.element()
