"""`notebook run|export|share|html`: execute a template, export its packet and brief (or comparison),
share it privately, write it as an offline HTML report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from worldflux_nb.cli import positive_int
from worldflux_nb.errors import InputError

EXIT_CELL_FAILED = 1
# A failing cell keeps the exit code its exception would have had on the command line.
_EXIT_FOR_ERROR = {"InputError": 2, "StrictModeFailure": 3}


def import_jsonschema_without_iri_grammar() -> None:
    """Import jsonschema (nbformat's validator) without its `iri` format checker, in this command's own
    process only (never in a kernel, which runs the user's code).

    Imported, jsonschema loads every optional format checker installed; rfc3987-syntax (which
    JupyterLab brings through jupyter-events) compiles its grammar then: ~1.4 s of every notebook
    command. No schema this process validates uses formats (nbformat passes no format checker;
    Altair's Vega-Lite schema has no `iri`), so the checker would never run here."""
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  (importing it raises ImportError)
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        pass  # nbformat says so itself when it needs it
    finally:
        del sys.modules["rfc3987_syntax"]  # a later import finds the package again


def run_template(template: str | None, output_dir: str, parameters: dict[str, Any] | list[list[str]],
                 timeout: int | None = None) -> int:
    """Execute a template into output_dir; the executed copy is written even when a cell fails.

    `parameters` are values, or `-p NAME VALUE` text pairs read against the template's declared types."""
    import_jsonschema_without_iri_grammar()
    from worldflux_nb.io.notebook_parameters import cli_parameters, declared_parameters, inject_parameters
    from worldflux_nb.io.notebook_runner import DEFAULT_CELL_TIMEOUT, read_notebook, run_notebook, template_path

    source = template_path(template)
    notebook = read_notebook(source)
    if isinstance(parameters, list):
        parameters = cli_parameters(notebook, parameters)
    if "output_dir" in parameters and os.path.normpath(str(parameters["output_dir"])) != os.path.normpath(output_dir):
        raise InputError(None, "-p output_dir", f"conflicts with --output-dir {output_dir}; give only --output-dir")
    if "output_dir" in declared_parameters(notebook):
        parameters = {**parameters, "output_dir": output_dir}
    inject_parameters(notebook, parameters, str(source))  # refuse unknown parameters before creating anything
    _refuse_inputs_inside(output_dir, [("TEMPLATE", str(source))] + [
        (f"-p {name}", path) for name, value in parameters.items() if name != "output_dir"
        for path in _paths_in(value)])
    from worldflux_nb.io.run_folder_guard import guarded_run_folder

    with guarded_run_folder(output_dir) as run:
        target = run.path / source.name
        run.keep_on_failure = [target.name]
        result = run_notebook(source, target, parameters, timeout=timeout or DEFAULT_CELL_TIMEOUT)
        if result.error_name == "KeyboardInterrupt":
            raise KeyboardInterrupt
        if result.ok:
            run.outcome = "ok"
    if not result.ok:
        kept = run.path / run.keep_on_failure[0] if run.keep_on_failure else target
        earlier = " (the earlier run in this folder is left as it was)" if run.had_earlier_run else ""
        print(f"error: cell {result.failed_cell} ({result.failed_cell_summary}) failed: "
              f"{result.error_name}: {result.error_value}; the executed notebook, with the error, "
              f"is at {kept}{earlier}", file=sys.stderr)
        return _EXIT_FOR_ERROR.get(result.error_name or "", EXIT_CELL_FAILED)
    print(f"executed notebook: {target}")
    manifest = run.path / "artifact_manifest.json"
    if manifest.is_file():
        print(f"artifacts listed in: {manifest}")
    return 0


def _paths_in(value: Any) -> list[str]:
    """Text in a parameter value (a path, or paths inside a list or a mapping) that names an existing file."""
    if isinstance(value, str):
        return [value] if value and os.path.exists(value) else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths_in(v)]
    return []


def _refuse_inputs_inside(output_dir: str, inputs: list[tuple[str, str]]) -> None:
    """A run sets the folder's earlier entries aside and replaces them: an input inside it would be
    read from a folder that is being replaced (or replaced by the run's own output)."""
    folder = os.path.realpath(output_dir)
    for field, path in inputs:
        real = os.path.realpath(path)
        if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
            raise InputError(path, field, f"is inside --output-dir {output_dir}, which the run replaces; "
                             "copy it elsewhere or choose another --output-dir (nothing run)")


def _run(args: argparse.Namespace) -> int:
    return run_template(args.template, args.output_dir, list(args.parameter or []), args.timeout)


def _export(args: argparse.Namespace) -> int:
    import_jsonschema_without_iri_grammar()
    from worldflux_nb.io.files import make_private_folder, write_outputs
    from worldflux_nb.io.notebook_export import export_notebook

    source, folder = Path(args.notebook), Path(args.output_dir)
    if folder.is_dir() and source.parent.resolve() == folder.resolve():
        raise InputError(args.output_dir, "--output-dir", f"is the folder of {source.name}, whose run's "
                         "files (and manifest) the export would replace; export into another folder")
    outputs = export_notebook(args.notebook, args.output_dir)
    make_private_folder(folder)
    write_outputs(outputs)
    for path in outputs:
        print(path)
    return 0


def _share(args: argparse.Namespace) -> int:
    import_jsonschema_without_iri_grammar()
    import nbformat

    from worldflux_nb.io.files import json_text, write_outputs
    from worldflux_nb.io.notebook_runner import read_notebook
    from worldflux_nb.io.notebook_share import share_copy

    source, target = Path(args.notebook), Path(args.output)
    copy, report = share_copy(read_notebook(source))
    outputs: list[tuple[Path, str]] = [(target, nbformat.writes(copy) + "\n")]
    if args.report:
        outputs.append((Path(args.report), json_text(report.to_json_dict())))
    write_outputs(outputs)
    for line in report.summary_lines():
        print(line, file=sys.stderr)
    print(f"reviewer copy (LOCAL_PRIVATE, not public-share-ready): {target}")
    return 0


def _html(args: argparse.Namespace) -> int:
    import_jsonschema_without_iri_grammar()
    from worldflux_nb.io.files import write_outputs
    from worldflux_nb.io.notebook_html import notebook_html

    write_outputs({args.output: notebook_html(args.notebook)}, inputs=[args.notebook])
    print(f"offline report (LOCAL_PRIVATE): {args.output}")
    return 0


def register(groups: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = groups.add_parser("notebook", help="run the template notebook, export or share an executed one")
    commands = group.add_subparsers(dest="notebook_command", metavar="SUBCOMMAND",
                                    parser_class=type(group))

    def usage(_: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return 2

    group.set_defaults(handler=usage)
    run = commands.add_parser("run", help="execute a template notebook (default: profile_to_brief)")
    run.add_argument("template", nargs="?", default=None,
                     help="a notebook file or a bundled template name (default: profile_to_brief)")
    run.add_argument("--output-dir", required=True, help="folder for the executed notebook and its artifacts")
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="override a parameter (papermill-style; VALUE read as None/bool/number/JSON, else text)")
    run.add_argument("--timeout", type=positive_int, default=None, help="seconds a single cell may run")
    run.set_defaults(handler=_run)

    export = commands.add_parser("export", help="write the packet and brief, and the comparison, "
                                   "as Markdown/JSON from an executed notebook")
    export.add_argument("notebook", metavar="EXECUTED.ipynb")
    export.add_argument("--output-dir", required=True)
    export.set_defaults(handler=_export)

    share = commands.add_parser("share", help="write a sanitised copy for a private reviewer")
    share.add_argument("notebook", metavar="EXECUTED.ipynb")
    share.add_argument("--output", required=True, metavar="COPY.ipynb")
    share.add_argument("--report", default=None, metavar="REPORT.json",
                       help="also write the redaction report as JSON")
    share.set_defaults(handler=_share)

    html = commands.add_parser("html", help="write an executed notebook as one self-contained offline HTML report")
    html.add_argument("notebook", metavar="EXECUTED.ipynb")
    html.add_argument("--output", required=True, metavar="REPORT.html")
    html.set_defaults(handler=_html)
