"""Jupyter display of every artifact: plain text, HTML, Markdown and the artifact's own JSON.

HTML and Markdown come from the one Document each artifact kind is described by (the same function
the command line writes files from); `ARTIFACT_VIEWS` registers those functions in one place.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Collection

from worldflux_nb.models import (
    PRIVACY, Artifact, AuditInput, Comparison, CustomEvalContract, EvalPacket, EvalProfile, PlanReceipt,
    ProtocolPlan, ReviewerBrief, RunSheet,
)
from worldflux_nb.models.evidence import EPISODE_STATUSES
from worldflux_nb.render.compare_docs import comparison_document
from worldflux_nb.render.document import Banner, Document, KeyValues, Table
from worldflux_nb.render.evidence_doc import audit_input_document, evidence_overview_document, status_totals
from worldflux_nb.render.html import to_html
from worldflux_nb.render.markdown import to_markdown
from worldflux_nb.render.packet_docs import brief_document, packet_document
from worldflux_nb.render.plan_docs import contract_document, plan_document, profile_document, run_sheet_document

# Inline tables stop here so a million-episode run sheet still displays fast and small.
DISPLAY_MAX_ROWS = 200
# Above this many episodes a plan, run sheet or audit input leaves its JSON out of the display unless
# asked for by name: its file is the record, and a notebook must stay small enough to share. Packets
# and briefs are always embedded whole, so they can be exported from an executed notebook.
DISPLAY_JSON_MAX_EPISODES = 2_000


def short_digest(digest: str | None) -> str:
    return "unsealed" if not digest else digest[: len("sha256:") + 12] + "…"


def bounded(document: Document, max_rows: int = DISPLAY_MAX_ROWS) -> Document:
    """The same document with every table capped at `max_rows` visible rows."""
    blocks = []
    for block in document.blocks:
        if isinstance(block, Table) and (block.max_rows is None or block.max_rows > max_rows):
            block = dataclasses.replace(block, max_rows=max_rows)
        blocks.append(block)
    return dataclasses.replace(document, blocks=blocks)


def artifact_document(artifact: Artifact) -> Document:
    return bounded(artifact_view(artifact)[0](artifact))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _profile_lines(a: Any) -> list[str]:
    return [f"policy {a.policy_id} on {a.robot_model} ({a.embodiment_class}, {a.simulator_family})",
            f"claim intent: {a.claim_intent}", f"profile_digest {short_digest(a.profile_digest)}"]


def _contract_lines(a: Any) -> list[str]:
    return [f"probe {a.probe_id}: {_count(len(a.tasks), 'task')}, audit keys {', '.join(a.audit_metadata_keys)}",
            "consent marker recorded, not verified"]


def _plan_lines(a: Any) -> list[str]:
    return [f"profile {a.profile.profile_id}: {_count(len(a.selected_probes), 'probe')} selected, "
            f"{len(a.excluded_probes)} excluded",
            f"{_count(len(a.cells), 'cell')}, {_count(a.planned_episodes, 'planned episode')}, "
            f"denominator {a.denominator_policy}",
            f"plan seed {a.plan_seed} ({a.seed_source}), plan_digest {short_digest(a.plan_digest)}"]


def _run_sheet_lines(a: Any) -> list[str]:
    cells = len({e["cell_id"] for e in a.episodes})
    return [f"{_count(len(a.episodes), 'episode')} across {_count(cells, 'cell')}",
            f"plan_digest {short_digest(a.plan_digest)}"]


def _audit_lines(a: Any) -> list[str]:
    statuses = status_totals(a)
    by_status = ", ".join(f"{s} {statuses[s]}" for s in sorted(EPISODE_STATUSES) if statuses[s]) or "no rows"
    return [f"probe {a.probe_id}: {_count(len(a.episodes), 'row')} ({by_status})",
            f"importer {a.source.importer}, identity {a.source.identity}",
            f"claims plan_digest {short_digest(a.plan_digest)}"]


def _rate(rate: float | None, low: float | None, high: float | None) -> str:
    if rate is None:
        return "no denominator"
    return f"{rate:.3f} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else f"{rate:.3f}"


def _packet_lines(a: Any) -> list[str]:
    c = a.conformance
    lines = [f"policy {a.policy_id}, profile {a.profile_id}",
             f"conformance: {c.matched}/{c.planned_episodes} planned episodes matched, {c.missing} missing, "
             f"{c.out_of_protocol} out of protocol, {c.duplicates} duplicates, "
             f"{c.seed_mismatches} seed / {c.metadata_mismatches} metadata mismatches, "
             f"{c.infra_failures} infra failures"]
    for policy in a.denominator_policies:
        if getattr(policy, "probe_id", None) is not None:  # per-probe readings live in the HTML
            continue
        label = " (optimistic)" if policy.optimistic else ""
        marker = "*" if policy.policy == a.denominator_policy else " "
        lines.append(f"{marker}{policy.policy}{label}: {policy.successes}/{policy.denominator} = "
                     f"{_rate(policy.success_rate, policy.ci_low, policy.ci_high)}")
    lines.append(f"{_count(len(a.cells), 'cell')}, {len(a.underpowered_cells)} underpowered, "
                 f"{len(a.missing_cells)} missing; {_count(len(a.unsupported_claims), 'unsupported claim')}")
    if c.digest_mismatches:
        lines.append(f"{len(c.digest_mismatches)} audit input(s) rejected for a plan digest mismatch")
    lines.append(f"packet_digest {short_digest(a.packet_digest)}")
    return lines


def _receipt_lines(a: Any) -> list[str]:
    return [f"plan {a.plan_id}: plan_digest {short_digest(a.plan_digest)}",
            f"received {a.received_at}" + (f" by {a.received_by}" if a.received_by else ""),
            f"receipt_digest {short_digest(a.receipt_digest)}"]


def receipt_document(receipt: PlanReceipt) -> Document:
    """A plan receipt: which plan digest the reviewer received, when and by whom."""
    return Document(title=f"Plan receipt — {receipt.plan_id}", blocks=[
        Banner(f"{PRIVACY}: the reviewer's own record of when this plan digest reached them.", "info"),
        KeyValues([("plan", receipt.plan_id), ("plan digest", receipt.plan_digest),
                   ("received at", receipt.received_at), ("received by", receipt.received_by),
                   ("receipt digest", receipt.receipt_digest)])])


def _brief_lines(a: Any) -> list[str]:
    return ["NOT public-share-ready",
            f"{_count(len(a.warnings), 'warning')}, {_count(len(a.unsupported_claims), 'unsupported claim')}, "
            f"{len(a.missing_evidence)} missing-evidence item(s), "
            f"{_count(len(a.reviewer_questions), 'reviewer question')}",
            f"packet_digest {short_digest(a.packet_digest)}"]


# The one place each artifact kind's views are registered: its Document (HTML and Markdown) and its
# plain-text summary. An artifact kind without an entry is a programming error, never a silent default.
def _comparison_lines(a: Any) -> list[str]:
    return ([f"arms {', '.join(arm.name for arm in a.arms)} (baseline {a.baseline}), "
             f"{_count(len(a.comparisons), 'comparison')}, {len(a.asymmetries)} asymmetries",
             "declared before scores" if a.declared else "nothing declared before scores: all exploratory"]
            + list(a.headline[:3]) + [f"comparison_digest {short_digest(a.comparison_digest)}"])


ARTIFACT_VIEWS: dict[type[Artifact], tuple[Callable[[Any], Document], Callable[[Any], list[str]]]] = {
    EvalProfile: (profile_document, _profile_lines),
    CustomEvalContract: (contract_document, _contract_lines),
    ProtocolPlan: (plan_document, _plan_lines),
    RunSheet: (run_sheet_document, _run_sheet_lines),
    AuditInput: (audit_input_document, _audit_lines),
    EvalPacket: (packet_document, _packet_lines),
    ReviewerBrief: (brief_document, _brief_lines),
    PlanReceipt: (receipt_document, _receipt_lines),
    Comparison: (comparison_document, _comparison_lines),
}


def artifact_view(artifact: Artifact) -> tuple[Callable[[Any], Document], Callable[[Any], list[str]]]:
    """The registered (document, summary lines) pair of an artifact's class."""
    for cls in type(artifact).__mro__:
        if cls in ARTIFACT_VIEWS:
            return ARTIFACT_VIEWS[cls]
    raise TypeError(f"no display registered for {type(artifact).__name__}; add it to ARTIFACT_VIEWS")
