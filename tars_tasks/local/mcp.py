"""deploy-mcp in local mode: ``mcp_server`` as a local process, the ECS records in the emulator.

No container engine is needed: the server runs as ``python <image>/server.py --port N``
(``server_command``, the one place that says how) on the port kept for it, which is the
MCP_ENDPOINT in outputs.json and on the function. The local stand-in for an image is a copy of
``mcp_server/`` taken when a tag is first deployed (``.tars/local/mcp-images/<tag>/``, as ECR keeps
the first push of a tag), so a rollback runs the old code again. The emulator then gets what a
real deploy leaves: a task definition revision (a copy of the service's current one) whose image
is ``<ecr repository url>:<image tag>``, and the service pointed at it; :func:`rollback` points the
service back and runs that revision's image (moto never completes an ECS rollout to wait for).
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from typing import Any

from .. import plan as plan_base
from ..errors import ConfigError
from ..outcome import DEPLOYED, UNCHANGED, Outcome
from . import processes, services

CONTAINER = "mcp-server"


def server_command(settings, port: int, source=None) -> list[str]:
    """How the MCP server runs locally (server.py of an image, else of mcp_server/, with a port option)."""
    return [sys.executable, str((source or settings.root / "mcp_server") / "server.py"), "--port", str(port)]


def image_dir(settings, tag: str):
    return services.local_dir(settings) / "mcp-images" / tag


def _build_image(settings, tag: str):
    """The local image of ``tag``: a copy of mcp_server/ (kept once made, like a pushed tag)."""
    source, image = settings.root / "mcp_server", image_dir(settings, tag)
    if not (source / "server.py").is_file():
        raise ConfigError(f"{source / 'server.py'} not found", "the MCP server lives in mcp_server/server.py")
    if not image.is_dir():
        tmp = image.with_name(image.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        tmp.rename(image)
    return image


@dataclass(frozen=True)
class Plan(plan_base.Plan):
    component = "mcp"
    image: str
    current_image: str | None
    current_task_definition: str | None
    process_running: bool
    process_tag: str | None
    endpoint: str
    function_endpoint: str | None

    @property
    def before(self) -> str | None:
        return self.current_task_definition.rsplit("/", 1)[-1] if self.current_task_definition else None

    @property
    def after(self) -> str | None:
        return self.image if self.has_changes else self.before

    @property
    def image_changed(self) -> bool:
        return self.image != self.current_image

    @property
    def has_changes(self) -> bool:
        return (self.image_changed or not self.process_running or self.process_tag != self.image.rsplit(":", 1)[1]
                or self.function_endpoint != self.endpoint)

    def summary(self) -> list[str]:
        lines = []
        if not self.process_running or self.process_tag != self.image.rsplit(":", 1)[1]:
            lines.append(f"run mcp_server/server.py as a local process on {self.endpoint} (no container build)")
        if self.image_changed:
            lines.append(f"register a task definition revision with image {self.image}")
            lines.append("update the ECS service to it")
        if self.function_endpoint != self.endpoint:
            lines.append(f"set MCP_ENDPOINT={self.endpoint} on the function")
        return lines or [f"no changes: {self.image} is live and the local MCP server answers"]

    def as_dict(self) -> dict[str, Any]:
        return {"has_changes": self.has_changes, "image": self.image, "current_image": self.current_image,
                "current_task_definition": self.current_task_definition, "process_running": self.process_running,
                "endpoint": self.endpoint, "summary": self.summary()}


def _tag_file(settings):
    return services.local_dir(settings) / "mcp-tag.json"


def _running_tag(settings) -> str | None:
    proc = services.running(settings, services.MCP)
    if not proc:
        return None
    try:
        data = json.loads(_tag_file(settings).read_text())
    except (OSError, ValueError):
        return None
    return data.get("tag") if data.get("pid") == proc.pid else None


def _service_task_definition(settings) -> dict[str, Any]:
    from ..aws import ecs

    try:
        service = ecs.describe_service(settings.clients, settings.ecs_cluster, settings.ecs_service)
    except ConfigError:
        raise ConfigError(f"ECS service {settings.ecs_service} not found in the local emulator",
                          "run inv deploy-infrastructure --local first") from None
    return ecs.describe_task_definition(settings.clients, service["taskDefinition"])[0]


def _function_endpoint(settings) -> str | None:
    from ..aws import lambda_

    config = lambda_.configuration(settings.clients, settings.function_name)
    return ((config.get("Environment") or {}).get("Variables") or {}).get("MCP_ENDPOINT")


def plan(settings, image_tag: str, *, builder: str | None = None) -> Plan:
    """What runs locally and what the emulator's service names (reads only; ``builder`` is unused:
    nothing is built)."""
    if not image_tag or ":" in image_tag or "/" in image_tag:
        raise ConfigError(f"bad image tag '{image_tag}'", "the tag is the git commit, like abc1234 or abc1234-dirty")
    settings.require("ecr_repository_url", "ecs_cluster", "ecs_service",
                     hint="run inv deploy-infrastructure --local first")
    td = _service_task_definition(settings)
    container = next((c for c in td["containerDefinitions"] if c["name"] == CONTAINER), td["containerDefinitions"][0])
    tag = _running_tag(settings)
    return Plan(image=f"{settings.ecr_repository_url}:{image_tag}", current_image=container["image"],
                current_task_definition=td["taskDefinitionArn"], process_running=tag is not None, process_tag=tag,
                endpoint=services.url(settings, services.MCP), function_endpoint=_function_endpoint(settings))


def _start_process(settings, tag: str) -> processes.Proc:
    image = image_dir(settings, tag)
    if not (image / "server.py").is_file():
        raise ConfigError(f"no local image of MCP tag {tag} ({image})",
                          "deploy that commit with inv deploy-mcp --local (it makes the image)")
    port = services.ports(settings)[services.MCP]
    env = services._server_env(settings)
    env.update({"PORT": str(port), "MCP_IMAGE_TAG": tag})
    proc = services.start_server(settings, services.MCP, server_command(settings, port, image), env, "/health",
                                 cwd=settings.root)
    _tag_file(settings).write_text(json.dumps({"tag": tag, "pid": proc.pid}))
    return proc


def _register_revision(settings, p: Plan) -> str:
    """A copy of the service's current task definition with the new image, nothing else changed."""
    from ..aws import ecs

    td, tags = ecs.describe_task_definition(settings.clients, p.current_task_definition)
    container = _container(td)
    arn = ecs.register_with_image(settings.clients, td, tags, container["name"], p.image)
    ecs.update_service(settings.clients, settings.ecs_cluster, settings.ecs_service, task_definition=arn)
    return arn


