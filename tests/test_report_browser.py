"""`notebook html` in headless Chromium: its long tables sort and search with our inlined table script, the
recorded explorer is interactive by its own inlined script (filters narrow, a row opens its episodes), an
explorer saved from a live session keeps a static view that searches its cells, and the page's policy
refuses every other script (a hostile output's <script>, event handler and frame). Screenshots are kept
under test-artifacts/."""

from __future__ import annotations

import time

import pytest

from browser_support import artifact, chrome, missing_browser
from notebook_support import executed_like_notebook
from worldflux_nb.io.notebook_html import notebook_html

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    """The report of an executed-like notebook opened in Chromium; yields the driver."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("report")
    page = folder / "report.html"
    page.write_text(notebook_html(executed_like_notebook(folder / "executed.ipynb")), encoding="utf-8")
    driver = chrome()
    try:
        driver.get(page.as_uri())
        time.sleep(1)
        yield driver
    finally:
        driver.quit()


# The packet's cell table (a long one) and the search box the script put above its scrolling box.
CELL_TABLE = """
const table = [...document.querySelectorAll('table')].find(t => t.tHead
  && [...t.tHead.rows[0].cells].map(c => c.textContent.trim()).join('|').startsWith('cell|planned|matched'));
return [table, table.parentElement.previousElementSibling.querySelector('input[type=search]')];
"""


def column_values(driver, table, column: int) -> list[str]:
    return driver.execute_script("return [...arguments[0].tBodies[0].rows].filter(r => !r.hidden)"
                                 ".map(r => r.cells[arguments[1]].textContent.trim())", table, column)


def test_report_tables_sort_by_a_header_click_and_search_by_text(report_page):
    driver = report_page
    table, box = driver.execute_script(CELL_TABLE)
    # Sections with long tables start collapsed: open it as a reader would.
    driver.execute_script("return arguments[0].closest('details').querySelector('summary')", table).click()
    headers = driver.execute_script("return [...arguments[0].tHead.rows[0].cells].map(c => c.textContent.trim())",
                                    table)
    rate, cell = headers.index("rate"), headers.index("cell")
    before = column_values(driver, table, rate)
    assert len(before) > 15
    th = driver.execute_script("return arguments[0].tHead.rows[0].cells[arguments[1]]", table, rate)
    th.click()
    ascending = column_values(driver, table, rate)
    numbers = [float(v.rstrip("%")) for v in ascending if v != "—"]
    assert numbers == sorted(numbers) and sorted(ascending) == sorted(before)
    assert ascending[len(numbers):] == ["—"] * (len(ascending) - len(numbers))  # missing values last
    assert th.get_attribute("aria-sort") == "ascending"
    th.click()
    descending = [float(v.rstrip("%")) for v in column_values(driver, table, rate) if v != "—"]
    assert descending == sorted(numbers, reverse=True) and th.get_attribute("aria-sort") == "descending"

    cells = column_values(driver, table, cell)
    wanted = next(c for c in cells if "camera_viewpoints" in c)
    box.send_keys("camera_viewpoints")
    kept = column_values(driver, table, cell)
    assert kept and wanted in kept and len(kept) < len(cells)
    assert all("camera_viewpoints" in " ".join(r) for r in driver.execute_script(
        "return [...arguments[0].tBodies[0].rows].filter(r => !r.hidden)"
        ".map(r => [...r.cells].map(c => c.textContent))",
        table))
    box.clear()
    box.send_keys(" ")  # an empty query shows every row again
    assert len(column_values(driver, table, cell)) == len(cells)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", table)
    driver.save_screenshot(str(artifact("report-sorted-table.png")))


def test_report_recorded_explorer_filters_and_opens_episodes(report_page):
    from selenium.webdriver.common.by import By

    driver = report_page
    rows = "return document.querySelectorAll('.wfnb-explorer tr[role=button]').length"
    assert driver.execute_script("return document.querySelectorAll('.wfnb-explorer').length") == 1
    # Recorded with probe_id = libero chosen: 12 of the 24 cells, and the filter can be cleared.
    assert driver.execute_script(rows) == 12
    [clear] = [b for b in driver.find_elements(By.CSS_SELECTOR, ".wfnb-explorer button") if b.text == "clear all"]
    clear.click()
    assert driver.execute_script(rows) == 24
    driver.execute_script("[...document.querySelectorAll('.wfnb-explorer fieldset label')]"
                          ".find(l => l.textContent.startsWith(' light_conditions (')).querySelector('input').click()")
    assert 0 < driver.execute_script(rows) < 24
    driver.find_element(By.CSS_SELECTOR, ".wfnb-explorer tr[role=button]").click()
    opened = driver.execute_script("return document.querySelector('.wfnb-explorer td[colspan]').innerText")
    assert "light_conditions" in driver.execute_script(
        "return document.querySelector('.wfnb-explorer tr[aria-expanded=true]').innerText")
    assert "episode_index" in opened and " · episode " in opened
    explorer = driver.find_element(By.CSS_SELECTOR, ".wfnb-explorer")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", explorer)
    explorer.screenshot(str(artifact("report-explorer.png")))


def test_report_explorer_static_view_searches_its_cells(report_page):
    """The explorer saved from a live session (a widget view, no state) shows its static view here."""
    driver = report_page
    view = "document.querySelector('.worldflux-nb-explorer')"
    total = driver.execute_script(f"return {view}.querySelectorAll('details').length")
    shown = lambda: driver.execute_script(f"return [...{view}.querySelectorAll('details')].filter(d => !d.hidden)"
                                          ".map(d => d.querySelector('summary').textContent)")
    box = driver.execute_script(f"return {view}.querySelector('.wfnb-table-tools input')")
    box.send_keys("light_conditions")
    kept = shown()
    assert 0 < len(kept) < total and all("light_conditions" in k for k in kept)


def test_report_policy_refuses_every_other_script(report_page):
    driver = report_page
    # Our script ran (it built the search boxes) while the hostile output's did not.
    assert driver.execute_script("return document.querySelectorAll('.wfnb-table-tools').length") >= 2
    assert driver.execute_script("return document.querySelector('#hostile-click') !== null")
    driver.execute_script("document.querySelector('#hostile-click').click()")
    time.sleep(0.5)
    assert driver.title == "executed" and driver.execute_script("return window.wfnbPwned === undefined")
    violations = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert any("script" in v for v in violations), violations  # refused, not merely absent
