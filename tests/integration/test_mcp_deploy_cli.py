"""`inv deploy-mcp / rollback-mcp / mcp-stop / mcp-start` as a user runs them, against moto's
server on 127.0.0.1, with the fake docker on PATH. State is asserted in the emulator.

moto never completes a rollout (its deployments list keeps the revision the service was created
with): a deploy here always ends in the timeout path, which is exactly what
test_timeout_points_the_service_back proves end to end. The success, FAILED and circuit-breaker
sequences are proven in tests/unit/test_mcp_steps.py with before-send scripts.
"""
from __future__ import annotations

import json
import os
import shutil

import boto3
import pytest

from tars_tasks.aws import ecs as ecs_api
from tars_tasks.tables import TABLES, create_table_args
from bench.scenarios.mcp_deploy import CLUSTER, FAKES, SERVICE, environ, head, make_project, put_image, seed

PASSWORD = "123456789012-auth-token"   # moto's ECR password


@pytest.fixture
def world(endpoint, tmp_path, monkeypatch):
    # the ThreadedMotoServer runs in this process: its services report 1 running task
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    root = make_project(tmp_path)
    seeded = seed()
    lock_table = [t for t in TABLES if t.key == "lock_table"][0]
    boto3.client("dynamodb").create_table(**create_table_args(lock_table, "sre-poc-deploy-locks"))
    log = tmp_path / "docker.log"
    env = environ(root, seeded["repository_url"], AWS_ENDPOINT_URL=endpoint, TARS_LOCK_TABLE="sre-poc-deploy-locks",
                  FAKE_DOCKER_LOG=str(log), PATH=f"{FAKES}:{os.environ['PATH']}")
    return {"root": root, "env": env, "log": log, "tmp": tmp_path, **seeded}


def calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def service():
    return boto3.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]


def revisions():
    return boto3.client("ecs").list_task_definitions(familyPrefix="sre-poc-mcp-server")["taskDefinitionArns"]


def test_dry_run_prints_the_plan_and_changes_nothing(run_inv, world):
    report = world["tmp"] / "plan.json"
    result = run_inv("deploy-mcp", "--dry-run", "--json", str(report), env=world["env"])
    assert result.returncode == 0, result.stderr
    tag = head(world["root"])
    assert f"build mcp_server/ for linux/amd64 as {world['repository_url']}:{tag}" in result.stdout
    assert "register a copy of sre-poc-mcp-server:1" in result.stdout
    assert calls(world["log"]) == []
    assert len(revisions()) == 1 and service()["taskDefinition"] == world["task_definition"]
    data = json.loads(report.read_text())
    assert data["plan"]["tag"] == tag and data["outcome"]["status"] == "planned"


def test_timeout_points_the_service_back(run_inv, world):
    report = world["tmp"] / "report.json"
    result = run_inv("deploy-mcp", "--yes", "--timeout", "0.3", "--json", str(report), env=world["env"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "timed out" in error_lines[0]
    assert "back on sre-poc-mcp-server:1" in error_lines[0]
    # state: revision 2 was registered with the commit-tagged image; the service is back on 1
    tag = head(world["root"])
    arns = revisions()
    assert len(arns) == 2
    new = boto3.client("ecs").describe_task_definition(taskDefinition=arns[-1])["taskDefinition"]
    assert new["containerDefinitions"][0]["image"] == f"{world['repository_url']}:{tag}"
    assert service()["taskDefinition"] == world["task_definition"]
    # the engine saw the password on stdin only; the tag is the commit
    seen = calls(world["log"])
    assert [c["argv"][1] for c in seen] == ["login", "build", "push"]
    assert seen[0]["stdin"] == PASSWORD + "\n"
    assert PASSWORD not in json.dumps([c["argv"] for c in seen])
    assert seen[2]["argv"][2] == f"{world['repository_url']}:{tag}"
    assert PASSWORD not in result.stdout + result.stderr + report.read_text()
    assert json.loads(report.read_text())["error"]["exit_code"] == 1
    # the deploy lock was released
    assert "Item" not in boto3.client("dynamodb").get_item(TableName="sre-poc-deploy-locks",
                                                           Key={"lock_id": {"S": "sre-poc/dev"}})


def test_unchanged_image_is_no_changes(run_inv, world):
    tag = head(world["root"])
    ecs = boto3.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=world["task_definition"])["taskDefinition"]
    arn = ecs.register_task_definition(**ecs_api.copy_with_image(
        td, "mcp-server", f"{world['repository_url']}:{tag}"))["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)
    put_image(tag)
    result = run_inv("deploy-mcp", "--yes", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert "no changes" in result.stdout
    assert calls(world["log"]) == []
    assert len(revisions()) == 2 and service()["taskDefinition"] == arn


def test_missing_engine_is_exit_2_and_changes_nothing(run_inv, world):
    only_git = world["tmp"] / "only-git"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    env = dict(world["env"], PATH=str(only_git))
    result = run_inv("deploy-mcp", "--yes", env=env)
    assert result.returncode == 2, result.stderr
    assert "no container engine found" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(revisions()) == 1 and service()["taskDefinition"] == world["task_definition"]


def test_held_lock_refuses_with_exit_3(run_inv, world):
    import time

    boto3.client("dynamodb").put_item(TableName="sre-poc-deploy-locks", Item={
        "lock_id": {"S": "sre-poc/dev"}, "holder": {"S": "alice@laptop"}, "command": {"S": "deploy-lambda"},
        "token": {"S": "t"}, "started": {"S": "now"}, "expires_at": {"N": str(time.time() + 600)}})
    result = run_inv("deploy-mcp", "--yes", env=world["env"])
    assert result.returncode == 3, result.stderr
    assert calls(world["log"]) == [] and len(revisions()) == 1


def test_bad_flags_are_exit_2(run_inv, world):
    assert run_inv("deploy-mcp", "--timeout", "soon", env=world["env"]).returncode == 2
    bad = run_inv("deploy-mcp", "--builder", "not a host!", "--dry-run", env=world["env"])
    assert bad.returncode == 2 and "user@host[:port]" in bad.stderr
    assert run_inv("rollback-mcp", "--to", "7", "--yes", env=world["env"]).returncode == 2
    assert service()["taskDefinition"] == world["task_definition"]


def test_rollback_mcp_to_the_previous_revision(run_inv, world):
    ecs = boto3.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=world["task_definition"])["taskDefinition"]
    arn2 = ecs.register_task_definition(**ecs_api.copy_with_image(td, "mcp-server", "x:2"))["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn2)
    dry = run_inv("rollback-mcp", "--dry-run", env=world["env"])
    assert dry.returncode == 0 and service()["taskDefinition"] == arn2
    result = run_inv("rollback-mcp", "--yes", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert "sre-poc-mcp-server:2 -> sre-poc-mcp-server:1" in result.stdout
    assert service()["taskDefinition"] == world["task_definition"]


def test_stop_and_start(run_inv, world):
    refused = run_inv("mcp-stop", env=world["env"])          # no terminal, no --yes
    assert refused.returncode == 3 and service()["desiredCount"] == 1
    assert run_inv("mcp-stop", "--yes", env=world["env"]).returncode == 0
    assert service()["desiredCount"] == 0
    assert run_inv("mcp-start", env=world["env"]).returncode == 0
    assert service()["desiredCount"] == 1
