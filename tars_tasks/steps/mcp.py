"""The MCP server component: image in ECR, task definition revision, ECS rolling update.

plan() reads only: the image tag (git commit of mcp_server/, plus a content hash when dirty),
whether ECR holds it, what the service runs now. execute() builds and pushes (locally or on a
remote builder) only when ECR lacks the tag, registers a copy of the live task definition with
only the image changed only when the service runs another image, updates the service (rolling,
never scaled to zero) and watches the rollout. A failed, rolled-back or timed-out rollout points
the service back at the previous revision, waits for it, and fails with the reasons.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from .. import console
from ..errors import ConfigError, StepFailed, UsageError
from ..outcome import DEPLOYED, PLANNED, UNCHANGED, Outcome
from .mcp_rollout import OUTCOME_WORDS, reasons, reporter, roll_to

COMPONENT = "mcp"
SOURCE_DIR = "mcp_server"
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Plan:
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
    local: bool = False
    local_plan: Any = None           # tars_tasks.local.mcp.Plan, once the local infrastructure exists

    @property
    def needs_build(self) -> bool:
        return not self.local and not self.image_in_ecr

    @property
    def needs_task_definition(self) -> bool:
        return self.local or self.current_image != self.image

    @property
    def has_changes(self) -> bool:
        if self.local_plan is not None:
            return self.local_plan.has_changes
        return self.needs_build or self.needs_task_definition

    def summary(self) -> list[str]:
        if self.local_plan is not None:
            return self.local_plan.summary()
        if self.local:
            return [f"run {SOURCE_DIR}/ locally as image tag {self.tag} and register it in the emulator"]
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


def plan(settings, *, builder: str | None = None, **_: Any) -> Plan:
    tag = image_tag(settings)
    builder = builder or settings.builder
    if builder:
        from ..tools import remote

        remote.parse(builder)
    if settings.is_local:
        return Plan(settings.ecs_cluster, settings.ecs_service, settings.ecr_repository_url, tag,
                    f"{SOURCE_DIR}:{tag}", False, None, None, None, builder, local=True,
                    local_plan=_local_plan(settings, tag))
    from ..aws import ecr, ecs

    settings.require("ecr_repository_url", "ecs_cluster", "ecs_service")
    ecr.split_repository_url(settings.ecr_repository_url)
    image = f"{settings.ecr_repository_url}:{tag}"
    service = ecs.describe_service(settings.ecs_cluster, settings.ecs_service)
    arn = service.get("taskDefinition")
    task_definition, _tags = ecs.describe_task_definition(arn)
    container = ecs.pick_container(task_definition, settings.ecr_repository_url)
    in_ecr = ecr.image_exists(settings.ecr_repository_url, tag)
    if not in_ecr and not (settings.root / SOURCE_DIR / "Dockerfile").is_file():
        raise ConfigError(f"no Dockerfile in {SOURCE_DIR}/", f"the MCP server's Dockerfile belongs in {SOURCE_DIR}/")
    return Plan(settings.ecs_cluster, settings.ecs_service, settings.ecr_repository_url, tag, image, in_ecr,
                arn, container.get("image"), container.get("name"), builder)


def _local_plan(settings, tag: str):
    """The local target's own plan (no changes when that tag already runs), or None before the
    local infrastructure exists (the pipeline plans again after infra)."""
    try:
        from ..local import mcp as local_mcp
    except ImportError:
        return None
    if not settings.ecr_repository_url or not hasattr(local_mcp, "plan"):
        return None
    try:
        return local_mcp.plan(settings, tag)
    except ConfigError:
        return None


def publish_image(settings, p: Plan) -> None:
    """Log in (password on stdin), build for linux/amd64 and push: here or on the builder."""
    from ..aws import ecr
    from ..tools import container, remote

    login = ecr.login(p.repository_url)
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
    started = clock()
    if p.local:
        try:
            from ..local import mcp as local_mcp
        except ImportError:
            raise ConfigError("local mode cannot run the MCP server: tars_tasks/local/mcp.py is missing",
                              "update the checkout (git pull), or deploy to AWS without --local") from None
        if p.local_plan is not None:
            return local_mcp.execute(settings, p.local_plan)
        return local_mcp.deploy(settings, p.tag)
    from ..aws import ecs

    before = ecs.short_name(p.task_definition)
    if not p.has_changes:
        return Outcome(COMPONENT, UNCHANGED, before, before, f"{p.service} already runs {p.image}",
                       data={"image": p.image, "task_definition": p.task_definition})
    if p.needs_build:
        publish_image(settings, p)
    if not p.needs_task_definition:
        return Outcome(COMPONENT, DEPLOYED, before, before, f"pushed {p.image}; the service already runs it",
                       elapsed=clock() - started, data={"image": p.image, "task_definition": p.task_definition})
    old_definition, tags = ecs.describe_task_definition(p.task_definition)
    new_arn = ecs.register_with_image(old_definition, tags, p.container, p.image)
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


def current(settings) -> dict[str, Any]:
    from ..aws import ecs

    service = ecs.describe_service(settings.ecs_cluster, settings.ecs_service)
    arn = service.get("taskDefinition")
    definition, _ = ecs.describe_task_definition(arn)
    container = ecs.pick_container(definition, settings.ecr_repository_url)
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    return {"service": settings.ecs_service, "cluster": settings.ecs_cluster, "task_definition": arn,
            "revision": ecs.family_revision(arn)[1] if arn else None, "image": container.get("image"),
            "desired": service.get("desiredCount"), "running": service.get("runningCount"),
            "pending": service.get("pendingCount"), "rollout_state": primary.get("rolloutState")}


def resolve_revision(current_arn: str, target: Any) -> str:
    """--to: a revision number, 'family:N' or an ARN -> the ARN (None: the previous ACTIVE revision)."""
    from ..aws import ecs

    family, revision = ecs.family_revision(current_arn)
    if target in (None, ""):
        previous = ecs.previous_revision(family, revision)
        if not previous:
            raise ConfigError(f"{family} has no ACTIVE revision before {revision}", "name one with --to REVISION")
        return previous
    text = str(target).strip()
    if text.isdigit():
        text = f"{family}:{text}"
    elif ":" not in text:
        raise UsageError(f"--to '{target}' is not a revision", "give a number (--to 7), family:7 or an ARN")
    return ecs.describe_task_definition(text)[0]["taskDefinitionArn"]


def rollback(settings, target: Any = None, *, dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT,
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    from ..aws import ecs

    started = clock()
    service = ecs.describe_service(settings.ecs_cluster, settings.ecs_service)
    current_arn = service["taskDefinition"]
    target_arn = resolve_revision(current_arn, target)
    before, after = ecs.short_name(current_arn), ecs.short_name(target_arn)
    if target_arn == current_arn:
        return Outcome(COMPONENT, UNCHANGED, before, after, f"{settings.ecs_service} already runs {after}")
    if dry_run:
        return Outcome(COMPONENT, PLANNED, before, after, f"would update {settings.ecs_service} to {after} and wait")
    if settings.is_local:   # the local process is the service: no ECS rollout to wait for
        from ..local import mcp as local_mcp

        return local_mcp.rollback(settings, current_arn, target_arn, clock=clock)
    console.step(f"Rolling {settings.ecs_service} back from {before} to {after}")
    watch = roll_to(settings, target_arn, timeout=timeout, clock=clock, sleep=sleep, what="rollback")
    if watch.verdict.state != ecs.COMPLETED:
        raise StepFailed(f"the rollback of {settings.ecs_service} to {after} {OUTCOME_WORDS[watch.verdict.state]}: "
                         f"{watch.verdict.reason}",
                         "check the service (inv status, ECS console) and retry", details=reasons(settings, watch, target_arn))
    return Outcome(COMPONENT, DEPLOYED, before, after, f"{settings.ecs_service} runs {after}",
                   rollback_command=f"inv rollback-mcp --to {ecs.family_revision(current_arn)[1]}",
                   elapsed=clock() - started, data={"task_definition": target_arn})


def scale(settings, desired: int, *, dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT,
          clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """mcp-stop / mcp-start: set the desired count and wait until running == desired."""
    from ..aws import ecs

    started = clock()
    service = ecs.describe_service(settings.ecs_cluster, settings.ecs_service)
    before = str(service.get("desiredCount"))
    if service.get("desiredCount") == desired:
        return Outcome(COMPONENT, UNCHANGED, before, before, f"{settings.ecs_service} desired count is already {desired}")
    if dry_run:
        return Outcome(COMPONENT, PLANNED, before, str(desired), f"would set the desired count to {desired}")
    ecs.update_service(settings.ecs_cluster, settings.ecs_service, desired_count=desired)
    with console.status(f"scaling {settings.ecs_service} to {desired}") as status:
        watch = ecs.watch(settings.ecs_cluster, settings.ecs_service, lambda s: ecs.scaled(s, desired),
                          timeout=timeout, delay=float(settings.waiter_delay), clock=clock, sleep=sleep,
                          on_poll=reporter(settings, None, None, status, clock))
    if watch.verdict.state != ecs.COMPLETED:
        raise StepFailed(f"{settings.ecs_service} did not reach {desired} running task(s): {watch.verdict.reason}",
                         "see the events above; inv status shows the service", details=reasons(settings, watch, None))
    return Outcome(COMPONENT, DEPLOYED, before, str(desired), f"{settings.ecs_service} running {desired}",
                   elapsed=clock() - started)
