"""steps/mcp against moto in-process, with before-send scripts where moto cannot roll out."""
from __future__ import annotations

import json

import boto3
import pytest

from tars_tasks.aws import ecs as ecs_api
from tars_tasks.errors import ConfigError, StepFailed
from tars_tasks.settings import Settings
from tars_tasks.steps import mcp
from bench.scenarios.mcp_deploy import (CLUSTER, FAKES, SERVICE, FakeClock, RolloutScript, back_on_old_when_pointed,
                               environ, head, make_project, on, put_image, seed)

FAILED_REASON = "ECS deployment ecs-svc/new1 failed: tasks failed to start."


@pytest.fixture
def world(aws, tmp_path, monkeypatch):
    root = make_project(tmp_path)
    seeded = seed()
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{FAKES}:" + __import__("os").environ["PATH"])
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    settings = Settings.load(None, environ=environ(root, seeded["repository_url"], TARS_WAITER_DELAY="5"))
    return {"root": root, "settings": settings, "log": log, **seeded}


def docker_calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def service_now():
    return boto3.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]


def test_plan_tags_with_the_commit_and_reads_only(world):
    script = RolloutScript(world["settings"].clients("ecs"), world["task_definition"], [lambda real, ctx: real])
    plan = mcp.plan(world["settings"])
    assert plan.tag == head(world["root"])
    assert plan.image == f"{world['repository_url']}:{plan.tag}"
    assert plan.needs_build and plan.needs_task_definition and plan.has_changes
    assert plan.container == "mcp-server"
    assert set(script.operations) <= {"DescribeServices", "DescribeTaskDefinition"}
    assert any("password on stdin" in line for line in plan.summary())


def test_dirty_tree_adds_dirty_and_a_content_hash(world):
    (world["root"] / "mcp_server" / "server.py").write_text("print('changed')\n")
    tag = mcp.image_tag(world["settings"])
    assert tag.startswith(head(world["root"]) + "-dirty-")
    (world["root"] / "mcp_server" / "server.py").write_text("print('changed again')\n")
    assert mcp.image_tag(world["settings"]) != tag


def test_success_builds_pushes_registers_and_waits_for_primary_completed(world):
    clock = FakeClock()
    script = RolloutScript(world["settings"].clients("ecs"), world["task_definition"], [
        on("new", ("new", "PRIMARY", "IN_PROGRESS", 0), ("old", "ACTIVE", "COMPLETED", 1)),
        on("new", ("new", "PRIMARY", "IN_PROGRESS", 1), ("old", "ACTIVE", "COMPLETED", 1), running=2),
        on("new", ("new", "PRIMARY", "COMPLETED", 1)),
    ], new_id="ecs-svc/new1")
    plan = mcp.plan(world["settings"])
    outcome = mcp.execute(world["settings"], plan, timeout=600, clock=clock, sleep=clock.sleep)

    assert outcome.status == "deployed"
    assert outcome.before == "sre-poc-mcp-server:1" and outcome.after == "sre-poc-mcp-server:2"
    assert outcome.rollback_command == "inv rollback-mcp --to 1"
    # state: the service runs revision 2, which differs from 1 only by the image
    live = service_now()
    assert live["taskDefinition"].endswith(":2")
    ecs = boto3.client("ecs")
    old = ecs.describe_task_definition(taskDefinition="sre-poc-mcp-server:1", include=["TAGS"])
    new = ecs.describe_task_definition(taskDefinition="sre-poc-mcp-server:2", include=["TAGS"])
    assert new["taskDefinition"]["containerDefinitions"][0]["image"] == plan.image
    strip = lambda td: {k: v for k, v in td.items() if k not in ecs_api.READ_ONLY_FIELDS}  # noqa: E731
    old_td, new_td = strip(old["taskDefinition"]), strip(new["taskDefinition"])
    old_td["containerDefinitions"][0].pop("image"), new_td["containerDefinitions"][0].pop("image")
    assert old_td == new_td
    assert new["tags"] == old["tags"]
    # the engine: login with the password on stdin only, build for amd64 tagged with the commit, push
    calls = docker_calls(world["log"])
    assert [c["argv"][1] for c in calls] == ["login", "build", "push"]
    password = "123456789012-auth-token"   # moto's ECR password
    assert calls[0]["stdin"].strip() == password
    assert all(password not in " ".join(c["argv"]) for c in calls)
    assert calls[1]["platform"] == "linux/amd64"
    assert calls[1]["argv"][calls[1]["argv"].index("-t") + 1] == f"{world['repository_url']}:{head(world['root'])}"
    # waited with the injected clock, never scaled to zero
    assert clock.sleeps == [5.0, 5.0]
    assert "UpdateService" in script.operations
    assert script.operations.count("UpdateService") == 1


