"""The runs folder the dashboard serves: names typed or picked on the page become paths only here.

A name is one folder name of letters, digits, '.', '_' or '-' (no separator, no '..'); its path
is resolved (links followed) and must still lie inside the runs folder, so that nothing a user
types reads or writes a file elsewhere.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ..readers.outfolder import RUN_MARKERS

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class FolderError(ValueError):
    """A run folder name the dashboard refuses; one line saying why."""


class RunsFolder:
    """The folder of run folders (``panopticon serve --runs``)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def path(self, name: str) -> Path:
        """The run folder ``name`` inside the runs folder, or a FolderError."""
        if not isinstance(name, str) or not NAME.match(name) or ".." in name:
            raise FolderError(f"run folder: {name!r} is not a folder name (letters, digits, "
                              "'.', '_' or '-', the first a letter or digit)")
        path = (self.root / name).resolve()
        if path.parent != self.root:
            raise FolderError(f"run folder: {name!r} leads outside the runs folder {self.root}")
        return path

    def runs(self) -> list[str]:
        """The run folders it holds (those with a run's files), newest first."""
        if not self.root.is_dir():
            return []
        found = [p for p in self.root.iterdir() if NAME.match(p.name) and p.is_dir()
                 and all((p / m).exists() for m in RUN_MARKERS) and self._inside(p)]
        return [p.name for p in sorted(found, key=lambda p: (-p.stat().st_mtime, p.name))]

    def _inside(self, path: Path) -> bool:
        return path.resolve().parent == self.root

    def new_name(self, scenario: str, now: dt.datetime | None = None) -> str:
        """A fresh folder name for a dashboard run of ``scenario``: its name and the time."""
        stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        base = f"{scenario}-dashboard-{stamp}"
        name, n = base, 1
        while (self.root / name).exists():
            n += 1
            name = f"{base}-{n}"
        return name
