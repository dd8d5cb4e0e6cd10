"""Execute a notebook with a kernel of the running interpreter, papermill-style parameters included."""

from __future__ import annotations

import ast
import json
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, TextIO

import nbformat
from nbformat import NotebookNode

from worldflux_nb.core.json_reading import fast_loads
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import decode_text, read_bytes, write_outputs

DEFAULT_TEMPLATE = "profile_to_brief"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
KERNEL_NAME = "worldflux-nb-running-python"
DEFAULT_CELL_TIMEOUT = 900


@dataclass(frozen=True)
class RunResult:
    """Where the executed notebook went and, when a cell failed, which one and why."""

    notebook_path: Path
    cells_run: int
    failed_cell: int | None = None
    failed_cell_summary: str | None = None
    error_name: str | None = None
    error_value: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed_cell is None


def template_path(name_or_path: str | os.PathLike[str] | None = None) -> Path:
    """A notebook file by path, or a bundled template by name (shipped inside the package)."""
    candidate = Path(name_or_path) if name_or_path is not None else None
    if candidate is not None and (candidate.suffix == ".ipynb" or candidate.exists()):
        if not candidate.is_file():
            raise InputError(str(candidate), None, "no such notebook file")
        return candidate
    name = str(name_or_path or DEFAULT_TEMPLATE)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}", name):
        # A bundled template is named, never reached by a path: no name walks out of templates/.
        raise InputError(name, None, "is neither a notebook file nor a bundled template name "
                         f"(bundled: {', '.join(bundled_templates()) or 'none'})")
    # Package data first (what a wheel ships); then the source checkout's templates/ folder, for a
    # checkout where the package's link to it came out as a plain text file (e.g. git on Windows).
    for bundled in (resources.files("worldflux_nb") / "templates" / f"{name}.ipynb",
                    Path(__file__).resolve().parents[2] / "templates" / f"{name}.ipynb"):
        if bundled.is_file() and bundled.read_bytes().lstrip()[:1] == b"{":
            return Path(str(bundled))
    raise InputError(name, None, "is neither a notebook file nor a bundled template "
                                 f"(bundled: {', '.join(bundled_templates()) or 'none'})")


def bundled_templates() -> list[str]:
    folder = resources.files("worldflux_nb") / "templates"
    if not folder.is_dir():
        return []
    return sorted(entry.name[: -len(".ipynb")] for entry in folder.iterdir()
                  if entry.name.endswith(".ipynb"))


def read_notebook(path: str | os.PathLike[str]) -> NotebookNode:
    """A notebook file parsed and validated by nbformat, with one-line errors."""
    source = str(path)
    text = decode_text(read_bytes(path), source)
    fast_loads(text, source)  # a key given twice (two outputs of one kind, say) is refused, not merged
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for unreadable input
        raise InputError(source, None, f"is not a Jupyter notebook ({type(exc).__name__}: {exc})") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise InputError(source, None, f"is not a valid notebook ({exc.message})") from None
    return nb


def parse_cli_value(text: str, name: str = "VALUE") -> Any:
    """Papermill's reading of `-p NAME VALUE`: None/True/False, numbers, JSON lists and objects, else
    text; a number that is not finite (nan, inf, 1e999) is refused rather than passed on."""
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(None, f"-p {name}", f"{text!r} is not a finite number")
        return value
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def declared_defaults(nb: NotebookNode) -> dict[str, Any]:
    """The literal default of each parameter (a value that is not a literal is left out)."""
    index = parameters_cell_index(nb)
    defaults: dict[str, Any] = {}
    if index is None:
        return defaults
    try:
        tree = ast.parse(nb.cells[index].source)
    except SyntaxError:
        return defaults
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            defaults.update({t.id: value for t in targets if isinstance(t, ast.Name)})
    return defaults


def contains_secret_value(value: Any) -> bool:
    """Whether a parameter value (text, or text inside a list or mapping) holds a secret shape."""
    from worldflux_nb.models.redaction import is_secret_kind, redact_text

    if isinstance(value, dict):
        return any(contains_secret_value(k) or contains_secret_value(v) for k, v in value.items()) or \
            contains_secret_value(json.dumps(value, default=str))
    if isinstance(value, list):
        return any(contains_secret_value(v) for v in value)
    return isinstance(value, str) and any(is_secret_kind(kind) for kind in redact_text(value)[1])


def _type_problem(value: Any, default: Any) -> str | None:
    """Why a value cannot stand for a parameter whose default is a number or a flag (None: it can)."""
    if value is None or default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be True or False"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "must be a number"
    return None


def parameters_cell_index(nb: NotebookNode) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return index
    return None


