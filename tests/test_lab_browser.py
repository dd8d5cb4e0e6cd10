"""The executed demo notebook in a real JupyterLab, as a reviewer opens it: untrusted, then trusted.

JupyterLab is started by the test on loopback (its own config, data and settings folders), Debian's
headless Chromium is driven by selenium (scripts/test.sh installs chromium, chromium-driver and the
test extras). In both states the three charts must render as pictures of non-zero size and the explorer
must show its cells, never a Python repr; trusted, the explorer filters and opens a cell's episodes with
no code run (its front end holds the data). Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notebook_support import REPO, template_run

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                                 else None)
ARTIFACTS = REPO / "test-artifacts"
REPR_MARKERS = ("Explorer(", "AnyWidget(", "VBox(", "HBox(")


def _missing() -> str | None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "Debian's chromium and chromium-driver are not installed (scripts/test.sh installs them as root)"
    for module in ("selenium", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback serving a folder with the executed template; yields (url, env, root)."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    root.mkdir()
    shutil.copy(template_run(tmp_path_factory) / "profile_to_brief.ipynb", root / "profile_to_brief.ipynb")
    settings = home / "settings"
    # Render every cell (JupyterLab 4 otherwise renders only the cells in view) and fetch no news.
    for plugin, values in {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
                           "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                                           "checkForUpdates": False}}.items():
        package, name = plugin.rsplit("/", 1)
        (settings / package).mkdir(parents=True, exist_ok=True)
        (settings / package / f"{name}.jupyterlab-settings").write_text(json.dumps(values), encoding="utf-8")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    port, token = _free_port(), secrets.token_hex(16)
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={settings}", "--LabApp.news_url=", "--ServerApp.port_retries=0",
         *(["--ServerApp.allow_root=True"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start: " + (home / "lab.log").read_text()[-2000:])
        yield f"http://127.0.0.1:{port}", token, env, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def open_notebook(driver, url: str, token: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/lab/tree/profile_to_brief.ipynb?token={token}&reset")
    # Every chart output and the explorer output are in the page once the notebook has rendered.
    WebDriverWait(driver, 180, poll_frequency=1).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length") > 10)
    time.sleep(5)  # widget models restore and images decode after the outputs are attached


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


def chart_pictures(driver) -> list[dict]:
    return [p for p in driver.execute_script(PICTURES) if p["mime"] in ("image/png", "image/svg+xml")]


def test_untrusted_notebook_shows_charts_as_pictures_and_the_explorers_cells(lab, browser):
    url, token, env, root = lab
    open_notebook(browser, url, token)
    pictures = chart_pictures(browser)
    assert len(pictures) == 3, pictures
    assert all(p["w"] > 100 and p["h"] > 100 and p["natural"] > 0 for p in pictures), pictures
    # Untrusted: JupyterLab shows no SVG from an untrusted output, so these are the PNGs.
    assert {p["mime"] for p in pictures} == {"image/png"}
    static = browser.execute_script(
        "const v = document.querySelector('.worldflux-nb-explorer');"
        "return v ? {details: v.querySelectorAll('details').length, text: v.innerText} : null")
    assert static and static["details"] > 10 and "Explorer:" in static["text"]
    assert not any(marker in outputs_text(browser) for marker in REPR_MARKERS)
    shoot(browser, "lab-untrusted.png")
    ARTIFACTS.mkdir(exist_ok=True)
    shoot_element(browser, ".jp-RenderedImage", "lab-untrusted-chart")
    shoot_element(browser, ".worldflux-nb-explorer", "lab-untrusted-explorer")


def test_trusted_notebook_shows_svg_charts_and_an_explorer_that_works_without_running_code(lab, browser):
    from selenium.webdriver.common.by import By

    url, token, env, root = lab
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(root / "profile_to_brief.ipynb")],
                   env=env, check=True, capture_output=True)
    open_notebook(browser, url, token)
    pictures = chart_pictures(browser)
    assert len(pictures) == 3, pictures
    assert all(p["w"] > 100 and p["h"] > 100 for p in pictures), pictures
    assert {p["mime"] for p in pictures} == {"image/svg+xml"}
    # The widget restored from the notebook's saved state, its front end drawing the cells.
    rows = browser.execute_script("return document.querySelectorAll('.wfnb-explorer tr[role=button]').length")
    assert rows > 10
    assert not any(marker in outputs_text(browser) for marker in REPR_MARKERS)
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
    shoot_element(browser, ".jp-RenderedSVG", "lab-trusted-chart")


def test_notebook_7_shows_the_same_pictures_and_explorer(lab, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    url, token, env, root = lab  # trusted by the test before
    browser.get(f"{url}/notebooks/profile_to_brief.ipynb?token={token}")
    WebDriverWait(browser, 180, poll_frequency=1).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length") > 10)
    time.sleep(5)
    pictures = chart_pictures(browser)
    assert len(pictures) == 3 and all(p["w"] > 100 and p["h"] > 100 for p in pictures), pictures
    assert browser.execute_script("return document.querySelectorAll('.wfnb-explorer tr[role=button]').length") > 10
    assert not any(marker in outputs_text(browser) for marker in REPR_MARKERS)
    shoot(browser, "notebook7-trusted.png")
