"""Planted secrets of many shapes, in every kind of input field, never reach an output file or the
shared reviewer notebook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import REFERENCE_PROFILE_ARGS
from hardening_support import cli, cli_ok, evidence_for, safe, write_jsonl
from secret_shapes import SHAPES

# kind -> (text planted in inputs, the part that must never come out): the shared shape table.
SECRETS: dict[str, tuple[str, str]] = {kind: SHAPES[kind] for kind in (
    "aws_access_key", "aws_secret_key", "huggingface_token", "github_token", "openai_api_key", "bearer_token",
    "password_in_url", "signed_url_query", "home_path", "mac_home_path", "jwt", "private_key", "slack_token",
    "google_api_key")}
ALL_SECRETS = " | ".join(text for text, _ in SECRETS.values())
# Secrets that are valid identifiers, for fields that only take an identifier.
SLUG_SECRETS = ["hf_LeakyHubTokenAbCdEfGhIjKlMnOpQrStUv", "ghp_LeakyGitHubToken0123456789abcdefABCD",
                "AKIAQ3EGUNZLEAKYKEY7", "sk-proj-LeakyOpenAIKey0123456789abcdefXYZ",
                "AIzaSyLeakyGoogleKey0123456789abcdefghi", "xoxb-1234567890-LeakySlackToken"]
NEEDLES = {kind: needle for kind, (_, needle) in SECRETS.items()}

FREE_TEXT_FLAGS = ("--use-case", "--claim-intent", "--reviewer-next-action", "--training-exposure-caveat")
IDENTIFIER_FLAGS = ("--environment-version", "--adapter-version", "--camera-config-id",
                    "--real-to-sim-calibration")


def profile_args() -> list[str]:
    args = list(REFERENCE_PROFILE_ARGS)
    for flag in FREE_TEXT_FLAGS:
        args[args.index(flag) + 1] = ALL_SECRETS
    return args


def contract() -> dict[str, Any]:
    text = ALL_SECRETS
    return {
        "contract_id": "warehouse-bins", "task_manifest_ref": text,
        "task_manifest_digest": "sha256:" + "b" * 64, "metric_schema_ref": text,
        "inclusion_rules": [text], "exclusion_rules": [text],
        "audit_metadata_keys": ["cell_layout_version"], "reviewer_owned_task_source": text,
        "customer_consent_marker": text, "customer_use_case": text, "acceptance_question": text,
        "workflow_claim": text, "task_owner": text,
        "tasks": [{"task_id": "pick-bin", "instruction": text}],
        "pinned_values": {"cell_layout_version": SLUG_SECRETS[4]}, "episodes_per_task": 10,
    }


def plant_in_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row's metadata carries secrets, as values and as a key."""
    for i, row in enumerate(rows):
        text, _ = list(SECRETS.values())[i % len(SECRETS)]
        row["metadata"] = {**row.get("metadata", {}), "operator_note": text, "log_path": ALL_SECRETS,
                           SLUG_SECRETS[i % len(SLUG_SECRETS)]: "key-shaped secret"}
    return rows


def vla_eval_file(rows: list[dict[str, Any]], path: Path) -> Path:
    """The rows as a vla-eval aggregate whose own free-text fields carry secrets."""
    tasks: dict[str, list[dict[str, Any]]] = {}
    for i, row in enumerate(rows):
        suite, _, number = row["task_id"].partition("/")
        episode = {"episode_idx": row["episode_index"], "suite": suite, "task_id": number,
                   "metrics": {"success": bool(row["success"])}, "steps": 100}
        if i % 5 == 0:
            episode |= {"failure_reason": "exception", "failure_detail": ALL_SECRETS}
        tasks.setdefault(row["task_id"], []).append(episode)
    path.write_text(json.dumps({"benchmark": "libero", "harness_version": ALL_SECRETS[:200], "seed": 7,
                                "config": {"server": ALL_SECRETS},
                                "tasks": [{"task": t, "episodes": e} for t, e in tasks.items()]}),
                    encoding="utf-8")
    return path


