"""Documents for the eval packet and the reviewer brief (the one description both Markdown files,
and the notebook HTML/Markdown displays, come from)."""

from __future__ import annotations

from worldflux_nb.core.statistics import percent
from worldflux_nb.models.packet import CellResult, EvalPacket, ReviewerBrief
from worldflux_nb.render.document import (
    Banner, BulletList, Document, Heading, KeyValues, Paragraph, Rows, Table, Tone,
)

PACKET_BANNER = ("LOCAL_PRIVATE eval packet: evidence checked against a frozen protocol plan, for "
                 "internal review and private reviewer handoff only. Not a public certification, "
                 "not a pass/fail verdict, not a deployment decision.")
MAX_CELL_ROWS = 200
MAX_FLAG_ROWS = 150
METHOD_LABEL = {"wilson": "Wilson score", "clopper_pearson": "Clopper-Pearson (exact)"}


def _interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{percent(low)}–{percent(high)}"


def _cell_tone(cell: CellResult) -> Tone | None:
    if cell.matched == 0:
        return "danger"
    if cell.missing or cell.seed_mismatches or cell.metadata_mismatches or cell.out_of_protocol:
        return "warning"
    if cell.underpowered or cell.duplicates or cell.infra_failures:
        return "info"
    return None


def _cell_row(c: CellResult) -> tuple:
    return (c.cell_id, c.planned, c.matched, c.missing, c.successes, c.denominator,
            percent(c.success_rate), _interval(c.ci_low, c.ci_high), c.underpowered,
            c.duplicates, c.infra_failures, c.out_of_protocol, c.seed_mismatches, c.metadata_mismatches)


def _cells_table(packet: EvalPacket) -> Table:
    severity = {"danger": 0, "warning": 1, "info": 2, None: 3}
    tones = [_cell_tone(c) for c in packet.cells]
    order = sorted(range(len(tones)), key=lambda i: severity[tones[i]])  # stable: plan order within a tone
    return Table(
        columns=["cell", "planned", "matched", "missing", "successes", "denominator", "rate",
                 "interval", "underpowered", "re-runs", "infra", "out of protocol", "seed ≠",
                 "metadata ≠"],
        rows=Rows([packet.cells[i] for i in order], _cell_row),
        caption=f"Cells scored under {packet.denominator_policy}; cells with gaps first.",
        max_rows=MAX_CELL_ROWS, row_tones=[tones[i] for i in order])


def _detection_blocks(packet: EvalPacket) -> list:
    """Findings (ranked), whether each audit input was re-imported from its harness file, the task
    mappings importers applied, and what the plan's freeze time rests on."""
    blocks: list = [Heading("Findings")]
    blocks.append(Table(
        columns=["share of plan", "family", "probe", "finding", "test", "p"],
        rows=[(percent(f.share), f.family, f.probe_id or "all", f.statement, f.test or "—",
               "—" if f.p_value is None else f"{f.p_value:.3g}") for f in packet.findings],
        caption="Ranked by the share of planned episodes each finding bears on.",
        max_rows=MAX_FLAG_ROWS, row_tones=["warning"] * len(packet.findings))
        if packet.findings else Paragraph("No detector raised a finding."))
    if packet.source_checks:
        blocks += [Heading("Evidence bound to its sources"),
                   Table(columns=["audit input", "probe", "re-imported", "detail"],
                         rows=[(f"#{c.input + 1}", c.probe_id, c.verified, c.detail) for c in packet.source_checks],
                         row_tones=[{"agrees": "ok", "disagrees": "danger"}.get(c.verified, "warning")
                                    for c in packet.source_checks])]
    if packet.task_mappings:
        blocks += [Heading("Task mappings applied by importers"),
                   Table(columns=["audit input", "probe", "harness task", "plan task"],
                         rows=[(f"#{m.input + 1}", m.probe_id, m.harness_name, m.plan_task)
                               for m in packet.task_mappings], max_rows=MAX_FLAG_ROWS)]
    if packet.freeze_anchor is not None:
        blocks.append(KeyValues([("plan frozen at", packet.freeze_anchor.frozen_at),
                                 ("anchored by", packet.freeze_anchor.anchored_by),
                                 ("what that rests on", packet.freeze_anchor.detail)]))
    return blocks


SUMMARY_FINDINGS = 5
SUMMARY_CELLS = 8


def _shortlist(items: list[str], limit: int, noun: str) -> list[str]:
    return items[:limit] + ([f"… {len(items) - limit} more {noun} below"] if len(items) > limit else [])


def interval_label(packet: EvalPacket) -> str:
    """"90% interval" at the plan's confidence; plain "interval" for packets sealed before it was recorded."""
    confidence = packet.provenance.interval_confidence
    return f"{confidence:.0%} interval" if confidence is not None else "interval"


