"""Generic evidence: JSONL, CSV and pandas DataFrames with the generic evidence fields.

Fields per row: `probe_id, task_id, axis, level, episode_index, seed, success, status, metadata`.
`probe_id` may be omitted (it is the probe being imported; a different one is refused). `axis` and
`level` may be omitted when the plan gives the task a single cell (or `--axis/--level` say which).
`status` defaults to `completed` when `success` is a boolean. In CSV, `metadata` is a JSON object in
one column or spread over `metadata.<key>` columns. Identity is explicit.

The optional columns of docs/evidence-table.md are read where present, as strings, redacted:
`failure_reason` (shortened to 500 characters), `run_id`, `recorded_at` (kept as written; the packet
reports one that is not ISO 8601; a DataFrame's times with a timezone become their UTC ISO 8601 text,
times without one are refused) and `harness_task` (the last three shortened to 2000 characters, as
the harness importers do, e.g. vla_eval). Any other key with a value, and any other CSV or DataFrame
column, is refused naming it: extra fields belong in `metadata`, so no evidence is dropped unseen.
A JSON key whose value is null carries nothing and is passed over; a run sheet's `cell_id`, copied
back with its row, must name the row's own cell and is then left out (the cell says it already).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

from worldflux_nb.core.importers.common import (
    INT64_MAX, probe_tasks, ImportOptions, PlannedPairs, Redactor, assemble, check_status, optional_seed,
    parse_level, planned_pairs, require_dict, require_index, require_text, resolve_cell, resolve_task, shown,
)
from worldflux_nb.core.json_reading import fast_loads, strict_loads
from worldflux_nb.errors import InputError
from worldflux_nb.models.arrow_build import scalar as arrow_scalar
from worldflux_nb.models.common import Level
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.evidence_table import OPTIONAL_FIELDS
from worldflux_nb.models.plan import ProtocolPlan

FIELDS = ("probe_id", "task_id", "axis", "level", "episode_index", "seed", "success", "status", "metadata")
KNOWN_KEYS = frozenset(FIELDS + OPTIONAL_FIELDS)
# The longest text each optional column keeps (docs/evidence-table.md; the redactor shortens it).
TEXT_LIMITS = {"failure_reason": 500, "run_id": 2000, "recorded_at": 2000, "harness_task": 2000}
ALLOW_NAN = False


def detect_records(records: list[dict[str, Any]]) -> str | None:
    """How a sample of generic rows looks: per-episode, score-only, or not generic evidence."""
    if not records or not all(isinstance(r, dict) for r in records):
        return None
    keys = set().union(*(r.keys() for r in records))
    if not ({"task_id", "episode_index"} <= keys or "success" in keys):
        return None
    if "success" in keys or "status" in keys:
        return "per_episode" if "episode_index" in keys else "missing_denominator"
    return "score_only"


def parse_jsonl(text: str, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                options: ImportOptions = ImportOptions()) -> AuditInput:
    return import_records(_jsonl_records(text, source_name), source=source_name, plan=plan,
                          probe_id=probe_id, options=options, format_version="generic JSONL")


def parse_csv(text: str, *, source_name: str, plan: ProtocolPlan, probe_id: str,
              options: ImportOptions = ImportOptions(), by_rows: bool = False) -> AuditInput:
    """Generic CSV: read as columns (`csv_columns`), or row by row where the columns cannot vouch
    for a value (or `by_rows`), which names the line."""
    audit = None if by_rows else _columns_import(csv_columns(text, source_name), source_name=source_name,
                                                 plan=plan, probe_id=probe_id, options=options,
                                                 format_version="generic CSV")
    if audit is not None:
        return audit
    return import_records(_csv_records(text, source_name), source=source_name, plan=plan,
                          probe_id=probe_id, options=options, format_version="generic CSV")


def audit_input_from_frame(frame: Any, plan: ProtocolPlan, probe_id: str, *,
                           options: ImportOptions = ImportOptions(),
                           source_name: str = "DataFrame", by_rows: bool = False) -> AuditInput:
    """Evidence from a pandas DataFrame with the generic columns (NaN reads as missing): read as
    columns (`frame_columns`), or row by row where they cannot vouch for a value (or `by_rows`)."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InputError(source_name, None, f"must be a pandas DataFrame, not {type(frame).__name__}")
    check_columns([str(name) for name in frame.columns], source_name, "metadata.<key> columns")
    clean = frame.astype(object).where(frame.notna(), None)
    if list(clean.columns).count("recorded_at") == 1:
        clean["recorded_at"] = recorded_at_texts(clean["recorded_at"], source_name)
    audit = None if by_rows else _columns_import(frame_columns(clean), source_name=source_name, plan=plan,
                                                 probe_id=probe_id, options=options,
                                                 format_version="pandas DataFrame")
    if audit is not None:
        return audit
    records = ((f"row {i}", unflatten_record(rec, source_name, f"row {i}"))
               for i, rec in enumerate(clean.to_dict("records")))
    return import_records(records, source=source_name, plan=plan, probe_id=probe_id, options=options,
                          format_version="pandas DataFrame")


