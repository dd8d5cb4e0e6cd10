"""The private reviewer brief: the packet's gaps turned into questions and discussion prompts.

It never decides: no pass/fail verdict, no deployment decision, and it is never public-share-ready.
"""

from __future__ import annotations

from collections import defaultdict

from worldflux_nb.core.findings import plural, some
from worldflux_nb.models.redaction import redact_text
from worldflux_nb.core.statistics import percent
from worldflux_nb.models.packet import EvalPacket, FlaggedEpisode, ReviewerBrief, ReviewerQuestion

BANNER = ("LOCAL_PRIVATE — private reviewer brief. Not public-share-ready: not for publication, "
          "endorsement or certification. It organises evidence for a discussion; it is not a "
          "pass/fail verdict and not a deployment decision.")
QUESTIONS_PER_KIND = 10


def _by_cell(flags: list[FlaggedEpisode], kind: str) -> dict[str, list[FlaggedEpisode]]:
    grouped: dict[str, list[FlaggedEpisode]] = defaultdict(list)
    for flag in flags:
        if flag.category == kind:
            grouped[flag.cell_id or flag.probe_id].append(flag)
    return dict(list(grouped.items())[:QUESTIONS_PER_KIND])


def _episodes(flags: list[FlaggedEpisode]) -> str:
    """"Episode 3" or "Episodes 3, 7", for the start of a sentence."""
    indexes = sorted({f.episode_index for f in flags})
    return ("Episode " if len(indexes) == 1 else "Episodes ") + some([str(i) for i in indexes])


def reviewer_questions(packet: EvalPacket) -> list[ReviewerQuestion]:
    """One question per gap, each naming the cell or probe it is about."""
    q: list[ReviewerQuestion] = []
    flags = list(packet.flagged_episodes)
    cells = {c.cell_id: c for c in packet.cells}

    def ask(about: str, text: str) -> None:
        q.append(ReviewerQuestion(about=about, question=text[:2000]))

    for d in packet.conformance.digest_mismatches:
        ask(d.probe_id, f"The audit input for {d.probe_id} was made against plan {d.found}, not the "
            f"frozen plan {d.expected}; its {plural(d.rows_rejected, 'row')} were rejected. Which plan "
            "did that evaluation follow, and can it be re-imported against this one?")
    for about, group in _by_cell(flags, "missing").items():
        cell = cells.get(about)
        count = f"{cell.missing} of {cell.planned}" if cell else str(len(group))
        ask(about, f"Planned episodes of {about} with no conformant evidence: {count} ("
            f"{_episodes(group).lower()}). Were they run, and what happened to them?")
    for about, group in _by_cell(flags, "duplicate").items():
        ask(about, f"{_episodes(group)} of {about} ran more than once. Why, "
            "and are all attempts reported (only a run where every attempt succeeded counts)?")
    for about, group in _by_cell(flags, "infra_failure").items():
        ask(about, f"{_episodes(group)} of {about} ended in an infrastructure failure. What "
            "failed, was it the harness and not the policy, and was it re-run under the same seed?")
    for about, group in _by_cell(flags, "out_of_protocol").items():
        where = ", ".join(sorted({f"{f.task_id} / {f.axis} / level {f.level} / episode {f.episode_index}"
                                  for f in group})[:5])
        ask(about, f"Evidence for {about} includes rows outside the plan ({where}). Why were they "
            "run, and were other unplanned runs left out of the submitted evidence?")
    for about, group in _by_cell(flags, "metadata_mismatch").items():
        detail = group[0].detail.split(": ", 1)[-1] if group[0].detail else "pinned metadata differs"
        ask(about, f"{_episodes(group)} of {about}: drifts from the plan "
            f"({detail}). Which environment or adapter actually produced it?")
    for about, group in _by_cell(flags, "seed_mismatch").items():
        ask(about, f"{_episodes(group)} of {about}: a seed other than the planned one was recorded. "
            "Was the run sheet followed, or was the seed changed after seeing results?")
    for s in packet.probe_summaries:
        if s.grade == "ungraded":
            ask(s.probe_id, f"{s.probe_id} is ungraded ({s.grade_reasons[0]}). Does the claim still "
                "hold without it, or should its evidence be produced first?")
        elif s.grade == "C":
            ask(s.probe_id, f"Episode identity for {s.probe_id} was inferred from row order "
                f"({s.importer}). Can the harness record episode indexes so the matching is verifiable?")
        elif s.grade == "B":
            ask(s.probe_id, f"{s.probe_id} evidence is grade B ({'; '.join(s.grade_reasons)}). Can "
                "the missing seeds or metadata be recovered from the harness logs?")
    for cell_id in packet.underpowered_cells[:QUESTIONS_PER_KIND]:
        cell = cells[cell_id]
        ask(cell_id, f"{cell_id} is underpowered ({cell.successes}/{cell.denominator}, interval "
            f"{percent(cell.ci_low)}–{percent(cell.ci_high)}). How many more episodes would the "
            "claim need here?")
    signals = packet.cherry_pick_signals
    if signals.out_of_protocol_rows and signals.out_of_protocol_success_rate is not None and \
            signals.in_protocol_success_rate is not None and \
            signals.out_of_protocol_success_rate > signals.in_protocol_success_rate:
        ask(packet.plan_id, "Out-of-protocol rows succeed more often than planned episodes "
            f"({percent(signals.out_of_protocol_success_rate)} vs "
            f"{percent(signals.in_protocol_success_rate)}). Is there a selection effect?")
    for s in packet.probe_summaries:
        if s.training_exposure:
            ask(s.probe_id, f"Scores on {s.probe_id} may reflect training exposure. Can a "
                "training-data manifest rule out overlap with its tasks?")
    for probe_id, marker in packet.consent_markers.items():
        ask(probe_id, f"The consent marker {marker!r} for {probe_id} is recorded but not verified. "
            "Who confirms it covers this review?")
    for question in packet.missing_evidence_questions[:QUESTIONS_PER_KIND]:
        ask(packet.plan_id, question)
    return q


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
    if packet.underpowered_cells:
        out.append(f"{plural(len(packet.underpowered_cells), 'cell')} underpowered: {some(packet.underpowered_cells)}.")
    out += [f"{s.probe_id}: ungraded — {s.grade_reasons[0]}." for s in packet.probe_summaries
            if s.grade == "ungraded"]
    out += list(packet.missing_evidence_questions)
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
