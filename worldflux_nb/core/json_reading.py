"""One way to read JSON from untrusted files: fast, strict, and refusing what a parser would hide.

A key given twice in one object (parsers keep the last, so `"success": false, "success": true`
reads as a success) and an integer too long to be a count, index or seed are refused naming the
file and the key; bare NaN/Infinity only where a harness is known to write them. Every JSON input
— artifact files, harness files, JSON Lines rows — is read through this module.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic_core

from worldflux_nb.errors import InputError

# An integer longer than this is no count, index or seed; Python itself refuses past 4300 digits.
MAX_NUMBER_DIGITS = 100
_SPACED_COLON = re.compile(r'"[ \t\r\n]+:')
_LONG_DIGITS = re.compile(r"[0-9]{%d}" % (MAX_NUMBER_DIGITS + 1))
_SPACED_COLON_BYTES = re.compile(_SPACED_COLON.pattern.encode())
_DIGIT_MASK = bytes(1 if 0x30 <= byte <= 0x39 else 0 for byte in range(256))  # digits to 1, other bytes to 0
_LONG_RUN = b"\x01" * (MAX_NUMBER_DIGITS + 1)
_SCAN_PIECE = 1 << 24  # bytes masked at a time, so a large file is not copied whole


def strict_loads(text: str, source: str, *, where: str | None = None, allow_nan: bool = False) -> Any:
    """The standard library's parse with every refusal as one InputError naming source and where."""

    def refuse_constant(name: str) -> Any:
        if allow_nan:
            return float(name.replace("Infinity", "inf"))
        raise InputError(source, where, f"holds a bare {name}, which is not JSON")

    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
            raise InputError(source, where, f"holds a {len(digits)}-digit integer, too long to be evidence")
        return int(digits)

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                field = f"{where}.{key}" if where else key
                raise InputError(source, field, "appears twice in one JSON object; which value holds "
                                 "is ambiguous, so the file is refused")
            out[key] = value
        return out

    if not text.strip():
        raise InputError(source, where, "is empty")
    try:
        return json.loads(text, parse_constant=refuse_constant, parse_int=parse_int,
                          object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        raise InputError(source, where, f"is not valid JSON ({exc.msg} at line {exc.lineno} "
                         f"column {exc.colno})") from None
    except RecursionError:
        raise InputError(source, where, "is nested too deeply to be evidence") from None
    except ValueError as exc:  # e.g. Python's own integer-string conversion limit
        raise InputError(source, where, f"cannot be read as JSON ({exc})") from None


def fast_loads(data: bytes | str, source: str, *, where: str | None = None, allow_nan: bool = False,
               decode: Any = None) -> Any:
    """pydantic-core's parser first (several times faster on large files); strict_loads for
    whatever it refuses or might read differently, so every refusal reads the same.

    `decode` turns bytes into text for the strict path (the edge's UTF-8 check).
    """
    if not allow_nan:
        try:
            value = pydantic_core.from_json(data, allow_inf_nan=False, cache_strings="all")
        except ValueError:
            value = _UNREAD
        if value is not _UNREAD and not _may_hide_something(data, value):
            return value
    text = data if isinstance(data, str) else (decode(data) if decode else data.decode("utf-8-sig"))
    return strict_loads(text, source, where=where, allow_nan=allow_nan)


_UNREAD = object()


# Backslashes before a `":` that the key count follows one by one; a longer run goes to the strict parser.
MAX_BACKSLASH_RUN = 16


def _may_hide_something(data: bytes | str, value: Any) -> bool:
    """Whether the fast parse may have kept only the last of two equal keys or read an absurd integer.

    Every key in the text ends in `"` then `:` (whitespace between allowed); counting those markers
    is linear, so a count equal to the parsed keys proves no key was dropped; any other count sends
    the text to the strict parser. A `"` inside a string is escaped, so a marker there follows an odd
    number of backslashes and is not counted (a run sheet's harness configs hold JSON text: counted,
    every run sheet went to the strict parser, 8 s at 1M episodes); a spaced one may still over-count.
    """
    text = isinstance(data, str)
    if has_long_digits(data):
        return True
    return _key_markers(data, text) != _count_keys(value)


def _key_markers(data: bytes | str, text: bool) -> int:
    """Markers `":` after an even number of backslashes (c0 - c1 + c2 - ..., ck counting those after
    at least k), plus every `"` whitespace `:`; -1 (the strict parser) past MAX_BACKSLASH_RUN."""
    marker, backslash = ('":', "\\") if text else (b'":', b"\\")
    markers, sign, after = 0, 1, marker
    for _ in range(MAX_BACKSLASH_RUN + 1):  # one count per backslash: a long run would be quadratic
        found = data.count(after)  # type: ignore[arg-type]
        if not found:
            break
        markers += sign * found
        sign, after = -sign, backslash + after  # type: ignore[operator]
    else:
        return -1
    spaced = _SPACED_COLON if text else _SPACED_COLON_BYTES
    if spaced.search(data):  # type: ignore[arg-type]
        markers += sum(1 for _ in spaced.finditer(data))  # type: ignore[arg-type]
    return markers


def has_long_digits(data: bytes | str) -> bool:
    """Whether `data` holds a run of more than MAX_NUMBER_DIGITS ASCII digits.

    For bytes the digits are masked to one byte value and the run searched as a substring, about
    ten times faster than the regular expression on a plan of 10,000 cells; pieces overlap by
    MAX_NUMBER_DIGITS bytes, so a run across a piece's start lies whole in the piece before or in it.
    """
    if isinstance(data, str):
        return _LONG_DIGITS.search(data) is not None
    if not isinstance(data, (bytes, bytearray)):
        data = bytes(data)  # e.g. a memoryview, which has no translate
    for start in range(0, len(data), _SCAN_PIECE):
        if _LONG_RUN in data[max(0, start - MAX_NUMBER_DIGITS):start + _SCAN_PIECE].translate(_DIGIT_MASK):
            return True
    return False


def _count_keys(value: Any) -> int:
    """The keys of every object in a parsed value, counted a level at a time: one list per level
    instead of one per object (a plan of 10,000 cells: ~40 -> ~15 ms)."""
    if type(value) is not dict and type(value) is not list:
        return 0
    total, containers = 0, [value]
    while containers:
        children: list[Any] = []
        push = children.append
        for item in containers:
            if type(item) is dict:
                total += len(item)
                item = item.values()
            for element in item:
                if type(element) is dict or type(element) is list:
                    push(element)
        containers = children
    return total
