"""The component contract: what `deploy --all`, `status`, `releases` and `rollback --to` rely on.

Each component module (steps/lambda_.py, ui.py, mcp.py, infra.py; the registry is
``steps.pipeline.COMPONENTS``) honours :class:`Component`: ``plan`` (reads only) → ``execute``,
``current`` (what is live, as a :class:`Live`), ``plan_rollback`` / ``rollback``, and
``PLAN_INPUTS`` (what its plan reads that the infrastructure makes; None: plan again after any
infra deploy). ``Live`` is typed: its state, the version a person reads, the value the
component's ``rollback()`` takes, and the details ``inv status`` shows in the component's order.

Release records (steps/release.py) store :meth:`Live.as_record`: the component's own description
under the keys it has always used (older versions of this tool read those) plus an explicit
``state`` and ``rollback_target``. :meth:`Live.from_record` reads both shapes: a record written
before ``rollback_target`` was stored is read through the one key each component used (:data:`OLD_KEYS`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

LIVE, NOT_DEPLOYED, UNKNOWN = "live", "not deployed", "unknown"
STATES = (LIVE, NOT_DEPLOYED, UNKNOWN)
# The key of each component's record that older versions of this tool took as its rollback target
# (they wrote no "rollback_target"). The infrastructure is never rolled back from a record.
OLD_KEYS: dict[str, str | None] = {"lambda": "version", "ui": "release_id", "mcp": "task_definition", "infra": None}
_OWN = ("state", "rollback_target", "error")   # the keys as_record() adds to the component's description


@dataclass(frozen=True)
class Live:
    """What one component has live now (its ``current()``), or what a release record says it had."""

    component: str
    state: str = LIVE                 # LIVE, NOT_DEPLOYED or UNKNOWN
    version: str | None = None        # what a person reads ("7", "tars-mcp:5", "serial 12")
    rollback_target: str | None = None   # what the component's rollback() takes; None: nothing to return to
    details: tuple[tuple[str, Any], ...] = ()   # what status shows, in the component's order
    error: str = ""                   # why the state is unknown (or, not deployed, what is missing)
    # the component's own description, in the shape release records have always stored it
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"Live.state must be one of {STATES}, not {self.state!r}")

    @classmethod
    def unknown(cls, component: str, error: str) -> "Live":
        return cls(component, UNKNOWN, error=error)

    @classmethod
    def not_deployed(cls, component: str, why: str = "", record: Mapping[str, Any] | None = None) -> "Live":
        return cls(component, NOT_DEPLOYED, error=why, record=dict(record or {}))

    def shown(self) -> str:
        """The details column of `inv status`: ``key=value, ...`` (empty values left out), or why."""
        if self.state != LIVE:
            return self.error
        return ", ".join(f"{k}={v}" for k, v in self.details if v not in (None, ""))

    def as_record(self) -> dict[str, Any]:
        """What a release record stores: the component's description (its old keys, so older
        versions of this tool read it) plus the explicit state and rollback target."""
        out = {k: v for k, v in self.record.items() if k not in _OWN}
        out.update(state=self.state, rollback_target=self.rollback_target)
        if self.error:
            out["error"] = self.error
        return out

    def as_dict(self) -> dict[str, Any]:
        """`inv status --json`: the record plus the version and the details as shown."""
        return {**self.as_record(), "version": self.version, "details": dict(self.details)}

    @classmethod
    def from_record(cls, component: str, data: Mapping[str, Any] | None) -> "Live":
        """A component's entry of a release record, written by this version or an older one."""
        if not data:
            return cls.not_deployed(component, "not in the release record")
        rest = {k: v for k, v in data.items() if k not in _OWN}
        error = str(data.get("error") or data.get("detail") or "")
        if "rollback_target" in data:                       # written by this version
            target = data["rollback_target"]
            state = data.get("state") if data.get("state") in STATES else LIVE
        else:                                               # older: the one key this component used
            key = OLD_KEYS.get(component)
            target = data.get(key) if key else None
            state = (UNKNOWN if data.get("state") == "unknown" or data.get("error") else
                     NOT_DEPLOYED if data.get("state") in ("not deployed", "missing") else LIVE)
        target = None if target in (None, "") else str(target)
        return cls(component, state, version=target, rollback_target=target, error=error if state != LIVE else "",
                   record=rest)


@runtime_checkable
class Component(Protocol):
    """A deployable part of TARS (a module: steps/lambda_.py, ui.py, mcp.py, infra.py)."""

    PLAN_INPUTS: Mapping[str, tuple[str, ...]] | None   # {"settings": fields, "resources": type prefixes}

    def plan(self, settings, *args: Any, **kwargs: Any) -> Any: ...        # reads only; a frozen plan

    def execute(self, settings, plan, **kwargs: Any) -> Any: ...           # carries the plan out: an Outcome

    def current(self, settings) -> Live: ...                               # what is live now (reads only)

    def plan_rollback(self, settings, target: Any = None, **kwargs: Any) -> Any: ...   # reads only

    def rollback(self, settings, *args: Any, **kwargs: Any) -> Any: ...    # back to a rollback target: an Outcome

