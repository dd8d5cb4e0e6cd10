"""`demo --output-dir DIR`: the template notebook on its defaults, i.e. the bundled sample evidence."""

from __future__ import annotations

import argparse

from worldflux_nb.cli import positive_int


def _demo(args: argparse.Namespace) -> int:
    from worldflux_nb.cli.notebook import run_template

    return run_template(None, args.output_dir, {}, args.timeout)


def register(groups: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = groups.add_parser(
        "demo", help="run the profile-to-brief template on the bundled sample evidence (the main job)")
    demo.add_argument("--output-dir", required=True, help="folder for the executed notebook and its artifacts")
    demo.add_argument("--timeout", type=positive_int, default=None, help="seconds a single cell may run")
    demo.set_defaults(handler=_demo)
