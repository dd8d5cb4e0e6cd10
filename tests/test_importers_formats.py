"""Each harness format imports from a fixture in the harness's own shape: counts, statuses, identity."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from importers_support import HARNESS, make_plan, read_json, run_cli, write_plan
from worldflux_nb import load
from worldflux_nb.core.importers import FORMATS, ImportOptions, audit_input_from_frame, importer_for
from worldflux_nb.io.evidence_files import import_file
from worldflux_nb.models.evidence import AuditInput

PLAN = make_plan()


def imported(fmt: str, name: str, probe: str, **options) -> AuditInput:
    return import_file(FORMATS[fmt], HARNESS / name, plan=PLAN, probe_id=probe,
                       options=ImportOptions(**options))


def summary(audit: AuditInput) -> tuple[int, int, dict[str, int]]:
    rows = audit.episodes
    return (len(rows), sum(r["success"] is True for r in rows),
            dict(Counter(r["status"] for r in rows)))


def test_lerobot_legacy_layout_is_explicit_with_seeds_and_a_checked_percentage():
    audit = imported("lerobot", "lerobot_eval_info_legacy.json", "pusht")
    assert summary(audit) == (5, 3, {"completed": 5})
    assert audit.source.identity == "explicit"
    assert [(r["episode_index"], r["seed"]) for r in audit.episodes] == [(i, 1000 + i) for i in range(5)]
    # pc_success 60.0 agrees with 3/5, so nothing disagrees; NaN rewards become null, not NaN, and are
    # told in the source's notes: a NaN is not a secret, so nothing is listed as redacted.
    assert audit.source.reported.success_rate == 0.6 and audit.source.reported.discrepancies == []
    assert audit.episodes[4]["metadata"] == {"sum_reward": None, "max_reward": None}
    assert audit.redactions == []
    assert audit.source.notes == ["2 value(s) the harness wrote as NaN or infinity are kept as null (JSON holds "
                                  "no such number): per_episode[4].metadata.sum_reward, "
                                  "per_episode[4].metadata.max_reward"]
    assert audit.audit_digest == audit.computed_digest()
    assert audit.plan_digest == PLAN.plan_digest
    assert audit.source.files[0].name == "lerobot_eval_info_legacy.json"
    assert audit.source.files[0].digest.startswith("sha256:")


def test_harness_nan_values_are_a_source_note_in_the_packet_not_a_redaction(tmp_path: Path):
    """LeRobot writes NaN rewards and NaN aggregates: kept as null and told where a reader looks (the source's
    notes, the packet's warnings; an aggregate's NaN among what the harness reported), never as a secret."""
    from worldflux_nb.core.packet import build_packet

    body = json.loads((HARNESS / "lerobot_eval_info_multitask.json").read_text())
    for task in body["per_task"]:
        task["metrics"]["sum_rewards"] = ["@NAN@"] * len(task["metrics"]["successes"])
    body["overall"]["pc_success"] = "@NAN@"
    path = tmp_path / "eval_info.json"
    path.write_text(json.dumps(body).replace('"@NAN@"', "NaN"))
    audit = import_file(FORMATS["lerobot"], path, plan=PLAN, probe_id="libero", options=ImportOptions(
        harness_version="0.6.1"))
    assert all(row["metadata"]["sum_reward"] is None for row in audit.episodes)
    assert not [r for r in audit.redactions if r.kind == "not_a_finite_number"]
    note = next(n for n in audit.source.notes if "NaN or infinity" in n)
    assert note.startswith("7 value(s) the harness wrote as NaN or infinity are kept as null") and note.endswith(
        "per_task[1].metrics[1].sum_reward and 2 more"), note
    assert "overall.pc_success is not a number (nan)" in audit.source.reported.discrepancies
    packet = build_packet(PLAN, [audit])
    assert not [r for r in packet.redactions if r.kind == "not_a_finite_number"]
    assert any("NaN or infinity" in warning for warning in packet.warnings)


def test_lerobot_percentage_disagreement_is_noted(tmp_path: Path):
    data = json.loads((HARNESS / "lerobot_eval_info_legacy.json").read_text().replace("NaN", "null"))
    data["aggregated"]["pc_success"] = 100.0
    path = tmp_path / "eval_info.json"
    path.write_text(json.dumps(data))
    audit = import_file(FORMATS["lerobot"], path, plan=PLAN, probe_id="pusht")
    assert audit.source.reported.success_rate == 1.0
    assert any("success rate of 1.0000 but its rows give 0.6000 (3/5)" in line
               for line in audit.source.reported.discrepancies)


def test_lerobot_episode_counts_that_are_no_counts_are_said(tmp_path: Path):
    """A junk `n_episodes` is told among the discrepancies, never passed over as if absent."""
    body = json.loads((HARNESS / "lerobot_eval_info_multitask.json").read_text())
    body["overall"]["n_episodes"] = "seven" * 40
    body["per_group"]["libero_spatial"]["n_episodes"] = -2
    path = tmp_path / "eval_info.json"
    path.write_text(json.dumps(body))
    lines = import_file(FORMATS["lerobot"], path, plan=PLAN, probe_id="libero").source.reported.discrepancies
    assert "per_group.libero_spatial.n_episodes is not a count (-2)" in lines
    assert any(line.startswith("overall.n_episodes is not a count ('sevenseven") and len(line) < 120
               for line in lines)


def test_a_reported_rate_that_is_no_rate_is_said_in_a_few_digits(tmp_path: Path):
    """lbm_eval's success_rate of 1e306 reaches the packet as a short line, never as 300 digits."""
    body = json.loads((HARNESS / "results-2026-01-12T10-04-55.json").read_text())
    body["success_rate"] = 1e306
    path = tmp_path / "results-1.json"
    path.write_text(json.dumps(body))
    reported = import_file(FORMATS["lbm-eval"], path, plan=PLAN, probe_id="lbm").source.reported
    assert reported.success_rate is None
    assert ("the harness reports a success rate of 1e+306, which is not a rate (0 to 1); the rows are counted "
            "instead") in reported.discrepancies
    assert max(len(line) for line in reported.discrepancies) < 200


