"""The dashboard as a person uses it, in headless Chromium: a second run refused while one goes,
cancel; pick a preset, switch the school ban off, run, see children barred fall to zero; open a
run folder; compare the two policies; download the edited scenario and load it back. Screenshots
of the main views and the measured times go to a temporary folder, or to docs/dashboard/ with
`make screenshots` (PANOPTICON_SCREENSHOTS), so that a test run leaves the working tree as it was.

Skipped where Chromium (Debian's package) or Playwright is absent; CI installs both.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from panopticon.language import scenario as scenario_mod

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium installed")
SCREENSHOTS = "PANOPTICON_SCREENSHOTS"  # a folder for the screenshots (docs/dashboard)
RUN_TIMEOUT_MS = 300_000
LONG_RUN_CITIZENS = 2_000_000  # a run that cancel meets while it goes, on any machine
PLOTS = ("timeline", "funnel", "causes", "map", "provinces")  # china-2018's plotly figures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """`panopticon serve` on a free port, its runs folder empty."""
    runs = tmp_path_factory.mktemp("runs")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent.parent / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "panopticon", "serve", "--runs", str(runs),
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.25)
    yield url, runs
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(120_000)  # a loaded machine (a test suite beside) is slow
        yield page
        browser.close()


def open_page(page, url: str) -> float:
    """Load the page; the seconds until its controls are shown."""
    began = time.perf_counter()
    page.goto(url)
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=120_000)
    return time.perf_counter() - began


def run_and_wait(page) -> tuple[float, float]:
    """Click run; the seconds until the results view shows its key figures, and until its
    figures are drawn."""
    page.locator(".pan-key").wait_for(state="detached", timeout=5_000) if page.locator(
        ".pan-key").count() else None
    began = time.perf_counter()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".pan-key").wait_for(timeout=RUN_TIMEOUT_MS)
    key = time.perf_counter() - began
    figures_drawn(page)
    return key, time.perf_counter() - began


def figures_drawn(page) -> None:
    """Wait for each plotly figure of the results to be drawn (by plotly.js, which the server
    serves), and check that each is as wide as the page's column."""
    for key in PLOTS:
        page.locator(f".pan-plot-{key} .main-svg").first.wait_for(timeout=60_000)
    column = page.locator(".pan-key").bounding_box()["width"]
    for key in PLOTS:
        drawn = page.locator(f".pan-plot-{key} .main-svg").first
        page.wait_for_function("([svg, width]) => Math.abs(svg.getBoundingClientRect().width - "
                               "width) < 2", arg=[drawn.element_handle(), column], timeout=10_000)


def set_field(field, text: str) -> None:
    """Type ``text`` into a control's input and confirm it, as a person does."""
    field.fill(text)
    field.press("Enter")


def key_figure(page, metric: str) -> str:
    return page.locator(f".pan-key tr:has(td:text-is('{metric}')) td").nth(2).inner_text()


def view(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def test_change_run_compare_open_download(server, page, tmp_path: Path) -> None:
    url, runs = server
    load_seconds = open_page(page, url)
    docs = Path(os.environ.get(SCREENSHOTS) or tmp_path / "screenshots")
    docs.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=docs / "scheme.png")

    # an invalid value is refused in one line, and the run with it
    field = page.locator(".pan-field-sensing-content_review-comment-precision input")
    set_field(field, "1.5")
    error = page.locator(".pan-error")
    error.wait_for()
    assert "sensing.content_review.comment.precision" in error.inner_text()
    assert "\n" not in error.inner_text().strip()
    assert page.get_by_role("button", name="Run", exact=True).is_disabled()
    set_field(field, "0.7")
    error.wait_for(state="detached")

    # a second run while one is going is refused in a line; cancel leaves nothing written. The
    # run is made long (the page's own run of 20,000 citizens may end before the clicks), then
    # the page's size is put back
    size = page.locator(".pan-field-population-size input")
    default_size = size.input_value()
    set_field(size, str(LONG_RUN_CITIZENS))
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(".pan-progress-text").wait_for(timeout=60_000)
    page.get_by_role("button", name="Run", exact=True).click()
    busy = page.locator(".pan-busy")
    busy.wait_for()
    assert "a run is going" in busy.inner_text()
    page.get_by_role("button", name="Cancel", exact=True).click()
    page.locator(".pan-cancelled").wait_for(timeout=60_000)
    assert "nothing was written" in page.locator(".pan-cancelled").inner_text()
    assert not list(runs.iterdir())
    set_field(size, default_size)

    # the preset as it is: children are barred for their parents' listing
    with_ban = run_and_wait(page)
    page.screenshot(path=docs / "results.png")
    for section, shot in (("funnel", "funnel"), ("audit", "audit"), ("plot-map", "map")):
        page.locator(f".pan-{section}").scroll_into_view_if_needed()
        page.screenshot(path=docs / f"{shot}.png")
    assert key_figure(page, "children_barred") != "0"
    first = sorted(p.name for p in runs.iterdir())
    assert len(first) == 1

    # the school ban off: nobody's child is barred
    view(page, "Change and run")
    page.get_by_text("school_ban", exact=True).click()  # the checkbox's label, as a person
    assert not page.get_by_role("checkbox", name="school_ban").is_checked()
    without_ban = run_and_wait(page)
    assert key_figure(page, "children_barred") == "0"
    names = sorted(p.name for p in runs.iterdir())
    assert len(names) == 2

    # the edited scenario downloads as TOML that loads again, the ban gone
    view(page, "Change and run")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download scenario TOML").click()
    toml = tmp_path / "edited.toml"
    download.value.save_as(toml)
    loaded = scenario_mod.load(toml)
    assert "school_ban" not in [s.name for s in loaded.sanctions]
    assert loaded.population.size == 20_000

    # compare: the newest run against the first, same seed
    view(page, "Compare two runs")
    table = page.locator(".pan-compare-audit")
    table.wait_for()
    page.screenshot(path=docs / "compare.png")
    row = table.locator("tr:has(td:text-is('children_barred')) td")
    assert row.nth(1).inner_text() != "0"
    assert row.nth(2).inner_text() == "0"
    assert row.nth(3).inner_text().startswith("-")
    assert page.locator(".pan-compare").count() == 1

    # open the first run folder again
    view(page, "Open a run folder")
    page.screenshot(path=docs / "open.png")
    page.get_by_role("button", name=first[0]).click()
    page.locator(".pan-key").wait_for()
    assert key_figure(page, "children_barred") != "0"
    figures_drawn(page)
    (docs / "timings.json").write_text(json.dumps(
        {"page_load_s": round(load_seconds, 2),
         "run_to_key_figures_s": [round(with_ban[0], 1), round(without_ban[0], 1)],
         "run_to_figures_s": [round(with_ban[1], 1), round(without_ban[1], 1)]},
        indent=1) + "\n")
