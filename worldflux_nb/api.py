"""The Python API, one function per command-line step: `profile`, `plan`, `run_sheet`,
`import_evidence`, `packet`, `brief`, `compare` (and `contract`, `conformance`, `charts`, `save`).
Each takes objects or file paths (a path is loaded and its digest verified) and returns the sealed
artifact, which displays itself in Jupyter. The heavy modules load inside the functions."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence, TypeVar

if TYPE_CHECKING:
    from worldflux_nb.models import (
        Artifact, AuditInput, Comparison, CustomEvalContract, EvalPacket, EvalProfile, ProtocolPlan,
        ReviewerBrief, RunSheet,
    )

PathLike = str | os.PathLike[str]
A = TypeVar("A")


def _artifact(value: Any, cls: type[A]) -> A:
    """The artifact itself, or the one loaded (digest verified) from a path."""
    if isinstance(value, cls):
        return value
    if isinstance(value, (str, os.PathLike)):
        from worldflux_nb.io.artifacts import load

        return load(value, cls)  # type: ignore[arg-type]
    raise TypeError(f"expected a {cls.__name__} or a path to one, got {type(value).__name__}")


def profile(path: PathLike | None = None, **fields: Any) -> EvalProfile:
    """`eval-profile create`: a sealed profile from its fields, or the one in `path`; with neither,
    the bundled reference profile (a tabletop Franka on LIBERO)."""
    from worldflux_nb.models import EvalProfile

    if path is not None and fields:
        raise TypeError("give a profile file or profile fields, not both")
    if path is not None:
        return _artifact(path, EvalProfile)
    if not fields:
        from worldflux_nb.sample import reference_profile

        return reference_profile()
    from worldflux_nb.io.artifacts import validate

    return validate(EvalProfile, fields, "profile").sealed()


def contract(value: CustomEvalContract | PathLike) -> CustomEvalContract:
    """A custom eval contract as `--custom-eval-contract` reads it (a path), or "reference" for the
    bundled sample (a customer's bin-picking station)."""
    from worldflux_nb.models import CustomEvalContract

    if isinstance(value, CustomEvalContract):
        return value
    if value == "reference":
        from worldflux_nb.sample import reference_contract

        return reference_contract()
    from worldflux_nb.io.artifacts import load_contract

    return load_contract(value)


def plan(profile: EvalProfile | PathLike, *, seed: int, seed_source: str = "operator_supplied",
         contracts: Sequence[CustomEvalContract | PathLike] = (), **options: Any) -> ProtocolPlan:
    """`eval-portfolio plan`: the frozen, sealed protocol plan. `contracts` are custom eval contracts
    (objects, paths, or "reference" for the bundled sample); `options` are `build_plan`'s
    (episodes_per_cell, denominator_policy, max_ci_half_width, min_episodes_per_cell, protocol, ...)."""
    from worldflux_nb.core.planning import build_plan
    from worldflux_nb.models import EvalProfile

    return build_plan(_artifact(profile, EvalProfile), seed=seed, seed_source=seed_source,
                      contracts=[contract(c) for c in contracts], **options)


def run_sheet(plan: ProtocolPlan | PathLike) -> RunSheet:
    """`eval-portfolio render-run-sheet`: the plan as one row per episode, for whoever runs it."""
    from worldflux_nb.core.run_sheet import run_sheet_for
    from worldflux_nb.models import ProtocolPlan

    return run_sheet_for(_artifact(plan, ProtocolPlan))


def import_evidence(format: str, path: PathLike, *, plan: ProtocolPlan | PathLike, probe: str | None = None,
                    task: str | None = None, axis: str | None = None, level: int | str | None = None,
                    task_map: Mapping[str, str] | None = None, harness_version: str | None = None,
                    max_evidence_rows: int | None = None) -> AuditInput:
    """`audit import FORMAT FILE --plan --probe [--task --axis --level --task-map --harness-version
    --max-evidence-rows]`: a harness's own output file as a sealed audit input (format `audit_input`
    loads one already made)."""
    from worldflux_nb.io.evidence_entries import entry_from_mapping, import_entry
    from worldflux_nb.models import ProtocolPlan

    entry = {"format": format, "path": os.fspath(path), "probe_id": probe, "task": task, "axis": axis,
             "level": level, "task_map": dict(task_map or {}), "harness_version": harness_version}
    return import_entry(entry_from_mapping({k: v for k, v in entry.items() if v not in (None, {})}, "import_evidence"),
                        _artifact(plan, ProtocolPlan), max_evidence_rows=max_evidence_rows)


def _audit_inputs(values: Sequence[AuditInput | PathLike], max_evidence_rows: int | None) -> list[AuditInput]:
    """Audit inputs as `eval-portfolio packet` takes them: each file read, and each one checked, under
    the row limit."""
    from worldflux_nb.io.evidence_limits import API_KEYWORD, check_evidence_rows, load_audit_input, row_limit
    from worldflux_nb.models import AuditInput

    limit = row_limit(max_evidence_rows)
    out = []
    for position, value in enumerate(values):
        if isinstance(value, (str, os.PathLike)):
            out.append(load_audit_input(os.fspath(value), limit))
        elif isinstance(value, AuditInput):
            out.append(check_evidence_rows(value, f"audit_inputs[{position}]", limit, API_KEYWORD))
        else:
            raise TypeError(f"expected an AuditInput or a path to one, got {type(value).__name__}")
    return out


def packet(plan: ProtocolPlan | PathLike, audit_inputs: Sequence[AuditInput | PathLike], *,
           strict_missing_evidence: bool = False, interval: str = "wilson", conformance: Any = None,
           max_evidence_rows: int | None = None) -> EvalPacket:
    """`eval-portfolio packet`: the evidence checked against the plan, sealed. Pass the result of
    `check_conformance` as `conformance` when you also chart its rows, so it is computed once."""
    from worldflux_nb.core.packet import build_packet
    from worldflux_nb.core.statistics import INTERVAL_METHODS
    from worldflux_nb.errors import InputError
    from worldflux_nb.models import ProtocolPlan

    if interval not in INTERVAL_METHODS:
        raise InputError(None, "interval", f"must be one of {', '.join(INTERVAL_METHODS)}, not {interval!r}")
    return build_packet(_artifact(plan, ProtocolPlan), _audit_inputs(audit_inputs, max_evidence_rows),
                        strict_missing_evidence=strict_missing_evidence, interval=interval,  # type: ignore[arg-type]
                        conformance=conformance)


def brief(packet: EvalPacket | PathLike, *, packet_markdown_ref: str | None = None) -> ReviewerBrief:
    """`eval-portfolio reviewer-brief`: the private reviewer brief of a packet (never public-share-ready)."""
    from worldflux_nb.core.brief import build_brief
    from worldflux_nb.models import EvalPacket

    return build_brief(_artifact(packet, EvalPacket), packet_markdown_ref=packet_markdown_ref)


def compare(plan: ProtocolPlan | PathLike, arms: Mapping[str, Any], *, baseline: str | None = None,
            max_evidence_rows: int | None = None) -> Comparison:
    """`eval-portfolio compare`: policies compared on one frozen plan. `arms` maps each policy to its
    audit inputs (objects or paths, one or a list); the first arm is the baseline unless `baseline`
    names another."""
    from worldflux_nb.core.compare import build_comparison
    from worldflux_nb.models import ProtocolPlan

    if not isinstance(arms, Mapping):
        raise TypeError(f"arms must map each policy name to its audit inputs, not a {type(arms).__name__}")
    # One audit input may be given alone (a path is text: iterating it would read its characters).
    evidence = {name: _audit_inputs(audits if isinstance(audits, (list, tuple)) else [audits],
                                    max_evidence_rows) for name, audits in arms.items()}
    return build_comparison(_artifact(plan, ProtocolPlan), evidence, baseline=baseline)


def conformance(plan: ProtocolPlan | PathLike, audit_inputs: Sequence[AuditInput | PathLike], *,
                max_evidence_rows: int | None = None) -> Any:
    """Each evidence row checked against the plan (`.rows` is what the charts and the explorer draw)."""
    from worldflux_nb.core.conformance import check_conformance
    from worldflux_nb.models import ProtocolPlan

    return check_conformance(_artifact(plan, ProtocolPlan), _audit_inputs(audit_inputs, max_evidence_rows))


def charts(packet: EvalPacket, *, evidence: Any = None, plan: ProtocolPlan | None = None) -> list[Any]:
    """The packet's three charts (conformance matrix, denominators, power), ready to display."""
    from worldflux_nb.render.charts import conformance_matrix, denominator_chart, power_chart

    return [conformance_matrix(packet, evidence=evidence, plan=plan), denominator_chart(packet),
            power_chart(packet, plan)]


def save(artifact: Artifact, path: PathLike) -> None:
    """Write an artifact as the command line does (atomic, owner-readable, never over an input): an
    audit input to a `.parquet` path as Parquet, everything else as JSON."""
    from worldflux_nb.io.artifacts import artifact_bytes, audit_input_file
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.models import AuditInput

    write_outputs({path: audit_input_file(artifact, path) if isinstance(artifact, AuditInput)
                   else artifact_bytes(artifact)})
