"""Shared importer helpers: field checks, task mapping, planned-episode lookup, redaction, sealing.

Every check raises InputError naming the file and the field, so a bad harness file is refused with one
line. Parsers stay pure: they receive already-read content and return a sealed AuditInput.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from pydantic import ValidationError

from worldflux_nb.models.redaction import placeholder, redact_pair, redact_text
from worldflux_nb.errors import InputError, validation_problem
from worldflux_nb.models.common import Level
from worldflux_nb.models.evidence import (
    EPISODE_STATUSES, AuditInput, AuditSource, EvidenceKind, EvidenceRow, IdentityMode, Redaction,
    ReportedSummary, SourceFile,
)
from worldflux_nb.models.evidence_table import EvidenceError, EvidenceTable
from worldflux_nb.models.plan import ProtocolPlan

# Free text (failure messages, tracebacks) is kept short: enough to triage, not a log dump.
MAX_TEXT_CHARS = 500
# Indexes and seeds go into int64 columns downstream; anything larger is refused here.
INT64_MAX = 2**63 - 1
# A note names this many of the harness's NaN or infinite values (one a row is common); the rest are counted.
NON_FINITE_SHOWN = 5


@dataclass(frozen=True)
class ImportOptions:
    """What a harness file cannot say for itself, supplied by the operator."""

    # Harness task name -> plan task id (`--task-map NAME=TASK`, repeatable).
    task_map: Mapping[str, str] = field(default_factory=dict)
    # The task of a single-task file that names none (LeRobot legacy layout, ManiSkill).
    task: str | None = None
    # Perturbation axis and level for files that carry no perturbation information.
    axis: str | None = None
    level: Level | None = None
    # The harness version that wrote the file, where the file does not record it (`--harness-version`):
    # it decides whether an importer may claim the harness's own episode order (LeRobot multi-task).
    harness_version: str | None = None


@dataclass(frozen=True)
class Folder:
    """A folder of harness output as an importer reads it: (relative path, content) pairs in name order.

    Content is the parsed file (JSON or text, as the importer reads) or None where only the name is
    evidence (rollout videos whose names carry the outcome).
    """

    name: str
    files: tuple[tuple[str, Any], ...]


def parse_level(text: str) -> Level:
    """A level from the command line: an integer difficulty when it looks like one, else a label."""
    stripped = text.strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else stripped


def parse_task_map(pairs: Iterable[str], source: str = "--task-map") -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, task = pair.partition("=")
        if not sep or not name.strip() or not task.strip():
            raise InputError(None, source, f"{pair!r} must look like HARNESS_NAME=PLAN_TASK")
        mapping[name.strip()] = task.strip()
    return mapping


# ---------------------------------------------------------------------------------------------
# Field checks over untrusted JSON-like values
# ---------------------------------------------------------------------------------------------

def require_dict(value: Any, source: str, where: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(source, where, f"must be a JSON object, not {json_type(value)}")
    return value


def require_list(value: Any, source: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(source, where, f"must be a list, not {json_type(value)}")
    return value


def require_bool(value: Any, source: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(source, where, f"must be true or false, not {shown(value)}")
    return value


def require_index(value: Any, source: str, where: str) -> int:
    """A non-negative integer episode index (floats such as 3.0 from CSV-ish writers are accepted)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(source, where, f"must be a non-negative integer, not {shown(value)}")
    if value < 0:
        raise InputError(source, where, f"must be a non-negative integer, not {value}")
    if value > INT64_MAX:
        raise InputError(source, where, "is out of range (larger than a 64-bit integer)")
    return value


def optional_seed(value: Any, source: str, where: str) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(source, where, f"must be an integer or null, not {shown(value)}")
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise InputError(source, where, "is out of range (outside a 64-bit integer)")
    return value


def aggregate_only(source: str, where: str, problem: str = "is missing or empty") -> InputError:
    """The refusal for a file that holds scores but no per-episode evidence."""
    return InputError(source, where, f"{problem}: the file holds only aggregate numbers "
                                     "(aggregate-only evidence cannot be checked episode by episode)")


