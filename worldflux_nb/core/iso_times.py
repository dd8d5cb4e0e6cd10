"""ISO 8601 texts read as instants exactly as `pandas.to_datetime(texts, utc=True, errors="coerce",
format="ISO8601")` reads them, without pandas for the common forms.

A text of the form `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM`, optionally `:SS`
and a fraction of 1-9 digits, and then optionally `Z` or `+HH:MM`/`-HH:MM`, is read here (Arrow's
regex kernel, then numpy on the text's bytes): its fields are checked as pandas' parser checks
them (month 1-12, day within that month of that year, hour below 24, minute and second below 60,
offset hours below 24 and minutes below 60), a text failing one is not a time. Its year must lie
in 1678-2261, where any offset keeps the instant inside pandas' nanosecond range, so the
resolution pandas picks for the whole column cannot turn it into NaT. Every other text (other
separators, whitespace, `now`, years outside that span, ...) is handed to pandas, imported only
then, with the resolution the fast texts would have set (see `_pandas_micros`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from worldflux_nb.core.arrow_values import numbers
from worldflux_nb.models.arrow_build import numpy_values

NOT_A_TIME = np.iinfo(np.int64).min  # where pandas reads NaT
FAST_FORM = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
             r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$")
FAST_YEARS = (1678, 2261)
# One text pandas reads at nanoseconds: its presence makes pandas read the whole column at nanoseconds.
NANOSECOND_TEXT = "2000-01-01T00:00:00.000000001"
_DAYS_IN_MONTH = np.array([[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
                           [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]], dtype=np.int64)


def utc_micros(texts: Any) -> np.ndarray:
    """Per text of a null-free Arrow string array (or chunked array), the instant pandas reads as
    UTC microseconds since 1970, floored from nanoseconds, or NOT_A_TIME where pandas reads NaT.

    Microseconds, not nanoseconds: pandas reads a year such as 5000 at microseconds, and an instant
    t is before a moment f of whole microseconds exactly when floor_us(t) is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(len(texts), NOT_A_TIME, dtype=np.int64)
    if not len(texts):
        return out
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    fast = numpy_values(pc.match_substring_regex(texts, pattern=FAST_FORM))
    fields = _fields(texts, np.flatnonzero(fast))
    in_years = (fields["year"] >= FAST_YEARS[0]) & (fields["year"] <= FAST_YEARS[1])
    fast[fast] = in_years
    fields = {name: values[in_years] for name, values in fields.items()}
    valid = _valid(fields)
    out[np.flatnonzero(fast)[valid]] = _micros({name: values[valid] for name, values in fields.items()})
    rest = np.flatnonzero(~fast)
    if len(rest):
        at_nanoseconds = bool(np.any(fields["fraction_digits"][valid] > 6))
        out[rest] = _pandas_micros(texts.take(numbers(rest)).to_pylist(), at_nanoseconds)
    return out


def _fields(texts: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The fields of texts known to have the fast form (ASCII, so a character is a byte), read from
    the array's bytes at fixed positions from each text's start and end."""
    import pyarrow as pa

    width = 8 if pa.types.is_large_string(texts.type) else 4
    offsets = np.frombuffer(texts.buffers()[1], dtype=f"<i{width}", count=len(texts) + 1,
                            offset=texts.offset * width).astype(np.int64)
    data = np.frombuffer(texts.buffers()[2] or b"\0", dtype=np.uint8)
    start, end = offsets[rows], offsets[rows + 1]
    last = len(data) - 1

    def byte(at: np.ndarray) -> np.ndarray:
        return data[np.minimum(at, last)].astype(np.int64)  # a position past a short text reads junk, unused

    def number(at: np.ndarray, width: int) -> np.ndarray:
        value = np.zeros(len(at), dtype=np.int64)
        for k in range(width):
            value = value * 10 + byte(at + k) - ord("0")
        return value

    has_time = end - start > 10
    zone_z = has_time & (byte(end - 1) == ord("Z"))
    zone_sign = byte(end - 6)
    zone_hm = has_time & ((zone_sign == ord("+")) | (zone_sign == ord("-")))
    body_end = end - np.where(zone_z, 1, np.where(zone_hm, 6, 0))
    has_seconds = body_end - start >= 19
    fraction_digits = np.maximum(body_end - start - 20, 0)
    fraction = np.zeros(len(rows), dtype=np.int64)
    for k in range(9):  # nanoseconds: the digits, then zeros to nine places
        digit = np.where(k < fraction_digits, byte(start + 20 + k) - ord("0"), 0)
        fraction = fraction * 10 + digit
    zone_minutes = np.where(zone_hm, number(end - 5, 2) * 60 + number(end - 2, 2), 0)
    return {
        "year": number(start, 4), "month": number(start + 5, 2), "day": number(start + 8, 2),
        "hour": np.where(has_time, number(start + 11, 2), 0),
        "minute": np.where(has_time, number(start + 14, 2), 0),
        "second": np.where(has_seconds, number(start + 17, 2), 0),
        "nanosecond": fraction, "fraction_digits": fraction_digits,
        "zone_hour": np.where(zone_hm, number(end - 5, 2), 0),
        "zone_minute": np.where(zone_hm, number(end - 2, 2), 0),
        "offset_minutes": np.where(zone_sign == ord("-"), -zone_minutes, zone_minutes),
    }


def _valid(f: dict[str, np.ndarray]) -> np.ndarray:
    """Whether each text's fields are in the ranges pandas' ISO 8601 parser accepts."""
    year = f["year"]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (f["month"] >= 1) & (f["month"] <= 12)
    days = _DAYS_IN_MONTH[leap.astype(np.int64), np.clip(f["month"] - 1, 0, 11)]
    return (month_ok & (f["day"] >= 1) & (f["day"] <= days) & (f["hour"] < 24) & (f["minute"] < 60)
            & (f["second"] < 60) & (f["zone_hour"] < 24) & (f["zone_minute"] < 60))


def _micros(f: dict[str, np.ndarray]) -> np.ndarray:
    """Valid fields as UTC microseconds since 1970 (the local time minus its offset)."""
    months = (f["year"] - 1970) * 12 + f["month"] - 1
    days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + f["day"] - 1
    minutes = (days * 24 + f["hour"]) * 60 + f["minute"] - f["offset_minutes"]
    return (minutes * 60 + f["second"]) * 1_000_000 + f["nanosecond"] // 1000


def _pandas_micros(texts: list[str], at_nanoseconds: bool) -> np.ndarray:
    """pandas' reading of texts outside the fast form. pandas reads a whole column at the finest
    resolution any of its texts needs, and at nanoseconds a year outside 1677-2262 is NaT: when a
    fast text needed nanoseconds, one nanosecond text goes along so the rest are read alike."""
    import pandas as pd

    from worldflux_nb.core.bulk import object_array

    column = pd.Series(object_array(texts + ([NANOSECOND_TEXT] if at_nanoseconds else [])), dtype=object)
    stamps = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601").array[:len(texts)]
    values = stamps.asi8
    micros = values // 1000 if stamps.unit == "ns" else values * {"s": 1_000_000, "ms": 1000, "us": 1}[stamps.unit]
    return np.where(np.asarray(stamps.isna()), NOT_A_TIME, micros)
