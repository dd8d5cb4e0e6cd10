"""`notebook html`: an executed notebook as one self-contained, offline HTML report.

nbconvert's lab template minus everything it would fetch (require.js, MathJax, Mermaid, the widget
manager), with a Content-Security-Policy that lets the page load nothing and run one script: our own
`render/report_tables.js`, inlined and allowed by its SHA-256 hash, which makes long tables sortable and
searchable (without it they read as they are, in scrolling boxes), and the explorer's script (its front end,
render/explorer_record.py, allowed by its hash too), which turns the explorer's static view into the
interactive explorer over the state the record embeds. Other widgets show their static `text/html` view,
charts their SVG as an image with the chart's one-line summary as alt text, and script outputs are left
out; any other script in the page is refused by the policy.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

from worldflux_nb.render.explorer_record import BOOTSTRAP as EXPLORER_SCRIPT
from worldflux_nb.render.explorer_record import BOOTSTRAP_HASH as EXPLORER_SCRIPT_HASH
from worldflux_nb.render.explorer_record import record_html, record_parts, script_hash

# The one script the report runs (sortable, searchable long tables), inlined; the policy names its hash.
TABLE_SCRIPT = (Path(__file__).parents[1] / "render" / "report_tables.js").read_text(encoding="utf-8")
TABLE_SCRIPT_HASH = script_hash(TABLE_SCRIPT)
# Nothing from the network and no script but ours (the tables' and the explorer's); inline styles and
# data: images only.
CONTENT_SECURITY_POLICY = (f"default-src 'none'; script-src '{TABLE_SCRIPT_HASH}' '{EXPLORER_SCRIPT_HASH}'; "
                           "img-src data:; style-src 'unsafe-inline'; font-src data:; base-uri 'none'; "
                           "form-action 'none'")
# What a page without scripts can show, best first: never a widget view or JavaScript.
DISPLAY_PRIORITY = ["text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/latex",
                    "text/plain"]
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.worldflux_csp }}">
<script>{{ resources.worldflux_script }}</script>
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
<img src="data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 | escape_html }}"
 alt="{{ output.data.get('text/plain', 'chart') | escape_html }}">
</div>
{%- endblock data_svg %}
{% block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output.data.get('text/plain', 'image') | escape_html }}">
</div>
{%- endblock data_png %}
"""


def report_notebook(notebook: object) -> object:
    """A copy without widget state or script outputs: what a page that runs no script can show."""
    nb = copy.deepcopy(notebook)
    nb.metadata.pop("widgets", None)  # nbconvert would render widget views from it, through a CDN
    for cell in nb.cells:
        cell.source = _redacted(cell.source)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _redacted(output["text"])
            if "traceback" in output:
                output["traceback"] = [_redacted(line) for line in output["traceback"]]
            data = output.get("data")
            if data:
                for mime in [m for m in data if m not in DISPLAY_PRIORITY]:
                    del data[mime]
                for mime in ("text/plain", "text/markdown", "text/latex"):
                    if isinstance(data.get(mime), str):
                        data[mime] = _redacted(data[mime])
                if isinstance(data.get("text/html"), str):
                    data["text/html"] = _redacted_html(data["text/html"])
    return nb


def _redacted_html(html: str) -> str:
    """Markup: secrets only (paths may be attributes); an explorer record's embedded state value by value
    (escaped JSON would hide a secret from the text rules) and put back together with our script."""
    from worldflux_nb.models.redaction import redact_value

    parts = record_parts(html)
    if parts is None:  # our script outside a record would show JSON that was never redacted value by value
        return _redacted(html.replace(EXPLORER_SCRIPT, ""), secrets_only=True)
    static, state = parts
    return record_html(_redacted(static, secrets_only=True), redact_value(state, "explorer")[0])


def _redacted(text: str, *, secrets_only: bool = False) -> str:
    """An export carries no secret and no host-local path (DESIGN, Privacy): the same rules as evidence."""
    from worldflux_nb.models.redaction import is_secret_kind, redact_text

    return redact_text(text, kinds=is_secret_kind if secrets_only else None)[0]


def notebook_html(path: str | os.PathLike[str]) -> str:
    """The executed notebook at `path` as a standalone HTML page that loads nothing."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from worldflux_nb.io.notebook_runner import read_notebook

    nb = report_notebook(read_notebook(path))
    with tempfile.TemporaryDirectory(prefix="worldflux-nb-html-") as base:
        folder = Path(base) / "worldflux_offline"
        folder.mkdir()
        (folder / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
        (folder / "index.html.j2").write_text(TEMPLATE, encoding="utf-8")
        exporter = HTMLExporter(template_name="worldflux_offline", extra_template_basedirs=[base],
                                config=Config({"NbConvertBase": {"display_data_priority": DISPLAY_PRIORITY}}))
        html, _ = exporter.from_notebook_node(nb, resources={
            "worldflux_csp": CONTENT_SECURITY_POLICY, "worldflux_script": TABLE_SCRIPT,
            "metadata": {"name": Path(path).stem}})
    return html
