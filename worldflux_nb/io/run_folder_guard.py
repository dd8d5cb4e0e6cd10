"""A notebook run's output folder: an earlier run in it survives a later run that fails or is stopped.

Before a rerun, the folder's entries are set aside in a hidden sub-folder (locked while the run
lasts); a run that succeeds takes the folder and gets back whatever it did not rewrite, a run that
fails or is interrupted is removed and the earlier run is put back. A run killed with kill -9 leaves
the set-aside folder, which the next run into the same folder restores before it starts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from worldflux_nb.errors import InputError
from worldflux_nb.io.files import make_private_folder, write_outputs

SET_ASIDE = ".wfnb-previous-run"
# Written once every earlier entry is set aside: from then on, entries in the folder are the new run's.
SET_ASIDE_DONE = ".complete"


@dataclass
class RunFolder:
    """The folder a run writes into, and whether an earlier run's files were set aside."""

    path: Path
    had_earlier_run: bool
    created: bool
    outcome: str = "failed"  # "ok" keeps the new run; "failed" keeps its notebook only if no earlier run
    keep_on_failure: list[str] = field(default_factory=list)


def _entries(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name != SET_ASIDE)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _restore(folder: Path, aside: Path) -> None:
    """Put an earlier run back: the new run's entries go, the set-aside ones return."""
    if (aside / SET_ASIDE_DONE).exists():
        for name in _entries(folder):
            _remove(folder / name)
    for name in os.listdir(aside):
        if name != SET_ASIDE_DONE:
            os.replace(aside / name, folder / name)
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def _locked(aside: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(aside, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(str(aside.parent), None, "another notebook run is writing into this folder; "
                             "wait for it or choose another --output-dir") from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def guarded_run_folder(path: str | os.PathLike[str]) -> Iterator[RunFolder]:
    """The run folder for the duration of one run; see the module docstring for what survives."""
    folder = Path(path)
    created = not folder.exists()
    make_private_folder(folder)
    aside = folder / SET_ASIDE
    aside.mkdir(exist_ok=True, mode=0o700)
    with _locked(aside):
        if os.listdir(aside):  # an earlier run into this folder was killed before it finished
            _restore(folder, aside)
            aside.mkdir(mode=0o700)
        earlier = _entries(folder)
        for name in earlier:
            os.replace(folder / name, aside / name)
        (aside / SET_ASIDE_DONE).touch()
        run = RunFolder(folder, had_earlier_run=bool(earlier), created=created)
        try:
            yield run
        except BaseException:
            run.outcome = "interrupted" if run.outcome != "ok" else run.outcome
            _finish(run, aside, interrupted=True)
            raise
        _finish(run, aside, interrupted=False)


def _finish(run: RunFolder, aside: Path, *, interrupted: bool) -> None:
    folder = run.path
    if run.outcome == "ok":
        # The new run wins; whatever it did not rewrite comes back from the earlier run.
        for name in os.listdir(aside):
            if name != SET_ASIDE_DONE and not (folder / name).exists():
                os.replace(aside / name, folder / name)
        shutil.rmtree(aside, ignore_errors=True)
        return
    keep = [] if interrupted else run.keep_on_failure
    if run.had_earlier_run:
        kept = {name: (folder / name).read_bytes() for name in keep if (folder / name).is_file()}
        _restore(folder, aside)
        for name, data in kept.items():  # the failed notebook, beside (never over) the earlier run
            failed = folder / (Path(name).stem + ".failed" + Path(name).suffix)
            write_outputs({failed: data})
            run.keep_on_failure = [failed.name]
        return
    for name in _entries(folder):
        if name not in keep:
            _remove(folder / name)
    shutil.rmtree(aside, ignore_errors=True)
    if run.created and not os.listdir(folder):
        with contextlib.suppress(OSError):
            folder.rmdir()
