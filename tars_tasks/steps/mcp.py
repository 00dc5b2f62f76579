"""The MCP server component: plan, execute, current, rollback, scale (mcp-stop / mcp-start).

The image tag is the git commit of mcp_server/ (plus a content hash when dirty). What publishes an
image and rolls the service to it is the target's (``settings.target.mcp()``): ECR + ECS for AWS
(steps/mcp_ecs.py), a local process registered in the emulator for local (tars_tasks/local/mcp.py).
What is live (the service's revision), going back to a revision and scaling are read and done
through ECS for both.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from .. import console
from .. import plan as plan_base
from ..errors import ConfigError, StepFailed, UsageError
from ..outcome import DEPLOYED, Outcome
from .component import Live
from .mcp_rollout import reasons, reporter

COMPONENT = "mcp"
# What this plan reads that the infrastructure step makes: steps.pipeline plans it again after an
# infra deploy only when one changed (settings fields, and resource types without "aws_").
PLAN_INPUTS = {"settings": ("ecs_cluster", "ecs_service", "ecr_repository_url"),
               "resources": ("ecs_", "ecr_", "service_discovery_")}
SOURCE_DIR = "mcp_server"
DEFAULT_TIMEOUT = 600.0


def image_tag(settings) -> str:
    """The git commit (tools.git.describe of mcp_server/), plus a content hash when dirty."""
    from ..tools import build_context, git

    source = settings.root / SOURCE_DIR
    if not source.is_dir():
        raise ConfigError(f"no {SOURCE_DIR}/ directory in {settings.root}", "run the task from the TARS checkout")
    described = git.describe(settings.root, (SOURCE_DIR,))
    if described == "unknown":
        return f"src-{build_context.content_hash(source)}"
    if described.endswith("-dirty"):
        return f"{described}-{build_context.content_hash(source)}"
    return described


def plan(settings, *, builder: str | None = None, **_: Any):
    """The image tag of mcp_server/, then the target's publisher's plan (reads only)."""
    tag = image_tag(settings)
    builder = builder or settings.builder
    if builder:
        from ..tools import remote

        remote.parse(builder)
    return settings.target.mcp().plan(settings, tag, builder=builder)


def execute(settings, plan, *, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Publish what ``plan`` says, with the target's publisher."""
    return settings.target.mcp().execute(settings, plan, timeout=timeout, clock=clock, sleep=sleep)


def current(settings) -> Live:
    """The service's task definition (its ARN is the rollback target), image and rollout."""
    from ..aws import ecs

    service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    arn = service.get("taskDefinition")
    if not arn:
        return Live.not_deployed(COMPONENT, f"service {settings.ecs_service} has no task definition")
    definition, _ = ecs.describe_task_definition(settings.clients, arn)
    container = ecs.pick_container(definition, settings.ecr_repository_url)
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    record = {"service": settings.ecs_service, "cluster": settings.ecs_cluster, "task_definition": arn,
              "revision": ecs.family_revision(arn)[1], "image": container.get("image"),
              "desired": service.get("desiredCount"), "running": service.get("runningCount"),
              "pending": service.get("pendingCount"), "rollout_state": primary.get("rolloutState")}
    shown = ("task_definition", "revision", "image", "running", "desired", "rollout_state", "service", "cluster",
             "pending")
    return Live(COMPONENT, version=ecs.short_name(arn), rollback_target=arn, record=record,
                details=tuple((k, record[k]) for k in shown))


def resolve_revision(settings, current_arn: str, target: Any) -> str:
    """--to: a revision number, 'family:N' or an ARN -> the ARN (None: the previous ACTIVE revision)."""
    from ..aws import ecs

    family, revision = ecs.family_revision(current_arn)
    if target in (None, ""):
        previous = ecs.previous_revision(settings.clients, family, revision)
        if not previous:
            raise ConfigError(f"{family} has no ACTIVE revision before {revision}", "name one with --to REVISION")
        return previous
    text = str(target).strip()
    if text.isdigit():
        text = f"{family}:{text}"
    elif ":" not in text:
        raise UsageError(f"--to '{target}' is not a revision", "give a number (--to 7), family:7 or an ARN")
    return ecs.describe_task_definition(settings.clients, text)[0]["taskDefinitionArn"]