def recorded_at_texts(values: Any, src: str) -> Any:
    """A DataFrame's `recorded_at` (objects, missing as None) with each timezone-aware time as its UTC
    ISO 8601 text (`2026-01-02T03:04:05Z`, fractional seconds when it has them), as JSON evidence writes
    it; a time without a timezone is refused, since which instant it names is unknown."""
    import numpy as np
    import pandas as pd

    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values  # text, checked as every optional column is
    texts = list(values)
    for i, value in enumerate(texts):
        naive = isinstance(value, np.datetime64) or (isinstance(value, datetime) and value.utcoffset() is None)
        if naive:
            raise InputError(src, f"row {i}.recorded_at", f"is a time without a timezone ({shown(value)}); "
                             "recorded_at is a UTC time: give the column its zone (Series.dt.tz_localize) "
                             "or write ISO 8601 text")
        if isinstance(value, datetime):
            texts[i] = pd.Timestamp(value).tz_convert("UTC").isoformat().replace("+00:00", "Z")
    # Objects: pandas would store a column of text as strings, with None turned into NaN.
    return pd.Series(texts, index=values.index, dtype=object)


def check_columns(names: Sequence[str], src: str, instead: str) -> None:
    """Refuse a column that is neither a generic field, an optional column, `cell_id` nor `metadata.<key>`."""
    for name in names:
        if name not in KNOWN_KEYS and name != "cell_id" and not name.startswith("metadata."):
            raise InputError(src, f"column {shown(name)}", f"is not a generic evidence field and is refused "
                             f"rather than dropped; extra fields belong in metadata ({instead})")


def unknown_key(record: dict[str, Any], row: EvidenceRow, src: str, where: str) -> None:
    """Refuse a key with a value that is not a generic field or an optional column. A run sheet's
    `cell_id`, echoed back by a harness that copies its rows, adds nothing, so it may stay if it
    names the row's own cell (and is refused if it names another)."""
    from worldflux_nb.core.planning import cell_id_for

    for key, value in record.items():
        if key == "cell_id" and value is not None:
            cell = cell_id_for(row["probe_id"], row["task_id"], row["axis"], row["level"])
            if value != cell:
                raise InputError(src, f"{where}.cell_id", f"is {shown(value)}, but the row's probe, task, "
                                 f"axis and level are the cell {shown(cell)}")
        elif key not in KNOWN_KEYS and value is not None:
            raise InputError(src, where, f"has the key {shown(key)}, which is not a generic evidence field; "
                             "it is refused rather than dropped; extra fields belong in metadata")


def optional_text(name: str, value: Any, redactor: Redactor, src: str, where: str) -> str:
    """An optional column's value: a string (only `failure_reason` may be empty), redacted and shortened."""
    if type(value) is not str or (value == "" and name != "failure_reason"):
        raise InputError(src, f"{where}.{name}", f"must be a non-empty string, not {shown(value)}")
    return redactor.text(value, f"{where}.{name}", limit=TEXT_LIMITS[name])


