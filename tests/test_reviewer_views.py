"""The facts docs/reviewer-views.md relies on, checked on the executed demo notebook: each chart output has a
PNG (what sanitisers and renderers without SVG or Vega show) of non-zero size, no text/html output holds a
script or an event handler, no output needs a renderer other frontends lack, and the explorer's widget view
has its static text/html view and a plain-text summary beside it."""

from __future__ import annotations

import base64
import html
import html.parser
import re
import struct

import nbformat
import nh3
import pytest

from notebook_support import template_run

pytestmark = pytest.mark.slow
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# What VS Code's renderers and GitHub's static view show without a kernel or extension (docs/reviewer-views.md).
COMMON = {"text/plain", "text/html", "text/markdown", "image/png", "image/svg+xml", "image/jpeg"}
OUR_JSON = re.compile(r"application/vnd\.worldflux-nb\.[a-z_]+\.v1\+json")


class _Active(html.parser.HTMLParser):
    """Collects what could run: script/iframe/object/embed elements, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "link", "meta", "base", "form"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value and re.match(r"\s*(javascript|vbscript|data):", value, re.I)
                                         and name in ("href", "src", "action", "formaction")):
                self.found.append(f"{tag}[{name}]")


def outputs(nb):
    return [(cell.get("id"), o) for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
            if o.get("output_type") in ("display_data", "execute_result")]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return nbformat.read(template_run(tmp_path_factory) / "profile_to_brief.ipynb", as_version=4)


def png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    return struct.unpack(">II", raw[16:24])


def test_every_chart_output_carries_a_png_of_nonzero_size_and_no_vega_mimetype(executed):
    charts = [(cid, o) for cid, o in outputs(executed) if "image/svg+xml" in o["data"] or "image/png" in o["data"]]
    assert len(charts) == 3, [cid for cid, _ in charts]
    for cid, output in charts:
        width, height = png_size(output["data"]["image/png"])
        assert width > 100 and height > 100, cid
        assert output["data"]["text/plain"].strip() and "Chart(" not in output["data"]["text/plain"], cid
    assert not [m for _, o in outputs(executed) for m in o["data"] if "vega" in m or m == "application/javascript"]


def test_no_text_html_output_holds_anything_that_runs(executed):
    htmls = [(cid, o["data"]["text/html"]) for cid, o in outputs(executed) if "text/html" in o["data"]]
    assert len(htmls) >= 5
    for cid, text in htmls:
        parser = _Active()
        parser.feed(text)
        assert parser.found == [], (cid, parser.found[:5])
        # A sanitiser that keeps tags but drops every style (GitHub's is undocumented) keeps every word.
        words = lambda s: html.unescape(re.sub(r"<[^>]+>", " ", s)).split()  # noqa: E731
        assert words(nh3.clean(text, attributes={})) == words(text), cid


def test_every_output_has_a_representation_every_frontend_renders(executed):
    for cid, output in outputs(executed):
        mimes = set(output["data"])
        extra = {m for m in mimes - COMMON if not OUR_JSON.fullmatch(m)}
        assert extra <= {WIDGET_VIEW}, (cid, extra)
        assert mimes & {"text/html", "image/png", "text/markdown"}, (cid, mimes)


def test_the_explorer_widget_has_its_static_view_and_a_summary_beside_it(executed):
    widgets = [o for _, o in outputs(executed) if WIDGET_VIEW in o["data"]]
    assert len(widgets) == 1
    data = widgets[0]["data"]
    assert 'class="worldflux-nb-explorer"' in data["text/html"] and data["text/html"].count("<details") >= 10
    assert data["text/plain"].startswith("Explorer over ") and "cells" in data["text/plain"]
    model = data[WIDGET_VIEW]["model_id"]
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert model in state and "wfnb-explorer" in state[model]["state"]["_esm"]  # the bundled front end
    assert not re.search(r"https?://|import\s*\(|from\s+['\"]http", state[model]["state"]["_esm"])
