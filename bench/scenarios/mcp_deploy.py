"""Shared helpers for the MCP deploy tests: a git project with a small mcp_server/ build context,
ECR/ECS seeded in moto, and botocore before-send scripts for what moto cannot do.

Why before-send: moto registers task definitions and updates services faithfully, but it never
runs a rollout: after update_service its deployments list still shows the old revision, forever
IN_PROGRESS or COMPLETED as set at creation. The scripts below answer DescribeServices the way
ECS does during a rollout, starting from moto's own view of the service.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Callable

import boto3

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"
CLUSTER = "sre-poc-cluster"
SERVICE = "sre-poc-mcp-server"
REPOSITORY = "sre-poc-mcp-server"
FAMILY = "sre-poc-mcp-server"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def make_project(base: Path) -> Path:
    """A git repository holding invoke.yaml and a small mcp_server/ build context, committed."""
    root = base / "project"
    (root / "mcp_server").mkdir(parents=True)
    shutil.copy(ROOT / "invoke.yaml", root / "invoke.yaml")
    (root / "mcp_server" / "Dockerfile").write_text(
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"server.py\"]\n")
    (root / "mcp_server" / "server.py").write_text("print('mcp log server')\n")
    (root / "mcp_server" / ".dockerignore").write_text("# local junk\n*.log\n__pycache__\n!keep.log\n")
    (root / "mcp_server" / "debug.log").write_text("not sent\n")
    (root / "mcp_server" / "keep.log").write_text("sent\n")
    (root / ".gitignore").write_text(".tars/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "mcp server")
    return root


def head(root: Path) -> str:
    return git(root, "rev-parse", "--short=12", "HEAD")


def seed(image_tag: str = "old") -> dict:
    """ECR repository, ECS cluster, task definition revision 1 and the service on it."""
    ecr = boto3.client("ecr")
    ecs = boto3.client("ecs")
    repo = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    ecs.create_cluster(clusterName=CLUSTER)
    td = ecs.register_task_definition(
        family=FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn="arn:aws:iam::123456789012:role/sre-poc-mcp-exec",
        containerDefinitions=[{
            "name": "mcp-server", "image": f"{repo}:{image_tag}", "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "LOG_LEVEL", "value": "info"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/sre-poc-mcp-server", "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "mcp"}}}],
        tags=[{"key": "project", "value": "sre-poc"}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=td, desiredCount=1,
                       launchType="FARGATE",
                       deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                                "minimumHealthyPercent": 100, "maximumPercent": 200})
    return {"repository_url": repo, "task_definition": td}


def put_image(tag: str) -> None:
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"digest": "sha256:" + "a" * 64, "size": 1, "mediaType": "x"}, "layers": [],
                "tag": tag}
    boto3.client("ecr").put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag)


def environ(root: Path, repo_url: str, **extra: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items()}
    env.update({"TARS_ROOT": str(root), "TARS_ECR_REPOSITORY_URL": repo_url, "TARS_ECS_CLUSTER": CLUSTER,
                "TARS_ECS_SERVICE": SERVICE, "TARS_LOCK_TABLE": "no-such-lock-table"})
    env.update(extra)
    return env


# ---------------------------------------------------------------- rollout scripts

def deployment(arn: str, status: str, state: str, running: int, desired: int = 1, id_: str | None = None,
               reason: str | None = None) -> dict:
    return {"id": id_ or f"ecs-svc/{abs(hash((arn, status))) % 10**12}", "status": status, "taskDefinition": arn,
            "desiredCount": desired, "runningCount": running, "pendingCount": desired - running,
            "failedTasks": 0, "rolloutState": state,
            "rolloutStateReason": reason or f"ECS deployment {state.lower().replace('_', ' ')}.",
            "launchType": "FARGATE", "createdAt": 1700000000.0, "updatedAt": 1700000000.0}


class RolloutScript:
    """Answers ECS DescribeServices from ``steps`` (one per call; the last repeats).

    Each step is ``f(real_service, ctx) -> service``: ``real_service`` is moto's answer (so the
    service's taskDefinition reflects our update_service calls), ``ctx`` has old/new ARNs.
    Optionally stamps ``new_id`` on the deployment update_service creates, as ECS does.
    """

    def __init__(self, client, old_arn: str, steps: list[Callable[[dict, dict], dict]], new_id: str | None = None):
        self.client = client
        self.plain = boto3.client("ecs")          # unhooked: moto's own view
        self.ctx = {"old": old_arn, "new": None, "new_id": new_id}
        self.steps = steps
        self.calls = 0
        self.operations: list[str] = []
        client.meta.events.register("before-send.ecs.DescribeServices", self._describe)
        client.meta.events.register("after-call.ecs.UpdateService", self._updated)
        client.meta.events.register("before-call.ecs", self._record)

    def _record(self, model, **_):
        self.operations.append(model.name)

    def _updated(self, parsed, **_):
        svc = parsed.get("service", {})
        arn = svc.get("taskDefinition")
        if arn != self.ctx["old"] and self.ctx["new"] is None:
            self.ctx["new"] = arn
            if self.ctx["new_id"]:
                svc["deployments"] = [deployment(arn, "PRIMARY", "IN_PROGRESS", 0, id_=self.ctx["new_id"])] + [
                    dict(d, status="ACTIVE") for d in svc.get("deployments", [])]

    def _describe(self, request, **_):
        from botocore.awsrequest import AWSResponse

        body = json.loads(request.body)
        real = self.plain.describe_services(cluster=body["cluster"], services=body["services"])
        if self.ctx["new"] is None:   # before our update_service: moto's answer is right
            return None
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        service = step(dict(real["services"][0]), self.ctx)
        payload = json.dumps({"services": [service], "failures": []},
                             default=lambda v: v.timestamp() if isinstance(v, datetime) else str(v)).encode()
        return AWSResponse(request.url, 200, {"x-amzn-requestid": "scripted"}, _Raw(payload))


class _Raw:
    def __init__(self, payload: bytes):
        self.payload = payload

    def stream(self, **_):
        yield self.payload


def on(arn_key: str, *deployments_spec, running: int = 1, events: list[str] | None = None):
    """A step: the service on ctx[arn_key] with deployments built from (key, status, state, running[, reason])."""

    def step(real: dict, ctx: dict) -> dict:
        deps = []
        for spec in deployments_spec:
            key, status, state, run, *rest = spec
            # keep the ids update_service answered with, as ECS keeps deployment ids stable
            id_ = next((d["id"] for d in real.get("deployments", []) if d.get("taskDefinition") == ctx[key]), None)
            if key == "new" and ctx["new_id"]:
                id_ = ctx["new_id"]
            deps.append(deployment(ctx[key], status, state, run, id_=id_, reason=rest[0] if rest else None))
        out = dict(real, taskDefinition=ctx[arn_key] if arn_key != "real" else real["taskDefinition"],
                   deployments=deps, runningCount=running, desiredCount=1, pendingCount=1 - running)
        out["events"] = [{"id": f"ev-{abs(hash(m))}", "message": m, "createdAt": 1700000000.0}
                         for m in (events or [])]  # newest first, as ECS lists them
        return out

    return step


def back_on_old_when_pointed(step_for_new: Callable) -> Callable:
    """Use ``step_for_new`` while moto says the service is on the new revision; once it was pointed
    back at the old one, answer as ECS does when that rollback completed."""

    def step(real: dict, ctx: dict) -> dict:
        if real.get("taskDefinition") == ctx["old"] and ctx["new"] is not None:
            return on("old", ("old", "PRIMARY", "COMPLETED", 1))(real, ctx)
        return step_for_new(real, ctx)

    return step


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