def _container(td: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in td["containerDefinitions"] if c["name"] == CONTAINER), td["containerDefinitions"][0])


def _set_function_endpoint(settings, endpoint: str) -> None:
    from ..aws import lambda_

    lambda_.set_environment(settings.clients, settings.function_name, {"MCP_ENDPOINT": endpoint},
                            delay=settings.waiter_delay, max_attempts=settings.waiter_max_attempts)


def execute(settings, p: Plan, *, clock=time.monotonic, **_: Any) -> Outcome:
    started = clock()
    tag = p.image.rsplit(":", 1)[1]
    if not p.has_changes:
        return Outcome("mcp", UNCHANGED, before=p.current_task_definition, after=p.current_task_definition,
                       detail=p.summary()[0], elapsed=clock() - started)
    done = []
    if not p.process_running or p.process_tag != tag:
        _build_image(settings, tag)
        proc = _start_process(settings, tag)
        done.append(f"local process pid {proc.pid} on {p.endpoint} (no container engine used)")
    after = p.current_task_definition
    if p.image_changed:
        after = _register_revision(settings, p)
        done.append(f"task definition {after.rsplit('/', 1)[-1]} with {p.image}")
    if p.function_endpoint != p.endpoint:
        _set_function_endpoint(settings, p.endpoint)
        done.append("MCP_ENDPOINT set on the function")
    return Outcome("mcp", DEPLOYED, before=p.current_task_definition, after=after, detail="; ".join(done),
                   rollback_command="inv rollback-mcp --local", elapsed=clock() - started,
                   data={"image": p.image, "endpoint": p.endpoint, "mode": "local process"})


def rollback(settings, current_arn: str, target_arn: str, *, clock=time.monotonic, **_: Any) -> Outcome:
    """Point the service back at ``target_arn`` and run that revision's image (the local process is
    the service: there is no ECS rollout to wait for)."""
    from ..aws import ecs

    started = clock()
    td, _tags = ecs.describe_task_definition(settings.clients, target_arn)
    tag = _container(td)["image"].rsplit(":", 1)[-1]
    proc = _start_process(settings, tag)
    ecs.update_service(settings.clients, settings.ecs_cluster, settings.ecs_service, task_definition=target_arn)
    before, after = (arn.rsplit("/", 1)[-1] for arn in (current_arn, target_arn))
    return Outcome("mcp", DEPLOYED, before=before, after=after,
                   detail=f"{settings.ecs_service} runs {after}: local process pid {proc.pid} (image {tag})",
                   rollback_command=f"inv rollback-mcp --local --to {current_arn.rsplit(':', 1)[-1]}",
                   elapsed=clock() - started, data={"task_definition": target_arn, "mode": "local process"})
