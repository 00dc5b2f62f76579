"""The MCP server component: plan, execute, current, rollback, scale (mcp-stop / mcp-start).

The image tag is the git commit of mcp_server/ (plus a content hash when dirty). What publishes an
image and rolls the service to it is the target's (``settings.target.mcp()``): ECR + ECS for AWS
(steps/mcp_ecs.py), a local process registered in the emulator for local (tars_tasks/local/mcp.py).
What is live (the service's revision), going back to a revision and scaling are read and done
through ECS for both.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from .. import console
from ..errors import ConfigError, StepFailed, UsageError
from ..outcome import DEPLOYED, PLANNED, UNCHANGED, Outcome
from .mcp_rollout import reasons, reporter

COMPONENT = "mcp"
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


def current(settings) -> dict[str, Any]:
    from ..aws import ecs

    service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    arn = service.get("taskDefinition")
    definition, _ = ecs.describe_task_definition(settings.clients, arn)
    container = ecs.pick_container(definition, settings.ecr_repository_url)
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    return {"service": settings.ecs_service, "cluster": settings.ecs_cluster, "task_definition": arn,
            "revision": ecs.family_revision(arn)[1] if arn else None, "image": container.get("image"),
            "desired": service.get("desiredCount"), "running": service.get("runningCount"),
            "pending": service.get("pendingCount"), "rollout_state": primary.get("rolloutState")}


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


def rollback(settings, target: Any = None, *, dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT,
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    from ..aws import ecs

    started = clock()
    service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    current_arn = service["taskDefinition"]
    target_arn = resolve_revision(settings, current_arn, target)
    before, after = ecs.short_name(current_arn), ecs.short_name(target_arn)
    if target_arn == current_arn:
        return Outcome(COMPONENT, UNCHANGED, before, after, f"{settings.ecs_service} already runs {after}")
    if dry_run:
        return Outcome(COMPONENT, PLANNED, before, after, f"would update {settings.ecs_service} to {after} and wait")
    return settings.target.mcp().rollback(settings, current_arn, target_arn, timeout=timeout, clock=clock,
                                          sleep=sleep)


def scale(settings, desired: int, *, dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT,
          clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """mcp-stop / mcp-start: set the desired count and wait until running == desired."""
    from ..aws import ecs

    started = clock()
    service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    before = str(service.get("desiredCount"))
    if service.get("desiredCount") == desired:
        return Outcome(COMPONENT, UNCHANGED, before, before, f"{settings.ecs_service} desired count is already {desired}")
    if dry_run:
        return Outcome(COMPONENT, PLANNED, before, str(desired), f"would set the desired count to {desired}")
    ecs.update_service(settings.clients, settings.ecs_cluster, settings.ecs_service, desired_count=desired)
    with console.status(f"scaling {settings.ecs_service} to {desired}") as status:
        watch = ecs.watch(settings.clients, settings.ecs_cluster, settings.ecs_service, lambda s: ecs.scaled(s, desired),
                          timeout=timeout, delay=float(settings.waiter_delay), clock=clock, sleep=sleep,
                          on_poll=reporter(settings, None, None, status, clock))
    if watch.verdict.state != ecs.COMPLETED:
        raise StepFailed(f"{settings.ecs_service} did not reach {desired} running task(s): {watch.verdict.reason}",
                         "see the events above; inv status shows the service", details=reasons(settings, watch, None))
    return Outcome(COMPONENT, DEPLOYED, before, str(desired), f"{settings.ecs_service} running {desired}",
                   elapsed=clock() - started)
