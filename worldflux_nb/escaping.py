"""One escaping function per output format, for text that came from an input.

Every renderer calls these: Markdown (render/markdown.py), HTML (render/html.py and the display
bundles), CSV (the run sheet). Text from a profile, a contract, a harness file or a file name may
hold markup; escaped, it reads as the characters it is and never as a heading, a link, an image, a
script, a table break or a spreadsheet formula.
"""

from __future__ import annotations

import html
import re
from typing import Any

# Anything that ends a line in a Markdown renderer: one line of input stays one line of output, so
# no "\n# Verdict: APPROVED" can forge a heading.
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
# Inline Markdown punctuation: emphasis, code, links and images, strikethrough, escapes.
_INLINE = re.compile(r"([\\`*\[\]~])")
# `_` only at a word's edge (intra-word underscores never emphasise in CommonMark/GFM), so ids like
# libero_spatial/6 read as they are.
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What makes a block when it starts a line: heading, list, quote (already an entity), setext, rule.
_BLOCK_START = re.compile(r"^(\s*)(?:([#+=-])|(\d{1,9})([.)]))")
_FORMULA_START = re.compile(r"^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]")
# Characters a reader never sees but a terminal or an editor acts on: C0 and C1 controls other than
# tab and line breaks (ESC starts terminal sequences, NUL truncates), DEL, and the bidirectional
# overrides and isolates that reorder what is displayed ("Trojan Source").
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(value: Any) -> str:
    """The text with each invisible control character shown as its escape (ESC as \\x1b)."""
    text = str(value)
    if not _INVISIBLE.search(text):
        return text
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) > 0xFF
                          else f"\\x{ord(m.group()):02x}", text)


def markdown_text(value: Any) -> str:
    """Text safe anywhere in a Markdown line: no raw HTML, link, image, emphasis or new block."""
    text = _LINE_BREAKS.sub(" ", visible_controls(value))
    text = html.escape(text, quote=False)  # <script>, <img>, <button data-commandlinker...>, autolinks
    text = _INLINE.sub(r"\\\1", text)
    text = _EDGE_UNDERSCORE.sub(r"\\_", text)
    return _BLOCK_START.sub(_escape_block_start, text, count=1)


def _escape_block_start(match: re.Match[str]) -> str:
    if match.group(2):
        return match.group(1) + "\\" + match.group(2)
    return match.group(1) + match.group(3) + "\\" + match.group(4)  # "1. x" -> "1\. x": no list


def markdown_cell(value: Any) -> str:
    """markdown_text for a table cell: a pipe cannot end the cell either."""
    return markdown_text(value).replace("|", "\\|")


def html_text(value: Any) -> str:
    """Text safe as HTML element content or a quoted attribute value."""
    return html.escape(visible_controls(value), quote=True)


def csv_cell(value: Any) -> Any:
    """A CSV value that a spreadsheet will not run as a formula (OWASP: prefix a quote); numbers and
    non-text values pass unchanged."""
    if isinstance(value, str) and _FORMULA_START.match(value) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