def test_failed_rollout_points_the_service_back_and_fails_with_reasons(world):
    clock = FakeClock()
    failing = on("new", ("new", "PRIMARY", "FAILED", 0, FAILED_REASON), ("old", "ACTIVE", "COMPLETED", 1),
                 events=["(service sre-poc-mcp-server) deployment failed: tasks failed to start."])
    RolloutScript(world["settings"].clients("ecs"), world["task_definition"], [
        on("new", ("new", "PRIMARY", "IN_PROGRESS", 0), ("old", "ACTIVE", "COMPLETED", 1)),
        back_on_old_when_pointed(failing)], new_id="ecs-svc/new1")
    plan = mcp.plan(world["settings"])
    with pytest.raises(StepFailed) as err:
        mcp.execute(world["settings"], plan, timeout=600, clock=clock, sleep=clock.sleep)
    assert "failed: " in err.value.message and "tasks failed to start" in err.value.message
    assert "back on sre-poc-mcp-server:1" in err.value.message
    assert any("deployment failed" in d for d in err.value.details)
    assert service_now()["taskDefinition"] == world["task_definition"]


def test_circuit_breaker_rollback_is_a_failure_though_services_stable_says_ok(world):
    clock = FakeClock()
    cb_state = on("old", ("old", "PRIMARY", "COMPLETED", 1),
                  events=["(service sre-poc-mcp-server) rolling back to deployment ecs-svc/old."])
    script = RolloutScript(world["settings"].clients("ecs"), world["task_definition"], [
        on("new", ("new", "PRIMARY", "IN_PROGRESS", 0), ("old", "ACTIVE", "COMPLETED", 1)),
        cb_state], new_id="ecs-svc/new1")
    plan = mcp.plan(world["settings"])
    with pytest.raises(StepFailed) as err:
        mcp.execute(world["settings"], plan, timeout=600, clock=clock, sleep=clock.sleep)
    assert "rolled back" in err.value.message
    assert service_now()["taskDefinition"] == world["task_definition"]
    # the same answer satisfies botocore's services_stable waiter: that is why it is not trusted
    world["settings"].clients("ecs").get_waiter("services_stable").wait(
        cluster=CLUSTER, services=[SERVICE], WaiterConfig={"Delay": 0, "MaxAttempts": 1})
    assert script.calls >= 3


def test_timeout_rolls_back(world):
    clock = FakeClock()
    stuck = on("new", ("new", "PRIMARY", "IN_PROGRESS", 0), ("old", "ACTIVE", "COMPLETED", 1))
    RolloutScript(world["settings"].clients("ecs"), world["task_definition"], [back_on_old_when_pointed(stuck)],
                  new_id="ecs-svc/new1")
    plan = mcp.plan(world["settings"])
    with pytest.raises(StepFailed) as err:
        mcp.execute(world["settings"], plan, timeout=20, clock=clock, sleep=clock.sleep)
    assert "timed out" in err.value.message and "20 s" in err.value.message
    assert service_now()["taskDefinition"] == world["task_definition"]
    assert sum(clock.sleeps) == pytest.approx(20)