def test_lerobot_multi_task_outcome_k_is_initial_state_k_and_never_the_planned_one():
    audit = imported("lerobot", "lerobot_eval_info_multitask.json", "libero")
    assert summary(audit) == (7, 5, {"completed": 7})
    assert audit.source.identity == "inferred_from_order"  # no --harness-version: the order is not claimed
    assert audit.source.task_mapping == {"libero_spatial/0": "libero_spatial/0",
                                         "libero_spatial/3": "libero_spatial/3"}
    by_task = {}
    for row in audit.episodes:
        by_task.setdefault(row["task_id"], []).append((row["episode_index"], row["success"], row["seed"]))
    # Outcome k ran initial state k, whatever this (old-style) plan sampled: 5, 6, 7 are never invented.
    assert by_task["libero_spatial/0"] == [(0, True, None), (1, False, None), (2, True, None)]
    assert by_task["libero_spatial/3"] == [(0, False, None), (1, True, None), (2, True, None), (3, True, None)]
    claimed = imported("lerobot", "lerobot_eval_info_multitask.json", "libero", harness_version="0.6.1")
    assert claimed.source.identity == "harness_order" and "0.6.1" in claimed.source.identity_basis
    assert claimed.episodes == audit.episodes


def test_lerobot_multi_task_walks_the_plan_once_not_once_per_task(monkeypatch):
    """Each per_task entry once walked every plan cell (300 tasks against a 100k-cell plan: 6.4 s)."""
    from worldflux_nb.core.importers import common

    walks = []
    walk = common.planned_pairs
    monkeypatch.setattr(common, "planned_pairs", lambda *a: walks.append(a) or walk(*a))
    audit = imported("lerobot", "lerobot_eval_info_multitask.json", "libero")
    assert len({row["task_id"] for row in audit.episodes}) == 2 and len(walks) == 1


