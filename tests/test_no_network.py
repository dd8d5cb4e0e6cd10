"""The full flow, the template run and the exports work with the network switched off, both in this
process and in the notebook kernel (through tests/offline_site/sitecustomize.py on PYTHONPATH)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from hardening_support import build_flow, cli_ok

SITE = Path(__file__).resolve().parent / "offline_site"


@pytest.fixture()
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Network refused here and in every Python child; yields the log of loads and refusals."""
    log = tmp_path / "offline.log"
    log.touch()
    monkeypatch.setenv("WORLDFLUX_NB_OFFLINE_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")])))
    spec = importlib.util.spec_from_file_location("worldflux_nb_test_offline", SITE / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    guard.install()
    try:
        yield log
    finally:
        guard.uninstall()


def blocked_lines(log: Path) -> list[str]:
    return [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("blocked")]


def test_the_guard_really_blocks(offline: Path) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.10", 80), timeout=2)
    with pytest.raises(OSError):
        socket.getaddrinfo("huggingface.co", 443)
    probe = ("import socket\ntry:\n    socket.create_connection(('198.51.100.7', 443), timeout=2)\n"
             "except OSError as e:\n    print('refused', type(e).__name__)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    assert out.startswith("refused")
    # Loopback and unix sockets stay usable: the kernel talks to its client that way.
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname(), timeout=2):
        pass
    server.close()
    assert len(blocked_lines(offline)) == 3
    offline.write_text("", encoding="utf-8")


def test_flow_template_and_exports_need_no_network(offline: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    flow = build_flow(tmp_path / "flow")
    assert (flow.folder / "reviewer_brief.json").exists()

    monkeypatch.chdir(tmp_path)
    cli_ok(["demo", "--output-dir", "demo"])
    executed = tmp_path / "demo" / "profile_to_brief.ipynb"
    cli_ok(["notebook", "export", executed, "--output-dir", tmp_path / "export"])
    cli_ok(["notebook", "share", executed, "--output", tmp_path / "reviewer_copy.ipynb"])
    assert any((tmp_path / "export").iterdir())
    assert (tmp_path / "reviewer_copy.ipynb").stat().st_size > 0

    lines = offline.read_text(encoding="utf-8").splitlines()
    assert not blocked_lines(offline), f"something tried to reach the network: {blocked_lines(offline)}"
    # The kernel starts as `python -m ipykernel_launcher -f CONNECTION_FILE` (argv while site loads: -m -f ...).
    kernels = [line for line in lines if line.startswith("loaded") and " -f " in line
               and f"loaded {os.getpid()} " not in line]
    assert kernels, f"the notebook kernel did not run under the network guard: {lines}"
