"""The executed template as nbconvert HTML opens in headless Chromium with the network blocked, and its
charts are there: inline SVG with marks. A screenshot is kept under test-artifacts/."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from notebook_support import REPO, template_run

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARTIFACTS = REPO / "test-artifacts"
# An nbconvert template that is the lab template minus everything it would fetch from a CDN
# (require.js, MathJax, Mermaid, the widget manager): the page must stand on its own. Chart SVGs are
# inlined as they are (lab would base64 them into <img>, or bleach them into text with
# skip_svg_encoding), so the DOM shows their marks; they are vl-convert output from our own run.
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
{{ output.data['image/svg+xml'] }}
</div>
{%- endblock data_svg %}
"""
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|cdn\.|unpkg\.com|cdnjs""", re.I)


def offline_html(notebook: Path, workdir: Path) -> str:
    from nbconvert import HTMLExporter

    template_dir = workdir / "offline_lab"
    template_dir.mkdir()
    (template_dir / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    (template_dir / "index.html.j2").write_text(OFFLINE_TEMPLATE, encoding="utf-8")
    exporter = HTMLExporter(template_name="offline_lab", extra_template_basedirs=[str(workdir)])
    html, _ = exporter.from_filename(str(notebook))
    return html


def chromium(*args: str, user_data: Path) -> subprocess.CompletedProcess[str]:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={user_data}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE nothing",
               "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
               "--virtual-time-budget=5000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/javascript")
        self.end_headers()
        self.wfile.write(b"document.title = 'network reached';")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it when run as root)")
def test_network_blocking_flags_really_block(tmp_path: Path) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        page = tmp_path / "canary.html"
        page.write_text(f'<html><head><title>offline</title><script src="http://localhost:{port}/a.js"></script>'
                        f'<script src="http://127.0.0.1:{port}/b.js"></script></head><body>x</body></html>',
                        encoding="utf-8")
        result = chromium("--dump-dom", page.as_uri(), user_data=tmp_path / "profile")
    finally:
        server.shutdown()
    assert "<title>offline</title>" in result.stdout, result.stderr[-2000:]
    assert _Counting.hits == []


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it when run as root)")
def test_executed_template_html_shows_its_charts_offline(tmp_path: Path, tmp_path_factory) -> None:
    html = offline_html(template_run(tmp_path_factory) / "profile_to_brief.ipynb", tmp_path)
    assert not REMOTE.search(html), REMOTE.search(html)
    page = tmp_path / "profile_to_brief.html"
    page.write_text(html, encoding="utf-8")

    dom = chromium("--dump-dom", page.as_uri(), user_data=tmp_path / "profile").stdout
    charts = re.findall(r'<div class="jp-RenderedSVG[^"]*"[^>]*>\s*(<svg.*?</svg>)', dom, re.S)
    assert len(charts) == 3, f"{len(charts)} inline SVG charts in the DOM"
    for svg in charts:
        marks = re.findall(r'class="mark-(?:rect|symbol|rule|line|text)[^"]*"[^>]*>\s*<path', svg)
        assert marks, "a chart without marks"
        assert len(re.findall(r"<path\b", svg)) > 5
    assert "LOCAL_PRIVATE" in dom and "Reviewer brief" in dom

    # Screenshots kept for a person to look at: the top of the page, and the three charts as the
    # browser drew them from the page's own DOM (the full page is too long for one image).
    ARTIFACTS.mkdir(exist_ok=True)
    charts_page = tmp_path / "charts.html"
    charts_page.write_text("<html><body style='background:white'>" + "<hr>".join(charts) + "</body></html>",
                           encoding="utf-8")
    for name, url in (("profile_to_brief.png", page.as_uri()), ("profile_to_brief_charts.png", charts_page.as_uri())):
        shot = ARTIFACTS / name
        shot.unlink(missing_ok=True)
        chromium(f"--screenshot={shot}", "--window-size=1280,4000", url, user_data=tmp_path / name)
        assert shot.is_file() and shot.stat().st_size > 20_000, name
