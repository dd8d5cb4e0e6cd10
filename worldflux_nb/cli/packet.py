"""`eval-portfolio packet` and `eval-portfolio reviewer-brief`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from worldflux_nb.cli import positive_int
from worldflux_nb.errors import InputError

if TYPE_CHECKING:
    from concurrent.futures import Future

INTERVALS = {"wilson": "wilson", "clopper-pearson": "clopper_pearson"}


def register(group: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the packet commands to the `eval-portfolio` group created in cli/portfolio.py."""
    packet = group.add_parser("packet", help="check audit inputs against the plan; write the eval packet")
    packet.add_argument("--plan", required=True, help="plan.json")
    packet.add_argument("--audit-input", action="append", default=[], metavar="PROBE_ID=audit.json",
                        help="an audit input for a selected probe (repeatable)")
    packet.add_argument("--strict-missing-evidence", action="store_true",
                        help="fail (exit 3, nothing written) on missing or underpowered evidence")
    packet.add_argument("--interval", choices=sorted(INTERVALS), default="wilson")
    packet.add_argument("--verify-source", action="append", default=[], metavar="PROBE_ID=HARNESS_FILE",
                        help="re-import the harness file behind an audit input of PROBE_ID and record whether "
                             "its rows agree (repeatable); inputs not verified this way are reported as such")
    packet.add_argument("--plan-receipt", help="the reviewer's plan_receipt.json: anchors the plan's freeze "
                                               "time in the reviewer's record instead of the plan's created_at")
    packet.add_argument("--max-evidence-rows", type=positive_int, default=None,
                        help="refuse an audit input of more rows than this (the same flag and default "
                             "as `audit import`; it also caps each audit input file at 1 KiB a row)")
    packet.add_argument("--output", required=True, help="packet.md to write")
    packet.add_argument("--packet-json", required=True, help="packet.json to write")
    packet.set_defaults(handler=packet_command)

    receipt = group.add_parser("plan-receipt", help="the reviewer's receipt of a plan digest, kept by the "
                                                    "reviewer to anchor the plan's freeze time")
    receipt.add_argument("--plan", required=True, help="plan.json as the reviewer received it")
    receipt.add_argument("--received-by", help="who received it (kept in the receipt)")
    receipt.add_argument("--output", required=True, help="plan_receipt.json to write")
    receipt.set_defaults(handler=receipt_command)

    brief = group.add_parser("reviewer-brief", help="the private reviewer brief for a packet")
    brief.add_argument("--packet", required=True, help="packet.json")
    brief.add_argument("--packet-markdown-ref", help="the packet's Markdown, as the brief should name it")
    brief.add_argument("--output", required=True, help="reviewer_brief.md to write")
    brief.add_argument("--brief-json", required=True, help="reviewer_brief.json to write")
    brief.set_defaults(handler=brief_command)