def leaks_in(folder: Path, skip: set[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path in skip:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        # JSON escapes newlines and slashes in some writers; look for both spellings.
        kinds = [kind for kind, needle in NEEDLES.items()
                 if needle in text or json.dumps(needle)[1:-1] in text]
        if kinds:
            found[str(path.relative_to(folder))] = kinds
    return found


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[Path]]:
    """The whole flow and the template run on secret-laden inputs; returns the folder and the inputs."""
    d = tmp_path_factory.mktemp("leaks")
    inputs: set[Path] = set()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        patch.chdir(d)
        cli_ok(["eval-profile", "create", *profile_args(), "--output", d / "profile.json"])
        (d / "contract.json").write_text(json.dumps(contract()), encoding="utf-8")
        inputs.add(d / "contract.json")
        cli_ok(["eval-portfolio", "plan", "--profile", d / "profile.json", "--seed", "1234",
                "--seed-source", "operator_supplied", "--custom-eval-contract", d / "contract.json",
                "--output", d / "plan.json"])
        cli_ok(["eval-portfolio", "render-plan", "--plan", d / "plan.json", "--output", d / "plan.md"])
        cli_ok(["eval-portfolio", "render-run-sheet", "--plan", d / "plan.json", "--output",
                d / "run_sheet.md", "--run-sheet-json", d / "run_sheet.json"])
        plan = json.loads((d / "plan.json").read_text(encoding="utf-8"))
        sheet = json.loads((d / "run_sheet.json").read_text(encoding="utf-8"))
        audits = []
        for probe in [p["probe_id"] for p in plan["selected_probes"]]:
            rows = plant_in_rows(evidence_for(sheet, plan, probe))
            if probe == "libero":
                source = vla_eval_file(rows, d / "libero_aggregate.json")
                fmt = "vla-eval"
            else:
                source = write_jsonl(rows, d / f"evidence_{safe(probe)}.jsonl")
                fmt = "jsonl"
            inputs.add(source)
            audit = d / f"audit_{safe(probe)}.json"
            cli_ok(["audit", "import", fmt, source, "--plan", d / "plan.json", "--probe", probe,
                    "--output", audit])
            audits.append((probe, audit))
        cli_ok(["eval-portfolio", "packet", "--plan", d / "plan.json",
                *[a for probe, audit in audits for a in ("--audit-input", f"{probe}={audit}")],
                "--output", d / "packet.md", "--packet-json", d / "packet.json"])
        cli_ok(["eval-portfolio", "reviewer-brief", "--packet", d / "packet.json",
                "--packet-markdown-ref", d / "packet.md", "--output", d / "reviewer_brief.md",
                "--brief-json", d / "reviewer_brief.json"])
        result = cli(["notebook", "run", "--output-dir", d / "notebook",
                      "-p", "profile", str(d / "profile.json"),
                      "-p", "custom_contract", str(d / "contract.json"),
                      "-p", "audit_inputs", json.dumps([str(a) for _, a in audits])])
        assert result.code == 0, result.stderr
        executed = d / "notebook" / "profile_to_brief.ipynb"
        cli_ok(["notebook", "export", executed, "--output-dir", d / "export"])
        cli_ok(["notebook", "share", executed, "--output", d / "reviewer_copy.ipynb"])
    return d, inputs


SHARED = ("packet.json", "packet.md", "reviewer_brief.json", "reviewer_brief.md", "reviewer_copy.ipynb")


def test_inputs_really_carry_every_shape(planted: tuple[Path, set[Path]]) -> None:
    d, inputs = planted
    text = " ".join(p.read_text(encoding="utf-8") for p in inputs)
    assert len(SECRETS) >= 10
    assert all(needle in text or json.dumps(needle)[1:-1] in text for needle in NEEDLES.values())


def test_no_secret_reaches_packet_brief_exports_or_shared_notebook(planted: tuple[Path, set[Path]]) -> None:
    d, _ = planted
    leaks = {name: kinds for name, kinds in leaks_in(d, set()).items()
             if name in SHARED or name.startswith(("export/", "notebook/packet", "notebook/reviewer_brief"))}
    assert not leaks, f"secrets reached shareable outputs: {leaks}"


def test_no_secret_reaches_any_output_file(planted: tuple[Path, set[Path]]) -> None:
    d, inputs = planted
    leaks = leaks_in(d, inputs)
    assert not leaks, f"secrets reached output files: {leaks}"


@pytest.mark.parametrize("flag", IDENTIFIER_FLAGS + ("--profile-id", "--policy-id"))
def test_a_secret_as_an_identifier_is_refused(flag: str, tmp_path: Path) -> None:
    """Identifiers are copied verbatim into every artifact, so a secret-shaped one is refused."""
    for secret in SLUG_SECRETS:
        args = list(REFERENCE_PROFILE_ARGS)
        args[args.index(flag) + 1] = secret
        result = cli(["eval-profile", "create", *args, "--output", tmp_path / "profile.json"])
        assert result.code == 2, f"{flag} {secret}: exit {result.code}"
        assert flag.lstrip("-").replace("-", "_") in result.stderr.replace("-", "_")
        assert secret not in result.stderr and not (tmp_path / "profile.json").exists()


@pytest.mark.parametrize("field", ["contract_id", "audit_metadata_keys", "tasks"])
def test_a_secret_in_a_contract_identifier_is_refused(field: str, tmp_path: Path) -> None:
    data = contract()
    secret = SLUG_SECRETS[0]
    if field == "tasks":
        data["tasks"] = [{"task_id": secret, "instruction": "pick"}]
    elif field == "audit_metadata_keys":
        data["audit_metadata_keys"] = [secret]
        data["pinned_values"] = {}
    else:
        data[field] = secret
    (tmp_path / "c.json").write_text(json.dumps(data), encoding="utf-8")
    cli_ok(["eval-profile", "create", *REFERENCE_PROFILE_ARGS, "--output", tmp_path / "profile.json"])
    result = cli(["eval-portfolio", "plan", "--profile", tmp_path / "profile.json", "--seed", "1",
                  "--seed-source", "operator_supplied", "--custom-eval-contract", tmp_path / "c.json",
                  "--output", tmp_path / "plan.json"])
    assert result.code == 2 and field in result.stderr and secret not in result.stderr
    assert not (tmp_path / "plan.json").exists()


def test_the_shared_notebook_reports_what_it_redacted(planted: tuple[Path, set[Path]]) -> None:
    d, _ = planted
    shared = (d / "reviewer_copy.ipynb").read_text(encoding="utf-8")
    assert "REDACTED" in shared


def harness_file(fmt: str, row: dict[str, Any], folder: Path) -> tuple[Path, list[str]]:
    """A one-episode harness file of the given format with secrets in its free-text fields."""
    index = row["episode_index"]
    if fmt == "lbm-eval":
        data: Any = {"evaluations": [{"skill_type": row["task_id"], "scenario_index": index,
                                      "is_success": False, "is_pending": False,
                                      "failure_message": "Traceback: " + ALL_SECRETS}]}
        name, extra = "results-leaky.json", []
    elif fmt == "maniskill":
        data = {str(index): {"success": True, "elapsed_steps": 80, "operator_note": ALL_SECRETS,
                             SLUG_SECRETS[0]: "key-shaped secret"}}
        name, extra = "episode_results.json", ["--task", row["task_id"]]
    else:
        data = {"per_episode": [{"episode_ix": index, "success": True, "seed": None,
                                 "sum_reward": 1.0, "max_reward": 1.0}],
                "aggregated": {"pc_success": 100.0}, "config_note": ALL_SECRETS}
        name, extra = "eval_info.json", ["--task", row["task_id"]]
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, extra


@pytest.mark.parametrize("fmt", ["lbm-eval", "maniskill", "lerobot"])
def test_harness_free_text_is_redacted_on_import(fmt: str, reference_flow: Any, tmp_path: Path) -> None:
    probe = reference_flow.probes[0]
    sheet = json.loads(reference_flow.run_sheet.read_text(encoding="utf-8"))
    row = next(e for e in sheet["episodes"] if e["probe_id"] == probe)
    source, extra = harness_file(fmt, row, tmp_path)
    result = cli(["audit", "import", fmt, source, "--plan", reference_flow.plan, "--probe", probe,
                  *extra, "--output", tmp_path / "audit.json"])
    assert result.code == 0, result.stderr
    written = (tmp_path / "audit.json").read_text(encoding="utf-8") + result.stdout + result.stderr
    leaked = [kind for kind, needle in NEEDLES.items() if needle in written]
    assert not leaked, f"{fmt}: secrets reached the audit input: {leaked}"
    if fmt != "lerobot":  # these two keep the free text, redacted, and say so
        assert "[REDACTED:" in written
        assert json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))["redactions"]
