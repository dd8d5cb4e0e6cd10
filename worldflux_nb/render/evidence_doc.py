"""Documents for imported evidence: an audit input, and a run folder's private triage report."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Sequence

from worldflux_nb.models.evidence import EPISODE_STATUSES, AuditInput
from worldflux_nb.render.document import Banner, BulletList, Document, Heading, KeyValues, Paragraph, Table

if TYPE_CHECKING:  # the triage report is core's; its document needs only its fields
    from worldflux_nb.core.importers.run_folder import RunFolderReport

PRIVATE_BANNER = ("LOCAL_PRIVATE: imported evidence for internal review and private reviewer handoff "
                  "only. It is not checked against the plan until an eval packet is made from it.")
MAX_EPISODE_ROWS = 200

_IDENTITY_TEXT = {
    "explicit": "explicit: the harness file records each episode's index",
    "harness_order": ("harness order: the harness records no indexes but runs episodes in a documented "
                      "loop order, which was checked for this harness version"),
    "inferred_from_order": ("inferred from order: the harness file records no episode indexes, so "
                            "the i-th outcome of a task was matched to the i-th planned episode of that "
                            "task in run-sheet order (a weaker evidence grade)"),
}


def episode_counts(audit: AuditInput) -> list[tuple[tuple[str, str, str], Counter[str]]]:
    """Per (task, axis, level), in order of first appearance: its episodes, successes and each status,
    counted from the evidence's place and status codes (a million rows read as dicts took half a
    minute to display)."""
    import numpy as np

    from worldflux_nb.core.evidence_columns import evidence_columns

    columns = evidence_columns(audit.episodes)
    places, statuses = len(columns.places), len(columns.statuses)
    by_status = np.bincount(columns.place.astype(np.int64) * statuses + columns.status,
                            minlength=places * statuses).reshape(places, statuses)
    successes = np.bincount(columns.place, weights=columns.success == 1, minlength=places).astype(np.int64)
    per_task: dict[tuple[str, str, str], Counter[str]] = {}
    # Places are in order of first appearance; a task under two probe ids is one row, as it always was.
    for (_, task, axis, level), row, succeeded in zip(columns.places, by_status.tolist(), successes.tolist()):
        counts = per_task.setdefault((task, axis, level), Counter())
        counts.update({name: n for name, n in zip(columns.statuses, row) if n})
        counts["successes"] += succeeded
        counts["episodes"] += sum(row)
    return list(per_task.items())


def status_totals(audit: AuditInput, per_task: list[tuple[Any, Counter[str]]] | None = None) -> Counter[str]:
    """Its episodes, successes and each status over the whole audit input (`per_task`, its
    episode_counts, summed)."""
    per_task = episode_counts(audit) if per_task is None else per_task
    return sum((counts for _, counts in per_task), Counter())


def audit_input_document(audit: AuditInput) -> Document:
    """What was imported, from which files, how identity was established, and what was redacted."""
    source = audit.source
    episodes = audit.episodes
    per_task = episode_counts(audit)
    status_total = status_totals(audit, per_task)
    successes = status_total["successes"]
    blocks: list[Any] = [
        Banner(PRIVATE_BANNER, "warning"),
        KeyValues([
            ("Probe", audit.probe_id), ("Plan digest", audit.plan_digest),
            ("Importer", source.importer), ("Format", source.format_version),
            ("Episode identity", _IDENTITY_TEXT[source.identity]),
            ("Episodes", len(episodes)), ("Successes", successes),
            *((status.replace("_", " ").capitalize(), status_total.get(status, 0)) for status in EPISODE_STATUSES),
            ("Audit digest", audit.audit_digest), ("Created", audit.created_at),
        ]),
    ]
    if source.identity == "inferred_from_order":
        blocks.append(Banner("Episode identity was inferred from order, not recorded by the harness.", "warning"))
    blocks += [
        Heading("Source files"),
        Table(["file", "digest", "bytes"], [[f.name, f.digest, f.size_bytes] for f in source.files])
        if source.files else Paragraph("No source file recorded (imported from memory)."),
        Heading("Task mapping"),
        Table(["harness task", "plan task"], sorted(source.task_mapping.items()))
        if source.task_mapping else Paragraph("No task names were mapped."),
        Heading("Episodes by task"),
        Table(["task", "axis", "level", "episodes", "successes", *EPISODE_STATUSES],
              [[task, axis, level, c["episodes"], c["successes"], *(c[s] for s in EPISODE_STATUSES)]
               for (task, axis, level), c in per_task], max_rows=MAX_EPISODE_ROWS),
        Heading("Importer notes"),
        BulletList(list(source.notes), empty_text="None."),
        Heading("Redactions"),
        Table(["where", "kind"], [[r.location, r.kind] for r in audit.redactions], max_rows=MAX_EPISODE_ROWS)
        if audit.redactions else Paragraph("Nothing needed redacting."),
        Heading("Episodes"),
        Table(["task", "axis", "level", "episode", "seed", "success", "status"],
              [[r["task_id"], r["axis"], r["level"], r["episode_index"], r["seed"], r["success"], r["status"]]
               for r in episodes[:MAX_EPISODE_ROWS + 1]],
              caption=f"{len(episodes)} episode(s) in file order", max_rows=MAX_EPISODE_ROWS),
    ]
    return Document(title=f"Audit input: {audit.probe_id} ({source.importer})", blocks=blocks)


def evidence_overview_document(audits: Sequence[AuditInput]) -> Document:
    """Every audit input of a packet on one row each: what was imported, from where, and how."""
    rows = []
    for audit in audits:
        statuses = status_totals(audit)
        rows.append([audit.probe_id, audit.source.importer, audit.source.identity, len(audit.episodes),
                     statuses["successes"], *(statuses.get(status, 0) for status in EPISODE_STATUSES),
                     [f.name for f in audit.source.files], len(audit.redactions), audit.audit_digest])
    return Document(title=f"Evidence: {len(audits)} audit input(s)", blocks=[
        Banner(PRIVATE_BANNER, "warning"),
        Table(["probe", "importer", "identity", "episodes", "successes", *EPISODE_STATUSES, "files",
               "redactions", "audit digest"], rows),
        Paragraph("Each audit input's file holds its episodes; display one alone to see them."),
    ])


def run_folder_report_document(report: RunFolderReport) -> Document:
    """The private triage report of a run folder: what it holds and why it was imported or refused."""
    t = report.triage
    inv = report.inventory
    verdict = ("Refused: no audit input was written" if t.decision != "import" or t.candidate is None
               else f"Imported {len(t.candidates)} result files of {t.folder} ({t.candidate.format}) together"
               if t.folder is not None else f"Imported {t.candidate.path} ({t.candidate.format})")
    blocks: list[Any] = [
        Banner("LOCAL_PRIVATE: a read-only inventory of a run folder. File paths are relative to the "
               "folder; nothing in it was changed or uploaded.", "warning"),
        Banner(verdict, "ok" if t.decision == "import" else "danger"),
        KeyValues([
            ("Folder", report.folder_name), ("Decision", t.decision), ("Probe", report.probe_id),
            ("Audit digest", report.audit_digest), ("Episodes imported", report.episodes),
            ("Files seen", inv.files_seen), ("Bytes read", inv.bytes_read),
            ("Limits hit", list(inv.limits_hit) or None), ("Created", report.created_at),
        ]),
        Heading("Reasons"),
        BulletList(list(t.reasons), empty_text="None: exactly one claim-safe candidate."),
        Heading("Candidates (per-episode evidence)"),
        Table(["file", "format", "digest"], [[c.path, c.format, c.digest] for c in t.candidates])
        if t.candidates else Paragraph("None found."),
        Heading("Evidence of a weaker grade (not imported)"),
        BulletList(list(t.offers), empty_text="None found."),
        Heading("What the folder holds"),
        Table(["kind", "files"], sorted(report.counts().items())),
        Heading("Notes"),
        BulletList(list(t.notes), empty_text="None."),
        Heading("Inventory"),
        Table(["file", "kind", "format", "bytes", "detail", "credential-like content"],
              [[e.path, e.kind, e.format, e.size_bytes, e.detail, list(e.secret_kinds) or None]
               for e in inv.entries], max_rows=500),
    ]
    return Document(title=f"Run folder triage: {report.folder_name}", blocks=blocks)
