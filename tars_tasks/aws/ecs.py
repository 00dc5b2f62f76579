"""ECS: the MCP service, its task definition revisions, and watching a rollout. Prints nothing.

A rollout succeeds only when OUR deployment is PRIMARY, its rolloutState is COMPLETED and
running == desired. ``services-stable`` is not used: it also succeeds after the deployment
circuit breaker rolled the service back to the old revision.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ConfigError
from .errors import error_code, error_message, translate

SERVICE_HINT = "set TARS_ECS_CLUSTER / TARS_ECS_SERVICE or run inv deploy-infrastructure"
# describe_task_definition returns these; register_task_definition refuses them.
READ_ONLY_FIELDS = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
                    "registeredAt", "registeredBy", "deregisteredAt")

COMPLETED, FAILED, ROLLED_BACK, TIMEOUT, WAITING = "completed", "failed", "rolled back", "timeout", "waiting"


def describe_service(clients, cluster: str, service: str) -> dict[str, Any]:
    with translate(f"describe ECS service {service}", not_found_hint=SERVICE_HINT):
        response = clients("ecs").describe_services(cluster=cluster, services=[service])
    found = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not found:
        reason = (response.get("failures") or [{}])[0].get("reason", "MISSING")
        raise ConfigError(f"ECS service {service} not found in cluster {cluster} ({reason})", SERVICE_HINT)
    return found[0]


def describe_task_definition(clients, name: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(task definition, its tags) for an ARN or 'family:revision'."""
    try:
        response = clients("ecs").describe_task_definition(taskDefinition=name, include=["TAGS"])
    except Exception as exc:  # noqa: BLE001 - ECS says ClientException for a revision that does not exist
        if error_code(exc) == "ClientException":
            raise ConfigError(f"task definition {name} does not exist ({error_message(exc)})",
                              "list the revisions: aws ecs list-task-definitions --family-prefix <family>") from None
        with translate(f"describe task definition {name}"):
            raise
    return response["taskDefinition"], list(response.get("tags") or [])


def family_revision(arn: str) -> tuple[str, int]:
    """'arn:...:task-definition/sre-poc-mcp-server:7' -> ('sre-poc-mcp-server', 7)."""
    tail = arn.rsplit("/", 1)[-1]
    family, _, revision = tail.rpartition(":")
    return family, int(revision)


def short_name(arn: str | None) -> str | None:
    return None if not arn else "%s:%d" % family_revision(arn)


def pick_container(task_definition: dict[str, Any], repository_url: str | None = None) -> dict[str, Any]:
    """The container whose image comes from ``repository_url`` (or the only / first essential one)."""
    containers = task_definition.get("containerDefinitions") or []
    if not containers:
        raise ConfigError(f"task definition {task_definition.get('family')} has no containers", SERVICE_HINT)
    if repository_url:
        for c in containers:
            if str(c.get("image", "")).split("@")[0].rsplit(":", 1)[0] == repository_url:
                return c
    if len(containers) == 1:
        return containers[0]
    essential = [c for c in containers if c.get("essential", True)]
    return (essential or containers)[0]


def copy_with_image(task_definition: dict[str, Any], container_name: str, image: str) -> dict[str, Any]:
    """register_task_definition arguments: the same definition, only ``image`` changed."""
    args = {k: v for k, v in task_definition.items() if k not in READ_ONLY_FIELDS}
    args["containerDefinitions"] = [dict(c, image=image) if c.get("name") == container_name else dict(c)
                                    for c in task_definition.get("containerDefinitions", [])]
    return args


def register_with_image(clients, task_definition: dict[str, Any], tags: list[dict[str, str]], container_name: str,
                        image: str) -> str:
    args = copy_with_image(task_definition, container_name, image)
    if tags:
        args["tags"] = tags
    with translate(f"register a task definition revision of {task_definition.get('family')}"):
        response = clients("ecs").register_task_definition(**args)
    return response["taskDefinition"]["taskDefinitionArn"]


def update_service(clients, cluster: str, service: str, *, task_definition: str | None = None,
                   desired_count: int | None = None) -> dict[str, Any]:
    """A rolling update (never scales to zero unless ``desired_count=0`` is asked for)."""
    args: dict[str, Any] = {"cluster": cluster, "service": service}
    if task_definition:
        args["taskDefinition"] = task_definition
    if desired_count is not None:
        args["desiredCount"] = desired_count
    with translate(f"update ECS service {service}", not_found_hint=SERVICE_HINT):
        return clients("ecs").update_service(**args)["service"]


def previous_revision(clients, family: str, before: int) -> str | None:
    """The newest ACTIVE revision of ``family`` older than ``before``."""
    best: tuple[int, str] | None = None
    with translate(f"list task definitions of {family}"):
        pages = clients("ecs").get_paginator("list_task_definitions").paginate(
            familyPrefix=family, status="ACTIVE", sort="DESC")
        for page in pages:
            for arn in page.get("taskDefinitionArns", []):
                fam, rev = family_revision(arn)
                if fam == family and rev < before and (best is None or rev > best[0]):
                    best = (rev, arn)
            if best:  # DESC order: the first page holding one has the newest
                break
    return best[1] if best else None


def deployment_for(service: dict[str, Any], task_definition: str) -> dict[str, Any] | None:
    """The deployment running ``task_definition`` (PRIMARY first)."""
    matches = [d for d in service.get("deployments", []) if d.get("taskDefinition") == task_definition]
    matches.sort(key=lambda d: d.get("status") != "PRIMARY")
    return matches[0] if matches else None


