"""The one evidence size limit, the same for `audit import` and `eval-portfolio packet` (a module of
its own, so the packet command does not import the importers to learn it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from worldflux_nb.errors import InputError

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


def check_evidence_rows(audit: AuditInput, source: str, max_rows: int) -> AuditInput:
    """Refuse an audit input over the row limit, naming the flag that raises it."""
    if len(audit.episodes) > max_rows:
        raise InputError(source, "episodes", f"holds {len(audit.episodes):,} rows, over the limit of "
                         f"{max_rows:,}; raise it with --max-evidence-rows")
    return audit