def require_text(value: Any, source: str, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise InputError(source, where, f"must be a non-empty name, not {shown(value)}")
    return str(value).strip()


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_status(status: str, success: bool | None, source: str, where: str) -> None:
    """Statuses and success must agree: completed is true/false, timeout is false, others are null."""
    if status not in EPISODE_STATUSES:
        raise InputError(source, f"{where}.status",
                         f"{status!r} is not a status ({', '.join(EPISODE_STATUSES)})")
    if status == "completed" and not isinstance(success, bool):
        raise InputError(source, f"{where}.success", "a completed episode needs success true or false")
    if status == "timeout" and success is not False:
        raise InputError(source, f"{where}.success", "a timed-out episode is a failure: success must be false")
    if status in ("infra_failure", "pending") and success is not None:
        raise InputError(source, f"{where}.success",
                         f"an episode with status {status} has no outcome: success must be null")


# ---------------------------------------------------------------------------------------------
# The plan: tasks, cells and planned episodes of one probe
# ---------------------------------------------------------------------------------------------

def probe_tasks(plan: ProtocolPlan, probe_id: str, source: str) -> list[str]:
    try:
        return list(plan.probe(probe_id).tasks)
    except KeyError:
        selected = ", ".join(p.probe_id for p in plan.selected_probes) or "none"
        raise InputError(source, "--probe",
                         f"{probe_id!r} is not a selected probe of the plan (selected: {selected})") from None


def resolve_task(name: str, *, plan: ProtocolPlan, probe_id: str, options: ImportOptions,
                 source: str, where: str, mapping: dict[str, str], known: Collection[str] | None = None) -> str:
    """The plan task a harness task name stands for: `--task-map` first, then the name itself.

    A name the plan does not contain stays the row's task: its rows are out-of-protocol evidence
    (a full-suite run against a plan of a few tasks is normal), never a reason to refuse the file.
    `known`: the probe's tasks as a set, for a caller resolving many names (probe_tasks copies a list).
    """
    if known is None:
        known = probe_tasks(plan, probe_id, source)
    if name in options.task_map:
        target = options.task_map[name]
        if target not in known:
            raise InputError(source, "--task-map",
                             f"{name}={target}: {target!r} is not a task of probe {probe_id} in the plan")
        mapping[name] = target
        return target
    if name in known:
        mapping[name] = name
    return name


def unplanned_note(rows: Sequence[Mapping[str, Any]], plan: ProtocolPlan, probe_id: str) -> str | None:
    """One note naming the harness tasks the plan does not contain (their rows are out of protocol)."""
    known = set(probe_tasks(plan, probe_id, ""))
    extra = sorted({row["task_id"] for row in rows} - known)
    if not extra:
        return None
    listed = ", ".join(extra[:8]) + (f", ... ({len(extra)} in all)" if len(extra) > 8 else "")
    return (f"{len(extra)} task(s) the plan does not contain kept as out-of-protocol evidence: {listed} "
            "(map a renamed task with --task-map NAME=PLAN_TASK)")


def default_task(*, plan: ProtocolPlan, probe_id: str, options: ImportOptions, source: str,
                 what: str, mapping: dict[str, str]) -> str:
    """The task of a file that names none: `--task`, or the probe's only planned task."""
    if options.task:
        return resolve_task(options.task, plan=plan, probe_id=probe_id, options=options,
                            source=source, where="--task", mapping=mapping)
    known = probe_tasks(plan, probe_id, source)
    if len(known) == 1:
        mapping[f"({what})"] = known[0]
        return known[0]
    raise InputError(source, "--task",
                     f"{what} names no task and probe {probe_id} plans {len(known)}; give --task PLAN_TASK")


PlannedPairs = tuple[list[tuple[str, Level]], dict[str, list[tuple[str, Level]]]]


def planned_pairs(plan: ProtocolPlan, probe_id: str) -> PlannedPairs:
    """The probe's planned (axis, level) pairs and each of its tasks' pairs, each once in plan order:
    what `resolve_cell` reads, for a caller resolving many tasks (one walk of the cells, not one a task)."""
    probe_pairs: list[tuple[str, Level]] = []
    seen: set[tuple[str, Level]] = set()
    by_task: dict[str, list[tuple[str, Level]]] = {}
    for cell in plan.cells:
        if cell.probe_id != probe_id:
            continue
        pair = (cell.axis, cell.level)
        if pair not in seen:
            seen.add(pair)
            probe_pairs.append(pair)
        task_pairs = by_task.setdefault(cell.task_id, [])
        if pair not in task_pairs:
            task_pairs.append(pair)
    return probe_pairs, by_task


def resolve_cell(*, plan: ProtocolPlan, probe_id: str, task_id: str, options: ImportOptions,
                 source: str, notes: list[str], planned: PlannedPairs | None = None) -> tuple[str, Level]:
    """Axis and level for evidence of one task that carries no perturbation information.

    A task the plan does not contain takes `--axis/--level`, else the probe's only planned
    (axis, level), else `nominal`/0: its rows are out of protocol whatever their cell.
    `planned`: `planned_pairs(plan, probe_id)`, made once by a caller resolving many tasks.
    """
    probe_pairs, by_task = planned if planned is not None else planned_pairs(plan, probe_id)
    pairs = by_task.get(task_id, [])
    if not pairs:
        if options.axis is not None and options.level is not None:
            return options.axis, options.level
        return probe_pairs[0] if len(probe_pairs) == 1 else ("nominal", 0)
    chosen = [(a, lv) for a, lv in pairs
              if (options.axis is None or a == options.axis)
              and (options.level is None or str(lv) == str(options.level))]
    if len(chosen) == 1:
        return chosen[0]
    if options.axis is not None and options.level is not None:
        note = f"{task_id}: --axis {options.axis} --level {options.level} is not a planned cell"
        if note not in notes:
            notes.append(note + "; its rows will be out of protocol")
        return options.axis, options.level
    listed = ", ".join(f"{a}/{lv}" for a, lv in pairs) or "none"
    raise InputError(source, "--axis/--level",
                     f"task {task_id} of probe {probe_id} has planned cells {listed}; "
                     "the file carries no perturbation information, so give --axis and --level")


def cell_resolver(*, plan: ProtocolPlan, probe_id: str, options: ImportOptions, source: str,
                  mapping: dict[str, str], notes: list[str]) -> Callable[[str, str], tuple[str, str, Level]]:
    """Harness task name -> (plan task, axis, level), worked out once per name.

    Harness files repeat the task on every episode, and resolving walks the plan's tasks and cells.
    """
    resolved: dict[str, tuple[str, str, Level]] = {}
    known: list[frozenset[str]] = []  # the probe's tasks and cells, made on the first name
    planned: list[PlannedPairs] = []

    def resolve(name: str, where: str) -> tuple[str, str, Level]:
        if name not in resolved:
            if not known:
                known.append(frozenset(probe_tasks(plan, probe_id, source)))
            task_id = resolve_task(name, plan=plan, probe_id=probe_id, options=options, source=source,
                                   where=where, mapping=mapping, known=known[0])
            if not planned:
                planned.append(planned_pairs(plan, probe_id))
            resolved[name] = (task_id, *resolve_cell(plan=plan, probe_id=probe_id, task_id=task_id,
                                                     options=options, source=source, notes=notes,
                                                     planned=planned[0]))
        return resolved[name]

    return resolve


def planned_by_cell(plan: ProtocolPlan, probe_id: str) -> dict[tuple[str, str, str], list[int]]:
    """Planned episode indexes of one probe per (task, axis, level-as-text), in run-sheet order."""
    from worldflux_nb.core.run_sheet import planned_episodes_frame

    frame = planned_episodes_frame(plan)
    frame = frame[frame["probe_id"] == probe_id]
    keys = zip(frame["task_id"], frame["axis"], frame["level"].map(str))
    planned: dict[tuple[str, str, str], list[int]] = {}
    for key, index in zip(keys, frame["episode_index"].tolist()):
        planned.setdefault(key, []).append(int(index))
    return planned


# ---------------------------------------------------------------------------------------------
# Redaction and metadata
# ---------------------------------------------------------------------------------------------

class Redactor:
    """Collects Redaction entries while cleaning free text and metadata at the boundary."""

    # Harness files repeat the same strings on every row; each distinct string is scanned once.
    CACHE_LIMIT = 100_000

    def __init__(self) -> None:
        self.redactions: list[Redaction] = []
        # A harness's NaN or infinity is not a secret: it is kept as null and told in the source's notes.
        self.non_finite = 0
        self._non_finite_shown: list[str] = []
        self._seen: set[tuple[str, str]] = set()
        self._cache: dict[str, tuple[str, list[str]]] = {}
        self._pairs: dict[tuple[str, Any], str | None] = {}

    def fresh(self) -> "Redactor":
        """A redactor with nothing collected that reuses this one's scans of texts (a scan's outcome
        depends on the text alone): ten thousand task names are scanned once, not once per redactor."""
        other = Redactor()
        other._cache = self._cache
        return other

    def text(self, value: str, location: str, *, limit: int | None = MAX_TEXT_CHARS) -> str:
        cached = self._cache.get(value)
        if cached is None:
            cached = redact_text(value)
            if len(self._cache) < self.CACHE_LIMIT:
                self._cache[value] = cached
        clean, kinds = cached
        for kind in kinds:
            if (location, kind) not in self._seen:
                self._seen.add((location, kind))
                self.redactions.append(Redaction(location=location[:2000], kind=kind))
        if limit is not None and len(clean) > limit:
            clean = clean[: limit - 1] + "…"
        return clean

    def metadata(self, values: Mapping[str, Any], location: str, *, source: str | None = None,
                 flatten: bool = False) -> dict[str, Any]:
        """Scalar metadata, strings redacted; nothing is dropped. A nested object or list, NaN or infinity
        is refused; with `flatten` (a harness's own records) nesting becomes `a.b` / `a.0` keys and NaN or
        infinity becomes null, counted for `non_finite_note`."""
        clean: dict[str, Any] = {}
        for key, value in (_flattened(values, source, location) if flatten else values.items()):
            name = self.text(str(key), f"{location}.<key>", limit=128)
            if name in clean:
                raise InputError(source, f"{location}.{name}", "appears twice (a nested key flattens onto it)")
            if isinstance(value, float) and not math.isfinite(value):
                if not flatten:
                    raise InputError(source, f"{location}.{name}",
                                     f"must be a finite number, not {value!r} (JSON has no infinity or NaN)")
                # A harness's own NaN (LeRobot writes NaN rewards) is kept as null, and told in a note.
                clean[name] = None
                self.non_finite += 1
                if len(self._non_finite_shown) < NON_FINITE_SHOWN:
                    self._non_finite_shown.append(f"{location}.{name}")
            elif isinstance(value, (str, int, float)) and not isinstance(value, bool) and self._pair_secret(name, value):
                # {"password": "hunter2"}: neither half is a secret alone, the pair is.
                clean[name] = placeholder(self._pair_secret(name, value))
                self._note(f"{location}.{name}", self._pair_secret(name, value))
            elif isinstance(value, str):
                clean[name] = self.text(value, f"{location}.{name}")
            elif value is None or isinstance(value, (bool, int, float)):
                clean[name] = value
            else:
                raise InputError(source, f"{location}.{name}", "must be a scalar (string, number, boolean or "
                                 "null); nested objects and lists are not kept")
        return clean

    def non_finite_note(self) -> str | None:
        """The source note for the harness values that were NaN or infinity (kept as null), if any."""
        if not self.non_finite:
            return None
        more = self.non_finite - len(self._non_finite_shown)
        return (f"{self.non_finite} value(s) the harness wrote as NaN or infinity are kept as null (JSON "
                f"holds no such number): {', '.join(self._non_finite_shown)}"
                + (f" and {more} more" if more else ""))

    def _pair_secret(self, key: str, value: Any) -> str | None:
        """The kind of secret a key and its value make together, if any (cached per pair)."""
        pair = (key, value if isinstance(value, str) else repr(value))
        if pair not in self._pairs:
            kinds = redact_pair(key, value)[2] if len(self._pairs) < self.CACHE_LIMIT else []
            found = [k for k in kinds if k == "secret_assignment" or k.endswith("_key") or k.endswith("token")]
            self._pairs[pair] = found[0] if found else None
        return self._pairs[pair]

    def _note(self, location: str, kind: str) -> None:
        if (location, kind) not in self._seen:
            self._seen.add((location, kind))
            self.redactions.append(Redaction(location=location[:2000], kind=kind))

    def names(self, rows: Sequence[EvidenceRow] | Mapping[str, Any]) -> None:
        """Redact, in place, the harness's own names a row carries (task, axis, level, harness task):
        an out-of-protocol row keeps whatever its harness wrote, and that reaches the packet."""
        keys = ("task_id", "axis", "level", "harness_task")
        if isinstance(rows, Mapping):
            for key in keys:
                column = rows.get(key)
                if isinstance(column, list):
                    rows[key] = [self.text(v, f"episodes.{key}", limit=64 if key == "level" else None)
                                 if isinstance(v, str) else v
                                 for v in column]  # type: ignore[index]
            return
        for row in rows:
            for key in keys:
                value = row.get(key)  # type: ignore[attr-defined]
                if isinstance(value, str):
                    clean = self.text(value, f"episodes.{key}", limit=64 if key == "level" else None)
                    if clean is not value and clean != value:
                        row[key] = clean  # type: ignore[index]


def _flattened(values: Mapping[str, Any], source: str | None, location: str,
               prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Nested objects and lists as dotted keys (`{"a": {"b": 1}}` -> `a.b`, `[x, y]` -> `a.0`, `a.1`),
    in the harness's own order; an empty object or list is kept as null so its key is not lost."""
    if depth > 32:
        raise InputError(source, f"{location}.{prefix.rstrip('.')}", "is nested more than 32 levels deep")
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flattened(value, source, location, f"{name}.", depth + 1)
        elif isinstance(value, (list, tuple)) and value:
            yield from _flattened({str(i): v for i, v in enumerate(value)}, source, location, f"{name}.",
                                  depth + 1)
        elif isinstance(value, (Mapping, list, tuple)):
            yield name, None
        else:
            yield name, value


def other_fields(entry: Mapping[str, Any], skip: Iterable[str]) -> dict[str, Any]:
    """An entry's other fields, kept as metadata (nested ones flattened by Redactor.metadata)."""
    skipped = set(skip)
    return {k: v for k, v in entry.items() if k not in skipped}


# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------

def assemble(rows: Sequence[EvidenceRow] | Mapping[str, Any], *, plan: ProtocolPlan, probe_id: str,
             source: str, importer: str, format_version: str, identity: IdentityMode,
             task_mapping: Mapping[str, str], notes: Sequence[str],
             redactor: Redactor, identity_basis: str | None = None,
             evidence_kind: EvidenceKind = "structured",
             reported: ReportedSummary | None = None, sealed: bool = True) -> AuditInput:
    """A sealed AuditInput over the evidence: row dicts, or a mapping of column name to a sequence or
    Arrow array (docs/evidence-table.md). Every column is checked; an empty file is refused.
    `sealed=False` leaves the seal (the content digest) to the caller's `with_files`."""
    if not len(rows) or (isinstance(rows, Mapping) and not len(next(iter(rows.values()), ()))):
        raise InputError(source, None, "holds no episodes")
    if plan.plan_digest is None:
        raise InputError(source, "--plan", "the plan is not sealed (it has no plan_digest)")
    redactor.names(rows)
    task_mapping = {redactor.text(name, "source.task_mapping.<key>", limit=None): task
                    for name, task in task_mapping.items()}
    try:
        table = EvidenceTable.build(rows)
    except EvidenceError as exc:
        raise InputError(source, exc.location, exc.message) from None
    try:
        audit = AuditInput(
            plan_digest=plan.plan_digest, probe_id=probe_id, episodes=table,
            source=AuditSource(importer=importer, format_version=format_version[:2000],
                               identity=identity, identity_basis=identity_basis,
                               evidence_kind=evidence_kind, reported=reported or ReportedSummary(),
                               task_mapping=dict(task_mapping),
                               notes=[n[:2000] for n in [*notes, redactor.non_finite_note()] if n]),
            redactions=redactor.redactions,
        )
    except ValidationError as exc:
        where, message = validation_problem(exc.errors(include_url=False)[0])
        raise InputError(source, where, message) from None
    return audit.sealed() if sealed else audit


def with_files(audit: AuditInput, files: Sequence[SourceFile]) -> AuditInput:
    """The same evidence naming the files it was read from (digests computed by the edge), resealed."""
    source = audit.source.model_copy(update={"files": list(files)})
    return audit.model_copy(update={"source": source}).sealed()


def status_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = {status: 0 for status in EPISODE_STATUSES}
    for row in rows:
        counts[row["status"]] += 1
    return counts
