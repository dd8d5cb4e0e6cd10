"""Run-folder triage: one claim-safe candidate imports; aggregate-only, ambiguous and secret folders refuse."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from importers_support import HARNESS, read_json, run_cli, write_plan
from worldflux_nb import load
from worldflux_nb.core.importers.run_folder import triage
from worldflux_nb.io.run_folder_scan import ScanLimits, scan_folder


def lerobot_run(folder: Path) -> Path:
    """A LeRobot output folder: eval_info.json, videos, a log, a wandb export and a config."""
    (folder / "videos" / "libero_spatial_0").mkdir(parents=True)
    shutil.copy(HARNESS / "lerobot_eval_info_multitask.json", folder / "eval_info.json")
    (folder / "videos" / "libero_spatial_0" / "eval_episode_0.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (folder / "eval.log").write_text("INFO eval started\nINFO Overall Aggregated Metrics: pc_success 71.4\n")
    (folder / "wandb" / "run-1" / "files").mkdir(parents=True)
    (folder / "wandb" / "run-1" / "files" / "wandb-summary.json").write_text('{"eval/pc_success": 71.4}')
    (folder / "config.yaml").write_text("policy: smolvla\nenv: libero\n")
    (folder / "checkpoints.tar.gz").write_bytes(b"\x1f\x8b\x08\x00")
    return folder


def import_folder(tmp_path: Path, folder: Path, *extra) -> tuple:
    plan = write_plan(tmp_path)
    out = tmp_path / "audit.json"
    report = tmp_path / "report.md"
    result = run_cli(["audit", "import", "run-folder", folder, "--plan", plan, "--probe", "libero",
                      "--output", out, "--report", report, "--report-json", tmp_path / "report.json", *extra])
    return result, out, report


def test_one_claim_safe_candidate_emits_an_audit_input_and_a_private_report(tmp_path: Path):
    folder = lerobot_run(tmp_path / "run")
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    result, out, report = import_folder(tmp_path, folder)
    assert result.code == 0, result.stderr
    audit = load(out)
    assert len(audit.episodes) == 7 and audit.source.identity == "inferred_from_order"
    assert audit.source.files[0].name == "eval_info.json"
    data = read_json(tmp_path / "report.json")
    assert data["privacy"] == "LOCAL_PRIVATE" and data["decision"] == "import"
    assert data["candidate"]["path"] == "eval_info.json" and data["candidate"]["format"] == "lerobot"
    assert data["audit_digest"] == audit.audit_digest
    assert data["counts"] == {"archive": 1, "log": 1, "other": 1, "per_episode": 1,
                              "tracker_export": 1, "video": 1}
    text = report.read_text()
    assert "LOCAL_PRIVATE" in text and "eval_info.json" in text and str(tmp_path) not in text
    from worldflux_nb.core.importers.run_folder import report_for
    from worldflux_nb.render.evidence_doc import run_folder_report_document
    from worldflux_nb.render.html import to_html

    scan = scan_folder(folder)
    html = to_html(run_folder_report_document(report_for(scan.inventory, triage(scan.inventory))))
    assert "LOCAL_PRIVATE" in html and "<script" not in html and str(tmp_path) not in html
    # Read-only: nothing in the folder was created, removed or touched.
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


def test_aggregate_only_folder_is_refused(tmp_path: Path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "eval_info.json").write_text(json.dumps({"aggregated": {"pc_success": 92.0}}))
    (folder / "summary.json").write_text(json.dumps({"tasks": [{"task": "a", "mean_success": 0.9}]}))
    result, out, report = import_folder(tmp_path, folder)
    assert result.code == 2
    assert "aggregate-only" in result.stderr and "eval_info.json" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not report.exists()


def test_two_candidates_are_ambiguous(tmp_path: Path):
    folder = lerobot_run(tmp_path / "run")
    (folder / "rerun").mkdir()
    shutil.copy(HARNESS / "libero_spatial_aggregate.json", folder / "rerun" / "libero_spatial_aggregate.json")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2
    assert "ambiguous: 2 candidate" in result.stderr
    assert "eval_info.json [lerobot]" in result.stderr and "libero_spatial_aggregate.json [vla-eval]" in result.stderr
    assert not out.exists()


def test_byte_identical_copies_are_one_candidate(tmp_path: Path):
    folder = lerobot_run(tmp_path / "run")
    (folder / "backup").mkdir()
    shutil.copy(folder / "eval_info.json", folder / "backup" / "eval_info.json")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 0, result.stderr
    notes = read_json(tmp_path / "report.json")["notes"]
    assert any("byte-identical copy" in n for n in notes)


def test_secret_holding_folder_is_refused_without_echoing_the_secret(tmp_path: Path):
    folder = lerobot_run(tmp_path / "run")
    secret = "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7"
    (folder / ".env").write_text(f"HF_TOKEN={secret}\n")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2
    assert "likely secrets" in result.stderr and ".env" in result.stderr and "huggingface_token" in result.stderr
    assert secret not in result.stderr
    assert not out.exists()


def test_host_paths_alone_are_not_a_refusal(tmp_path: Path):
    # LeRobot's own eval_info.json lists absolute video paths: redacted on import, not refused.
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(HARNESS / "lerobot_eval_info_multitask.json", folder / "eval_info.json")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 0, result.stderr
    assert "/home/operator" not in out.read_text()


def test_score_only_and_missing_denominator_folders_are_refused(tmp_path: Path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "rewards.json").write_text(json.dumps([{"episode": 0, "reward": 3.1}, {"episode": 1, "reward": 0.2}]))
    (folder / "outcomes.jsonl").write_text('{"task_id": "libero_spatial/0", "success": true}\n')
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2
    assert "score-only: rewards.json" in result.stderr
    assert "missing denominator information: outcomes.jsonl" in result.stderr
    assert not out.exists()


def test_links_out_of_the_folder_are_not_followed_and_loops_end(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(HARNESS / "libero_spatial_aggregate.json", outside / "other_aggregate.json")
    (outside / "secrets.env").write_text("OPENAI_API_KEY=sk-" + "x" * 40 + "\n")
    folder = lerobot_run(tmp_path / "run")
    os.symlink(outside, folder / "linked_outside")
    os.symlink(outside / "other_aggregate.json", folder / "also_outside.json")
    os.symlink(folder, folder / "videos" / "loop")
    scan = scan_folder(folder)
    paths = [e.path for e in scan.inventory.entries]
    assert not any(p.startswith("linked_outside") or p == "also_outside.json" for p in paths)
    reasons = dict(scan.inventory.skipped)
    assert "out of the folder" in reasons["linked_outside"]
    assert "out of the folder" in reasons["also_outside.json"]
    assert "loop" in reasons["videos/loop"]
    decision = triage(scan.inventory)
    assert decision.decision == "import" and decision.candidate.path == "eval_info.json"


def test_a_folder_whose_only_evidence_links_outside_is_refused_naming_the_link(tmp_path: Path):
    outside = tmp_path / "elsewhere_eval_info.json"
    shutil.copy(HARNESS / "lerobot_eval_info_legacy.json", outside)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "eval_info.json").symlink_to(outside)
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2 and not out.exists()
    assert "eval_info.json (symbolic link leading out of the folder" in result.stderr


def test_limits_make_the_scan_incomplete_and_refused(tmp_path: Path):
    folder = lerobot_run(tmp_path / "run")
    for i in range(5):
        (folder / f"extra_{i}.txt").write_text("x")
    scan = scan_folder(folder, ScanLimits(max_files=3))
    assert scan.inventory.limits_hit == ("more than 3 files",)
    decision = triage(scan.inventory)
    assert decision.decision == "refuse"
    assert any(r.startswith("scan incomplete") for r in decision.reasons)
    result, out, _ = import_folder(tmp_path, folder, "--max-total-bytes", "200")
    assert result.code == 2 and "scan incomplete" in result.stderr and not out.exists()


def test_triage_command_writes_the_report_even_for_a_refused_folder(tmp_path: Path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "eval_info.json").write_text(json.dumps({"aggregated": {"pc_success": 92.0}}))
    report = tmp_path / "triage.md"
    result = run_cli(["audit", "triage", folder, "--report", report, "--report-json", tmp_path / "t.json"])
    assert result.code == 0, result.stderr
    assert "refuse" in result.stdout
    assert "aggregate-only" in report.read_text()
    assert read_json(tmp_path / "t.json")["decision"] == "refuse"


def test_missing_folder_is_bad_input(tmp_path: Path):
    result, out, _ = import_folder(tmp_path, tmp_path / "nope")
    assert result.code == 2 and "no such folder" in result.stderr and not out.exists()


@pytest.mark.parametrize("name,content,kind", [
    ("episode_results.json", (HARNESS / "episode_results.json").read_text(), "per_episode"),
    ("results-1.json", (HARNESS / "results-2026-01-12T10-04-55.json").read_text(), "per_episode"),
    ("evidence.csv", (HARNESS / "evidence.csv").read_text(), "per_episode"),
    ("evidence.jsonl", (HARNESS / "evidence.jsonl").read_text(), "per_episode"),
    ("results-2.json", '{"num_evaluated": 3, "success_rate": 0.3}', "aggregate_only"),
    ("episode_results.json", '{"0": {"elapsed_steps": 3, "return": 1.2}}', "score_only"),
    ("notes.json", '{"hello": "world"}', "data"),
])
def test_every_harness_shape_is_recognised(tmp_path: Path, name, content, kind):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / name).write_text(content)
    entry = scan_folder(folder).inventory.entries[0]
    assert entry.kind == kind, entry


def vla_eval_run(folder: Path, suites: dict[str, list[int]]) -> Path:
    """One vla-eval run over several benchmarks: `merge_db` writes one `<safe_name>_aggregate.json`
    per benchmark into the run's output folder (worldflux_nb.sample.harness_files)."""
    from worldflux_nb.core.registry import builtin_registry
    from worldflux_nb.sample.harness_files import VlaEvalConfig, libero_tasks, vla_eval_aggregate, vla_eval_episodes

    language = {t.task_id: t.instruction for p in builtin_registry().probes if p.probe_id == "libero" for t in p.tasks}
    folder.mkdir(parents=True, exist_ok=True)
    for suite, ids in suites.items():
        config = VlaEvalConfig(subname=suite, episodes_per_task=3, tasks=[language[f"{suite}/{i}"] for i in ids],
                               params={"suite": suite, "seed": 7})
        recorded, _ = vla_eval_episodes(libero_tasks(suite, ids, language.__getitem__), config,
                                        lambda task, ep: (len(task) + ep) % 3 != 0)
        for name, text in vla_eval_aggregate(f"LIBEROBenchmark_{suite}", recorded, config).items():
            (folder / name).write_text(text)
    return folder


