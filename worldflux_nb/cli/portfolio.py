"""`eval-portfolio plan | render-plan | render-run-sheet` (and the packet commands from cli/packet.py).

Planning, the run sheet and the documents are imported by the command that runs, not to build the
parser: every command pays for its own imports only (pandas and numpy come with planning).
"""

from __future__ import annotations

import argparse
import secrets
from typing import TYPE_CHECKING, get_args

from worldflux_nb.errors import InputError
from worldflux_nb.models.plan import DENOMINATOR_POLICIES, PROTOCOLS, SeedSource

if TYPE_CHECKING:
    from worldflux_nb.models.plan import ProtocolPlan

_SEED_BOUND = 2**31


def load_plan(path: str) -> ProtocolPlan:
    """A plan whose own digest and embedded profile digest still match, or exit 2 saying which."""
    from worldflux_nb.io.artifacts import load
    from worldflux_nb.models.plan import ProtocolPlan

    return load(path, ProtocolPlan)


def _as_flag(error: InputError, command: str) -> InputError:
    field = f"--{error.field.replace('_', '-')}" if error.field else None
    return InputError(error.source or command, field, error.problem)


def _plan(args: argparse.Namespace) -> int:
    from worldflux_nb.core.planning import build_plan, check_plan_seed
    from worldflux_nb.io.artifacts import artifact_json, load, load_contract, load_libero_plus_classification
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.models.profile import EvalProfile

    command = "eval-portfolio plan"
    if args.seed is None and args.seed_source != "generated":
        raise InputError(command, "--seed", "is required (or pass --seed-source generated)")
    seed = args.seed if args.seed is not None else secrets.randbelow(_SEED_BOUND)
    try:
        check_plan_seed(seed, "--seed")
    except InputError as exc:
        raise exc.with_source(command) from None
    profile = load(args.profile, EvalProfile)
    contracts = [load_contract(path) for path in args.custom_eval_contract]
    classification = (load_libero_plus_classification(args.libero_plus_classification)
                      if args.libero_plus_classification else None)
    try:
        plan = build_plan(
            profile, seed=seed, seed_source=args.seed_source or "operator_supplied",
            contracts=contracts, episodes_per_cell=args.episodes_per_cell,
            denominator_policy=args.denominator_policy, max_ci_half_width=args.max_ci_half_width,
            min_episodes_per_cell=args.min_episodes_per_cell, protocol=args.protocol,
            libero_plus_classification=classification)
    except InputError as exc:
        if exc.field in ("profile", "profile_digest"):
            raise InputError(args.profile, exc.field, exc.problem) from None
        if exc.field in ("contract_id", "pinned_values"):
            raise InputError(" ".join(args.custom_eval_contract), exc.field, exc.problem) from None
        raise _as_flag(exc, command) from None
    if args.infra_base_rate is not None:
        if not 0 <= args.infra_base_rate < 1:
            raise InputError(command, "--infra-base-rate", "must be a rate in [0, 1)")
        plan = plan.model_copy(update={"infra_base_rate": args.infra_base_rate, "plan_digest": None}).sealed()
    plan = _declare_comparisons(plan, args, command)
    write_outputs({args.output: artifact_json(plan)})
    return 0


def _declare_comparisons(plan: ProtocolPlan, args: argparse.Namespace, command: str) -> ProtocolPlan:
    """The comparisons declared before any score (`--compare` ...), sealed into the plan."""
    design_flags = (args.primary_scope or args.sequential_max_episodes is not None
                    or args.sequential_looks is not None or args.detect_difference is not None)
    if not args.compare:
        if design_flags:
            raise InputError(command, "--compare", "is required with --primary-scope, --detect-difference "
                             "and the --sequential-* options")
        return plan
    from worldflux_nb.core.compare_design import with_comparisons

    try:
        return with_comparisons(
            plan, [tuple(pair) for pair in args.compare], alpha=args.alpha, multiplicity=args.multiplicity,
            primary_scopes=args.primary_scope or None,
            difference=args.detect_difference if args.detect_difference is not None else 0.2,
            power=args.power, sequential_max_episodes=args.sequential_max_episodes,
            sequential_looks=args.sequential_looks)
    except InputError as exc:
        raise _as_flag(exc, command) from None


def _render_plan(args: argparse.Namespace) -> int:
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.render.markdown import to_markdown
    from worldflux_nb.render.plan_docs import plan_document

    plan = load_plan(args.plan)
    write_outputs({args.output: to_markdown(plan_document(plan))})
    return 0


