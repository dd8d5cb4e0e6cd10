"""The one evidence size limit, the same for `audit import` and `eval-portfolio packet` (a module of
its own, so the packet command does not import the importers to learn it)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from worldflux_nb.errors import InputError, TooLarge

if TYPE_CHECKING:
    from worldflux_nb.models.evidence import AuditInput

# Harness files are untrusted: a quarter of a gibibyte is already a very large evaluation.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# `--max-evidence-rows`: rows per audit input, and so bytes per evidence file read for one.
DEFAULT_MAX_EVIDENCE_ROWS = 2_000_000
BYTES_PER_EVIDENCE_ROW = 1024


def evidence_bytes_limit(max_rows: int) -> int:
    """The largest evidence file (harness file or audit input) read under a row limit."""
    return max_rows * BYTES_PER_EVIDENCE_ROW


def check_evidence_rows(audit: AuditInput, source: str, max_rows: int,
                        flag: str = "--max-evidence-rows") -> AuditInput:
    """Refuse an audit input over the row limit, naming the flag (or the Python keyword) that raises it."""
    if len(audit.episodes) > max_rows:
        raise InputError(source, "episodes", f"holds {len(audit.episodes):,} rows, over the limit of "
                         f"{max_rows:,}; raise it with {flag}")
    return audit


# How the Python API and the template notebook name the limit `--max-evidence-rows` sets.
API_KEYWORD = "max_evidence_rows="


def row_limit(max_evidence_rows: int | None) -> int:
    """`max_evidence_rows` as `--max-evidence-rows` takes it: a positive count, or None for the default."""
    if max_evidence_rows is None:
        return DEFAULT_MAX_EVIDENCE_ROWS
    if type(max_evidence_rows) is not int or max_evidence_rows < 1:
        raise InputError(None, "max_evidence_rows", f"must be a positive integer, not {max_evidence_rows!r}")
    return max_evidence_rows


@contextmanager
def naming_the_flag(flag: str, max_rows: int | None = None) -> Iterator[None]:
    """A file refused as too large inside this block names the flag that raises its limit (and, when
    the limit comes from the row limit, how)."""
    try:
        yield
    except TooLarge as exc:
        how = f" (1 KiB a row of {max_rows:,} row{'s' * (max_rows != 1)})" if max_rows is not None else ""
        raise InputError(exc.source, exc.field, f"{exc.problem}{how}; raise it with {flag}") from None


def load_audit_input(path: str, max_rows: int, flag: str = API_KEYWORD) -> AuditInput:
    """An audit input file read as `eval-portfolio packet` reads one: at most 1 KiB a row of the limit,
    its digest verified, then refused over the limit."""
    from worldflux_nb.io.artifacts import load
    from worldflux_nb.models.evidence import AuditInput

    with naming_the_flag(flag, max_rows):
        audit = load(path, AuditInput, max_bytes=evidence_bytes_limit(max_rows))
    return check_evidence_rows(audit, path, max_rows, flag)