def test_unchanged_image_skips_build_push_and_task_definition(world, tmp_path):
    tag = head(world["root"])
    image = f"{world['repository_url']}:{tag}"
    ecs = boto3.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=world["task_definition"])["taskDefinition"]
    args = ecs_api.copy_with_image(td, "mcp-server", image)
    arn = ecs.register_task_definition(**args)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)
    put_image(tag)
    script = RolloutScript(world["settings"].clients("ecs"), arn, [lambda real, ctx: real])
    plan = mcp.plan(world["settings"])
    assert not plan.has_changes
    outcome = mcp.execute(world["settings"], plan)
    assert outcome.status == "unchanged"
    assert docker_calls(world["log"]) == []
    assert not {"RegisterTaskDefinition", "UpdateService"} & set(script.operations)
    assert service_now()["taskDefinition"] == arn


def test_image_in_ecr_skips_build_but_rolls_out(world):
    put_image(head(world["root"]))
    clock = FakeClock()
    RolloutScript(world["settings"].clients("ecs"), world["task_definition"],
                  [on("new", ("new", "PRIMARY", "COMPLETED", 1))], new_id="ecs-svc/new1")
    plan = mcp.plan(world["settings"])
    assert not plan.needs_build and plan.needs_task_definition
    assert mcp.execute(world["settings"], plan, clock=clock, sleep=clock.sleep).status == "deployed"
    assert docker_calls(world["log"]) == []


def test_build_failure_changes_nothing_in_ecs(world, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "build")
    script = RolloutScript(world["settings"].clients("ecs"), world["task_definition"], [lambda real, ctx: real])
    plan = mcp.plan(world["settings"])
    with pytest.raises(StepFailed) as err:
        mcp.execute(world["settings"], plan)
    assert "did not complete successfully" in err.value.message
    assert not {"RegisterTaskDefinition", "UpdateService"} & set(script.operations)
    assert service_now()["taskDefinition"] == world["task_definition"]


def test_missing_service_is_a_config_error(world):
    settings = world["settings"].replace(ecs_service="nope")
    with pytest.raises(ConfigError) as err:
        mcp.plan(settings)
    assert "nope" in err.value.message


