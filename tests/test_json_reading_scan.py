"""The fast scan for absurdly long integers (core.json_reading.has_long_digits) against the regular
expression it replaced, including runs across the pieces it masks at a time."""

from __future__ import annotations

import random
import re

import pytest

from worldflux_nb.core import json_reading
from worldflux_nb.core.json_reading import MAX_NUMBER_DIGITS, has_long_digits
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import parse_json_bytes

REFERENCE = re.compile(rb"[0-9]{%d}" % (MAX_NUMBER_DIGITS + 1))


def _texts() -> list[bytes]:
    rng = random.Random(15)
    texts = [b"", b"7" * MAX_NUMBER_DIGITS, b"7" * (MAX_NUMBER_DIGITS + 1), b"x" + b"0" * 101 + b"x",
             b"9" * 100 + b"." + b"9" * 100, b"\xd9" * 300, "١".encode() * 150,  # non-ASCII digits do not count
             b"/" * 120 + b":" * 120]
    for _ in range(300):  # digit runs of random lengths among other bytes, runs near 101 digits common
        parts = []
        for _ in range(rng.randrange(1, 8)):
            parts.append(bytes(rng.choice(b"0123456789") for _ in range(rng.choice([rng.randrange(0, 240), 100, 101, 102]))))
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 4))))
        texts.append(b"".join(parts))
    return texts


@pytest.mark.parametrize("piece", [1, 7, 100, 101, 1 << 24])
def test_long_digit_scan_agrees_with_the_regular_expression(monkeypatch, piece):
    monkeypatch.setattr(json_reading, "_SCAN_PIECE", piece)
    for text in _texts():
        expected = REFERENCE.search(text) is not None
        assert has_long_digits(text) is expected, text
        assert has_long_digits(bytearray(text)) is expected
        assert has_long_digits(memoryview(text)) is expected
        assert has_long_digits(text.decode("latin-1")) is expected


def test_a_long_integer_in_a_json_file_is_still_refused_naming_it():
    with pytest.raises(InputError, match="101-digit integer"):
        parse_json_bytes(b'{"seed": ' + b"1" * 101 + b"}", "plan.json")
    assert parse_json_bytes(b'{"seed": ' + b"1" * 100 + b"}", "plan.json") == {"seed": int("1" * 100)}
