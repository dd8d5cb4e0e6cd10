"""The read-only walk of a run folder: bounded in files, bytes and time; never leaves the folder.

Symbolic links are followed only when their target stays inside the folder, and each directory is
visited once (by device and inode), so link loops end. Nothing is written, nothing is executed.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from worldflux_nb.core.importers.run_folder import FolderEntry, Inventory, classify, entries_sorted, wants_content
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import file_digest, note_input, note_input_folder
from worldflux_nb.models.redaction import redact_text


@dataclass(frozen=True)
class ScanLimits:
    max_files: int = 20_000
    max_total_bytes: int = 1024 * 1024 * 1024
    max_file_bytes: int = 256 * 1024 * 1024
    max_seconds: float = 120.0


@dataclass(frozen=True)
class Scan:
    inventory: Inventory
    # Bytes of the files that hold per-episode evidence, by relative path, for the importer.
    contents: dict[str, bytes]


def scan_folder(folder: str | os.PathLike[str], limits: ScanLimits = ScanLimits()) -> Scan:
    root = Path(folder)
    if not root.exists():
        raise InputError(str(root), None, "no such folder")
    if not root.is_dir():
        raise InputError(str(root), None, "is not a folder")
    real_root = os.path.realpath(root)
    note_input_folder(real_root)  # a report or audit input written inside would change what was scanned
    started = time.monotonic()
    entries: list[FolderEntry] = []
    skipped: list[tuple[str, str]] = []
    limits_hit: list[str] = []
    contents: dict[str, bytes] = {}
    visited: set[tuple[int, int]] = set()
    files_seen = bytes_read = 0
    stack: list[tuple[str, str]] = [(real_root, "")]

    def inside(real: str) -> bool:
        return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)

    while stack and not limits_hit:
        directory, rel_dir = stack.pop()
        try:
            info = os.stat(directory)
        except OSError as exc:
            skipped.append((rel_dir or ".", f"cannot be read ({exc.strerror})"))
            continue
        if (info.st_dev, info.st_ino) in visited:
            skipped.append((rel_dir, "link loop: this folder was already walked"))
            continue
        visited.add((info.st_dev, info.st_ino))
        try:
            children = sorted(os.scandir(directory), key=lambda d: d.name)
        except OSError as exc:
            skipped.append((rel_dir or ".", f"cannot be listed ({exc.strerror})"))
            continue
        for child in reversed(children):
            rel = f"{rel_dir}/{child.name}" if rel_dir else child.name
            path = child.path
            if child.is_symlink():
                target = os.path.realpath(path)
                if not inside(target):
                    skipped.append((rel, "symbolic link leading out of the folder: not followed"))
                    continue
                path = target
            try:
                mode = os.stat(path).st_mode
            except OSError:
                skipped.append((rel, "broken link or unreadable entry"))
                continue
            if stat.S_ISDIR(mode):
                stack.append((path, rel))
                continue
            if not stat.S_ISREG(mode):
                skipped.append((rel, "not a regular file"))
                continue
            note_input(path)  # the inventory reads the folder: no output of this command may replace a file in it
            files_seen += 1
            if files_seen > limits.max_files:
                limits_hit.append(f"more than {limits.max_files} files")
                break
            if time.monotonic() - started > limits.max_seconds:
                limits_hit.append(f"walk took longer than {limits.max_seconds:g} seconds")
                break
            size = os.stat(path).st_size
            data = None
            if wants_content(rel) and size <= limits.max_file_bytes:
                if bytes_read + size > limits.max_total_bytes:
                    limits_hit.append(f"more than {limits.max_total_bytes} bytes to read")
                    break
                try:
                    with open(path, "rb") as handle:
                        data = handle.read(limits.max_file_bytes + 1)
                except OSError as exc:
                    skipped.append((rel, f"cannot be read ({exc.strerror})"))
                    continue
                bytes_read += len(data)
            entry = classify(rel, size, data, digest=file_digest(data) if data is not None else None)
            entries.append(entry)
            if entry.kind == "per_episode" and data is not None:
                contents[entry.path] = data  # the entry names the file as reports show it
    return Scan(Inventory(folder_name=redact_text(root.resolve().name)[0] or "folder", entries=entries_sorted(entries),
                          skipped=tuple(sorted(skipped)), limits_hit=tuple(limits_hit),
                          files_seen=min(files_seen, limits.max_files), bytes_read=bytes_read),
                contents)
