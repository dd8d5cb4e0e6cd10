"""Documents as GitHub-flavoured Markdown; every text is escaped (worldflux_nb.escaping)."""

from __future__ import annotations

from worldflux_nb.escaping import markdown_cell, markdown_text
from worldflux_nb.render.document import (
    Banner, BulletList, Code, Document, Heading, KeyValues, Paragraph, Table, cell_text, visible_rows,
)

_TONE_LABEL = {"info": "Note", "warning": "Warning", "danger": "Important", "ok": "OK"}


def _table(block: Table) -> list[str]:
    rows, hidden = visible_rows(block)
    lines = []
    if block.caption:
        lines += [f"*{markdown_text(block.caption)}*", ""]
    lines.append("| " + " | ".join(markdown_cell(c) for c in block.columns) + " |")
    lines.append("|" + "|".join("---" for _ in block.columns) + "|")
    lines += ["| " + " | ".join(markdown_cell(cell_text(v)) for v in row) + " |" for row in rows]
    if hidden:
        lines += ["", f"*… {hidden} more rows in the JSON artifact.*"]
    return lines


def _code(block: Code) -> str:
    """A fenced block whose fence is longer than any run of backticks inside it."""
    longest = max((len(run) for run in block.text.split("\n") for run in _backtick_runs(run)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{block.language}\n{block.text.rstrip()}\n{fence}"


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for ch in line:
        if ch == "`":
            current += ch
        elif current:
            runs.append(current)
            current = ""
    return runs + ([current] if current else [])


def to_markdown(document: Document) -> str:
    out: list[str] = [f"# {markdown_text(document.title)}", ""]
    for block in document.blocks:
        if isinstance(block, Heading):
            out.append("#" * max(2, min(block.level, 6)) + " " + markdown_text(block.text))
        elif isinstance(block, Paragraph):
            out.append(markdown_text(block.text))
        elif isinstance(block, Banner):
            out.append(f"> **{_TONE_LABEL[block.tone]}:** {markdown_text(block.text)}")
        elif isinstance(block, KeyValues):
            out += [f"- **{markdown_text(k)}:** {markdown_text(cell_text(v))}" for k, v in block.items]
        elif isinstance(block, BulletList):
            out += ([f"- {markdown_text(item)}" for item in block.items] if block.items
                    else [markdown_text(block.empty_text)])
        elif isinstance(block, Table):
            out += _table(block)
        elif isinstance(block, Code):
            out.append(_code(block))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
