"""The infrastructure component: Terraform plan, destroy guard, apply of exactly that plan.

``plan`` runs init (the env's backend), validate, ``plan -detailed-exitcode -out`` and
``show -json`` and keeps the saved plan file (0600) for ``execute``, which applies exactly it,
saves ``terraform output -json`` to ``.tars/<env>/outputs.json`` and removes the plan file.
``guard`` is the destroy guard (see :mod:`.infra_guard`). What runs the infrastructure is the
target's (``settings.target.infrastructure``): Terraform (:mod:`.infra_terraform`) for AWS, the
same Terraform on a work copy of ``infrastructure/`` for the emulator (tars_tasks/local/tf_target.py);
both answer with a plan document in ``terraform show -json`` format, so the guard reads every
plan the same way.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import plan as plan_base
from ..errors import TarsError
from ..outcome import DEPLOYED, UNCHANGED, Outcome
from . import infra_guard
from .component import UNKNOWN, Live
from .infra_guard import Change

COMPONENT = "infra"
KINDS = ("create", "update", "replace", "delete", "forget")
# The infrastructure's plan reads nothing an infra deploy makes (pipeline never plans it again).
PLAN_INPUTS: dict[str, tuple[str, ...]] = {"settings": (), "resources": ()}
DONE = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "forget": "forgotten"}


@dataclass(frozen=True)
class InfraPlan:
    """A Terraform plan (or the local runner's); ``has_changes`` is data here, so the shared
    :class:`~tars_tasks.plan.Plan` behaviour is borrowed rather than inherited (its property would
    shadow the field)."""

    component = COMPONENT
    before = after = None
    preview = plan_base.Plan.preview
    env: str
    has_changes: bool
    changes: tuple[Change, ...] = ()
    format_version: str | None = None
    terraform_version: str | None = None
    saved: Any = field(default=None, compare=False, repr=False)   # the runner's saved plan (a plan file)
    release: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)   # discards ``saved``
    refresh_only: bool = False
    drift: tuple[Change, ...] = ()
    no_plan_because: str | None = None   # the runner ran no plan (local Terraform: nothing changed)

    @property
    def plan_file(self) -> str | None:
        return self.saved if isinstance(self.saved, str) else None

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
            return [f"terraform ({self.env}): no changes" + (f" ({self.no_plan_because})" if self.no_plan_because else "")]
        counts = self.counts()
        head = ", ".join(f"{n} to {kind}" for kind, n in counts.items() if n) or "changes outside resources"
        lines = [f"{a}: {action}" + (f" ({why})" if why else "") for a, action, why in self.rows()]
        return [f"terraform ({self.env}): {head}"] + lines

    def blocked(self) -> list[tuple[str, str, bool]]:
        return infra_guard.problems(self.changes, self.format_version)

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "has_changes": self.has_changes, "counts": self.counts(),
                "format_version": self.format_version, "terraform_version": self.terraform_version,
                "refresh_only": self.refresh_only, "no_plan_because": self.no_plan_because,
                "changes": [{"address": c.address, "type": c.type, "actions": list(c.actions),
                             "action": c.kind, "why": c.why, "stateful": c.stateful} for c in self.changes],
                "drift": [{"address": c.address, "actions": list(c.actions)} for c in self.drift],
                "blocked": [{"address": a, "why": w, "stateful": s} for a, w, s in self.blocked()]}


def _runner(settings):
    """What runs the infrastructure for this target (Terraform on AWS, or on the emulator's work copy)."""
    return settings.target.infrastructure(settings)


def plan(settings, *, refresh_only: bool = False, runner=None) -> InfraPlan:
    """Read only: what the runner would change (its saved plan is kept for execute)."""
    runner = runner or _runner(settings)
    has_changes, doc, saved = runner.plan(refresh_only=refresh_only)
    result = InfraPlan(env=settings.env, has_changes=has_changes, changes=infra_guard.parse_changes(doc),
                       format_version=doc.get("format_version"), terraform_version=doc.get("terraform_version"),
                       saved=saved, refresh_only=refresh_only,
                       drift=infra_guard.parse_changes(doc, "resource_drift"),
                       no_plan_because=doc.get("no_plan_because"))
    if not has_changes:
        runner.discard(saved)
        return dataclasses.replace(result, saved=None)
    # A caller that never executes nor discards the plan (a pipeline stopped early, a dry run)
    # still leaves no plan file behind: it goes with the plan object, at the latest at exit.
    result = dataclasses.replace(result, release=functools.partial(runner.discard, saved))
    weakref.finalize(result, runner.discard, saved)
    return result


def guard(plan_: InfraPlan, *, allow_destroy: bool = False, allow_data_loss: bool = False) -> list[str]:
    """The destroy guard: Refused (exit 3) naming each address and why, unless allowed."""
    return infra_guard.check(plan_.changes, plan_.format_version, allow_destroy=allow_destroy,
                             allow_data_loss=allow_data_loss)


def discard(plan_: InfraPlan | None) -> None:
    """Remove a plan's saved file without applying it (refused, cancelled, dry run). Idempotent."""
    if plan_ is not None:
        plan_.release()


def execute(settings, plan_: InfraPlan, *, allow_destroy: bool = False,
            allow_data_loss: bool = False, runner=None, clock=time.monotonic) -> Outcome:
    """Apply exactly the saved plan, then save the outputs. Unchanged → no apply.

    The destroy guard runs here too (not only in the task), so no caller can apply a destroying
    plan without passing the same ``allow_*`` flags."""
    from ..tools import terraform

    started = clock()
    before = _serial(settings)
    runner = runner or _runner(settings)
    try:
        if plan_.has_changes:
            guard(plan_, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
            runner.apply(plan_.saved)
        outputs = runner.outputs()
        path = terraform.save_outputs(settings.state_dir, outputs)
    finally:
        discard(plan_)
    status = DEPLOYED if plan_.has_changes else UNCHANGED
    after = before
    if plan_.has_changes:
        after = _record_apply(settings, runner)
    detail = ", ".join(f"{n} {DONE[k]}" for k, n in plan_.counts().items() if n)
    return Outcome(COMPONENT, status, before=before, after=after,
                   detail=(detail or "no changes") + f"; outputs saved to {path}",
                   rollback_command="inv rollback-infrastructure" if plan_.has_changes else None,
                   elapsed=clock() - started, data={"outputs": sorted(outputs), **plan_.as_dict()})


def fetch_outputs(settings, *, runner=None) -> tuple[Any, dict[str, Any]]:
    """Read only: this env's outputs, saved to .tars/<env>/outputs.json where every task reads them
    (a fresh CI checkout has none). Returns (path or None, outputs)."""
    from ..tools import terraform

    outputs = (runner or _runner(settings)).read_outputs()
    if outputs is None:
        return None, {}
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


def _record_apply(settings, runner) -> str | None:
    from ..tools import git

    record = {**runner.applied(), "applied_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": git.describe(settings.root, ("infrastructure",))}
    _marker(settings).write_text(json.dumps(record, indent=2) + "\n")
    return None if record.get("serial") is None else f"serial {record['serial']}"


def current(settings, *, runner=None) -> Live:
    """The state serial (from the backend) and the last apply recorded by this tool (read only).
    The infrastructure has no rollback target: it is rolled back by reverting its commit."""
    recorded: dict[str, Any] = {}
    try:
        recorded = json.loads(_marker(settings).read_text())
    except (OSError, ValueError):
        pass
    try:
        live = (runner or _runner(settings)).state()
    except TarsError as exc:  # no terraform, no backend access: status still shows the rest
        live = {"error": exc.message}
    record = {"component": COMPONENT, "env": settings.env, "serial": live.get("serial", recorded.get("serial")),
              "last_apply": recorded.get("applied_at"), "applied_commit": recorded.get("commit"), **live}
    if live.get("error"):
        return Live(COMPONENT, UNKNOWN, error=live["error"], record=record)
    if record["serial"] is None:
        return Live.not_deployed(COMPONENT, "no Terraform state yet", record)
    shown = ("serial", "last_apply", "lineage", "applied_commit", "terraform_version", "resources")
    return Live(COMPONENT, version=f"serial {record['serial']}", record=record,
                details=tuple((k, record.get(k)) for k in shown))


@dataclass(frozen=True)
class RevertPlan(plan_base.Plan):
    """rollback-infrastructure: ``git revert --no-edit`` of ``commit``, then the guarded plan and apply."""

    component = COMPONENT
    commit: str
    title: str
    head: str
    has_changes = True

    @property
    def before(self) -> str:
        return self.head

    def summary(self) -> list[str]:
        return [f"would git revert --no-edit {self.title}, then plan and apply with the destroy guard"]

    def as_dict(self) -> dict[str, Any]:
        return {"revert": self.commit, "title": self.title, "head": self.head, "summary": self.summary()}


def plan_rollback(settings, target: str | None = None) -> RevertPlan:
    """Reads only: the commit to revert (default: the newest touching infrastructure/); Refused over
    uncommitted changes there."""
    from ..tools import git
    from . import infra_rollback

    sha, title = infra_rollback.describe(settings, target)
    return RevertPlan(sha, title, git.commit(settings.root))


def rollback(settings, p: RevertPlan, apply_reverted: Callable[[], Outcome]) -> Outcome:
    """Revert ``p.commit`` in git (a local commit), then ``apply_reverted()``: the same skeleton as
    deploy-infrastructure (plan, guard, confirm outside the lock, apply under it). A failure after
    the revert says the revert commit stays and how to undo it."""
    from . import infra_rollback

    sha, title, reverted_as = infra_rollback.revert(settings, p.commit)
    try:
        outcome = apply_reverted()
    except TarsError as exc:
        kept = infra_rollback.kept_hint(reverted_as)
        exc.hint = f"{exc.hint}. {kept}" if exc.hint else kept
        raise
    return Outcome(COMPONENT, outcome.status, before=outcome.before, after=outcome.after,
                   detail=f"reverted {title} as {reverted_as}; {outcome.detail}",
                   rollback_command=f"git revert {reverted_as} && inv deploy-infrastructure",
                   elapsed=outcome.elapsed, data={"reverted": sha, "revert_commit": reverted_as, **outcome.data})