def test_lerobot_task_names_are_mapped_explicitly(tmp_path: Path):
    data = read_json(HARNESS / "lerobot_eval_info_multitask.json")
    data["per_task"][0]["task_group"] = "spatial"
    path = tmp_path / "eval_info.json"
    path.write_text(json.dumps(data))
    audit = import_file(FORMATS["lerobot"], path, plan=PLAN, probe_id="libero",
                        options=ImportOptions(task_map={"spatial/0": "libero_spatial/0"}))
    assert audit.source.task_mapping["spatial/0"] == "libero_spatial/0"
    assert sum(r["task_id"] == "libero_spatial/0" for r in audit.episodes) == 3


def test_vla_eval_failure_reasons_map_to_statuses_and_run_seed_to_every_row():
    audit = imported("vla-eval", "libero_spatial_aggregate.json", "libero")
    # connection_closed, timeout (the model server not answering act()) and exception are all faults
    # outside the policy's actions.
    assert summary(audit) == (6, 2, {"completed": 3, "infra_failure": 3})
    assert audit.source.identity == "explicit"
    assert {r["seed"] for r in audit.episodes} == {7} and audit.source.reported.run_seed == 7
    outcome = {(r["task_id"], r["episode_index"]): (r["status"], r["success"]) for r in audit.episodes}
    assert outcome[("libero_spatial/0", 2)] == ("infra_failure", None)
    assert outcome[("libero_spatial/3", 1)] == ("infra_failure", None)
    assert outcome[("libero_spatial/3", 2)] == ("infra_failure", None)
    # The reason is kept verbatim with its detail; the traceback's home path is redacted and reported.
    reasons = {(r["task_id"], r["episode_index"]): r.get("failure_reason") for r in audit.episodes}
    assert reasons[("libero_spatial/3", 1)] == "timeout: timeout=60.0s: act() did not answer"
    detail = reasons[("libero_spatial/3", 2)]
    assert detail.startswith("exception: Traceback")
    assert "/home/operator" not in detail and "[REDACTED:home_path]" in detail
    assert any(r.kind == "home_path" for r in audit.redactions)
    assert "harness 0.4.1" in audit.source.format_version
    assert audit.source.reported.episodes_requested == 6 and audit.source.reported.discrepancies == []


def test_lbm_eval_pending_and_scenario_index():
    audit = imported("lbm-eval", "results-2026-01-12T10-04-55.json", "lbm")
    assert summary(audit) == (5, 2, {"completed": 3, "infra_failure": 1, "pending": 1})
    pending = [r for r in audit.episodes if r["status"] == "pending"]
    assert [(r["task_id"], r["episode_index"], r["success"]) for r in pending] == \
        [("BimanualStackPlatesOnTableFromTable", 2, None)]
    crashed = next(r for r in audit.episodes if r["status"] == "infra_failure")
    assert crashed["failure_reason"].startswith("Traceback") and "hunter2secret" not in crashed["failure_reason"]
    assert {r.kind for r in audit.redactions} >= {"password_in_url", "home_path"}
    assert audit.source.identity == "explicit"
    reported = audit.source.reported
    assert (reported.episodes_requested, reported.episodes_evaluated, reported.success_rate) == (5, 4, 0.5)
    assert reported.partial is True and reported.discrepancies == []


def test_maniskill_keys_are_episode_ids_and_task_comes_from_the_option():
    audit = imported("maniskill", "episode_results.json", "maniskill")
    assert summary(audit) == (4, 2, {"completed": 4})
    assert [r["episode_index"] for r in audit.episodes] == [0, 1, 2, 3]
    assert {r["task_id"] for r in audit.episodes} == {"PickCube-v1"}
    assert audit.episodes[0]["metadata"]["elapsed_steps"] == 41
    audit = imported("maniskill", "episode_results.json", "libero", task="libero_spatial/3")
    assert {r["task_id"] for r in audit.episodes} == {"libero_spatial/3"}


