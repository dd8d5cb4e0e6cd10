import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from worldflux_nb.cli import main
from worldflux_nb.cli.profile import flag_for, profile_fields
from worldflux_nb.models import CustomEvalContract
from worldflux_nb.models.profile import REPEATABLE_FLAGS
from worldflux_nb.sample.reference import REFERENCE_PROFILE_VALUES, reference_contract_data

from conftest import REFERENCE_PROFILE, REFERENCE_PROFILE_ARGS

FIXTURES = Path(__file__).parent / "fixtures"
CONTRACT = FIXTURES / "contract.json"


def reference_flow(folder: Path) -> dict[str, bytes]:
    """The first four commands of the reference flow, plus a custom contract and the CSV."""
    f = lambda name: str(folder / name)  # noqa: E731
    assert main(["eval-profile", "create", *REFERENCE_PROFILE_ARGS, "--output", f("profile.json")]) == 0
    assert main(["eval-portfolio", "plan", "--profile", f("profile.json"), "--seed", "1234",
                 "--seed-source", "operator_supplied", "--custom-eval-contract", str(CONTRACT),
                 "--output", f("plan.json")]) == 0
    assert main(["eval-portfolio", "render-plan", "--plan", f("plan.json"),
                 "--output", f("plan.md")]) == 0
    assert main(["eval-portfolio", "render-run-sheet", "--plan", f("plan.json"),
                 "--output", f("run_sheet.md"), "--run-sheet-json", f("run_sheet.json"),
                 "--run-sheet-csv", f("run_sheet.csv")]) == 0
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture()
def flow(tmp_path: Path) -> Path:
    reference_flow(tmp_path)
    return tmp_path


