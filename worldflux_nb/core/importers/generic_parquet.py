"""Generic evidence as Parquet: the generic fields as typed columns (docs/evidence-table.md).

The file is read by pyarrow as columns and handed to the vectorised generic import
(generic_columns.ColumnImport), which checks each distinct value once with the rules the JSONL and
CSV importers use. Anything it cannot vouch for is read again row by row through the same row path
(`generic.import_records`), which names the row (1-based, in file order) and the field. `metadata` is a
JSON object in a string column, a struct column (what pyarrow, pandas and Polars write for a column of
dicts; read as its `metadata.<field>` columns, a null field being no key), or spread over
`metadata.<key>` columns, as in CSV; a column or struct field that is not a scalar (a list, a struct, a
map), a timestamp or bytes is refused naming it.
"""

from __future__ import annotations

from typing import Any, Iterator

from worldflux_nb.core.importers.common import ImportOptions
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.plan import ProtocolPlan

FORMAT_VERSION = "generic Parquet"


def parse_parquet(data: bytes, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                  options: ImportOptions = ImportOptions()) -> AuditInput:
    """Generic Parquet evidence: read as columns, or row by row where the columns cannot vouch for a value."""
    from worldflux_nb.core.importers.generic import import_records

    table = read_table(data, source_name)
    audit = _columns(table, source_name=source_name, plan=plan, probe_id=probe_id, options=options)
    if audit is not None:
        return audit
    return import_records(_records(table, source_name), source=source_name, plan=plan, probe_id=probe_id,
                          options=options, format_version=FORMAT_VERSION)


def read_table(data: bytes, src: str) -> Any:
    """The file as a table of plain scalar columns (dictionary-encoded ones decoded); one line
    naming the file for what is not Parquet, and naming the column for one of another kind."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(pa.BufferReader(data)).read()  # pq.read_table loads pandas (pyarrow.dataset)
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(src, None, f"is not a readable Parquet file ({reason})") from None
    table = plain_table(table, src)
    if not table.num_rows:
        raise InputError(src, None, "holds no rows")
    return table


def detect(data: Any) -> str | None:
    """The run-folder triage's look at a file: the shape of generic evidence (`generic.detect_records`)
    when its Parquet schema has the generic columns, of the types `read_table` takes; else None (not
    Parquet, no rows, a worldflux-nb audit input, another table such as a LeRobot dataset's frames)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from worldflux_nb.core.importers.generic import check_columns, detect_records
    from worldflux_nb.models.evidence import PARQUET_HEADER_KEY

    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError, TypeError):
        return None
    if not rows or PARQUET_HEADER_KEY in (schema.metadata or {}):
        return None
    empty = schema.empty_table()
    try:
        _refuse_repeated(list(empty.column_names), "")
        names = _struct_metadata_spread(empty, "")[0]
        check_columns(names, "", "")
        shape = detect_records([dict.fromkeys(names)])
        if shape == "per_episode":
            plain_table(empty, "")
    except InputError:
        return None
    return shape


def plain_table(table: Any, src: str) -> Any:
    """The table's columns checked by name and type (rows aside) and made plain: a struct `metadata`
    spread, dictionary-encoded columns decoded, large strings as strings."""
    import pyarrow as pa

    from worldflux_nb.core.importers.generic import check_columns

    _refuse_repeated(list(table.column_names), src)
    names, columns = _struct_metadata_spread(table, src)
    _refuse_repeated(names, src)  # a struct field beside the same metadata.<key> column
    check_columns(names, src, "a JSON object or a struct in the metadata column, or metadata.<key> columns")
    for required in ("task_id", "episode_index"):
        if required not in names:
            raise InputError(src, required, "column is missing from the Parquet schema")
    plain = []
    for name, column in zip(names, columns):
        column = _decoded(column)
        kind = column.type
        if not _scalar(kind):
            raise InputError(src, f"column {name!r}", f"has the Parquet type {kind}; generic evidence columns "
                             "hold booleans, integers, floats or strings (metadata: a JSON object as text, "
                             "a struct of scalars or metadata.<key> columns of scalars)")
        if name == "metadata" and not (pa.types.is_string(kind) or pa.types.is_null(kind)):
            raise InputError(src, "column 'metadata'", f"has the Parquet type {kind}; it must hold JSON "
                             "objects as text, or be a struct of scalars (or use metadata.<key> columns)")
        plain.append(column)
    return pa.table(plain, names=names)


