"""What a component deploy returns: plain data the pipeline, the summary and --json use."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEPLOYED = "deployed"
UNCHANGED = "unchanged"
FAILED = "failed"
NOT_REACHED = "not reached"
PLANNED = "planned"  # --dry-run


@dataclass(frozen=True)
class Outcome:
    """One component's result: ``before`` -> ``after`` (versions, release ids, revisions)."""

    component: str
    status: str
    before: str | None = None
    after: str | None = None
    detail: str = ""
    rollback_command: str | None = None
    elapsed: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
