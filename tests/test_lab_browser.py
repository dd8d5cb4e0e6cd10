"""The executed demo notebook in a real JupyterLab, as a reviewer opens it: untrusted, trusted, dark.

JupyterLab is started by the test on loopback (its own config, data and settings folders), Debian's
headless Chromium is driven by selenium (scripts/test.sh installs chromium, chromium-driver and the
test extras). In both states the three charts must render as pictures of non-zero size and the explorer
must show its cells, never a Python repr or a widget error; untrusted, its static view; trusted, the
explorer filters, searches, sorts and opens a cell's episodes with no kernel (the record's one script runs
the widget's front end over the data the record embeds, render/explorer_record.py). In the light and the dark theme every text of our
displays keeps its contrast and no chart is a light slab on the dark page. Each test sets up the trust
and theme it needs, so any one runs alone or in any order. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from browser_support import ARTIFACTS, chrome, lab_theme
from notebook_support import template_run

pytestmark = pytest.mark.slow
REPR_MARKERS = ("Explorer(", "AnyWidget(", "VBox(", "HBox(")
# What the widget manager writes where it cannot draw a widget view (the record has none: never shown).
WIDGET_ERRORS = ("Error displaying widget", "model not found", "Loading widget")
TRUSTED, UNTRUSTED = "profile_to_brief.ipynb", "untrusted.ipynb"


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    env: dict
    root: Path
    settings: Path

    def trust(self) -> None:
        """Trust the executed notebook (idempotent), as a reviewer does with `jupyter trust`."""
        subprocess.run([sys.executable, "-m", "jupyter", "trust", str(self.root / TRUSTED)],
                       env=self.env, check=True, capture_output=True)

    def theme(self, name: str) -> None:
        """The user's theme setting, as the Settings menu writes it; read when the page next loads."""
        lab_theme(self.settings, name)


@pytest.fixture(scope="module")
def lab(lab_server, tmp_path_factory):
    """The session's JupyterLab server (conftest.lab_server) serving the executed template and an untrusted
    copy of it."""
    root = lab_server["root"]
    executed = template_run(tmp_path_factory) / "profile_to_brief.ipynb"
    shutil.copy(executed, root / TRUSTED)
    # A copy no test ever trusts: its content (and so its signature) differs from the trusted one.
    copy = json.loads(executed.read_text(encoding="utf-8"))
    copy["metadata"]["worldflux_nb_test"] = "a copy that stays untrusted"
    (root / UNTRUSTED).write_text(json.dumps(copy, indent=1), encoding="utf-8")
    return Lab(lab_server["url"], lab_server["token"], lab_server["env"], root, lab_server["settings"])


@pytest.fixture(scope="module")
def browser():
    driver = chrome()
    yield driver
    driver.quit()


