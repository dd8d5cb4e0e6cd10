"""The reviewer brief: private, no verdict, and a question about each planted problem."""

from __future__ import annotations

import re

from test_conformance import make_plan, plant_defects
from worldflux_nb.core.brief import build_brief
from worldflux_nb.core.packet import build_packet
from worldflux_nb.render.markdown import to_markdown
from worldflux_nb.render.packet_docs import brief_document


def test_brief_names_each_planted_problem():
    plan = make_plan()
    inputs, _ = plant_defects(plan)
    packet = build_packet(plan, inputs)
    brief = build_brief(packet, packet_markdown_ref="packet.md")
    assert brief.public_share_ready is False and brief.digest_problem() is None
    assert brief.packet_digest == packet.packet_digest and brief.packet_markdown_ref == "packet.md"
    asked = [(q.about, q.question) for q in brief.reviewer_questions]

    def about(pattern: str) -> set[str]:
        return {a for a, text in asked if re.search(pattern, text)}

    assert about("rejected") == {"beta"}                                   # digest mismatch
    assert about("no conformant evidence") == {"alpha:suite/0:nominal:0"}   # missing episodes
    assert about("more than once") == {"alpha:suite/0:camera:2"}           # re-run
    assert about("infrastructure failure") == {"beta:suite/0:light:dim"}   # infra failure
    assert about("outside the plan") == {"alpha:suite/0:nominal:0", "alpha"}  # out of protocol
    assert about("drifts from the plan") == {"alpha:suite/0:camera:2"}     # metadata drift
    assert about("seed other than") == {"alpha:suite/0:camera:2"}          # seed mismatch
    assert about("consent") == {"custom:pick"}
    assert about("training") >= {"alpha"}
    assert any("manifest" in text for _, text in asked)  # the plan's own missing-evidence question
    assert brief.unsupported_claims == packet.unsupported_claims
    assert brief.warnings == packet.warnings and brief.missing_evidence


def test_brief_never_gives_a_verdict():
    plan = make_plan()
    inputs, _ = plant_defects(plan)
    brief = build_brief(build_packet(plan, inputs))
    markdown = to_markdown(brief_document(brief))
    assert "Not public-share-ready" in markdown and "LOCAL_PRIVATE" in markdown
    assert "not a pass/fail verdict" in markdown
    text = " ".join([*brief.headline, *brief.acceptance_discussion]).lower()
    for verdict in ("passed", "approved", "failed the review", "is deployable", "verdict: pass"):
        assert verdict not in text
    assert build_brief(build_packet(plan, inputs)).brief_digest == brief.brief_digest


def test_host_path_in_markdown_reference_is_redacted():
    plan = make_plan()
    inputs, _ = plant_defects(plan)
    brief = build_brief(build_packet(plan, inputs), packet_markdown_ref="/home/alice/runs/packet.md")
    assert "alice" not in brief.packet_markdown_ref
    assert any("redacted" in w for w in brief.warnings)