def test_one_runs_result_files_import_together_as_the_folder_importer_reads_them(tmp_path: Path):
    folder = vla_eval_run(tmp_path / "run", {"libero_spatial": [0, 3], "libero_object": [1]})
    (folder / "eval.log").write_text("INFO started\n")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 0, result.stderr
    assert "2 result files in ." in result.stdout
    plan = write_plan(tmp_path)
    direct = tmp_path / "direct.json"
    assert run_cli(["audit", "import", "vla-eval", folder, "--plan", plan, "--probe", "libero",
                    "--output", direct]).code == 0
    folder_audit, direct_audit = load(out), load(direct)
    assert len(folder_audit.episodes) == 9
    assert folder_audit.episodes == direct_audit.episodes
    assert [f.name for f in folder_audit.source.files] == [f.name for f in direct_audit.source.files]
    report = read_json(tmp_path / "report.json")
    assert report["decision"] == "import" and report["folder"] == "."
    assert any("one run's results" in note for note in report["notes"])


@pytest.mark.parametrize("layout", ["two folders", "mixed formats"])
def test_result_files_of_different_runs_or_formats_stay_ambiguous(tmp_path: Path, layout: str):
    folder = vla_eval_run(tmp_path / "run" / "a", {"libero_spatial": [0]})
    if layout == "two folders":
        vla_eval_run(tmp_path / "run" / "b", {"libero_object": [1]})
    else:
        shutil.copy(HARNESS / "lerobot_eval_info_multitask.json", folder / "eval_info.json")
    result, out, _ = import_folder(tmp_path, tmp_path / "run")
    assert result.code == 2 and "ambiguous: 2 candidate" in result.stderr
    assert not out.exists()


