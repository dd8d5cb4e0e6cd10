"""Documents as GitHub-flavoured Markdown."""

from __future__ import annotations

from worldflux_nb.render.document import (
    Banner, BulletList, Code, Document, Heading, KeyValues, Paragraph, Table, cell_text, visible_rows,
)

_TONE_LABEL = {"info": "Note", "warning": "Warning", "danger": "Important", "ok": "OK"}


def _escape_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(block: Table) -> list[str]:
    rows, hidden = visible_rows(block)
    lines = []
    if block.caption:
        lines += [f"*{block.caption}*", ""]
    lines.append("| " + " | ".join(_escape_cell(c) for c in block.columns) + " |")
    lines.append("|" + "|".join("---" for _ in block.columns) + "|")
    lines += ["| " + " | ".join(_escape_cell(cell_text(v)) for v in row) + " |" for row in rows]
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
    out: list[str] = [f"# {document.title}", ""]
    for block in document.blocks:
        if isinstance(block, Heading):
            out.append("#" * max(2, min(block.level, 6)) + " " + block.text)
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Banner):
            out.append(f"> **{_TONE_LABEL[block.tone]}:** {block.text}")
        elif isinstance(block, KeyValues):
            out += [f"- **{k}:** {cell_text(v)}" for k, v in block.items]
        elif isinstance(block, BulletList):
            out += [f"- {item}" for item in block.items] if block.items else [block.empty_text]
        elif isinstance(block, Table):
            out += _table(block)
        elif isinstance(block, Code):
            out.append(_code(block))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
