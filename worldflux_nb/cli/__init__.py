"""The `worldflux-nb` command line: exit 0 done, 2 bad input or usage, 3 strict-mode failure,
130 interrupted (one line, nothing half-written)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from worldflux_nb.errors import InputError, StrictModeFailure

EXIT_OK, EXIT_BAD_INPUT, EXIT_STRICT, EXIT_INTERRUPTED = 0, 2, 3, 130


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage problem as one line instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


Handler = Callable[[argparse.Namespace], int]


def positive_int(text: str) -> int:
    """An argparse type for limits and counts: 0 or a negative number is a usage error, not a limit."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value}")
    return value


def positive_seconds(text: str) -> float:
    """An argparse type for a time limit: a finite number of seconds above zero."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, not {text}")
    return value


# Each top-level command and the module that registers it, in the order `--help` lists them.
COMMAND_MODULES = {"eval-profile": "profile", "eval-portfolio": "portfolio", "audit": "audit",
                   "notebook": "notebook", "demo": "demo"}


class _Version(argparse.Action):
    """`--version`, which reads the version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show program's version number and exit") -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        from worldflux_nb import __version__

        parser._print_message(f"worldflux-nb {__version__}\n", sys.stdout)
        parser.exit()


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser; given the arguments, only the command they name is registered (each command's
    module imports what its options need, which a process running another command never pays for)."""
    import importlib

    parser = Parser(prog="worldflux-nb", description=(
        "Anti-cherry-pick evidence packets for robot/VLA evaluations. Everything written is "
        "LOCAL_PRIVATE; nothing touches the network."))
    parser.add_argument("--version", action=_Version)
    groups = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    names = [argv[0]] if argv and argv[0] in COMMAND_MODULES else list(COMMAND_MODULES)
    for name in names:
        importlib.import_module(f"worldflux_nb.cli.{COMMAND_MODULES[name]}").register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from worldflux_nb.io.files import command_scope

    try:
        with command_scope():  # every file the command reads is an input no output may replace
            argv = sys.argv[1:] if argv is None else list(argv)
            parser = build_parser(argv)
            args = parser.parse_args(argv)
            handler: Handler | None = getattr(args, "handler", None)
            if handler is None:  # no command, or a command without its subcommand: every command listed
                build_parser().print_help(sys.stderr)
                return EXIT_BAD_INPUT
            return handler(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as exc:
        print(f"error: {without_secrets(exc.one_line())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StrictModeFailure as exc:
        print(f"error: {exc} (nothing written)", file=sys.stderr)
        return EXIT_STRICT
    except KeyboardInterrupt:
        print("error: interrupted; nothing written, temporary files removed", file=sys.stderr)
        return EXIT_INTERRUPTED


def without_secrets(line: str) -> str:
    """An error line with any secret it quotes replaced; paths stay, since the line must name the file."""
    from worldflux_nb.models.redaction import is_secret_kind, redact_text

    return redact_text(line, kinds=is_secret_kind)[0]


def run() -> None:
    sys.exit(main())
