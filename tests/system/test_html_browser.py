"""The HTML report in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

Checks what a person would: the charts draw data and name their series, nothing is fetched, nothing
logs an error, the customer table sorts on a click, and the page fits a laptop and a phone without
sideways scrolling. Skipped where Chromium is not installed, except in CI (CI=true), where .ci/run
installs it and a missing browser must fail.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

if not (CHROMIUM and DRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium and chromium-driver for the browser test: .ci/run installs them")
    pytest.skip(
        "chromium / chromedriver not installed (apt-get install chromium chromium-driver)", allow_module_level=True
    )

from selenium import webdriver  # noqa: E402  (a test dependency: pip install -e '.[test]')


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory):
    """The demo's own HTML report (margindash demo writes it), built once for the module."""
    from typer.testing import CliRunner

    from margindash_cli.cli import app

    home = tmp_path_factory.mktemp("home")
    env = {"MARGINDASH_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "160"}
    result = CliRunner().invoke(app, ["demo"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("HTML report: "))
    return Path(line.split("HTML report: ", 1)[1].split(" ")[0])


def load(driver, path: Path) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.get(path.as_uri())
    for _ in range(200):  # the script marks the page ready after drawing; a bound, not a timing assertion
        if driver.execute_script("return document.documentElement.getAttribute('data-ready')") == "1":
            return
        time.sleep(0.05)
    raise AssertionError("the page never finished drawing")


def drawn_pixels(driver, chart_id: str) -> int:
    """Pixels of the chart's canvas that are not blank (uPlot draws on one canvas per chart)."""
    return driver.execute_script(
        """
        const c = document.querySelector('#' + arguments[0] + ' canvas');
        if (!c) return -1;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
        return n;
        """,
        chart_id,
    )


def test_the_demo_report_draws_fetches_nothing_and_logs_no_error(browser, demo_page):
    load(browser, demo_page)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    assert urls and all(u == demo_page.as_uri() for u in urls), urls  # the file itself and nothing else
    for chart, series in (("chart-revenue-cost", {"revenue", "cost"}), ("chart-margin-pct", {"margin %"})):
        assert drawn_pixels(browser, chart) > 2000, chart
        labels = browser.execute_script(
            "return [...document.querySelectorAll('#' + arguments[0] + ' .u-legend .u-series .u-label')].map(e => e.textContent)",
            chart,
        )
        assert series <= set(labels), (chart, labels)


def test_hover_shows_exact_values(browser, demo_page):
    load(browser, demo_page)
    data = browser.execute_script("return window.margindash.data")
    u = "window.margindash.state.charts.revenueCost"
    browser.execute_script(f"{u}.setCursor({{left: {u}.valToPos({u}.data[0][3], 'x'), top: 10}})")
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#chart-revenue-cost .u-legend .u-series .u-value')].map(e => e.textContent)"
    )
    tl = data["timeline"]
    period = tl["periods"][3]["period"]
    row = next(r for r in tl["report"]["rows"] if r["group"][tl["granularity"]] == period)
    assert shown[0] == period
    assert shown[1].replace("$", "").replace(",", "") == row["revenue_usd"]
    assert shown[2].replace("$", "").replace(",", "") == row["cost_usd"]


def test_customer_table_has_the_reports_rows_and_sorts_on_click(browser, demo_page):
    from selenium.webdriver.common.by import By

    load(browser, demo_page)
    data = browser.execute_script("return window.margindash.data")

    def names():
        return [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#rows-main tbody tr td:first-child")]

    assert names() == [r["group"]["customer"] for r in data["report"]["rows"]]
    header = browser.find_element(By.XPATH, "//table[@id='rows-main']/thead/tr/th[normalize-space()='revenue']")
    by_revenue = sorted(data["report"]["rows"], key=lambda r: -float(r["revenue_usd"]))
    header.click()
    assert [float(r["revenue_usd"]) for r in by_revenue] == sorted(
        (float(r["revenue_usd"]) for r in by_revenue), reverse=True
    )
    shown = names()
    revenue_of = {r["group"]["customer"]: float(r["revenue_usd"]) for r in data["report"]["rows"]}
    assert [revenue_of[n] for n in shown] == sorted(revenue_of.values(), reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert [revenue_of[n] for n in names()] == sorted(revenue_of.values())
    assert header.get_attribute("aria-sort") == "ascending"


@pytest.mark.parametrize("width,height,mobile", [(1280, 800, False), (390, 844, True)])
def test_fits_a_laptop_and_a_phone_without_sideways_scrolling(browser, demo_page, width, height, mobile):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    try:
        load(browser, demo_page)
        scroll, inner = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, (scroll, inner)
        assert drawn_pixels(browser, "chart-revenue-cost") > 1000
        chart_w = browser.execute_script(
            "return document.querySelector('#chart-revenue-cost canvas').getBoundingClientRect().right"
        )
        assert chart_w <= inner
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