_NAME_FIELDS = ("plan_id", "contract_id", "probe_id", "profile_id")


def plain_summary(artifact: Artifact) -> str:
    """A few lines a reader can act on, instead of a pydantic dump."""
    name = next((str(getattr(artifact, f)) for f in _NAME_FIELDS if hasattr(artifact, f)), "")
    head = f"{type(artifact).__name__} {name}".rstrip() + f" [{artifact.privacy}]"
    lines = artifact_view(artifact)[1](artifact)
    return "\n".join([head] + [f"  {line}" for line in lines])


def wanted(mimetype: str, include: Collection[str] | None, exclude: Collection[str] | None) -> bool:
    if include and mimetype not in include:
        return False
    return not (exclude and mimetype in exclude)


def mimebundle(artifact: Artifact, include: Collection[str] | None = None,
               exclude: Collection[str] | None = None) -> dict[str, Any]:
    """The display bundle of an artifact; only the requested mimetypes are computed."""
    bundle: dict[str, Any] = {}
    if wanted("text/plain", include, exclude):
        bundle["text/plain"] = plain_summary(artifact)
    if wanted("text/html", include, exclude) or wanted("text/markdown", include, exclude):
        document = artifact_document(artifact)
        if wanted("text/html", include, exclude):
            bundle["text/html"] = to_html(document)
        if wanted("text/markdown", include, exclude):
            bundle["text/markdown"] = to_markdown(document)
    media_type = artifact.media_type()
    if wanted(media_type, include, exclude):
        if (include and media_type in include) or episode_count(artifact) <= DISPLAY_JSON_MAX_EPISODES:
            bundle[media_type] = artifact.to_json_dict()
        elif "text/plain" in bundle:
            bundle["text/plain"] += (f"\n  (JSON not embedded: over {DISPLAY_JSON_MAX_EPISODES} episodes; "
                                     "the artifact file is the record)")
    return bundle


class DocumentView:
    """Any Document shown inline, for views that are not artifacts themselves (e.g. an evidence overview)."""

    def __init__(self, document: Document) -> None:
        self.document = document

    def _repr_mimebundle_(self, include: Collection[str] | None = None,
                          exclude: Collection[str] | None = None) -> dict[str, Any]:
        makers = {"text/plain": lambda: to_markdown(self.document), "text/html": lambda: to_html(self.document),
                  "text/markdown": lambda: to_markdown(self.document)}
        return {mime: make() for mime, make in makers.items() if wanted(mime, include, exclude)}


def evidence_overview(audits: Any) -> DocumentView:
    """One table for all audit inputs: a notebook stays small however many inputs a packet has."""
    return DocumentView(bounded(evidence_overview_document(list(audits))))


def episode_count(artifact: Artifact) -> int:
    """How many episodes an artifact lists (0 for kinds that list none)."""
    if artifact.KIND == "protocol_plan":
        return artifact.planned_episodes  # type: ignore[attr-defined]
    return len(getattr(artifact, "episodes", ()))
