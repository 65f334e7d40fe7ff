"""The published record, and which model series each published figure is to be compared with.

Figures come from ``data/calibration_targets.csv`` (each row names its source and what it counts).
The model reports attempts and people separately: the seed article's "23 million" is plane plus
train purchase attempts blocked since 2013, not 23 million people.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# metric of calibration_targets.csv -> (timeseries column, how to read it on a date)
CUMULATIVE, STOCK, ANNUAL = "cumulative", "stock", "annual"
SERIES: dict[str, tuple[str, str]] = {
    "judgment_defaulters_listed": ("judgment_defaulters_listed", CUMULATIVE),
    "judgment_defaulter_listings": ("judgment_defaulter_listings", CUMULATIVE),
    "flight_purchases_blocked": ("flight_purchases_blocked", CUMULATIVE),
    "train_purchases_blocked": ("train_purchases_blocked", CUMULATIVE),
    "exit_bans_unpaid_taxes": ("exit_ban_stock", STOCK),
    "management_role_bans": ("management_ban_stock", STOCK),
    "paid_under_pressure": ("paid_under_pressure", CUMULATIVE),
    "new_blacklist_entries_2018": ("new_blacklist_entries", ANNUAL),
    "blacklist_exits_2018": ("delisted", ANNUAL),
    "new_judgment_defaulters_2018": ("new_listings", ANNUAL),
    "severe_misconduct_travel_list_2018": ("misconduct_listed", ANNUAL),
    "mobile_payment_users": ("payment_users", STOCK),
    "internet_users": ("internet_users", STOCK),
    "cctv_cameras": ("cctv_cameras", STOCK),
}
# cumulative columns added to the timeseries: name -> daily counter it sums. The counters of
# attempts and sanctions are named after china-2018's catalog (docs/scenarios.md): a scheme
# that has no plane_ticket has no flight_purchases_blocked.
CUMULATIVE_COLUMNS: dict[str, str] = {
    "judgment_defaulters_listed": "new_listed_people",
    "judgment_defaulter_listings": "new_listings",
    "flight_purchases_blocked": "plane_ticket_blocked",
    "train_purchases_blocked": "train_ticket_blocked",
    "flight_people_blocked": "plane_ticket_blocked_people",
    "train_people_blocked": "train_ticket_blocked_people",
    "paid_under_pressure": "paid_after_listing",
    "children_barred": "school_ban_people",
}


@dataclass(frozen=True)
class Target:
    date: dt.date
    metric: str
    value: float
    kind: str
    source: str
    note: str


def targets_text(path: Path | None = None) -> str:
    """A targets file's text: ``path``, or the packaged calibration_targets.csv."""
    if path is not None:
        return Path(path).read_text("utf-8")
    return resources.files("panopticon.data").joinpath("calibration_targets.csv").read_text("utf-8")


def load_targets(path: Path | None = None) -> list[Target]:
    """The targets of ``path`` (columns as calibration_targets.csv), by default the packaged
    ones."""
    text = targets_text(path)
    return [
        Target(dt.date.fromisoformat(r["date"]), r["metric"], float(r["value"]), r["kind"],
               r["source"], r["note"])
        for r in csv.DictReader(text.splitlines())
    ]
