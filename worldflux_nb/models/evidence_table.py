"""Evidence as an immutable, validated Arrow table (docs/evidence-table.md).

`EvidenceTable` wraps a `pyarrow.Table` with exactly the documented columns and types. It is built
only through `EvidenceTable.build(...)`, from row dicts, a mapping of columns, or an Arrow table;
each column is checked as a whole, and the first bad value is refused with an `EvidenceError` naming
its row and field. pyarrow is imported on use, so importing the models stays light.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from itertools import repeat
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterator, Sequence

from worldflux_nb.models.arrow_build import array as arrow_array, column as built_column, scalar as arrow_scalar
from worldflux_nb.models.digest import canonical_json

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

EPISODE_STATUSES = ("completed", "timeout", "infra_failure", "pending")
# Columns in their documented (and digest) order, with their Arrow type name and whether null is allowed.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("probe_id", "string", False), ("task_id", "string", False), ("axis", "string", False),
    ("level", "string", False), ("episode_index", "int64", False), ("seed", "int64", True),
    ("success", "bool", True), ("status", "string", False), ("metadata", "string", True),
    ("failure_reason", "string", True), ("run_id", "string", True), ("recorded_at", "string", True),
    ("harness_task", "string", True),
)
COLUMN_NAMES = tuple(name for name, _, _ in COLUMNS)
COLUMN_KIND = {name: kind for name, kind, _ in COLUMNS}
NULLABLE = {name: nullable for name, _, nullable in COLUMNS}
OPTIONAL_FIELDS = ("failure_reason", "run_id", "recorded_at", "harness_task")
# A row dict must carry these keys; `metadata` and the optional columns may be left out.
REQUIRED_KEYS = frozenset(COLUMN_NAMES) - {"metadata", *OPTIONAL_FIELDS}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
LEVEL_CHARS = (1, 64)
TEXT_CHARS = {"failure_reason": (0, 500), "run_id": (1, 2000), "recorded_at": (1, 2000),
              "harness_task": (1, 2000)}
METADATA_SCALARS = (str, int, float, bool, type(None))


class EvidenceError(ValueError):
    """One bad value: its row (None for the whole table), its field, and what is wrong."""

    def __init__(self, row: int | None, field: str | None, message: str) -> None:
        self.row, self.field, self.message = row, field, message
        super().__init__(f"{self.location}: {message}")

    @property
    def location(self) -> str:
        where = "episodes" if self.row is None else f"episodes[{self.row}]"
        return f"{where}.{self.field}" if self.field else where


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# One normaliser per column: a Python value in, the table's value out (or EvidenceError).
# Used value by value only where the whole-column check finds something it cannot vouch for.
# ---------------------------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    import numbers
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _text(field: str, nullable: bool, chars: tuple[int, int] | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a string{' or null' if nullable else ''}, not {_shown(value)}")
        if chars and not chars[0] <= len(value) <= chars[1]:
            raise ValueError(f"must be {chars[0]} to {chars[1]} characters long, not {len(value)}")
        return str(value)
    return check


def _level(value: Any) -> str:
    if _is_int(value):
        return str(int(value))
    if not isinstance(value, str):
        raise ValueError(f"must be an integer or a short text, not {_shown(value)}")
    if not LEVEL_CHARS[0] <= len(value) <= LEVEL_CHARS[1]:
        raise ValueError(f"must be 1 to 64 characters long, not {len(value)}")
    return str(value)


def _integer(low: int, nullable: bool) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None and nullable:
            return None
        if not _is_int(value):
            what = "a non-negative integer" if low == 0 else "an integer"
            raise ValueError(f"must be {what}{' or null' if nullable else ''}, not {_shown(value)}")
        if not low <= int(value) <= INT64_MAX:
            raise ValueError(f"{int(value)} is out of range ({low} to 2**63-1)")
        return int(value)
    return check


def _success(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    if type(value).__name__ == "bool_":  # numpy's boolean
        return bool(value)
    raise ValueError(f"must be true, false or null, not {_shown(value)}")


def _status(value: Any) -> str:
    if not isinstance(value, str) or value not in EPISODE_STATUSES:
        raise ValueError(f"{_shown(value)} is not a status ({', '.join(EPISODE_STATUSES)})")
    return str(value)


def _metadata(value: Any) -> str | None:
    """A metadata object of scalar values as canonical JSON (JSON text is checked to be canonical)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueError("must be a JSON object of scalar values") from None
        text = _metadata(parsed) if isinstance(parsed, dict) else None
        if text != value:
            raise ValueError("must be a JSON object of scalar values in canonical JSON")
        return text
    if not isinstance(value, Mapping):
        raise ValueError(f"must be an object of scalar values or null, not {_shown(value)}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueError(f"keys must be strings, not {_shown(key)}")
        if not isinstance(item, METADATA_SCALARS):
            raise ValueError(f"{key}: must be a string, number, boolean or null, not {_shown(item)}")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{key}: must be a finite number, not {item}")
    return canonical_json(dict(value)).decode("utf-8")


NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "probe_id": _text("probe_id", False), "task_id": _text("task_id", False), "axis": _text("axis", False),
    "level": _level, "episode_index": _integer(0, False), "seed": _integer(INT64_MIN, True),
    "success": _success, "status": _status, "metadata": _metadata,
    **{name: _text(name, True, TEXT_CHARS[name]) for name in OPTIONAL_FIELDS},
}
# Exact Python types a whole column may hold to skip the value-by-value check (True is never an int).
FAST_TYPES: dict[str, set[type]] = {
    "probe_id": {str}, "task_id": {str}, "axis": {str}, "level": {int, str}, "episode_index": {int},
    "seed": {int, type(None)}, "success": {bool, type(None)}, "status": {str},
    **{name: {str, type(None)} for name in OPTIONAL_FIELDS},
}


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------

def _python_column(name: str, values: list[Any]) -> "pa.Array":
    """One column from Python values: a type scan, then a value-by-value check only if needed."""
    arrow_type = _schema().field(name).type
    if name == "metadata":
        return _metadata_column(values)
    types: set[type] | None = set(map(type, values))
    if not types <= FAST_TYPES[name]:
        values, types = _checked(name, values), None  # normalised values: their types are scanned again
    elif name == "level" and int in types:
        values, types = list(map(str, values)), {str}
    try:
        array = built_column(values, arrow_type, types)
    except OverflowError:
        values = _checked(name, values)  # names the row outside int64
        array = built_column(values, arrow_type)
    _check_arrow(name, array)
    return array


def _checked(name: str, values: list[Any]) -> list[Any]:
    check = NORMALISERS[name]
    out = []
    for row, value in enumerate(values):
        try:
            out.append(check(value))
        except ValueError as exc:
            raise EvidenceError(row, name, str(exc)) from None
    return out


def _metadata_column(values: list[Any]) -> "pa.Array":
    """Metadata as canonical JSON text, worked out once per distinct object.

    Objects are grouped by their items with each value's type in the key (True, 1 and 1.0 hash
    alike); an object with an unhashable value is checked on its own and refused.
    """
    import pyarrow as pa

    texts: dict[Any, str | None] = {}
    out: list[str | None] = []
    append = out.append
    for row, value in enumerate(values):
        try:
            key = (None if value is None else value if isinstance(value, str)
                   else tuple((k, type(v), v) for k, v in value.items()))
            text = texts[key]
        except KeyError:
            try:
                text = texts[key] = _metadata(value)
            except ValueError as exc:
                raise EvidenceError(row, "metadata", str(exc)) from None
        except (TypeError, AttributeError):
            try:
                text = _metadata(value)
            except ValueError as exc:
                raise EvidenceError(row, "metadata", str(exc)) from None
        append(text)
    return built_column(out, pa.string())


def _first(mask: Any) -> int:
    import numpy as np
    return int(np.flatnonzero(np.asarray(mask))[0])


def _check_arrow(name: str, array: "pa.Array") -> None:
    """Nulls, ranges, lengths and vocabularies of a typed column, checked as a whole."""
    import pyarrow.compute as pc

    nullable = NULLABLE[name]
    if not nullable and array.null_count:
        raise EvidenceError(_first(array.is_null().to_numpy(zero_copy_only=False)), name, "must not be null")
    if name == "episode_index" and len(array) and pc.min(array).as_py() < 0:
        bad = _first(pc.less(array, arrow_scalar(0, array.type)).to_numpy(zero_copy_only=False))
        raise EvidenceError(bad, name, f"must be a non-negative integer, not {array[bad].as_py()}")
    if name == "status":
        known = pc.is_in(array, value_set=_string_array(EPISODE_STATUSES))
        if pc.all(known).as_py() is False:  # (null for an empty column: nothing to refuse)
            bad = _first(pc.invert(known).to_numpy(zero_copy_only=False))
            raise EvidenceError(bad, name, f"{_shown(array[bad].as_py())} is not a status "
                                           f"({', '.join(EPISODE_STATUSES)})")
    limits = LEVEL_CHARS if name == "level" else TEXT_CHARS.get(name)
    if limits and len(array) - array.null_count:
        lengths = pc.utf8_length(array)
        outside = pc.or_(pc.less(lengths, arrow_scalar(limits[0], lengths.type)),
                         pc.greater(lengths, arrow_scalar(limits[1], lengths.type)))
        if pc.any(outside).as_py():
            bad = _first(outside.fill_null(False).to_numpy(zero_copy_only=False))
            raise EvidenceError(bad, name, f"must be {limits[0]} to {limits[1]} characters long, "
                                           f"not {lengths[bad].as_py()}")


