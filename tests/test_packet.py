"""The eval packet: planted defects reported exactly, strict mode, digests, determinism."""

from __future__ import annotations

import json

import pytest

from test_conformance import audit, make_plan, perfect_rows, plant_defects
from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.core.packet import FLAGS_PER_KIND, build_packet
from worldflux_nb.errors import StrictModeFailure
from worldflux_nb.io.artifacts import artifact_from_json
from worldflux_nb.render.markdown import to_markdown
from worldflux_nb.render.packet_docs import packet_document

CONTRACT_FIELDS = {"cell_id", "probe_id", "task_id", "axis", "level", "planned", "matched", "missing",
                   "successes", "denominator", "success_rate", "ci_low", "ci_high", "underpowered"}


def test_packet_reports_planted_counts_and_contract_fields():
    plan = make_plan()
    inputs, expected = plant_defects(plan)
    packet = build_packet(plan, inputs)
    data = json.loads(json.dumps(packet.to_json_dict()))
    c = data["conformance"]
    assert (c["missing"], c["out_of_protocol"], c["seed_mismatches"], c["metadata_mismatches"],
            c["duplicates"], c["infra_failures"]) == (2, 2, 1, 1, 2, 1)
    assert c["matched"] + c["missing"] == c["planned_episodes"] == plan.planned_episodes
    assert c["digest_mismatches"][0]["probe_id"] == "beta"
    assert all(CONTRACT_FIELDS <= set(cell) for cell in data["cells"])
    assert sum(cell["planned"] for cell in data["cells"]) == c["planned_episodes"]
    assert sum(cell["missing"] for cell in data["cells"]) == 2
    for key in ("plan_digest", "denominator_policies", "unsupported_claims",
                "training_exposure_caveats", "next_falsification_axes", "provenance"):
        assert key in data
    assert {p["policy"] for p in data["denominator_policies"]} == {"all_planned", "attempted", "completed_only"}
    assert data["privacy"] == "LOCAL_PRIVATE" and packet.digest_problem() is None
    # The digest-mismatched input's rows never reach a score: beta's 6 planned episodes come only
    # from the accepted input (one infra failure, so 5 in the attempted denominator).
    beta = {p["policy"]: p for p in data["denominator_policies"] if p["probe_id"] == "beta"}
    assert beta["all_planned"]["denominator"] == 6 and beta["attempted"]["denominator"] == 5
    kinds = {f["category"] for f in data["flagged_episodes"]}
    assert kinds == {"out_of_protocol", "seed_mismatch", "metadata_mismatch", "duplicate",
                     "infra_failure", "missing", "unverified"}
    # Gaps are visible warnings when not strict.
    assert any("strict-missing-evidence" in w for w in data["warnings"])
    assert any("plan digest" in w for w in data["warnings"])
    assert any("consent" in w for w in data["warnings"])
    # Round trip through the loader with digest verification.
    assert artifact_from_json(data, "packet.json") == packet


def test_policies_move_as_documented():
    plan = make_plan()
    rows = perfect_rows(plan, "beta", succeed=lambda i: True)
    rows[0] = dict(rows[0], status="infra_failure", success=None)
    rows[1] = dict(rows[1], status="pending", success=None)
    del rows[2]
    packet = build_packet(plan, [audit(plan, "beta", rows)])
    beta = {p.policy: p for p in packet.denominator_policies if p.probe_id == "beta"}
    assert (beta["all_planned"].successes, beta["all_planned"].denominator) == (3, 6)
    assert beta["attempted"].denominator == 5
    assert beta["completed_only"].denominator == 3 and beta["completed_only"].optimistic
    assert beta["completed_only"].success_rate == 1.0


def test_strict_mode_raises_on_missing_and_on_underpowered():
    plan = make_plan()
    inputs, _ = plant_defects(plan)
    with pytest.raises(StrictModeFailure) as info:
        build_packet(plan, inputs, strict_missing_evidence=True)
    assert any("missing" in r for r in info.value.reasons)
    complete = [audit(plan, p.probe_id, perfect_rows(plan, p.probe_id)) for p in plan.selected_probes]
    assert build_packet(plan, complete, strict_missing_evidence=True).strict_missing_evidence
    tight = make_plan(half_width=0.05)
    complete = [audit(tight, p.probe_id, perfect_rows(tight, p.probe_id)) for p in tight.selected_probes]
    with pytest.raises(StrictModeFailure) as info:
        build_packet(tight, complete, strict_missing_evidence=True)
    assert any("underpowered" in r for r in info.value.reasons)
    assert build_packet(tight, complete).underpowered_cells


