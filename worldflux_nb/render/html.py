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


# A table longer than this scrolls in its own box, and its section starts collapsed.
LONG_TABLE_ROWS = 15


def _numeric(values: list[object]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None)


def _table(block: Table) -> str:
    rows, hidden = visible_rows(block)
    tones = list(block.row_tones or [])
    # JupyterLab right-aligns every cell by its own stylesheet: text columns say `left` on each cell.
    numeric = [_numeric([row[i] for row in rows]) if rows else False for i in range(len(block.columns))]
    styles = [f"{_CELL};text-align:right" if n else f"{_CELL};text-align:left" for n in numeric]
    head = "".join(f'<th style="{style}">{escape(str(c))}</th>' for c, style in zip(block.columns, styles))
    body = []
    for i, row in enumerate(rows):
        tone = tones[i] if i < len(tones) else None
        style = f"{_RULE};{_ROW_TINT[tone]}" if tone else _RULE
        cells = "".join(f'<td style="{s}">{escape(cell_text(v))}</td>' for v, s in zip(row, styles))
        body.append(f'<tr style="{style}">{cells}</tr>')
    caption = (f'<caption style="text-align:left;font-style:italic">{escape(block.caption)}</caption>'
               if block.caption else "")
    more = (f'<p style="font-style:italic;opacity:0.8">… {hidden} more rows in the JSON artifact.</p>'
            if hidden else "")
    rows_html = "".join(body)
    table = (f'<table style="border-collapse:collapse;font-size:0.9em;margin:4px 0;text-align:left">{caption}'
             f'<thead><tr style="{_RULE}">{head}</tr></thead><tbody>{rows_html}</tbody></table>')
    return (scroll_box(table) if len(rows) > LONG_TABLE_ROWS else table) + more


def _heading_level(level: int) -> int:
    """Document headings sit one below the title, which is an h2: the notebook's own h1s stay the outline."""
    return max(3, min(level + 1, 6))


def _block(block: object) -> str:
    if isinstance(block, Heading):
        level = _heading_level(block.level)
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


def _section(heading: Heading, blocks: list[object]) -> str:
    """A heading and what follows it as a <details>: open unless it holds a long table."""
    long = any(isinstance(b, Table) and len(b.rows) > LONG_TABLE_ROWS for b in blocks)
    level = _heading_level(heading.level)
    summary = (f'<summary style="cursor:pointer"><h{level} style="display:inline;margin:0">'
               f"{escape(heading.text)}</h{level}></summary>")
    inner = "".join(_block(b) for b in blocks)
    return f'<details{"" if long else " open"} style="margin:8px 0">{summary}{inner}</details>'


def to_html(document: Document) -> str:
    """A fragment suitable for `text/html` in a notebook, or the body of a standalone page.

    The title is an h2 and sections are h3 and lower inside <details>, so a notebook's table of
    contents keeps its own structure; sections with long tables start collapsed.
    """
    parts = [f'<h2 style="margin:4px 0 8px;font-size:1.4em">{escape(document.title)}</h2>']
    heading: Heading | None = None
    section: list[object] = []
    for block in document.blocks:
        if isinstance(block, Heading) and block.level <= 2:
            if heading is not None:
                parts.append(_section(heading, section))
            heading, section = block, []
        elif heading is None:
            parts.append(_block(block))
        else:
            section.append(block)
    if heading is not None:
        parts.append(_section(heading, section))
    return ('<div class="worldflux-nb" style="font-family:system-ui,sans-serif;line-height:1.4;'
            'color:inherit;max-width:100%;overflow-x:auto;text-align:left">' + "".join(parts) + "</div>")