def test_an_openvla_run_folder_offers_its_log_and_videos(tmp_path: Path):
    """OpenVLA's `eval_libero` leaves only a log and rollout videos: refused, with the two commands
    that import them (a weaker grade the triage never imports on its own)."""
    from worldflux_nb.core.registry import builtin_registry
    from worldflux_nb.sample.harness_files import openvla_run

    language = {t.task_id: t.instruction for p in builtin_registry().probes if p.probe_id == "libero" for t in p.tasks}
    folder = tmp_path / "run"
    files = openvla_run("libero_spatial", [language[f"libero_spatial/{i}"] for i in range(2)], 2,
                        lambda task, ep: ep == 0)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2 and not out.exists()
    assert "`audit import libero-log experiments/logs/EVAL-libero_spatial-openvla-" in result.stderr
    assert "`audit import rollout-videos` on the folder (4 video names)" in result.stderr
    scan = scan_folder(folder)
    decision = triage(scan.inventory)
    (log,) = [e for e in scan.inventory.entries if e.kind == "log"]
    assert log.format == "libero-log" and len(decision.offers) == 2
    assert run_cli(["audit", "import", "rollout-videos", folder, "--plan", write_plan(tmp_path), "--probe",
                    "libero", "--output", tmp_path / "videos.json"]).code == 0