def _columns_import(columns: Any, **kwargs: Any) -> AuditInput | None:
    from worldflux_nb.core.importers.generic_columns import audit_input_from_columns

    return None if columns is None else audit_input_from_columns(*columns, **kwargs)


def csv_columns(text: str, src: str) -> tuple[dict[str, Any], Any, Any] | None:
    """A generic CSV as coded columns, each distinct cell read as `_csv_records` reads it (stripped,
    empty as missing, `metadata.<key>` columns folded into `metadata`); None where the file or a
    cell needs the row path (a refusal, a ragged row, an integer Arrow cannot read as one)."""
    import pyarrow as pa

    from worldflux_nb.core.importers.generic_columns import Coded

    read = _csv_cells_arrow(text) or _csv_cells_python(text)
    if read is None:
        return None
    header, cells, size = read
    if not size or len(set(header)) != len(header) or not {"task_id", "episode_index"} <= set(header):
        return None
    if not all(n in KNOWN_KEYS or n.startswith("metadata.") for n in header):
        return None  # the row path names the unknown column, or checks cell_id

    def decoded(name: str, decode: Callable[[str], Any]) -> Coded:
        values = cells.get(name)
        if values is None:
            return Coded.absent(size)
        return Coded.of(values, lambda v: None if not v.strip() else decode(v.strip()))

    try:
        columns = {name: decoded(name, str)
                   for name in ("probe_id", "task_id", "axis", "status", *OPTIONAL_FIELDS)}
        columns["level"] = decoded("level", parse_level)
        columns["success"] = decoded("success", lambda v: _bool_cell(v, src, "success"))
        metadata = Coded.of(cells.get("metadata", pa.nulls(size, pa.string())),
                            lambda v: metadata_cell(v.strip(), src, "metadata"))
        spread = {name[len("metadata."):]: decoded(name, _scalar_cell)
                  for name in header if name.startswith("metadata.")}
        columns["metadata"] = folded_metadata(metadata, spread) if spread else metadata
        index, seed = (_integers(cells.get(name), size) for name in ("episode_index", "seed"))
    except (InputError, pa.ArrowInvalid):
        return None
    if index is None or seed is None:
        return None
    return columns, index, seed


# Cells per column (strings, one per row that is not blank, short rows padded with "") as the
# csv module reads them: the header's names, the cells by name, and the number of rows.
CsvCells = tuple[list[str], dict[str, Any], int]


def _csv_cells_python(text: str) -> CsvCells | None:
    """The cells as `_csv_records` reads them (the csv module); None for what only the row path
    may refuse or read (a csv.Error, a row longer than the header)."""
    import pyarrow as pa

    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return None
    if len(rows) < 2:
        return None
    header, body = rows[0], [row for row in rows[1:] if row]  # DictReader skips blank lines
    if body and max(map(len, body)) > len(header):
        return None  # the row path names the ragged line
    columns = itertools.zip_longest(*body, fillvalue="") if body else ([] for _ in header)
    return header, {name: pa.array(values, pa.string()) for name, values in zip(header, columns)}, len(body)