def open_notebook(driver, lab: Lab, name: str = TRUSTED, theme: str = "JupyterLab Light") -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    lab.theme(theme)
    driver.get(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset")
    # Every chart output and the explorer output are in the page once the notebook has rendered.
    WebDriverWait(driver, 180, poll_frequency=1).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length") > 10)
    time.sleep(5)  # widget models restore and images decode after the outputs are attached
    dark = driver.execute_script("return document.body.dataset.jpThemeLight")
    assert dark == ("false" if "Dark" in theme else "true"), f"JupyterLab did not switch to {theme}"


PICTURES = """
return [...document.querySelectorAll('.jp-OutputArea-output img, .jp-OutputArea-output svg.marks')]
  .map(e => {const r = e.getBoundingClientRect();
             return {tag: e.tagName, mime: e.closest('[data-mime-type]')?.dataset.mimeType || '',
                     w: r.width, h: r.height, natural: e.naturalWidth || 0, alt: e.alt || ''};});
"""


def outputs_text(driver) -> str:
    return driver.execute_script("return [...document.querySelectorAll('.jp-OutputArea-output')]"
                                 ".map(e => e.innerText).join('\\n')")


def shoot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def shoot_element(driver, css: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    elements = driver.find_elements(By.CSS_SELECTOR, css)
    for i, element in enumerate(elements[:3]):
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
        time.sleep(0.5)
        element.screenshot(str(ARTIFACTS / f"{name}-{i + 1}.png"))


# The contrast (WCAG 2 ratio) of every text in our displays against what is really behind it: the
# translucent tints and the theme's background composited, the text colour's alpha and the opacity of its
# ancestors applied. Returns the worst few, lowest first.
CONTRAST = """
const parse = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                   return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
function background(el) {
  const layers = [];
  for (let e = el; e; e = e.parentElement) layers.push(parse(getComputedStyle(e).backgroundColor));
  return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
}
function opacity(el) {
  let o = 1;
  for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
  return o;
}
const results = [];
const roots = document.querySelectorAll(arguments[0]);
for (const root of roots) {
  for (const el of [root, ...root.querySelectorAll('*')]) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const back = background(el);
    const fg = parse(getComputedStyle(el).color);
    const text = over([fg[0], fg[1], fg[2], fg[3] * opacity(el)], back);
    const [a, b] = [lum(text), lum(back)].sort((x, y) => y - x);
    results.push({ratio: (a + 0.05) / (b + 0.05), text: el.textContent.trim().slice(0, 40), tag: el.tagName});
  }
}
return results.sort((x, y) => x.ratio - y.ratio).slice(0, 5).concat([{count: results.length}]);
"""
DISPLAYS = ".worldflux-nb, .worldflux-nb-explorer, .wfnb-explorer"


def worst_contrast(driver) -> tuple[list[dict], int]:
    *worst, count = driver.execute_script(CONTRAST, DISPLAYS)
    return worst, count["count"]


def page_background(driver) -> list[int]:
    return driver.execute_script(
        "const c = getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor;"
        "return c.match(/[\\d.]+/g).slice(0, 3).map(Number)")


def contrast(a: list[int], b: list[int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""
    def luminance(rgb: list[int]) -> float:
        linear = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def transparent_corners(driver, css: str) -> int:
    """How many of the chart pictures are see-through at all four corners, as the browser decoded them."""
    corners = driver.execute_script("""
      return [...document.querySelectorAll(arguments[0])].map(img => {
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        return [[0, 0], [c.width - 1, 0], [0, c.height - 1], [c.width - 1, c.height - 1]]
          .map(([x, y]) => g.getImageData(x, y, 1, 1).data[3]);
      });""", css)
    assert corners, f"no {css}"
    return sum(all(alpha == 0 for alpha in picture) for picture in corners)


def chart_pictures(driver) -> list[dict]:
    return [p for p in driver.execute_script(PICTURES) if p["mime"] in ("image/png", "image/svg+xml")]


def test_untrusted_notebook_shows_charts_as_pictures_and_the_explorers_cells(lab, browser):
    open_notebook(browser, lab, UNTRUSTED)
    pictures = chart_pictures(browser)
    assert len(pictures) == 3, pictures
    assert all(p["w"] > 100 and p["h"] > 100 and p["natural"] > 0 for p in pictures), pictures
    # Untrusted: JupyterLab shows no SVG from an untrusted output, so these are the PNGs.
    assert {p["mime"] for p in pictures} == {"image/png"}
    static = browser.execute_script(
        "const v = document.querySelector('.worldflux-nb-explorer');"
        "return v ? {details: v.querySelectorAll('details').length, text: v.innerText} : null")
    assert static and static["details"] > 10 and "Explorer:" in static["text"]
    # The sanitiser dropped the record's two scripts with their content: no JSON, no code, no prompt to run it.
    shown = outputs_text(browser)
    assert '"cell_columns"' not in shown and "hostExplorers" not in shown and "inline scripts" not in shown
    assert not browser.execute_script("return document.querySelectorAll('.jp-OutputArea-output script').length")
    assert not any(marker in outputs_text(browser) for marker in REPR_MARKERS + WIDGET_ERRORS)
    worst, count = worst_contrast(browser)
    assert count > 100 and worst[0]["ratio"] >= 4.5, worst  # WCAG AA for body text, light theme
    shoot(browser, "lab-untrusted.png")
    ARTIFACTS.mkdir(exist_ok=True)
    shoot_element(browser, ".jp-RenderedImage", "lab-untrusted-chart")
    shoot_element(browser, ".worldflux-nb-explorer", "lab-untrusted-explorer")


def test_trusted_notebook_shows_svg_charts_and_an_explorer_that_works_without_running_code(lab, browser):
    from selenium.webdriver.common.by import By

    lab.trust()
    open_notebook(browser, lab)
    pictures = chart_pictures(browser)
    assert len(pictures) == 3, pictures
    assert all(p["w"] > 100 and p["h"] > 100 for p in pictures), pictures
    assert {p["mime"] for p in pictures} == {"image/svg+xml"}
    # The record's script drew the explorer over its embedded data (no widget manager, no kernel).
    rows = browser.execute_script("return document.querySelectorAll('.wfnb-explorer tr[role=button]').length")
    assert rows > 10
    # JupyterLab's rendered-HTML tables have a fixed layout; the explorer's keeps every cell's text inside it.
    assert browser.execute_script("return [...document.querySelectorAll('.wfnb-explorer tr[role=button] td')]"
                                  ".every(td => td.scrollWidth <= td.clientWidth + 1)")
    assert not any(marker in outputs_text(browser) for marker in REPR_MARKERS + WIDGET_ERRORS)
    shoot(browser, "lab-trusted.png")
    explorer = browser.find_element(By.CSS_SELECTOR, ".wfnb-explorer")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", explorer)
    # Narrow to one probe, then open the first cell: both happen in the page, with no code run.
    labels = browser.execute_script(
        "return [...document.querySelectorAll('.wfnb-explorer fieldset label')].map(l => l.textContent)")
    clicked = browser.execute_script(
        "const l = [...document.querySelectorAll('.wfnb-explorer fieldset label')]"
        ".find(l => l.textContent.includes('libero-pro (')); if (l) l.querySelector('input').click(); return !!l")
    assert clicked, labels
    time.sleep(1)
    kept = browser.execute_script("return document.querySelector('.wfnb-explorer b').innerText")
    offered = next(t for t in labels if t.strip().startswith("libero-pro ("))
    assert kept.startswith(f"Explorer: {offered.split('(')[1].rstrip(')')} of "), (kept, offered)
    browser.find_element(By.CSS_SELECTOR, ".wfnb-explorer tr[role=button]").click()
    time.sleep(1)
    opened = browser.execute_script("return document.querySelector('.wfnb-explorer tr[aria-expanded=true]')"
                                    " && document.querySelector('.wfnb-explorer td[colspan]').innerText")
    assert opened and "task " in opened and "episode" in opened
    explorer.screenshot(str(ARTIFACTS / "lab-trusted-explorer.png"))
    search_and_sort_the_cells(browser)
    shoot_element(browser, ".jp-RenderedSVG", "lab-trusted-chart")


def test_notebook_7_shows_the_same_pictures_and_explorer(lab, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    lab.trust()
    lab.theme("JupyterLab Light")
    for name, mime in ((UNTRUSTED, "image/png"), (TRUSTED, "image/svg+xml")):
        browser.get(f"{lab.url}/notebooks/{name}?token={lab.token}")
        WebDriverWait(browser, 180, poll_frequency=1).until(lambda d: d.execute_script(
            "return document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length") > 10)
        time.sleep(5)
        pictures = chart_pictures(browser)
        assert len(pictures) == 3 and all(p["w"] > 100 and p["h"] > 100 for p in pictures), pictures
        assert {p["mime"] for p in pictures} == {mime}, (name, pictures)
        view = ".worldflux-nb-explorer details" if name == UNTRUSTED else ".wfnb-explorer tr[role=button]"
        assert browser.execute_script(f"return document.querySelectorAll('{view}').length") > 10, name
        assert not any(marker in outputs_text(browser) for marker in REPR_MARKERS + WIDGET_ERRORS)
        shoot(browser, f"notebook7-{'untrusted' if name == UNTRUSTED else 'trusted'}.png")


def shown_cells(driver) -> list[list[str]]:
    return driver.execute_script("return [...document.querySelectorAll('.wfnb-explorer tr[role=button]')]"
                                 ".map(r => [...r.cells].map(c => c.textContent))")


def search_and_sort_the_cells(driver) -> None:
    """Type in the explorer's search box and click its headers: the cell table narrows and sorts."""
    from selenium.webdriver.common.by import By

    clear = [b for b in driver.find_elements(By.CSS_SELECTOR, ".wfnb-explorer button") if b.text == "clear all"]
    if clear:
        clear[0].click()
        time.sleep(0.5)
    everything = shown_cells(driver)
    word = everything[-1][0].lstrip("▸▾ ").split(":")[-2]  # the last cell's axis
    box = driver.find_element(By.CSS_SELECTOR, ".wfnb-explorer input[type=search]")
    box.send_keys(word.upper())  # the search ignores case
    time.sleep(0.5)
    found = shown_cells(driver)
    assert 0 < len(found) < len(everything) and all(word in row[0] or word in row[-1] for row in found), word
    def header():  # the table is redrawn on every change: find the header afresh
        return driver.find_element(By.CSS_SELECTOR, ".wfnb-explorer th[title='Sort by missing']")

    column = [h.get_attribute("title") for h in driver.find_elements(By.CSS_SELECTOR, ".wfnb-explorer th")].index(
        "Sort by missing")
    header().click()
    time.sleep(0.5)
    ascending = [int(row[column]) for row in shown_cells(driver)]
    assert ascending == sorted(ascending) and header().get_attribute("aria-sort") == "ascending"
    header().click()
    time.sleep(0.5)
    descending = [int(row[column]) for row in shown_cells(driver)]
    assert descending == sorted(ascending, reverse=True) and len(descending) == len(found)
    assert header().get_attribute("aria-sort") == "descending"
    assert box.get_attribute("value") == word.upper()  # the box survives the redraws
    explorer = driver.find_element(By.CSS_SELECTOR, ".wfnb-explorer")
    explorer.screenshot(str(ARTIFACTS / "lab-trusted-explorer-sorted.png"))


def test_dark_theme_keeps_charts_and_displays_readable(lab, browser):
    lab.trust()
    try:
        open_notebook(browser, lab, theme="JupyterLab Dark")
        page = page_background(browser)
        assert sum(page) < 3 * 80, page  # the theme really is dark
        worst, count = worst_contrast(browser)
        assert count > 100 and worst[0]["ratio"] >= 4.5, worst  # every text of our displays, WCAG AA
        shoot(browser, "lab-dark.png")
        # Charts have no background of their own (no light slab): the page shows through their corners, and
        # the chart's own text (a fixed mid grey) keeps at least 3:1 against the page (WCAG's ratio for graphics).
        assert transparent_corners(browser, ".jp-RenderedSVG img") == 3
        fills = browser.execute_script(
            "return [...document.querySelectorAll('.jp-RenderedSVG img')].map(img => {"
            "  const [head, body] = img.src.split(',');"
            "  const text = head.endsWith(';base64') ? atob(body) : decodeURIComponent(body);"
            "  const svg = new DOMParser().parseFromString(text, 'image/svg+xml');"
            "  return [...new Set([...svg.querySelectorAll('text')].map(t => t.getAttribute('fill')"
            "          || t.closest('[fill]')?.getAttribute('fill')))]; })")
        assert len(fills) == 3 and all(fills), fills
        for colour in {c for texts in fills for c in texts}:
            assert colour.startswith("#") and len(colour) == 7, colour
            rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
            assert contrast(rgb, page) >= 3, (colour, page)
        shoot_element(browser, ".jp-RenderedSVG", "lab-dark-chart")
        explorer = browser.find_element("css selector", ".wfnb-explorer")
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", explorer)
        explorer.screenshot(str(ARTIFACTS / "lab-dark-explorer.png"))
    finally:
        lab.theme("JupyterLab Light")


def test_dark_theme_png_charts_are_see_through(lab, browser):
    """Untrusted (the PNGs): the picture's corner is see-through, so the dark page shows behind it."""
    open_notebook(browser, lab, UNTRUSTED, theme="JupyterLab Dark")
    try:
        assert transparent_corners(browser, ".jp-RenderedImage img") == 3
        shoot_element(browser, ".jp-RenderedImage", "lab-dark-png-chart")
    finally:
        lab.theme("JupyterLab Light")