def test_a_claim_safe_candidate_beside_a_log_notes_the_weaker_evidence(tmp_path: Path):
    from worldflux_nb.sample.harness_files import openvla_run

    folder = lerobot_run(tmp_path / "run")
    for name, text in openvla_run("libero_spatial", ["pick up the black bowl"], 1, lambda t, e: True).items():
        if name.endswith(".txt"):
            (folder / "EVAL.txt").write_text(text)
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 0, result.stderr
    notes = read_json(tmp_path / "report.json")["notes"]
    assert any("weaker grade (not used): `audit import libero-log EVAL.txt`" in n for n in notes)


# ---------------------------------------------------------------------------------------------
# Parquet in a run folder: generic evidence by its schema, never by the extension alone
# ---------------------------------------------------------------------------------------------

def generic_parquet_run(folder: Path, *, secret: str | None = None) -> tuple[Path, list[dict]]:
    """A folder holding generic evidence as Parquet (metadata as a struct column, gzip pages), a log
    and a config, and the same rows for the JSON Lines reference."""
    import random

    from test_generic_parquet import parquet, records, table_of

    rows = records(random.Random(5), 60)
    if secret:
        rows[3] = {**rows[3], "failure_reason": f"auth failed with {secret}"}
    folder.mkdir(parents=True)
    (folder / "evidence.parquet").write_bytes(parquet(table_of(rows, struct=True), compression="gzip",
                                                      write_statistics=False))
    (folder / "eval.log").write_text("INFO eval started\n")
    (folder / "config.yaml").write_text("policy: smolvla\n")
    return folder, rows


