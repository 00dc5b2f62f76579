"""Watching an ECS rollout for steps/mcp: the live status line, and every REPORT_EVERY seconds the
newest service events, stopped-task reasons and the container's last log lines."""
from __future__ import annotations

from typing import Callable

from .. import console

REPORT_EVERY = 30.0   # seconds between event / stopped-task / log reports while waiting
OUTCOME_WORDS = {"failed": "failed", "rolled back": "was rolled back", "timeout": "timed out",
                 "waiting": "is still in progress", "completed": "completed"}


def reporter(settings, task_definition: dict | None, container_name: str | None, status,
             clock: Callable[[], float], seen: dict[str, set] | None = None):
    """on_poll for ecs.watch: a live status line; every REPORT_EVERY s the new events, stopped-task
    reasons and log lines (``seen`` carries what was shown across waits: rollout then rollback)."""
    from ..aws import ecs

    seen = seen if seen is not None else {}
    seen_events = seen.setdefault("events", set())
    seen_stops = seen.setdefault("stops", set())
    seen_logs = seen.setdefault("logs", set())
    state = {"last": None}

    def on_poll(service: dict, verdict, elapsed: float) -> None:
        primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        status.update(f"{service.get('serviceName')}: running {service.get('runningCount')}/"
                      f"{service.get('desiredCount')}, pending {service.get('pendingCount')}, rollout "
                      f"{primary.get('rolloutState', '?')} ({ecs.short_name(primary.get('taskDefinition'))}), "
                      f"{elapsed:.0f} s")
        now = clock()
        if state["last"] is not None and now - state["last"] < REPORT_EVERY and verdict.state == ecs.WAITING:
            return
        state["last"] = now
        for line in ecs.newest_events(service, seen_events):
            console.detail(f"event: {line}")
        for line in ecs.stopped_task_reasons(settings.clients, settings.ecs_cluster, settings.ecs_service):
            if line not in seen_stops:
                seen_stops.add(line)
                console.detail(f"stopped: {line}")
        if task_definition and container_name:
            for line in ecs.container_log_lines(settings.clients, task_definition, container_name):
                if line not in seen_logs:
                    seen_logs.add(line)
                    console.detail(f"log: {line}")

    return on_poll


def roll_to(settings, arn: str, *, timeout: float, clock, sleep, task_definition: dict | None = None,
            container_name: str | None = None, what: str = "rollout", seen: dict[str, set] | None = None):
    """Update the service to ``arn`` and watch until our deployment completes (or fails / times out)."""
    from ..aws import ecs

    updated = ecs.update_service(settings.clients, settings.ecs_cluster, settings.ecs_service, task_definition=arn)
    deployment_id = (ecs.deployment_for(updated, arn) or {}).get("id")
    with console.status(f"waiting for the {what} of {ecs.short_name(arn)}") as status:
        return ecs.watch(settings.clients, settings.ecs_cluster, settings.ecs_service,
                         lambda s: ecs.classify(s, arn, deployment_id), timeout=timeout,
                         delay=float(settings.waiter_delay), clock=clock, sleep=sleep,
                         on_poll=reporter(settings, task_definition, container_name, status, clock, seen))


def reasons(settings, watch, arn: str | None) -> list[str]:
    """Why it went wrong: the stopped tasks' reasons and the newest service events."""
    from ..aws import ecs

    lines = []
    lines += [f"stopped: {r}" for r in ecs.stopped_task_reasons(settings.clients, settings.ecs_cluster, settings.ecs_service, arn)]
    lines += [f"event: {e.get('message')}" for e in watch.service.get("events", [])[:3]]
    return lines
