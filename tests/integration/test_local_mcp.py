"""deploy-mcp in local mode: a local process, a task definition revision, the service moved."""
from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import boto3
import pytest

from tars_tasks.errors import ConfigError
from tars_tasks.local import mcp, processes, services

STANDIN = Path(__file__).resolve().parent.parent / "fixtures" / "mcp_standin" / "server.py"


@pytest.fixture
def settings(local_settings, tmp_path):
    (tmp_path / "mcp_server").mkdir()
    shutil.copy(STANDIN, tmp_path / "mcp_server" / "server.py")
    s = local_settings(tmp_path)   # a fork of the once-applied infrastructure/
    yield s
    for proc in processes.recorded(services.proc_dir(s)):
        processes.stop(services.proc_dir(s), proc.name)


def service_image(s) -> tuple[str, str]:
    ecs = boto3.client("ecs")
    arn = ecs.describe_services(cluster=s.ecs_cluster, services=[s.ecs_service])["services"][0]["taskDefinition"]
    return arn, ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][0]["image"]


def deploy(s, tag: str):
    """What inv deploy-mcp --local runs: the local publisher's plan, then its execute."""
    return mcp.execute(s, mcp.plan(s, tag))


def health(s) -> dict:
    with urllib.request.urlopen(s.mcp_endpoint + "/health", timeout=10) as r:
        return json.loads(r.read())


def test_deploy_runs_the_server_and_registers_the_revision(settings):
    before_arn, _ = service_image(settings)
    outcome = deploy(settings, "abc1234")
    assert outcome.status == "deployed"
    arn, image = service_image(settings)
    assert image == f"{settings.ecr_repository_url}:abc1234"
    assert arn != before_arn and arn == outcome.after and arn.endswith(":2")
    assert health(settings) == {"status": "ok", "tag": "abc1234", "endpoint": settings.endpoint_url}
    env = boto3.client("lambda").get_function_configuration(FunctionName=settings.function_name)["Environment"]
    assert env["Variables"]["MCP_ENDPOINT"] == settings.mcp_endpoint


def test_same_tag_again_is_no_changes_and_a_new_tag_restarts(settings):
    deploy(settings, "abc1234")
    pid = services.running(settings, services.MCP).pid
    again = mcp.plan(settings, "abc1234")
    assert not again.has_changes and again.summary()[0].startswith("no changes")
    assert mcp.execute(settings, again).status == "unchanged"
    deploy(settings, "def5678")
    assert services.running(settings, services.MCP).pid != pid
    assert health(settings)["tag"] == "def5678"
    assert service_image(settings)[0].endswith(":3")


def test_bad_tag_and_missing_infrastructure_are_clear(settings):
    with pytest.raises(ConfigError, match="bad image tag"):
        mcp.plan(settings, "repo:tag")
    urllib.request.urlopen(urllib.request.Request(settings.endpoint_url + "/moto-api/reset", method="POST", data=b"")).close()
    with pytest.raises(ConfigError, match="not found") as err:
        mcp.plan(settings, "abc1234")
    assert "deploy-infrastructure --local" in err.value.hint


def test_rollback_points_the_service_back_and_runs_that_revisions_code(settings):
    from tars_tasks.steps import mcp as mcp_steps

    server = settings.root / "mcp_server" / "server.py"
    first = deploy(settings, "abc1234").after
    server.write_text(server.read_text().replace('"status": "ok"', '"status": "ok", "code": "v2"'))
    second = deploy(settings, "def5678").after
    assert health(settings).get("code") == "v2"

    back = mcp_steps.rollback(settings, "2")          # whole-release rollback calls this with the revision
    assert back.status == "deployed" and back.after == first.rsplit("/", 1)[-1]
    assert service_image(settings)[0] == first != second
    assert health(settings) == {"status": "ok", "tag": "abc1234", "endpoint": settings.endpoint_url}   # v1's code
    argv = Path(f"/proc/{services.running(settings, services.MCP).pid}/cmdline").read_bytes().split(b"\0")
    assert str(mcp.image_dir(settings, "abc1234") / "server.py").encode() in argv

    shutil.rmtree(mcp.image_dir(settings, "def5678"))   # an image that is gone: clear, nothing moved
    with pytest.raises(ConfigError, match="no local image of MCP tag def5678"):
        mcp_steps.rollback(settings, "3")
    assert service_image(settings)[0] == first