def _string_array(values: Sequence[str]) -> "pa.Array":
    import pyarrow as pa
    return arrow_array(list(values), pa.string())


def _arrow_column(name: str, column: Any) -> "pa.Array":
    """A column given as Arrow data: cast to the documented type where that keeps every value, checked."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        encoded = _dictionary_column(name, column)
        if encoded is not None:
            return encoded
        column = (column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column).dictionary_decode()
    # Chunked columns stay chunked (an import's batches): checked and hashed without one big copy.
    kind = COLUMN_KIND[name]
    typed = column.type
    if name == "metadata" and (pa.types.is_string(typed) or pa.types.is_large_string(typed)):
        _check_metadata_texts(column.cast(pa.string()))
        return column.cast(pa.string())
    fits = ((kind == "string" and (pa.types.is_string(typed) or pa.types.is_large_string(typed)
                                   or (name == "level" and pa.types.is_integer(typed))))
            or (kind == "int64" and pa.types.is_integer(typed) and not pa.types.is_uint64(typed))
            or (kind == "bool" and pa.types.is_boolean(typed))
            or pa.types.is_null(typed))
    if not fits:
        return _python_column(name, column.to_pylist())  # the value-by-value check names the row
    array = column.cast({"string": pa.string(), "int64": pa.int64(), "bool": pa.bool_()}[kind])
    _check_arrow(name, array)
    return array


def _dictionary_column(name: str, column: Any) -> "pa.ChunkedArray | None":
    """A dictionary-encoded text column (a Parquet file's strings) kept encoded: each distinct value
    checked once, the codes for nulls. None when the plain path must decide (it names the row)."""
    import pyarrow as pa

    kind = COLUMN_KIND[name]
    value_type = column.type.value_type
    if kind != "string" or not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
        return None
    chunks = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
    if not NULLABLE[name] and chunks.null_count:
        return None
    chunks = chunks.cast(pa.dictionary(pa.int32(), pa.string())).unify_dictionaries()
    values = chunks.chunk(0).dictionary if chunks.num_chunks else arrow_array([], pa.string())
    try:  # an unused value that fails is left to the plain path, which looks only at used ones
        if name == "metadata":
            _check_metadata_texts(values)
        else:
            _check_arrow(name, values)
    except EvidenceError:
        return None
    if values.null_count:
        return None
    if len(chunks) and chunks.null_count == len(chunks):  # (only a nullable column gets here with nulls)
        return pa.chunked_array([pa.nulls(len(chunks))])  # no value at all: nothing to store
    # The narrowest codes that hold the dictionary: a ten-million-row column of a few values takes 10 MB.
    codes = pa.int8() if len(values) < 2**7 else pa.int16() if len(values) < 2**15 else pa.int32()
    return chunks.cast(pa.dictionary(codes, pa.string()))


def _stored(name: str, array: Any) -> Any:
    """A checked integer column as the table keeps it: Arrow's null type when no row has a value,
    int32 when every value fits (40 MB instead of 80 per ten million rows), else as it is. `.arrow`
    and `.column` give the documented int64; the digest reads values, not storage."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if COLUMN_KIND[name] != "int64" or not len(array) or pa.types.is_null(array.type):
        return array
    if array.null_count == len(array):
        return pa.nulls(len(array))
    bounds = pc.min_max(array)
    if INT32_MIN <= bounds["min"].as_py() and bounds["max"].as_py() <= INT32_MAX:
        return array.cast(pa.int32())
    return array


def _check_metadata_texts(array: "pa.Array | pa.ChunkedArray") -> None:
    """Each distinct metadata text must be a canonical JSON object of scalars (checked once each)."""
    import pyarrow.compute as pc

    for text in pc.unique(array).to_pylist():
        try:
            _metadata(text)
        except ValueError as exc:
            row = int(pc.index(array, text).as_py()) if text is not None else _first(
                pc.is_null(array).to_numpy(zero_copy_only=False))
            raise EvidenceError(row, "metadata", str(exc)) from None


def _rows_to_columns(rows: Sequence[Any]) -> dict[str, list[Any]]:
    """Row dicts split into columns; a row that is not an object, lacks a key or has another is refused."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not all(isinstance(row, Mapping) for row in rows):
        bad = next(i for i, row in enumerate(rows) if not isinstance(row, Mapping))
        raise EvidenceError(bad, None, f"must be an object, not {type(rows[bad]).__name__}")
    shapes = set(map(frozenset, map(dict.keys, rows))) if all(type(r) is dict for r in rows) else \
        set(frozenset(r.keys()) for r in rows)
    known = set(COLUMN_NAMES)
    for shape in shapes:
        extra, missing = shape - known, REQUIRED_KEYS - shape
        if extra or missing:
            key = sorted(extra or missing)[0]
            bad = next(i for i, row in enumerate(rows) if key in row) if extra else \
                next(i for i, row in enumerate(rows) if key not in row)
            raise EvidenceError(bad, key, "is not a known field" if extra else "is required but missing")
    present = set().union(*shapes) if shapes else set()
    getter = dict.get if all(type(r) is dict for r in rows) else (lambda r, k: r.get(k))
    return {name: list(map(getter, rows, repeat(name))) for name in COLUMN_NAMES if name in present}


def _schema() -> "pa.Schema":
    import pyarrow as pa
    kinds = {"string": pa.string(), "int64": pa.int64(), "bool": pa.bool_()}
    return pa.schema([pa.field(name, kinds[kind], nullable=nullable) for name, kind, nullable in COLUMNS])


def arrow_schema() -> "pa.Schema":
    """The documented columns and their Arrow types (those of `EvidenceTable.arrow`)."""
    return _schema()


class EvidenceTable:
    """Evidence rows as an immutable Arrow table with the documented columns (see module docstring).

    Rows read from it (`table[i]`, iteration) are read-only mappings in their JSON form; changing
    evidence means building a new table.
    """

    __slots__ = ("_table", "_digest")

    def __init__(self, table: "pa.Table", *, _checked: object = None) -> None:
        if _checked is not _BUILT:
            raise TypeError("build evidence tables with EvidenceTable.build(...)")
        self._table = table
        self._digest: str | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_table", "_digest") and (name == "_digest" or not hasattr(self, "_table")):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError("an evidence table is immutable")

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, data: Any) -> "EvidenceTable":
        """From row dicts, a mapping of column name to values (sequence or Arrow array), an Arrow
        table, or a pandas DataFrame; every column checked (EvidenceError names row and field)."""
        import pyarrow as pa

        if isinstance(data, EvidenceTable):
            return data
        if type(data).__name__ == "DataFrame" and hasattr(data, "to_dict"):
            data = pa.Table.from_pandas(data, preserve_index=False)
        if isinstance(data, pa.Table):
            data = {name: data.column(name) for name in data.column_names}
        if isinstance(data, Mapping):
            columns = dict(data)
            unknown = sorted(set(columns) - set(COLUMN_NAMES))
            if unknown:
                raise EvidenceError(None, unknown[0], "is not a known column")
            missing = sorted(REQUIRED_KEYS - set(columns))
            if missing:
                raise EvidenceError(None, missing[0], "is required but missing")
        elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            columns = _rows_to_columns(data)
        else:
            raise EvidenceError(None, None, f"must be a list of rows or a table, not {type(data).__name__}")
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise EvidenceError(None, None, f"columns differ in length ({sorted(lengths)})")
        size = lengths.pop() if lengths else 0
        arrays = []
        for name in COLUMN_NAMES:
            values = columns.get(name)
            if values is None:
                arrays.append(pa.nulls(size, type=_schema().field(name).type))
            elif isinstance(values, (pa.Array, pa.ChunkedArray)):
                arrays.append(_arrow_column(name, values))
            else:
                arrays.append(_python_column(name, values if isinstance(values, list) else list(values)))
        # Status and success are not cross-checked here: importers refuse disagreeing rows
        # (core.importers.common.check_status), and conformance counts success only when completed.
        arrays = [_stored(name, array) for name, array in zip(COLUMN_NAMES, arrays)]
        schema = pa.schema([pa.field(name, array.type, nullable=nullable)
                            for (name, _, nullable), array in zip(COLUMNS, arrays)])
        return cls(pa.Table.from_arrays(arrays, schema=schema), _checked=_BUILT)

    # ------------------------------------------------------------------ reading
    @property
    def arrow(self) -> "pa.Table":
        """The table with the documented column types (Arrow tables are immutable)."""
        import pyarrow as pa

        schema = _schema()
        if self._table.schema.equals(schema):
            return self._table
        return pa.Table.from_arrays([self.column(name) for name in COLUMN_NAMES], schema=schema)

    def arrow_slices(self, rows: int, *, stored: Collection[str] = ()) -> Iterator["pa.Table"]:
        """`arrow` in slices of `rows` rows, each decoded on its own (the `stored` columns left as
        `encoded` holds them): a writer's row groups without one decoded copy of the whole table."""
        import pyarrow as pa

        for start in range(0, len(self), rows):
            part = EvidenceTable(self._table.slice(start, rows), _checked=_BUILT)
            if not stored:
                yield part.arrow
                continue
            yield pa.Table.from_arrays([part._table.column(name) if name in stored else part.column(name)
                                        for name in COLUMN_NAMES], names=list(COLUMN_NAMES))

    @property
    def encoded(self) -> "pa.Table":
        """The table as stored, the same values as `arrow`: text columns read from Parquet stay
        dictionary-encoded (narrowest integer codes, one dictionary per column), integers are int32
        where they fit, and a nullable column without a value is Arrow's null type. For bulk readers
        (the digest, conformance's codes) that work per distinct value."""
        return self._table

    def column(self, name: str) -> "pa.ChunkedArray":
        column = self._table.column(name)
        documented = _schema().field(name).type
        return column if column.type == documented else column.cast(documented)

    def __len__(self) -> int:
        return self._table.num_rows

    def to_pandas(self) -> "pd.DataFrame":
        """The columns as a DataFrame (nullable seed and success; text as strings)."""
        import pandas as pd
        import pyarrow as pa

        return self.arrow.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype(),
                                                   pa.bool_(): pd.BooleanDtype()}.get)

    def to_pylist(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Rows in their JSON form: levels that are canonical integers as integers, metadata as an
        object, and the optional columns left out where null (fresh dicts, not views of the table)."""
        part = self._table.slice(start, (stop if stop is not None else len(self)) - start)
        columns = {name: part.column(name).to_pylist() for name in COLUMN_NAMES}
        columns["level"] = list(map(level_value, columns["level"]))
        metadata_objects: dict[str, Any] = {}
        columns["metadata"] = [None if text is None else metadata_objects.get(text) or
                               metadata_objects.setdefault(text, json.loads(text))
                               for text in columns["metadata"]]
        present = [name for name in COLUMN_NAMES if name in OPTIONAL_FIELDS or name == "metadata"]
        fixed = [name for name in COLUMN_NAMES if name not in present]
        rows = [dict(zip(fixed, values)) for values in zip(*(columns[name] for name in fixed))]
        for name in present:
            if part.column(name).null_count == len(part):
                continue
            for row, value in zip(rows, columns[name]):
                if value is not None:
                    row[name] = dict(value) if name == "metadata" else value
        return rows

    def __getitem__(self, index: Any) -> Any:
        size = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(size)
            rows = self.to_pylist(start, max(stop, start)) if step == 1 else [
                self.to_pylist(i, i + 1)[0] for i in range(start, stop, step)]
            return [MappingProxyType(row) for row in rows]
        if not isinstance(index, int):
            raise TypeError("rows are read by position or slice; use .arrow or .to_pandas() for more")
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("evidence row index out of range")
        return MappingProxyType(self.to_pylist(index, index + 1)[0])

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for start in range(0, len(self), 65536):
            yield from map(MappingProxyType, self.to_pylist(start, min(start + 65536, len(self))))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EvidenceTable) and self.arrow.equals(other.arrow)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EvidenceTable({len(self)} rows)"

    # ------------------------------------------------------------------ digest
    def content_digest(self, form: int | None = None) -> str:
        """Hex SHA-256 of the canonical byte stream of docs/evidence-table.md, in the form sealed now
        (computed once: the table cannot change) or in an earlier `form`."""
        from worldflux_nb.models.evidence_digest import FORM, content_digest

        if form is not None and form != FORM:
            return content_digest(self._table, COLUMNS, form)
        if self._digest is None:
            self._digest = content_digest(self._table, COLUMNS)
        return self._digest

    # ------------------------------------------------------------------ pydantic
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls.build, serialization=core_schema.plain_serializer_function_ser_schema(
                lambda table: table.to_pylist(), when_used="always"))


_BUILT = object()


def level_value(text: str) -> int | str:
    """A level in its JSON form: an integer when its text is a canonical integer, else the text."""
    if text.lstrip("-").isdigit() and text == str(int(text)) and text != "-0":
        return int(text)
    return text