def test_grades_and_unsupported_claims():
    plan = make_plan()
    inputs = [audit(plan, "alpha", perfect_rows(plan, "alpha"), identity="inferred_from_order"),
              audit(plan, "custom:pick", [dict(r, seed=None) for r in perfect_rows(plan, "custom:pick")])]
    packet = build_packet(plan, inputs)
    grades = {s.probe_id: s.grade for s in packet.probe_summaries}
    assert grades == {"alpha": "C", "beta": "ungraded", "custom:pick": "B"}
    claims = " ".join(packet.unsupported_claims)
    assert "beta" in claims and "inferred from row order" in claims and "training exposure" in claims
    assert packet.missing_cells == ["beta:suite/0:light:dim"]
    complete = [audit(plan, p.probe_id, perfect_rows(plan, p.probe_id)) for p in plan.selected_probes]
    assert {s.grade for s in build_packet(plan, complete).probe_summaries} == {"A"}


def test_same_inputs_same_packet_and_interval_choice():
    plan = make_plan()
    inputs, _ = plant_defects(plan)
    a, b = build_packet(plan, inputs), build_packet(plan, inputs)
    assert a.packet_digest == b.packet_digest
    assert a.provenance.result_digest == b.provenance.result_digest
    assert set(a.provenance.input_digests) == {"alpha", "beta", "custom:pick", "beta+2"}
    cp = build_packet(plan, inputs, interval="clopper_pearson")
    assert cp.provenance.interval_method == "clopper_pearson"
    assert cp.provenance.result_digest != a.provenance.result_digest
    # Exact intervals are never narrower than Wilson's for the same cell.
    for w, e in zip(a.cells, cp.cells):
        assert e.ci_high - e.ci_low >= w.ci_high - w.ci_low - 1e-12


def test_a_supplied_conformance_result_gives_the_same_packet():
    plan = make_plan()
    inputs, _ = plant_defects(plan)
    checked = check_conformance(plan, inputs)
    assert build_packet(plan, inputs, conformance=checked) == build_packet(plan, inputs)


def test_flagged_episodes_are_bounded_per_kind():
    plan = make_plan(episodes=40)
    rows = perfect_rows(plan, "alpha")
    outside = [dict(rows[0], episode_index=1000 + i) for i in range(FLAGS_PER_KIND + 30)]
    packet = build_packet(plan, [audit(plan, "alpha", rows + outside)])
    shown = [f for f in packet.flagged_episodes if f.category == "out_of_protocol"]
    assert len(shown) == FLAGS_PER_KIND
    missing = plan.planned_episodes - len(rows)
    assert packet.flagged_episodes_truncated == 30 + max(0, missing - FLAGS_PER_KIND)
    markdown = to_markdown(packet_document(packet))
    assert "LOCAL_PRIVATE" in markdown and "further flagged episodes" in markdown


def test_intervals_are_labelled_at_the_plans_confidence():
    from worldflux_nb.render.explorer import Explorer

    plan = make_plan()
    targets = plan.power_targets.model_copy(update={"confidence": 0.9})
    plan = plan.model_copy(update={"power_targets": targets}).sealed()
    inputs, _ = plant_defects(plan)
    packet = build_packet(plan, inputs)
    assert packet.provenance.interval_confidence == 0.9
    text = to_markdown(packet_document(packet))
    assert "90% interval" in text and "95% interval" not in text
    assert Explorer(packet).data["interval_label"] == "90% interval"
    # A packet sealed before the level was recorded loads and says "interval" without a number.
    legacy = packet.model_dump(mode="json")
    del legacy["provenance"]["interval_confidence"]
    legacy["packet_digest"] = None
    old = type(packet).model_validate(legacy).sealed()
    assert "% interval" not in to_markdown(packet_document(old))


def test_the_seal_and_the_file_read_the_cells_as_pydantic_dumps_them():
    """The packet seals and writes its cells without dumping them (EvalPacket.to_json_dict,
    Artifact.sealed_with): the digest and the file are those of pydantic's own dump."""
    from worldflux_nb.io.artifacts import artifact_bytes
    from worldflux_nb.io.files import json_text
    from worldflux_nb.models.digest import digest_of
    from worldflux_nb.models.packet import EvalPacket

    plan = make_plan()
    inputs, _ = plant_defects(plan)
    for packet in (build_packet(plan, inputs), build_packet(plan, inputs, interval="clopper_pearson")):
        dumped = packet.model_dump(mode="json")
        assert list(packet.to_json_dict().items()) == list(dumped.items())
        assert packet.packet_digest == digest_of(dumped, without="packet_digest")
        assert artifact_bytes(packet) == json_text(dumped).encode("utf-8")
        again = EvalPacket.model_validate(json.loads(artifact_bytes(packet)))  # cells validated, not trusted
        assert again.to_json_dict() == dumped and again.digest_problem() is None