def test_rollback_defaults_to_the_previous_revision(world):
    ecs = boto3.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=world["task_definition"])["taskDefinition"]
    arn2 = ecs.register_task_definition(**ecs_api.copy_with_image(td, "mcp-server", "x:2"))["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn2)
    clock = FakeClock()
    RolloutScript(world["settings"].clients("ecs"), arn2, [on("new", ("new", "PRIMARY", "COMPLETED", 1))])
    preview = mcp.rollback(world["settings"], None, dry_run=True)
    assert (preview.status, preview.before, preview.after) == ("planned", "sre-poc-mcp-server:2", "sre-poc-mcp-server:1")
    assert service_now()["taskDefinition"] == arn2
    outcome = mcp.rollback(world["settings"], None, clock=clock, sleep=clock.sleep)
    assert outcome.status == "deployed" and outcome.after == "sre-poc-mcp-server:1"
    assert service_now()["taskDefinition"] == world["task_definition"]


def test_rollback_to_a_missing_revision_is_a_config_error(world):
    with pytest.raises(ConfigError):
        mcp.rollback(world["settings"], "99")


def test_scale_to_zero_and_back(world):
    clock = FakeClock()
    out = mcp.scale(world["settings"], 0, clock=clock, sleep=clock.sleep)
    assert (out.before, out.after) == ("1", "0")
    assert service_now()["desiredCount"] == 0
    assert mcp.scale(world["settings"], 0).status == "unchanged"
    assert mcp.scale(world["settings"], 1, clock=clock, sleep=clock.sleep).after == "1"
    assert service_now()["desiredCount"] == 1


def test_local_mode_delegates_to_the_local_targets_publisher(tmp_path, monkeypatch):
    """The local target's MCP publisher is tars_tasks.local.mcp; steps/mcp hands it the image tag
    (plan) and the plan it made (execute): its contract is plan(settings, tag, builder=) and
    execute(settings, plan, timeout=, clock=, sleep=)."""
    import sys
    import types

    from tars_tasks.outcome import Outcome

    root = make_project(tmp_path)
    received = {}
    fake_module = types.ModuleType("tars_tasks.local.mcp")

    def plan(settings, tag, *, builder=None):
        received.update(settings=settings, tag=tag, builder=builder)
        return ("local plan", tag)

    def execute(settings, p, **kwargs):
        received.update(executed=p, kwargs=sorted(kwargs))
        return Outcome("mcp", "deployed", None, p[1])

    fake_module.plan, fake_module.execute = plan, execute
    monkeypatch.setitem(sys.modules, "tars_tasks.local.mcp", fake_module)
    import tars_tasks.local as local_pkg

    monkeypatch.setattr(local_pkg, "mcp", fake_module, raising=False)
    settings = Settings.load(None, environ=environ(root, "r.example/x", TARS_TARGET="local"))
    assert settings.target.mcp() is fake_module
    made = mcp.plan(settings)
    assert made == ("local plan", head(root))
    assert received == {"settings": settings, "tag": head(root), "builder": None}
    outcome = mcp.execute(settings, made)
    assert outcome.after == head(root) and received["executed"] == made
    assert received["kwargs"] == ["clock", "sleep", "timeout"]


def test_wait_reports_events_stopped_tasks_and_log_lines_every_30_s(world, monkeypatch):
    """The live status line updates every poll; events, stopped-task reasons and the container's
    last log lines come at the first poll and then every 30 s (new ones only)."""
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/ecs/sre-poc-mcp-server")
    logs.create_log_stream(logGroupName="/ecs/sre-poc-mcp-server", logStreamName="mcp/mcp-server/abc")
    logs.put_log_events(logGroupName="/ecs/sre-poc-mcp-server", logStreamName="mcp/mcp-server/abc",
                        logEvents=[{"timestamp": int(__import__("time").time() * 1000),
                                               "message": "Traceback: ImportError: fastmcp"}])
    monkeypatch.setattr(ecs_api, "stopped_task_reasons",
                        lambda cluster, service, td=None, limit=5: ["task abc: Essential container in task exited"])
    shown, statuses = [], []
    monkeypatch.setattr(mcp.console, "detail", shown.append)
    monkeypatch.setattr(mcp.console, "warn", shown.append)

    class Recorder:
        def update(self, text):
            statuses.append(text)

    import contextlib

    @contextlib.contextmanager
    def status(text):
        yield Recorder()

    monkeypatch.setattr(mcp.console, "status", status)
    clock = FakeClock()
    polls = {"n": 0}

    def stuck(real, ctx):
        polls["n"] += 1
        return on("new", ("new", "PRIMARY", "IN_PROGRESS", 0), ("old", "ACTIVE", "COMPLETED", 1),
                  events=[f"(service sre-poc-mcp-server) event {polls['n']}"])(real, ctx)

    RolloutScript(world["settings"].clients("ecs"), world["task_definition"], [back_on_old_when_pointed(stuck)],
                  new_id="ecs-svc/new1")
    put_image(head(world["root"]))
    plan = mcp.plan(world["settings"].replace(waiter_delay=10.0))
    with pytest.raises(StepFailed):
        mcp.execute(world["settings"].replace(waiter_delay=10.0), plan, timeout=70, clock=clock, sleep=clock.sleep)
    # polls at 0, 10, ... 70 s: a status line each; events reported at 0, 30 and 60 s only
    assert len([s for s in statuses if "rollout IN_PROGRESS" in s]) == 8
    assert statuses[0] == "sre-poc-mcp-server: running 1/1, pending 0, rollout IN_PROGRESS (sre-poc-mcp-server:2), 0 s"
    events = [line for line in shown if isinstance(line, str) and line.startswith("event:")]
    assert events == ["event: (service sre-poc-mcp-server) event 1", "event: (service sre-poc-mcp-server) event 4",
                      "event: (service sre-poc-mcp-server) event 7"]
    assert shown.count("stopped: task abc: Essential container in task exited") == 1
    assert shown.count("log: Traceback: ImportError: fastmcp") == 1
