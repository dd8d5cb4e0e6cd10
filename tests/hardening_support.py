"""Helpers for the hardening tests: run the CLI in-process, build the reference flow, snapshot folders."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from conftest import REFERENCE_PROFILE_ARGS

from worldflux_nb.cli import main


OLD_MTIME = 1_600_000_000  # pre-existing outputs are dated in the past so any rewrite shows
SENTINEL = "pre-existing output: must survive a refused command\n"
OUTPUTS = ("out.json", "out.md", "out2.json", "out2.md")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def cli(argv: Sequence[str]) -> CliResult:
    """Run `worldflux-nb ARGV` in this process and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return CliResult(code, out.getvalue(), err.getvalue())


def cli_ok(argv: Sequence[str]) -> CliResult:
    result = cli(argv)
    assert result.code == 0, f"worldflux-nb {' '.join(map(str, argv))} exited {result.code}: {result.stderr}"
    return result


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under the folder (symlinks included, not followed) with its bytes and mtime."""
    found: dict[str, tuple[bytes, int]] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            found[rel] = (str(path.readlink()).encode(), path.lstat().st_mtime_ns)
        elif path.is_file():
            stat = path.stat()
            # Huge (sparse) inputs are compared by size and mtime; reading them would be the slow part.
            content = path.read_bytes() if stat.st_size < 64 * 1024 * 1024 else f"{stat.st_size} bytes".encode()
            found[rel] = (content, stat.st_mtime_ns)
        else:
            found[rel] = (b"<dir>", 0)
    return found


def evidence_for(run_sheet: dict[str, Any], plan: dict[str, Any], probe_id: str, *,
                 seed: int = 3) -> list[dict[str, Any]]:
    """Generic evidence rows for every planned episode of one probe, repeating the pinned metadata."""
    rng = random.Random(f"{seed}:{probe_id}")
    pinned = next(p for p in plan["selected_probes"] if p["probe_id"] == probe_id).get("pinned_metadata", {})
    rows = []
    for episode in run_sheet["episodes"]:
        if episode["probe_id"] != probe_id:
            continue
        rows.append({key: episode[key] for key in
                     ("probe_id", "task_id", "axis", "level", "episode_index", "seed")}
                    | {"success": rng.random() < 0.6, "status": "completed",
                       "metadata": dict(pinned)})
    return rows


def write_jsonl(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@dataclass
class Flow:
    """The files of one reference flow, profile to brief, built through the command line."""

    folder: Path
    probes: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Path:
        return self.folder / FLOW_FILES[name]

    def audit(self, probe_id: str) -> Path:
        return self.folder / f"audit_{safe(probe_id)}.json"

    def evidence(self, probe_id: str) -> Path:
        return self.folder / f"evidence_{safe(probe_id)}.jsonl"

    def audit_args(self) -> list[str]:
        args: list[str] = []
        for probe in self.probes:
            args += ["--audit-input", f"{probe}={self.audit(probe)}"]
        return args


FLOW_FILES = {
    "profile": "profile.json", "contract": "contract.json", "plan": "plan.json",
    "plan_md": "plan.md", "run_sheet_md": "run_sheet.md", "run_sheet": "run_sheet.json",
    "packet_md": "packet.md", "packet": "packet.json", "brief_md": "reviewer_brief.md",
    "brief": "reviewer_brief.json",
}


def safe(probe_id: str) -> str:
    return probe_id.replace(":", "_").replace("/", "_")


def build_flow(folder: Path, *, profile_args: Sequence[str] = REFERENCE_PROFILE_ARGS,
               contract: dict[str, Any] | None = None,
               edit_rows: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
               plan_args: Sequence[str] = ()) -> Flow:
    """profile -> plan -> run sheet -> generic evidence -> audit inputs -> packet -> brief."""
    folder.mkdir(parents=True, exist_ok=True)
    flow = Flow(folder)
    cli_ok(["eval-profile", "create", *profile_args, "--output", flow.profile])
    extra = list(plan_args)
    if contract is not None:
        flow.contract.write_text(json.dumps(contract), encoding="utf-8")
        extra += ["--custom-eval-contract", flow.contract]
    cli_ok(["eval-portfolio", "plan", "--profile", flow.profile, "--seed", "1234",
            "--seed-source", "operator_supplied", *extra, "--output", flow.plan])
    cli_ok(["eval-portfolio", "render-plan", "--plan", flow.plan, "--output", flow.plan_md])
    cli_ok(["eval-portfolio", "render-run-sheet", "--plan", flow.plan, "--output", flow.run_sheet_md,
            "--run-sheet-json", flow.run_sheet])
    plan = json.loads(flow.plan.read_text(encoding="utf-8"))
    sheet = json.loads(flow.run_sheet.read_text(encoding="utf-8"))
    flow.probes = [p["probe_id"] for p in plan["selected_probes"]]
    for probe in flow.probes:
        rows = evidence_for(sheet, plan, probe)
        if edit_rows is not None:
            rows = edit_rows(probe, rows)
        write_jsonl(rows, flow.evidence(probe))
        cli_ok(["audit", "import", "jsonl", flow.evidence(probe), "--plan", flow.plan,
                "--probe", probe, "--output", flow.audit(probe)])
    cli_ok(["eval-portfolio", "packet", "--plan", flow.plan, *flow.audit_args(),
            "--output", flow.packet_md, "--packet-json", flow.packet])
    cli_ok(["eval-portfolio", "reviewer-brief", "--packet", flow.packet,
            "--packet-markdown-ref", flow.packet_md, "--output", flow.brief_md,
            "--brief-json", flow.brief])
    return flow


def prepare(golden: Flow, tmp_path: Path) -> tuple[Flow, Path]:
    d = tmp_path / "work"
    shutil.copytree(golden.folder, d, symlinks=True)
    for name in OUTPUTS:
        (d / name).write_text(SENTINEL, encoding="utf-8")
    for path in d.iterdir():
        if path.is_file() and not path.is_symlink():
            os.utime(path, (OLD_MTIME, OLD_MTIME))
    return Flow(d, list(golden.probes)), d