def declared_parameters(nb: NotebookNode) -> list[str]:
    """Names assigned in the cell tagged `parameters`, in order."""
    index = parameters_cell_index(nb)
    if index is None:
        return []
    try:
        tree = ast.parse(nb.cells[index].source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, Any], source: str) -> NotebookNode:
    """A copy with a cell tagged `injected-parameters` right after the `parameters` cell, as papermill does."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    if not parameters:
        return nb
    index = parameters_cell_index(nb)
    if index is None:
        raise InputError(source, "parameters", "the notebook has no cell tagged 'parameters' to override")
    known = declared_parameters(nb)
    defaults = declared_defaults(nb)
    for name, value in parameters.items():
        if name not in known:
            raise InputError(source, name, f"is not a parameter of this notebook (known: {', '.join(known)})")
        if contains_secret_value(value):
            raise InputError(source, name, "looks like a secret; parameters are written into the executed "
                             "notebook, so pass a file that holds it instead")
        problem = _type_problem(value, defaults.get(name))
        if problem:
            raise InputError(source, name, f"{problem} like its default {defaults[name]!r}, not {value!r}")
    lines = ["# Parameters"] + [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines) + "\n", metadata={"tags": [INJECTED_TAG]})
    cell["id"] = INJECTED_TAG  # a stable id keeps executed copies of identical runs identical
    nb.cells.insert(index + 1, cell)
    return nb


def _kernel_manager(kernel_dir: Path) -> Any:
    """A kernel manager whose only kernel is `sys.executable -m ipykernel_launcher`: no lookup surprises."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = kernel_dir / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python (worldflux-nb runner)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)], ensure_native_kernel=False)
    # Unix sockets inside the private temp folder: nothing listens on TCP, even on localhost.
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc",
                         ip=str(kernel_dir / "ipc"))


KERNEL_FOLDER_PREFIX = "worldflux-nb-kernel-"


def remove_stale_kernel_folders() -> None:
    """Remove kernel folders (their connection file holds the kernel's key) of runners that were killed."""
    import shutil

    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{KERNEL_FOLDER_PREFIX}*-*"):
        pid = folder.name[len(KERNEL_FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def cell_summary(cell: NotebookNode) -> str:
    tags = cell.get("metadata", {}).get("tags", [])
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "(empty)")
    label = f"[{', '.join(tags)}] " if tags else ""
    return label + (first if len(first) <= 72 else first[:69] + "...")


def execute_notebook(nb: NotebookNode, *, cwd: str | os.PathLike[str] | None = None,
                     timeout: int = DEFAULT_CELL_TIMEOUT, progress: TextIO | None = None) -> RunResult:
    """Run every cell in place; on a failing cell stop there and say which one it was."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    out = progress if progress is not None else sys.stderr
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    started: dict[int, float] = {}
    state: dict[str, Any] = {"ran": 0, "current": None}

    def on_start(cell: NotebookNode, cell_index: int) -> None:
        if cell.cell_type != "code":
            return
        started[cell_index] = time.monotonic()
        state["current"] = cell_index
        position = code_cells.index(cell_index) + 1
        print(f"[{position}/{len(code_cells)}] cell {cell_index}: {cell_summary(cell)}", file=out, flush=True)

    def on_executed(cell: NotebookNode, cell_index: int, execute_reply: Any) -> None:
        state["ran"] += 1
        elapsed = time.monotonic() - started.get(cell_index, time.monotonic())
        status = execute_reply.get("content", {}).get("status", "ok") if execute_reply else "ok"
        print(f"      {status} in {elapsed:.1f}s", file=out, flush=True)

    remove_stale_kernel_folders()
    with tempfile.TemporaryDirectory(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-") as kernel_dir:
        km = _kernel_manager(Path(kernel_dir))
        client = NotebookClient(
            nb, km=km, timeout=timeout, store_widget_state=True, record_timing=False,
            resources={"metadata": {"path": str(cwd or os.getcwd())}},
            on_cell_start=on_start, on_cell_executed=on_executed)
        failure: tuple[str, str] | None = None
        try:
            client.execute()
        except CellTimeoutError as exc:
            failure = ("CellTimeoutError", str(exc).strip().splitlines()[0])
        except DeadKernelError as exc:
            failure = ("DeadKernelError", str(exc).strip().splitlines()[0] if str(exc).strip() else "the kernel died")
        except CellExecutionError as exc:
            failure = (exc.ename, exc.evalue)
        finally:
            if client.kc is not None:
                client.kc.stop_channels()
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    if failure is None:
        return RunResult(Path(), cells_run=state["ran"])
    index = state["current"]
    return RunResult(Path(), cells_run=state["ran"], failed_cell=index,
                     failed_cell_summary=cell_summary(nb.cells[index]) if index is not None else None,
                     error_name=failure[0], error_value=failure[1])


def run_notebook(template: str | os.PathLike[str] | None, output_path: str | os.PathLike[str],
                 parameters: Mapping[str, Any] | None = None, *, cwd: str | os.PathLike[str] | None = None,
                 timeout: int = DEFAULT_CELL_TIMEOUT, progress: TextIO | None = None) -> RunResult:
    """Execute a template with parameters and write the executed copy, even when a cell fails."""
    source = template_path(template)
    nb = inject_parameters(read_notebook(source), dict(parameters or {}), str(source))
    result = execute_notebook(nb, cwd=cwd, timeout=timeout, progress=progress)
    target = Path(output_path)
    from worldflux_nb.io.notebook_ids import stable_widget_ids

    write_outputs({target: nbformat.writes(stable_widget_ids(nb)) + "\n"})
    return RunResult(target, result.cells_run, result.failed_cell, result.failed_cell_summary,
                     result.error_name, result.error_value)
