"""Put on PYTHONPATH by tests/test_no_network.py: every Python process (the test's kernels included)
refuses socket connections and name lookups that are not loopback or unix sockets, and says so.

Each process appends `loaded <pid> <argv>` to $WORLDFLUX_NB_OFFLINE_LOG when this file is imported,
and `blocked <pid> <address>` for every refused attempt, so the test can prove both.
"""

from __future__ import annotations

import os
import socket
import sys

_LOG = os.environ.get("WORLDFLUX_NB_OFFLINE_LOG")
_LOCAL_NAMES = {None, "", "localhost", "127.0.0.1", "::1", "ip6-localhost"}
_ORIGINAL = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex,
             "getaddrinfo": socket.getaddrinfo}


def _log(line: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(line.replace("\n", " ") + "\n")


def _local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    return host in _LOCAL_NAMES or (isinstance(host, str) and host.startswith("127."))


def _allowed(sock: socket.socket, address: object) -> bool:
    if getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX:
        return True
    return isinstance(address, tuple) and _local(address[0])


def _refuse(what: object) -> OSError:
    _log(f"blocked {os.getpid()} {what!r}")
    return ConnectionRefusedError(f"network access is disabled in this test: {what!r}")


def connect(self: socket.socket, address: object) -> None:
    if not _allowed(self, address):
        raise _refuse(address)
    return _ORIGINAL["connect"](self, address)


def connect_ex(self: socket.socket, address: object) -> int:
    if not _allowed(self, address):
        raise _refuse(address)
    return _ORIGINAL["connect_ex"](self, address)


def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
    if not _local(host):
        _log(f"blocked {os.getpid()} lookup {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"name lookup is disabled in this test: {host!r}")
    return _ORIGINAL["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _ORIGINAL["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _ORIGINAL["connect_ex"]  # type: ignore[method-assign]
    socket.getaddrinfo = _ORIGINAL["getaddrinfo"]


if __name__ == "sitecustomize":
    install()
    _log(f"loaded {os.getpid()} {' '.join(sys.argv)}")
