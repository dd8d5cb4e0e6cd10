"""File reading with one-line errors, and all-or-nothing writes that never replace an input.

Every output of one command is checked first (a regular file, not an input of the same command by
real file identity, not named twice), staged beside its target, and committed under a lock on each
output folder with a journal, so a concurrent writer or a kill -9 between two renames never leaves
one command's file beside another's: the next writer to that folder finishes or discards the
half-done commit.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from worldflux_nb.core.json_reading import fast_loads, strict_loads
from worldflux_nb.models.digest import canonical_json, pretty_json, pretty_json_bytes, sha256_bytes
from worldflux_nb.errors import InputError, TooLarge

MAX_INPUT_BYTES = 512 * 1024 * 1024
TEMP_SUFFIX = ".wfnb-tmp"
JOURNAL_PREFIX = ".wfnb-commit-"
LOCK_WAIT_SECONDS = 120.0
PRIVATE_FOLDER_MODE = 0o700

# Files read by the running command (cli.main opens a scope): an output may not be one of them.
_INPUTS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("worldflux_nb_inputs", default=None)
# Folders the running command reads as a whole (a run folder it inventories): no output may go inside.
_INPUT_FOLDERS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "worldflux_nb_input_folders", default=None)


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """Within the scope, every file read through read_bytes counts as an input of the command."""
    token = _INPUTS.set([])
    folders = _INPUT_FOLDERS.set([])
    try:
        yield
    finally:
        _INPUTS.reset(token)
        _INPUT_FOLDERS.reset(folders)


def note_input(path: str | os.PathLike[str]) -> None:
    """Record a file (or folder) the running command reads, so no output may replace it."""
    inputs = _INPUTS.get()
    if inputs is not None:
        inputs.append(os.fspath(path))


def note_input_folder(path: str | os.PathLike[str]) -> None:
    """Record a folder the running command reads as a whole: an output inside it would change the input."""
    folders = _INPUT_FOLDERS.get()
    if folders is not None:
        folders.append(os.path.realpath(path))


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    with _opened(path, max_bytes) as handle:
        return handle.read()


def digest_of_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """file_digest(read_bytes(path)), read a piece at a time: a harness file may be gigabytes."""
    with _opened(path, max_bytes) as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


@contextlib.contextmanager
def _opened(path: str | os.PathLike[str], max_bytes: int) -> Iterator[Any]:
    """A regular file of at most `max_bytes`, open for reading; every failure one InputError naming it."""
    p = Path(path)
    note_input(p)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise InputError(str(p), None, "is not a regular file")
        if size > max_bytes:
            raise TooLarge(str(p), None, f"is {size} bytes, over the {max_bytes}-byte limit")
        with open(p, "rb") as handle:
            yield handle
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
    """Parse JSON text (core.json_reading.strict_loads: duplicate keys and absurd integers refused)."""
    return strict_loads(text, source, allow_nan=allow_nan)


def parse_json_bytes(data: bytes, source: str, *, allow_nan: bool = False) -> Any:
    """Parse a JSON file's bytes, fast where that reads the same (core.json_reading.fast_loads)."""
    return fast_loads(data, source, allow_nan=allow_nan, decode=lambda raw: decode_text(raw, source))


def read_json(path: str | os.PathLike[str], *, allow_nan: bool = False,
              max_bytes: int = MAX_INPUT_BYTES) -> Any:
    return parse_json_bytes(read_bytes(path, max_bytes=max_bytes), str(path), allow_nan=allow_nan)


def json_text(value: Any) -> str:
    """Pretty, key-sorted JSON with a trailing newline: stable bytes for identical content."""
    return pretty_json(value) + "\n"


def json_bytes(value: Any) -> bytes:
    """json_text(value) as UTF-8, never decoded (what a file is given)."""
    return pretty_json_bytes(value) + b"\n"


def file_digest(data: bytes) -> str:
    return sha256_bytes(data)


# ---------------------------------------------------------------------------------------------
# Output checks
# ---------------------------------------------------------------------------------------------

_KIND = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
         (stat.S_ISSOCK, "a socket"))


def file_identity(path: Path) -> tuple[Any, ...]:
    """The real file a path names: device and inode when it exists, else its resolved path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.normcase(os.path.realpath(path)))


def check_output(path: Path) -> None:
    """Refuse an output that is not, or would not be, a regular file in an existing folder."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(str(path), None, "is a symbolic link to nothing; give a file path for the output") from None
        if not path.parent.is_dir():
            raise InputError(str(path), None, f"output folder {path.parent} does not exist") from None
        return
    except OSError as exc:
        raise InputError(str(path), None, f"cannot be an output ({exc.strerror or exc})") from None
    for test, kind in _KIND:
        if test(mode):
            raise InputError(str(path), None, f"is {kind}; an output must be a regular file")