def _refuse_repeated(names: list[str], src: str) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(src, f"column {repeated[0]!r}", "appears twice in the Parquet schema; which value "
                         "holds is ambiguous, so the file is refused")


def _struct_metadata_spread(table: Any, src: str) -> tuple[list[str], list[Any]]:
    """The table's column names and columns, a struct `metadata` column read as its `metadata.<field>`
    columns (a null struct or field: no key, as an empty `metadata.<key>` cell); a field that is not a
    scalar is refused naming the column and the field."""
    import pyarrow as pa

    names, columns = list(table.column_names), list(table.columns)
    if "metadata" not in names or not pa.types.is_struct(columns[names.index("metadata")].type):
        return names, columns
    at = names.index("metadata")
    struct = columns[at]
    fields = [struct.type.field(i) for i in range(struct.type.num_fields)]
    for field in fields:
        if not _scalar(field.type.value_type if pa.types.is_dictionary(field.type) else field.type):
            raise InputError(src, f"column 'metadata' field {field.name!r}", f"has the Parquet type {field.type}; "
                             "a metadata field holds a boolean, integer, float or string (nested objects, "
                             "lists, maps, bytes and timestamps are not kept)")
    return ([*names[:at], *(f"metadata.{field.name}" for field in fields), *names[at + 1:]],
            [*columns[:at], *struct.flatten(), *columns[at + 1:]])


def _decoded(column: Any) -> Any:
    """A dictionary-encoded column decoded, a large string column as a string column."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    return column


def _scalar(kind: Any) -> bool:
    import pyarrow as pa

    return (pa.types.is_null(kind) or pa.types.is_boolean(kind) or pa.types.is_integer(kind)
            or pa.types.is_floating(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _columns(table: Any, **kwargs: Any) -> AuditInput | None:
    """The vectorised import of the table's columns, or None (the row path reads it)."""
    import pyarrow as pa

    from worldflux_nb.core.importers.generic import CODED_NAMES, folded_metadata, metadata_cell
    from worldflux_nb.core.importers.generic_columns import Coded, audit_input_from_columns

    src, size = kwargs["source_name"], table.num_rows
    if "cell_id" in table.column_names:
        return None  # the row path checks a cell_id against its row

    def coded(name: str, decode: Any = lambda v: v) -> Coded:
        if name not in table.column_names:
            return Coded.absent(size)
        return Coded.of(table.column(name), decode)

    def integers(name: str) -> Any:
        if name not in table.column_names:
            return pa.nulls(size, pa.int64())
        column = table.column(name).combine_chunks()
        if not (pa.types.is_integer(column.type) or pa.types.is_null(column.type)):
            return None  # a float or a string: the row path checks each value
        return column.cast(pa.int64())  # ArrowInvalid for a uint64 beyond int64

    try:
        columns = {name: coded(name) for name in CODED_NAMES if name != "metadata"}
        columns["metadata"] = coded("metadata", lambda v: metadata_cell(v.strip(), src, "metadata"))
        spread = {name[len("metadata."):]: coded(name) for name in table.column_names
                  if name.startswith("metadata.")}
        if spread:
            columns["metadata"] = folded_metadata(columns["metadata"], spread)
        index, seed = integers("episode_index"), integers("seed")
    except (InputError, TypeError, pa.ArrowInvalid):
        return None
    if index is None or seed is None:
        return None
    return audit_input_from_columns(columns, index, seed, format_version=FORMAT_VERSION, **kwargs)


def _records(table: Any, src: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Rows as the row path reads them, named `row N` (1-based); null is no value, as in JSONL."""
    from worldflux_nb.core.importers.generic import metadata_cell, unflatten_record

    number = 0
    for batch in table.to_batches(max_chunksize=65_536):
        for record in batch.to_pylist():
            number += 1
            where = f"row {number}"
            text = record.get("metadata")
            if text is not None:
                record["metadata"] = metadata_cell(text.strip(), src, where)
            yield where, unflatten_record(record, src, where)
