"""`inv deploy --all --local` with the REAL components, end to end: infra (Terraform's, on a fork of
the session's once-applied emulator: unchanged, no plan) → MCP
(local process) → Lambda (local runtime) → UI (npm build, S3) → verify through the public entry;
then status, a Lambda-only deploy, a whole-release rollback, and a component failing at execute.

Needs the components (infra, mcp, lambda, ui steps and the local mode); the module is skipped by
importorskip naming a missing one (all are on main since the component branches were merged).
"""
from __future__ import annotations

import json

import boto3
import pytest

for _module in ("tars_tasks.steps.infra", "tars_tasks.steps.mcp", "tars_tasks.steps.lambda_",
                "tars_tasks.steps.ui", "tars_tasks.local.tf_target", "tars_tasks.artifacts.ui_bundle"):
    pytest.importorskip(_module, reason=f"{_module} is not on this branch yet")

from bench.scenarios.clone import copy_components, stop_recorded  # noqa: E402
from tars_tasks.local import processes  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def root(tmp_path, run_inv, local_emulator):
    """A copy of the project (UI dependencies hard-linked from the checkout when installed)."""
    root = copy_components(tmp_path / "project")
    local_emulator(root)   # the once-applied infrastructure/ (tests/support/tf_applied.py), no apply here
    yield root
    run_inv("local.down", env={"TARS_ROOT": str(root)})
    stop_recorded(root)   # never leave one behind


def emulator(root):
    url = processes.read(root / ".tars" / "local" / "proc", "emulator").url
    return {name: boto3.client(name, endpoint_url=url, region_name="us-east-1") for name in ("s3", "lambda", "dynamodb")}


def rows(report_path):
    return {c["component"]: c for c in json.loads(report_path.read_text())["components"]}


def test_deploy_all_local_then_rollback_and_a_failing_component(root, run_inv, tmp_path):
    env = {"TARS_ROOT": str(root)}
    first = run_inv("deploy", "--all", "--local", "--yes", "--json", str(tmp_path / "r1.json"), env=env, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    r1 = json.loads((tmp_path / "r1.json").read_text())
    assert {k: v["status"] for k, v in rows(tmp_path / "r1.json").items()} == {
        "infra": "unchanged", "mcp": "deployed", "lambda": "deployed", "ui": "deployed", "verify": "passed"}
    aws = emulator(root)
    record_key = f"releases/local/deploys/{r1['release_id']}.json"
    bucket = next(b["Name"] for b in aws["s3"].list_buckets()["Buckets"] if "-artifacts-" in b["Name"])
    record = json.loads(aws["s3"].get_object(Bucket=bucket, Key=record_key)["Body"].read())
    v1 = aws["lambda"].get_alias(FunctionName="sre-poc-incident-handler", Name="production")["FunctionVersion"]
    assert record["components"]["lambda"]["version"] == v1
    assert "Item" not in aws["dynamodb"].get_item(TableName="sre-poc-deploy-locks",
                                                  Key={"lock_id": {"S": "sre-poc/local"}})

    # inv verify on its own, through the local site's /api like the UI
    checked = run_inv("verify", "--local", "--json", str(tmp_path / "v.json"), env=env, timeout=300)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert {c["name"]: c["status"] for c in json.loads((tmp_path / "v.json").read_text())["checks"]} == {
        "kb": "pass", "chat": "pass", "logs": "pass"}
    assert aws["dynamodb"].scan(TableName="sre-poc-kb-documents")["Count"] == 0  # the test document is gone

    # a Lambda-only change, deployed alone
    with (root / "lambda_src" / "handler.py").open("a") as fh:
        fh.write("\n# a change\n")
    second = run_inv("deploy", "--lambda", "--local", "--yes", "--skip-verify", "--json", str(tmp_path / "r2.json"),
                     env=env, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    v2 = aws["lambda"].get_alias(FunctionName="sre-poc-incident-handler", Name="production")["FunctionVersion"]
    assert int(v2) > int(v1) and rows(tmp_path / "r2.json")["lambda"]["before"] == v1

    # whole-release rollback to the first release
    back = run_inv("rollback", "--to", r1["release_id"], "--local", "--yes", env=env, timeout=600)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
    assert aws["lambda"].get_alias(FunctionName="sre-poc-incident-handler", Name="production")["FunctionVersion"] == v1
    status = run_inv("status", "--local", "--json", str(tmp_path / "st.json"), env=env)
    assert status.returncode == 0 and json.loads((tmp_path / "st.json").read_text())["components"]["lambda"]["version"] == v1

    # a handler whose health check fails: lambda fails at its smoke test, ui is not reached
    text = (root / "lambda_src" / "handler.py").read_text()
    (root / "lambda_src" / "handler.py").write_text(text.replace(
        'def health(req: Request) -> dict:\n', 'def health(req: Request) -> dict:\n    raise RuntimeError("broken")\n', 1))
    broken = run_inv("deploy", "--all", "--local", "--yes", "--json", str(tmp_path / "r3.json"), env=env, timeout=600)
    assert broken.returncode == 1, broken.stdout[-3000:] + broken.stderr[-3000:]
    assert "Traceback" not in broken.stderr
    r3 = rows(tmp_path / "r3.json")
    assert r3["lambda"]["status"] == "failed" and r3["ui"]["status"] == "not reached"
    assert r3["infra"]["status"] == "unchanged" and r3["mcp"]["status"] in ("unchanged", "deployed")
    assert aws["lambda"].get_alias(FunctionName="sre-poc-incident-handler", Name="production")["FunctionVersion"] == v1