def packet_summary(packet: EvalPacket) -> list:
    """One screen on top: the headline under each denominator policy, what matters most, missing cells."""
    c = packet.conformance
    headline = []
    for p in packet.denominator_policies:
        if p.probe_id is not None:
            continue
        label = p.policy + (" (the plan's policy)" if p.policy == packet.denominator_policy else "") + (
            " (optimistic)" if p.optimistic else "")
        headline.append((label, f"{p.successes}/{p.denominator} = {percent(p.success_rate)}, "
                                f"{interval_label(packet)} {_interval(p.ci_low, p.ci_high)}"))
    evidence = (f"{c.matched}/{c.planned_episodes} planned episodes matched; {c.missing} missing, "
                f"{c.pending} pending, {c.infra_failures} infra failures; {c.out_of_protocol} out of protocol, "
                f"{c.duplicates} re-runs, {c.seed_mismatches} seed / {c.metadata_mismatches} metadata mismatches")
    missing = (f"{len(packet.missing_cells)} of {len(packet.cells)} cells have no evidence"
               + (": " + ", ".join(_shortlist(packet.missing_cells, SUMMARY_CELLS, "cells"))
                  if packet.missing_cells else "")
               + f"; {len(packet.underpowered_cells)} cells are underpowered.")
    # The findings that matter most: the detectors' ranked findings, else the packet's warnings.
    ranked = [f"{f.statement} ({percent(f.share)} of the plan)" for f in packet.findings]
    findings = _shortlist(ranked or list(packet.warnings), SUMMARY_FINDINGS,
                          "findings" if ranked else "warnings") + _shortlist(
        list(packet.unsupported_claims), 2, "unsupported claims")
    return [KeyValues(headline + [("evidence", evidence)]), Paragraph(missing),
            BulletList(findings, empty_text="No warnings and no unsupported claims.")]


def packet_document(packet: EvalPacket) -> Document:
    c = packet.conformance
    method = METHOD_LABEL.get(packet.provenance.interval_method, packet.provenance.interval_method)
    blocks: list = [
        Banner(PACKET_BANNER),
        *packet_summary(packet),
        Heading("About this packet"),
        KeyValues([("profile", packet.profile_id), ("policy", packet.policy_id),
                   ("claim intent", packet.claim_intent), ("plan", packet.plan_id),
                   ("plan digest", packet.plan_digest),
                   ("denominator policy", packet.denominator_policy),
                   ("interval", f"{method}; task-weighted means with a seeded stratified bootstrap"),
                   ("strict missing evidence", packet.strict_missing_evidence)]),
    ]
    if packet.warnings:
        blocks += [Heading("Warnings"), Banner(f"{len(packet.warnings)} warnings below — read them "
                                               "before any score.", tone="warning"),
                   BulletList(packet.warnings)]
    blocks += _detection_blocks(packet)
    blocks += [
        Heading("Conformance"),
        Table(columns=["planned episodes", "matched", "missing", "out of protocol", "re-runs",
                       "seed mismatches", "metadata mismatches", "infra failures", "pending",
                       "evidence rows"],
              rows=[(c.planned_episodes, c.matched, c.missing, c.out_of_protocol, c.duplicates,
                     c.seed_mismatches, c.metadata_mismatches, c.infra_failures, c.pending,
                     c.evidence_rows)]),
        Paragraph(f"Unverified: {c.unverified_seeds} conformant rows without a recorded seed, "
                  f"{c.unverified_metadata} without a pinned metadata key."),
    ]
    if c.digest_mismatches:
        blocks.append(Table(columns=["probe", "expected plan digest", "found", "rows rejected"],
                            rows=[(d.probe_id, d.expected, d.found, d.rows_rejected)
                                  for d in c.digest_mismatches],
                            caption="Audit inputs made against another plan: rejected as a whole.",
                            row_tones=["danger"] * len(c.digest_mismatches)))
    blocks += [
        Heading("Observed score signals"), BulletList(packet.observed_score_signals),
        Heading("Unsupported claims"),
        BulletList(packet.unsupported_claims, empty_text="None found."),
        Heading("Denominator policies side by side"),
        Table(columns=["scope", "policy", "successes", "denominator", "rate", "interval", "note"],
              rows=[(p.probe_id or "all probes", p.policy + (" (optimistic)" if p.optimistic else ""),
                     p.successes, p.denominator, percent(p.success_rate),
                     _interval(p.ci_low, p.ci_high), p.note) for p in packet.denominator_policies],
              row_tones=["warning" if p.optimistic else None for p in packet.denominator_policies]),
        Heading("Evidence grade per probe"),
        Table(columns=["probe", "grade", "identity", "importer", "planned", "matched", "missing",
                       "why"],
              rows=[(s.probe_id, s.grade, s.identity, s.importer, s.planned, s.matched, s.missing,
                     "; ".join(s.grade_reasons)) for s in packet.probe_summaries],
              row_tones=[{"A": "ok", "B": "info", "C": "warning"}.get(s.grade, "danger")
                         for s in packet.probe_summaries]),
        Paragraph("A: explicit identity, matched seeds, frozen plan. B: explicit identity, seeds or "
                  "metadata unverified. C: identity inferred from order. Ungraded: no usable evidence."),
        Heading("Aggregates"),
        Table(columns=["probe", "axis", "cells", "successes", "denominator", "pooled", "pooled interval",
                       "task-weighted", "bootstrap interval"],
              rows=[(a.probe_id, a.axis or "all axes", a.cells, a.successes, a.denominator,
                     percent(a.pooled_rate), _interval(a.pooled_ci_low, a.pooled_ci_high),
                     percent(a.task_weighted_rate), _interval(a.bootstrap_ci_low, a.bootstrap_ci_high))
                    for a in [*packet.probe_aggregates, *packet.axis_aggregates]],
              max_rows=MAX_CELL_ROWS),
        Heading("Cherry-pick signals"), BulletList(packet.cherry_pick_signals.statements),
        Heading("Cells"), _cells_table(packet),
        Heading("Missing protocol cells"),
        BulletList(packet.missing_cells, empty_text="Every planned cell has evidence."),
        Heading("Flagged episodes"),
        Table(columns=["kind", "cell", "task", "axis", "level", "episode", "seed", "success",
                       "status", "detail"],
              rows=[(f.category, f.cell_id, f.task_id, f.axis, f.level, f.episode_index, f.seed,
                     f.success, f.status, f.detail) for f in packet.flagged_episodes],
              max_rows=MAX_FLAG_ROWS,
              row_tones=["danger" if f.category in ("missing", "seed_mismatch", "metadata_mismatch")
                         else "warning" for f in packet.flagged_episodes]),
    ]
    if packet.flagged_episodes_truncated:
        blocks.append(Paragraph(f"{packet.flagged_episodes_truncated} further flagged episodes are "
                                "counted above but not listed."))
    if packet.contract_checks:
        blocks += [Heading("Custom contract pins re-checked"),
                   Table(columns=["probe", "key", "pinned", "matching", "differing", "missing key"],
                         rows=[(k.probe_id, k.key, k.pinned, k.rows_matching, k.rows_differing,
                                k.rows_missing_key) for k in packet.contract_checks],
                         row_tones=["warning" if k.rows_differing else None
                                    for k in packet.contract_checks])]
    if packet.consent_markers:
        blocks.append(BulletList([f"{p}: consent marker {m!r} recorded, not verified"
                                  for p, m in sorted(packet.consent_markers.items())]))
    blocks += [
        Heading("Training-exposure caveats"),
        BulletList(packet.training_exposure_caveats, empty_text="None declared."),
        Heading("Missing-evidence questions from the plan"),
        BulletList(packet.missing_evidence_questions),
        Heading("Next falsification axes"), BulletList(packet.next_falsification_axes),
    ]
    if packet.redactions:
        blocks += [Heading("Redactions"),
                   BulletList([f"{r.location} ({r.kind})" for r in packet.redactions[:50]]
                              + ([f"… and {len(packet.redactions) - 50} more"]
                                 if len(packet.redactions) > 50 else []))]
    p = packet.provenance
    blocks += [
        Heading("Provenance"),
        KeyValues([("tool", f"{p.tool} {p.tool_version}"),
                   ("registry", f"{p.registry_version} {p.registry_digest}"),
                   ("plan digest", p.plan_digest), ("profile digest", p.profile_digest),
                   *[(f"audit input {k}", v) for k, v in sorted(p.input_digests.items())],
                   ("result digest", p.result_digest), ("interval method", p.interval_method),
                   ("bootstrap seed", p.bootstrap_seed), ("created at", p.created_at),
                   ("packet digest", packet.packet_digest)]),
    ]
    return Document(title=f"Eval packet — {packet.profile_id}", blocks=blocks)


def brief_document(brief: ReviewerBrief) -> Document:
    blocks: list = [
        Banner(brief.banner, tone="danger"),
        KeyValues([("profile", brief.profile_id), ("policy", brief.policy_id),
                   ("claim intent", brief.claim_intent), ("public share ready", brief.public_share_ready),
                   ("packet digest", brief.packet_digest),
                   ("packet Markdown", brief.packet_markdown_ref or "not given"),
                   ("plan digest", brief.plan_digest)]),
        Heading("Warnings"), BulletList(brief.warnings),
        Heading("What the evidence shows"), BulletList(brief.headline),
        Heading("Unsupported claims"), BulletList(brief.unsupported_claims, empty_text="None found."),
        Heading("Missing evidence"), BulletList(brief.missing_evidence, empty_text="None."),
        Heading("Reviewer questions"),
        Table(columns=["about", "question"],
              rows=[(q.about, q.question) for q in brief.reviewer_questions]),
        Heading("Acceptance discussion"),
        Paragraph("Prompts for a structured discussion. This brief gives no pass/fail verdict."),
        BulletList(brief.acceptance_discussion),
    ]
    return Document(title=f"Reviewer brief — {brief.profile_id}", blocks=blocks)
