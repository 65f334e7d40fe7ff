"""One simulated day as a table made from the stages' declarations, for docs/architecture.md.

``python -m panopticon.runner.contract docs/architecture.md`` (part of ``make reference``) writes
the table between its markers in the file; a test fails when the file's table is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..language.scenario import load
from ..observers.audit import Audit
from ..observers.cohort import Cohort
from ..observers.ranking import Ranking
from ..stages import STAGES
from ..world.state import POPULATION, POPULATION_ARRAYS
from ..world.today import Today

BEGIN = "<!-- day table: made by `make reference` from the stages' declarations -->"
END = "<!-- end of day table -->"
# observers: when each looks, in words
OBSERVERS = ((Cohort, "phase 1 (capture), end of day"), (Audit, "end of run"),
             (Ranking, "end of run"))


def owners() -> dict[str, str]:
    """Every declared array and buffer of today, and its owner."""
    out = dict.fromkeys(POPULATION_ARRAYS, POPULATION)
    out.update({name: stage.NAME for stage in STAGES for name in stage.OWNS})
    return out


def named(names: tuple[str, ...]) -> str:
    return ", ".join(f"{n} (today)" if n in Today.BUFFERS else n for n in names)


def by_owner(names: tuple[str, ...], owner: dict[str, str]) -> str:
    """Names grouped by their owners, in order of first appearance."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(owner[name], []).append(name)
    return "; ".join(f"{who}: {named(tuple(ns))}" for who, ns in groups.items())


def day_table() -> str:
    """The day's stages in order, then the observers: what each owns, reads and writes, and
    its counters in a run of china-2018 (a catalog names some of them)."""
    owner, china = owners(), load("china-2018")
    rows = ["| # | stage | runs in | owns | reads (owner: arrays) | writes into | counters |",
            "|---|---|---|---|---|---|---|"]
    for k, stage in enumerate(STAGES, 1):
        phases = ", ".join(f"phase {p} ({m})" for p, m in enumerate(stage.STEPS, 1) if m)
        writes = by_owner(stage.WRITES, owner) if stage.WRITES else ""
        rows.append(f"| {k} | {stage.NAME} | start_day{', ' + phases if phases else ''} | "
                    f"{named(stage.OWNS)} | {by_owner(stage.READS, owner)} | {writes} | "
                    f"{len(stage.counters(china))} |")
    for observer, when in OBSERVERS:
        rows.append(f"| | {observer.NAME} (observer) | {when} | | "
                    f"{by_owner(observer.READS, owner)} | | |")
    return "\n".join(rows)


def write(path: Path) -> None:
    """Replace the table between the markers of ``path``."""
    text = path.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{day_table()}\n{END}{tail}")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