def _csv_cells_arrow(text: str) -> CsvCells | None:
    """The same cells read by pyarrow's multi-threaded CSV reader (a sixth of the csv module's CPU),
    where both read alike: the same quoting and quote doubling, blank lines skipped, quoted newlines
    kept. None where they may not (a carriage return outside `\r\n`, a NUL, a leading blank line
    or byte-order mark, a cell over the csv module's field size limit, rows of different widths):
    the csv module reads those."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    if not text or text[0] in "\r\n\ufeff":
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (text handed in, not decoded from a file)
        return None
    if b"\0" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    widest = data.count(b",", 0, data.find(b"\n") if b"\n" in data else len(data)) + 1
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(widest)},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        return None  # rows of different widths: the csv module pads short ones, refuses long ones
    if table.num_rows < 2 or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    columns = [column.combine_chunks() for column in table.columns]
    limit = csv.field_size_limit()
    # Bytes, not characters: a cell of `limit` bytes may hold fewer characters, but never more.
    if any((pc.max(pc.binary_length(column)).as_py() or 0) >= limit for column in columns):
        return None  # the csv module refuses it: the row path names the line
    header = [column[0].as_py() for column in columns]
    return header, {name: column.slice(1) for name, column in zip(header, columns)}, table.num_rows - 1


def _integers(values: Any, size: int) -> Any:
    """CSV integers (a string array) as int64 (empty: null); None where Arrow does not read every
    cell as one (spaces, `3.0`, text): `_int_cell` reads those row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values is None:
        return pa.nulls(size, pa.int64())
    array = pc.if_else(pc.equal(values, arrow_scalar("", pa.string())), pa.nulls(1, pa.string())[0], values)
    # Plain decimal digits only (Arrow's cast would also read "0x10" as 16; `_int_cell` refuses it).
    if not pc.all(pc.match_substring_regex(array, r"^-?[0-9]{1,40}$")).as_py() in (True, None):
        return None
    try:
        return array.cast(pa.int64())
    except pa.ArrowInvalid:
        return None


def folded_metadata(metadata: Any, spread: dict[str, Any]) -> Any:
    """`unflatten_record` per distinct combination: the metadata object updated by its `metadata.<key>`
    cells that are not empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from worldflux_nb.core.importers.generic_columns import Coded

    parts = [metadata, *spread.values()]
    combined = None
    stride = 1
    for part in parts:
        codes = part.codes.cast(pa.int64()).fill_null(arrow_scalar(len(part.values), pa.int64()))
        combined = codes if combined is None else pc.add(
            pc.multiply(combined, arrow_scalar(len(part.values) + 1, pa.int64())), codes)
        stride *= len(part.values) + 1
        if stride >= 1 << 62:
            raise pa.ArrowInvalid("too many combinations")  # the row path reads it
    encoded = combined.dictionary_encode()
    values = []
    for key in encoded.dictionary.to_pylist():
        picks = []
        for part in reversed(parts):
            key, code = divmod(key, len(part.values) + 1)
            picks.append(part.values[code] if code < len(part.values) else None)
        base, *cells = reversed(picks)
        folded = dict(base or {})
        folded.update({k: v for k, v in zip(spread, cells) if v is not None})
        values.append(folded)
    return Coded(values, encoded.indices)


def frame_columns(clean: Any) -> tuple[dict[str, Any], Any, Any] | None:
    """A DataFrame (objects, missing as None) as coded columns, each distinct value (by type and
    value) as the row path takes it; `metadata.<key>` columns folded into `metadata`. None where
    an integer column holds anything but integers, or a value cannot be hashed."""
    import pyarrow as pa

    from worldflux_nb.core.importers.generic_columns import Coded

    size = len(clean)
    names = [str(name) for name in clean.columns]
    if len(set(names)) != len(names) or not size or "cell_id" in names:
        return None  # the row path checks a cell_id against its row
    data = {str(name): clean[name].tolist() for name in clean.columns}

    def coded(values: list[Any] | None) -> Coded | None:
        return Coded.absent(size) if values is None else Coded.of_python(values)

    try:
        columns = {name: coded(data.get(name)) for name in CODED_NAMES}
        spread = {name[len("metadata."):]: coded(data[name]) for name in names if name.startswith("metadata.")}
        if spread:
            columns["metadata"] = folded_metadata(columns["metadata"], spread)
        index, seed = (_python_integers(data.get(name), size) for name in ("episode_index", "seed"))
    except (TypeError, ValueError, pa.ArrowInvalid):
        return None  # an unhashable value, metadata that is not an object: the row path says which
    if index is None or seed is None:
        return None
    return columns, index, seed


CODED_NAMES = ("probe_id", "task_id", "axis", "level", "success", "status", "metadata", *OPTIONAL_FIELDS)


def _python_integers(values: list[Any] | None, size: int) -> Any:
    """Python ints (or None) as int64; None for anything else (a float, a bool): the row path reads it."""
    import pyarrow as pa

    if values is None:
        return pa.nulls(size, pa.int64())
    if not all(type(v) is int or v is None for v in values):
        return None
    try:
        return pa.array(values, pa.int64())
    except (OverflowError, pa.ArrowInvalid):
        return None


def audit_input_from_json_columns(raw: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                                  options: ImportOptions = ImportOptions(),
                                  format_version: str = "generic JSONL", sealed: bool = True) -> AuditInput | None:
    """The vectorised JSONL import: per generic field, each line's value as JSON text (null where
    absent or null; see io.evidence_tables), as a table or an iterable of tables or record batches
    in file order, each distinct text parsed once as the row path parses it. None for anything the
    row path would refuse or change (it then names the line). `sealed=False`: see `assemble`."""
    import pyarrow as pa

    from worldflux_nb.core.importers.generic_columns import CODED_FIELDS, Coded, ColumnImport, Unvouched

    decoded: dict[str, Any] = {}  # each distinct text parsed once, whichever batches hold it

    def decode(text: str) -> Any:
        if text not in decoded:
            decoded[text] = strict_loads(text, source_name)
        return decoded[text]

    try:
        batches = ColumnImport(source_name=source_name, plan=plan, probe_id=probe_id, options=options,
                               format_version=format_version)
        for batch in ([raw] if isinstance(raw, (pa.Table, pa.RecordBatch)) else raw):
            batches.add({name: Coded.of(batch.column(name), decode)
                         for name in CODED_FIELDS + OPTIONAL_FIELDS},
                        # JSON integers only: 3.0, "3", true or a number outside int64 fail the cast.
                        _combined(batch.column("episode_index")).cast(pa.int64()),
                        _combined(batch.column("seed")).cast(pa.int64()))
        return batches.audit(sealed=sealed)
    except (Unvouched, InputError, pa.ArrowInvalid):
        return None


def _combined(column: Any) -> Any:
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def checked_level(value: Any, src: str, where: str) -> Level:
    """A row's level as the row path takes it: an integer or a non-empty text as it is, else `_level`."""
    if type(value) is int or (type(value) is str and value):
        return value
    return _level(value, src, where)


