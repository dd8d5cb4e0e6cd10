"""Execute a notebook with a kernel of the running interpreter, papermill-style parameters included."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping, TextIO

import nbformat
from nbformat import NotebookNode

from worldflux_nb.core.json_reading import fast_loads
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import decode_text, read_bytes, write_outputs
from worldflux_nb.io.notebook_parameters import (  # noqa: F401  (re-exported: the runner's interface)
    INJECTED_TAG, PARAMETERS_TAG, cli_parameters, contains_secret_value, declared_defaults,
    declared_parameters, declared_types, inject_parameters, parse_cli_value,
)

DEFAULT_TEMPLATE = "profile_to_brief"
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


def _kernel_manager(kernel_dir: Path) -> Any:
    """A kernel manager whose only kernel is `sys.executable -m ipykernel_launcher`: no lookup surprises."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec_dir = kernel_dir / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python (worldflux-nb runner)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)], ensure_native_kernel=False)
    # Unix sockets inside the private temp folder: nothing listens on TCP, even on localhost.
    # Async, so nbclient's event loop stays free while a cell runs: Ctrl-C is handled at once and a
    # killed kernel is noticed within a second (a blocking client sits in zmq until the reply).
    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc",
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


def _kill_kernel(km: Any) -> None:
    """Kill the kernel and whatever it started (its own process group) at once; safe in a signal handler."""
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        pgid = getattr(provisioner, "pgid", None)
        if pgid and hasattr(os, "killpg") and pgid != os.getpgrp():
            os.killpg(pgid, signal.SIGKILL)
        else:
            process.kill()


@contextlib.contextmanager
def _ctrl_c_stops_kernel(km: Any, state: dict[str, Any]) -> Iterator[None]:
    """While a notebook runs, Ctrl-C kills the kernel at once (nbclient would otherwise wait in its zmq
    poll until the running cell ends) and is raised as KeyboardInterrupt once the kernel is gone.
    A run started with SIGINT ignored (`nohup`, `&` in a script) keeps ignoring it: nbclient's own
    handler on the loop, which would end the run, is replaced by one that does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN

    def on_sigint(*_: Any) -> None:
        if ignored:
            return
        state["interrupted"] = True
        _kill_kernel(km)

    state["on_sigint"] = on_sigint
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _notebook_client_class() -> Any:
    """nbclient's client, except that its event loop hands Ctrl-C to the runner's handler, and the
    kernel starts with an owner-only umask (every file and folder a notebook makes is LOCAL_PRIVATE).

    nbclient registers its own SIGINT handler on the loop while the kernel runs (one that waits for
    a graceful shutdown and leaves the interrupt unreported); the runner's replaces it there.
    """
    import asyncio

    from nbclient import NotebookClient

    class Client(NotebookClient):  # type: ignore[misc]
        interrupt_handler: Any = None

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            if self.interrupt_handler is not None:
                with contextlib.suppress(RuntimeError, NotImplementedError):  # not the main thread
                    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self.interrupt_handler)
            previous = os.umask(0o077)  # inherited by the kernel process only: restored at once
            try:
                await super().async_start_new_kernel(**kwargs)
            finally:
                os.umask(previous)

    return Client


def execute_notebook(nb: NotebookNode, *, cwd: str | os.PathLike[str] | None = None,
                     timeout: int = DEFAULT_CELL_TIMEOUT, progress: TextIO | None = None) -> RunResult:
    """Run every cell in place; on a failing cell stop there and say which one it was."""
    from jupyter_core.utils import run_sync
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

        def on_start_unless_interrupted(cell: NotebookNode, cell_index: int) -> None:
            if state.get("interrupted"):  # Ctrl-C came while the kernel was starting
                _kill_kernel(km)
            on_start(cell, cell_index)

        client = _notebook_client_class()(
            nb, km=km, timeout=timeout, store_widget_state=True, record_timing=False,
            resources={"metadata": {"path": str(cwd or os.getcwd())}},
            on_cell_start=on_start_unless_interrupted, on_cell_executed=on_executed)
        failure: tuple[str, str] | None = None
        try:
            with _ctrl_c_stops_kernel(km, state):
                client.interrupt_handler = state.get("on_sigint")
                try:
                    client.execute()
                except CellTimeoutError as exc:
                    failure = ("CellTimeoutError", str(exc).strip().splitlines()[0])
                except DeadKernelError as exc:
                    failure = ("DeadKernelError", str(exc).strip().splitlines()[0] if str(exc).strip()
                               else "the kernel died")
                except CellExecutionError as exc:
                    failure = (exc.ename, exc.evalue)
                finally:
                    if client.kc is not None:
                        client.kc.stop_channels()
                    if km.has_kernel:
                        run_sync(km.shutdown_kernel)(now=True)
        except Exception:
            if state.get("interrupted"):  # whatever a killed kernel made nbclient raise
                raise KeyboardInterrupt from None
            raise
    if state.get("interrupted"):
        raise KeyboardInterrupt
    if failure is None:
        return RunResult(Path(), cells_run=state["ran"])
    index = state["current"]
    return RunResult(Path(), cells_run=state["ran"], failed_cell=index,
                     failed_cell_summary=cell_summary(nb.cells[index]) if index is not None else None,
                     error_name=failure[0], error_value=failure[1])


def run_notebook(template: str | os.PathLike[str] | None, output_path: str | os.PathLike[str],
                 parameters: Mapping[str, Any] | None = None, *, cwd: str | os.PathLike[str] | None = None,
                 timeout: int = DEFAULT_CELL_TIMEOUT, progress: TextIO | None = None) -> RunResult:
    """Execute a template with parameters and write the executed copy, even when a cell fails; in that
    copy the explorer is self-contained (io/notebook_explorer.py) and widget ids are stable."""
    source = template_path(template)
    nb = inject_parameters(read_notebook(source), dict(parameters or {}), str(source))
    result = execute_notebook(nb, cwd=cwd, timeout=timeout, progress=progress)
    target = Path(output_path)
    from worldflux_nb.io.notebook_explorer import explorers_as_records
    from worldflux_nb.io.notebook_ids import stable_widget_ids

    # The explorer becomes self-contained first, so the ids of the widgets left are numbered without it.
    write_outputs({target: nbformat.writes(stable_widget_ids(explorers_as_records(nb))) + "\n"})
    return RunResult(target, result.cells_run, result.failed_cell, result.failed_cell_summary,
                     result.error_name, result.error_value)
