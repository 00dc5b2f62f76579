"""One way to fail: TarsError and its kinds.

Every expected failure is a TarsError carrying one line saying what failed, one line saying
what to do, and an exit code (DESIGN.md): 1 a step failed, 2 bad usage or configuration,
3 refused by a safety check, 4 done but the --json report could not be written. The task skeleton (``tars_tasks.skeleton``) turns them into exactly
those two lines and that exit code, never a traceback unless ``--debug``.
"""
from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_REPORT = 4


class TarsError(Exception):
    """An expected failure: ``message`` says what failed, ``hint`` what to do."""

    exit_code = EXIT_FAILED
    kind = "failed"

    def __init__(self, message: str, hint: str | None = None, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details or [])

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "hint": self.hint,
                "details": self.details, "exit_code": self.exit_code}


class StepFailed(TarsError):
    """A deploy step ran and failed (AWS error, build failure, smoke test failed). Exit 1."""

    exit_code = EXIT_FAILED
    kind = "failed"


class UsageError(TarsError):
    """Bad flags or arguments. Exit 2."""

    exit_code = EXIT_USAGE
    kind = "usage"


class ConfigError(TarsError):
    """Missing or malformed configuration, credentials, or a missing resource/program. Exit 2."""

    exit_code = EXIT_USAGE
    kind = "config"


class Refused(TarsError):
    """A safety check said no: destroy guard, deploy lock, preflight. Exit 3."""

    exit_code = EXIT_REFUSED
    kind = "refused"


class ReportNotWritten(TarsError):
    """The task did its work (its changes stand) but its --json report could not be written. Exit 4."""

    exit_code = EXIT_REPORT
    kind = "report"
