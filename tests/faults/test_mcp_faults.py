"""deploy-mcp under injected AWS faults (500, 503, throttling on a seeded quarter of the calls):
botocore's standard retries absorb them and the end state is whole: the service is back on its
old revision after the (moto: never completing) rollout timed out, exactly one new revision was
registered and the image was pushed once. 20 seeds (the `faults` suite)."""
from __future__ import annotations

import json
import os

import boto3
import pytest

from tars_tasks.errors import StepFailed
from tars_tasks.settings import Settings
from tars_tasks.steps import mcp
from bench.scenarios.fault_proxy import FaultPlan, FaultProxy
from bench.scenarios.mcp_deploy import CLUSTER, FAKES, SERVICE, FakeClock, environ, make_project, seed


@pytest.mark.faults
@pytest.mark.parametrize("seed_value", range(20))
def test_deploy_mcp_state_is_whole_under_faults(endpoint, tmp_path, monkeypatch, seed_value):
    # botocore still retries every fault; only its backoff sleep is skipped (tests never really sleep)
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    root = make_project(tmp_path)
    seeded = seed()
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{FAKES}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    plan_faults = FaultPlan(rate=0.25, seed=seed_value, kinds=("500", "503", "throttle"))
    with FaultProxy(endpoint, plan_faults) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        settings = Settings.load(None, environ=environ(root, seeded["repository_url"], AWS_ENDPOINT_URL=proxy.url,
                                                       TARS_MAX_ATTEMPTS="12", TARS_WAITER_DELAY="10"))
        clock = FakeClock()
        with pytest.raises(StepFailed) as err:
            mcp.execute(settings, mcp.plan(settings), timeout=30, clock=clock, sleep=clock.sleep)
        faults = [r for r in plan_faults.records if r.fault]
    assert "timed out" in err.value.message and "back on sre-poc-mcp-server:1" in err.value.message
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    ecs = boto3.client("ecs")
    assert ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["taskDefinition"] == \
        seeded["task_definition"]
    assert len(ecs.list_task_definitions()["taskDefinitionArns"]) == 2
    pushes = [json.loads(line) for line in log.read_text().splitlines() if '"push"' in line]
    assert len(pushes) == 1
    assert faults, "the seed injected no fault: the test proved nothing"
