"""The MCP server on AWS: image in ECR, task definition revision, ECS rolling update.

What publishes the MCP server for the AWS target (``AwsTarget.mcp``; the local target's is
tars_tasks/local/mcp.py). ``plan`` reads only: whether ECR holds the tag, what the service runs
now. ``execute`` builds and pushes (locally or on a remote builder) only when ECR lacks the tag,
registers a copy of the live task definition with only the image changed only when the service
runs another image, updates the service (rolling, never scaled to zero) and watches the rollout.
A failed, rolled-back or timed-out rollout points the service back at the previous revision,
waits for it, and fails with the reasons.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from .. import console
from .. import plan as plan_base
from ..errors import ConfigError, StepFailed
from ..outcome import DEPLOYED, UNCHANGED, Outcome
from .mcp_rollout import OUTCOME_WORDS, reasons, roll_to

COMPONENT = "mcp"
SOURCE_DIR = "mcp_server"
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Plan(plan_base.Plan):
    component = COMPONENT
    cluster: str
    service: str
    repository_url: str | None
    tag: str
    image: str
    image_in_ecr: bool
    task_definition: str | None      # the service's current revision (ARN)
    current_image: str | None
    container: str | None
    builder: str | None = None

    @property
    def needs_build(self) -> bool:
        return not self.image_in_ecr

    @property
    def before(self) -> str | None:
        from ..aws.ecs import short_name

        return short_name(self.task_definition) if self.task_definition else None

    @property
    def after(self) -> str | None:
        return self.image if self.has_changes else self.before

    @property
    def needs_task_definition(self) -> bool:
        return self.current_image != self.image

    @property
    def has_changes(self) -> bool:
        return self.needs_build or self.needs_task_definition

    def summary(self) -> list[str]:
        from ..aws.ecs import short_name

        where = f" on builder {self.builder}" if self.builder else ""
        lines = []
        if self.needs_build:
            lines += [f"ecr get-authorization-token; {'remote ' if self.builder else ''}engine login (password on stdin)",
                      f"build {SOURCE_DIR}/ for linux/amd64 as {self.image}{where}", f"push {self.image}"]
        else:
            lines.append(f"ECR already holds {self.tag}: no build, no push")
        if self.needs_task_definition:
            lines += [f"register a copy of {short_name(self.task_definition)} with container "
                      f"{self.container} image {self.image} (nothing else changed)",
                      f"update service {self.service} (rolling) and wait for the rollout",
                      f"on failure: point {self.service} back at {short_name(self.task_definition)}"]
        else:
            lines.append(f"service {self.service} already runs {self.image}: no new revision")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return dict(asdict(self), has_changes=self.has_changes, needs_build=self.needs_build,
                    needs_task_definition=self.needs_task_definition, summary=self.summary())


def plan(settings, tag: str, *, builder: str | None = None) -> Plan:
    """What the service runs, whether ECR holds ``tag``. Reads only."""
    from ..aws import ecr, ecs

    settings.require("ecr_repository_url", "ecs_cluster", "ecs_service")
    ecr.split_repository_url(settings.ecr_repository_url)
    image = f"{settings.ecr_repository_url}:{tag}"
    service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    arn = service.get("taskDefinition")
    task_definition, _tags = ecs.describe_task_definition(settings.clients, arn)
    container = ecs.pick_container(task_definition, settings.ecr_repository_url)
    in_ecr = ecr.image_exists(settings.clients, settings.ecr_repository_url, tag)
    if not in_ecr and not (settings.root / SOURCE_DIR / "Dockerfile").is_file():
        raise ConfigError(f"no Dockerfile in {SOURCE_DIR}/", f"the MCP server's Dockerfile belongs in {SOURCE_DIR}/")
    return Plan(settings.ecs_cluster, settings.ecs_service, settings.ecr_repository_url, tag, image, in_ecr,
                arn, container.get("image"), container.get("name"), builder)


def publish_image(settings, p: Plan) -> None:
    """Log in (password on stdin), build for linux/amd64 and push: here or on the builder."""
    from ..aws import ecr
    from ..tools import container, remote

    login = ecr.login(settings.clients, p.repository_url)
    console.register_secret(login.password)
    if p.builder:
        console.step(f"Building {p.image} on {p.builder}")
        remote.build_and_push(p.builder, settings.root / SOURCE_DIR, p.image, login,
                              engine=settings.container_engine, on_line=console.detail)
    else:
        program = container.detect(settings.container_engine)
        console.step(f"Building {p.image} with {container.engine_name(program)}")
        container.login(program, login.registry, login.username, login.password)
        container.build(program, settings.root / SOURCE_DIR, p.image, on_line=console.detail)
        console.step(f"Pushing {p.image}")
        container.push(program, p.image, on_line=console.detail)
    console.ok(f"image {p.tag} pushed")


def execute(settings, p: Plan, *, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep, **_: Any) -> Outcome:
    from ..aws import ecs

    started = clock()

    before = ecs.short_name(p.task_definition)
    if not p.has_changes:
        return Outcome(COMPONENT, UNCHANGED, before, before, f"{p.service} already runs {p.image}",
                       data={"image": p.image, "task_definition": p.task_definition})
    if p.needs_build:
        publish_image(settings, p)
    if not p.needs_task_definition:
        return Outcome(COMPONENT, DEPLOYED, before, before, f"pushed {p.image}; the service already runs it",
                       elapsed=clock() - started, data={"image": p.image, "task_definition": p.task_definition})
    old_definition, tags = ecs.describe_task_definition(settings.clients, p.task_definition)
    new_arn = ecs.register_with_image(settings.clients, old_definition, tags, p.container, p.image)
    new_definition = ecs.copy_with_image(old_definition, p.container, p.image)
    console.step(f"Rolling {p.service} to {ecs.short_name(new_arn)} ({p.tag})")
    seen: dict[str, set] = {}
    watch = roll_to(settings, new_arn, timeout=timeout, clock=clock, sleep=sleep,
                    task_definition=new_definition, container_name=p.container, seen=seen)
    if watch.verdict.state == ecs.COMPLETED:
        console.ok(f"{p.service} runs {ecs.short_name(new_arn)}: {watch.verdict.reason}")
        _, old_revision = ecs.family_revision(p.task_definition)
        return Outcome(COMPONENT, DEPLOYED, before, ecs.short_name(new_arn), f"{p.service} runs {p.image}",
                       rollback_command=f"inv rollback-mcp --to {old_revision}", elapsed=clock() - started,
                       data={"image": p.image, "task_definition": new_arn, "previous": p.task_definition})
    what = f"the rollout of {ecs.short_name(new_arn)} {OUTCOME_WORDS[watch.verdict.state]}: {watch.verdict.reason}"
    why = reasons(settings, watch, new_arn)
    console.warn(what)
    console.step(f"Pointing {p.service} back at {before}")
    back = roll_to(settings, p.task_definition, timeout=timeout, clock=clock, sleep=sleep, what="rollback",
                   seen=seen)
    if back.verdict.state != ecs.COMPLETED:
        raise StepFailed(f"{what}; and the rollback to {before} {OUTCOME_WORDS[back.verdict.state]}: "
                         f"{back.verdict.reason}", "check the service now: inv status, or the ECS console",
                         details=why)
    raise StepFailed(f"{what}; the service is back on {before}",
                     f"see the reasons above; fix {SOURCE_DIR}/ and deploy again", details=why)


def rollback(settings, current_arn: str, target_arn: str, *, timeout: float = DEFAULT_TIMEOUT,
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Point the service at ``target_arn`` and watch the rollout until it completes."""
    from ..aws import ecs

    started = clock()
    before, after = ecs.short_name(current_arn), ecs.short_name(target_arn)
    console.step(f"Rolling {settings.ecs_service} back from {before} to {after}")
    watch = roll_to(settings, target_arn, timeout=timeout, clock=clock, sleep=sleep, what="rollback")
    if watch.verdict.state != ecs.COMPLETED:
        raise StepFailed(f"the rollback of {settings.ecs_service} to {after} {OUTCOME_WORDS[watch.verdict.state]}: "
                         f"{watch.verdict.reason}",
                         "check the service (inv status, ECS console) and retry", details=reasons(settings, watch, target_arn))
    return Outcome(COMPONENT, DEPLOYED, before, after, f"{settings.ecs_service} runs {after}",
                   rollback_command=f"inv rollback-mcp --to {ecs.family_revision(current_arn)[1]}",
                   elapsed=clock() - started, data={"task_definition": target_arn})