def lerobot_dataset_frames(episodes: int = 3, frames: int = 4) -> "pa.Table":
    """The frames table of a LeRobot dataset (`data/chunk-000/file-000.parquet`): `DEFAULT_FEATURES`
    (timestamp, frame_index, episode_index, index, task_index) beside a state and an action vector and the
    `next.*` columns of a recorded rollout (huggingface/lerobot src/lerobot/datasets/utils.py,
    DEFAULT_FEATURES and DEFAULT_DATA_PATH, commit 00448aa1). Per-frame data, not per-episode evidence."""
    import pyarrow as pa

    n = episodes * frames
    vector = pa.list_(pa.float32(), 7)
    return pa.table({
        "observation.state": pa.array([[0.1 * i] * 7 for i in range(n)], vector),
        "action": pa.array([[0.0] * 7 for _ in range(n)], vector),
        "timestamp": pa.array([(i % frames) / 10 for i in range(n)], pa.float32()),
        "frame_index": pa.array([i % frames for i in range(n)], pa.int64()),
        "episode_index": pa.array([i // frames for i in range(n)], pa.int64()),
        "index": pa.array(range(n), pa.int64()),
        "task_index": pa.array([0] * n, pa.int64()),
        "next.reward": pa.array([float(i % frames == frames - 1) for i in range(n)], pa.float32()),
        "next.success": pa.array([i % frames == frames - 1 for i in range(n)]),
        "next.done": pa.array([i % frames == frames - 1 for i in range(n)]),
    })


def test_generic_parquet_evidence_is_recognised_and_imported_as_audit_import_parquet_reads_it(tmp_path: Path):
    from test_conformance import make_plan
    from test_generic_parquet import jsonl

    folder, rows = generic_parquet_run(tmp_path / "run")
    (entry,) = [e for e in scan_folder(folder).inventory.entries if e.path == "evidence.parquet"]
    assert (entry.kind, entry.format) == ("per_episode", "parquet") and entry.read
    plan = write_plan(tmp_path, make_plan(13))
    out = tmp_path / "audit.json"
    result = run_cli(["audit", "import", "run-folder", folder, "--plan", plan, "--probe", "alpha",
                      "--output", out, "--report-json", tmp_path / "report.json"])
    assert result.code == 0, result.stderr
    assert "from evidence.parquet (parquet, 60 episodes)" in result.stdout
    (tmp_path / "e.jsonl").write_text(jsonl(rows))
    for fmt, source in (("parquet", folder / "evidence.parquet"), ("jsonl", tmp_path / "e.jsonl")):
        direct = tmp_path / f"{fmt}.json"
        assert run_cli(["audit", "import", fmt, source, "--plan", plan, "--probe", "alpha",
                        "--output", direct]).code == 0
        assert load(direct).episodes.content_digest() == load(out).episodes.content_digest()
    assert read_json(tmp_path / "report.json")["candidate"]["format"] == "parquet"


def parquet_bytes(table, **kwargs) -> bytes:
    from test_generic_parquet import parquet

    return parquet(table, **kwargs)


def not_evidence_cases() -> dict:
    """Files named `.parquet` that are not generic evidence, each with why."""
    import pyarrow as pa

    base = {"task_id": ["suite/0", "suite/1"], "axis": ["nominal"] * 2, "level": [0, 0],
            "episode_index": [0, 1], "success": [True, False]}
    return {
        "LeRobot dataset frames": parquet_bytes(lerobot_dataset_frames()),
        "JSON Lines under a .parquet name": b'{"task_id": "suite/0", "episode_index": 0, "success": true}\n',
        "a truncated file": parquet_bytes(pa.table(base))[:-30],
        "empty bytes": b"",
        "a column that is not a generic field": parquet_bytes(pa.table({**base, "score": [1.0, 0.0]})),
        "success as a list": parquet_bytes(pa.table({**base, "success": [[True], [False]]})),
        "a list inside the metadata struct": parquet_bytes(pa.table({**base, "metadata": [{"t": [1]}, {"t": []}]})),
        "a column twice": parquet_bytes(pa.table([pa.array(v) for v in base.values()] + [pa.array([1, 2])],
                                                 names=[*base, "episode_index"])),
        "no rows": parquet_bytes(pa.table({k: pa.array([], pa.array(v).type) for k, v in base.items()})),
        "metadata twice, a struct first": parquet_bytes(pa.table(
            [*(pa.array(v) for v in base.values()), pa.array([{"a": 1}, {"a": 2}]), pa.array(['{"b": 1}'] * 2)],
            names=[*base, "metadata", "metadata"])),
    }


@pytest.mark.parametrize("case", list(not_evidence_cases()))
def test_a_parquet_file_that_is_not_generic_evidence_is_data(tmp_path: Path, case: str):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "table.parquet").write_bytes(not_evidence_cases()[case])
    (entry,) = scan_folder(folder).inventory.entries
    assert (entry.kind, entry.format, entry.read, entry.secret_kinds) == ("data", None, True, ()), entry


def test_a_worldflux_audit_input_in_parquet_is_not_a_candidate(tmp_path: Path):
    """An audit input written as Parquet has the generic columns, but it is this tool's output (its
    header in the file's metadata), not the harness's: the harness file beside it is the one candidate."""
    folder = lerobot_run(tmp_path / "run")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 0, result.stderr
    plan = write_plan(tmp_path)
    earlier = folder / "audit_input.parquet"
    assert run_cli(["audit", "import", "lerobot", folder / "eval_info.json", "--plan", plan, "--probe", "libero",
                    "--output", earlier]).code == 0
    entries = {e.path: e for e in scan_folder(folder).inventory.entries}
    assert entries["audit_input.parquet"].kind == "data"
    again, out_again, _ = import_folder(tmp_path, folder)
    assert again.code == 0, again.stderr
    assert load(out_again).episodes.content_digest() == load(out).episodes.content_digest()


def test_parquet_shapes_short_of_evidence_are_named(tmp_path: Path):
    import pyarrow as pa

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "outcomes.parquet").write_bytes(parquet_bytes(pa.table({"task_id": ["suite/0"], "success": [True]})))
    (folder / "returns.parquet").write_bytes(parquet_bytes(pa.table({"task_id": ["suite/0"], "episode_index": [0],
                                                                     "metadata.return": [3.5]})))
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2 and not out.exists()
    assert "missing denominator information: outcomes.parquet" in result.stderr
    assert "score-only: returns.parquet" in result.stderr


