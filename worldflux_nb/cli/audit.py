"""`audit import FORMAT SOURCE` and `audit triage DIR`: harness output in, sealed AuditInput out.

`audit import run-folder DIR` writes the audit input and its private triage report only when the
folder has exactly one claim-safe candidate (or one run's result files side by side, read together
as the format's folder importer reads them); a refused folder exits 2 with the reasons and writes
nothing, and `audit triage DIR --report r.md` writes the inventory report on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

from worldflux_nb.cli import positive_int, positive_seconds
from worldflux_nb.core.importers import FORMATS, ALIASES, ImportOptions, importer_for, parse_level, parse_task_map
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import json_text, write_outputs

RUN_FOLDER = "run-folder"


def _options(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions(task_map=parse_task_map(args.task_map or []), task=args.task,
                         axis=args.axis, level=parse_level(args.level) if args.level is not None else None,
                         harness_version=args.harness_version)


def _load_plan(path: str):
    from worldflux_nb.io.artifacts import load
    from worldflux_nb.models.plan import ProtocolPlan

    return load(path, ProtocolPlan)


def _one_blas_thread() -> None:
    """An import does no linear algebra: numpy's OpenBLAS, loaded with pyarrow, starts one thread per
    core unless told otherwise (~0.1 s of every import's start). Only before numpy loads, and never
    over the caller's own setting."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@contextlib.contextmanager
def _byte_limit(args: argparse.Namespace) -> Iterator[int]:
    """The largest harness file `--max-bytes` or else `--max-evidence-rows` allows; a file refused
    as larger inside the block names the flag that raises the limit."""
    from worldflux_nb.io.evidence_limits import evidence_bytes_limit, naming_the_flag

    if args.max_bytes is not None:
        with naming_the_flag("--max-bytes"):
            yield args.max_bytes
    else:
        with naming_the_flag("--max-evidence-rows", args.max_evidence_rows):
            yield evidence_bytes_limit(args.max_evidence_rows)


def _handle_import(args: argparse.Namespace) -> int:
    _one_blas_thread()
    from worldflux_nb.io.artifacts import audit_input_file

    if args.format == RUN_FOLDER:
        return _handle_run_folder(args)
    importer = importer_for(args.format)
    if importer is None:
        known = ", ".join([*FORMATS, RUN_FOLDER])
        raise InputError(None, "FORMAT", f"{args.format!r} is not a known format ({known})")
    if args.report or args.report_json:
        raise InputError(None, "--report", "only `audit import run-folder` writes a triage report")
    options = _options(args)
    from worldflux_nb.io.evidence_files import check_evidence_rows, import_file

    from worldflux_nb.io.artifacts import ParquetRowGroups, is_parquet_path

    begun: list[ParquetRowGroups] = []

    def episodes_ready(episodes) -> None:  # a Parquet file's row groups are encoded while the digest is computed
        if is_parquet_path(args.output) and (started := ParquetRowGroups.begin(episodes, background=True)):
            begun.append(started)

    try:
        # The plan is loaded by import_file once the file's read has begun (DuckDB parses meanwhile).
        with _byte_limit(args) as max_bytes:
            audit = import_file(importer, args.source, plan=lambda: _load_plan(args.plan), probe_id=args.probe,
                                options=options, max_bytes=max_bytes, episodes_ready=episodes_ready)
        audit = check_evidence_rows(audit, args.source, args.max_evidence_rows)
        content = audit_input_file(audit, args.output, begun=begun[0] if begun else None)
    finally:
        for started in begun:
            started.cancel()
    write_outputs({args.output: content})
    print(f"audit input: {args.output} ({len(audit.episodes)} episodes, identity {audit.source.identity})")
    return 0


def _scan(args: argparse.Namespace):
    from worldflux_nb.io.evidence_files import DEFAULT_MAX_BYTES
    from worldflux_nb.io.run_folder_scan import ScanLimits, scan_folder

    limits = ScanLimits(max_files=args.max_files, max_total_bytes=args.max_total_bytes,
                        max_file_bytes=args.max_bytes if args.max_bytes is not None else DEFAULT_MAX_BYTES,
                        max_seconds=args.max_seconds)
    return scan_folder(args.source, limits)


def _report_outputs(args: argparse.Namespace, report) -> list[tuple[str, str]]:
    from worldflux_nb.render.evidence_doc import run_folder_report_document
    from worldflux_nb.render.markdown import to_markdown

    outputs: list[tuple[str, str]] = []
    if args.report:
        outputs.append((args.report, to_markdown(run_folder_report_document(report))))
    if args.report_json:
        outputs.append((args.report_json, json_text(report.to_json_dict())))
    return outputs


def _handle_run_folder(args: argparse.Namespace) -> int:
    from worldflux_nb.core.importers import run_folder
    from worldflux_nb.io.artifacts import audit_input_file
    from worldflux_nb.io.evidence_files import import_bytes, import_result_files

    options = _options(args)
    plan = _load_plan(args.plan)
    scan = _scan(args)
    decision = run_folder.triage(scan.inventory)
    if decision.decision != "import" or decision.candidate is None:
        raise InputError(args.source, None,
                         "refused: " + "; ".join(decision.reasons)
                         + f" (nothing written; `worldflux-nb audit triage {args.source} --report "
                           "report.md` writes the full inventory)")
    candidate = decision.candidate
    importer = FORMATS[candidate.format or ""]
    if decision.folder is not None:  # one run's result files, read as the format's folder importer reads them
        prefix = "" if decision.folder == "." else decision.folder + "/"
        members = sorted(decision.candidates, key=lambda c: c.path)
        named = [(c.path[len(prefix):], scan.contents[c.path]) for c in members]
        audit = import_result_files(importer, named, source=str(Path(args.source) / decision.folder), plan=plan,
                                    probe_id=args.probe, options=options)
        read = f"{len(named)} result files in {decision.folder}"
    else:
        audit = import_bytes(importer, scan.contents[candidate.path],
                             source=str(Path(args.source) / candidate.path), plan=plan,
                             probe_id=args.probe, options=options)
        read = candidate.path
    report = run_folder.report_for(scan.inventory, decision, probe_id=args.probe,
                                   audit_digest=audit.audit_digest, episodes=len(audit.episodes))
    write_outputs([(args.output, audit_input_file(audit, args.output)), *_report_outputs(args, report)])
    print(f"audit input: {args.output} from {read} ({candidate.format}, {len(audit.episodes)} episodes)")
    return 0


def _handle_triage(args: argparse.Namespace) -> int:
    from worldflux_nb.core.importers import run_folder

    if not args.report and not args.report_json:
        raise InputError(None, "--report", "give --report (Markdown) and/or --report-json")
    scan = _scan(args)
    decision = run_folder.triage(scan.inventory)
    write_outputs(_report_outputs(args, run_folder.report_for(scan.inventory, decision)))
    print(f"triage: {decision.decision}" + ("" if decision.decision == "import"
                                             else " — " + "; ".join(decision.reasons)), file=sys.stdout)
    return 0


EXIT_DISAGREES = 1  # like diff and cmp: 0 the same, 1 different, 2 trouble


def _handle_verify(args: argparse.Namespace) -> int:
    """Re-import SOURCE as the audit input was imported and say whether the rows agree."""
    from worldflux_nb.core.conformance import plan_digest
    from worldflux_nb.io.evidence_limits import load_audit_input
    from worldflux_nb.io.source_verify import verify_source

    plan = _load_plan(args.plan)
    audit = load_audit_input(args.audit, args.max_evidence_rows, "--max-evidence-rows")
    if audit.plan_digest != plan_digest(plan):
        raise InputError(args.audit, "plan_digest", f"is {audit.plan_digest}, but {args.plan} has "
                         f"{plan_digest(plan)}: verify an audit input against the plan it was imported for")
    importer = None
    if args.format:
        importer = importer_for(args.format)
        if importer is None:
            raise InputError(None, "--format", f"{args.format!r} is not a known format ({', '.join(FORMATS)})")
    explicit = args.task_map or args.task or args.axis or args.level is not None
    # The harness file under the limits `audit import` read it with.
    with _byte_limit(args) as max_bytes:
        result = verify_source(audit, args.source, plan, importer=importer,
                               options=[_options(args)] if explicit else None, max_bytes=max_bytes)
    if result.agrees:
        print(f"agrees: {args.audit} holds the {result.rows} rows a fresh import of {args.source} gives "
              f"({result.source_digest})")
        return 0
    print(f"disagrees: {args.audit} is not what {args.source} gives ({result.source_digest}):", file=sys.stdout)
    for line in result.differences:
        print(f"  - {line}", file=sys.stdout)
    return EXIT_DISAGREES


def _add_scan_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-files", type=positive_int, default=20_000, help="run-folder: stop after this many files")
    parser.add_argument("--max-total-bytes", type=positive_int, default=1024 ** 3,
                        help="run-folder: stop after reading this many bytes in all")
    parser.add_argument("--max-seconds", type=positive_seconds, default=120.0, help="run-folder: stop walking after this long")


def register(groups: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from worldflux_nb.io.evidence_files import DEFAULT_MAX_BYTES, DEFAULT_MAX_EVIDENCE_ROWS

    group = groups.add_parser("audit", help="import harness output as per-episode evidence")
    commands = group.add_subparsers(dest="audit_command", metavar="COMMAND")

    imp = commands.add_parser("import", help="write audit.json from a harness output file or run folder")
    formats = ", ".join([*FORMATS, RUN_FOLDER])
    imp.add_argument("format", metavar="FORMAT", help=f"one of {formats} (also {', '.join(ALIASES)})")
    imp.add_argument("source", metavar="SOURCE",
                     help="the harness output file, or its output folder (run-folder, vla-eval, rollout-videos)")
    imp.add_argument("--plan", required=True, help="the frozen plan.json the evidence answers")
    imp.add_argument("--probe", required=True, help="the probe id of the plan the evidence is for")
    imp.add_argument("--output", required=True, help="where to write the audit input: audit.json, or audit.parquet for typed columns (same digest)")
    imp.add_argument("--task-map", action="append", metavar="HARNESS_NAME=PLAN_TASK",
                     help="map a harness task name to a plan task (repeatable)")
    imp.add_argument("--task", help="the plan task of a file that names none (LeRobot legacy, ManiSkill)")
    imp.add_argument("--axis", help="perturbation axis for files that carry none")
    imp.add_argument("--level", help="perturbation level for files that carry none")
    imp.add_argument("--harness-version", metavar="VERSION",
                     help="the harness version that wrote a file that does not record it (LeRobot: "
                          "0.6.1 or later lets the import claim the harness's own episode order)")
    imp.add_argument("--max-evidence-rows", type=positive_int, default=DEFAULT_MAX_EVIDENCE_ROWS,
                     help="refuse evidence of more rows than this (the same flag and default as "
                          "`eval-portfolio packet`; it also caps the file at 1 KiB a row)")
    imp.add_argument("--max-bytes", type=positive_int, default=None,
                     help="refuse input files larger than this many bytes (default: from "
                          f"--max-evidence-rows; run-folder files: {DEFAULT_MAX_BYTES})")
    imp.add_argument("--report", help="run-folder: also write the private triage report (Markdown)")
    imp.add_argument("--report-json", help="run-folder: also write the triage report as JSON")
    _add_scan_limits(imp)
    imp.set_defaults(handler=_handle_import)

    ver = commands.add_parser(
        "verify", help="re-import SOURCE and say whether the audit input's rows agree "
                       "(exit 0 agree, 1 disagree, 2 bad input)")
    ver.add_argument("audit", metavar="AUDIT", help="the audit_input.json to check")
    ver.add_argument("source", metavar="SOURCE", help="the harness output file it claims to come from")
    ver.add_argument("--plan", required=True, help="the frozen plan.json the audit input was imported for")
    ver.add_argument("--format", help="the harness format (default: the importer the audit input records)")
    ver.add_argument("--task-map", action="append", metavar="HARNESS_NAME=PLAN_TASK",
                     help="as given to `audit import` (default: the mapping the audit input records)")
    ver.add_argument("--task", help="as given to `audit import`")
    ver.add_argument("--axis", help="as given to `audit import`")
    ver.add_argument("--level", help="as given to `audit import`")
    ver.add_argument("--max-evidence-rows", type=positive_int, default=DEFAULT_MAX_EVIDENCE_ROWS,
                     help="refuse evidence of more rows than this (the same flag and default as `audit "
                          "import`; it also caps the files at 1 KiB a row)")
    ver.add_argument("--max-bytes", type=positive_int, default=None,
                     help="refuse a harness file larger than this many bytes (default: from --max-evidence-rows)")
    ver.set_defaults(handler=_handle_verify)

    tri = commands.add_parser("triage", help="write a private, read-only inventory report of a run folder")
    tri.add_argument("source", metavar="DIR", help="the run folder")
    tri.add_argument("--report", help="the triage report (Markdown)")
    tri.add_argument("--report-json", help="the triage report as JSON")
    tri.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, help="do not read files larger than this")
    _add_scan_limits(tri)
    tri.set_defaults(handler=_handle_triage)
