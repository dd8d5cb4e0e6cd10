"""Run-folder triage: classify what a folder of evaluation output holds and decide if one file is claim-safe.

Pure logic over an inventory the edge (worldflux_nb.io.run_folder_scan) builds by walking the folder.
A folder yields an audit input only when exactly one distinct file holds per-episode evidence in a
known harness format (or the candidates are one harness run's result files side by side, read
together as that format's folder importer reads them: one vla-eval `*_aggregate.json` per benchmark),
nothing in the folder looks like a credential, and the walk was complete. Otherwise it is refused with
every reason that applies: aggregate-only, score-only, missing denominator information, ambiguous
(two or more candidates), likely secrets, incomplete scan. Evidence of a weaker grade (an OpenVLA log,
rollout video names) is named with the command that imports it, never imported by the triage.
Host-local paths (LeRobot writes absolute video paths) are redacted on import, not a refusal.
A Parquet file is generic evidence by its schema (`generic_parquet.detect`), never by its suffix alone,
and its credential scan reads its text values, which compressed pages hide from a scan of the bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal, Sequence

from worldflux_nb.models.redaction import is_secret_kind, redact_text
from worldflux_nb.models.common import PRIVACY, utc_timestamp

EntryKind = Literal[
    "per_episode", "aggregate_only", "score_only", "missing_denominator", "log", "video",
    "tracker_export", "archive", "data", "other",
]

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".avi", ".mov", ".mkv", ".gif"})
ARCHIVE_SUFFIXES = frozenset({".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst"})
LOG_SUFFIXES = frozenset({".log", ".out", ".err"})
TRACKER_DIRS = frozenset({"wandb", "mlruns", "tensorboard", "tb_logs", "lightning_logs", ".aim"})
TEXT_EVIDENCE_SUFFIXES = frozenset({".json", ".jsonl", ".csv"})
# Evidence candidates in a binary format: their importers' `detect` reads the bytes (a Parquet schema).
BINARY_EVIDENCE_SUFFIXES = frozenset({".parquet"})
EVIDENCE_SUFFIXES = TEXT_EVIDENCE_SUFFIXES | BINARY_EVIDENCE_SUFFIXES
# Text worth reading: evidence candidates and anything that may hold a credential.
TEXT_SUFFIXES = TEXT_EVIDENCE_SUFFIXES | LOG_SUFFIXES | frozenset({
    ".txt", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".env", ".md", ".sh", ".py", ".netrc", "",
})


@dataclass(frozen=True)
class FolderEntry:
    """One file of the folder as the triage sees it (path relative to the folder, never absolute)."""

    path: str
    size_bytes: int
    kind: EntryKind
    format: str | None = None
    detail: str = ""
    digest: str | None = None
    secret_kinds: tuple[str, ...] = ()
    read: bool = False


@dataclass(frozen=True)
class Inventory:
    folder_name: str
    entries: tuple[FolderEntry, ...]
    # (relative path, why it was not read or followed): links out of the folder, loops, oversize.
    skipped: tuple[tuple[str, str], ...] = ()
    # Limits that cut the walk short (file count, bytes read, time); the inventory is then partial.
    limits_hit: tuple[str, ...] = ()
    files_seen: int = 0
    bytes_read: int = 0


@dataclass(frozen=True)
class Triage:
    decision: Literal["import", "refuse"]
    reasons: tuple[str, ...]
    candidate: FolderEntry | None
    candidates: tuple[FolderEntry, ...]
    notes: tuple[str, ...] = ()
    # When the candidates are one run's result files read together: their folder ("." the folder itself).
    folder: str | None = None
    # Weaker-grade evidence found, each as the `audit import` command that reads it.
    offers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunFolderReport:
    """The private triage report: inventory, decision and, when imported, the audit input's digest."""

    folder_name: str
    triage: Triage
    inventory: Inventory
    probe_id: str | None = None
    audit_digest: str | None = None
    episodes: int | None = None
    created_at: str = field(default_factory=utc_timestamp)

    SCHEMA = "worldflux_nb.run_folder_report.v1"

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for entry in self.inventory.entries:
            found[entry.kind] = found.get(entry.kind, 0) + 1
        return dict(sorted(found.items()))

    def to_json_dict(self) -> dict[str, Any]:
        def entry(e: FolderEntry) -> dict[str, Any]:
            return {"path": e.path, "size_bytes": e.size_bytes, "kind": e.kind, "format": e.format,
                    "detail": e.detail, "digest": e.digest, "secret_kinds": list(e.secret_kinds)}

        t = self.triage
        return {
            "schema_version": self.SCHEMA, "privacy": PRIVACY, "folder": self.folder_name,
            "created_at": self.created_at, "decision": t.decision, "reasons": list(t.reasons),
            "notes": list(t.notes), "candidate": entry(t.candidate) if t.candidate else None,
            "candidates": [entry(c) for c in t.candidates], "folder": t.folder, "offers": list(t.offers),
            "probe_id": self.probe_id,
            "audit_digest": self.audit_digest, "episodes": self.episodes, "counts": self.counts(),
            "scan": {"files_seen": self.inventory.files_seen, "bytes_read": self.inventory.bytes_read,
                     "limits_hit": list(self.inventory.limits_hit),
                     "skipped": [{"path": p, "reason": r} for p, r in self.inventory.skipped]},
            "entries": [entry(e) for e in self.inventory.entries],
        }


