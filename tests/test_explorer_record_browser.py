"""The explorer's record in pages that run its script, in Debian's headless Chromium with the network blocked.

Stock `jupyter nbconvert --to html` of the executed demo record: the explorer draws its cells, a filter click
narrows them and a row click opens a cell's episodes (its one inline script, render/explorer_record.py;
nothing loads). Hostile text in the explorer's state — a name closing the script and opening another,
U+2028 — stays text. And a host that re-creates an output's scripts elsewhere, as VS Code's HTML renderer
does, still gets the explorer. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from browser_support import artifact, chrome, missing_browser
from demo_support import demo
from notebook_support import template_run
from worldflux_nb.render.explorer_record import record_html, record_parts

pytestmark = pytest.mark.slow
HOSTILE = "</script><script>window.wfnbPwned = 1; alert(1)</script>\u2028<!--x"
ROWS = "return document.querySelectorAll('.wfnb-explorer tr[role=button]').length"
# Every cell of the explorer's table holds its text (a long cell id wraps instead of running over the next).
NOTHING_RUNS_OVER = ("return [...document.querySelectorAll('.wfnb-explorer tr[role=button] td')]"
                     ".every(td => td.scrollWidth <= td.clientWidth + 1)")


# Per header row of the explorer's tables: each header's box and the box of its text. A header whose text
# runs past its own box, or whose box runs into the next one's, is a header clipped by its neighbour.
HEADER_BOXES = """
return [...document.querySelectorAll('.wfnb-explorer table')].map(table => [...table.rows[0].cells].map(th => {
  const box = th.getBoundingClientRect(), range = document.createRange();
  range.selectNodeContents(th);
  const text = range.getBoundingClientRect();
  return {name: th.textContent, left: box.left, right: box.right, textLeft: text.left, textRight: text.right};
}));
"""


# The filters whose option list shows a sideways scrollbar (it takes height from the list: a list has no border).
WIDE_FILTERS = ("return [...document.querySelectorAll('.wfnb-explorer fieldset > div')]"
                ".filter(d => d.offsetHeight > d.clientHeight).map(d => d.parentElement.textContent.slice(0, 40))")


def stock_html(notebook: Path, folder: Path) -> Path:
    """What a reviewer gets from `jupyter nbconvert --to html`, nothing configured."""
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(notebook),
                    "--output-dir", str(folder)], check=True, capture_output=True)
    return folder / (notebook.stem + ".html")


@pytest.fixture(scope="module")
def driver():
    reason = missing_browser("nbconvert")
    if reason:
        pytest.skip(reason)
    browser = chrome()
    yield browser
    browser.quit()


def open_page(driver, page: Path) -> None:
    driver.get(page.as_uri())
    time.sleep(1)


def test_stock_nbconvert_html_shows_an_explorer_that_filters_and_opens_episodes_offline(driver, tmp_path_factory):
    from selenium.webdriver.common.by import By

    page = stock_html(template_run(tmp_path_factory) / "profile_to_brief.ipynb", tmp_path_factory.mktemp("nbc"))
    open_page(driver, page)
    size = driver.execute_script("const r = document.querySelector('.wfnb-explorer').getBoundingClientRect();"
                                 "return [r.width, r.height]")
    assert size[0] > 300 and size[1] > 200, size
    everything = driver.execute_script(ROWS)
    assert driver.execute_script(NOTHING_RUNS_OVER)  # nbconvert's fixed table layout does not reach the explorer
    assert everything > 10 and not driver.find_elements(By.CSS_SELECTOR, ".worldflux-nb-explorer")  # replaced
    driver.save_screenshot(str(artifact("nbconvert-stock.png")))
    # The page asked for require.js and MathJax from CDNs (the network is blocked); nothing of ours did.
    failed = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert all("cdnjs.cloudflare.com" in m for m in failed), failed

    labels = driver.execute_script("return [...document.querySelectorAll('.wfnb-explorer fieldset label')]"
                                   ".map(l => l.textContent)")
    offered = next(t for t in labels if t.strip().startswith("libero-pro ("))
    driver.execute_script("[...document.querySelectorAll('.wfnb-explorer fieldset label')]"
                          ".find(l => l.textContent.includes('libero-pro (')).querySelector('input').click()")
    kept = int(offered.split("(")[1].rstrip(")"))
    assert driver.execute_script(ROWS) == kept < everything
    assert driver.execute_script("return document.querySelector('.wfnb-explorer b').innerText").startswith(
        f"Explorer: {kept} of {everything} cells")
    driver.find_element(By.CSS_SELECTOR, ".wfnb-explorer tr[role=button]").click()
    opened = driver.execute_script("return document.querySelector('.wfnb-explorer td[colspan]').innerText")
    assert "episode_index" in opened and "task " in opened and " · episode " in opened
    explorer = driver.find_element(By.CSS_SELECTOR, ".wfnb-explorer")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", explorer)
    explorer.screenshot(str(artifact("nbconvert-stock-explorer.png")))


def test_hostile_text_in_the_explorer_state_stays_text_in_stock_nbconvert_html(driver, tmp_path_factory):
    from selenium.common.exceptions import UnexpectedAlertPresentException

    folder = tmp_path_factory.mktemp("hostile")
    nb = nbformat.read(template_run(tmp_path_factory) / "profile_to_brief.ipynb", as_version=4)
    output = next(o for c in nb.cells for o in c.get("outputs", []) if record_parts(o.get("data", {}).get(
        "text/html", "")))
    static, state = record_parts(output["data"]["text/html"])
    # The models refuse such ids (their patterns), so the hostile name is planted where the runner reads it.
    task = state["data"]["cell_columns"].index("task_id")
    state["data"]["cells"][0][task] = HOSTILE
    state["data"]["source"] = HOSTILE
    output["data"]["text/html"] = record_html(static, state)
    nbformat.write(nb, folder / "hostile.ipynb")
    try:
        open_page(driver, stock_html(folder / "hostile.ipynb", folder))
        assert driver.execute_script("return window.wfnbPwned === undefined")
        labels = driver.execute_script("return [...document.querySelectorAll('.wfnb-explorer fieldset label')]"
                                       ".map(l => l.textContent)")
    except UnexpectedAlertPresentException:
        pytest.fail("a hostile name in the explorer's state ran as script")
    assert any(HOSTILE in label for label in labels), labels  # shown literally, U+2028 included
    assert driver.execute_script(ROWS) > 10
    driver.save_screenshot(str(artifact("nbconvert-stock-hostile.png")))


# What VS Code's text/html renderer does (microsoft/vscode extensions/notebook-renderers/src/index.ts,
# renderHTML and domEval, commit 079eae2): the output's markup set as innerHTML of a new div, the div added
# to the page, then each script re-created from its text and type, appended to that div, and removed.
VS_CODE_LIKE = """
const output = document.createElement('div');
output.innerHTML = arguments[0];
document.body.appendChild(output);
for (const old of [...output.getElementsByTagName('script')]) {
  const copy = document.createElement('script');
  copy.text = old.innerText;
  if (old.getAttribute('type')) copy.setAttribute('type', old.getAttribute('type'));
  output.appendChild(copy).parentNode.removeChild(copy);
}
return document.querySelectorAll('.wfnb-explorer tr[role=button]').length;
"""


def test_a_host_that_recreates_the_script_elsewhere_still_gets_the_explorer(driver, tmp_path_factory):
    nb = nbformat.read(template_run(tmp_path_factory) / "profile_to_brief.ipynb", as_version=4)
    html = next(o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", [])
                if record_parts(o.get("data", {}).get("text/html", "")))
    page = tmp_path_factory.mktemp("vscode") / "empty.html"
    page.write_text("<!doctype html><title>host</title><body></body>", encoding="utf-8")
    open_page(driver, page)
    assert driver.execute_script(VS_CODE_LIKE, html) > 10
    assert not driver.execute_script("return document.querySelectorAll('.worldflux-nb-explorer').length")


def overlapping_headers(driver) -> list[tuple[str, str]]:
    """Pairs of explorer headers that overlap, and headers whose text leaves its own box."""
    found = []
    for row in driver.execute_script(HEADER_BOXES):
        for th, following in zip(row, row[1:] + [None]):
            if th["textLeft"] < th["left"] - 1 or th["textRight"] > th["right"] + 1:
                found.append((th["name"], "its own box"))
            if following and th["right"] > following["left"] + 1:
                found.append((th["name"], following["name"]))
    return found


def test_explorer_headers_do_not_overlap_at_900_px_or_narrower(driver, tmp_path):
    """In JupyterLab's rendered-HTML styles (stock nbconvert), whose tables have a fixed layout, at 900 px and
    600 px wide: every header of the cell table and of an opened cell's episodes keeps its text in its own box."""
    from worldflux_nb.render.explorer import Explorer
    from worldflux_nb.render.explorer_record import record_html

    plan, _, checked, packet = demo()
    explorer = Explorer(packet, evidence=checked.rows, plan=plan)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("packet.explore(rows, plan=plan)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "explorer", "text/html": record_html(explorer.static_html(), dict(explorer.get_state()))})]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "explorer.ipynb")
    page = stock_html(tmp_path / "explorer.ipynb", tmp_path)
    try:
        for width in (900, 600):
            driver.set_window_size(width, 1000)
            open_page(driver, page)
            driver.execute_script("document.querySelector('.wfnb-explorer tr[role=button]').click()")
            tables = driver.execute_script(HEADER_BOXES)
            assert len(tables) == 2 and len(tables[0]) == 8 and len(tables[1]) == 7, tables
            assert overlapping_headers(driver) == [], width
            # A filter's options wrap inside its box: a sideways scrollbar would cover its last option.
            assert driver.execute_script(WIDE_FILTERS) == [], width
            driver.save_screenshot(str(artifact(f"explorer-headers-{width}.png")))
    finally:
        driver.set_window_size(1400, 1000)
