"""`inv deploy-mcp`, `inv rollback-mcp`, `inv mcp-stop`, `inv mcp-start` (replace deploy.sh --mcp,
deploy-mcp.sh, stop-resources.sh and start-resources.sh). The logic lives in tars_tasks.steps.mcp."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..errors import UsageError
from ..skeleton import CHANGES, load_settings, run, tars_task

TIMEOUT_HELP = "seconds to wait for the ECS rollout before rolling back (default 600)"


def _timeout(value) -> float:
    if value in (None, ""):
        return 600.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise UsageError(f"--timeout '{value}' is not a positive number of seconds", "for example --timeout 900")
    return seconds


def _said(outcome) -> None:
    from ..outcome import DEPLOYED, PLANNED, UNCHANGED

    if outcome.status == UNCHANGED:
        console.ok(f"no changes: {outcome.detail}")
    elif outcome.status == PLANNED:
        console.info(f"dry run: {outcome.detail} (nothing changed)")
    elif outcome.status == DEPLOYED:
        console.ok(f"{outcome.before} -> {outcome.after}: {outcome.detail}")
        if outcome.rollback_command:
            console.detail(f"to undo: {outcome.rollback_command}")


@tars_task(common=CHANGES, help={"builder": "build on this machine over SSH: user@host[:port] (or TARS_BUILDER)",
                                 "timeout": TIMEOUT_HELP})
def deploy_mcp(c, flags, builder=None, timeout=None):
    """Build the MCP image (tag = git commit), push it to ECR, roll the ECS service to it."""
    from ..steps import mcp

    seconds = _timeout(timeout)
    settings = load_settings(c, flags, builder=builder)

    def show(plan) -> None:
        console.step(f"MCP server: {plan.image}")
        for line in plan.summary():
            console.detail(line)

    _run(settings, "deploy-mcp", flags, lambda: mcp.plan(settings, builder=builder),
         lambda plan: mcp.execute(settings, plan, timeout=seconds),
         question=lambda plan: f"Deploy {plan.image} to {settings.ecs_service}?", show=show)


@tars_task(common=CHANGES, help={"to": "task definition revision to go back to: 7, family:7 or an ARN (default: "
                                       "the previous one)", "timeout": TIMEOUT_HELP})
def rollback_mcp(c, flags, to=None, timeout=None):
    """Point the MCP service back at an earlier task definition revision and wait for it."""
    from ..steps import mcp

    seconds = _timeout(timeout)
    settings = load_settings(c, flags)
    _run(settings, "rollback-mcp", flags, lambda: mcp.plan_rollback(settings, to),
         lambda plan: mcp.execute_rollback(settings, plan, timeout=seconds),
         question=lambda plan: f"Roll {settings.ecs_service} from {plan.before} back to {plan.after}?")


def _scale(c, desired, flags, timeout, verb):
    from ..steps import mcp

    seconds = _timeout(timeout)
    settings = load_settings(c, flags)
    stop = f"Stop {settings.ecs_service} (desired count 0: the MCP server goes offline)?"
    _run(settings, f"mcp-{verb}", flags, lambda: mcp.plan_scale(settings, desired),
         lambda plan: mcp.execute_scale(settings, plan, timeout=seconds),
         question=lambda plan: stop if desired == 0 else None)


def _run(settings, command, flags, plan, execute, **how) -> None:
    """The task skeleton and its --json report (skeleton.run), then what happened, in one line."""
    _, outcome = run(settings, command, plan, execute, json=flags.json, component="mcp", dry_run=flags.dry_run,
                     yes=flags.yes, **how)
    _said(outcome)


@tars_task(common=CHANGES, help={"timeout": "seconds to wait for the tasks to stop (default 600)"})
def mcp_stop(c, flags, timeout=None):
    """Stop the MCP server: desired count 0 (replaces stop-resources.sh)."""
    _scale(c, 0, flags, timeout, "stop")


@tars_task(common=CHANGES, help={"timeout": "seconds to wait for the task to run (default 600)"})
def mcp_start(c, flags, timeout=None):
    """Start the MCP server: desired count 1 (replaces start-resources.sh)."""
    _scale(c, 1, flags, timeout, "start")


ns = Collection(deploy_mcp, rollback_mcp, mcp_stop, mcp_start)
