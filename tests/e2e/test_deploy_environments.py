"""`inv deploy --all --local --env dev,staging`: two local environments deployed in parallel, each
with its own emulator (.tars/local-dev, .tars/local-staging), one of them broken on purpose.

staging's `.env.staging` names a Lambda function that does not exist (a bad config value that only
a step can find out: the MCP step, the first to read the function): dev must end deployed and
verified anyway, staging failed with its own report, the combined summary and --json must list both, and the exit code must be the
worst (1). Asserted on each emulator's state: dev's alias, release record, released lock and UI
bundle built for dev's own API endpoint; staging's lock released and no release record.
"""
from __future__ import annotations

import json

import boto3
import pytest

from bench.scenarios.clone import copy_components
from tars_tasks.local import processes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FN = "sre-poc-incident-handler"
ENVS = ("dev", "staging")


@pytest.fixture
def project(tmp_path):
    """A copy of the project (UI dependencies hard-linked from the checkout)."""
    root = copy_components(tmp_path / "project")
    yield root
    for env in ENVS:   # every process of both environments, by recorded pid
        proc_dir = root / ".tars" / f"local-{env}" / "proc"
        for proc in sorted(processes.recorded(proc_dir), key=lambda p: p.name == "emulator"):
            processes.stop(proc_dir, proc.name)


def emulator(root, env: str):
    url = processes.read(root / ".tars" / f"local-{env}" / "proc", "emulator").url
    return url, {name: boto3.client(name, endpoint_url=url, region_name="us-east-1",
                                    aws_access_key_id="testing", aws_secret_access_key="testing")
                 for name in ("s3", "lambda", "dynamodb")}


def bucket(aws, part: str) -> str:
    return next(b["Name"] for b in aws["s3"].list_buckets()["Buckets"] if part in b["Name"])


def site_text(aws) -> str:
    s3, name = aws["s3"], bucket(aws, "-ui-")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
    return "".join(s3.get_object(Bucket=name, Key=k)["Body"].read().decode("utf-8", "replace") for k in keys)


def test_two_local_environments_in_parallel_one_broken(project, run_inv, tmp_path):
    (project / ".env.staging").write_text("TARS_FUNCTION_NAME=sre-poc-no-such-function\n")
    report_path = tmp_path / "envs.json"
    done = run_inv("deploy", "--all", "--local", "--yes", "--env", "dev,staging", "--json", str(report_path),
                   env={"TARS_ROOT": str(project)}, timeout=1200)
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out[-4000:]
    assert done.returncode == 1, out[-4000:]          # the worst: dev 0, staging 1

    # one combined report holding each environment's own
    combined = json.loads(report_path.read_text())
    assert combined["envs"] == list(ENVS) and combined["exit_code"] == 1 and combined["ok"] is False
    dev, staging = combined["environments"]
    assert (dev["env"], dev["exit_code"], staging["env"], staging["exit_code"]) == ("dev", 0, "staging", 1)
    assert dev["report"]["env"] == "dev" and dev["report"]["ok"] is True and dev["report"]["release_id"]
    assert {c["component"]: c["status"] for c in dev["report"]["components"]} == {
        "infra": "deployed", "mcp": "deployed", "lambda": "deployed", "ui": "deployed", "verify": "passed"}
    assert staging["report"]["env"] == "staging" and staging["report"]["ok"] is False
    staged = {c["component"]: c for c in staging["report"]["components"]}
    # the MCP step is the first to read the function (it points MCP_ENDPOINT of it at the new server)
    assert staged["infra"]["status"] == "deployed"
    assert staged["mcp"]["status"] == "failed" and "sre-poc-no-such-function" in staged["mcp"]["detail"]
    assert staged["lambda"]["status"] == staged["ui"]["status"] == "not reached"
    assert staging["report"]["release_id"] is None and staging["result"].startswith("failed at mcp")

    # each its own emulator, and what each holds
    dev_url, dev_aws = emulator(project, "dev")
    staging_url, staging_aws = emulator(project, "staging")
    assert dev_url != staging_url
    version = dev_aws["lambda"].get_alias(FunctionName=FN, Name="production")["FunctionVersion"]
    key = f"releases/dev/deploys/{dev['report']['release_id']}.json"
    record = json.loads(dev_aws["s3"].get_object(Bucket=bucket(dev_aws, "-artifacts-"), Key=key)["Body"].read())
    assert record["components"]["lambda"]["version"] == version
    dev_outputs = json.loads((project / ".tars" / "local-dev" / "outputs.json").read_text())
    staging_outputs = json.loads((project / ".tars" / "local-staging" / "outputs.json").read_text())
    dev_api, staging_api = dev_outputs["api_endpoint"]["value"], staging_outputs["api_endpoint"]["value"]
    assert dev_api != staging_api
    dev_site = site_text(dev_aws)       # the UI bundle built for dev, not for the env built beside it
    assert dev_api in dev_site and staging_api not in dev_site
    for aws, env in ((dev_aws, "dev"), (staging_aws, "staging")):   # both locks released
        assert "Item" not in aws["dynamodb"].get_item(TableName="sre-poc-deploy-locks",
                                                      Key={"lock_id": {"S": f"sre-poc/{env}"}})
    listed = staging_aws["s3"].list_objects_v2(Bucket=bucket(staging_aws, "-artifacts-"), Prefix="releases/")
    assert listed.get("KeyCount", 0) == 0                           # staging recorded no release
    site = staging_aws["s3"].list_objects_v2(Bucket=bucket(staging_aws, "-ui-")).get("Contents", [])
    assert "index.html" not in {o["Key"] for o in site}              # ui was not reached

    # readable output: every child line prefixed, one summary listing both, one error line of the run
    assert any(line.startswith("[dev] ") for line in done.stdout.splitlines())
    assert any(line.startswith("[staging] ") for line in done.stdout.splitlines())
    summary = done.stdout[done.stdout.index("deploy summary: 2 environments"):]
    assert "dev" in summary and "staging" in summary and "failed at mcp" in summary
    assert dev["report"]["release_id"] in summary
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: deploy failed in staging (exit 1); dev done"], errors

    # inv local.down stops every local env's processes (by recorded pid), --env only that env's
    only_dev = run_inv("local.down", "--env", "dev", env={"TARS_ROOT": str(project)})
    assert only_dev.returncode == 0 and not processes.recorded(project / ".tars" / "local-dev" / "proc")
    assert processes.running(project / ".tars" / "local-staging" / "proc", "emulator", "/moto-api/")
    everything = run_inv("local.down", env={"TARS_ROOT": str(project)})
    assert everything.returncode == 0 and "emulator" in everything.stdout
    assert not processes.recorded(project / ".tars" / "local-staging" / "proc")
