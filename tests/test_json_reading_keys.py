"""A key given twice is refused at any depth: the fast parse's key count (core.json_reading) against
a plain recursive count, nested duplicates refused as the strict reader refuses them, and strings
holding quotes and colons (JSON text inside a run sheet) read the same, without the strict reader."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from worldflux_nb.core import json_reading
from worldflux_nb.core.json_reading import _count_keys
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import parse_json, parse_json_bytes


def plain_count(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(plain_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(plain_count(v) for v in value)
    return 0


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["dict", "list", "scalar"] if depth < 5 else ["scalar"])
    if kind == "dict":
        return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(0, 5))}
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    return rng.choice([None, True, 3, 2.5, "x", '":'])


def test_the_key_count_is_the_plain_count():
    rng = random.Random(15)
    for _ in range(500):
        value = random_value(rng)
        assert _count_keys(value) == plain_count(value), value
    assert _count_keys(7) == _count_keys("a") == _count_keys(None) == 0


@pytest.mark.parametrize("text, key", [
    ('{"a": 1, "a": 2}', "a"),
    ('[{"x": 1}, {"b": {"c": [1, {"d": 1, "d": 2}]}}]', "d"),
    ('{"cells": [{"episodes": {"count": 1, "start": 0}}, {"episodes": {"count": 1, "count": 100}}]}', "count"),
    ('[[[[{"y": {"z": null, "z" : null}}]]]]', "z"),
])
def test_a_key_given_twice_is_refused_at_any_depth(text, key):
    with pytest.raises(InputError, match="appears twice") as err:
        parse_json_bytes(text.encode(), "plan.json")
    assert err.value.field == key


def random_text(rng: random.Random, depth: int = 0) -> str:
    """JSON text whose keys and strings hold quotes, backslashes and colons, with some keys given twice."""
    def string() -> str:
        return json.dumps("".join(rng.choice(['"', "\\", ":", " ", "a", '":', '\\":']) for _ in range(rng.randrange(4))))

    kind = rng.choice(["object", "array", "scalar"] if depth < 4 else ["scalar"])
    if kind == "object":
        keys = [string() for _ in range(rng.randrange(4))]
        if keys and rng.random() < 0.3:
            keys.append(rng.choice(keys))
        colon = rng.choice([":", ": ", " :"])
        return "{" + ", ".join(f"{key}{colon}{random_text(rng, depth + 1)}" for key in keys) + "}"
    if kind == "array":
        return "[" + ", ".join(random_text(rng, depth + 1) for _ in range(rng.randrange(4))) + "]"
    return rng.choice([string(), "1", "null", "true"])


def test_quotes_and_colons_in_strings_read_exactly_as_the_strict_parser():
    rng = random.Random(16)
    twice = 0
    for _ in range(2000):
        text = random_text(rng)
        try:
            expected: Any = ("ok", parse_json(text, "f.json"))
        except InputError as exc:
            expected = ("error", str(exc))
            twice += "appears twice" in str(exc)
        try:
            got: Any = ("ok", parse_json_bytes(text.encode(), "f.json"))
        except InputError as exc:
            got = ("error", str(exc))
        assert got == expected, text
    assert twice > 100


def test_json_text_inside_strings_takes_the_fast_parse(monkeypatch):
    """A run sheet's harness configs are JSON text in strings: their escaped `\\":` are no keys."""
    config = json.dumps({"server": {"url": "ws://localhost:8000"}, "episodes_per_task": 100}, indent=2)
    data = json.dumps({"invocations": [{"text": config, "key\\\\": 1}], "episodes": [{"a": 1}] * 3}).encode()

    def refused(*args, **kwargs):
        raise AssertionError("the strict parser was asked")

    monkeypatch.setattr(json_reading, "strict_loads", refused)
    assert parse_json_bytes(data, "run_sheet.json") == json.loads(data)
    with pytest.raises(AssertionError, match="strict parser"):
        parse_json_bytes(data.replace(b'{"a": 1}', b'{"a": 1, "a": 2}', 1), "run_sheet.json")


def test_a_long_run_of_backslashes_goes_to_the_strict_parser(monkeypatch):
    """The marker count takes one pass per backslash before a `":`: past a short run a hostile file would
    make it quadratic, so such text is read by the strict (linear) parser instead, with the same value."""
    asked = []
    strict = json_reading.strict_loads

    def counted(*args, **kwargs):
        asked.append(True)
        return strict(*args, **kwargs)

    monkeypatch.setattr(json_reading, "strict_loads", counted)
    for run in (1, json_reading.MAX_BACKSLASH_RUN // 2 - 1, 2_000):
        value = {"text": "\\" * run + '":', "key": 1}
        data = json.dumps(value).encode()  # every backslash escaped: 2 * run of them before `\\":`
        assert parse_json_bytes(data, "hostile.json") == value
    assert asked == [True]  # only the long run
