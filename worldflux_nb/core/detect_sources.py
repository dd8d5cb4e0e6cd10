"""Evidence bound to its sources: the same harness file given twice is refused, a re-import of the
harness file is compared with the audit input row by row (a column at a time), and each audit input
says whether it was checked that way.

An audit digest shows only that nothing changed since sealing; anyone can edit rows and reseal.
Re-importing the harness file the audit input names (by digest) is what ties the rows to the
harness's own output (`worldflux-nb audit verify`, `packet --verify-source`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from worldflux_nb.core.findings import plural
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.evidence_table import COLUMN_NAMES, EvidenceTable
from worldflux_nb.models.packet import Finding, SourceCheck

DIFFERENCES_SHOWN = 5


def refuse_repeated_sources(audit_inputs: Sequence[AuditInput], names: Sequence[str] | None = None) -> None:
    """Refuse a harness file (by digest) behind two audit inputs, or named twice in one: the same
    evidence twice would read as a re-run of every episode it holds."""
    names = list(names) if names is not None else [f"audit input #{i + 1}" for i in range(len(audit_inputs))]
    seen: dict[str, tuple[str, str]] = {}
    for name, ai in zip(names, audit_inputs):
        for f in ai.source.files:
            if f.digest in seen:
                other_input, other_file = seen[f.digest]
                where = ("the same audit input" if other_input == name else other_input)
                raise InputError(name, "source.files", f"{f.name} has the same content ({f.digest[:19]}…) as "
                                 f"{other_file} in {where}; one harness file imported twice would read as a "
                                 "re-run of every episode it holds — give each harness file once")
            seen[f.digest] = (name, f.name)


def differing_rows(old: EvidenceTable, new: EvidenceTable) -> list[int]:
    """Positions, among the rows both tables hold, whose rows differ in any field, found a column at a
    time. A table holds metadata only as canonical JSON text, so two texts differ exactly where the
    objects do, and every other column is compared as the values it holds."""
    import numpy as np
    import pyarrow.compute as pc

    n = min(len(old), len(new))
    differs = np.zeros(n, dtype=bool)
    for name in COLUMN_NAMES:
        a, b = old.column(name).slice(0, n), new.column(name).slice(0, n)
        unequal = pc.or_(pc.fill_null(pc.not_equal(a, b), False), pc.xor(pc.is_null(a), pc.is_null(b)))
        differs |= unequal.to_numpy(zero_copy_only=False)
    return np.flatnonzero(differs).tolist()


def compare_audit_inputs(recorded: AuditInput, reimported: AuditInput) -> list[str]:
    """How the recorded audit input departs from a fresh import of its harness file ([] when it agrees).

    Rows are compared in order and field by field; of the header, what the harness file decides
    (plan digest, probe, importer, identity, the source files' digests) — not file names or times.
    """
    out = []
    for field in ("plan_digest", "probe_id"):
        if getattr(recorded, field) != getattr(reimported, field):
            out.append(f"{field}: recorded {getattr(recorded, field)}, re-imported {getattr(reimported, field)}")
    for field in ("importer", "identity"):
        if getattr(recorded.source, field) != getattr(reimported.source, field):
            out.append(f"source.{field}: recorded {getattr(recorded.source, field)}, "
                       f"re-imported {getattr(reimported.source, field)}")
    recorded_files = sorted(f.digest for f in recorded.source.files)
    fresh_files = sorted(f.digest for f in reimported.source.files)
    if recorded_files != fresh_files:
        out.append(f"source.files: the audit input names {', '.join(d[:19] + '…' for d in recorded_files) or 'no file'}; "
                   f"the file given is {', '.join(d[:19] + '…' for d in fresh_files)}")
    old, new = recorded.episodes, reimported.episodes
    differing = differing_rows(old, new)
    if len(old) != len(new):
        out.append(f"episodes: the audit input holds {plural(len(old), 'row')}, the harness file gives {len(new)}")
    if differing:
        shown = []
        for i in differing[:DIFFERENCES_SHOWN]:
            a, b = old.to_pylist(i, i + 1)[0], new.to_pylist(i, i + 1)[0]
            fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            shown.append(f"row {i + 1} " + ", ".join(f"{k} {a.get(k)!r} (file: {b.get(k)!r})" for k in fields[:3]))
        out.append(f"{plural(len(differing), 'row')} differ from the harness file: " + "; ".join(shown)
                   + (f" and {len(differing) - DIFFERENCES_SHOWN} more" if len(differing) > DIFFERENCES_SHOWN else ""))
    return out


def source_checks(audit_inputs: Sequence[AuditInput],
                  verified: Mapping[int, list[str]]) -> list[SourceCheck]:
    """Per audit input: `agrees` / `disagrees` when its harness file was re-imported (the differences
    as the detail), else `not_verified`."""
    out = []
    for i, ai in enumerate(audit_inputs):
        digests = [f.digest for f in ai.source.files]
        if i not in verified:
            status, detail = "not_verified", "its harness file was not given, so the rows were not re-imported"
        elif verified[i]:
            status, detail = "disagrees", "; ".join(verified[i])[:2000]
        else:
            status, detail = "agrees", f"re-imported from its harness file: all {len(ai.episodes)} rows agree"
        out.append(SourceCheck(probe_id=ai.probe_id, input=i,
                               audit_digest=ai.audit_digest or ai.computed_digest(),
                               source_digests=digests, verified=status, detail=detail))
    return out


def source_findings(checks: Sequence[SourceCheck], audit_inputs: Sequence[AuditInput],
                    planned: int) -> list[Finding]:
    """A re-import that disagrees with the audit input is a finding (inputs never re-imported are
    listed in the packet's source checks, and the brief asks for their harness files)."""
    total = max(planned, 1)
    out = []
    for c in checks:
        if c.verified == "disagrees":
            n = len(audit_inputs[c.input].episodes)
            out.append(Finding(
                kind="source_disagrees", family="sources", probe_id=c.probe_id,
                planned_affected=min(n, total), share=min(1.0, n / total),
                statement=f"Audit input #{c.input + 1} ({c.probe_id}) does not match its harness file: {c.detail}",
                question=(f"The rows of audit input #{c.input + 1} ({c.probe_id}) differ from a fresh import of "
                          "its harness file: who changed them, and which is the evidence?")))
    return out