# ---------------------------------------------------------------------------------------------
# Classification of one file
# ---------------------------------------------------------------------------------------------

def wants_content(path: str) -> bool:
    """Whether the walk should read this file (evidence candidates and text that may hold secrets)."""
    suffix = PurePosixPath(path).suffix.lower()
    return suffix in TEXT_SUFFIXES or suffix in EVIDENCE_SUFFIXES


def classify(path: str, size_bytes: int, data: bytes | None, *, digest: str | None = None) -> FolderEntry:
    """What one file is, from its name and (for text files) its content."""
    p = PurePosixPath(path)
    suffix = p.suffix.lower()
    parts = {part.lower() for part in p.parts[:-1]}
    # A file or folder name can carry a token too: it counts like one in the content, and the name is
    # shown redacted in every report.
    shown, name_kinds = redact_text(path)
    secrets = tuple(sorted({*(_credential_kinds(_searchable(suffix, data)) if data is not None else ()),
                            *(k for k in name_kinds if is_secret_kind(k))}))
    common = dict(path=shown, size_bytes=size_bytes, digest=digest, secret_kinds=secrets, read=data is not None)
    if parts & TRACKER_DIRS or p.name.startswith("events.out.tfevents"):
        return FolderEntry(kind="tracker_export", detail="experiment-tracker export", **common)
    if suffix in VIDEO_SUFFIXES:
        return FolderEntry(kind="video", detail="rollout video (not evidence of outcome)", **common)
    if suffix in ARCHIVE_SUFFIXES:
        return FolderEntry(kind="archive", detail="archive (not opened: extract it to triage its content)", **common)
    offer = _offered_log(suffix, data) if data is not None else None
    if offer:
        return FolderEntry(kind="log", format=offer, detail="per-episode log (a weaker grade of evidence)", **common)
    if suffix in LOG_SUFFIXES or p.name.lower() in ("stdout.txt", "stderr.txt"):
        return FolderEntry(kind="log", detail="log file", **common)
    if suffix in EVIDENCE_SUFFIXES and data is not None:
        kind, fmt, detail = _sniff(suffix, data)
        return FolderEntry(kind=kind, format=fmt, detail=detail, **common)
    if suffix in EVIDENCE_SUFFIXES:
        return FolderEntry(kind="data", detail="not read (over the per-file limit)", **common)
    return FolderEntry(kind="other", **common)


def _credential_kinds(text: str) -> tuple[str, ...]:
    _, kinds = redact_text(text)
    # Host paths (LeRobot writes absolute video paths) are redacted on import, not a refusal.
    return tuple(sorted({k for k in kinds if is_secret_kind(k)}))


def _searchable(suffix: str, data: bytes) -> str:
    """The text a file holds, for the credential scan: a Parquet file's names, key-value metadata and
    text values (its compressed pages hide them from a scan of the bytes); any other file's bytes."""
    text = parquet_text(data) if suffix == ".parquet" else None
    return data.decode("utf-8", errors="replace") if text is None else text


