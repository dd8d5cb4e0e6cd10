"""File reading with one-line errors, and all-or-nothing atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import pydantic_core

from worldflux_nb.models.digest import canonical_json, sha256_bytes
from worldflux_nb.errors import InputError

MAX_INPUT_BYTES = 512 * 1024 * 1024


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise InputError(str(p), None, "is not a regular file")
        if size > max_bytes:
            raise InputError(str(p), None, f"is {size} bytes, over the {max_bytes}-byte limit")
        return p.read_bytes()
    except FileNotFoundError:
        raise InputError(str(p), None, "no such file") from None
    except IsADirectoryError:
        raise InputError(str(p), None, "is a directory, not a file") from None
    except PermissionError:
        raise InputError(str(p), None, "permission denied") from None
    except OSError as exc:
        raise InputError(str(p), None, f"cannot be read ({exc.strerror or exc})") from None


def decode_text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, None, f"is not UTF-8 text (invalid byte at offset {exc.start})") from None


def parse_json(text: str, source: str, *, allow_nan: bool = False) -> Any:
    """Parse JSON text; bare NaN/Infinity only where a harness is known to write them."""

    def refuse_constant(name: str) -> Any:
        if allow_nan:
            return float(name.replace("Infinity", "inf"))
        raise InputError(source, None, f"holds a bare {name}, which is not JSON")

    if not text.strip():
        raise InputError(source, None, "is empty")
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(source, None, f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise InputError(source, None, "is nested too deeply to be evidence") from None


def parse_json_bytes(data: bytes, source: str, *, allow_nan: bool = False) -> Any:
    """Parse a JSON file's bytes: pydantic-core's parser first (several times faster on large files),
    the standard library's for whatever it refuses, so every error reads exactly as parse_json's."""
    if not allow_nan:
        try:
            # What this parser accepts, the standard library accepts with the same value; it is
            # stricter (a BOM, NaN, lone surrogates), and those inputs take the path below.
            return pydantic_core.from_json(data, allow_inf_nan=False)
        except ValueError:
            pass
    return parse_json(decode_text(data, source), source, allow_nan=allow_nan)


def read_json(path: str | os.PathLike[str], *, allow_nan: bool = False,
              max_bytes: int = MAX_INPUT_BYTES) -> Any:
    return parse_json_bytes(read_bytes(path, max_bytes=max_bytes), str(path), allow_nan=allow_nan)


def json_text(value: Any) -> str:
    """Pretty, key-sorted JSON with a trailing newline: stable bytes for identical content."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def file_digest(data: bytes) -> str:
    return sha256_bytes(data)


def write_outputs(outputs: Mapping[str | os.PathLike[str], str | bytes]) -> None:
    """Write every file or none: each goes to a temporary sibling first, then all are renamed."""
    staged: list[tuple[str, Path]] = []
    try:
        for target, content in outputs.items():
            path = Path(target)
            if path.is_dir():
                raise InputError(str(path), None, "is a directory; give a file path for the output")
            if not path.parent.exists():
                raise InputError(str(path), None, f"output folder {path.parent} does not exist")
            data = content.encode("utf-8") if isinstance(content, str) else content
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        for tmp, path in staged:
            os.replace(tmp, path)
        staged.clear()
    except OSError as exc:
        raise InputError(str(getattr(exc, "filename", "") or "output"), None,
                         f"cannot be written ({exc.strerror or exc})") from None
    finally:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass


__all__ = ["canonical_json", "decode_text", "file_digest", "json_text", "parse_json",
           "parse_json_bytes", "read_bytes",
           "read_json", "write_outputs", "MAX_INPUT_BYTES"]
