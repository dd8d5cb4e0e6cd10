"""A notebook saved by hand from a live JupyterLab session, then `notebook share`d: the reviewer's copy shows
the explorer's static view, never "model not found".

The fixture is what JupyterLab really writes: the cells run in a live Lab session with a kernel (the explorer
and an ipywidgets slider), the notebook is saved with Ctrl+S under Lab's default settings (no widget state)
and the kernel is shut down. Opened trusted, the hand-saved notebook shows "Error displaying widget: model
not found"; its `notebook share` copy shows the static view and the slider's text. Screenshots go to
test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from browser_support import ARTIFACTS, chrome, lab_theme
from test_lab_browser import WIDGET_ERRORS, outputs_text, shoot

pytestmark = pytest.mark.slow
HAND_SAVED, SHARED = "hand_saved.ipynb", "shared.ipynb"
VIEW = "application/vnd.jupyter.widget-view+json"
# What a researcher runs in the session: the explorer over sample evidence, and a plain ipywidgets slider.
CELLS = [
    "import worldflux_nb as wf\n"
    "from worldflux_nb.io.evidence_entries import import_entries, sample_entries\n"
    "from worldflux_nb.sample.evidence import write_sample_evidence\n"
    "plan = wf.plan(wf.profile(), seed=1234)\n"
    "evidence = import_entries(sample_entries(write_sample_evidence(plan, 'evidence'), 'evidence'), plan)\n"
    "packet = wf.packet(plan, evidence)\n"
    "packet.explore(wf.conformance(plan, evidence).rows, plan=plan)",
    "import ipywidgets\nipywidgets.IntSlider(3, description='episodes')",
]


def _notebook() -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": source, "outputs": [],
                   "execution_count": None} for i, source in enumerate(CELLS)]}


@pytest.fixture(scope="module")
def lab(lab_server):
    """The session's JupyterLab (conftest.lab_server; Lab's default settings: widget state not saved) in its
    light theme, serving one unrun notebook."""
    (lab_server["root"] / HAND_SAVED).write_text(json.dumps(_notebook(), indent=1), encoding="utf-8")
    lab_theme(lab_server["settings"], "JupyterLab Light")
    return lab_server


def _api(lab: dict, method: str, path: str):
    request = urllib.request.Request(f"{lab['url']}{path}", method=method,
                                     headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def _shown(driver) -> int:
    return driver.execute_script("return document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length")


def _prompt(driver, index: int) -> str:
    """What is between the brackets of a cell's input prompt: " " not run, "*" queued or running, else its count."""
    return driver.execute_script(
        "const p = document.querySelectorAll('.jp-Notebook .jp-Cell .jp-InputPrompt')[arguments[0]];"
        "return p ? p.innerText.replace(/^\\[|\\]:?$/g, '') : ''", index)


def _run_by_hand(driver, index: int) -> None:
    """Click into a cell's editor and press Shift+Enter until Lab queues the cell: on a busy machine the first
    press can leave the cell unrun while Lab selects the next one, though the kernel already shows idle."""
    from selenium.common.exceptions import ElementNotInteractableException, TimeoutException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    def editor(d):
        return d.execute_script("return document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content')[arguments[0]]",
                                index)

    for _ in range(5):
        # The editor takes input once the notebook has laid out (the kernel may be idle before that).
        WebDriverWait(driver, 60, poll_frequency=0.5, ignored_exceptions=(ElementNotInteractableException,)).until(
            lambda d: editor(d).click() or True)
        WebDriverWait(driver, 30, poll_frequency=0.2).until(lambda d: d.execute_script(
            "return arguments[0].contains(document.activeElement)", editor(d)))
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
        try:
            WebDriverWait(driver, 15, poll_frequency=0.2).until(lambda d: _prompt(d, index) not in ("", " "))
            return
        except TimeoutException:
            continue
    pytest.fail(f"cell {index} never ran on Shift+Enter")


def run_and_save_by_hand(driver, lab: dict) -> dict:
    """Run both cells in the live session (Shift+Enter), save with Ctrl+S, shut the kernel down; the file."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{lab['url']}/lab/tree/{HAND_SAVED}?token={lab['token']}&reset")
    WebDriverWait(driver, 180, poll_frequency=1).until(lambda d: d.execute_script(
        "const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        "return s && s.getAttribute('data-status') === 'idle'"))
    for index, _ in enumerate(CELLS):
        _run_by_hand(driver, index)
    # The live explorer (anywidget's front end) and the slider are drawn from the kernel's models.
    WebDriverWait(driver, 180, poll_frequency=1).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.wfnb-explorer tr[role=button]').length > 10"
        " && !!document.querySelector('.widget-slider')"))
    shoot(driver, "lab-hand-saved-live.png")
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
    path = lab["root"] / HAND_SAVED
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and VIEW not in path.read_text(encoding="utf-8"):
        time.sleep(0.5)
    for session in _api(lab, "GET", "/api/sessions"):
        _api(lab, "DELETE", f"/api/sessions/{session['id']}")
    assert not _api(lab, "GET", "/api/kernels")
    return json.loads(path.read_text(encoding="utf-8"))


def open_trusted(driver, lab: dict, name: str, expected: str | None = None) -> str:
    """Trust the file (as a reviewer does with `jupyter trust`), open it, and return its outputs' text once
    `expected` shows in it, or (without `expected`) once the widget manager has had its time."""
    from selenium.webdriver.support.ui import WebDriverWait

    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(lab["root"] / name)], env=lab["env"],
                   check=True, capture_output=True)
    driver.get(f"{lab['url']}/lab/tree/{name}?token={lab['token']}&reset")
    WebDriverWait(driver, 180, poll_frequency=1).until(lambda d: _shown(d) >= 2)
    if expected is None:
        time.sleep(5)  # the widget manager tries to restore its models after the outputs are attached
    else:  # what the widget manager writes once it has tried: no need to give it the whole time
        WebDriverWait(driver, 60, poll_frequency=0.5).until(lambda d: expected in outputs_text(d))
    return outputs_text(driver)


def test_the_shared_copy_of_a_hand_saved_notebook_shows_the_static_explorer_not_model_not_found(lab):
    from worldflux_nb.cli import main

    driver = chrome()
    try:
        saved = run_and_save_by_hand(driver, lab)
        # What JupyterLab wrote: each widget's view, and no widget state (its default settings).
        assert "widgets" not in saved["metadata"]
        bundles = [output["data"] for cell in saved["cells"] for output in cell["outputs"] if "data" in output]
        assert [VIEW in data for data in bundles] == [True, True], bundles
        assert "text/html" in bundles[0] and "text/html" not in bundles[1]
        shown = open_trusted(driver, lab, HAND_SAVED, expected="model not found")
        assert "model not found" in shown, shown
        shoot(driver, "lab-hand-saved-reopened.png")

        report = lab["root"].parent / "report.json"
        assert main(["notebook", "share", str(lab["root"] / HAND_SAVED), "--output", str(lab["root"] / SHARED),
                     "--report", str(report)]) == 0
        shown = open_trusted(driver, lab, SHARED)
        shoot(driver, "lab-hand-saved-shared.png")
        assert not any(marker in shown for marker in WIDGET_ERRORS), shown
        dropped = json.loads(report.read_text(encoding="utf-8"))["dropped_outputs"]
        assert [entry["location"] for entry in dropped] == [f"cell 0 output 0 {VIEW}", f"cell 1 output 0 {VIEW}"]
        static = driver.execute_script(
            "const v = document.querySelector('.worldflux-nb-explorer');"
            "return v ? {details: v.querySelectorAll('details').length, text: v.innerText} : null")
        assert static and static["details"] > 10 and "Explorer:" in static["text"], static
        assert "IntSlider(value=3" in shown
        slider = driver.find_elements("css selector", ".jp-OutputArea-output")[-1]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", slider)
        slider.screenshot(str(ARTIFACTS / "lab-hand-saved-shared-slider.png"))
    finally:
        driver.quit()