def test_reference_flow_writes_every_file_and_is_byte_identical_when_repeated(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = reference_flow(tmp_path / "a"), reference_flow(tmp_path / "b")
    assert set(first) == {"profile.json", "plan.json", "plan.md", "run_sheet.md",
                          "run_sheet.json", "run_sheet.csv"}
    assert first == second
    for name in ("profile.json", "plan.json", "run_sheet.json"):
        assert json.loads(first[name])["privacy"] == "LOCAL_PRIVATE"
    for name in ("plan.md", "run_sheet.md"):
        assert b"LOCAL_PRIVATE" in first[name]


def test_reference_profile_args_cover_every_profile_field():
    flags = {a for a in REFERENCE_PROFILE_ARGS if a.startswith("--")}
    assert flags == {flag_for(f) for f in profile_fields()}
    assert REFERENCE_PROFILE_VALUES == REFERENCE_PROFILE


@pytest.mark.parametrize("field", profile_fields())
def test_every_profile_flag_round_trips(flow, field):
    profile = json.loads((flow / "profile.json").read_text())
    assert profile[field] == REFERENCE_PROFILE[field]
    assert profile["schema_version"] == "worldflux_nb.profile.v1" and profile["profile_digest"]


def test_repeatable_flags_keep_their_order(tmp_path):
    args = [a for a in REFERENCE_PROFILE_ARGS]
    at = args.index("--action-space")
    args[at + 1], args[at + 3] = args[at + 3], args[at + 1]
    assert main(["eval-profile", "create", *args, "--output", str(tmp_path / "p.json")]) == 0
    profile = json.loads((tmp_path / "p.json").read_text())
    assert profile["action_space"] == ["gripper_action", "end_effector_delta_pose"]
    assert set(REPEATABLE_FLAGS) <= set(profile_fields())


def test_language_input_is_a_switch(tmp_path):
    args = [a for a in REFERENCE_PROFILE_ARGS if a != "--language-input"]
    assert main(["eval-profile", "create", *args, "--output", str(tmp_path / "p.json")]) == 0
    assert json.loads((tmp_path / "p.json").read_text())["language_input"] is False


def test_plan_file_holds_the_contract_fields(flow):
    plan = json.loads((flow / "plan.json").read_text())
    assert plan["plan_seed"] == 1234 and plan["seed_source"] == "operator_supplied"
    assert "custom:acme-bin-picking-station-3" in [p["probe_id"] for p in plan["selected_probes"]]
    sheet = json.loads((flow / "run_sheet.json").read_text())
    assert sheet["plan_digest"] == plan["plan_digest"]
    assert len(sheet["episodes"]) == sum(c["episodes"]["count"] for c in plan["cells"])
    assert set(sheet["episodes"][0]) == {"cell_id", "probe_id", "task_id", "axis", "level",
                                         "episode_index", "seed"}
    text = (flow / "plan.md").read_text()
    for needle in ("simpler-env", "Power targets", "never verified", plan["plan_digest"],
                   "Missing-evidence questions", "all_planned"):
        assert needle in text


def test_generated_seed_is_recorded(flow):
    out = flow / "generated.json"
    assert main(["eval-portfolio", "plan", "--profile", str(flow / "profile.json"),
                 "--seed-source", "generated", "--output", str(out)]) == 0
    plan = json.loads(out.read_text())
    assert plan["seed_source"] == "generated" and isinstance(plan["plan_seed"], int)


def _tamper(data, path, value):
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value(target[path[-1]])


TAMPER_PATHS = [
    (("plan_seed",), lambda v: v + 1),
    (("episodes_per_cell",), lambda v: v + 1),
    (("denominator_policy",), lambda v: "completed_only"),
    (("created_at",), lambda v: "2020-01-01T00:00:00Z"),
    (("profile", "robot_model"), lambda v: "franka-fr3"),
    (("profile", "training_exposure_possible_benchmark_family"), lambda v: []),
    (("profile_digest",), lambda v: "sha256:" + "1" * 64),
    (("registry_digest",), lambda v: "sha256:" + "2" * 64),
    (("power_targets", "max_ci_half_width"), lambda v: 0.3),
    (("selected_probes", 0, "tasks"), lambda v: v[:1]),
    (("selected_probes", 0, "pinned_metadata", "environment_version"), lambda v: "other"),
    (("selected_probes", 2, "run_seed"), lambda v: v + 1),
    (("selected_probes", 1, "training_exposure"), lambda v: False),
    (("excluded_probes",), lambda v: []),
    (("cells", 0, "episodes", "count"), lambda v: v - 1),
    (("cells", 0, "episodes", "start"), lambda v: v + 1),
    (("cells", 5, "cell_id"), lambda v: v + "x"),
    (("cells", 20, "level"), lambda v: 5 if v != 5 else 4),
    (("cells", -1, "seeds", "run_seed"), lambda v: v + 1),
    (("cells", -1, "seeds", "rule"), lambda v: "run_seed"),
    (("cells",), lambda v: v[:-1]),
    (("missing_evidence_questions",), lambda v: v[1:]),
    (("notes",), lambda v: v[:-1]),
    (("custom_contracts", 0, "customer_consent_marker"), lambda v: v + "-verified"),
    (("custom_contracts", 0, "pinned_values", "station_id"), lambda v: "station-4"),
]


@pytest.mark.parametrize("path,change", TAMPER_PATHS, ids=[".".join(map(str, p)) for p, _ in TAMPER_PATHS])
def test_tampered_plan_is_refused_by_every_command(flow, capsys, path, change):
    data = json.loads((flow / "plan.json").read_text())
    _tamper(data, path, change)
    (flow / "plan.json").write_text(json.dumps(data))
    out = flow / "again.md"
    for command in (["render-plan"], ["render-run-sheet", "--run-sheet-csv", str(flow / "x.csv")]):
        assert main(["eval-portfolio", *command, "--plan", str(flow / "plan.json"),
                     "--output", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(flow / "plan.json") in err and "digest" in err
        assert not out.exists() and not (flow / "x.csv").exists()


def test_contract_missing_each_required_item_is_refused(flow, capsys):
    required = [name for name, info in CustomEvalContract.model_fields.items() if info.is_required()]
    assert len(required) >= 12
    for item in required:
        data = reference_contract_data()
        del data[item]
        path = flow / f"contract-without-{item}.json"
        path.write_text(json.dumps(data))
        out = flow / f"plan-{item}.json"
        code = main(["eval-portfolio", "plan", "--profile", str(flow / "profile.json"), "--seed", "1",
                     "--custom-eval-contract", str(path), "--output", str(out)])
        err = capsys.readouterr().err
        assert code == 2, item
        assert f"{path}: {item}: is required but missing" in err
        assert not out.exists()


def test_hand_written_contract_without_schema_version_is_accepted(flow):
    data = reference_contract_data()
    del data["schema_version"], data["privacy"]
    path = flow / "handwritten.json"
    path.write_text(json.dumps(data))
    assert main(["eval-portfolio", "plan", "--profile", str(flow / "profile.json"), "--seed", "1",
                 "--custom-eval-contract", str(path), "--output", str(flow / "p.json")]) == 0


BAD_PROFILE_CASES = [
    ("--degrees-of-freedom", "zero"), ("--degrees-of-freedom", "0"),
    ("--control-frequency-hz", "-5"), ("--embodiment-class", "spaceship"),
    ("--action-space", "teleport"), ("--profile-id", "has spaces"),
]


@pytest.mark.parametrize("flag,value", BAD_PROFILE_CASES)
def test_bad_profile_flag_exits_2_naming_it(tmp_path, capsys, flag, value):
    args = list(REFERENCE_PROFILE_ARGS)
    args[args.index(flag) + 1] = value
    out = tmp_path / "profile.json"
    assert main(["eval-profile", "create", *args, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: eval-profile create: " + flag) and err.count("\n") == 1
    assert not out.exists()


def test_missing_profile_flag_exits_2_naming_it(tmp_path, capsys):
    args = list(REFERENCE_PROFILE_ARGS)
    at = args.index("--camera-config-id")
    del args[at:at + 2]
    assert main(["eval-profile", "create", *args, "--output", str(tmp_path / "p.json")]) == 2
    assert "--camera-config-id: is required" in capsys.readouterr().err


def _plan_args(flow, *extra, profile=None):
    return ["eval-portfolio", "plan", "--profile", str(profile or flow / "profile.json"),
            "--output", str(flow / "new-plan.json"), *extra]


@pytest.mark.parametrize("extra,needle", [
    ((), "--seed: is required"),
    (("--seed", "abc"), "--seed"),
    (("--seed", "-3"), "--seed"),
    (("--seed", "1", "--episodes-per-cell", "51"), "--episodes-per-cell"),
    (("--seed", "1", "--episodes-per-cell", "0"), "--episodes-per-cell"),
    (("--seed", "1", "--max-ci-half-width", "0.9"), "--max-ci-half-width"),
    (("--seed", "1", "--min-episodes-per-cell", "0"), "--min-episodes-per-cell"),
    (("--seed", "1", "--denominator-policy", "best"), "--denominator-policy"),
    (("--seed", "1", "--seed-source", "guess"), "--seed-source"),
    (("--seed", "1", "--custom-eval-contract", "missing.json"), "missing.json: no such file"),
])
def test_bad_plan_options_exit_2_and_write_nothing(flow, capsys, extra, needle):
    assert main(_plan_args(flow, *extra)) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not (flow / "new-plan.json").exists()


@pytest.mark.parametrize("content,needle", [
    ("not json", "is not valid JSON"),
    ('{"schema_version": "worldflux_nb.protocol_plan.v1"}', "schema_version: is "),
    ("[]", "must hold a JSON object"),
])
def test_bad_profile_file_exits_2_naming_the_file(flow, capsys, content, needle):
    bad = flow / "bad.json"
    bad.write_text(content)
    assert main(_plan_args(flow, "--seed", "1", profile=bad)) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and (needle in err or "schema_version" in err)


def test_tampered_profile_exits_2_naming_the_digest(flow, capsys):
    data = json.loads((flow / "profile.json").read_text())
    data["robot_model"] = "widowx"
    (flow / "profile.json").write_text(json.dumps(data))
    assert main(_plan_args(flow, "--seed", "1")) == 2
    assert "profile.json: profile_digest" in capsys.readouterr().err


def test_profile_field_error_names_the_field(flow, capsys):
    data = json.loads((flow / "profile.json").read_text())
    del data["camera_config_id"]
    (flow / "profile.json").write_text(json.dumps(data))
    assert main(_plan_args(flow, "--seed", "1")) == 2
    assert "profile.json: camera_config_id: is required but missing" in capsys.readouterr().err


def test_render_run_sheet_writes_nothing_when_one_output_fails(flow, capsys):
    for name in ("run_sheet.md", "run_sheet.json"):
        (flow / name).unlink()
    code = main(["eval-portfolio", "render-run-sheet", "--plan", str(flow / "plan.json"),
                 "--output", str(flow / "run_sheet.md"),
                 "--run-sheet-json", str(flow / "no-such-folder" / "run_sheet.json")])
    assert code == 2 and "no-such-folder" in capsys.readouterr().err
    assert not (flow / "run_sheet.md").exists()


def test_render_commands_refuse_a_missing_or_wrong_kind_of_plan(flow, capsys):
    assert main(["eval-portfolio", "render-plan", "--plan", str(flow / "nope.json"),
                 "--output", str(flow / "x.md")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err
    assert main(["eval-portfolio", "render-run-sheet", "--plan", str(flow / "profile.json"),
                 "--output", str(flow / "x.md")]) == 2
    assert "profile.json: schema_version: is worldflux_nb.profile.v1" in capsys.readouterr().err
    assert not (flow / "x.md").exists()


def test_console_script_runs_the_reference_flow(tmp_path):
    beside = Path(sys.executable).parent / "worldflux-nb"
    script = str(beside) if beside.exists() else shutil.which("worldflux-nb")
    assert script, "the worldflux-nb console script is not installed"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    run = lambda *args: subprocess.run([script, *args], cwd=tmp_path, env=env,  # noqa: E731
                                       capture_output=True, text=True)
    assert run("eval-profile", "create", *REFERENCE_PROFILE_ARGS, "--output", "profile.json").returncode == 0
    result = run("eval-portfolio", "plan", "--profile", "profile.json", "--seed", "1234",
                 "--custom-eval-contract", str(CONTRACT), "--output", "plan.json")
    assert result.returncode == 0, result.stderr
    in_process = tmp_path / "in-process"
    in_process.mkdir()
    reference_flow(in_process)
    assert (tmp_path / "plan.json").read_bytes() == (in_process / "plan.json").read_bytes()
    bad = run("eval-portfolio", "render-plan", "--plan", "missing.json", "--output", "plan.md")
    assert bad.returncode == 2 and "missing.json" in bad.stderr and "Traceback" not in bad.stderr
