"""Loading artifacts by their schema version, verifying digests, and turning them into files."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator, TypeVar

from pydantic import ValidationError

from worldflux_nb.core.bulk import gc_paused
from worldflux_nb.errors import InputError, validation_problem
from worldflux_nb.io.files import MAX_INPUT_BYTES, json_bytes, json_text, parse_json_bytes, read_bytes, read_json
from worldflux_nb.models import ARTIFACT_CLASSES, Artifact, artifact_class
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.digest import canonical_json
from worldflux_nb.models.evidence import PARQUET_HEADER_KEY, AuditInput
from worldflux_nb.models.plan import ROW_SEPARATOR, ProtocolPlan, RunSheet, episode_row_texts

if TYPE_CHECKING:
    from worldflux_nb.core.libero_plus import Classification

A = TypeVar("A", bound=Artifact)
T = TypeVar("T")


def validation_error(exc: ValidationError, source: str) -> InputError:
    """The first pydantic error as one line naming the field."""
    field, message = validation_problem(exc.errors(include_url=False)[0])
    return InputError(source, field, message)


def validate(cls: type[A], data: Any, source: str) -> A:
    if not isinstance(data, dict):
        raise InputError(source, None, f"must hold a JSON object, not {type(data).__name__}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source) from None


def artifact_from_json(data: Any, source: str, expected: type[A] | None = None) -> A:
    """Validate a parsed artifact by its schema_version and refuse it if its digest no longer matches."""
    if not isinstance(data, dict):
        raise InputError(source, None, f"must hold a JSON object, not {type(data).__name__}")
    version = data.get("schema_version")
    cls = artifact_class(version) if isinstance(version, str) else None
    if cls is None:
        raise InputError(source, "schema_version",
                         f"{version!r} is not a worldflux-nb artifact kind ({', '.join(sorted(ARTIFACT_CLASSES))})")
    if expected is not None and cls is not expected:
        raise InputError(source, "schema_version", f"is {version}, expected {expected.schema_id()}")
    artifact = audit_input(data, source) if cls is AuditInput else validate(cls, data, source)
    problem = artifact.digest_problem(data)
    if problem:
        raise InputError(source, artifact.DIGEST_FIELD, problem)
    return artifact  # type: ignore[return-value]


def audit_input(data: dict[str, Any], source: str) -> AuditInput:
    """An audit input: its episodes checked column by column into an evidence table (a bad value is
    refused naming its row and field), then the header validated by pydantic."""
    from worldflux_nb.models.evidence_table import EvidenceError, EvidenceTable

    episodes = data.get("episodes")
    if isinstance(episodes, list):
        try:
            data = {**data, "episodes": EvidenceTable.build(episodes)}
        except EvidenceError as exc:
            raise InputError(source, exc.location, exc.message) from None
    elif episodes is not None and not isinstance(episodes, EvidenceTable):
        raise InputError(source, "episodes", f"must be a list of rows, not {type(episodes).__name__}")
    return validate(AuditInput, data, source)


PARQUET_MAGIC = b"PAR1"
HEADER_KEY = PARQUET_HEADER_KEY  # the audit input's header in a Parquet file's key-value metadata


def load(path: str | os.PathLike[str], expected: type[A] | None = None, *,
         max_bytes: int = MAX_INPUT_BYTES) -> A:
    """Read any worldflux-nb artifact file (an audit input as JSON or Parquet), verify its digest and
    return the model."""
    with gc_paused():
        data = read_bytes(path, max_bytes=max_bytes)
        if data[:4] == PARQUET_MAGIC:
            if expected is not None and expected is not AuditInput:
                raise InputError(str(path), None, f"is a Parquet file; expected {expected.schema_id()} JSON")
            return audit_input_from_parquet(data, str(path))  # type: ignore[return-value]
        return artifact_from_json(parse_json_bytes(data, str(path)), str(path), expected)


def audit_input_from_parquet(data: bytes, source: str) -> AuditInput:
    """An audit input from Parquet: the header from the file's metadata, the episodes from its
    columns (checked as a table), the digest verified."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from worldflux_nb.models.evidence_table import COLUMNS, EvidenceError, EvidenceTable

    try:
        # Text stays dictionary-encoded as Parquet stores it: checked, hashed and matched per distinct value.
        # ParquetFile reads the one file itself (read_table goes through pyarrow.dataset, ~0.2 s to import);
        # it wants only columns the file has as dictionaries (an optional column may be left out).
        metadata = pq.read_metadata(pa.BufferReader(data))
        present = set(metadata.schema.names)
        table = pq.ParquetFile(pa.BufferReader(data), metadata=metadata, read_dictionary=[
            name for name, kind, _ in COLUMNS if kind == "string" and name in present]).read()
        table.validate(full=True)  # codes outside their dictionary: decoding would have refused them
    except (pa.ArrowException, OSError) as exc:
        raise InputError(source, None, f"is not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None
    names = table.column_names
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:  # read_table refused these as unreadable; ParquetFile reads both copies
        raise InputError(source, twice, "is a column given twice")
    header_bytes = (table.schema.metadata or {}).get(HEADER_KEY)
    if header_bytes is None:
        raise InputError(source, "worldflux_nb.header", "is missing: not a worldflux-nb audit input")
    header = parse_json_bytes(header_bytes, f"{source} (worldflux_nb.header)")
    if not isinstance(header, dict):
        raise InputError(source, "worldflux_nb.header", "must be a JSON object")
    if "episodes" in header:
        raise InputError(source, "worldflux_nb.header.episodes", "belongs in the columns, not the header")
    try:
        episodes = EvidenceTable.build(table.replace_schema_metadata(None))
    except EvidenceError as exc:
        raise InputError(source, exc.location, exc.message) from None
    del table
    try:
        return artifact_from_json({**header, "episodes": episodes}, source, AuditInput)
    finally:
        # Arrow's allocator keeps what reading and hashing freed (~300 MB at ten million rows) unless asked.
        pa.default_memory_pool().release_unused()


# Arrow's default row group: written one group at a time, the file's bytes are those of one
# `pq.write_table` of the whole table, while only two groups' text columns are ever decoded.
ROW_GROUP_ROWS = 1 << 20


def audit_input_parquet(audit: AuditInput) -> bytes:
    """The audit input as Parquet bytes: typed columns, the header as canonical JSON in the metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from worldflux_nb.models.evidence_table import arrow_schema

    begun = ParquetRowGroups.begin(audit.episodes)
    if begun is not None:
        return begun.finish(audit)
    metadata = {HEADER_KEY: canonical_json(audit.header())}
    sink = pa.BufferOutputStream()
    if not len(audit.episodes):
        pq.write_table(audit.episodes.arrow.replace_schema_metadata(metadata), sink, compression="zstd")
        return sink.getvalue().to_pybytes()
    writer = pq.ParquetWriter(sink, arrow_schema().with_metadata(metadata), compression="zstd")
    for part in _one_ahead(audit.episodes.arrow_slices(ROW_GROUP_ROWS)):
        writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
    writer.close()
    return sink.getvalue().to_pybytes()


class ParquetRowGroups:
    """An audit input's Parquet file begun from its evidence table alone: the header goes in the
    footer, so the row groups can be encoded (`begin(..., background=True)`: in a thread, the
    writer releases the GIL) while the caller still computes the content digest the header seals.

    Only where text columns go to the writer as their dictionaries (io.parquet_text): the file then
    records the decoded table's `ARROW:schema` itself, the header first, and both are added at the
    end; otherwise the writer wants the header with the schema up front, and `begin` gives None."""

    def __init__(self, episodes: Any, writer: Any, sink: Any, parts: Iterator[Any], schema: Any) -> None:
        import threading

        self.episodes, self._writer, self._sink, self._parts, self._schema = episodes, writer, sink, parts, schema
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def begin(cls, episodes: Any, *, background: bool = False) -> "ParquetRowGroups | None":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from worldflux_nb.io.parquet_text import direct_columns, first_seen
        from worldflux_nb.models.evidence_table import arrow_schema

        if not len(episodes) or not hasattr(pq.ParquetWriter, "add_key_value_metadata"):
            return None
        schema = arrow_schema()
        direct = direct_columns(episodes.encoded, schema.names, ROW_GROUP_ROWS)
        if not direct:
            return None
        written = pa.schema([field.with_type(pa.dictionary(pa.int32(), field.type)) if field.name in direct else field
                             for field in schema])
        sink = pa.BufferOutputStream()
        writer = pq.ParquetWriter(sink, written, compression="zstd", store_schema=False)
        parts = (pa.Table.from_arrays([first_seen(part.column(name)) if name in direct else part.column(name)
                                       for name in schema.names], schema=written)
                 for part in episodes.arrow_slices(ROW_GROUP_ROWS, stored=direct))
        begun = cls(episodes, writer, sink, parts, schema)
        if background:
            import threading

            begun._thread = threading.Thread(target=begun._write, name="wfnb-parquet", daemon=True)
            begun._thread.start()
        return begun

    def _write(self) -> None:
        parts = _one_ahead(self._parts)
        try:
            for part in parts:
                if self._stop.is_set():
                    return
                self._writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
        except BaseException as exc:  # raised to the caller of finish
            self._error = exc
        finally:
            parts.close()

    def finish(self, audit: AuditInput) -> bytes:
        """The file's bytes, the row groups written (or waited for) and `audit`'s header added."""
        import base64

        if audit.episodes is not self.episodes or self._stop.is_set():
            raise ValueError("these row groups were stopped, or are not this audit input's evidence")
        if self._thread is None:
            self._write()
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        metadata = {HEADER_KEY: canonical_json(audit.header())}
        schema = self._schema.with_metadata(metadata)  # as the writer records it: the header included
        self._writer.add_key_value_metadata({**metadata, "ARROW:schema": base64.b64encode(schema.serialize().to_pybytes())})
        self._writer.close()
        return self._sink.getvalue().to_pybytes()

    def cancel(self) -> None:
        """Stop a background write that will not be finished (between two row groups) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _one_ahead(items: Iterator[T]) -> Iterator[T]:
    """`items` in order, each next one made in a second thread while the caller uses the current
    one (Arrow's casts and the Parquet writer release the GIL: a row group is decoded while the one
    before it is encoded)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wfnb-decode") as pool:
        coming = pool.submit(next, items, None)
        while (item := coming.result()) is not None:
            coming = pool.submit(next, items, None)
            yield item


def is_parquet_path(path: str | os.PathLike[str]) -> bool:
    return str(path).lower().endswith(".parquet")


def audit_input_file(audit: AuditInput, path: str | os.PathLike[str], *,
                     begun: ParquetRowGroups | None = None) -> str | bytes:
    """The content to write for an audit input at this path: Parquet for `.parquet`, else JSON.
    `begun`: its row groups already under way (ParquetRowGroups.begin), used if they are this audit
    input's evidence."""
    if is_parquet_path(path):
        if begun is not None and begun.episodes is audit.episodes:
            return begun.finish(audit)
        return audit_input_parquet(audit)
    return artifact_json(audit)


def load_contract(path: str | os.PathLike[str]) -> CustomEvalContract:
    """A custom eval contract file; hand-written ones may leave out schema_version and privacy."""
    data = read_json(path)
    if isinstance(data, dict) and "schema_version" not in data:
        return validate(CustomEvalContract, data, str(path))
    return artifact_from_json(data, str(path), CustomEvalContract)


def load_libero_plus_classification(path: str | os.PathLike[str]) -> Classification:
    """LIBERO-plus's task_classification.json as the operator supplies it (core.libero_plus)."""
    from worldflux_nb.core.libero_plus import parse_classification

    return parse_classification(read_json(path), str(path))


def artifact_json(artifact: Artifact) -> str:
    """The artifact as stable pretty JSON (json_text); run sheet rows and plan cells one a line."""
    if isinstance(artifact, (RunSheet, ProtocolPlan)):
        return artifact_bytes(artifact).decode("utf-8")
    with gc_paused():
        return json_text(artifact.to_json_dict())  # text a lone surrogate in a field cannot spoil


def artifact_bytes(artifact: Artifact) -> bytes:
    """artifact_json(artifact) as UTF-8, never decoded (what its file is given)."""
    if isinstance(artifact, RunSheet):
        rows = ROW_SEPARATOR.join(episode_row_texts(artifact.episodes)).encode("utf-8")
        return run_sheet_json(artifact, rows)
    if isinstance(artifact, ProtocolPlan):
        # One cell a line: a plan of a million episodes stays a few MB.
        head = artifact.to_json_dict()
        rows = ROW_SEPARATOR.join(canonical_json(cell).decode("utf-8") for cell in head["cells"])
        head["cells"] = []
        return _with_rows(json_bytes(head), "cells", rows.encode("utf-8"))
    with gc_paused():
        return json_bytes(artifact.to_json_dict())


def _with_rows(text: bytes, key: str, rows: bytes | memoryview) -> bytes:
    """Pretty JSON whose top-level `key` (written empty) gets `rows`, one compact row a line."""
    if not rows:
        return text
    # Keys are sorted and strings escaped: `"key": []` at two spaces is the top-level key.
    before, after = text.split(b'\n  "' + key.encode() + b'": []', 1)
    return b"".join((before, b'\n  "' + key.encode() + b'": [\n    ', rows, b"\n  ]", after))


def run_sheet_json(header: RunSheet, rows_json: bytes | memoryview) -> bytes:
    """run_sheet.json (UTF-8): the header pretty-printed, the episodes one canonical row a line."""
    head = header.model_dump(mode="json", exclude={"episodes"})
    head["episodes"] = []
    return _with_rows(json_bytes(head), "episodes", rows_json)
