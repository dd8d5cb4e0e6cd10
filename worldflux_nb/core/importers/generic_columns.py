"""The vectorised generic import: evidence fields as columns, checked once per distinct value.

A reader (JSON Lines through DuckDB, CSV, a pandas DataFrame) hands each field as a `Coded`
column: its distinct values, each already as the row-by-row reader (`generic.import_records`) would see
it, and a code per row. Every check of the row path then runs once per distinct value, and the
integer columns are checked as Arrow arrays. Anything the columns cannot vouch for — a value the
row path would refuse or change, a redaction — returns None, and the caller reads the input row
by row, which names the line and field. So both paths give the same audit input, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from worldflux_nb.core.importers.common import (
    ImportOptions, PlannedPairs, Redactor, assemble, planned_pairs, probe_tasks, require_dict, require_text,
    resolve_cell, resolve_task,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.arrow_build import array as arrow_array, scalar as arrow_scalar
from worldflux_nb.models.digest import canonical_json
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.evidence_table import OPTIONAL_FIELDS
from worldflux_nb.models.plan import ProtocolPlan

if TYPE_CHECKING:
    import pyarrow as pa

CODED_FIELDS = ("probe_id", "task_id", "axis", "level", "success", "status", "metadata")


@dataclass(frozen=True)
class Coded:
    """A column as codes (int32, null where the row has no value) into its distinct values."""

    values: list[Any]
    codes: "pa.Array"

    @classmethod
    def absent(cls, size: int) -> "Coded":
        """A field no row has (an optional column left out): every code null."""
        import pyarrow as pa

        return cls([], pa.nulls(size, pa.int32()))

    @classmethod
    def of(cls, array: Any, decode: Callable[[Any], Any]) -> "Coded":
        """Dictionary-encode an Arrow array and decode each distinct value once."""
        import pyarrow as pa

        if array.null_count == len(array):  # a field no row has (an optional column): nothing to encode
            return cls.absent(len(array))
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        encoded = array.dictionary_encode()
        values = [decode(v) for v in encoded.dictionary.to_pylist()]
        codes = encoded.indices
        gone = [code for code, value in enumerate(values) if value is None]
        if gone:  # a value that decodes to None (an empty CSV cell) is no value: its code is null
            import pyarrow.compute as pc

            codes = pc.if_else(pc.is_in(codes, value_set=arrow_array(gone, codes.type)), pa.nulls(1, codes.type)[0],
                               codes)
        return cls(values, codes)

    @classmethod
    def of_python(cls, values: list[Any]) -> "Coded":
        """Python values (None: no value) coded by type and value, so True, 1 and 1.0 stay apart
        (and 0.0 and -0.0); a metadata object by its items. TypeError for an unhashable value."""
        import pyarrow as pa

        seen: dict[Any, int] = {}
        distinct: list[Any] = []
        codes: list[int | None] = []
        for value in values:
            if value is None:
                codes.append(None)
                continue
            key = _key(value)
            code = seen.get(key)
            if code is None:
                code = seen[key] = len(distinct)
                distinct.append(value)
            codes.append(code)
        return cls(distinct, pa.array(codes, pa.int32()))

    def take(self, converted: list[Any], arrow_type: "pa.DataType") -> "pa.Array":
        """The column with each code replaced by its converted value (null where the code is)."""
        import pyarrow as pa

        if len(converted) == 1 and not self.codes.null_count:
            # One value on every row (a run's metadata object, its status): repeated, not gathered
            # row by row, a tenth of the cost for long texts.
            return pa.repeat(arrow_scalar(converted[0], arrow_type), len(self.codes))
        return arrow_array(converted, arrow_type).take(self.codes)

    def texts(self, converted: list[str | None]) -> "pa.DictionaryArray":
        """The column as text, each code replaced by its converted value, kept dictionary-encoded."""
        return encoded_texts(converted, self.codes)


def encoded_texts(values: list[str | None], codes: "pa.Array") -> "pa.DictionaryArray":
    """Codes into `values` as a dictionary-encoded text column over the distinct values (a code of a
    None is null): the evidence table keeps it so, a few bytes a row where the texts take a hundred."""
    import pyarrow as pa

    index: dict[str, int] = {}
    remap = [None if value is None else index.setdefault(value, len(index)) for value in values]
    if remap != list(range(len(values))):  # two codes for one text (" a " and "a"), or a None
        codes = arrow_array(remap, pa.int32()).take(codes)
    return pa.DictionaryArray.from_arrays(codes.cast(pa.int32()), arrow_array(list(index), pa.string()))


def _key(value: Any) -> Any:
    if type(value) is float:
        return (float, value.hex())
    if type(value) is dict:
        return (dict, tuple((k, _key(v)) for k, v in value.items()))
    hash(value)
    return (type(value), value)


class Unvouched(Exception):
    """A value the columns cannot vouch for: the caller reads the input row by row."""


def _check(check: Callable[..., Any], *args: Any) -> Any:
    try:
        return check(*args)
    except InputError:
        raise Unvouched from None


def audit_input_from_columns(columns: Mapping[str, Coded], episode_index: "pa.Array", seed: "pa.Array",
                             *, source_name: str, plan: ProtocolPlan, probe_id: str,
                             options: ImportOptions, format_version: str) -> AuditInput | None:
    """The audit input the row-by-row import gives for these columns, or None (read row by row).

    `episode_index` and `seed` are int64 arrays (null: no value); the other fields are `Coded`.
    """
    try:
        batches = ColumnImport(source_name=source_name, plan=plan, probe_id=probe_id, options=options,
                               format_version=format_version)
        batches.add(columns, episode_index, seed)
        return batches.audit()
    except Unvouched:
        return None


class ColumnImport:
    """The vectorised import batch by batch (rows in file order): `add` checks one batch of coded
    columns (Unvouched where the row path must read the input), `audit` seals them all. The task
    mapping and notes accumulate in first-seen order, as the row path records them."""

    def __init__(self, *, source_name: str, plan: ProtocolPlan, probe_id: str, options: ImportOptions,
                 format_version: str) -> None:
        self.known = frozenset(probe_tasks(plan, probe_id, source_name))  # each task name resolved against it
        self.src, self.plan, self.probe_id, self.options = source_name, plan, probe_id, options
        self.format_version = format_version
        self.mapping: dict[str, str] = {}
        self.notes: list[str] = []
        self.names = Redactor()
        self.parts: list[dict[str, "pa.Array"]] = []
        self.checked: dict[Any, Any] = {}  # (check, value) -> its outcome, across batches
        self.planned: PlannedPairs | None = None  # the probe's cells by task, made for the first row without a cell

    def once(self, check: str, value: Any, run: Callable[[], Any]) -> Any:
        """`run()` for a value this check has not seen in an earlier batch, else its outcome then
        (the checks are pure per value; a value that fails raises Unvouched, which ends the import)."""
        try:
            key = (check, _key(value))
        except TypeError:  # an unhashable value (a nested list): checked, and refused, as it is
            return run()
        if key not in self.checked:
            self.checked[key] = run()
        return self.checked[key]

    def audit(self, *, sealed: bool = True) -> AuditInput:
        import pyarrow as pa

        if not self.parts:
            raise Unvouched
        evidence = {name: pa.chunked_array([part[name] for part in self.parts]) for name in self.parts[0]}
        self.parts = []
        return assemble(evidence, plan=self.plan, probe_id=self.probe_id, source=self.src, importer="generic",
                        format_version=self.format_version, identity="explicit", task_mapping=self.mapping,
                        notes=self.notes, redactor=self.names.fresh(), sealed=sealed)

    def add(self, columns: Mapping[str, Coded], index: "pa.Array", seed: "pa.Array") -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        from worldflux_nb.core.importers.generic import checked_level

        src, size = self.src, len(index)
        plan, probe_id, options = self.plan, self.probe_id, self.options
        mapping, notes, names = self.mapping, self.notes, self.names
        if not size:
            return

        def clean_name(value: str, key: str) -> str:
            if names.text(value, f"episodes.{key}", limit=64 if key == "level" else None) != value:
                raise Unvouched  # a redacted name: the row path records where
            return value

        if any(v is not None and v != probe_id for v in columns["probe_id"].values):
            raise Unvouched
        if index.null_count or (len(index) and pc.min(index).as_py() < 0):
            raise Unvouched

        success_column = columns["success"]
        if not all(v is None or type(v) is bool for v in success_column.values):
            raise Unvouched
        success = success_column.take(success_column.values, pa.bool_())
        status_column = columns["status"]
        if not all(v is None or type(v) is str for v in status_column.values):
            raise Unvouched
        status = status_column.take(status_column.values, pa.string())
        completed, timeout, false = arrow_scalar("completed", pa.string()), arrow_scalar("timeout", pa.string()), \
            arrow_scalar(False, pa.bool_())
        status = pc.if_else(pc.and_(pc.is_null(status), pc.is_valid(success)), completed, status)

        def where(condition: Any) -> Any:  # a comparison with a null reads as false
            return pc.fill_null(condition, false)

        valid = pc.or_(pc.or_(pc.and_(where(pc.equal(status, completed)), pc.is_valid(success)),
                              pc.and_(where(pc.equal(status, timeout)), where(pc.equal(success, false)))),
                       pc.and_(where(pc.is_in(status, value_set=arrow_array(["infra_failure", "pending"], pa.string()))),
                               pc.is_null(success)))
        if not pc.all(valid).as_py():
            raise Unvouched
        status = status.dictionary_encode()

        tasks = columns["task_id"]
        if tasks.codes.null_count:
            raise Unvouched
        plan_tasks = [self.once("task_id", name, lambda name=name: clean_name(
            _resolved(name, plan, probe_id, options, src, mapping, self.known), "task_id")) for name in tasks.values]
        task_ids = tasks.texts(plan_tasks)

        axes, levels = columns["axis"], columns["level"]
        axis_codes, level_codes = axes.codes, levels.codes
        axis_values, level_values = list(axes.values), list(levels.values)
        if axis_codes.null_count or level_codes.null_count:
            # Rows without axis or level take their task's only planned cell (resolve_cell), once per task.
            unplaced = pc.or_(pc.is_null(axis_codes), pc.is_null(level_codes))
            needing = pc.unique(pc.filter(tasks.codes, unplaced)).to_pylist()
            if self.planned is None:
                self.planned = planned_pairs(plan, probe_id)
            cells = {code: _check(lambda c: resolve_cell(plan=plan, probe_id=probe_id, task_id=plan_tasks[c],
                                                          options=options, source=src, notes=notes,
                                                          planned=self.planned), code)
                     for code in needing}
            default = arrow_array([code if code in cells else None for code in range(len(tasks.values))], pa.int32())
            defaults = default.take(tasks.codes)
            axis_codes = pc.coalesce(axis_codes, pc.add(defaults, arrow_scalar(len(axis_values), pa.int32())))
            level_codes = pc.coalesce(level_codes, pc.add(defaults, arrow_scalar(len(level_values), pa.int32())))
            axis_values += [cells[c][0] if c in cells else None for c in range(len(tasks.values))]
            level_values += [cells[c][1] if c in cells else None for c in range(len(tasks.values))]
        axis_text = [None if v is None else self.once("axis", v, lambda v=v: clean_name(
            _check(require_text, v, src, "axis"), "axis")) for v in axis_values]
        level_text = [None if v is None else self.once("level", v, lambda v=v: clean_name(
            str(_check(checked_level, v, src, "level")), "level")) for v in level_values]
        axis, level = encoded_texts(axis_text, axis_codes), encoded_texts(level_text, level_codes)

        metadata_column = columns["metadata"]
        canonical = [None if not value else self.once("metadata", value, lambda value=value: _canonical_metadata(
            value, src)) for value in metadata_column.values]  # None or {}: no metadata
        metadata = metadata_column.texts(canonical)
        self.parts.append({
            "probe_id": encoded_texts([probe_id], pa.repeat(arrow_scalar(0, pa.int32()), size)),
            "task_id": task_ids, "axis": axis,
            "level": level, "episode_index": index, "seed": seed, "success": success, "status": status,
            "metadata": metadata,
            **{name: _optional(columns.get(name), name, src, size) for name in OPTIONAL_FIELDS}})


def _canonical_metadata(value: Any, src: str) -> str:
    """A metadata object as canonical JSON text; Unvouched where the row path would refuse, redact,
    drop or change a value, so it records where."""
    redactor = Redactor()
    parsed = _check(require_dict, value, src, "metadata")
    clean = _check(redactor.metadata, parsed, "metadata")
    if redactor.redactions or clean != parsed or any(type(clean[k]) is not type(v) for k, v in parsed.items()):
        raise Unvouched
    return canonical_json(clean).decode("utf-8")


def _optional(column: Coded | None, name: str, src: str, size: int) -> "pa.Array":
    """An optional text column (all null where absent); Unvouched where the row path would refuse,
    redact or shorten a value, so it records where."""
    import pyarrow as pa

    from worldflux_nb.core.importers.generic import optional_text

    if column is None:
        return pa.nulls(size, pa.string())
    redactor = Redactor()
    for value in column.values:
        if value is not None and (_check(optional_text, name, value, redactor, src, name) != value
                                  or redactor.redactions):
            raise Unvouched
    return column.texts(column.values)


def _resolved(name: Any, plan: ProtocolPlan, probe_id: str, options: ImportOptions, src: str,
              mapping: dict[str, str], known: frozenset[str]) -> str:
    """A harness task name through the row path's checks: text, then `--task-map` or the plan's tasks (`known`)."""
    text = _check(require_text, name, src, "task_id")
    return _check(lambda: resolve_task(text, plan=plan, probe_id=probe_id, options=options, source=src,
                                       where="task_id", mapping=mapping, known=known))