@dataclass(frozen=True)
class RollbackPlan(plan_base.Plan):
    """rollback-mcp: point the service from ``current`` back at ``target`` (task definition ARNs)."""

    component = COMPONENT
    service: str
    current: str
    target: str

    @property
    def has_changes(self) -> bool:
        return self.target != self.current

    @property
    def before(self) -> str:
        from ..aws.ecs import short_name

        return short_name(self.current)

    @property
    def after(self) -> str:
        from ..aws.ecs import short_name

        return short_name(self.target)

    def summary(self) -> list[str]:
        if not self.has_changes:
            return [f"{self.service} already runs {self.after}"]
        return [f"update {self.service} from {self.before} to {self.after} and wait for the rollout"]

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "current": self.current, "target": self.target,
                "has_changes": self.has_changes, "summary": self.summary()}


@dataclass(frozen=True)
class ScalePlan(plan_base.Plan):
    """mcp-stop / mcp-start: the service's desired count from ``current`` to ``desired``."""

    component = COMPONENT
    service: str
    current: int | None
    desired: int

    @property
    def has_changes(self) -> bool:
        return self.current != self.desired

    @property
    def before(self) -> str:
        return str(self.current)

    @property
    def after(self) -> str:
        return str(self.desired)

    def summary(self) -> list[str]:
        if not self.has_changes:
            return [f"{self.service} desired count is already {self.desired}"]
        return [f"set the desired count of {self.service} from {self.current} to {self.desired} and wait "
                f"until {self.desired} task(s) run"]

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "current": self.current, "desired": self.desired,
                "has_changes": self.has_changes, "summary": self.summary()}


def plan_rollback(settings, target: Any = None) -> RollbackPlan:
    """The revision --to names (default: the previous ACTIVE one) against the live one. Reads only."""
    from ..aws import ecs

    service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    current = service["taskDefinition"]
    return RollbackPlan(settings.ecs_service, current, resolve_revision(settings, current, target))


def execute_rollback(settings, p: RollbackPlan, *, timeout: float = DEFAULT_TIMEOUT,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Point the service back with the target's publisher (ECS rollout, or the local process)."""
    if not p.has_changes:
        return p.preview()
    return settings.target.mcp().rollback(settings, p.current, p.target, timeout=timeout, clock=clock, sleep=sleep)


def rollback(settings, target: Any = None, *, dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT,
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """The component contract's rollback (whole-release rollback calls it): plan, then execute it,
    or show it (``dry_run``)."""
    p = plan_rollback(settings, target)
    if dry_run:
        return p.preview()
    return execute_rollback(settings, p, timeout=timeout, clock=clock, sleep=sleep)


def plan_scale(settings, desired: int) -> ScalePlan:
    from ..aws import ecs

    service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    return ScalePlan(settings.ecs_service, service.get("desiredCount"), int(desired))


def execute_scale(settings, p: ScalePlan, *, timeout: float = DEFAULT_TIMEOUT,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Set the desired count and wait until running == desired."""
    from ..aws import ecs

    if not p.has_changes:
        return p.preview()
    started = clock()
    ecs.update_service(settings.clients, settings.ecs_cluster, settings.ecs_service, desired_count=p.desired)
    with console.status(f"scaling {settings.ecs_service} to {p.desired}") as status:
        watch = ecs.watch(settings.clients, settings.ecs_cluster, settings.ecs_service,
                          lambda s: ecs.scaled(s, p.desired), timeout=timeout, delay=float(settings.waiter_delay),
                          clock=clock, sleep=sleep, on_poll=reporter(settings, None, None, status, clock))
    if watch.verdict.state != ecs.COMPLETED:
        raise StepFailed(f"{settings.ecs_service} did not reach {p.desired} running task(s): {watch.verdict.reason}",
                         "see the events above; inv status shows the service", details=reasons(settings, watch, None))
    return Outcome(COMPONENT, DEPLOYED, p.before, p.after, f"{settings.ecs_service} running {p.desired}",
                   elapsed=clock() - started)


def scale(settings, desired: int, **kwargs: Any) -> Outcome:
    """mcp-stop / mcp-start as one call: plan, then execute."""
    return execute_scale(settings, plan_scale(settings, desired), **kwargs)
