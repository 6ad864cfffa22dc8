"""The monitor page in headless Chromium: it renders without console errors or network
requests, shows the records' numbers, filters, searches and compares, and keeps hostile
text inert. Skipped, with the reason, only where Chromium cannot be installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.monitor import browser
from tests.monitor.conftest import (
    HOSTILE,
    HOSTILE_MODULE,
    History,
    recorded_runs,
    run_cli,
    total_cost,
    verifier_numbers,
    with_hostile_note,
)

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))

SCREENSHOT = "monitor-screenshot.png"


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with browser.browser() as handle:
        yield handle


@pytest.fixture(scope="module")
def site(history: History, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("monitor-site")
    code, output, err = run_cli(history.root, "monitor", "--out", str(out))
    assert code == 0, output + err
    return out / "index.html"


def visible_rows(visit: browser.Visit, table: str) -> int:
    rows = f"[...document.querySelectorAll('#{table} tbody tr')]"
    return int(visit.js(f"return {rows}.filter(r => !r.hidden).length"))


def test_renders_without_console_errors_or_requests_and_saves_a_screenshot(
    driver: Any, site: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    visit = browser.open_page(driver, site)
    height = visit.js("return document.body.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 120, 8000))
    shot = tmp_path_factory.getbasetemp() / SCREENSHOT
    driver.save_screenshot(str(shot))
    visit.collect()
    assert visit.console == []
    assert visit.requests == [site.resolve().as_uri()]  # the page itself, nothing else
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    charts = visit.js("return document.querySelectorAll('#runs figure svg rect').length")
    assert charts >= 4 * 4 - 2  # a bar per run in each chart (none for a zero value)


def test_the_numbers_shown_are_the_records_numbers(
    driver: Any, site: Path, history: History
) -> None:
    visit = browser.open_page(driver, site)
    runs = recorded_runs(history.root)
    text = lambda selector: visit.js(f"return document.querySelector({selector!r}).textContent")  # noqa: E731
    assert text("#total-runs") == str(len(runs))
    assert text("#total-cost") == total_cost(runs)
    shown = visit.js(
        "const out = {};"
        "document.querySelectorAll('#verifiers-table tbody tr').forEach(r => {"
        " out[r.dataset.verifier] = {verdicts: r.querySelector('.verdicts').textContent,"
        " fails: r.querySelector('.fails').textContent,"
        " 'fail-rate': r.querySelector('.fail-rate').textContent}; });"
        "return out;"
    )
    assert shown == verifier_numbers(runs)
    calls = visit.js(
        "return [...document.querySelectorAll('#models-table tbody tr .calls')]"
        ".reduce((n, c) => n + Number(c.textContent), 0)"
    )
    assert calls == sum(len(r["calls"]) for r in runs.values())


def test_filters_search_and_two_runs_side_by_side(
    driver: Any, site: Path, history: History
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    visit = browser.open_page(driver, site)
    runs = recorded_runs(history.root)
    failing = [r for r in runs.values() if any(m["status"] == "failed" for m in r["modules"])]
    Select(driver.find_element(By.ID, "outcome")).select_by_value("failures")
    assert visible_rows(visit, "runs-table") == len(failing) == 1
    assert visible_rows(visit, "modules-table") == 1  # receipt: the one that failed
    Select(driver.find_element(By.ID, "outcome")).select_by_value("all")
    driver.find_element(By.ID, "search").send_keys("money")
    assert visible_rows(visit, "modules-table") == 1
    assert visible_rows(visit, "runs-table") == 0  # no regen run touched money
    assert "0 of 4 shown" in driver.find_element(By.ID, "runs-shown").text

    # the failed receipt run, then the passing one (found by what they did: two runs may
    # start within the same second, the resolution of started_at)
    (a,) = failing
    (b,) = [r for r in runs.values() if [m["module"] for m in r["modules"]] == ["billing.receipt"]
            and r["modules"][0]["status"] == "passed"]  # fmt: skip
    Select(driver.find_element(By.ID, "compare-a")).select_by_value(a["run_id"])
    Select(driver.find_element(By.ID, "compare-b")).select_by_value(b["run_id"])
    rows = visit.js(
        "return [...document.querySelectorAll('#compare-table tbody tr')].map(r =>"
        " [r.children[0].textContent, r.children[1].textContent, r.children[2].textContent,"
        " r.className])"
    )
    table = {label: (left, right, css) for label, left, right, css in rows}
    cost = lambda r: f"${sum(c['cost_usd'] for c in r['calls']):,.4f}"  # noqa: E731
    assert table["cost"] == (cost(a), cost(b), "changed")
    left, right, css = table["module billing.receipt"]
    assert left.startswith("failed, 3 attempt(s)") and right.startswith("passed, 1 attempt(s)")
    assert css == "changed"
    assert table["verdicts of demo-reviewer-a"][0] == "0 pass, 3 fail, 0 error"
    visit.collect()
    assert visit.console == []


def test_hostile_records_render_inert(driver: Any, history: History, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    repo = with_hostile_note(history, tmp_path / "repo")
    code, out, err = run_cli(repo, "monitor", "--out", str(tmp_path / "site"))
    assert code == 0, out + err
    visit = browser.open_page(driver, tmp_path / "site" / "index.html")
    visit.js("document.querySelectorAll('details').forEach(d => d.open = true)")
    Select(driver.find_element(By.ID, "compare-a")).select_by_value(HOSTILE_MODULE)
    driver.find_element(By.ID, "search").send_keys("evil")
    links = visit.js(
        "return [...document.querySelectorAll('a')]"
        ".map(a => new URL(a.getAttribute('href'), document.baseURI).href)"
    )
    assert links and all(link.startswith("file:///") for link in links), links
    visit.collect()
    assert visit.js("return window.pwned") is None
    assert visit.js("return document.scripts.length") == 2
    assert visit.js("return document.images.length") == 0
    assert visit.js("return document.querySelectorAll('[href^=\"javascript\" i]').length") == 0
    body = visit.js("return document.body.innerText")
    assert HOSTILE_MODULE in body and "<script>window.pwned=1</script>" in body
    assert visit.js("return document.querySelector('#compare-table').textContent").count(HOSTILE)
    assert visit.console == []
    assert all(url.startswith(("file:", "data:")) for url in visit.requests)
