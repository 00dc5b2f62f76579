"""Local infrastructure: create in the emulator exactly what ``infrastructure/`` defines.

The local target's infrastructure runner (:class:`BootstrapRunner`, what steps/infra.py drives):
``plan`` (reads only: what is missing or differs) and ``apply`` (creates it, writes
``.tars/<env>/outputs.json`` in ``terraform output -json`` format, starts the runtime and site
servers). Issue 13 replaces it with Terraform itself applied to the emulator through the same seam. Names come from
``settings.resource_names`` and tables from ``tars_tasks.tables``, the same sources the
Terraform is checked against. A second apply finds nothing to do.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..outcome import DEPLOYED, UNCHANGED, Outcome
from . import bootstrap_apply, bootstrap_resources as res
from .bootstrap_resources import Change


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    outputs: tuple[tuple[str, str | None], ...]   # None: known after apply
    outputs_path: str
    outputs_changed: bool
    account_id: str = ""
    names: tuple[tuple[str, str], ...] = field(default=())

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or self.outputs_changed

    def summary(self) -> list[str]:
        lines = [c.line() for c in self.changes]
        if self.outputs_changed:
            lines.append(f"write {self.outputs_path}")
        return lines or ["no changes: every local resource exists"]

    def as_dict(self) -> dict[str, Any]:
        return {"has_changes": self.has_changes, "changes": [c.__dict__ for c in self.changes],
                "outputs": dict(self.outputs), "outputs_path": self.outputs_path,
                "outputs_changed": self.outputs_changed}


def plan(settings) -> Plan:
    """What is missing or differs in the emulator. Read calls only."""
    from ..aws import sts

    account = sts.account_id(settings.clients)
    ctx = res.Context.build(settings, account)
    # The checks only read and are independent: run them side by side (a cold emulator loads
    # each service on its first request), keeping their order in the plan.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(res.CHECKS)) as pool:
        found = list(pool.map(lambda check: list(check(ctx)), res.CHECKS))
    changes = tuple(change for changes_of_check in found for change in changes_of_check)
    outputs = res.outputs(ctx, known=True)
    path = settings.state_dir / "outputs.json"
    return Plan(changes=changes, outputs=tuple(sorted(outputs.items())), outputs_path=str(path),
                outputs_changed=bool(changes) or _read_json(path) != render_outputs(outputs),
                account_id=account, names=tuple(sorted(ctx.names.items())))


def apply(settings, plan: Plan, *, start_services: bool = True, clock=time.monotonic) -> Outcome:
    """Create what ``plan`` found missing, write outputs.json, start the runtime and site."""
    from ..aws import sts

    started = clock()
    ctx = res.Context.build(settings, plan.account_id or sts.account_id(settings.clients))
    done = []
    for change in plan.changes:
        bootstrap_apply.APPLY[(change.kind, change.action)](ctx, change)
        done.append(change.line())
    outputs = res.outputs(ctx, known=False)
    path = settings.state_dir / "outputs.json"
    wrote = write_outputs(path, outputs)
    if start_services:
        from . import services

        services.ensure(settings.replace(**ctx.local_values()))
    status = DEPLOYED if (done or wrote) else UNCHANGED
    detail = f"{len(done)} resource change(s)" if done else ("outputs.json rewritten" if wrote else "no changes")
    return Outcome("infra", status, before=None, after=outputs.get("cloudfront_distribution_id"), detail=detail,
                   elapsed=clock() - started, data={"changes": done, "outputs": outputs,
                                                    "outputs_path": str(path)})


def render_outputs(outputs: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``terraform output -json`` shape: {name: {"sensitive": false, "type": "string", "value": v}}."""
    return {name: {"sensitive": False, "type": "string", "value": value}
            for name, value in sorted(outputs.items()) if value is not None}


def write_outputs(path, outputs: dict[str, str]) -> bool:
    """Write outputs.json when its content differs. True when written."""
    rendered = render_outputs(outputs)
    if _read_json(path) == rendered:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rendered, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return True


def _read_json(path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class BootstrapRunner:
    """The bootstrap behind the runner seam of steps/infra.py: its plan is answered as a
    ``terraform show -json`` document (format 1.2: create and update actions only)."""

    FORMAT = "1.2"

    def __init__(self, settings):
        self.settings = settings

    def plan(self, *, refresh_only: bool = False) -> tuple[bool, dict[str, Any], Plan]:
        if refresh_only:
            from ..errors import UsageError

            raise UsageError("infra-drift needs Terraform state; local mode has none", "run it without --local")
        found = plan(self.settings)
        doc = {"format_version": self.FORMAT, "resource_changes": [
            {"address": f"{c.kind.replace(' ', '_')}.{c.name}", "type": c.kind.replace(" ", "_"),
             "change": {"actions": [c.action]}, "action_reason": c.why} for c in found.changes]}
        return found.has_changes, doc, found

    def apply(self, saved: Plan) -> None:
        apply(self.settings, saved)

    def discard(self, saved: Any) -> None:
        """Nothing is kept between plan and apply."""

    def outputs(self) -> dict[str, Any]:
        return _read_json(self.settings.state_dir / "outputs.json") or {}

    def read_outputs(self) -> dict[str, Any] | None:
        """None before the local infrastructure exists (nothing deployed yet)."""
        return _read_json(self.settings.state_dir / "outputs.json")

    def state(self) -> dict[str, Any]:
        return {}   # no Terraform state locally

    applied = state
