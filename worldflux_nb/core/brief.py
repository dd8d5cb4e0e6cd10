"""The private reviewer brief: the packet's gaps turned into questions and discussion prompts.

It never decides: no pass/fail verdict, no deployment decision, and it is never public-share-ready.
"""

from __future__ import annotations

from collections import defaultdict

from worldflux_nb.core.findings import plural, some
from worldflux_nb.models.redaction import redact_text
from worldflux_nb.core.statistics import percent
from worldflux_nb.models.packet import CellResult, EvalPacket, FlaggedEpisode, ReviewerBrief, ReviewerQuestion

BANNER = ("LOCAL_PRIVATE — private reviewer brief. Not public-share-ready: not for publication, "
          "endorsement or certification. It organises evidence for a discussion; it is not a "
          "pass/fail verdict and not a deployment decision.")
QUESTIONS_PER_KIND = 10
FLAG_QUESTIONS = {
    "pending": ("still pending (never finished)", "Were they ever finished, and what were their outcomes?"),
    "unverified": ("carry no recorded seed or pinned metadata key (unverified)",
                   "Can the harness's seeds and metadata for them be recovered, so their identity can be checked?"),
    "task_mapped": ("were filed under a plan task through an importer task mapping",
                    "Does each harness task really stand for the plan task it was mapped to?"),
    "order_inferred": ("have their episode identity inferred from row order",
                       "Can the harness record episode indexes, so which episode is which can be checked?"),
}


def _episodes(flags: list[FlaggedEpisode]) -> str:
    """"Episode 3" or "Episodes 3, 7", for the start of a sentence."""
    indexes = sorted({f.episode_index for f in flags})
    return ("Episode " if len(indexes) == 1 else "Episodes ") + some([str(i) for i in indexes])


def _flags_by_cell(flags: list[FlaggedEpisode], kind: str) -> dict[str, list[FlaggedEpisode]]:
    grouped: dict[str, list[FlaggedEpisode]] = defaultdict(list)
    for flag in flags:
        if flag.category == kind:
            grouped[flag.cell_id or flag.probe_id].append(flag)
    return grouped


class _Questions:
    """Questions with the share of planned evidence each concerns; read back most first."""

    def __init__(self, planned: int) -> None:
        self.planned = max(planned, 1)
        self.items: list[tuple[float, int, ReviewerQuestion]] = []

    def ask(self, episodes: float, about: str, text: str, *, share: float | None = None) -> None:
        weight = share if share is not None else episodes / self.planned
        self.items.append((weight, len(self.items), ReviewerQuestion(about=about[:2000], question=text[:2000])))

    def ranked(self) -> list[ReviewerQuestion]:
        return [q for _, _, q in sorted(self.items, key=lambda item: (-item[0], item[1]))]


def _per_cell(q: _Questions, cells: list[CellResult], count: str, kind: str, text) -> None:
    """One question per cell with `count` > 0, most first, QUESTIONS_PER_KIND of them, then one
    question naming the rest ("and N more")."""
    chosen = sorted((c for c in cells if getattr(c, count)), key=lambda c: -getattr(c, count))
    for cell in chosen[:QUESTIONS_PER_KIND]:
        q.ask(getattr(cell, count), cell.cell_id, text(cell))
    rest = chosen[QUESTIONS_PER_KIND:]
    if rest:
        n = sum(getattr(c, count) for c in rest)
        q.ask(n, rest[0].probe_id, f"{kind} in {plural(len(rest), 'further cell')} as well "
              f"({n} in all): {some([f'{c.cell_id} ({getattr(c, count)})' for c in rest], 8)}. "
              "Are they explained the same way?")


def reviewer_questions(packet: EvalPacket) -> list[ReviewerQuestion]:
    """Questions ranked by the share of planned evidence they concern; each names its cell or probe."""
    c = packet.conformance
    q = _Questions(c.planned_episodes)
    flags = list(packet.flagged_episodes)
    cells = list(packet.cells)
    first: list[ReviewerQuestion] = []
    for d in c.digest_mismatches:
        first.append(ReviewerQuestion(about=d.probe_id, question=(
            f"The audit input for {d.probe_id} was made against plan {d.found}, not the frozen plan "
            f"{d.expected}; its {plural(d.rows_rejected, 'row')} were rejected. Which plan did that "
            "evaluation follow, and can it be re-imported against this one?")))
    for f in packet.findings:
        q.ask(f.planned_affected, f.probe_id or packet.plan_id, f.question, share=f.share)

    # Missing evidence: one question per probe or axis with none at all, then cells by episodes lost.
    by_probe: dict[str, list[CellResult]] = defaultdict(list)
    for cell in cells:
        by_probe[cell.probe_id].append(cell)
    covered: set[str] = set()
    unrun: set[str] = set()
    for probe, mine in by_probe.items():
        if all(cell.matched == 0 for cell in mine):
            unrun.add(probe)
            planned = sum(cell.planned for cell in mine)
            q.ask(planned, probe, f"No evidence at all for probe {probe} ({plural(len(mine), 'cell')}, "
                  f"{plural(planned, 'planned episode')} with no conformant evidence). Was it run?")
            covered |= {cell.cell_id for cell in mine}
            continue
        axes: dict[str, list[CellResult]] = defaultdict(list)
        for cell in mine:
            axes[cell.axis].append(cell)
        for axis, group in axes.items():
            if all(cell.matched == 0 for cell in group):
                planned = sum(cell.planned for cell in group)
                q.ask(planned, f"{probe}/{axis}", f"No evidence at all for axis {axis} of {probe} "
                      f"({plural(len(group), 'cell')}, {plural(planned, 'planned episode')} with no conformant "
                      "evidence). Was it run, and what happened to it?")
                covered |= {cell.cell_id for cell in group}
    missing_flags = _flags_by_cell(flags, "missing")

    def missing_text(cell: CellResult) -> str:
        listed = missing_flags.get(cell.cell_id)
        which = f" ({_episodes(listed).lower()})" if listed and cell.matched else ""
        return (f"Planned episodes of {cell.cell_id} with no conformant evidence: {cell.missing} of "
                f"{cell.planned}{which}. Were they run, and what happened to them?")

    _per_cell(q, [cell for cell in cells if cell.cell_id not in covered], "missing",
              "Planned episodes with no conformant evidence", missing_text)
    _per_cell(q, cells, "duplicates", "Re-runs",
              lambda cell: f"{plural(cell.duplicates, 'attempt')} in {cell.cell_id} re-ran a planned episode more "
                           "than once. Why, and are all attempts reported (only a run where every attempt "
                           "succeeded counts)?")
    _per_cell(q, cells, "infra_failures", "Infrastructure failures",
              lambda cell: f"{plural(cell.infra_failures, 'planned episode')} of {cell.cell_id} had an "
                           "infrastructure failure. What failed, was it the harness and not the policy, and "
                           "was it re-run under the same seed?")
    oop = _flags_by_cell(flags, "out_of_protocol")

    def oop_text(cell: CellResult) -> str:
        where = ", ".join(sorted({f"{f.task_id} / {f.axis} / level {f.level} / episode {f.episode_index}"
                                  for f in oop.get(cell.cell_id, [])})[:5])
        return (f"Evidence for {cell.cell_id} includes {plural(cell.out_of_protocol, 'row')} outside the plan"
                + (f" ({where})" if where else "") + ". Why were they run, and were other unplanned runs "
                "left out of the submitted evidence?")

    _per_cell(q, cells, "out_of_protocol", "Rows outside the plan", oop_text)
    planned_cells = {cell.cell_id for cell in cells}
    for about, group in oop.items():
        if about not in planned_cells:
            where = ", ".join(sorted({f"{f.task_id} / {f.axis} / level {f.level}" for f in group})[:5])
            total = packet.flagged_totals.get("out_of_protocol", len(group))
            q.ask(len(group), about, f"Evidence for {about} includes rows outside the plan for unplanned "
                  f"tasks or levels ({where}; {total} out-of-protocol rows in all). Why were they run, and "
                  "were other unplanned runs left out of the submitted evidence?")
    drift = _flags_by_cell(flags, "metadata_mismatch")

    def drift_text(cell: CellResult) -> str:
        group = drift.get(cell.cell_id)
        detail = group[0].detail.split(": ", 1)[-1] if group and group[0].detail else "pinned metadata differs"
        return (f"{plural(cell.metadata_mismatches, 'row')} of {cell.cell_id}: drifts from the plan "
                f"({detail}). Which environment or adapter actually produced it?")

    _per_cell(q, cells, "metadata_mismatches", "Pinned metadata drift", drift_text)
    another_run = {cell for f in packet.findings if f.kind == "another_run" for cell in f.cells}
    _per_cell(q, [cell for cell in cells if cell.cell_id not in another_run], "seed_mismatches",
              "Seed mismatches",
              lambda cell: f"{plural(cell.seed_mismatches, 'row')} of {cell.cell_id}: a seed other than the "
                           "planned one was recorded. Was the run sheet followed, or was the seed changed "
                           "after seeing results?")
    for kind, (what, ask) in FLAG_QUESTIONS.items():
        total = packet.flagged_totals.get(kind, 0)
        if total:
            per_cell = packet.flagged_cells.get(kind, {})
            named = [f"{cell} ({n})" for cell, n in sorted(per_cell.items(), key=lambda item: -item[1])]
            about = max(per_cell, key=per_cell.get) if per_cell else packet.plan_id
            q.ask(total, about, f"{plural(total, 'row')} {what}"
                  + (f", in {some(named, 8)}" if named else "") + f". {ask}")
    unverified = [c for c in packet.source_checks if c.verified == "not_verified"]
    if unverified:
        q.ask(0, unverified[0].probe_id,
              f"{plural(len(unverified), 'audit input')} ({some([f'#{c.input + 1} ({c.probe_id})' for c in unverified])}) "
              "were not re-imported from their harness files, so their rows are bound to the harness output "
              "only by the operator's word. Can the harness files be provided (packet --verify-source)?",
              share=len(unverified) / q.planned)
    if packet.task_mappings:
        shown = [f"{m.harness_name} → {m.plan_task} ({m.probe_id})" for m in packet.task_mappings]
        q.ask(0, packet.task_mappings[0].probe_id,
              f"{plural(len(shown), 'harness task')} were mapped onto plan tasks: {some(shown, 8)}. Who made "
              "each mapping, and does each harness task really run the plan task it is filed under?",
              share=1.0 / q.planned)
    for s in packet.probe_summaries:
        if s.grade == "ungraded" and s.probe_id not in unrun:
            q.ask(s.planned, s.probe_id, f"{s.probe_id} is ungraded ({s.grade_reasons[0]}). Does the claim "
                  "still hold without it, or should its evidence be produced first?")
        elif s.grade == "C":
            q.ask(s.matched, s.probe_id, f"Episode identity for {s.probe_id} was inferred from row order "
                  f"({s.importer}). Can the harness record episode indexes so the matching is verifiable?")
        elif s.grade == "B":
            q.ask(s.matched, s.probe_id, f"{s.probe_id} evidence is grade B ({'; '.join(s.grade_reasons)}). "
                  "Can the missing seeds or metadata be recovered from the harness logs?")
    by_design = set(packet.planned_in_underpowered_cells)
    lacking = [cell for cell in cells if cell.underpowered and cell.cell_id not in by_design]
    _per_cell(q, lacking, "missing", "Cells underpowered by missing evidence",
              lambda cell: f"{cell.cell_id} is underpowered ({cell.successes}/{cell.denominator}, interval "
                           f"{percent(cell.ci_low)}–{percent(cell.ci_high)}) with {cell.missing} of its "
                           f"{cell.planned} planned episodes missing. How many more episodes would the claim "
                           "need here?")
    signals = packet.cherry_pick_signals
    if signals.out_of_protocol_rows and signals.out_of_protocol_success_rate is not None and \
            signals.in_protocol_success_rate is not None and \
            signals.out_of_protocol_success_rate > signals.in_protocol_success_rate:
        q.ask(signals.out_of_protocol_rows, packet.plan_id, "Out-of-protocol rows succeed more often than "
              f"planned episodes ({percent(signals.out_of_protocol_success_rate)} vs "
              f"{percent(signals.in_protocol_success_rate)}). Is there a selection effect?")
    tail: list[ReviewerQuestion] = []
    if by_design:
        tail.append(ReviewerQuestion(about=packet.plan_id, question=(
            f"{plural(len(by_design), 'cell')} cannot reach the plan's precision target even with every "
            f"planned episode ({some(sorted(by_design))}): is the planned precision enough for the "
            "decision this review informs?")))
    for s in packet.probe_summaries:
        if s.training_exposure:
            tail.append(ReviewerQuestion(about=s.probe_id, question=(
                f"Scores on {s.probe_id} may reflect training exposure. Can a training-data manifest rule "
                "out overlap with its tasks?")))
    for probe_id, marker in packet.consent_markers.items():
        tail.append(ReviewerQuestion(about=probe_id, question=(
            f"The consent marker {marker!r} for {probe_id} is recorded but not verified. Who confirms it "
            "covers this review?")))
    questions = list(packet.missing_evidence_questions)
    tail += [ReviewerQuestion(about=packet.plan_id, question=text[:2000]) for text in questions[:QUESTIONS_PER_KIND]]
    if len(questions) > QUESTIONS_PER_KIND:
        tail.append(ReviewerQuestion(about=packet.plan_id, question=(
            f"The plan lists {len(questions) - QUESTIONS_PER_KIND} more missing-evidence questions "
            f"(and {len(questions) - QUESTIONS_PER_KIND} more not shown here): see the packet.")))
    return first + q.ranked() + tail


def missing_evidence(packet: EvalPacket) -> list[str]:
    c = packet.conformance
    out = []
    if c.missing:
        out.append(f"{plural(c.missing, 'planned episode')} of {c.planned_episodes} have no conformant evidence.")
    if packet.missing_cells:
        out.append(f"{plural(len(packet.missing_cells), 'cell')} with no evidence at all: {some(packet.missing_cells)}.")
    partial = [cell.cell_id for cell in packet.cells if cell.matched and cell.missing]
    if partial:
        out.append(f"{plural(len(partial), 'cell')} incomplete: {some(partial)}.")
    by_design = set(packet.planned_in_underpowered_cells)
    lacking = [c for c in packet.underpowered_cells if c not in by_design]
    if lacking:
        out.append(f"{plural(len(lacking), 'cell')} underpowered by missing or excluded evidence: {some(lacking)}.")
    unverified = [s for s in packet.source_checks if s.verified == "not_verified"]
    if unverified:
        out.append(f"{plural(len(unverified), 'audit input')} not re-imported from their harness files: "
                   + some([f"#{s.input + 1} ({s.probe_id})" for s in unverified]) + ".")
    out += [f"{s.probe_id}: ungraded — {s.grade_reasons[0]}." for s in packet.probe_summaries
            if s.grade == "ungraded"]
    out += list(packet.missing_evidence_questions)
    if by_design:
        out.append(f"Planned-in: {plural(len(by_design), 'cell')} underpowered by the plan's own episode counts: "
                   f"{some(sorted(by_design))}.")
    return out


def acceptance_discussion(packet: EvalPacket) -> list[str]:
    """Structured prompts for the discussion; deliberately no verdict."""
    c = packet.conformance
    policies = {p.policy: p for p in packet.denominator_policies if p.probe_id is None}
    moves = ", ".join(f"{name} {percent(p.success_rate)}" for name, p in policies.items())
    return [
        f"Scope: which parts of the claim \"{packet.claim_intent}\" does the evidence cover, and "
        "which probes, axes or cells are absent?",
        f"Conformance: {c.matched} of {c.planned_episodes} planned episodes matched; {c.missing} missing, "
        f"{c.out_of_protocol} out of protocol, {c.duplicates} re-runs, {c.seed_mismatches} seed and "
        f"{c.metadata_mismatches} metadata mismatches, {c.infra_failures} infrastructure failures. "
        "Is each explained?",
        f"Denominator: the overall rate reads {moves}. Which policy matches how the claim will be used?",
        f"Power: {len(packet.underpowered_cells)} of {len(packet.cells)} cells are underpowered. Is "
        "the remaining precision enough for the decision this review informs?",
        "Exposure: do the training-exposure caveats change how the scores should be read?",
        "Falsification: which of the next falsification axes should be run before the claim is repeated?",
        "Outcome: record the discussion and the follow-ups agreed; this brief is not a pass/fail "
        "verdict and not a deployment decision.",
    ]


def build_brief(packet: EvalPacket, *, packet_markdown_ref: str | None = None) -> ReviewerBrief:
    """The sealed reviewer brief for a packet; `packet_markdown_ref` names the packet's Markdown."""
    headline = list(packet.observed_score_signals) + list(packet.cherry_pick_signals.statements)
    warnings = list(packet.warnings)
    if packet_markdown_ref is not None:
        # A reference given as an absolute path in a home folder would leak a host path into a shared brief.
        packet_markdown_ref, kinds = redact_text(packet_markdown_ref)
        if kinds:
            warnings.append(f"The packet Markdown reference was redacted ({', '.join(sorted(set(kinds)))}).")
    return ReviewerBrief(
        banner=BANNER,
        plan_digest=packet.plan_digest,
        packet_digest=packet.packet_digest or packet.computed_digest(),
        packet_markdown_ref=packet_markdown_ref,
        profile_id=packet.profile_id,
        policy_id=packet.policy_id,
        claim_intent=packet.claim_intent,
        headline=headline,
        warnings=warnings,
        unsupported_claims=list(packet.unsupported_claims),
        missing_evidence=missing_evidence(packet),
        reviewer_questions=reviewer_questions(packet),
        acceptance_discussion=acceptance_discussion(packet),
    ).sealed()
