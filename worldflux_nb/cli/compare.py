"""`eval-portfolio compare`: policies compared on one frozen plan (comparison.md, comparison.json)."""

from __future__ import annotations

import argparse

from worldflux_nb.cli import positive_int
from worldflux_nb.errors import InputError

COMMAND = "eval-portfolio compare"


def register(group: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `compare` to the `eval-portfolio` group created in cli/portfolio.py."""
    compare = group.add_parser("compare", help="compare policies' evidence on one frozen plan")
    compare.add_argument("--plan", required=True, help="plan.json")
    compare.add_argument("--arm", action="append", nargs="+", default=[], metavar="NAME PROBE_ID=audit.json",
                         help="an arm: its name, then its audit inputs (repeat --arm for each policy)")
    compare.add_argument("--baseline", help="the baseline arm (default: the first --arm)")
    compare.add_argument("--output", required=True, help="comparison.md to write")
    compare.add_argument("--comparison-json", required=True, help="comparison.json to write")
    compare.add_argument("--brief", help="comparison_brief.md to write (the reviewer's questions)")
    compare.add_argument("--max-evidence-rows", type=positive_int, default=None,
                         help="refuse an audit input of more rows than this (the same flag and default as "
                              "`audit import` and `eval-portfolio packet`)")
    compare.set_defaults(handler=compare_command)


def _arms(specs: list[list[str]], plan: object, max_rows: int | None = None) -> list[tuple[str, list]]:
    from worldflux_nb.cli.packet import _audit_inputs
    from worldflux_nb.core.compare import shared_evidence
    from worldflux_nb.core.compare_design import check_policy_name

    if len(specs) < 2:
        raise InputError(COMMAND, "--arm", "give at least two arms (--arm NAME PROBE_ID=audit.json ...)")
    arms = []
    for spec in specs:
        name, pairs = spec[0], spec[1:]
        if "=" in name:
            raise InputError(COMMAND, "--arm", f"{name!r} is not an arm name; write --arm NAME PROBE_ID=audit.json ...")
        try:
            check_policy_name(name, "--arm")
        except InputError as exc:
            raise InputError(COMMAND, "--arm", exc.problem) from None
        if any(name == other for other, _ in arms):
            raise InputError(COMMAND, "--arm", f"arm {name!r} is given twice")
        if not pairs:
            raise InputError(COMMAND, "--arm", f"arm {name!r} has no audit input (PROBE_ID=audit.json)")
        arms.append((name, _audit_inputs(pairs, plan, max_rows)))
        shared = shared_evidence(arms)
        if shared:
            _, index, owner = shared
            raise InputError(pairs[index].partition("=")[2].strip(), "audit_digest",
                             f"is the same evidence as arm {owner!r} gave; each arm needs its own audit inputs")
    return arms


def compare_command(args: argparse.Namespace) -> int:
    from worldflux_nb.core.compare import build_comparison
    from worldflux_nb.io.artifacts import load
    from worldflux_nb.io.files import check_outputs, write_outputs
    from worldflux_nb.io.notebook_export import comparison_files
    from worldflux_nb.models.plan import ProtocolPlan

    outputs = [args.output, args.comparison_json] + ([args.brief] if args.brief else [])
    inputs = [args.plan] + [pair.partition("=")[2].strip() for spec in args.arm for pair in spec[1:]]
    check_outputs(outputs, inputs)  # before any work: an output never replaces an input
    plan = load(args.plan, ProtocolPlan)
    arms = _arms(args.arm, plan, args.max_evidence_rows)
    if args.baseline is not None and args.baseline not in [name for name, _ in arms]:
        raise InputError(COMMAND, "--baseline", f"{args.baseline!r} is not an arm ({', '.join(n for n, _ in arms)})")
    comparison = build_comparison(plan, arms, baseline=args.baseline)
    files = comparison_files(comparison, args.output, args.comparison_json, args.brief)
    write_outputs(files, inputs=inputs)
    confirmatory = sum(r.confirmatory for r in comparison.comparisons)
    print(f"comparison: {len(comparison.arms)} arms, {len(comparison.comparisons)} comparisons "
          f"({confirmatory} confirmatory), {len(comparison.asymmetries)} asymmetries; wrote "
          f"{', '.join(files)} (LOCAL_PRIVATE)")
    return 0
