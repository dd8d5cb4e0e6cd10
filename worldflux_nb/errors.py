"""Errors the edges turn into exit codes: bad input (2) and strict-mode failures (3)."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: carries the file and the field so the message names both on one line."""

    def __init__(self, source: str | None, field: str | None, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ": ".join(part for part in (self.source, self.field) if part)
        from worldflux_nb.escaping import visible_controls  # a file or task name may carry ESC or NUL

        text = f"{where}: {self.problem}" if where else self.problem
        return " ".join(visible_controls(text).split())

    def with_source(self, source: str) -> "InputError":
        """The same error, naming the file it came from when it did not already."""
        return self if self.source else InputError(source, self.field, self.problem)


class TooLarge(InputError):
    """A file (or a folder's result files) over the byte limit it was read under; an edge that set the
    limit from a flag adds which flag raises it (io.evidence_limits.naming_the_flag)."""


def validation_problem(error: dict) -> tuple[str | None, str]:
    """One pydantic error (an item of ValidationError.errors()) as the field it names and a plain problem,
    without pydantic's "Value error, " / "Assertion failed, " prefix; the one place every edge calls."""
    field = ".".join(str(part) for part in error.get("loc", ())) or None
    kind = error.get("type")
    if kind == "missing":
        return field, "is required but missing"
    if kind == "extra_forbidden":
        return field, "is not a known field"
    message = str(error.get("msg") or "is invalid")
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return field, message


class StrictModeFailure(Exception):
    """Evidence gaps that --strict-missing-evidence turns from warnings into a failure."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("strict mode: " + "; ".join(reasons))
