"""A key given twice is refused at any depth: the fast parse's key count (core.json_reading) against
a plain recursive count, and nested duplicates in a file refused as the standard library's reader does."""

from __future__ import annotations

import random
from typing import Any

import pytest

from worldflux_nb.core.json_reading import _count_keys
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import parse_json_bytes


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