def check_outputs(outputs: Iterable[str | os.PathLike[str]],
                  inputs: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """The outputs as paths, once each checked: regular files, none of them an input, none twice."""
    read = [Path(p) for p in [*inputs, *(_INPUTS.get() or [])]]
    input_ids = {file_identity(p): p for p in read if p.exists()}
    seen: dict[tuple[Any, ...], Path] = {}
    paths = []
    for target in outputs:
        path = Path(target)
        check_output(path)
        ident = file_identity(path)
        if ident in input_ids:
            raise InputError(str(path), None, f"is the same file as the input {input_ids[ident]}; "
                             "an output may not replace an input (nothing written)")
        home = os.path.realpath(path.parent)
        for folder in _INPUT_FOLDERS.get() or []:
            if home == folder or home.startswith(folder.rstrip(os.sep) + os.sep):
                raise InputError(str(path), None, f"is inside the folder {folder_name(folder)} this command reads; "
                                 "an output may not change its own input (nothing written)")
        if ident in seen:
            raise InputError(str(path), None, f"names the same file as the output {seen[ident]}; "
                             "each output needs its own file (nothing written)")
        seen[ident] = path
        paths.append(path)
    return paths


def folder_name(real: str) -> str:
    """A folder as an error line shows it: relative to the working folder when it is below it."""
    try:
        return os.path.relpath(real) if not os.path.relpath(real).startswith("..") else real
    except ValueError:  # another drive (Windows)
        return real


def make_private_folder(path: str | os.PathLike[str]) -> Path:
    """Create an output folder (and its parents) readable by the owner only; an existing one is kept."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InputError(str(folder), None, "is not a folder; give a folder for the outputs")
    # Path.mkdir(parents=True) gives the parents it creates the default mode, not `mode`: create
    # each missing one here, owner-only too.
    missing = [folder, *(p for p in folder.parents if not p.exists())] if not folder.exists() else []
    try:
        for each in reversed(missing):
            each.mkdir(exist_ok=True, mode=PRIVATE_FOLDER_MODE)
    except OSError as exc:
        raise InputError(str(folder), None, f"cannot be created ({exc.strerror or exc})") from None
    return folder


# ---------------------------------------------------------------------------------------------
# Locked, journalled commit
# ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def folder_locks(folders: Iterable[Path]) -> Iterator[None]:
    """An exclusive lock on each folder (in a fixed order, so two writers never deadlock)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the journal still keeps each commit whole
        yield
        return
    handles: list[int] = []
    try:
        for folder in sorted({os.path.realpath(f) for f in folders}):
            fd = os.open(folder, os.O_RDONLY)
            handles.append(fd)
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise InputError(folder, None, "another worldflux-nb command has been writing here "
                                         f"for over {LOCK_WAIT_SECONDS:.0f}s; nothing written") from None
                    time.sleep(0.02)
        yield
    finally:
        for fd in handles:
            os.close(fd)  # closing releases the lock


def recover_folder(folder: Path) -> None:
    """Finish a commit a killed writer journalled, and remove temporary files nobody will commit.

    Call only while holding the folder's lock: then no live writer has temporary files here.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in sorted(n for n in names if n.startswith(JOURNAL_PREFIX)):
        journal = folder / name
        try:
            renames = json.loads(journal.read_text(encoding="utf-8"))["renames"]
        except (OSError, ValueError, KeyError, TypeError):
            renames = []  # a journal torn while being written: its commit never began
        for tmp, target in renames:
            if os.path.exists(tmp):
                os.replace(tmp, target)
        for tmp, _ in renames:
            with contextlib.suppress(OSError):
                os.unlink(Path(tmp).parent / name)
        with contextlib.suppress(OSError):
            os.unlink(journal)
    for name in os.listdir(folder):
        if name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_error(exc: OSError, target: Path) -> InputError:
    """A write failure named by the output it was for (never the temporary file)."""
    reason = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
              errno.EROFS: "the file system is read-only",
              errno.EACCES: "permission denied in its folder", errno.EPERM: "permission denied in its folder",
              }.get(exc.errno or 0, exc.strerror or str(exc))
    return InputError(str(target), None, f"cannot be written ({reason}); nothing written")


Outputs = Mapping[str | os.PathLike[str], str | bytes] | Iterable[tuple[str | os.PathLike[str], str | bytes]]


def write_outputs(outputs: Outputs, *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write every file or none, never over an input or anything but a regular file.

    Give (path, content) pairs where two paths might be the same text: a mapping would merge them.
    Each file is staged beside its target; a journal naming every rename is written before the
    first rename, so a writer killed between two renames is finished by the next one.
    """
    pairs = list(outputs.items()) if isinstance(outputs, Mapping) else list(outputs)
    targets = check_outputs([path for path, _ in pairs], inputs)
    contents = [c.encode("utf-8") if isinstance(c, str) else c for _, c in pairs]
    folders = sorted({t.parent for t in targets}, key=str)
    staged: list[tuple[Path, Path]] = []
    journals: list[Path] = []
    committing = False
    with folder_locks(folders):
        try:
            for folder in folders:
                recover_folder(folder)
            for target, data in zip(targets, contents):
                try:
                    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=TEMP_SUFFIX,
                                               dir=target.parent)
                except OSError as exc:
                    raise _write_error(exc, target) from None
                os.close(fd)
                staged.append((Path(tmp), target))
                try:
                    _write_file(Path(tmp), data)
                except OSError as exc:
                    raise _write_error(exc, target) from None
            if len(staged) > 1:
                record = json.dumps({"renames": [[os.path.abspath(t), os.path.abspath(p)] for t, p in staged]})
                name = f"{JOURNAL_PREFIX}{os.getpid()}-{time.monotonic_ns()}.json"
                for folder in folders:
                    journal = folder / name
                    try:
                        _write_file(journal, record.encode("utf-8"))
                    except OSError as exc:
                        raise _write_error(exc, targets[0]) from None
                    journals.append(journal)
            committing = True
            for tmp, target in staged:
                os.replace(tmp, target)
            for folder in folders:
                _fsync_folder(folder)
        except BaseException:
            if committing:
                # The journal is complete: finishing the commit is what keeps the outputs whole.
                for tmp, target in staged:
                    if tmp.exists():
                        os.replace(tmp, target)
            raise
        finally:
            for tmp, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            for journal in journals:
                with contextlib.suppress(OSError):
                    os.unlink(journal)


__all__ = ["canonical_json", "check_outputs", "command_scope", "decode_text", "file_digest",
           "json_bytes", "json_text", "make_private_folder", "note_input", "note_input_folder", "parse_json", "parse_json_bytes",
           "read_bytes", "read_json", "write_outputs", "MAX_INPUT_BYTES"]
