"""core.iso_times reads ISO 8601 texts as `pd.to_datetime(..., utc=True, errors="coerce",
format="ISO8601")` does: the same instant for every text pandas reads, not a time for every text
it does not, over generated and hostile texts, in columns mixing both paths and resolutions."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from worldflux_nb.core.iso_times import FAST_FORM, NOT_A_TIME, utc_micros

YEARS = ["1677", "1678", "1900", "1969", "1970", "2000", "2024", "2100", "2261", "2262", "2263", "5000",
         "9999", "0000", "0001", "-2024", "20245", "202", "２０２４", "٢٠٢٤"]
MONTHS = ["01", "02", "03", "04", "06", "09", "11", "12", "00", "13", "2", "1"]
DAYS = ["01", "09", "28", "29", "30", "31", "00", "32", "1", "3"]
SEPARATORS = ["T", "T", "T", " ", "t", "", "  ", "_"]
HOURS = ["00", "09", "12", "23", "24", "25", "9", "99"]
MINUTES = ["00", "05", "59", "60", "61", "7"]
FRACTIONS = [""] + ["." + "123456789012"[:n] for n in range(13)] + [".000000001", ".999999999", ".5", ",5"]
ZONES = ["", "", "Z", "Z", "z", "+00:00", "-00:00", "+05:30", "-08:00", "+23:59", "-23:59", "+24:00",
         "+05:60", "+0530", "+05", "+5:30", "+5", "-", " Z", " +01:00", "UTC", "+05:30Z", "Z+01:00"]
ODD = ["", " ", "NaT", "nan", "NaN", "None", "null", "2024", "2024-01", "202401", "20240101",
       "2024-01-01T", "2024-01-01 ", " 2024-01-01", "2024-01-01\n", "\t2024-01-01T00:00:00Z",
       "2024-01-01T10", "2024-01-01T10Z", "2024-01-01T1000", "2024-01-01T10:00:00.", "2024-01-01T10:00:00.Z",
       "2024-1-1", "2024/01/01", "2024-01-01T10:00:00+05:30:00", "1677-09-21T00:12:43.145224192Z",
       "1677-09-21T00:12:43.145224191Z", "2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:16.854775808Z",
       "1678-01-01T00:00:00+23:59", "2261-12-31T23:59:59.999999999-23:59", "9999-12-31T23:59:59.999999999Z",
       "2024-01-01T10:00:00Z ", "2024-01-01T10:00:00ＺZ", "2024-01-0１", "0001-01-01", "-0001-01-01"]


def reference(texts: list[str]) -> list[int]:
    """pandas' reading, as UTC microseconds floored (NOT_A_TIME for NaT)."""
    stamps = pd.to_datetime(pd.Series(texts, dtype=object), utc=True, errors="coerce", format="ISO8601").array
    scale = {"s": 10**6, "ms": 1000, "us": 1}
    values = stamps.asi8 // 1000 if stamps.unit == "ns" else stamps.asi8 * scale[stamps.unit]
    return np.where(np.asarray(stamps.isna()), NOT_A_TIME, values).tolist()


def generated(rng: random.Random) -> str:
    date = f"{rng.choice(YEARS)}-{rng.choice(MONTHS)}-{rng.choice(DAYS)}"
    if rng.random() < 0.15:
        return date
    time = f"{rng.choice(HOURS)}:{rng.choice(MINUTES)}"
    if rng.random() < 0.85:
        time += f":{rng.choice(MINUTES)}{rng.choice(FRACTIONS)}"
    text = date + rng.choice(SEPARATORS) + time + rng.choice(ZONES)
    roll = rng.random()
    if roll < 0.1:  # one character dropped, doubled or swapped for another
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(["", text[at] * 2, rng.choice("0123456789-:T .Zz+٣")]) + text[at + 1:]
    elif roll < 0.13:
        text = rng.choice(ODD)
    return text


def read(texts: list[str]) -> list[int]:
    return utc_micros(pa.array(texts, pa.string())).tolist()


