"""The optional evidence columns and the audit source header of docs/evidence-table.md: accepted,
sealed, carried through a file round trip and into the conformance rows; older files still load."""

from __future__ import annotations

import json

import pytest

from test_conformance import make_plan, perfect_rows
from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.core.importers.common import Redactor, assemble
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_from_json, artifact_json
from worldflux_nb.models.evidence import AuditInput, ReportedSummary

OPTIONAL = {"failure_reason": "gripper slipped", "run_id": "run-7", "recorded_at": "2026-01-01T00:00:00Z",
            "harness_task": "pick up the black bowl"}


def sealed(rows, **header):
    plan = make_plan()
    return plan, assemble(rows, plan=plan, probe_id="alpha", source="evidence.jsonl", importer="generic",
                          format_version="generic JSONL", identity=header.pop("identity", "explicit"),
                          task_mapping={}, notes=[], redactor=Redactor(), **header)


def test_optional_columns_reach_the_conformance_rows_and_nulls_are_left_out():
    plan = make_plan()
    rows = perfect_rows(plan, "alpha")
    rows[0].update(OPTIONAL)
    rows[1].update({name: None for name in OPTIONAL})
    plan, audit = sealed(rows)
    assert set(OPTIONAL) <= set(audit.episodes[0])
    assert not set(OPTIONAL) & set(audit.episodes[1])
    frame = check_conformance(plan, [audit]).rows
    assert frame.loc[0, list(OPTIONAL)].tolist() == list(OPTIONAL.values())
    assert frame.loc[1:, list(OPTIONAL)].isna().all().all()


def test_header_fields_survive_a_file_round_trip_and_are_sealed():
    plan = make_plan()
    rows = perfect_rows(plan, "alpha")
    rows[2]["run_id"] = "attempt-2"
    reported = ReportedSummary(episodes_requested=50, episodes_evaluated=len(rows), success_rate=0.5,
                               partial=False, run_seed=7, discrepancies=["the harness reports 50 episodes"])
    plan, audit = sealed(rows, identity="harness_order", identity_basis="vla-eval 0.3 loop order",
                         evidence_kind="log", reported=reported)
    loaded = artifact_from_json(json.loads(artifact_json(audit)), "audit_input.json")
    assert loaded == audit
    assert loaded.source.reported.run_seed == 7 and loaded.source.evidence_kind == "log"
    tampered = json.loads(artifact_json(audit))
    tampered["source"]["reported"]["success_rate"] = 0.9
    with pytest.raises(InputError, match="audit_digest"):
        artifact_from_json(tampered, "audit_input.json")


def test_a_file_without_the_new_fields_still_loads_with_their_defaults():
    plan = make_plan()
    data = {"plan_digest": plan.plan_digest, "probe_id": "alpha", "episodes": perfect_rows(plan, "alpha"),
            "source": {"importer": "generic", "format_version": "1", "identity": "explicit"}}
    audit = AuditInput.model_validate(data).sealed()
    loaded = artifact_from_json(json.loads(artifact_json(audit)), "audit_input.json")
    assert loaded.source.evidence_kind == "structured" and loaded.source.identity_basis is None
    assert loaded.source.reported == ReportedSummary()


@pytest.mark.parametrize("change, field", [
    ({"failure_reason": "x" * 501}, "failure_reason"), ({"run_id": ""}, "run_id"),
    ({"recorded_at": 5}, "recorded_at"), ({"harness_task": ["a"]}, "harness_task"),
])
def test_bad_optional_values_are_refused_naming_the_row_and_field(change, field):
    plan = make_plan()
    rows = perfect_rows(plan, "alpha")
    rows[3].update(change)
    with pytest.raises(InputError, match=rf"episodes\[3\]\.{field}"):
        sealed(rows)


def test_reported_values_are_checked():
    with pytest.raises(ValueError):
        ReportedSummary(success_rate=1.5)
    with pytest.raises(ValueError):
        ReportedSummary(episodes_requested=-1)
