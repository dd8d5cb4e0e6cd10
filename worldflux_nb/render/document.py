"""A small document model: each artifact is described once as blocks, then written as Markdown or HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

import numpy as np

from worldflux_nb.core.text import NO_VALUE, is_missing, value_text

Tone = Literal["info", "warning", "danger", "ok"]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Banner:
    """A prominent notice, e.g. LOCAL_PRIVATE / not public-share-ready."""

    text: str
    tone: Tone = "info"


@dataclass(frozen=True)
class KeyValues:
    items: Sequence[tuple[str, Any]]


@dataclass(frozen=True)
class BulletList:
    items: Sequence[str]
    empty_text: str = "None."


class Rows(Sequence[Sequence[Any]]):
    """Table rows made from `items` by `row` as they are read: a table shows only its first
    `max_rows`, so the other rows of a 10,000-cell packet are never formatted."""

    def __init__(self, items: Sequence[Any], row: Callable[[Any], Sequence[Any]]) -> None:
        self._items, self._row = items, row

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._row(item) for item in self._items[index]]
        return self._row(self._items[index])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str | None = None
    # Rows beyond this are summarised, so a 10,000-cell packet stays readable and small.
    max_rows: int | None = None
    # Optional per-row tone, coloured in HTML (e.g. a missing cell).
    row_tones: Sequence[Tone | None] | None = field(default=None)


@dataclass(frozen=True)
class Code:
    """Preformatted text shown verbatim (a command line or a config file)."""

    text: str
    language: str = ""


Block = Heading | Paragraph | Banner | KeyValues | BulletList | Table | Code


@dataclass(frozen=True)
class Document:
    title: str
    blocks: Sequence[Block]


# A list longer than this reads as its first items and a count; the JSON artifact has all of them.
MAX_LIST_ITEMS = 12


def cell_text(value: Any) -> str:
    """How a value reads in a table cell, the same in Markdown and HTML."""
    if is_missing(value):
        return NO_VALUE
    if isinstance(value, np.generic):  # numpy scalars from DataFrame rows read as their Python values
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):  # a rate or an interval bound; integers never arrive as floats here
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        shown = ", ".join(cell_text(v) for v in value[:MAX_LIST_ITEMS])
        hidden = len(value) - MAX_LIST_ITEMS
        return f"{shown}, … (+{hidden} more)" if hidden > 0 else shown
    return value_text(value)


def visible_rows(table: Table) -> tuple[Sequence[Sequence[Any]], int]:
    """The rows to show and how many were left out."""
    if table.max_rows is None or len(table.rows) <= table.max_rows:
        return table.rows, 0
    return table.rows[: table.max_rows], len(table.rows) - table.max_rows
