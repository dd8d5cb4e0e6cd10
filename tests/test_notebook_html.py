"""`notebook html`: an executed notebook as one offline report that loads nothing and runs no script."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from notebook_support import cli_ok, executed_like_notebook
from worldflux_nb.io.notebook_html import CONTENT_SECURITY_POLICY, TABLE_SCRIPT, TABLE_SCRIPT_HASH, notebook_html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|cdn\.|unpkg\.com|jsdelivr|cdnjs""", re.I)


@pytest.fixture(scope="module")
def executed_like(tmp_path_factory) -> Path:
    return executed_like_notebook(tmp_path_factory.mktemp("html") / "executed.ipynb")


def test_report_is_self_contained_and_offline(executed_like, tmp_path):
    report = tmp_path / "report.html"
    cli_ok("notebook", "html", executed_like, "--output", report)
    html = report.read_text(encoding="utf-8")
    assert html == notebook_html(executed_like)
    assert f'content="{CONTENT_SECURITY_POLICY}"' in html
    assert not REMOTE.search(html), REMOTE.search(html)
    assert not re.search(r"require(\.min)?\.js|mathjax|mermaid|html-manager|embed-amd", html, re.I)
    assert "evil.example" not in html and WIDGET_VIEW not in html


def test_report_shows_the_charts_the_explorers_static_view_and_the_packet(executed_like):
    html = notebook_html(executed_like)
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 1 and 'src="data:image/svg+xml;base64,' in images[0]
    assert re.search(r'alt="Power chart: [^"]+"', images[0])  # the chart's summary as its alt text
    assert "Explorer: 12 of 24 cells" in html and html.count("<details") >= 12
    assert "Eval packet" in html and "LOCAL_PRIVATE" in html


def test_report_never_replaces_its_input(executed_like):
    from worldflux_nb.cli import main

    before = executed_like.read_bytes()
    assert main(["notebook", "html", str(executed_like), "--output", str(executed_like)]) == 2
    assert executed_like.read_bytes() == before


def test_policy_allows_our_one_script_by_hash_and_nothing_else(executed_like):
    html = notebook_html(executed_like)
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"  # connect, frame, object, media, worker: nothing
    assert directives["script-src"] == f"'{TABLE_SCRIPT_HASH}'"  # no 'unsafe-inline', 'unsafe-eval', host
    assert directives["img-src"] == "data:" and directives["font-src"] == "data:"
    assert set(directives) == {"default-src", "script-src", "img-src", "style-src", "font-src", "base-uri",
                               "form-action"}
    # The page holds one script element, ours, byte for byte what the hash covers.
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert [s for s in scripts if "document.title" not in s] == [TABLE_SCRIPT]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    assert TABLE_SCRIPT_HASH == f"sha256-{digest}"
    assert not re.search(r"\b(?:fetch|XMLHttpRequest|import\(|eval|Function\(|src\s*=|innerHTML)", TABLE_SCRIPT)
