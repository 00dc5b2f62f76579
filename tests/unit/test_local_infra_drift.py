"""The local bootstrap and infrastructure/ cannot drift apart.

Parses ``infrastructure/*.tf`` with python-hcl2 and checks, against what ``bootstrap.apply``
leaves in the emulator: every output name is in outputs.json, every resource name in ``locals``
is the name bootstrap created, every DynamoDB table has the same hash key, attributes and
indexes (with their keys), and the Lambda function has the same variables, runtime, handler,
timeout and memory, its log group the same retention, the MCP container the same port.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from tars_tasks.local import bootstrap
from tars_tasks.settings import Settings

INFRA = Path(__file__).resolve().parents[2] / "infrastructure"
ACCOUNT = "123456789012"


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def clean(node: Any) -> Any:
    """python-hcl2's tree with quotes and block markers removed."""
    if isinstance(node, dict):
        return {unquote(k): clean(v) for k, v in node.items() if k != "__is_block__"}
    if isinstance(node, list):
        return [clean(v) for v in node]
    return unquote(node)


@pytest.fixture(scope="module")
def terraform() -> dict[str, Any]:
    import hcl2

    assert INFRA.is_dir(), "infrastructure/ is missing: the drift check needs the Terraform"
    merged: dict[str, Any] = {"output": {}, "resource": {}, "variable": {}, "locals": {}}
    for path in sorted(INFRA.glob("*.tf")):
        with path.open() as fh:
            tree = clean(hcl2.load(fh))
        for block in tree.get("output", []):
            merged["output"].update(block)
        for block in tree.get("variable", []):
            merged["variable"].update(block)
        for block in tree.get("locals", []):
            merged["locals"].update(block)
        for block in tree.get("resource", []):
            for rtype, named in block.items():
                merged["resource"].setdefault(rtype, {}).update(named)
    return merged


def resolve(expr: str, tf: dict[str, Any], project: str) -> Any:
    """Evaluate the few interpolations names use: var.X (default), local.X, the account id."""
    if not isinstance(expr, str):
        return expr
    whole = re.fullmatch(r"\$\{(var|local)\.(\w+)\}", expr)
    if whole and whole.group(1) == "var":
        return unquote(tf["variable"][whole.group(2)].get("default")) if whole.group(2) != "project" else project

    def one(m: re.Match) -> str:
        kind, name = m.group(1), m.group(2)
        if kind == "var":
            return project if name == "project" else str(unquote(tf["variable"][name]["default"]))
        if name == "account_id":
            return ACCOUNT
        return str(resolve(tf["locals"][name], tf, project))

    return re.sub(r"\$\{(var|local)\.(\w+)\}", one, expr)


@pytest.fixture(scope="module")
def created(tmp_path_factory):
    """Bootstrap once into an in-process emulator; yield (settings, outputs.json)."""
    from moto import mock_aws

    from tests.conftest import _SAFE_ENV

    with pytest.MonkeyPatch.context() as mp, mock_aws():
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        for key, value in _SAFE_ENV.items():
            mp.setenv(key, value)
        root = tmp_path_factory.mktemp("drift")
        s = Settings.load(None, root=root, local=True)
        bootstrap.apply(s, bootstrap.plan(s), start_services=False)
        outputs = json.loads((s.state_dir / "outputs.json").read_text())
        yield s, outputs, _snapshot(s)


def _snapshot(s) -> dict[str, Any]:
    """What the emulator holds, read while it is alive."""
    lam, ddb = boto3.client("lambda"), boto3.client("dynamodb")
    fn = s.function_name if s.function_name else "sre-poc-incident-handler"
    tables = {}
    for name in ddb.list_tables()["TableNames"]:
        tables[name] = ddb.describe_table(TableName=name)["Table"]
    ecs = boto3.client("ecs")
    svc = ecs.describe_services(cluster="sre-poc-cluster", services=["sre-poc-mcp-server"])["services"][0]
    return {
        "function": lam.get_function_configuration(FunctionName=fn),
        "tables": tables,
        "log_groups": {g["logGroupName"]: g for g in boto3.client("logs").describe_log_groups()["logGroups"]},
        "buckets": {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]},
        "repositories": {r["repositoryName"] for r in boto3.client("ecr").describe_repositories()["repositories"]},
        "service": svc,
        "task_definition": ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"],
        "parameters": {p["Name"] for p in boto3.client("ssm").describe_parameters()["Parameters"]},
    }