@dataclass(frozen=True)
class Verdict:
    state: str          # completed / failed / rolled back / timeout / waiting
    reason: str = ""


def classify(service: dict[str, Any], task_definition: str, deployment_id: str | None) -> Verdict:
    """Where a rollout to ``task_definition`` (deployment ``deployment_id`` when known) stands."""
    deployments = service.get("deployments", [])
    ours = next((d for d in deployments if deployment_id and d.get("id") == deployment_id), None)
    if ours is None and not deployment_id:
        ours = deployment_for(service, task_definition)
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    on_other = service.get("taskDefinition") not in (None, task_definition)
    if ours is not None and ours.get("rolloutState") == "FAILED":
        why = ours.get("rolloutStateReason") or "rollout FAILED"
        if on_other:
            return Verdict(ROLLED_BACK, f"circuit breaker rolled back to {short_name(service.get('taskDefinition'))}: {why}")
        return Verdict(FAILED, why)
    if on_other or (deployment_id and ours is None) or (
            deployment_id and primary is not None and primary is not ours):
        back_to = short_name((primary or {}).get("taskDefinition") or service.get("taskDefinition"))
        return Verdict(ROLLED_BACK, f"the service went back to {back_to} (deployment circuit breaker)")
    if ours is None or ours.get("status") != "PRIMARY":
        return Verdict(WAITING, "waiting for the deployment to start")
    state = ours.get("rolloutState")
    counts_match = (ours.get("runningCount") == ours.get("desiredCount")
                    and service.get("runningCount") == service.get("desiredCount"))
    if counts_match and (state == "COMPLETED" or (state is None and len(deployments) == 1)):
        return Verdict(COMPLETED, ours.get("rolloutStateReason") or "rollout completed")
    return Verdict(WAITING, ours.get("rolloutStateReason") or "rollout in progress")


def scaled(service: dict[str, Any], desired: int) -> Verdict:
    """A desired-count change is done when running == desired == ``desired`` and nothing is pending."""
    if (service.get("desiredCount") == desired and service.get("runningCount") == desired
            and not service.get("pendingCount")):
        return Verdict(COMPLETED, f"running {desired}")
    return Verdict(WAITING, "scaling")


@dataclass
class Watch:
    verdict: Verdict
    service: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0


def watch(clients, cluster: str, service: str, judge: Callable[[dict[str, Any]], Verdict], *, timeout: float,
          delay: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
          on_poll: Callable[[dict[str, Any], Verdict, float], None] | None = None) -> Watch:
    """Poll describe_services every ``delay`` s until ``judge`` says done or ``timeout`` s passed."""
    start = clock()
    while True:
        current = describe_service(clients, cluster, service)
        verdict = judge(current)
        elapsed = clock() - start
        if on_poll:
            on_poll(current, verdict, elapsed)
        if verdict.state != WAITING:
            return Watch(verdict, current, elapsed)
        if elapsed >= timeout:
            return Watch(Verdict(TIMEOUT, f"not done after {timeout:g} s ({verdict.reason})"), current, elapsed)
        sleep(max(0.0, min(delay, timeout - elapsed)))


def newest_events(service: dict[str, Any], seen: set[str], limit: int = 5) -> list[str]:
    """Service events not shown yet, oldest first."""
    fresh = [e for e in service.get("events", [])[:limit] if e.get("id") not in seen]
    seen.update(e.get("id") for e in fresh)
    return [str(e.get("message", "")) for e in reversed(fresh)]


def stopped_task_reasons(clients, cluster: str, service: str, task_definition: str | None = None, limit: int = 5) -> list[str]:
    """Why the service's recent tasks stopped (of ``task_definition`` when given)."""
    ecs = clients("ecs")
    with translate("list the stopped tasks"):
        arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED").get("taskArns", [])
        if not arns:
            return []
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:100]).get("tasks", [])
    lines = []
    for t in tasks:
        if task_definition and t.get("taskDefinitionArn") != task_definition:
            continue
        parts = [t.get("stoppedReason") or t.get("stopCode") or "stopped"]
        for c in t.get("containers", []):
            if c.get("reason") or c.get("exitCode") not in (None, 0):
                parts.append(f"{c.get('name')}: {c.get('reason') or ''} exit {c.get('exitCode')}".strip())
        lines.append(f"task {t.get('taskArn', '').rsplit('/', 1)[-1][:12]}: " + "; ".join(parts))
    return lines[:limit]


def container_log_lines(clients, task_definition: dict[str, Any], container_name: str, limit: int = 5) -> list[str]:
    """The last lines the container wrote to its awslogs group (best effort: [] when none)."""
    container = next((c for c in task_definition.get("containerDefinitions", [])
                      if c.get("name") == container_name), {})
    options = (container.get("logConfiguration") or {}).get("options") or {}
    group = options.get("awslogs-group")
    if not group:
        return []
    logs = clients("logs")
    try:
        streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True,
                                            limit=1).get("logStreams", [])
        if not streams:
            return []
        events = logs.get_log_events(logGroupName=group, logStreamName=streams[0]["logStreamName"],
                                     startFromHead=False, limit=limit).get("events", [])
    except Exception:  # noqa: BLE001 - log lines are a diagnostic aid, never a reason to fail
        return []
    return [str(e.get("message", "")).rstrip() for e in events]
