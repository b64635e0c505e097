"""Errors the core raises. Only the CLI shell turns them into `error:`/`hint:` lines and exit codes."""


class MarginDashError(Exception):
    """A known failure: a message for the user and an optional hint on what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(MarginDashError):
    """The command line asked for something impossible (bad date, unknown option value)."""

    exit_code = 2


class StoreError(MarginDashError):
    """The store file is missing, corrupt, not SQLite, or from a newer version."""


class InputError(MarginDashError):
    """An input file could not be read at all (not a single bad line: those are quarantined)."""


class LineRejected(Exception):
    """One input line cannot become a usage event. Carries the reason and the field at fault.

    Not a MarginDashError: a rejected line never stops a run; ingest quarantines it and goes on.
    """

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason
