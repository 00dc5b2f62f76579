"""The infrastructure component: Terraform plan, destroy guard, apply of exactly that plan.

``plan`` runs init (the env's backend), validate, ``plan -detailed-exitcode -out`` and
``show -json`` and keeps the saved plan file (0600) for ``execute``, which applies exactly it,
saves ``terraform output -json`` to ``.tars/<env>/outputs.json`` and removes the plan file.
``guard`` is the destroy guard (see :mod:`.infra_guard`). In local mode Terraform cannot run
(no providers offline, no AWS): plan/execute delegate to ``tars_tasks.local.bootstrap``.
"""
from __future__ import annotations

import dataclasses
import json
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from ..errors import StepFailed, TarsError
from ..outcome import DEPLOYED, PLANNED, UNCHANGED, Outcome
from . import infra_guard
from .infra_guard import Change

COMPONENT = "infra"
KINDS = ("create", "update", "replace", "delete", "forget")
DONE = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "forget": "forgotten"}


@dataclass(frozen=True)
class InfraPlan:
    env: str
    has_changes: bool
    changes: tuple[Change, ...] = ()
    format_version: str | None = None
    terraform_version: str | None = None
    plan_file: str | None = field(default=None, compare=False)
    refresh_only: bool = False
    drift: tuple[Change, ...] = ()

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.kind == kind) for kind in KINDS}

    def rows(self) -> list[tuple[str, str, str]]:
        """(address, action, why) per resource, for the summary table."""
        rows = [(c.address, c.label, c.reason_text) for c in self.changes]
        if self.format_version is not None and infra_guard.format_major(
                {"format_version": self.format_version}) != infra_guard.KNOWN_FORMAT_MAJOR:
            rows.append(("(whole plan)", "unknown", f"plan format_version {self.format_version}"))
        return rows

    def summary(self) -> list[str]:
        if not self.has_changes:
            return [f"terraform ({self.env}): no changes"]
        counts = self.counts()
        head = ", ".join(f"{n} to {kind}" for kind, n in counts.items() if n) or "changes outside resources"
        lines = [f"{a}: {action}" + (f" ({why})" if why else "") for a, action, why in self.rows()]
        return [f"terraform ({self.env}): {head}"] + lines

    def blocked(self) -> list[tuple[str, str, bool]]:
        return infra_guard.problems(self.changes, self.format_version)

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "has_changes": self.has_changes, "counts": self.counts(),
                "format_version": self.format_version, "terraform_version": self.terraform_version,
                "refresh_only": self.refresh_only,
                "changes": [{"address": c.address, "type": c.type, "actions": list(c.actions),
                             "action": c.kind, "why": c.why, "stateful": c.stateful} for c in self.changes],
                "drift": [{"address": c.address, "actions": list(c.actions)} for c in self.drift],
                "blocked": [{"address": a, "why": w, "stateful": s} for a, w, s in self.blocked()]}


def _terraform(settings):
    from ..tools.terraform import Terraform

    return Terraform.for_settings(settings)


def plan(settings, *, refresh_only: bool = False, tf=None) -> Any:
    """Read only: what Terraform would change (the saved plan file is kept for execute)."""
    if settings.is_local:
        from ..local import bootstrap

        return bootstrap.plan(settings)
    from ..tools import terraform

    tf = tf or _terraform(settings)
    tf.init(settings.env)
    tf.validate()
    plan_file = terraform.new_plan_file(settings.state_dir)
    try:
        has_changes = tf.plan(plan_file, refresh_only=refresh_only)
        doc = tf.show_json(plan_file)
    except BaseException:
        terraform.remove_plan_file(plan_file)
        raise
    changes = infra_guard.parse_changes(doc)
    result = InfraPlan(env=settings.env, has_changes=has_changes, changes=changes,
                       format_version=doc.get("format_version"), terraform_version=doc.get("terraform_version"),
                       plan_file=str(plan_file), refresh_only=refresh_only,
                       drift=infra_guard.parse_changes(doc, "resource_drift"))
    if not has_changes:
        terraform.remove_plan_file(plan_file)
        return dataclasses.replace(result, plan_file=None)
    # A caller that never executes nor discards the plan (a pipeline stopped early, a dry run)
    # still leaves no plan file behind: it goes with the plan object, at the latest at exit.
    weakref.finalize(result, terraform.remove_plan_file, plan_file)
    return result


def guard(plan_, *, allow_destroy: bool = False, allow_data_loss: bool = False) -> list[str]:
    """The destroy guard: Refused (exit 3) naming each address and why, unless allowed."""
    if not isinstance(plan_, InfraPlan):  # the local bootstrap only creates
        return []
    return infra_guard.check(plan_.changes, plan_.format_version, allow_destroy=allow_destroy,
                             allow_data_loss=allow_data_loss)


def discard(plan_) -> None:
    """Remove a plan's saved file without applying it (refused, cancelled, dry run)."""
    from ..tools import terraform

    terraform.remove_plan_file(getattr(plan_, "plan_file", None))


def execute(settings, plan_, *, dry_run: bool = False, allow_destroy: bool = False, allow_data_loss: bool = False,
            tf=None, clock=time.monotonic) -> Outcome:
    """Apply exactly the saved plan, then save the outputs. Unchanged → no apply.

    The destroy guard runs here too (not only in the task), so no caller can apply a destroying
    plan without passing the same ``allow_*`` flags."""
    if settings.is_local:
        from ..local import bootstrap

        if dry_run:
            return Outcome(COMPONENT, PLANNED, detail="; ".join(plan_.summary()))
        return bootstrap.apply(settings, plan_)
    from ..tools import terraform

    started = clock()
    tf = tf or _terraform(settings)
    before = _serial(settings)
    try:
        if dry_run:
            return Outcome(COMPONENT, PLANNED, before=before, detail="; ".join(plan_.summary()), data=plan_.as_dict())
        if plan_.has_changes:
            guard(plan_, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
            if not plan_.plan_file:
                raise StepFailed("the plan has no saved plan file to apply", "run the plan again")
            tf.apply(plan_.plan_file)
        outputs = tf.outputs()
        path = terraform.save_outputs(settings.state_dir, outputs)
    finally:
        discard(plan_)
    status = DEPLOYED if plan_.has_changes else UNCHANGED
    after = before
    if plan_.has_changes:
        after = _record_apply(settings, tf)
    detail = ", ".join(f"{n} {DONE[k]}" for k, n in plan_.counts().items() if n)
    return Outcome(COMPONENT, status, before=before, after=after,
                   detail=(detail or "no changes") + f"; outputs saved to {path}",
                   rollback_command="inv rollback-infrastructure" if plan_.has_changes else None,
                   elapsed=clock() - started, data={"outputs": sorted(outputs), **plan_.as_dict()})


def fetch_outputs(settings, *, tf=None) -> tuple[Any, dict[str, Any]]:
    """Read only: this env's Terraform outputs, saved to .tars/<env>/outputs.json where every task
    reads them (a fresh CI checkout has none). Returns (path or None, outputs). Local mode: the
    local bootstrap writes that file itself; whatever it wrote is returned."""
    from ..settings import read_outputs
    from ..tools import terraform

    if settings.is_local:
        path = settings.state_dir / "outputs.json"
        return (path, read_outputs(path)) if path.is_file() else (None, {})
    tf = tf or _terraform(settings)
    tf.init(settings.env)
    outputs = tf.outputs()
    return terraform.save_outputs(settings.state_dir, outputs), outputs


# ---------------------------------------------------------------- what is live

def _marker(settings):
    return settings.state_dir / "infra-applied.json"


def _serial(settings) -> str | None:
    try:
        data = json.loads(_marker(settings).read_text())
        return None if data.get("serial") is None else f"serial {data['serial']}"
    except (OSError, ValueError):
        return None


def _record_apply(settings, tf) -> str | None:
    from ..tools import git

    state = tf.state_pull()
    record = {"serial": state.get("serial"), "lineage": state.get("lineage"),
              "terraform_version": state.get("terraform_version"),
              "applied_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": git.describe(settings.root, ("infrastructure",))}
    _marker(settings).write_text(json.dumps(record, indent=2) + "\n")
    return None if record["serial"] is None else f"serial {record['serial']}"


def current(settings, *, tf=None) -> dict[str, Any]:
    """The state serial (from the backend) and the last apply recorded by this tool (read only)."""
    recorded: dict[str, Any] = {}
    try:
        recorded = json.loads(_marker(settings).read_text())
    except (OSError, ValueError):
        pass
    live: dict[str, Any] = {}
    if not settings.is_local:
        try:
            tf = tf or _terraform(settings)
            tf.init(settings.env)
            state = tf.state_pull()
            live = {"serial": state.get("serial"), "lineage": state.get("lineage"),
                    "terraform_version": state.get("terraform_version"),
                    "resources": len(state.get("resources") or [])}
        except TarsError as exc:  # no terraform, no backend access: status still shows the rest
            live = {"error": exc.message}
    return {"component": COMPONENT, "env": settings.env, "serial": live.get("serial", recorded.get("serial")),
            "last_apply": recorded.get("applied_at"), "applied_commit": recorded.get("commit"), **live}


def rollback(settings, target: str | None = None, *, dry_run: bool = False, allow_destroy: bool = False,
             allow_data_loss: bool = False, show=None, confirm=None) -> Outcome:
    """``git revert --no-edit`` the newest commit touching infrastructure/ (or ``target``), then
    the same guarded plan and apply. ``show(plan)`` sees the plan, ``confirm(plan)`` is asked
    after the guard passed and before the apply."""
    from ..tools import git
    from . import infra_rollback

    if dry_run:
        sha, title = infra_rollback.describe(settings, target)
        return Outcome(COMPONENT, PLANNED, before=git.commit(settings.root),
                       detail=f"would git revert --no-edit {title}, then plan and apply with the destroy guard",
                       data={"revert": sha})
    sha, title, reverted_as = infra_rollback.revert(settings, target)
    kept = infra_rollback.kept_hint(reverted_as)
    plan_ = None
    try:
        plan_ = plan(settings)
        if show:
            show(plan_)
        guard(plan_, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
        if plan_.has_changes and confirm:
            confirm(plan_)
        outcome = execute(settings, plan_, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
    except TarsError as exc:
        if plan_ is not None:
            discard(plan_)
        exc.hint = f"{exc.hint}. {kept}" if exc.hint else kept
        raise
    return Outcome(COMPONENT, outcome.status, before=outcome.before, after=outcome.after,
                   detail=f"reverted {title} as {reverted_as}; {outcome.detail}",
                   rollback_command=f"git revert {reverted_as} && inv deploy-infrastructure",
                   elapsed=outcome.elapsed, data={"reverted": sha, "revert_commit": reverted_as, **outcome.data})
