"""`notebook html`: an executed notebook as one offline report that loads nothing and runs no script."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import display_samples as samples
from notebook_support import cli_ok
from worldflux_nb.io.notebook_html import CONTENT_SECURITY_POLICY, notebook_html
from worldflux_nb.render import charts

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|cdn\.|unpkg\.com|jsdelivr|cdnjs""", re.I)


def output(bundle, metadata=None):
    return nbformat.v4.new_output("display_data", data=bundle, metadata=metadata or {})


@pytest.fixture(scope="module")
def executed_like(tmp_path_factory) -> Path:
    """A notebook with the outputs an executed template holds: a packet, a chart, the explorer widget
    (with saved widget state), and a hostile script output."""
    plan = samples.plan()
    packet = samples.packet(plan)
    chart_data, chart_meta = charts.power_chart(packet, plan)._repr_mimebundle_()
    explorer = packet.explore(samples.evidence_frame(plan), plan=plan).filter(probe_id=["libero"])
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# The record\n\nLOCAL_PRIVATE."),
                nbformat.v4.new_code_cell("packet", outputs=[output(packet._repr_mimebundle_())]),
                nbformat.v4.new_code_cell("power", outputs=[output(chart_data, chart_meta)]),
                nbformat.v4.new_code_cell("explorer", outputs=[output(explorer._repr_mimebundle_())]),
                nbformat.v4.new_code_cell("evil", outputs=[output({
                    "application/javascript": "fetch('https://evil.example/x')",
                    "text/plain": "evil"})])]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": {explorer.model_id: {"model_name": "AnyModel", "model_module": "anywidget",
                                      "model_module_version": "*", "state": {}}}}}
    path = tmp_path_factory.mktemp("html") / "executed.ipynb"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def test_report_is_self_contained_and_offline(executed_like, tmp_path):
    report = tmp_path / "report.html"
    cli_ok("notebook", "html", executed_like, "--output", report)
    html = report.read_text(encoding="utf-8")
    assert html == notebook_html(executed_like)
    assert f'content="{CONTENT_SECURITY_POLICY}"' in html and "script-src" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
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
