"""The bad-input catalogue: every hostile or broken input is refused the same way.

Exit 2, exactly one line on stderr naming the file and the field, no traceback, nothing written and
pre-existing outputs untouched (same bytes, same mtime).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import REFERENCE_PROFILE_ARGS
from hardening_support import Flow, cli, prepare, snapshot

from worldflux_nb.models.digest import digest_of



@pytest.fixture()
def golden(reference_flow: Flow) -> Flow:
    return reference_flow


# ------------------------------------------------------------------------------------------------
# Ways to break a file
# ------------------------------------------------------------------------------------------------

def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def dump(value: Any, path: Path) -> Path:
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    return path


def reseal(data: dict[str, Any], field: str) -> dict[str, Any]:
    """Recompute a digest after an edit, so the edit itself (not the digest) is what gets refused."""
    return {**data, field: digest_of(data, without=field)}


def text_file(dst: Path, text: str) -> Path:
    dst.write_text(text, encoding="utf-8")
    return dst


def truncated(src: Path, dst: Path) -> Path:
    text = src.read_text(encoding="utf-8")
    dst.write_text(text[: len(text) // 2], encoding="utf-8")
    return dst


def not_utf8(dst: Path) -> Path:
    dst.write_bytes(b'{"profile_id": "caf\xe9 \xff\xfe"}\n')
    return dst


def oversized(dst: Path) -> Path:
    """A sparse file past the 512 MiB input limit: instant to make, refused before it is read."""
    with dst.open("wb") as handle:
        handle.truncate(600 * 1024 * 1024)
    return dst


def symlink_loop(dst: Path) -> Path:
    other = dst.with_name(dst.name + ".loop")
    dst.symlink_to(other)
    other.symlink_to(dst)
    return dst


def edited(src: Path, dst: Path, edit: Callable[[dict[str, Any]], None], digest: str | None) -> Path:
    data = load(src)
    edit(data)
    return dump(reseal(data, digest) if digest else data, dst)


def profile_args(**changes: str | None) -> list[str]:
    """The reference profile flags with some values replaced (None drops the flag)."""
    args = list(REFERENCE_PROFILE_ARGS)
    for flag, value in changes.items():
        name = "--" + flag.replace("_", "-")
        i = args.index(name)
        if value is None:
            del args[i: i + 2]
        else:
            args[i + 1] = value
    return args


# ------------------------------------------------------------------------------------------------
# The catalogue
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    # Builds the bad input inside the run folder and returns the command line.
    argv: Callable[[Flow, Path], list[Any]]
    file: str | None  # the file name the message must carry (None for a command-line flag)
    field: str | None  # a regular expression for the field (None: the whole file is at fault)


def plan_cmd(plan: Path, d: Path) -> list[Any]:
    return ["eval-portfolio", "render-run-sheet", "--plan", plan, "--output", d / "out.md",
            "--run-sheet-json", d / "out.json"]


def plan_from_profile(profile: Path, d: Path, *extra: Any) -> list[Any]:
    return ["eval-portfolio", "plan", "--profile", profile, "--seed", "1234", "--seed-source",
            "operator_supplied", *extra, "--output", d / "out.json"]


def import_cmd(fmt: str, source: Path, f: Flow, d: Path, probe: str | None = None, *extra: Any) -> list[Any]:
    return ["audit", "import", fmt, source, "--plan", d / "plan.json", "--probe",
            probe or f.probes[0], *extra, "--output", d / "out.json"]


def packet_cmd(f: Flow, d: Path, audit_args: list[str]) -> list[Any]:
    return ["eval-portfolio", "packet", "--plan", d / "plan.json", *audit_args,
            "--output", d / "out.md", "--packet-json", d / "out.json"]


def brief_cmd(packet: Path, d: Path) -> list[Any]:
    return ["eval-portfolio", "reviewer-brief", "--packet", packet, "--packet-markdown-ref",
            d / "packet.md", "--output", d / "out.md", "--brief-json", d / "out.json"]


def first_row(f: Flow, d: Path) -> dict[str, Any]:
    line = (d / f.evidence(f.probes[0]).name).read_text(encoding="utf-8").splitlines()[0]
    return json.loads(line)


def jsonl_with(f: Flow, d: Path, name: str, **changes: Any) -> Path:
    """The first probe's evidence with the first row changed (a value of ... deletes the field)."""
    lines = (d / f.evidence(f.probes[0]).name).read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    for key, value in changes.items():
        if value is ...:
            row.pop(key, None)
        else:
            row[key] = value
    lines[0] = json.dumps(row)
    (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d / name


def jsonl_raw_first(f: Flow, d: Path, name: str, first: str) -> Path:
    lines = (d / f.evidence(f.probes[0]).name).read_text(encoding="utf-8").splitlines()
    (d / name).write_text("\n".join([first, *lines[1:]]) + "\n", encoding="utf-8")
    return d / name


def audit_of(f: Flow, d: Path) -> Path:
    return d / f.audit(f.probes[0]).name


def audit_arg(f: Flow, path: Path, probe: str | None = None) -> list[str]:
    return ["--audit-input", f"{probe or f.probes[0]}={path}"]


def vla_eval(f: Flow, d: Path, name: str, episode: dict[str, Any], **top: Any) -> Path:
    """A one-episode vla-eval aggregate for the first planned task of the first probe."""
    row = first_row(f, d)
    suite, _, number = row["task_id"].partition("/")
    base = {"episode_idx": row["episode_index"], "suite": suite, "task_id": number,
            "metrics": {"success": True}}
    return dump({"benchmark": "libero", "seed": 7, **top,
                 "tasks": [{"task": row["task_id"], "episodes": [{**base, **episode}]}]}, d / name)


def lerobot(d: Path, name: str, per_episode: list[Any], **top: Any) -> Path:
    return dump({"per_episode": per_episode, "aggregated": {"pc_success": 50.0}, **top}, d / name)


CONTRACT = {
    "contract_id": "warehouse-bins", "task_manifest_ref": "manifests/warehouse.json",
    "task_manifest_digest": "sha256:" + "a" * 64, "metric_schema_ref": "metrics/boolean.json",
    "inclusion_rules": ["bins within reach"], "exclusion_rules": ["damaged bins"],
    "audit_metadata_keys": ["cell_layout_version"],
    "reviewer_owned_task_source": "reviewer keeps the task list",
    "customer_consent_marker": "consent-2026-01", "customer_use_case": "bin picking",
    "acceptance_question": "does it pick bins reliably?", "workflow_claim": "picks bins",
    "task_owner": "ops team", "tasks": [{"task_id": "pick-bin", "instruction": "pick the bin"}],
    "pinned_values": {"cell_layout_version": "v2"}, "episodes_per_task": 10,
}


def contract(d: Path, **changes: Any) -> Path:
    data = dict(CONTRACT)
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return dump(data, d / "contract_bad.json")


CASES: list[Case] = [
    # --- eval-profile create: flags ---------------------------------------------------------
    Case("profile-dof-negative", lambda f, d: ["eval-profile", "create",
         *profile_args(degrees_of_freedom="-3"), "--output", d / "out.json"], None, "degrees.of.freedom"),
    Case("profile-dof-huge", lambda f, d: ["eval-profile", "create",
         *profile_args(degrees_of_freedom=str(10**40)), "--output", d / "out.json"], None, "degrees.of.freedom"),
    Case("profile-frequency-nan", lambda f, d: ["eval-profile", "create",
         *profile_args(control_frequency_hz="nan"), "--output", d / "out.json"], None, "control.frequency.hz"),
    Case("profile-frequency-inf", lambda f, d: ["eval-profile", "create",
         *profile_args(control_frequency_hz="inf"), "--output", d / "out.json"], None, "control.frequency.hz"),
    Case("profile-frequency-huge", lambda f, d: ["eval-profile", "create",
         *profile_args(control_frequency_hz="1e12"), "--output", d / "out.json"], None, "control.frequency.hz"),
    Case("profile-unknown-embodiment", lambda f, d: ["eval-profile", "create",
         *profile_args(embodiment_class="flying_car"), "--output", d / "out.json"], None, "embodiment.class"),
    Case("profile-id-path-traversal", lambda f, d: ["eval-profile", "create",
         *profile_args(profile_id="../../etc/passwd x"), "--output", d / "out.json"], None, "profile.id"),
    Case("profile-missing-policy", lambda f, d: ["eval-profile", "create",
         *profile_args(policy_id=None), "--output", d / "out.json"], None, "policy.id"),
    Case("profile-repeated-action-space", lambda f, d: ["eval-profile", "create",
         *REFERENCE_PROFILE_ARGS, "--action-space", "gripper_action", "--output", d / "out.json"],
         None, "action.space"),
    # --- profile.json given to `plan` ------------------------------------------------------
    Case("profile-file-truncated", lambda f, d: plan_from_profile(
        truncated(d / "profile.json", d / "p.json"), d), "p.json", None),
    Case("profile-file-not-utf8", lambda f, d: plan_from_profile(not_utf8(d / "p.json"), d), "p.json", None),
    Case("profile-file-empty", lambda f, d: plan_from_profile(text_file(d / "p.json", ""), d), "p.json", None),
    Case("profile-file-array", lambda f, d: plan_from_profile(dump([1, 2], d / "p.json"), d), "p.json", None),
    Case("profile-file-dof-string", lambda f, d: plan_from_profile(edited(
        d / "profile.json", d / "p.json", lambda p: p.update(degrees_of_freedom="six"), "profile_digest"), d),
        "p.json", "degrees_of_freedom"),
    Case("profile-file-bare-nan", lambda f, d: plan_from_profile(text_file(d / "p.json", (
        d / "profile.json").read_text().replace('"control_frequency_hz": 20', '"control_frequency_hz": NaN')),
        d), "p.json", None),
    Case("profile-file-tampered", lambda f, d: plan_from_profile(edited(
        d / "profile.json", d / "p.json", lambda p: p.update(robot_model="ur5e"), None), d),
        "p.json", "profile_digest"),
    Case("profile-file-unknown-field", lambda f, d: plan_from_profile(edited(
        d / "profile.json", d / "p.json", lambda p: p.update(secret_sauce=1), "profile_digest"), d),
        "p.json", "secret_sauce"),
    Case("profile-file-wrong-kind", lambda f, d: plan_from_profile(d / "packet.json", d),
         "packet.json", "schema_version"),
    Case("profile-file-oversized", lambda f, d: plan_from_profile(oversized(d / "p.json"), d), "p.json", None),
    Case("profile-file-symlink-loop", lambda f, d: plan_from_profile(symlink_loop(d / "p.json"), d),
         "p.json", None),
    Case("profile-file-directory", lambda f, d: plan_from_profile(d, d), "work", None),
    Case("profile-file-missing", lambda f, d: plan_from_profile(d / "nope.json", d), "nope.json", None),
    # --- `plan` flags ------------------------------------------------------------------------
    Case("plan-episodes-zero", lambda f, d: plan_from_profile(
        d / "profile.json", d, "--episodes-per-cell", "0"), None, "episodes.per.cell"),
    Case("plan-episodes-negative", lambda f, d: plan_from_profile(
        d / "profile.json", d, "--episodes-per-cell", "-5"), None, "episodes.per.cell"),
    Case("plan-episodes-huge", lambda f, d: plan_from_profile(
        d / "profile.json", d, "--episodes-per-cell", str(10**9)), None, "episodes.per.cell"),
    Case("plan-half-width-nan", lambda f, d: plan_from_profile(
        d / "profile.json", d, "--max-ci-half-width", "nan"), None, "ci.half.width"),
    Case("plan-denominator-unknown", lambda f, d: plan_from_profile(
        d / "profile.json", d, "--denominator-policy", "best_of_three"), None, "denominator.policy"),
    Case("plan-seed-not-int", lambda f, d: ["eval-portfolio", "plan", "--profile", d / "profile.json",
         "--seed", "abc", "--seed-source", "operator_supplied", "--output", d / "out.json"], None, "seed"),
    # --- custom eval contract -----------------------------------------------------------------
    Case("contract-truncated", lambda f, d: plan_from_profile(d / "profile.json", d,
         "--custom-eval-contract", truncated(contract(d), d / "c.json")), "c.json", None),
    Case("contract-missing-consent", lambda f, d: plan_from_profile(d / "profile.json", d,
         "--custom-eval-contract", contract(d, customer_consent_marker=...)),
         "contract_bad.json", "customer_consent_marker"),
    Case("contract-duplicate-tasks", lambda f, d: plan_from_profile(d / "profile.json", d,
         "--custom-eval-contract", contract(d, tasks=[{"task_id": "a", "instruction": "x"}] * 2)),
         "contract_bad.json", "tasks"),
    Case("contract-bad-digest", lambda f, d: plan_from_profile(d / "profile.json", d,
         "--custom-eval-contract", contract(d, task_manifest_digest="md5:abc")),
         "contract_bad.json", "task_manifest_digest"),
    Case("contract-negative-episodes", lambda f, d: plan_from_profile(d / "profile.json", d,
         "--custom-eval-contract", contract(d, episodes_per_task=-1)),
         "contract_bad.json", "episodes_per_task"),
    Case("contract-wrong-type", lambda f, d: plan_from_profile(d / "profile.json", d,
         "--custom-eval-contract", contract(d, inclusion_rules="all of them")),
         "contract_bad.json", "inclusion_rules"),
    # --- plan.json as input -------------------------------------------------------------------
    Case("plan-truncated", lambda f, d: plan_cmd(truncated(d / "plan.json", d / "pl.json"), d), "pl.json", None),
    Case("plan-tampered", lambda f, d: plan_cmd(edited(d / "plan.json", d / "pl.json",
         lambda p: p["cells"][0]["episodes"].update(start=p["cells"][0]["episodes"]["start"] + 1), None), d),
         "pl.json", "plan_digest"),
    Case("plan-duplicate-episode-index", lambda f, d: plan_cmd(edited(d / "plan.json", d / "pl.json",
         lambda p: p["cells"][0].update(episodes=[3, 3]),
         "plan_digest"), d), "pl.json", "cells"),
    Case("plan-negative-episode-index", lambda f, d: plan_cmd(edited(d / "plan.json", d / "pl.json",
         lambda p: p["cells"][0]["episodes"].update(start=-4), "plan_digest"), d), "pl.json", "cells"),
    Case("plan-duplicate-cell-id", lambda f, d: plan_cmd(edited(d / "plan.json", d / "pl.json",
         lambda p: p["cells"][1].update(cell_id=p["cells"][0]["cell_id"]), "plan_digest"), d),
         "pl.json", "cell"),
    Case("plan-wrong-kind", lambda f, d: plan_cmd(d / "profile.json", d), "profile.json", "schema_version"),
    Case("plan-not-utf8", lambda f, d: plan_cmd(not_utf8(d / "pl.json"), d), "pl.json", None),
    Case("plan-episodes-per-cell-string", lambda f, d: plan_cmd(edited(d / "plan.json", d / "pl.json",
         lambda p: p.update(episodes_per_cell="many"), "plan_digest"), d), "pl.json", "episodes_per_cell"),
    # --- audit import: generic JSONL ----------------------------------------------------------
    Case("jsonl-truncated-line", lambda f, d: import_cmd("jsonl", jsonl_raw_first(
        f, d, "e.jsonl", '{"probe_id": "libero", "task_id'), f, d), "e.jsonl", "line 1"),
    Case("jsonl-success-string", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", success="yes"), f, d), "e.jsonl", "success"),
    Case("jsonl-index-nan", lambda f, d: import_cmd("jsonl", jsonl_raw_first(
        f, d, "e.jsonl", json.dumps(first_row(f, d)).replace(
            f'"episode_index": {first_row(f, d)["episode_index"]}', '"episode_index": NaN')), f, d),
        "e.jsonl", None),
    Case("jsonl-index-negative", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", episode_index=-1), f, d), "e.jsonl", "episode_index"),
    Case("jsonl-index-huge", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", episode_index=10**30), f, d), "e.jsonl", "episode_index"),
    Case("jsonl-seed-huge", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", seed=-(10**30)), f, d), "e.jsonl", "seed"),
    Case("jsonl-seed-string", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", seed="abc"), f, d), "e.jsonl", "seed"),
    Case("jsonl-unknown-status", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", status="crashed_but_fine"), f, d), "e.jsonl", "status"),
    Case("jsonl-missing-task", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", task_id=...), f, d), "e.jsonl", "task_id"),
    Case("jsonl-level-object", lambda f, d: import_cmd("jsonl", jsonl_with(
        f, d, "e.jsonl", level={"hard": True}), f, d), "e.jsonl", "level"),
    Case("jsonl-not-utf8", lambda f, d: import_cmd("jsonl", not_utf8(d / "e.jsonl"), f, d), "e.jsonl", None),
    Case("jsonl-empty", lambda f, d: import_cmd("jsonl", text_file(d / "e.jsonl", ""), f, d), "e.jsonl", None),
    Case("jsonl-oversized", lambda f, d: import_cmd("jsonl", oversized(d / "e.jsonl"), f, d), "e.jsonl", None),
    Case("jsonl-symlink-loop", lambda f, d: import_cmd("jsonl", symlink_loop(d / "e.jsonl"), f, d),
         "e.jsonl", None),
    Case("import-unknown-probe", lambda f, d: import_cmd("jsonl", d / f.evidence(f.probes[0]).name, f, d,
         "not-a-probe"), None, "probe"),
    Case("import-tampered-plan", lambda f, d: ["audit", "import", "jsonl", d / f.evidence(f.probes[0]).name,
         "--plan", edited(d / "plan.json", d / "pl.json", lambda p: p.update(plan_seed=99), None),
         "--probe", f.probes[0], "--output", d / "out.json"], "pl.json", "plan_digest"),
    # --- audit import: CSV -----------------------------------------------------------------
    Case("csv-missing-column", lambda f, d: import_cmd("csv", csv_file(d, first_row(f, d), drop="success"),
         f, d), "e.csv", "success"),
    Case("csv-success-maybe", lambda f, d: import_cmd("csv", csv_file(d, {**first_row(f, d), "success": "maybe"}),
         f, d), "e.csv", "success"),
    # --- audit import: vla-eval ---------------------------------------------------------------
    Case("vla-eval-failure-not-text", lambda f, d: import_cmd("vla-eval", vla_eval(
        f, d, "v.json", {"failure_reason": {"why": "policy_was_tired"}}), f, d), "v.json", "failure_reason"),
    Case("vla-eval-tasks-not-list", lambda f, d: import_cmd("vla-eval", dump(
        {"benchmark": "libero", "tasks": {"a": 1}}, d / "v.json"), f, d), "v.json", "tasks"),
    Case("vla-eval-success-missing", lambda f, d: import_cmd("vla-eval", vla_eval(
        f, d, "v.json", {"metrics": {"steps": 3}}), f, d), "v.json", "success"),
    Case("vla-eval-seed-float", lambda f, d: import_cmd("vla-eval", vla_eval(
        f, d, "v.json", {}, seed=1.5), f, d), "v.json", "seed"),
    # --- audit import: LeRobot --------------------------------------------------------------
    Case("lerobot-success-string", lambda f, d: import_cmd("lerobot", lerobot(
        d, "eval_info.json", [{"episode_ix": 0, "success": "x", "seed": 1}]), f, d,
        None, "--task", first_row(f, d)["task_id"]), "eval_info.json", "success"),
    Case("lerobot-aggregate-only", lambda f, d: import_cmd("lerobot", dump(
        {"aggregated": {"pc_success": 80.0}}, d / "eval_info.json"), f, d), "eval_info.json", "per_episode"),
    Case("lerobot-index-negative", lambda f, d: import_cmd("lerobot", lerobot(
        d, "eval_info.json", [{"episode_ix": -2, "success": True, "seed": 1}]), f, d,
        None, "--task", first_row(f, d)["task_id"]), "eval_info.json", "episode_ix"),
    # --- audit import: ManiSkill and lbm_eval ----------------------------------------------------
    Case("maniskill-not-object", lambda f, d: import_cmd("maniskill", dump(
        [1, 2, 3], d / "episode_results.json"), f, d), "episode_results.json", None),
    Case("maniskill-success-string", lambda f, d: import_cmd("maniskill", dump(
        {"0": {"success": "sure", "elapsed_steps": 5}}, d / "episode_results.json"), f, d,
        None, "--task", first_row(f, d)["task_id"]), "episode_results.json", "success"),
    Case("lbm-evaluations-not-list", lambda f, d: import_cmd("lbm-eval", dump(
        {"evaluations": "none"}, d / "results-1.json"), f, d), "results-1.json", "evaluations"),
    # --- audit import: run folder -----------------------------------------------------------------
    Case("run-folder-link-outside", lambda f, d: import_cmd("run-folder", outside_link(d), f, d),
         "eval_info.json", None),
    Case("run-folder-symlink-loop", lambda f, d: import_cmd("run-folder", looping_folder(d), f, d),
         "run", None),
    # --- eval-portfolio packet --------------------------------------------------------------
    Case("packet-audit-arg-no-equals", lambda f, d: packet_cmd(f, d, ["--audit-input", str(audit_of(f, d))]),
         None, "audit.input"),
    Case("packet-audit-unknown-probe", lambda f, d: packet_cmd(f, d, audit_arg(f, audit_of(f, d), "nope")),
         None, "nope"),
    Case("packet-audit-tampered", lambda f, d: packet_cmd(f, d, audit_arg(f, edited(
        audit_of(f, d), d / "a.json", lambda a: a["episodes"][0].update(success=not a["episodes"][0]["success"]),
        None))), "a.json", "audit_digest"),
    Case("packet-audit-truncated", lambda f, d: packet_cmd(f, d, audit_arg(f, truncated(
        audit_of(f, d), d / "a.json"))), "a.json", None),
    Case("packet-audit-other-probe", lambda f, d: packet_cmd(f, d, audit_arg(f, audit_of(f, d), f.probes[1])),
         "audit_", "probe"),
    Case("packet-audit-wrong-kind", lambda f, d: packet_cmd(f, d, audit_arg(f, d / "plan.json")),
         "plan.json", "schema_version"),
    Case("packet-audit-index-huge", lambda f, d: packet_cmd(f, d, audit_arg(f, edited(
        audit_of(f, d), d / "a.json", lambda a: a["episodes"][0].update(episode_index=10**30),
        "audit_digest"))), "a.json", "episode_index"),
    Case("packet-audit-status-unknown", lambda f, d: packet_cmd(f, d, audit_arg(f, edited(
        audit_of(f, d), d / "a.json", lambda a: a["episodes"][0].update(status="great"),
        "audit_digest"))), "a.json", "status"),
    Case("packet-plan-missing", lambda f, d: ["eval-portfolio", "packet", "--plan", d / "gone.json",
         *audit_arg(f, audit_of(f, d)), "--output", d / "out.md", "--packet-json", d / "out.json"],
         "gone.json", None),
    # Audit inputs are read on a background thread while the plan is read: the refusal is still the one
    # reading them in order gives (the plan first, then the first bad audit input).
    Case("packet-plan-missing-and-audit-truncated", lambda f, d: [
        "eval-portfolio", "packet", "--plan", d / "gone.json", *audit_arg(f, truncated(audit_of(f, d), d / "a.json")),
        "--output", d / "out.md", "--packet-json", d / "out.json"], "gone.json", None),
    Case("packet-two-bad-audits-first-named", lambda f, d: packet_cmd(f, d, [
        *audit_arg(f, edited(audit_of(f, d), d / "a.json", lambda a: a["episodes"][0].update(
            success=not a["episodes"][0]["success"]), None)),
        *audit_arg(f, truncated(d / f.audit(f.probes[1]).name, d / "b.json"), f.probes[1])]), "a.json", "audit_digest"),
    Case("packet-unknown-probe-before-bad-audit", lambda f, d: packet_cmd(f, d, [
        *audit_arg(f, audit_of(f, d), "nope"), *audit_arg(f, truncated(audit_of(f, d), d / "b.json"))]),
         None, "nope"),
    # --- eval-portfolio reviewer-brief ----------------------------------------------------------
    Case("brief-packet-truncated", lambda f, d: brief_cmd(truncated(d / "packet.json", d / "k.json"), d),
         "k.json", None),
    Case("brief-packet-tampered", lambda f, d: brief_cmd(edited(d / "packet.json", d / "k.json",
         lambda k: k["conformance"].update(matched=k["conformance"]["matched"] - 1), None), d),
         "k.json", "packet_digest"),
    Case("brief-packet-wrong-kind", lambda f, d: brief_cmd(d / "plan.json", d), "plan.json", "schema_version"),
    Case("brief-packet-negative-count", lambda f, d: brief_cmd(edited(d / "packet.json", d / "k.json",
         lambda k: k["conformance"].update(matched=-1), "packet_digest"), d), "k.json", "matched"),
    Case("brief-packet-rate-inf", lambda f, d: brief_cmd(text_file(d / "k.json", (d / "packet.json").read_text(
        ).replace('"success_rate": ', '"success_rate": Infinity, "x": ', 1)), d), "k.json", None),
]


def csv_file(d: Path, row: dict[str, Any], drop: str | None = None) -> Path:
    columns = [c for c in ("probe_id", "task_id", "axis", "level", "episode_index", "seed", "success",
                           "status") if c != drop]
    values = ["" if row.get(c) is None else str(row[c]) for c in columns]
    return text_file(d / "e.csv", ",".join(columns) + "\n" + ",".join(values) + "\n")


def outside_link(d: Path) -> Path:
    """A run folder whose evidence file is a symlink to a file outside the folder."""
    run = d / "run"
    run.mkdir()
    outside = d / "elsewhere_eval_info.json"
    dump({"per_episode": [{"episode_ix": 0, "success": True, "seed": 1}]}, outside)
    (run / "eval_info.json").symlink_to(outside)
    return run


def looping_folder(d: Path) -> Path:
    run = d / "run"
    run.mkdir()
    (run / "sub").symlink_to(run, target_is_directory=True)
    (run / "a").symlink_to(run / "b")
    (run / "b").symlink_to(run / "a")
    return run


def test_catalogue_is_broad() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_cleanly(case: Case, golden: Flow, tmp_path: Path) -> None:
    flow, d = prepare(golden, tmp_path)
    argv = case.argv(flow, d)
    before = snapshot(d)
    result = cli(argv)
    after = snapshot(d)

    lines = result.stderr.splitlines()
    assert result.code == 2, f"exit {result.code}; stderr: {result.stderr!r}"
    assert len(lines) == 1, f"expected one line on stderr, got: {result.stderr!r}"
    assert "Traceback" not in result.stderr + result.stdout
    if case.file is not None:
        assert case.file in lines[0], f"message does not name {case.file}: {lines[0]!r}"
    if case.field is not None:
        assert re.search(case.field, lines[0]), f"message does not name {case.field}: {lines[0]!r}"
    assert after == before, "a refused command changed the folder: " + ", ".join(
        sorted(set(before) ^ set(after) | {k for k in before if k in after and before[k] != after[k]}))


SUBPROCESS_CASES = ["profile-file-truncated", "jsonl-index-huge", "brief-packet-tampered"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_no_traceback_from_console(case_id: str, golden: Flow, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    flow, d = prepare(golden, tmp_path)
    argv = [str(a) for a in case.argv(flow, d)]
    before = snapshot(d)
    proc = subprocess.run([sys.executable, "-m", "worldflux_nb", *argv], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert snapshot(d) == before