def test_generic_jsonl_keeps_reruns_and_out_of_plan_rows_and_redacts_signed_urls():
    audit = imported("jsonl", "evidence.jsonl", "libero")
    assert summary(audit) == (6, 3, {"completed": 4, "timeout": 1, "infra_failure": 1})
    keys = [(r["task_id"], r["episode_index"]) for r in audit.episodes]
    assert keys.count(("libero_spatial/3", 0)) == 2  # a re-run is evidence, not an error
    assert ("libero_spatial/3", 40) in keys  # outside the plan, kept for the packet to judge
    note = audit.episodes[2]["metadata"]["note"]
    assert "X-Amz-Signature" not in note and "[REDACTED:signed_url_query]" in note
    assert audit.episodes[0]["metadata"]["control_frequency_hz"] == 20


def test_generic_csv_with_spread_metadata_columns():
    audit = imported("csv", "evidence.csv", "libero")
    assert summary(audit) == (4, 2, {"completed": 2, "timeout": 1, "pending": 1})
    first = audit.episodes[0]
    assert first["metadata"] == {"environment_version": "libero-local", "control_frequency_hz": 20}
    assert first["level"] == 0 and first["seed"] is None
    assert audit.episodes[2]["success"] is None


def test_csv_metadata_as_one_json_column(tmp_path: Path):
    path = tmp_path / "e.csv"
    path.write_text('task_id,episode_index,success,metadata\n'
                    'libero_spatial/0,1,true,"{""environment_version"": ""libero-local""}"\n')
    audit = import_file(FORMATS["csv"], path, plan=PLAN, probe_id="libero")
    row = audit.episodes[0]
    assert (row["axis"], row["level"], row["status"]) == ("nominal", 0, "completed")
    assert row["metadata"] == {"environment_version": "libero-local"}


def test_dataframe_import_matches_jsonl_import():
    lines = (HARNESS / "evidence.jsonl").read_text().splitlines()
    frame = pd.DataFrame([json.loads(line) for line in lines])
    from_frame = audit_input_from_frame(frame, PLAN, "libero")
    from_file = imported("jsonl", "evidence.jsonl", "libero")
    assert from_frame.source.format_version == "pandas DataFrame"
    strip = lambda rows: [{k: v for k, v in r.items()} for r in rows]  # noqa: E731
    assert strip(from_frame.episodes) == strip(from_file.episodes)


def test_perturbation_cells_need_axis_and_level_when_ambiguous(tmp_path: Path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"task_id": "libero_spatial/0", "episode_index": 0, "success": true}\n')
    with pytest.raises(Exception, match="give --axis and --level"):
        import_file(FORMATS["jsonl"], path, plan=PLAN, probe_id="libero-plus")
    audit = import_file(FORMATS["jsonl"], path, plan=PLAN, probe_id="libero-plus",
                        options=ImportOptions(axis="light_conditions", level=4))
    assert (audit.episodes[0]["axis"], audit.episodes[0]["level"]) == ("light_conditions", 4)


def test_registry_format_names_are_aliases():
    assert importer_for("lerobot-eval-info") is FORMATS["lerobot"]
    assert importer_for("vla_eval") is FORMATS["vla-eval"]
    assert importer_for("maniskill-episode-results") is FORMATS["maniskill"]
    assert importer_for("nonsense") is None