def _render_run_sheet(args: argparse.Namespace) -> int:
    from worldflux_nb.core.run_sheet import run_sheet_files
    from worldflux_nb.io.artifacts import run_sheet_json
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.render.markdown import to_markdown
    from worldflux_nb.render.plan_docs import run_sheet_document

    plan = load_plan(args.plan)
    files = run_sheet_files(plan, csv=bool(args.run_sheet_csv))  # column-wise: a million episodes in seconds
    preview = files.header.model_copy(update={"episodes": files.preview})
    outputs = [(args.output, to_markdown(run_sheet_document(preview, files.episodes_total)))]
    if args.run_sheet_json:
        outputs.append((args.run_sheet_json, run_sheet_json(files.header, files.rows_json)))
    if args.run_sheet_csv:
        outputs.append((args.run_sheet_csv, files.csv))
    write_outputs(outputs)  # refuses two outputs that are one file, however they are spelled
    return 0


def register(groups: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = groups.add_parser("eval-portfolio", help="plan, run sheet, packet and reviewer brief")
    commands = group.add_subparsers(dest="portfolio_command", metavar="COMMAND")

    plan = commands.add_parser("plan", help="freeze a protocol plan for a profile")
    plan.add_argument("--profile", required=True, help="profile.json")
    plan.add_argument("--seed", type=int, help="plan seed; drives every selection")
    plan.add_argument("--seed-source", choices=get_args(SeedSource),
                      help="operator_supplied (default with --seed) or generated")
    plan.add_argument("--custom-eval-contract", action="append", default=[],
                      help="contract.json; repeatable")
    plan.add_argument("--protocol", choices=PROTOCOLS, default="sampled",
                      help="standard: whole suites at each benchmark's own trial count (the "
                           "community protocol); sampled (default): tasks and levels drawn by the seed")
    plan.add_argument("--libero-plus-classification", metavar="PATH",
                      help="LIBERO-plus's libero/libero/benchmark/task_classification.json; "
                           "without it the plan has no LIBERO-plus variants")
    plan.add_argument("--episodes-per-cell", type=int)
    plan.add_argument("--denominator-policy", choices=DENOMINATOR_POLICIES, default="all_planned")
    plan.add_argument("--max-ci-half-width", type=float, default=0.15)
    plan.add_argument("--min-episodes-per-cell", type=int, default=10)
    plan.add_argument("--infra-base-rate", type=float,
                      help="the infrastructure-failure rate expected before any score (e.g. 0.02); more is a finding")
    declare = plan.add_argument_group("comparisons declared before any score")
    declare.add_argument("--compare", nargs=2, action="append", default=[], metavar=("BASELINE", "CANDIDATE"),
                         help="a confirmatory comparison of two policies (repeatable)")
    declare.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    declare.add_argument("--multiplicity", choices=("holm", "fdr_bh"), default="holm",
                         help="adjustment of the confirmatory family (default holm)")
    declare.add_argument("--primary-scope", action="append", default=[], metavar="SCOPE",
                         help="all, probe:PROBE, axis:PROBE/AXIS or cell:CELL_ID (repeatable; default all)")
    declare.add_argument("--detect-difference", type=float,
                         help="the success-rate difference to power for (default 0.2)")
    declare.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    declare.add_argument("--sequential-max-episodes", type=int, metavar="N",
                         help="sequential design: the most planned episodes per arm")
    declare.add_argument("--sequential-looks", type=int, metavar="K", help="sequential design: looks")
    plan.add_argument("--output", required=True, help="plan.json to write")
    plan.set_defaults(handler=_plan)

    render = commands.add_parser("render-plan", help="the plan as Markdown for a reviewer")
    render.add_argument("--plan", required=True)
    render.add_argument("--output", required=True, help="plan.md to write")
    render.set_defaults(handler=_render_plan)

    sheet = commands.add_parser("render-run-sheet", help="one row per planned episode")
    sheet.add_argument("--plan", required=True)
    sheet.add_argument("--output", required=True, help="run_sheet.md to write")
    sheet.add_argument("--run-sheet-json", help="run_sheet.json to write")
    sheet.add_argument("--run-sheet-csv", help="run_sheet.csv to write")
    sheet.set_defaults(handler=_render_run_sheet)

    from worldflux_nb.cli import compare, packet

    packet.register(commands)
    compare.register(commands)