def _start_reading(pairs: list[str], max_rows: int | None) -> "Future[list]":
    """The audit input files named by `pairs` read (and their digests verified) on other threads, two
    at a time, each as `load` gives it or the exception it raises, in order: Parquet reads and SHA-256
    release the GIL, so this overlaps the command's imports and its reading of the plan. `_audit_inputs`
    checks them."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet  # noqa: F401  (imported here first, so no two threads import one module)

    import worldflux_nb.models.evidence_digest  # noqa: F401
    import worldflux_nb.models.evidence_table  # noqa: F401
    from worldflux_nb.background import started
    from worldflux_nb.io.evidence_limits import DEFAULT_MAX_EVIDENCE_ROWS, load_audit_input
    from worldflux_nb.models.evidence import AuditInput

    limit = DEFAULT_MAX_EVIDENCE_ROWS if max_rows is None else max_rows
    paths = [pair.partition("=")[2].strip() for pair in pairs]

    def read(path: str) -> object:
        try:
            return load_audit_input(path, limit, _FLAG) if path else None
        except Exception as exc:  # raised by _audit_inputs where reading this file in place would raise it
            return exc

    def read_all() -> list:
        AuditInput.model_rebuild(force=True)  # its validator built here once, not by two readers at once
        with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="wfnb-audit") as pool:
            # Each in this command's context: the files it reads are its inputs, which no output may replace.
            reads = [pool.submit(contextvars.copy_context().run, read, path) for path in paths]
            return [future.result() for future in reads]

    return started(read_all)


_FLAG = "--max-evidence-rows"

# Audit inputs read at once: each file's SHA-256 is one sequential stream, so two streams keep both
# cores busy (three 10M inputs: 2.3 s one at a time, 1.7 s two at a time, 1.9-2.1 s all three at once).
_READERS = 2


def _audit_inputs(pairs: list[str], plan: object, max_rows: int | None = None,
                  reading: "Future[list] | None" = None) -> list:
    from worldflux_nb.io.evidence_limits import DEFAULT_MAX_EVIDENCE_ROWS, load_audit_input

    max_rows = DEFAULT_MAX_EVIDENCE_ROWS if max_rows is None else max_rows
    read = reading.result() if reading is not None else None
    selected = {p.probe_id for p in plan.selected_probes}  # type: ignore[attr-defined]
    inputs = []
    seen: dict[str, str] = {}  # audit digest -> the file it came from
    for position, pair in enumerate(pairs):
        probe_id, sep, path = pair.partition("=")
        probe_id, path = probe_id.strip(), path.strip()
        if not sep or not probe_id or not path:
            raise InputError("--audit-input", None, f"{pair!r} is not PROBE_ID=audit.json")
        if probe_id not in selected:
            raise InputError(path, "probe_id", f"{probe_id!r} is not a selected probe of the plan "
                             f"({', '.join(sorted(selected))})")
        audit = load_audit_input(path, max_rows, _FLAG) if read is None else read[position]
        if isinstance(audit, Exception):
            raise audit
        if audit.probe_id != probe_id:
            raise InputError(path, "probe_id", f"is {audit.probe_id!r}, but the command line says {probe_id!r}")
        if audit.audit_digest in seen:
            # The same evidence twice would read as re-runs of every episode it holds.
            raise InputError(path, "audit_digest", f"is the same audit input as {seen[audit.audit_digest]}; "
                             "give each audit input once")
        seen[audit.audit_digest] = path
        inputs.append(audit)
    from worldflux_nb.core.detect_sources import refuse_repeated_sources

    refuse_repeated_sources(inputs, [pair.partition("=")[2].strip() for pair in pairs])
    return inputs


def _verified(pairs: list[str], inputs: list, plan: object, max_rows: int | None = None) -> dict[int, list[str]]:
    """Per audit input position, the differences a re-import of its harness file found ([]: agrees);
    each harness file read under the limit `audit import` read it with."""
    if not pairs:
        return {}  # nothing to re-import: the importers are not even loaded
    from worldflux_nb.io.evidence_limits import DEFAULT_MAX_EVIDENCE_ROWS, naming_the_flag

    max_rows = DEFAULT_MAX_EVIDENCE_ROWS if max_rows is None else max_rows
    with naming_the_flag(_FLAG, max_rows):
        return _reimported(pairs, inputs, plan, max_rows)


def _reimported(pairs: list[str], inputs: list, plan: object, max_rows: int) -> dict[int, list[str]]:
    from pathlib import Path

    from worldflux_nb.io.evidence_limits import evidence_bytes_limit
    from worldflux_nb.io.files import digest_of_file, file_identity
    from worldflux_nb.io.source_verify import verify_source

    max_bytes = evidence_bytes_limit(max_rows)
    verified: dict[int, list[str]] = {}
    seen: dict[tuple[object, ...], str] = {}
    for pair in pairs:
        probe_id, sep, path = (part.strip() for part in pair.partition("="))
        if not sep or not probe_id or not path:
            raise InputError("--verify-source", None, f"{pair!r} is not PROBE_ID=HARNESS_FILE")
        # One harness file counted twice would vouch twice for one re-import (same file by any name).
        earlier = seen.setdefault(file_identity(Path(path)), path)
        if earlier is not path:
            same = "" if earlier == path else f" (the same file as {earlier})"
            raise InputError(path, "--verify-source", f"is given twice{same}; give each harness file once")
        if Path(path).is_dir():  # a harness's results folder: the re-import names the files it read
            found = [i for i, ai in enumerate(inputs) if ai.probe_id == probe_id]
            for i in found:
                verified[i] = verify_source(inputs[i], path, plan,  # type: ignore[arg-type]
                                            max_bytes=max_bytes).differences
            if not found:
                raise InputError(path, "--verify-source", f"no audit input for {probe_id!r} was given")
            continue
        digest = digest_of_file(path, max_bytes=max_bytes)
        found = [i for i, ai in enumerate(inputs) if ai.probe_id == probe_id
                 and digest in {f.digest for f in ai.source.files}]
        if not found:
            raise InputError(path, "--verify-source", f"is not the harness file of any audit input for "
                             f"{probe_id!r} given with --audit-input (its digest {digest[:19]}… is not "
                             "among their source files)")
        for i in found:
            verified[i] = verify_source(inputs[i], path, plan, max_bytes=max_bytes).differences  # type: ignore[arg-type]
    return verified


def packet_command(args: argparse.Namespace) -> int:
    from worldflux_nb.background import prompt_handover

    with prompt_handover():  # the background thread's digests and draws get the GIL back sooner
        return _packet(args)


def _packet(args: argparse.Namespace) -> int:
    reading = _start_reading(args.audit_input, args.max_evidence_rows)
    from worldflux_nb.core.packet import build_packet
    from worldflux_nb.io.artifacts import artifact_bytes, load
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.models.plan import ProtocolPlan
    from worldflux_nb.render.markdown import to_markdown
    from worldflux_nb.render.packet_docs import packet_document

    from worldflux_nb.core.detect import SourceEvidence
    from worldflux_nb.core.detect_time import freeze_anchor
    from worldflux_nb.core.bulk import gc_paused
    from worldflux_nb.core.plan_keys import plan_keys
    from worldflux_nb.models.receipt import PlanReceipt

    plan = load(args.plan, ProtocolPlan)
    # While the audit inputs are still being read (Arrow kernels and SHA-256, which release the GIL),
    # this thread builds what needs only the plan, and loads the numpy modules the random draws and
    # exact tests would otherwise load on first use (numpy's lazy attributes), on the background
    # thread among them, which is to import nothing of its own (worldflux_nb/background.py).
    with gc_paused():  # as inside check_conformance, which built them before
        keys = [plan_keys(plan)]  # handed on with pop(): the packet lets go of them with the conformance result
    import numpy.fft  # noqa: F401
    import numpy.ma  # noqa: F401  (np.percentile's np.unique asks np.ma.is_masked)
    import numpy.random  # noqa: F401
    inputs = _audit_inputs(args.audit_input, plan, args.max_evidence_rows, reading)
    receipt = load(args.plan_receipt, PlanReceipt) if args.plan_receipt else None
    if receipt is not None:
        freeze_anchor(plan, receipt, args.plan_receipt)  # refuse a receipt for another plan up front
    sources = SourceEvidence(verified=_verified(args.verify_source, inputs, plan, args.max_evidence_rows),
                             receipt=receipt)
    packet = build_packet(plan, inputs, strict_missing_evidence=args.strict_missing_evidence,
                          interval=INTERVALS[args.interval], sources=sources, keys=keys.pop())  # type: ignore[arg-type]
    write_outputs([(args.output, to_markdown(packet_document(packet))),
                   (args.packet_json, artifact_bytes(packet))])
    c = packet.conformance
    print(f"packet: {c.matched}/{c.planned_episodes} planned episodes matched, {c.missing} missing, "
          f"{len(packet.warnings)} warnings; wrote {args.output} and {args.packet_json} (LOCAL_PRIVATE)")
    return 0


def receipt_command(args: argparse.Namespace) -> int:
    from worldflux_nb.core.conformance import plan_digest
    from worldflux_nb.io.artifacts import artifact_json, load, validate
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.models.plan import ProtocolPlan
    from worldflux_nb.models.receipt import PlanReceipt

    plan = load(args.plan, ProtocolPlan)
    receipt = validate(PlanReceipt, {"plan_id": plan.plan_id, "plan_digest": plan_digest(plan),
                                     "received_by": args.received_by or None}, "--received-by").sealed()
    write_outputs([(args.output, artifact_json(receipt))])
    print(f"plan receipt: {plan.plan_id} {receipt.plan_digest} received at {receipt.received_at}; "
          f"wrote {args.output} — keep it where the operator cannot change it")
    return 0


def brief_command(args: argparse.Namespace) -> int:
    from worldflux_nb.core.brief import build_brief
    from worldflux_nb.io.artifacts import artifact_json, load
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.models.packet import EvalPacket
    from worldflux_nb.render.markdown import to_markdown
    from worldflux_nb.render.packet_docs import brief_document

    packet = load(args.packet, EvalPacket)
    brief = build_brief(packet, packet_markdown_ref=args.packet_markdown_ref)
    write_outputs([(args.output, to_markdown(brief_document(brief))),
                   (args.brief_json, artifact_json(brief))])
    print(f"reviewer brief: {len(brief.reviewer_questions)} questions, not public-share-ready; "
          f"wrote {args.output} and {args.brief_json} (LOCAL_PRIVATE)")
    return 0
