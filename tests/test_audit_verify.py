"""Evidence bound to its sources, through the command line: `audit verify`, `packet --verify-source`,
the same harness file given twice, the reviewer's plan receipt and the plan's infra base rate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hardening_support import cli, cli_ok
from worldflux_nb.io.artifacts import artifact_json, load
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.evidence_table import EvidenceTable


def _resealed_edit(flow, probe: str, out: Path) -> Path:
    """The audit input with its first failure turned into a success and its digest recomputed."""
    audit = load(flow.audit(probe), AuditInput)
    rows = [dict(r) for r in audit.episodes.to_pylist()]
    first = next(i for i, r in enumerate(rows) if r["success"] is False)
    rows[first]["success"] = True
    edited = audit.model_copy(update={"episodes": EvidenceTable.build(rows), "audit_digest": None}).sealed()
    out.write_text(artifact_json(edited), encoding="utf-8")
    assert load(out, AuditInput).digest_problem() is None  # the reseal itself is not detectable
    return out


def test_verify_agrees_disagrees_and_refuses(reference_flow, tmp_path):
    flow = reference_flow
    probe = flow.probes[0]
    agreed = cli(["audit", "verify", flow.audit(probe), flow.evidence(probe), "--plan", flow.plan])
    assert agreed.code == 0 and agreed.stdout.startswith("agrees:")

    edited = _resealed_edit(flow, probe, tmp_path / "edited.json")
    differs = cli(["audit", "verify", edited, flow.evidence(probe), "--plan", flow.plan])
    assert differs.code == 1 and "disagrees" in differs.stdout and "1 row differ" in differs.stdout
    assert "success True (file: False)" in differs.stdout

    other = flow.evidence(flow.probes[1]) if len(flow.probes) > 1 else None
    if other is not None:
        wrong = cli(["audit", "verify", flow.audit(probe), other, "--plan", flow.plan])
        assert wrong.code in (1, 2)
    missing = cli(["audit", "verify", flow.audit(probe), tmp_path / "nope.jsonl", "--plan", flow.plan])
    assert missing.code == 2 and "nope.jsonl" in missing.stderr and "\n" == missing.stderr[-1]


def test_packet_records_verification_and_the_brief_asks(reference_flow, tmp_path):
    flow = reference_flow
    probe = flow.probes[0]
    edited = _resealed_edit(flow, probe, tmp_path / "edited.json")
    args = ["--audit-input", f"{probe}={edited}"]
    for other in flow.probes[1:]:
        args += ["--audit-input", f"{other}={flow.audit(other)}"]
    out = tmp_path / "packet.json"
    cli_ok(["eval-portfolio", "packet", "--plan", flow.plan, *args, "--verify-source",
            f"{probe}={flow.evidence(probe)}", "--output", tmp_path / "packet.md", "--packet-json", out])
    packet = json.loads(out.read_text())
    checks = {c["probe_id"]: c["verified"] for c in packet["source_checks"]}
    assert checks[probe] == "disagrees"
    assert all(checks[p] == "not_verified" for p in flow.probes[1:])
    assert packet["findings"][0]["kind"] == "source_disagrees" or any(
        f["kind"] == "source_disagrees" for f in packet["findings"])
    cli_ok(["eval-portfolio", "reviewer-brief", "--packet", out, "--output", tmp_path / "b.md",
            "--brief-json", tmp_path / "b.json"])
    brief = json.loads((tmp_path / "b.json").read_text())
    asked = " ".join(q["question"] for q in brief["reviewer_questions"])
    assert "differ from a fresh import" in asked
    if len(flow.probes) > 1:
        assert "not re-imported from their harness files" in asked
    assert "Evidence bound to its sources" in (tmp_path / "packet.md").read_text()

    # A harness file that is not the source of any audit input of the probe is refused.
    refused = cli(["eval-portfolio", "packet", "--plan", flow.plan, *args, "--verify-source",
                   f"{probe}={flow.plan}", "--output", tmp_path / "p2.md", "--packet-json", tmp_path / "p2.json"])
    assert refused.code == 2 and "not the harness file" in refused.stderr
    assert not (tmp_path / "p2.json").exists()


def test_same_harness_file_under_two_names_is_refused(reference_flow, tmp_path):
    flow = reference_flow
    probe = flow.probes[0]
    copy = tmp_path / "renamed.jsonl"
    shutil.copyfile(flow.evidence(probe), copy)
    cli_ok(["audit", "import", "jsonl", copy, "--plan", flow.plan, "--probe", probe,
            "--output", tmp_path / "again.json"])
    result = cli(["eval-portfolio", "packet", "--plan", flow.plan, *flow.audit_args(),
                  "--audit-input", f"{probe}={tmp_path / 'again.json'}",
                  "--output", tmp_path / "p.md", "--packet-json", tmp_path / "p.json"])
    assert result.code == 2 and "same content" in result.stderr and "imported twice" in result.stderr
    assert not (tmp_path / "p.json").exists()


def test_plan_receipt_anchors_the_freeze(reference_flow, tmp_path):
    flow = reference_flow
    receipt = tmp_path / "receipt.json"
    cli_ok(["eval-portfolio", "plan-receipt", "--plan", flow.plan, "--received-by", "reviewer",
            "--output", receipt])
    out = tmp_path / "packet.json"
    cli_ok(["eval-portfolio", "packet", "--plan", flow.plan, *flow.audit_args(), "--plan-receipt", receipt,
            "--output", tmp_path / "p.md", "--packet-json", out])
    anchor = json.loads(out.read_text())["freeze_anchor"]
    assert anchor["anchored_by"] == "reviewer_receipt" and "reviewer" in anchor["detail"]

    other = json.loads(receipt.read_text())
    other["plan_digest"] = "sha256:" + "0" * 64
    other.pop("receipt_digest")
    from worldflux_nb.models.receipt import PlanReceipt

    forged = tmp_path / "forged.json"
    forged.write_text(artifact_json(PlanReceipt.model_validate(other).sealed()), encoding="utf-8")
    refused = cli(["eval-portfolio", "packet", "--plan", flow.plan, *flow.audit_args(), "--plan-receipt", forged,
                   "--output", tmp_path / "q.md", "--packet-json", tmp_path / "q.json"])
    assert refused.code == 2 and "plan_digest" in refused.stderr and "another plan" in refused.stderr


def test_plan_declares_an_infra_base_rate(reference_flow, tmp_path):
    out = tmp_path / "plan.json"
    cli_ok(["eval-portfolio", "plan", "--profile", reference_flow.profile, "--seed", "1234",
            "--infra-base-rate", "0.03", "--output", out])
    from worldflux_nb.models.plan import ProtocolPlan

    plan = load(out, ProtocolPlan)
    assert plan.infra_base_rate == 0.03 and plan.digest_problem() is None
    bad = cli(["eval-portfolio", "plan", "--profile", reference_flow.profile, "--seed", "1234",
               "--infra-base-rate", "1.5", "--output", tmp_path / "bad.json"])
    assert bad.code == 2 and "--infra-base-rate" in bad.stderr


def test_verify_reads_under_the_import_limits_and_names_the_flag(reference_flow):
    """`audit verify` takes `--max-evidence-rows` as `audit import` does (the audit input's rows and the
    harness file's cap), and `--max-bytes` for the harness file; each refusal names its flag."""
    flow = reference_flow
    probe = flow.probes[0]
    base = ["audit", "verify", flow.audit(probe), flow.evidence(probe), "--plan", flow.plan]
    rows = len(load(flow.audit(probe), AuditInput).episodes)
    refused = cli([*base, "--max-evidence-rows", rows - 1])
    assert refused.code == 2 and f"holds {rows:,} rows, over the limit of {rows - 1:,}; raise it with " \
                                 "--max-evidence-rows" in refused.stderr
    refused = cli([*base, "--max-bytes", 100])
    assert refused.code == 2 and "over the 100-byte limit; raise it with --max-bytes" in refused.stderr
    assert cli([*base, "--max-evidence-rows", rows]).code == 0
