"""Documents as self-contained HTML: inline styles only, no scripts, no remote URLs.

Colours use translucent tints and `currentColor` so the page reads in light and dark themes alike.
"""

from __future__ import annotations

from worldflux_nb.escaping import html_text as escape
from worldflux_nb.render.document import (
    Banner, BulletList, Code, Document, Heading, KeyValues, Paragraph, Table, cell_text, visible_rows,
)

_TONE_STYLE = {
    "info": "border-left:4px solid #3b82f6;background:rgba(59,130,246,0.10)",
    "warning": "border-left:4px solid #d97706;background:rgba(217,119,6,0.12)",
    "danger": "border-left:4px solid #dc2626;background:rgba(220,38,38,0.12)",
    "ok": "border-left:4px solid #16a34a;background:rgba(22,163,74,0.10)",
}
_ROW_TINT = {
    "info": "background:rgba(59,130,246,0.08)",
    "warning": "background:rgba(217,119,6,0.12)",
    "danger": "background:rgba(220,38,38,0.12)",
    "ok": "background:rgba(22,163,74,0.08)",
}
# Inline styles survive JupyterLab's sanitiser in untrusted notebooks, where <style> elements do not.
# Row rules sit on <tr> (collapsed borders) so each cell carries only its padding: big tables stay small.
_CELL = "padding:2px 8px"  # text-align is inherited from the table; headers set their own
_RULE = "border-bottom:1px solid rgba(128,128,128,0.35)"


# Long content scrolls inside its own box, so an output stays about one screen high.
SCROLL_STYLE = "max-height:32em;overflow:auto;border:1px solid rgba(128,128,128,0.35);padding:0 4px"


def escape_text(text: object) -> str:
    return escape(str(text))


def scroll_box(inner: str) -> str:
    """Content in a scrolling container of about one screen (inline style: sanitisers keep it)."""
    return f'<div style="{SCROLL_STYLE}">{inner}</div>'


def _table(block: Table) -> str:
    rows, hidden = visible_rows(block)
    tones = list(block.row_tones or [])
    head = "".join(f'<th style="{_CELL};text-align:left">{escape(str(c))}</th>' for c in block.columns)
    body = []
    for i, row in enumerate(rows):
        tone = tones[i] if i < len(tones) else None
        style = f"{_RULE};{_ROW_TINT[tone]}" if tone else _RULE
        cells = "".join(f'<td style="{_CELL}">{escape(cell_text(v))}</td>' for v in row)
        body.append(f'<tr style="{style}">{cells}</tr>')
    caption = (f'<caption style="text-align:left;font-style:italic">{escape(block.caption)}</caption>'
               if block.caption else "")
    more = (f'<p style="font-style:italic;opacity:0.8">… {hidden} more rows in the JSON artifact.</p>'
            if hidden else "")
    rows_html = "".join(body)
    return (f'<table style="border-collapse:collapse;font-size:0.9em;margin:4px 0;text-align:left">{caption}'
            f'<thead><tr style="{_RULE}">{head}</tr></thead><tbody>{rows_html}</tbody></table>{more}')


def _block(block: object) -> str:
    if isinstance(block, Heading):
        level = max(2, min(block.level, 6))
        return f'<h{level} style="margin:12px 0 4px">{escape(block.text)}</h{level}>'
    if isinstance(block, Paragraph):
        return f'<p style="margin:4px 0">{escape(block.text)}</p>'
    if isinstance(block, Banner):
        return f'<div style="{_TONE_STYLE[block.tone]};padding:6px 10px;margin:6px 0">{escape(block.text)}</div>'
    if isinstance(block, KeyValues):
        items = "".join(f"<li><b>{escape(k)}:</b> {escape(cell_text(v))}</li>" for k, v in block.items)
        return f'<ul style="margin:4px 0">{items}</ul>'
    if isinstance(block, BulletList):
        if not block.items:
            return f'<p style="margin:4px 0;opacity:0.8">{escape(block.empty_text)}</p>'
        return '<ul style="margin:4px 0">' + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Code):
        return (f'<pre style="margin:4px 0;padding:6px 8px;overflow-x:auto;white-space:pre">'
                f"{escape(block.text)}</pre>")
    raise TypeError(f"unknown block {type(block).__name__}")


def to_html(document: Document) -> str:
    """A fragment suitable for `text/html` in a notebook, or the body of a standalone page."""
    parts = [f'<h1 style="margin:4px 0 8px;font-size:1.4em">{escape(document.title)}</h1>']
    parts += [_block(b) for b in document.blocks]
    return ('<div class="worldflux-nb" style="font-family:system-ui,sans-serif;line-height:1.4;'
            'color:inherit;max-width:100%;overflow-x:auto">' + "".join(parts) + "</div>")
