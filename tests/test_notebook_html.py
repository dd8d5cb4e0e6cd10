"""`notebook html`: an executed notebook as one offline report that loads nothing and runs no script."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from notebook_support import cli_ok, executed_like_notebook
from worldflux_nb.io.notebook_html import CONTENT_SECURITY_POLICY, TABLE_SCRIPT, TABLE_SCRIPT_HASH, notebook_html
from worldflux_nb.render.explorer_record import BOOTSTRAP, BOOTSTRAP_HASH, record_parts

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
    # No 'unsafe-inline', 'unsafe-eval' or host: the tables' script and the explorer's, by hash.
    assert directives["script-src"] == f"'{TABLE_SCRIPT_HASH}' '{BOOTSTRAP_HASH}'"
    assert directives["img-src"] == "data:" and directives["font-src"] == "data:"
    assert set(directives) == {"default-src", "script-src", "img-src", "style-src", "font-src", "base-uri",
                               "form-action"}
    # The page runs two scripts, ours, byte for byte what the hashes cover; the explorer's state is inert JSON.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert [s for a, s in scripts if "document.title" not in s and not a] == [TABLE_SCRIPT, BOOTSTRAP]
    assert [sorted(re.findall(r'(\w+)="([^"]*)"', a)) for a, s in scripts if a] == [
        [("class", "wfnb-explorer-state"), ("type", "application/json")]]  # nbconvert may reorder attributes
    for script, expected in ((TABLE_SCRIPT, TABLE_SCRIPT_HASH), (BOOTSTRAP, BOOTSTRAP_HASH)):
        assert expected == "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        assert not re.search(r"\b(?:fetch|XMLHttpRequest|import\(|eval|Function\(|src\s*=|innerHTML)", script)


def test_the_explorers_embedded_state_is_redacted_value_by_value(tmp_path):
    import nbformat

    from secret_shapes import SHAPES
    from worldflux_nb.render.explorer_record import record_html

    path = executed_like_notebook(tmp_path / "executed.ipynb")
    nb = nbformat.read(path, as_version=4)
    record = nb.cells[3].outputs[0]["data"]
    static, state = record_parts(record["text/html"])
    # Shapes with "&", which the record writes as \u0026: only value-by-value redaction still sees them.
    planted = ("azure_sas", "signed_url_query", "github_token")
    state["data"]["source"] = " ".join(SHAPES[kind][0] for kind in planted)
    record["text/html"] = record_html(static, state)
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    html = notebook_html(path)
    assert not [kind for kind in planted if SHAPES[kind][1] in html]
    assert html.count(BOOTSTRAP) == 1


def test_our_script_outside_a_record_is_left_out(tmp_path):
    import nbformat

    from secret_shapes import SHAPES

    path = executed_like_notebook(tmp_path / "executed.ipynb")
    nb = nbformat.read(path, as_version=4)
    record = nb.cells[3].outputs[0]["data"]
    static, state = record_parts(record["text/html"])
    state["data"]["source"] = SHAPES["azure_sas"][0]
    from worldflux_nb.render.explorer_record import record_html

    # One attribute more on the record's element: no longer a record this module reads value by value.
    record["text/html"] = record_html(static, state).replace('-record">', '-record" title="x">', 1)
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    html = notebook_html(path)
    assert BOOTSTRAP not in html and "hostExplorers" not in html