@pytest.mark.parametrize("seed", range(40))
def test_generated_columns_read_as_pandas_reads_them(seed):
    rng = random.Random(seed)
    texts = [generated(rng) for _ in range(rng.choice([1, 5, 50, 500]))]
    assert read(texts) == reference(texts), texts


def test_each_hostile_text_alone_and_in_a_nanosecond_column():
    nanosecond = "2024-01-01T00:00:00.123456789Z"
    for text in ODD + [f"2024-02-{day}" for day in ("28", "29", "30")] + ["2023-02-29", "1900-02-29",
                                                                          "2000-02-29", "2024-01-01T23:59:60Z"]:
        assert read([text]) == reference([text]), text
        assert read([text, nanosecond]) == reference([text, nanosecond]), text
        assert read([nanosecond, text, "5000-01-01"]) == reference([nanosecond, text, "5000-01-01"]), text


def test_a_year_outside_nanoseconds_is_not_a_time_only_beside_a_nanosecond_text():
    """pandas reads a column at the finest resolution its texts need: year 5000 is a time at
    microseconds and NaT at nanoseconds, whichever path read the nanosecond text."""
    assert read(["5000-01-01"])[0] != NOT_A_TIME
    for column in (["5000-01-01", "2024-01-01T00:00:00.1234567Z"],
                   ["5000-01-01", "2024-01-01 00:00:00.1234567+01"]):
        assert read(column) == reference(column) and read(column)[0] == NOT_A_TIME
    impossible = ["5000-01-01", "2024-02-30T00:00:00.1234567Z"]  # an impossible date sets no resolution
    assert read(impossible) == reference(impossible)


def test_the_fast_form_reads_without_pandas_and_the_rest_with_it(monkeypatch):
    import worldflux_nb.core.iso_times as iso_times

    def no_pandas(texts, at_nanoseconds):
        raise AssertionError(f"pandas asked about {texts}")

    monkeypatch.setattr(iso_times, "_pandas_micros", no_pandas)
    fast = ["2024-01-01", "2024-01-01T10:00Z", "2024-01-01 10:00:00.5+05:30", "2024-02-30",
            "2024-01-01T24:00:00"]
    assert len(read(fast)) == 5
    with pytest.raises(AssertionError):
        read(["2024-01-01T10:00:00+0530"])


def test_now_and_today_go_to_pandas():
    before = pd.Timestamp.now(tz="UTC").value // 1000
    assert all(stamp >= before for stamp in read(["now", "today", "2024-01-01"])[:2])


def test_empty_and_chunked_columns():
    assert utc_micros(pa.chunked_array([], pa.string())).tolist() == []
    chunked = pa.chunked_array([pa.array(["2024-01-01"]), pa.array(["bad", "2024-01-02T00:00:00+01:00"])])
    assert utc_micros(chunked).tolist() == reference(["2024-01-01", "bad", "2024-01-02T00:00:00+01:00"])
    sliced = pa.array(["x", "2024-03-01T00:00:00Z", "2024-03-02"]).slice(1)
    assert utc_micros(sliced).tolist() == reference(["2024-03-01T00:00:00Z", "2024-03-02"])
    assert utc_micros(pa.array(["2024-03-01"], pa.large_string())).tolist() == reference(["2024-03-01"])


parts = st.sampled_from
text_of_parts = st.tuples(parts(YEARS), parts(["-"]), parts(MONTHS), parts(["-", "-", "/"]), parts(DAYS),
                          parts(SEPARATORS + [""]), parts(HOURS), parts([":", ":", ""]), parts(MINUTES),
                          parts([":", ""]), parts(MINUTES + [""]), parts(FRACTIONS), parts(ZONES)).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(text_of_parts, st.text(alphabet="0123456789-:T .Zz+t٢２\n", max_size=32)),
                min_size=1, max_size=12))
def test_any_column_reads_as_pandas_reads_it(texts):
    assert read(texts) == reference(texts)


def test_the_fast_form_is_anchored():
    import pyarrow.compute as pc

    matched = pc.match_substring_regex(pa.array(["x2024-01-01", "2024-01-01x", "2024-01-01\n", "2024-01-01"]),
                                       pattern=FAST_FORM).to_pylist()
    assert matched == [False, False, False, True]
