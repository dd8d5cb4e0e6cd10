"""Debian's headless Chromium driven by selenium, shared by the browser tests (scripts/test.sh installs
chromium, chromium-driver and the test extras); screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import shutil
from pathlib import Path

from notebook_support import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                                 else None)
ARTIFACTS = REPO / "test-artifacts"


def missing_browser(*modules: str) -> str | None:
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "Debian's chromium and chromium-driver are not installed (scripts/test.sh installs them as root)"
    for module in ("selenium", *modules):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test]')"
    return None


def chrome(window: str = "1400,1000"):
    """A headless Chromium that reaches nothing but loopback."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={window}", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    return driver


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
