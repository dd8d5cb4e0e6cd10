"""The facts docs/reviewer-views.md relies on, checked on the executed demo notebook: each chart output has a
PNG (what sanitisers and renderers without SVG or Vega show) of non-zero size; no text/html output holds a
script, frame or event handler except the explorer's record, whose only scripts are its inert JSON state and
our one script byte for byte; no output needs a renderer other frontends lack; and the explorer's output has
its static view and a plain-text summary."""

from __future__ import annotations

import base64
import json
import html
import html.parser
import re
import struct

import nbformat
import nh3
import pytest

from notebook_support import template_run
from worldflux_nb.render.explorer_record import BOOTSTRAP, record_parts

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
        self.scripts: list[tuple[str | None, str]] = []  # (type, text) of each script element
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] = (self.scripts[-1][0], self.scripts[-1][1] + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append((dict(attrs).get("type"), ""))
            self._in_script = True
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


def test_no_text_html_output_holds_anything_that_runs_but_the_explorers_one_script(executed):
    htmls = [(cid, o["data"]["text/html"]) for cid, o in outputs(executed) if "text/html" in o["data"]]
    assert len(htmls) >= 5
    records = 0
    for cid, text in htmls:
        parser = _Active()
        parser.feed(text)
        if record_parts(text) is not None:
            records += 1
            # The JSON state (inert: a browser never runs it) and our script, byte for byte; nothing else.
            assert parser.found == ["script", "script"], (cid, parser.found[:5])
            assert [kind for kind, _ in parser.scripts] == ["application/json", None], cid
            assert parser.scripts[1][1] == BOOTSTRAP and json.loads(parser.scripts[0][1])["data"]["cells"], cid
            assert not re.search(r"(?i)https?://|//[a-z0-9.-]+\.[a-z]{2,}/", BOOTSTRAP)  # no remote URL
            static = record_parts(text)[0]
        else:
            assert parser.found == [], (cid, parser.found[:5])
            static = text
        assert not re.search(r"(?i)(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", text), cid
        # A sanitiser that keeps tags but drops every style (GitHub's is undocumented) keeps every word of the
        # static view, and of a record nothing else: its scripts go with their content.
        words = lambda s: html.unescape(re.sub(r"<[^>]+>", " ", s)).split()  # noqa: E731
        assert words(nh3.clean(text, attributes={})) == words(static), cid
    assert records == 1


def test_every_output_has_a_representation_every_frontend_renders(executed):
    for cid, output in outputs(executed):
        mimes = set(output["data"])
        extra = {m for m in mimes - COMMON if not OUR_JSON.fullmatch(m)}
        assert extra <= {WIDGET_VIEW}, (cid, extra)
        assert mimes & {"text/html", "image/png", "text/markdown"}, (cid, mimes)


def test_the_explorer_output_has_its_static_view_its_state_and_a_summary(executed):
    explorers = [o for _, o in outputs(executed) if 'class="worldflux-nb-explorer"' in o["data"].get("text/html", "")]
    assert len(explorers) == 1
    data = explorers[0]["data"]
    assert set(data) == {"text/html", "text/plain"}  # no widget view: nbconvert would pick it, through a CDN
    static, state = record_parts(data["text/html"])
    assert static.startswith('<div class="worldflux-nb-explorer"') and static.count("<details") >= 10
    assert len(state["data"]["cells"]) == static.count("<details") and set(state) == {"data", "filters",
                                                                                     "selected", "search"}
    assert data["text/plain"].startswith("Explorer over ") and "cells" in data["text/plain"]
    assert "widgets" not in executed.metadata  # the explorer was the only widget
