"""Canonical JSON and `sha256:` digests shared by every artifact (pure: no I/O).

JSON is encoded by orjson where its bytes are the standard library's, and by `json.dumps` otherwise,
so every file and digest reads exactly as `json.dumps(..., sort_keys=True, ensure_ascii=False,
allow_nan=False)` writes it. orjson spells floats with 0 < |x| < 1e-4 differently (`0.00001` and
`1e-7` where Python writes `1e-05` and `1e-07`); such floats go in as fragments holding Python's
spelling. Anything orjson would accept but `json` would not (or spell differently: integers beyond
64 bits, non-string keys, lone surrogates, other types) goes to `json.dumps`, which writes or refuses
it as before.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import orjson

_INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
_SMALLEST_SHARED = 1e-4  # orjson and repr() spell every finite float of at least this size alike


class _NotPlain(Exception):
    """A value orjson might write differently from `json.dumps`: the caller falls back to it."""


def _plain(value: Any) -> Any:
    """`value` ready for orjson: small floats as fragments of Python's spelling, non-finite floats
    refused as `json.dumps(allow_nan=False)` refuses them; containers copied only where they change."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return _plain_float(value)
    if kind is dict or kind is list or kind is tuple:
        return _plain_container(value, kind)
    raise _NotPlain


def _plain_float(value: float) -> Any:
    if not math.isfinite(value):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    if value and -_SMALLEST_SHARED < value < _SMALLEST_SHARED:
        return orjson.Fragment(float.__repr__(value).encode("ascii"))
    return value


def _plain_container(value: Any, kind: type) -> Any:
    """_plain of a dict, list or tuple: scalars checked in this loop, one call per nested container
    (a packet of 100k cells holds millions of values: a call per value cost seconds)."""
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise _NotPlain  # json.dumps turns such keys into text itself
    changed: Any = None
    for key, item in (value.items() if kind is dict else enumerate(value)):
        t = type(item)
        if t is str or t is int or t is bool or item is None:
            continue
        if t is float:
            if item - item == 0 and not (item and -_SMALLEST_SHARED < item < _SMALLEST_SHARED):
                continue  # finite (inf - inf is NaN) and spelt alike
            new = _plain_float(item)
        elif t is dict or t is list or t is tuple:
            new = _plain_container(item, t)
        else:
            raise _NotPlain
        if new is not item:
            if changed is None:
                changed = dict(value) if kind is dict else list(value)
            changed[key] = new
    return value if changed is None else changed


def _all_plain(value: Any) -> bool:
    """Whether orjson writes `value` as it is, exactly as `json.dumps` does: only dicts, lists, strings,
    integers, booleans, None and floats outside (-1e-4, 1e-4) other than 0, all finite. One pass
    without copies; the common case for an artifact (`_plain` copies only when this says no)."""
    stack: list[Any] = [(value,)]  # only containers are pushed
    push = stack.append
    while stack:
        item = stack.pop()
        for element in (item.values() if type(item) is dict else item):
            t = type(element)
            if t is str or t is int or t is bool or element is None:
                continue
            if t is float:
                if element - element != 0 or (element and -_SMALLEST_SHARED < element < _SMALLEST_SHARED):
                    return False  # non-finite (inf - inf is NaN) or spelt differently by orjson
            elif t is dict or t is list or t is tuple:
                push(element)
            else:
                return False
    return True


def _ready(value: Any) -> Any:
    """`value` ready for orjson (`_plain`), a dict's members checked one by one: one small float among
    the findings of a packet then copies the findings, not the packet's 100k cells as well."""
    if type(value) is not dict:
        return value if _all_plain(value) else _plain(value)
    changed: dict[Any, Any] | None = None
    for key, item in value.items():
        if not _all_plain((item,)):
            if changed is None:
                changed = dict(value)
            changed[key] = _plain(item)
    return value if changed is None else changed


def _orjson(value: Any, option: int) -> bytes | None:
    """orjson's bytes where they are `json.dumps`'s, None where `json.dumps` must write the value."""
    try:
        return orjson.dumps(_ready(value), option=option)
    except (_NotPlain, orjson.JSONEncodeError):
        return None


def pretty_json_bytes(value: Any) -> bytes:
    """pretty_json(value) as UTF-8, not decoded (a packet.json of 84 MB took ~0.2 s to decode and
    as long to encode again for its file)."""
    data = _orjson(value, _INDENTED)
    return _pretty_dumps(value).encode("utf-8") if data is None else data


def pretty_json(value: Any) -> str:
    """`_pretty_dumps(value)`, faster."""
    data = _orjson(value, _INDENTED)
    # The text form stays text: json.dumps may write what UTF-8 cannot hold (a lone surrogate).
    return _pretty_dumps(value) if data is None else data.decode("utf-8")


def _pretty_dumps(value: Any) -> str:
    """The pretty form both functions above give, written by the standard library (their fallback)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8; NaN is refused so digests stay portable."""
    data = _orjson(value, orjson.OPT_SORT_KEYS)
    if data is None:
        data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    return data


def canonical_json_with(head: dict[str, Any], key: str, value_json: bytes) -> bytes:
    """canonical_json of `head` with `key` added, given `value_json`, the canonical JSON of its value:
    the value (a packet's 100k cells, which its results digest has already encoded) is not encoded again."""
    if key in head:
        raise ValueError(f"{key!r} is given twice")
    try:
        return orjson.dumps({**_ready(head), key: orjson.Fragment(value_json)}, option=orjson.OPT_SORT_KEYS)
    except (_NotPlain, orjson.JSONEncodeError):  # json.dumps writes the head: the value read back is the same JSON
        return canonical_json({**head, key: json.loads(value_json)})


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def seals(digest: str | None, value: dict[str, Any], *, without: str) -> bool:
    """Whether `value`, a JSON object as a parser returned it, is exactly the content `digest` sealed
    (`value` without its own digest field `without`).

    orjson's bytes without the float check: bytes equal to the sealed canonical JSON read back as
    that very content. False may mean only that orjson spells a float unlike `json.dumps` (or
    refuses an integer beyond 64 bits): ask `digest_of` then. NaN, which orjson would write as null,
    never gets here: a parser refuses it, and so do the models (allow_inf_nan=False).
    """
    if digest is None:
        return False
    try:
        data = orjson.dumps({k: v for k, v in value.items() if k != without}, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return False
    return sha256_bytes(data) == digest


def digest_of(value: Any, *, without: str | None = None) -> str:
    """Digest of a JSON-ready value, leaving out its own digest field when named."""
    if without is not None and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != without}
    return sha256_bytes(canonical_json(value))
