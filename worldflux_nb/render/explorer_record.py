"""The explorer in a saved record: its static view, its state as inert JSON, and one inline script.

A saved notebook is read where no widget manager restores the explorer (stock nbconvert HTML, `notebook
html`) or where one would show a widget whose model is gone. So the executed record carries the explorer
as `text/html` only: the static view (what sanitisers and untrusted frontends show), the widget's state in a
`<script type="application/json">` (every `<`, `>`, `&`, U+2028 and U+2029 escaped, so no value can end
the element), and one classic script — `explorer.js` (the widget's own front end) followed by
`explorer_page.js` — that, where scripts run, replaces the static view with the interactive explorer.
The script is the same bytes in every record, so a page's Content-Security-Policy can allow it by hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

_HERE = Path(__file__).parent
_EXPORT = "\nexport default { render };\n"
STATE_KEYS = ("data", "filters", "selected", "search")
RECORD_CLASS = "worldflux-nb-explorer-record"
_OPEN = f'<div class="{RECORD_CLASS}">'
_STATE_OPEN = '<script type="application/json" class="wfnb-explorer-state">'


def _bootstrap() -> str:
    front_end = (_HERE / "explorer.js").read_text(encoding="utf-8")
    if front_end.count(_EXPORT) != 1 or not front_end.endswith(_EXPORT):
        raise RuntimeError("explorer.js must end with its one `export default { render };`")
    script = ('(function () {\n"use strict";\n' + front_end[: -len(_EXPORT)] + "\n"
              + (_HERE / "explorer_page.js").read_text(encoding="utf-8")
              + "hostExplorers(render, document.currentScript);\n})();\n")
    # Inside <script> the HTML parser ends the element at "</script" and changes state at "<!--".
    if re.search(r"(?i)</script|<!--|<script", script):
        raise RuntimeError("the explorer's script may not contain </script, <script or <!--")
    return script


BOOTSTRAP = _bootstrap()


def script_hash(script: str) -> str:
    """A Content-Security-Policy source allowing this one inline script (`'sha256-…'` without quotes)."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()


BOOTSTRAP_HASH = script_hash(BOOTSTRAP)
_TAIL = f"</script><script>{BOOTSTRAP}</script></div>"
_UNSAFE_IN_SCRIPT = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def embedded_json(state: dict[str, Any]) -> str:
    """The explorer's state as JSON text that cannot end or confuse the <script> holding it."""
    kept = {key: state[key] for key in STATE_KEYS if key in state}
    text = json.dumps(kept, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
    # These characters occur only inside JSON strings, where the escapes mean the same characters.
    return re.sub("[<>&\u2028\u2029]", lambda m: _UNSAFE_IN_SCRIPT[m.group(0)], text)


def record_html(static_html: str, state: dict[str, Any]) -> str:
    """The explorer's `text/html` in a saved record: static view, embedded state, the one script."""
    return f"{_OPEN}{static_html}{_STATE_OPEN}{embedded_json(state)}{_TAIL}"


def _refuse(constant: str) -> None:
    raise ValueError(constant)


def record_parts(html: str) -> tuple[str, dict[str, Any]] | None:
    """(static view, state) of a record made by `record_html` with today's script byte for byte, else None."""
    if not (html.startswith(_OPEN) and html.endswith(_TAIL)):
        return None
    body = html[len(_OPEN): -len(_TAIL)]
    static, found, embedded = body.rpartition(_STATE_OPEN)
    if not found or "<" in embedded:
        return None
    try:
        state = json.loads(embedded, parse_constant=_refuse)  # NaN/Infinity: not JSON a browser parses
    except ValueError:
        return None
    if not isinstance(state, dict) or set(state) - set(STATE_KEYS) or not isinstance(state.get("data"), dict):
        return None
    return static, state
