"""aws/ecs: the rollout verdict, the task definition copy, revisions, the watch loop."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from tars_tasks.aws import ecs
from bench.scenarios.mcp_deploy import CLUSTER, FAMILY, SERVICE, FakeClock, deployment, seed

OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/sre-poc-mcp-server:4"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/sre-poc-mcp-server:5"


def svc(task_definition, *deps, running=1, desired=1):
    return {"serviceName": SERVICE, "taskDefinition": task_definition, "deployments": list(deps),
            "runningCount": running, "desiredCount": desired, "pendingCount": desired - running}


@pytest.mark.parametrize("service, dep_id, state", [
    # success needs PRIMARY + COMPLETED + running == desired
    (svc(NEW, deployment(NEW, "PRIMARY", "COMPLETED", 1, id_="d5")), "d5", ecs.COMPLETED),
    (svc(NEW, deployment(NEW, "PRIMARY", "COMPLETED", 0, id_="d5"), running=0), "d5", ecs.WAITING),
    (svc(NEW, deployment(NEW, "PRIMARY", "IN_PROGRESS", 1, id_="d5"), deployment(OLD, "ACTIVE", "COMPLETED", 1)),
     "d5", ecs.WAITING),
    (svc(NEW, deployment(NEW, "PRIMARY", "FAILED", 0, id_="d5", reason="tasks failed to start")), "d5", ecs.FAILED),
    # circuit breaker: service back on the old revision, ours FAILED (or gone)
    (svc(OLD, deployment(OLD, "PRIMARY", "IN_PROGRESS", 0), deployment(NEW, "ACTIVE", "FAILED", 0, id_="d5")),
     "d5", ecs.ROLLED_BACK),
    (svc(OLD, deployment(OLD, "PRIMARY", "COMPLETED", 1)), "d5", ecs.ROLLED_BACK),
    (svc(OLD, deployment(OLD, "PRIMARY", "COMPLETED", 1)), None, ecs.ROLLED_BACK),
    # the deployment id unknown (moto): matched by task definition, waits for it to appear
    (svc(NEW, deployment(OLD, "PRIMARY", "COMPLETED", 1)), None, ecs.WAITING),
    (svc(NEW, deployment(NEW, "PRIMARY", "COMPLETED", 1)), None, ecs.COMPLETED),
])
def test_classify(service, dep_id, state):
    assert ecs.classify(service, NEW, dep_id).state == state


def test_failed_reason_is_carried():
    v = ecs.classify(svc(NEW, deployment(NEW, "PRIMARY", "FAILED", 0, id_="d", reason="tasks failed to start")), NEW, "d")
    assert v.reason == "tasks failed to start"


def test_family_revision_and_short_name():
    assert ecs.family_revision(NEW) == ("sre-poc-mcp-server", 5)
    assert ecs.short_name(NEW) == "sre-poc-mcp-server:5"


def test_register_copy_changes_only_the_image(clients, aws):
    seeded = seed()
    client = boto3.client("ecs")
    described = client.describe_task_definition(taskDefinition=seeded["task_definition"], include=["TAGS"])
    td = described["taskDefinition"]
    assert set(ecs.READ_ONLY_FIELDS) & set(td)     # describe does return read-only fields ...
    args = ecs.copy_with_image(td, "mcp-server", "repo:new")
    assert not set(ecs.READ_ONLY_FIELDS) & set(args)  # ... which the copy strips
    arn = ecs.register_with_image(clients, td, described["tags"], "mcp-server", "repo:new")
    assert ecs.family_revision(arn) == (FAMILY, 2)
    again = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    assert again["tags"] == described["tags"]
    assert again["taskDefinition"]["containerDefinitions"][0]["image"] == "repo:new"
    assert again["taskDefinition"]["cpu"] == td["cpu"] and again["taskDefinition"]["executionRoleArn"] == td["executionRoleArn"]


def test_previous_revision_skips_other_families_and_newer(clients, aws):
    client = boto3.client("ecs")
    base = {"containerDefinitions": [{"name": "c", "image": "i", "memory": 128}]}
    for family in ("app", "app", "app-canary", "app", "app-canary"):
        client.register_task_definition(family=family, **base)
    assert ecs.family_revision(ecs.previous_revision(clients, "app", 3)) == ("app", 2)
    assert ecs.previous_revision(clients, "app", 1) is None


def test_pick_container_prefers_the_repository_image():
    td = {"family": "f", "containerDefinitions": [{"name": "sidecar", "image": "envoy:1"},
                                                  {"name": "mcp", "image": "123.dkr.ecr/r:abc"}]}
    assert ecs.pick_container(td, "123.dkr.ecr/r")["name"] == "mcp"


def test_watch_times_out_on_the_injected_clock(clients, aws):
    seed()
    clock = FakeClock()
    polls = []
    result = ecs.watch(clients, CLUSTER, SERVICE, lambda s: ecs.Verdict(ecs.WAITING, "rollout in progress"), timeout=9,
                       delay=2, clock=clock, sleep=clock.sleep, on_poll=lambda s, v, e: polls.append(e))
    assert result.verdict.state == ecs.TIMEOUT and "9 s" in result.verdict.reason
    assert clock.sleeps == [2, 2, 2, 2, 1] and polls == [0, 2, 4, 6, 8, 9]


def test_newest_events_are_shown_once():
    seen = set()
    service = {"events": [{"id": "2", "message": "b"}, {"id": "1", "message": "a"}]}
    assert ecs.newest_events(service, seen) == ["a", "b"]
    service["events"].insert(0, {"id": "3", "message": "c"})
    assert ecs.newest_events(service, seen) == ["c"]


def test_stopped_task_reasons_name_the_task_and_container(clients):
    client = clients("ecs")
    task = "arn:aws:ecs:us-east-1:123456789012:task/sre-poc-cluster/0123456789abcdef"
    with Stubber(client) as stub:
        stub.add_response("list_tasks", {"taskArns": [task]},
                          {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED"})
        stub.add_response("describe_tasks", {"tasks": [{
            "taskArn": task, "taskDefinitionArn": NEW, "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "mcp-server", "exitCode": 1, "reason": "CannotPullContainerError"}]}]},
            {"cluster": CLUSTER, "tasks": [task]})
        lines = ecs.stopped_task_reasons(clients, CLUSTER, SERVICE, NEW)
    assert lines == ["task 0123456789ab: Essential container in task exited; "
                     "mcp-server: CannotPullContainerError exit 1"]
