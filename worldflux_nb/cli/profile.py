"""`eval-profile create`: one flag per EvalProfile field, with the reference command's flag names."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from worldflux_nb.errors import InputError, validation_problem
from worldflux_nb.io.artifacts import artifact_json
from worldflux_nb.io.files import write_outputs
from worldflux_nb.models.profile import BOOLEAN_FLAGS, REPEATABLE_FLAGS, EvalProfile

COMMAND = "eval-profile create"
# Fields the tool fills in itself rather than taking from a flag.
_NOT_FLAGS = ("schema_version", "privacy", "created_at", "profile_digest")


def profile_fields() -> list[str]:
    return [name for name in EvalProfile.model_fields if name not in _NOT_FLAGS]


def flag_for(field: str) -> str:
    return "--" + field.replace("_", "-")


def _help(field: str) -> str:
    info = EvalProfile.model_fields[field]
    annotation = getattr(info.annotation, "__args__", None)
    choices = [a for a in (annotation or ()) if isinstance(a, str)]
    text = "repeatable" if field in REPEATABLE_FLAGS else ""
    return f"{text}; one of {', '.join(choices)}".strip("; ") if choices else text or None


def _handle(args: argparse.Namespace) -> int:
    values = {}
    for field in profile_fields():
        value = getattr(args, field)
        if value is not None and value != []:
            values[field] = value
    try:
        profile = EvalProfile.model_validate(values).sealed()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first.get("loc") else None
        message = validation_problem(first)[1]
        raise InputError(COMMAND, flag_for(field) if field else None, message) from None
    write_outputs({args.output: artifact_json(profile)})
    return 0


def register(groups: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = groups.add_parser("eval-profile", help="create the robot/policy profile under review")
    commands = group.add_subparsers(dest="profile_command", metavar="COMMAND")
    create = commands.add_parser("create", help="write profile.json from flags")
    for field in profile_fields():
        if field in BOOLEAN_FLAGS:
            create.add_argument(flag_for(field), dest=field, action="store_true")
        elif field in REPEATABLE_FLAGS:
            create.add_argument(flag_for(field), dest=field, action="append", default=[],
                                help=_help(field))
        else:
            create.add_argument(flag_for(field), dest=field, help=_help(field))
    create.add_argument("--output", required=True, help="profile.json to write")
    create.set_defaults(handler=_handle)