def test_a_dataset_parquet_beside_the_harness_file_is_not_a_candidate(tmp_path: Path):
    folder = lerobot_run(tmp_path / "run")
    (folder / "dataset" / "data" / "chunk-000").mkdir(parents=True)
    (folder / "dataset" / "data" / "chunk-000" / "file-000.parquet").write_bytes(
        parquet_bytes(lerobot_dataset_frames()))
    generic_parquet_run(folder / "other")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2 and "ambiguous: 2 candidate" in result.stderr
    assert "other/evidence.parquet [parquet]" in result.stderr and "file-000.parquet" not in result.stderr
    shutil.rmtree(folder / "other")
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 0, result.stderr


def test_a_secret_in_compressed_parquet_pages_is_found(tmp_path: Path):
    """gzip pages (without min/max statistics) hide a token from a scan of the bytes; the triage reads the file's text values
    (nested ones too) and refuses the folder without echoing the token."""
    import pyarrow as pa

    secret = "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7"
    folder, _ = generic_parquet_run(tmp_path / "run", secret=secret)
    assert secret.encode() not in (folder / "evidence.parquet").read_bytes()
    result, out, _ = import_folder(tmp_path, folder)
    assert result.code == 2 and not out.exists()
    assert "likely secrets: evidence.parquet (huggingface_token)" in result.stderr and secret not in result.stderr
    nested = tmp_path / "nested"
    nested.mkdir()
    frames = lerobot_dataset_frames().append_column("tags", pa.array([{"k": [f"token {secret}"]}] * 12))
    (nested / "frames.parquet").write_bytes(parquet_bytes(frames, compression="gzip", write_statistics=False))
    assert secret.encode() not in (nested / "frames.parquet").read_bytes()
    (entry,) = scan_folder(nested).inventory.entries
    assert entry.kind == "data" and entry.secret_kinds == ("huggingface_token",)


def test_a_secret_in_a_parquet_column_named_twice_is_found(tmp_path: Path):
    """A column name given twice is legal in Parquet; pyarrow's read_table refuses such a file, which
    left the scan with the compressed bytes alone. Both copies are read and scanned."""
    import pyarrow as pa

    secret = "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7"
    frames = lerobot_dataset_frames()
    frames = frames.append_column("note", pa.array(["ok"] * 12)).append_column("note", pa.array([f"token {secret}"] * 12))
    folder = tmp_path / "twice"
    folder.mkdir()
    (folder / "frames.parquet").write_bytes(parquet_bytes(frames, compression="gzip", write_statistics=False))
    assert secret.encode() not in (folder / "frames.parquet").read_bytes()
    (entry,) = scan_folder(folder).inventory.entries
    assert entry.secret_kinds == ("huggingface_token",)