def parquet_text(data: bytes) -> str | None:
    """Every column name, key-value metadata entry and text or bytes value (nested ones included) of a
    Parquet file, a line each; None when it is not a readable Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def texts(column: Any) -> list[Any]:
        kind = column.type
        if pa.types.is_dictionary(kind):
            return texts(column.dictionary)
        if pa.types.is_struct(kind):
            return [part for field in column.flatten() for part in texts(field)]
        if pa.types.is_map(kind):
            return texts(column.keys) + texts(column.items)
        if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            return texts(column.flatten())
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return column.drop_null().unique().to_pylist()  # a task name repeats a million times
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
            return [value.decode("utf-8", errors="replace") for value in column.drop_null().unique().to_pylist()]
        return []

    try:
        table = pq.ParquetFile(pa.BufferReader(data)).read()  # every column, a name given twice included
    except (pa.ArrowException, OSError, ValueError):
        return None
    lines = [*table.column_names, *(f"{key.decode('utf-8', 'replace')}: {value.decode('utf-8', 'replace')}"
                                    for key, value in (table.schema.metadata or {}).items())]
    for column in table.columns:
        for chunk in column.chunks:
            lines.extend(texts(chunk))
    return "\n".join(lines)


def _offered_log(suffix: str, data: bytes) -> str | None:
    """The weaker-grade text importer (an OpenVLA or openpi log) whose per-episode shape this file has."""
    from worldflux_nb.core.importers import offered

    readers = [importer for importer in offered(suffix) if importer.reads == "text"]
    if not readers:
        return None
    text = data.decode("utf-8-sig", errors="replace")
    return next((importer.name for importer in readers if importer.detect(text) == "per_episode"), None)


def _offered_videos(entries: Sequence[FolderEntry]) -> list[str]:
    """The folder-name importers (rollout videos) that read per-episode outcomes from this folder's
    video names, as the command that imports the whole folder with one."""
    from worldflux_nb.core.importers import Folder, IMPORTERS

    offers = []
    for importer in IMPORTERS:
        names = [e.path for e in entries if e.kind == "video" and PurePosixPath(e.path).suffix.lower()
                 in importer.offer_suffixes]
        if names and importer.reads == "folder_names" and importer.detect(
                Folder(name="", files=tuple((name, None) for name in names))) == "per_episode":
            offers.append(f"`audit import {importer.name}` on the folder ({len(names)} video names)")
    return offers


def _results_folder(candidates: Sequence[FolderEntry]) -> str | None:
    """The folder whose candidates are one harness run's result files side by side (same format, one
    folder, names its folder importer reads), which that importer reads together; else None."""
    from worldflux_nb.core.importers import FORMATS

    formats = {c.format for c in candidates}
    parents = {str(PurePosixPath(c.path).parent) for c in candidates}
    if len(candidates) < 2 or len(formats) != 1 or len(parents) != 1:
        return None
    importer = FORMATS.get(formats.pop() or "")
    if importer is None or importer.folder_files is None:
        return None
    if not all(importer.folder_files.match(PurePosixPath(c.path).name) for c in candidates):
        return None
    return parents.pop()


def _sniff(suffix: str, data: bytes) -> tuple[EntryKind, str | None, str]:
    from worldflux_nb.core.importers import sniffers

    content: Any = data if suffix in BINARY_EVIDENCE_SUFFIXES else data.decode("utf-8-sig", errors="replace")
    if suffix == ".json":
        try:
            content = json.loads(content, parse_constant=lambda name: float("nan"))
        except (ValueError, RecursionError):
            return "data", None, "not valid JSON"
    for importer in sniffers(suffix):
        shape = importer.detect(content)
        if shape == "per_episode":
            return "per_episode", importer.name, importer.description
        if shape in ("aggregate_only", "score_only", "missing_denominator"):
            return shape, importer.name, _SHAPE_DETAIL[shape]  # type: ignore[return-value]
    if suffix == ".json" and _looks_like_scores(content):
        return "score_only", None, _SHAPE_DETAIL["score_only"]
    return "data", None, "data file in no known evidence shape"


_SHAPE_DETAIL = {
    "aggregate_only": "summary numbers only (no per-episode outcomes)",
    "score_only": "scores or rewards without a success outcome per episode",
    "missing_denominator": "outcomes without episode identities: how many were planned or run is unknown",
}


def _looks_like_scores(content: Any) -> bool:
    """A list of per-episode records carrying rewards/scores but no success field."""
    if isinstance(content, dict):
        content = next((v for v in content.values() if isinstance(v, list)), None)
    if not isinstance(content, list) or not content or not all(isinstance(r, dict) for r in content[:50]):
        return False
    keys = set().union(*(r.keys() for r in content[:50]))
    return "success" not in keys and bool(keys & {"reward", "return", "score", "sum_reward", "episode_reward"})


# ---------------------------------------------------------------------------------------------
# The decision
# ---------------------------------------------------------------------------------------------

def triage(inventory: Inventory) -> Triage:
    """Import only when exactly one distinct per-episode file is found, nothing holds a credential,
    and the walk was complete; otherwise refuse with every reason that applies."""
    reasons: list[str] = []
    notes: list[str] = []
    by_kind: dict[str, list[FolderEntry]] = {}
    for entry in inventory.entries:
        by_kind.setdefault(entry.kind, []).append(entry)

    distinct: dict[str, FolderEntry] = {}
    for entry in by_kind.get("per_episode", []):
        key = entry.digest or entry.path
        if key in distinct:
            notes.append(f"{entry.path} is a byte-identical copy of {distinct[key].path}; counted once")
        else:
            distinct[key] = entry
    candidates = tuple(distinct.values())
    folder = _results_folder(candidates)
    offers = tuple([f"`audit import {e.format} {e.path}`" for e in inventory.entries if e.kind == "log" and e.format]
                   + _offered_videos(inventory.entries))

    secret = [e for e in inventory.entries if e.secret_kinds]
    if secret:
        listed = "; ".join(f"{e.path} ({', '.join(e.secret_kinds)})" for e in secret[:5])
        reasons.append(f"likely secrets: {listed}{' ...' if len(secret) > 5 else ''} — remove them "
                       "from the folder before importing")
    if len(candidates) > 1 and folder is None:
        reasons.append("ambiguous: " + f"{len(candidates)} candidate per-episode files ("
                       + ", ".join(f"{c.path} [{c.format}]" for c in candidates[:5])
                       + "); import the one that matches the plan with `audit import FORMAT FILE`")
    if not candidates:
        for kind, label in (("aggregate_only", "aggregate-only"), ("score_only", "score-only"),
                            ("missing_denominator", "missing denominator information")):
            if by_kind.get(kind):
                paths = ", ".join(e.path for e in by_kind[kind][:5])
                reasons.append(f"{label}: {paths} — {_SHAPE_DETAIL[kind]}")
        if not reasons or all(r.startswith("likely secrets") for r in reasons):
            reasons.append("no per-episode evidence in a known format was found")
        if offers:
            reasons.append("evidence of a weaker grade the triage does not import: " + "; ".join(offers[:5])
                           + " — import it by name if a log or file names are evidence enough for the review")
        if inventory.skipped:
            reasons.append("not followed or unreadable: " + ", ".join(
                f"{path} ({why})" for path, why in inventory.skipped[:5]))
    if inventory.limits_hit:
        reasons.append("scan incomplete: " + "; ".join(inventory.limits_hit)
                       + " — other candidates may exist")
    unread = [e.path for e in inventory.entries if e.kind == "data" and not e.read]
    if unread:
        reasons.append(f"scan incomplete: {', '.join(unread[:5])} not read (over the per-file limit)")
    for path, why in inventory.skipped:
        notes.append(f"{path}: {why}")
    for kind in ("aggregate_only", "score_only", "missing_denominator"):
        if candidates and by_kind.get(kind):
            notes.append(f"also found {len(by_kind[kind])} {kind.replace('_', '-')} file(s); "
                         "summaries are not evidence and were not used")
    if candidates and offers:
        notes.append("also found evidence of a weaker grade (not used): " + "; ".join(offers[:5]))
    if folder is not None:
        notes.append(f"{len(candidates)} {candidates[0].format} result files in "
                     f"{'the folder' if folder == '.' else folder} are one run's results: read together")
    decision = "import" if (len(candidates) == 1 or folder is not None) and not reasons else "refuse"
    return Triage(decision=decision, reasons=tuple(reasons),
                  candidate=candidates[0] if decision == "import" else None,
                  candidates=candidates, notes=tuple(notes),
                  folder=folder if decision == "import" else None, offers=offers)


def report_for(inventory: Inventory, decision: Triage, *, probe_id: str | None = None,
               audit_digest: str | None = None, episodes: int | None = None) -> RunFolderReport:
    return RunFolderReport(folder_name=inventory.folder_name, triage=decision, inventory=inventory,
                           probe_id=probe_id, audit_digest=audit_digest, episodes=episodes)


def entries_sorted(entries: Sequence[FolderEntry]) -> tuple[FolderEntry, ...]:
    return tuple(sorted(entries, key=lambda e: e.path))


__all__ = ["FolderEntry", "Inventory", "RunFolderReport", "Triage", "classify", "entries_sorted",
           "report_for", "triage", "wants_content"]

