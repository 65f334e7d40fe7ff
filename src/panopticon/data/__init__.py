"""Package data: the census table, the published figures, the documented schemes (SOURCES.md)."""

from __future__ import annotations

import csv
from importlib import resources


def read_csv(name: str) -> list[dict[str, str]]:
    """The rows of one of the package's CSV files."""
    text = resources.files(__name__).joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))
