"""The provinces on a map: one square tile per province, placed as the provinces lie (north at
the top), coloured by the rate picked in the menu.

A tile map needs no borders to draw (the package holds none) and gives every province the same
size, so Beijing reads as well as Xinjiang; the ranking beside it gives the order.
"""

from __future__ import annotations

from ..readers import report
from ..readers.report import Run

# province code (data/china_provinces_2020.csv) -> (row, column) of its tile, roughly as the
# provinces lie: Heilongjiang in the north-east corner, Hainan at the southern tip
TILES: dict[str, tuple[int, int]] = {
    "230000": (0, 6),
    "150000": (1, 4), "220000": (1, 6),
    "650000": (2, 0), "620000": (2, 2), "640000": (2, 3), "110000": (2, 4), "120000": (2, 5),
    "210000": (2, 6),
    "540000": (3, 0), "630000": (3, 1), "610000": (3, 2), "140000": (3, 3), "130000": (3, 4),
    "370000": (3, 5),
    "510000": (4, 1), "500000": (4, 2), "410000": (4, 3), "340000": (4, 4), "320000": (4, 5),
    "310000": (4, 6),
    "530000": (5, 1), "520000": (5, 2), "420000": (5, 3), "360000": (5, 4), "330000": (5, 5),
    "450000": (6, 2), "430000": (6, 3), "440000": (6, 4), "350000": (6, 5),
    "460000": (7, 3),
}
ROWS = 1 + max(r for r, _ in TILES.values())
COLUMNS = 1 + max(c for _, c in TILES.values())
TILE_PX = 64  # a tile's height on the page


def tile_grid(codes: dict[str, str], values: dict[str, float]) -> tuple[list, list]:
    """The rates (by province name) laid on the tiles: a grid of values (None where no province
    of the run lies) and one of labels."""
    z = [[None] * COLUMNS for _ in range(ROWS)]
    text = [[""] * COLUMNS for _ in range(ROWS)]
    for name, value in values.items():
        row, column = TILES[codes[name]]
        z[row][column] = float(value)
        text[row][column] = f"{name}<br>{value:,.0f}"
    return z, text


def map_figure(run: Run):
    """The provinces as tiles coloured by one rate per 100,000, picked from a menu."""
    import plotly.graph_objects as go

    regions = run.regions
    codes = dict(zip(regions.column("region").to_pylist(),
                     regions.column("region_code").to_pylist()))
    titles = {column: f"{what}, per 100,000"
              for column, what, _, _ in report.province_columns(run.scenario)}
    grids = {column: tile_grid(codes, dict(zip(names, rates)))
             for column, (names, rates) in report.province_rates(run).items()}
    first = next(iter(grids))
    fig = go.Figure(go.Heatmap(
        z=grids[first][0], text=grids[first][1], texttemplate="%{text}", textfont_size=10,
        colorscale="Reds", xgap=3, ygap=3, hoverongaps=False,
        hovertemplate="%{text}<extra></extra>", colorbar={"title": {"text": "per 100,000"}}))
    buttons = [{"label": titles[c].split(",")[0], "method": "restyle",
                "args": [{"z": [z], "text": [text]}]} for c, (z, text) in grids.items()]
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    fig.update_layout(
        height=TILE_PX * ROWS + 120, template="plotly_white",
        margin={"t": 70, "l": 20, "r": 20, "b": 20},
        xaxis={**hidden, "constrain": "domain"},
        yaxis={**hidden, "autorange": "reversed", "scaleanchor": "x"},
        updatemenus=[{"buttons": buttons, "x": 0, "xanchor": "left", "y": 1.0,
                      "yanchor": "bottom", "pad": {"b": 10}}])
    return fig
