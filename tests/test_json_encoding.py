"""The fast JSON writer (models/digest.py, orjson) writes exactly the bytes `json.dumps` writes:
every artifact file and every digest stays what it was, whatever the values."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worldflux_nb.io.files import json_bytes, json_text
from worldflux_nb.models.digest import canonical_json, canonical_json_with, digest_of, pretty_json, pretty_json_bytes


def stdlib_pretty(value):
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)


def stdlib_canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                   st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False),
                   st.sampled_from([1e-05, 9.999999999999999e-05, 1e-4, -1e-7, 5e-324, 1e16, 1e22, -0.0, 0.0]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), floats,
                    st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
                    st.sampled_from(["\x00\x1f\x7f", "\u2028\u2029", "é😀\"\\/", "</script>", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=6), inner, max_size=5)), max_leaves=40)


@settings(max_examples=600, deadline=None)
@given(values)
def test_same_bytes_as_the_standard_library(value):
    assert pretty_json(value) == stdlib_pretty(value)
    assert json_text(value) == stdlib_pretty(value) + "\n"
    assert canonical_json(value) == stdlib_canonical(value)
    assert pretty_json_bytes(value) == stdlib_pretty(value).encode("utf-8")
    assert json_bytes(value) == (stdlib_pretty(value) + "\n").encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "rows"), values, max_size=5), values)
def test_a_value_encoded_apart_is_spliced_in_as_the_whole_would_be_written(head, rows):
    assert canonical_json_with(head, "rows", canonical_json(rows)) == stdlib_canonical({**head, "rows": rows})


def test_splicing_falls_back_to_json_for_a_head_orjson_cannot_write():
    head = {"big": 2**64, "p": 1e-05}
    assert canonical_json_with(head, "rows", canonical_json([1e-7, 2])) == stdlib_canonical({**head, "rows": [1e-7, 2]})
    with pytest.raises(ValueError):
        canonical_json_with({"rows": 1}, "rows", b"[]")


@pytest.mark.parametrize("value", [
    {"p": 1e-05, "q": [2.5e-7, -3e-300, 0.0001, 0.00012], "r": {"s": 1e-100}},  # orjson: 0.00001, 2.5e-7
    {"big": 2**64, "small": -2**63 - 1},                                     # beyond orjson's 64 bits
    {1: "int key", 3: "another"}, {True: 1}, {None: 2},                       # keys json.dumps converts
    {"surrogate": "\ud800"},                                                  # orjson refuses, json writes
    [1, (2, 3), {"nested": ({"t": 1e-9},)}],
])
def test_values_orjson_spells_differently_come_out_as_json_writes_them(value):
    assert pretty_json(value) == stdlib_pretty(value)
    if "surrogate" not in value:
        assert pretty_json_bytes(value) == stdlib_pretty(value).encode("utf-8")
        assert canonical_json(value) == stdlib_canonical(value)
        assert digest_of(value) == "sha256:" + __import__("hashlib").sha256(stdlib_canonical(value)).hexdigest()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused_as_json_refuses_them(bad):
    for value in (bad, {"a": [1, {"b": bad}]}):
        with pytest.raises(ValueError):
            pretty_json(value)
        with pytest.raises(ValueError):
            canonical_json(value)


def test_types_json_refuses_are_still_refused():
    import datetime
    import uuid

    for value in ({"when": datetime.date(2024, 1, 1)}, [uuid.UUID(int=1)], {"set": {1}}):
        with pytest.raises(TypeError):
            pretty_json(value)
        with pytest.raises(TypeError):
            canonical_json(value)


def test_subclasses_are_written_as_json_writes_them():
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Name(str):
        pass

    class Rate(float):
        pass

    value = {"level": Level.HIGH, "name": Name("x"), "rate": Rate(1e-06), Name("key"): 1}
    assert pretty_json(value) == stdlib_pretty(value)
    assert canonical_json(value) == stdlib_canonical(value)