def test_cli_import_writes_a_sealed_loadable_audit_input(tmp_path: Path):
    plan = write_plan(tmp_path)
    out = tmp_path / "audit.json"
    result = run_cli(["audit", "import", "lerobot", HARNESS / "lerobot_eval_info_multitask.json",
                      "--plan", plan, "--probe", "libero", "--output", out])
    assert result.code == 0, result.stderr
    data = read_json(out)
    assert data["schema_version"] == "worldflux_nb.audit_input.v1"
    assert data["privacy"] == "LOCAL_PRIVATE"
    assert data["plan_digest"] == PLAN.plan_digest and data["probe_id"] == "libero"
    assert data["source"]["identity"] == "inferred_from_order"
    assert load(out).audit_digest == data["audit_digest"]
    again = tmp_path / "again.json"
    run_cli(["audit", "import", "lerobot", HARNESS / "lerobot_eval_info_multitask.json",
             "--plan", plan, "--probe", "libero", "--output", again])
    assert again.read_bytes() == out.read_bytes()  # identical inputs, identical bytes


def test_cli_options_task_map_task_axis_level(tmp_path: Path):
    plan = write_plan(tmp_path)
    out = tmp_path / "audit.json"
    result = run_cli(["audit", "import", "maniskill", HARNESS / "episode_results.json", "--plan", plan,
                      "--probe", "libero-plus", "--task", "PickCube", "--task-map",
                      "PickCube=libero_spatial/0", "--axis", "camera_viewpoints", "--level", "3",
                      "--output", out])
    assert result.code == 0, result.stderr
    rows = read_json(out)["episodes"]
    assert {(r["task_id"], r["axis"], r["level"]) for r in rows} == {("libero_spatial/0", "camera_viewpoints", 3)}
    assert read_json(out)["source"]["task_mapping"] == {"PickCube": "libero_spatial/0"}


def test_audit_input_displays_in_a_notebook():
    audit = imported("vla-eval", "libero_spatial_aggregate.json", "libero")
    bundle = audit._repr_mimebundle_()
    assert "LOCAL_PRIVATE" in bundle["text/markdown"]
    assert "infra_failure" in bundle["text/markdown"]
    assert "<script" not in bundle["text/html"]


def test_large_generic_import_stays_fast_and_exact():
    import time

    n = 50_000
    lines = "\n".join(json.dumps({"task_id": "libero_spatial/0", "episode_index": i, "success": i % 3 == 0,
                                  "metadata": {"environment_version": "libero-local"}}) for i in range(n))
    started = time.monotonic()
    audit = FORMATS["jsonl"](lines, source_name="big.jsonl", plan=PLAN, probe_id="libero")
    assert time.monotonic() - started < 30
    assert len(audit.episodes) == n
    assert sum(r["success"] for r in audit.episodes) == len(range(0, n, 3))
    assert audit.episodes[-1]["episode_index"] == n - 1


def test_a_harness_records_nested_fields_flattened_not_dropped(tmp_path: Path):
    """ManiSkill's episode_results.json entry with a nested field keeps it as dotted keys (issue 11)."""
    body = json.loads((HARNESS / "episode_results.json").read_text())
    first = next(iter(body))
    body[first]["info"] = {"grasp": {"ok": True}, "steps": [3, 4], "empty": {}}
    path = tmp_path / "episode_results.json"
    path.write_text(json.dumps(body))
    audit = import_file(FORMATS["maniskill"], path, plan=PLAN, probe_id="maniskill")
    kept = audit.episodes[0]["metadata"]
    assert {k: kept[k] for k in kept if k.startswith("info.")} == {
        "info.grasp.ok": True, "info.steps.0": 3, "info.steps.1": 4, "info.empty": None}
    body[first]["reward"] = "@HUGE@"
    path.write_text(json.dumps(body).replace('"@HUGE@"', "1e999"))  # overflows to infinity when read
    audit = import_file(FORMATS["maniskill"], path, plan=PLAN, probe_id="maniskill")
    assert audit.episodes[0]["metadata"]["reward"] is None
    assert not audit.redactions and any("NaN or infinity" in n and n.endswith(".metadata.reward")
                                        for n in audit.source.notes)