def test_every_terraform_output_is_in_the_local_outputs(terraform, created):
    _, outputs, _ = created
    missing = sorted(set(terraform["output"]) - set(outputs))
    assert not missing, f"outputs.tf has outputs the local bootstrap does not write: {missing}"
    assert set(terraform["output"]) == set(outputs), "the local bootstrap writes outputs Terraform does not have"


def test_every_table_index_and_key_is_created_alike(terraform, created):
    _, _, snap = created
    tables = terraform["resource"]["aws_dynamodb_table"]
    assert tables, "no aws_dynamodb_table in infrastructure/"
    for label, spec in tables.items():
        name = resolve(spec["name"], terraform, "sre-poc")
        assert name in snap["tables"], f"table {name} ({label}) is not created locally"
        local = snap["tables"][name]
        assert local["KeySchema"][0]["AttributeName"] == spec["hash_key"], name
        assert {a["AttributeName"] for a in local["AttributeDefinitions"]} == {a["name"] for a in spec["attribute"]}, name
        want = {ix["name"]: (ix["hash_key"], ix.get("range_key")) for ix in spec.get("global_secondary_index", [])}
        got = {ix["IndexName"]: (ix["KeySchema"][0]["AttributeName"],
                                 ix["KeySchema"][1]["AttributeName"] if len(ix["KeySchema"]) > 1 else None)
               for ix in local.get("GlobalSecondaryIndexes", [])}
        assert got == want, name


def test_the_function_has_every_terraform_variable_and_setting(terraform, created):
    _, _, snap = created
    fn = terraform["resource"]["aws_lambda_function"]
    assert len(fn) == 1
    spec = next(iter(fn.values()))
    want_vars = set(spec["environment"][0]["variables"])
    config = snap["function"]
    assert set(config["Environment"]["Variables"]) == want_vars
    assert config["Runtime"] == spec["runtime"] and config["Handler"] == spec["handler"]
    assert config["Timeout"] == int(resolve(spec["timeout"], terraform, "sre-poc"))
    assert config["MemorySize"] == int(resolve(spec["memory_size"], terraform, "sre-poc"))
    groups = terraform["resource"]["aws_cloudwatch_log_group"]
    lambda_group = next(g for g in groups.values() if "lambda" in str(g["name"]) or g["name"] == "${local.log_group}")
    name = resolve(lambda_group["name"], terraform, "sre-poc")
    assert snap["log_groups"][name]["retentionInDays"] == int(resolve(lambda_group["retention_in_days"], terraform, "sre-poc"))


def test_resource_names_in_locals_are_the_ones_created(terraform, created):
    _, outputs, snap = created
    loc = {k: resolve(v, terraform, "sre-poc") for k, v in terraform["locals"].items() if isinstance(v, str)}
    assert loc["function_name"] == snap["function"]["FunctionName"]
    for key in ("incidents_table", "kb_documents_table", "kb_chunks_table", "lock_table"):
        assert loc[key] in snap["tables"], key
    for key in ("kb_bucket", "ui_bucket", "artifact_bucket"):
        assert loc[key] in snap["buckets"], key
    assert loc["ecr_repository"] in snap["repositories"]
    assert loc["ecs_cluster"] == outputs["ecs_cluster"]["value"]
    assert loc["ecs_service"] == snap["service"]["serviceName"]
    assert loc["github_token_param"] in snap["parameters"]
    assert loc["log_group"] in snap["log_groups"]


def test_the_mcp_container_port_and_first_image_tag_match(terraform, created):
    _, _, snap = created
    container = snap["task_definition"]["containerDefinitions"][0]
    assert container["portMappings"][0]["containerPort"] == int(unquote(terraform["variable"]["mcp_port"]["default"]))
    assert container["image"].endswith(":" + unquote(terraform["variable"]["mcp_image_tag"]["default"]))
