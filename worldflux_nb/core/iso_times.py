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
BLOCK = 1 << 16  # texts read at a time
WIDTH = 35  # the longest fast-form text: date, time with nine fraction digits, and an offset
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
    at_nanoseconds = False
    offsets, padded = _bytes(texts)
    for block in np.array_split(np.flatnonzero(fast), range(BLOCK, int(fast.sum()), BLOCK)):
        fields = _fields(offsets, padded, block)  # temporaries per block stay in the CPU's cache
        in_years = (fields["year"] >= FAST_YEARS[0]) & (fields["year"] <= FAST_YEARS[1])
        fast[block[~in_years]] = False
        valid = in_years & _valid(fields)
        out[block[valid]] = _micros({name: values[valid] for name, values in fields.items()})
        at_nanoseconds |= bool(np.any(fields["fraction_digits"][valid] > 6))
    del padded
    rest = np.flatnonzero(~fast)
    if len(rest):
        out[rest] = _pandas_micros(texts.take(numbers(rest)).to_pylist(), at_nanoseconds)
    return out


def _bytes(texts: Any) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets (int64) and its bytes, followed by WIDTH zero bytes so that every
    text's window of WIDTH bytes lies inside."""
    import pyarrow as pa

    width = 8 if pa.types.is_large_string(texts.type) else 4
    offsets = np.frombuffer(texts.buffers()[1], dtype=f"<i{width}", count=len(texts) + 1,
                            offset=texts.offset * width).astype(np.int64)
    data = texts.buffers()[2]
    padded = np.zeros((data.size if data is not None else 0) + WIDTH, dtype=np.uint8)
    if data is not None:
        padded[:data.size] = np.frombuffer(data, dtype=np.uint8)
    return offsets, padded


def _fields(offsets: np.ndarray, padded: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The fields of texts known to have the fast form (ASCII, so a character is a byte): each
    text's first WIDTH bytes gathered as one row of a grid, fields read from its columns (the date
    and time at fixed places, the offset from the text's end)."""
    start = offsets[rows]
    length = offsets[rows + 1] - start
    grid = np.lib.stride_tricks.sliding_window_view(padded, WIDTH)[start]  # bytes past a text are unused
    each = np.arange(len(rows))

    def digits(at: Any) -> np.ndarray:
        column = grid[:, at] if isinstance(at, int) else grid[each, at]
        return column.astype(np.int64) - ord("0")

    def number(*places: Any) -> np.ndarray:
        value = np.zeros(len(rows), dtype=np.int64)
        for at in places:
            value = value * 10 + digits(at)
        return value

    has_time = length > 10
    zone_z = has_time & (grid[each, length - 1] == ord("Z"))
    zone_sign = grid[each, np.maximum(length - 6, 0)]
    zone_hm = has_time & ((zone_sign == ord("+")) | (zone_sign == ord("-")))
    body = length - np.where(zone_z, 1, np.where(zone_hm, 6, 0))
    fraction_digits = np.maximum(body - 20, 0)
    fraction = np.zeros(len(rows), dtype=np.int64)
    for k in range(9):  # nanoseconds: the digits, then zeros to nine places
        fraction = fraction * 10 + np.where(k < fraction_digits, digits(20 + k), 0)
    zone_hour = np.where(zone_hm, number(length - 5, length - 4), 0)
    zone_minute = np.where(zone_hm, number(length - 2, length - 1), 0)
    zone_minutes = zone_hour * 60 + zone_minute
    return {
        "year": number(0, 1, 2, 3), "month": number(5, 6), "day": number(8, 9),
        "hour": np.where(has_time, number(11, 12), 0), "minute": np.where(has_time, number(14, 15), 0),
        "second": np.where(body >= 19, number(17, 18), 0),
        "nanosecond": fraction, "fraction_digits": fraction_digits,
        "zone_hour": zone_hour, "zone_minute": zone_minute,
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
