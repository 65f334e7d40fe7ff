"""The tutorial (docs/schemes.md): its file is the pieces the page shows, its mistakes give the
lines the page prints, and the scheme runs and does what the page says."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.scenario import load
from panopticon.readers import report

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "schemes.md"
FILE = ROOT / "docs" / "schemes" / "volunteer-city.toml"
VARIANT = 'extends = "volunteer-city.toml"'
runner = CliRunner()


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text("utf-8"), re.S)


def test_the_file_is_the_pages_pieces_in_their_order():
    text, at = FILE.read_text("utf-8"), 0
    pieces = [b for b in blocks("toml") if VARIANT not in b]
    assert len(pieces) >= 10
    for piece in pieces:
        found = text.find(piece, at)
        assert found >= at, piece
        at = found + len(piece)


MISTAKES = [  # what the page's "When something is wrong" did to the file, in its order
    ('lists = ["parking_blacklist"]', 'lists = ["honour_list"]'),
    ('{ record = "volunteering", count = 3', '{ record = "volunteer", count = 3'),
    ("exit = [{ after_days = 365 }, { score_above = 1000 }]\n", ""),
    ("start = 2018-01-01\n", "start = 2018-01-01\nend = 2017-06-30\n"),
]


def test_each_mistake_gives_the_line_the_page_prints(tmp_path, monkeypatch):
    printed = blocks("text")[-1].strip().splitlines()
    monkeypatch.chdir(tmp_path)
    for (old, new), line in zip(MISTAKES, printed, strict=True):
        text = FILE.read_text("utf-8")
        assert old in text
        Path("volunteer-city.toml").write_text(text.replace(old, new, 1), "utf-8")
        result = runner.invoke(app, ["show", "volunteer-city.toml"])
        assert result.exit_code == 2
        assert result.output.strip() == line


def test_the_census_has_no_scheme_and_the_city_has_its_own():
    city = load(str(FILE))
    assert list(city.acts) == ["volunteering", "unpaid_parking", "loan_application", "bus_ticket"]
    assert [g.name for g in city.scoring.grades] == ["A", "B", "C", "D"]
    assert city.scoring.restore_rate == 0 and city.scoring.expires_days == {
        "volunteering": 730, "unpaid_parking": 730}
    assert city.population.size == 20_000 and city.population.regions == ["370000"]


def test_the_variant_removes_the_sanction_alone(tmp_path):
    (tmp_path / "volunteer-city.toml").write_text(FILE.read_text("utf-8"), "utf-8")
    variant = next(b for b in blocks("toml") if VARIANT in b)
    (tmp_path / "no-ban.toml").write_text(variant, "utf-8")
    sc = load(str(tmp_path / "no-ban.toml"))
    assert sc.sanctions == [] and [r.name for r in sc.rewards] == ["bus_discount"]
    assert set(sc.lists) == {"honour_list", "parking_blacklist"}


@pytest.fixture(scope="module")
def city_run(tmp_path_factory):
    """The tutorial's city at 40,000 citizens: enough that its rare wrongful listings (a few
    per 10,000 citizens over the years) are seen whatever the draws."""
    out = tmp_path_factory.mktemp("tutorial") / "city"
    result = runner.invoke(app, ["run", str(FILE), "--population", "40000", "--end",
                                 "2018-12-31", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, pd.read_parquet(out / "timeseries.parquet")


def yearly(data: pd.DataFrame, name: str) -> dict[int, float]:
    return data.groupby(pd.to_datetime(data["date"]).dt.year)[name].sum().to_dict()


def test_the_city_runs_and_its_rules_show_in_the_counters(city_run):
    _, data = city_run
    assert set(yearly(data, "parking_blacklist_entries")) == {2014, 2015, 2016, 2017, 2018}
    entries = yearly(data, "parking_blacklist_entries")
    assert entries[2014] == entries[2015] == 0 < entries[2016]  # the wardens start in 2016
    refused = yearly(data, "loan_application_blocked")
    assert refused[2017] == 0 < refused[2018]  # the banks ask from 2018
    assert sum(yearly(data, "honour_list_entries").values()) > 0
    assert sum(yearly(data, "bus_discount_granted").values()) > 0
    lapsed = yearly(data, "records_lapsed")
    assert lapsed[2014] == lapsed[2015] == 0 < lapsed[2016]  # two years after the first
    stock, wrong = data["parking_blacklist_stock"], data["parking_blacklist_wrongful_stock"]
    assert (wrong <= stock).all() and stock.max() > 0


def test_the_report_shows_the_citys_lists_sanction_and_reward(city_run):
    out, _ = city_run
    html = (out / "report.html").read_text("utf-8")
    for name in ("honour_list", "parking_blacklist", "no_bank_loans", "bus_discount",
                 "the city&#x27;s honour list", "2018-01-01"):
        assert name in html, name
    assert dt.date(2018, 12, 31).isoformat() in html


def test_the_funnel_follows_the_citys_acts_and_blacklist(city_run):
    out, data = city_run
    steps = {s.name: s for s in report.funnel(report.load_run(out))}
    assert steps["Listed"].total == data["parking_blacklist_entries"].sum() > 0  # no court here
    # the wardens' false fines put some on the blacklist whom their true record would not
    assert steps["Listed"].wrongful == data["parking_blacklist_wrongful_entries"].sum() > 0
    assert "unpaid parking" in steps["Acts"].note and "late bills" not in steps["Acts"].note
    assert "parking blacklist" in steps["Listed"].note
    assert "parking_wardens" in steps["Observed"].note