# ---------------------------------------------------------------------------------------------

def _jsonl_records(text: str, src: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not text.strip():
        raise InputError(src, None, "is empty")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        # One reader for every JSON input: fast where that reads the same, duplicate keys refused.
        yield where, require_dict(fast_loads(line, src, where=where), src, where)


def _csv_records(text: str, src: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not text.strip():
        raise InputError(src, None, "is empty")
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InputError(src, "line 1", f"is not a CSV header ({exc})") from None
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(src, repeated[0], "column appears twice in the CSV header; which value holds "
                         "is ambiguous, so the file is refused")
    if "episode_index" not in header or "task_id" not in header:
        missing = [f for f in ("task_id", "episode_index") if f not in header]
        raise InputError(src, missing[0], "column is missing from the CSV header "
                                          f"(expected the generic fields: {', '.join(FIELDS)})")
    check_columns(header, src, "a JSON object in the metadata column, or metadata.<key> columns")
    for number, raw in _csv_rows(reader, src):
        where = f"line {number}"
        if None in raw:
            raise InputError(src, where, "has more cells than the header has columns")
        record: dict[str, Any] = {}
        for key, cell in raw.items():
            value = (cell or "").strip()
            if key == "metadata":
                record["metadata"] = metadata_cell(value, src, where)
            elif value == "":
                record[key] = None
            elif key in ("episode_index", "seed"):
                record[key] = _int_cell(value, src, f"{where}.{key}")
            elif key == "success":
                record[key] = _bool_cell(value, src, f"{where}.success")
            elif key == "level":
                record[key] = parse_level(value)
            elif key.startswith("metadata."):
                record[key] = _scalar_cell(value)
            else:
                record[key] = value
        yield where, unflatten_record(record, src, where)


def _csv_rows(reader: csv.DictReader, src: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The reader's rows numbered by line, with the csv module's refusals (a cell over its
    field-size limit, a stray quote) as one line naming the file and the line."""
    number = 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(src, f"line {number + 1}", f"cannot be read as CSV ({exc})") from None
        number += 1
        yield number, raw


# ASCII digits, optionally with a zero fraction as pandas writes an integer column holding nulls
# ("3.0"). Python's int() would also take "1_0" (10), " 1", "+1" and non-ASCII digits ("١"), and
# float() "1e3": none of them is how a harness writes an index or a seed.
_CSV_INTEGER = re.compile(r"-?[0-9]{1,40}(?:\.0{1,20})?")


def _int_cell(value: str, src: str, where: str) -> int:
    if not _CSV_INTEGER.fullmatch(value):
        raise InputError(src, where, f"must be an integer, not {shown(value)}")
    return int(value.split(".", 1)[0])


def _bool_cell(value: str, src: str, where: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InputError(src, where, f"must be true or false, not {shown(value)}")


def _scalar_cell(value: str) -> Any:
    """A metadata cell: a JSON scalar when it reads as one (20, 1.5, true), else the text."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if parsed is None or isinstance(parsed, (str, bool, int, float)) else value


def metadata_cell(value: str, src: str, where: str) -> dict[str, Any]:
    if value == "":
        return {}
    try:
        parsed = strict_loads(value, src, where=f"{where}.metadata")
    except InputError as exc:
        if exc.problem.startswith("appears twice"):
            raise
        raise InputError(src, f"{where}.metadata", "must be a JSON object") from None
    return require_dict(parsed, src, f"{where}.metadata")


def unflatten_record(record: dict[str, Any], src: str, where: str) -> dict[str, Any]:
    """Fold `metadata.<key>` columns into the metadata object."""
    spread = {k[len("metadata."):]: v for k, v in record.items() if k.startswith("metadata.")}
    if not spread:
        return record
    out = {k: v for k, v in record.items() if not k.startswith("metadata.")}
    metadata = dict(out.get("metadata") or {})
    metadata.update({k: v for k, v in spread.items() if v is not None})
    out["metadata"] = metadata
    return out


# (status, success) pairs check_status accepts, so the common rows skip the call.
_VALID_OUTCOMES = {("completed", True), ("completed", False), ("timeout", False),
                   ("infra_failure", None), ("pending", None)}


def import_records(records: Iterable[tuple[str, dict[str, Any]]], *, source: str, plan: ProtocolPlan,
                   probe_id: str, options: ImportOptions, format_version: str) -> AuditInput:
    """Rows in file order, each checked in the documented order of its fields.

    Values repeat across a million rows (task names, axes, metadata objects), so each check's
    verdict on a plain value is remembered: a row of remembered values costs a few dict lookups,
    and anything new or odd takes the full check, which raises the same one-line error as always.
    """
    src = source
    probe_tasks(plan, probe_id, src)
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    tasks: dict[str, str] = {}
    cells: dict[str, tuple[str, Level]] = {}
    planned: PlannedPairs | None = None
    known: frozenset[str] | None = None
    axes: set[str] = set()
    clean_metadata: dict[tuple[Any, ...], dict[str, Any]] = {}
    rows: list[EvidenceRow] = []
    for where, record in records:
        probe = record.get("probe_id")
        if probe is not None and probe != probe_id:
            raise InputError(src, f"{where}.probe_id",
                             f"is {shown(probe)}, but this import is for probe {probe_id}")
        name = record.get("task_id")
        task_id = tasks.get(name) if type(name) is str else None
        if task_id is None:
            name = require_text(name, src, f"{where}.task_id")
            if name not in tasks:
                if known is None:  # at the first name, where resolve_task would look the probe up
                    known = frozenset(probe_tasks(plan, probe_id, src))
                tasks[name] = resolve_task(name, plan=plan, probe_id=probe_id, options=options,
                                           source=src, where=f"{where}.task_id", mapping=mapping, known=known)
            task_id = tasks[name]
        axis, level = record.get("axis"), record.get("level")
        if axis is None or level is None:
            if task_id not in cells:
                if planned is None:  # the probe's cells by task, one walk of the plan for every task
                    planned = planned_pairs(plan, probe_id)
                cells[task_id] = resolve_cell(plan=plan, probe_id=probe_id, task_id=task_id,
                                              options=options, source=src, notes=notes, planned=planned)
            axis = cells[task_id][0] if axis is None else axis
            level = cells[task_id][1] if level is None else level
        if type(axis) is not str or axis not in axes:
            checked = require_text(axis, src, f"{where}.axis")
            if checked == axis:
                axes.add(checked)
            axis = checked
        level = checked_level(level, src, f"{where}.level")
        index = record.get("episode_index")
        if type(index) is not int or not 0 <= index <= INT64_MAX:
            if index is None:
                raise InputError(src, f"{where}.episode_index", "is required but missing")
            index = require_index(index, src, f"{where}.episode_index")
        seed = record.get("seed")
        if seed is not None and (type(seed) is not int or not -INT64_MAX - 1 <= seed <= INT64_MAX):
            seed = optional_seed(seed, src, f"{where}.seed")
        success = record.get("success")
        if success is not None and not isinstance(success, bool):
            raise InputError(src, f"{where}.success", f"must be true, false or null, not {shown(success)}")
        status = record.get("status")
        if status is None:
            if success is None:
                raise InputError(src, f"{where}.success",
                                 "is missing and no status says why (completed episodes need true or false)")
            status = "completed"
        if type(status) is not str or (status, success) not in _VALID_OUTCOMES:
            check_status(status, success, src, where)
        row = EvidenceRow(axis=axis, episode_index=index, level=level, probe_id=probe_id,
                          seed=seed, status=status, success=success, task_id=task_id)
        metadata = record.get("metadata")
        if metadata:
            row["metadata"] = _clean_metadata(metadata, redactor, clean_metadata, src, where)
        for name in OPTIONAL_FIELDS:
            value = record.get(name)
            if value is not None:
                row[name] = optional_text(name, value, redactor, src, where)  # type: ignore[literal-required]
        if not record.keys() <= KNOWN_KEYS:  # checked last, after the documented fields
            unknown_key(record, row, src, where)
        rows.append(row)
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer="generic",
                    format_version=format_version, identity="explicit", task_mapping=mapping,
                    notes=notes, redactor=redactor)


def _clean_metadata(metadata: Any, redactor: Redactor,
                    known_clean: dict[tuple[Any, ...], dict[str, Any]],
                    src: str, where: str) -> dict[str, Any]:
    """The row's metadata through the redactor; an object seen clean before is not scanned again.

    Rows may share the returned dict: validating the audit input copies every row's metadata.
    """
    try:
        # Value types are part of the key: True == 1 as a dict key, but they are different values.
        items = ((tuple(metadata.items()), tuple(map(type, metadata.values())))
                 if type(metadata) is dict else None)
        if items is not None and items in known_clean:
            return known_clean[items]
    except TypeError:  # an unhashable value (a nested list or object): the redactor refuses it
        items = None
    found = len(redactor.redactions)
    clean = redactor.metadata(require_dict(metadata, src, f"{where}.metadata"), f"{where}.metadata", source=src)
    # Clean as it came: same keys in the same order, identical values, nothing redacted. Such an
    # object (hashable, no NaN, no secret) gives the same result wherever it appears again.
    if (items is not None and len(redactor.redactions) == found and list(clean) == list(metadata)
            and all(clean[k] is v or (type(clean[k]) is type(v) and clean[k] == v)
                    for k, v in metadata.items())):
        known_clean[items] = dict(sorted(clean.items()))  # the evidence table stores canonical JSON
    return clean


def _level(value: Any, src: str, where: str) -> Level:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise InputError(src, where, f"must be an integer or a short label, not {shown(value)}")
    return value
