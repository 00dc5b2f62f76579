"""The local bootstrap creates in the emulator what infrastructure/ defines, once."""
from __future__ import annotations

import json

import boto3
import pytest

from tars_tasks.local import bootstrap, code
from tars_tasks.settings import Settings, resource_names
from tars_tasks.tables import TABLES

ACCOUNT = "123456789012"


@pytest.fixture
def settings(aws, tmp_path):
    s = Settings.load(None, root=tmp_path, local=True)
    return s


def applied(settings):
    p = bootstrap.plan(settings)
    return p, bootstrap.apply(settings, p, start_services=False)


def test_first_plan_lists_every_resource_and_changes_nothing(settings):
    p = bootstrap.plan(settings)
    assert p.has_changes
    kinds = {c.kind for c in p.changes}
    assert kinds == {"iam role", "log group", "dynamodb table", "s3 bucket", "ssm parameter", "lambda function",
                     "lambda alias", "function url", "ecr repository", "ecs cluster", "ecs task definition",
                     "ecs service", "cloudfront distribution", "cognito user pool"}
    assert all(c.action == "create" for c in p.changes)
    assert any("outputs.json" in line for line in p.summary())
    assert json.loads(json.dumps(p.as_dict()))["has_changes"] is True
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert not (settings.state_dir / "outputs.json").exists()


def test_apply_creates_every_resource(settings):
    _, outcome = applied(settings)
    assert outcome.status == "deployed"
    n = resource_names("sre-poc", ACCOUNT)
    ddb = boto3.client("dynamodb")
    for table in TABLES:
        desc = ddb.describe_table(TableName=n[table.key])["Table"]
        assert desc["KeySchema"] == [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
        got = {ix["IndexName"]: [k["AttributeName"] for k in ix["KeySchema"]]
               for ix in desc.get("GlobalSecondaryIndexes", [])}
        assert got == {ix.name: [ix.hash_key] + ([ix.range_key] if ix.range_key else []) for ix in table.indexes}
    s3 = boto3.client("s3")
    for bucket in (n["ui_bucket"], n["kb_bucket"], n["artifact_bucket"]):
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    lam = boto3.client("lambda")
    config = lam.get_function_configuration(FunctionName=n["function_name"])
    assert (config["Runtime"], config["Handler"]) == ("python3.11", "handler.lambda_handler")
    env = config["Environment"]["Variables"]
    assert env["KB_S3_BUCKET"] == n["kb_bucket"]
    assert env["INCIDENTS_TABLE"] == n["incidents_table"]
    assert env["GITHUB_TOKEN_SSM_PARAM"] == n["github_token_ssm_param"]
    assert env["MCP_ENDPOINT"].startswith("http://127.0.0.1:")
    assert set(env) == {"BEDROCK_MODEL_ID", "INCIDENTS_TABLE", "KB_DOCUMENTS_TABLE", "KB_CHUNKS_TABLE",
                        "KB_S3_BUCKET", "MCP_ENDPOINT", "GITHUB_TOKEN_SSM_PARAM", "COGNITO_USER_POOL_ID",
                        "COGNITO_CLIENT_ID", "LOG_GROUP_PREFIX", "ALLOWED_ORIGINS"}
    # the user pool as infrastructure/cognito.tf makes it, named in the handler's environment and outputs
    idp = boto3.client("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=env["COGNITO_USER_POOL_ID"])["UserPool"]
    assert pool["Name"] == "sre-poc-sre" and pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 14
    client = idp.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=env["COGNITO_CLIENT_ID"])["UserPoolClient"]
    assert client["ClientName"] == "sre-poc-ui" and "ClientSecret" not in client
    assert {g["GroupName"] for g in idp.list_groups(UserPoolId=pool["Id"])["Groups"]} == {"tars-viewers", "tars-editors"}
    outputs = {k: v["value"] for k, v in json.loads((settings.state_dir / "outputs.json").read_text()).items()}
    assert (outputs["cognito_user_pool_id"], outputs["cognito_client_id"]) == (pool["Id"], client["ClientId"])
    alias = lam.get_alias(FunctionName=n["function_name"], Name="production")
    version = lam.get_function_configuration(FunctionName=n["function_name"], Qualifier=alias["FunctionVersion"])
    assert version["CodeSha256"] == code.sha256_b64(code.placeholder_zip())
    assert (code.store_dir(settings) / (code._hex(version["CodeSha256"]) + ".zip")).is_file()
    url = lam.get_function_url_config(FunctionName=n["function_name"], Qualifier="production")
    assert url["AuthType"] == "AWS_IAM"   # as lambda.tf: the local Function URL checks SigV4
    groups = {g["logGroupName"]: g for g in boto3.client("logs").describe_log_groups()["logGroups"]}
    assert groups[n["log_group"]]["retentionInDays"] == 365
    assert boto3.client("ssm").get_parameter(Name=n["github_token_ssm_param"])["Parameter"]["Type"] == "SecureString"
    repo = boto3.client("ecr").describe_repositories(repositoryNames=[n["ecr_repository"]])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    ecs = boto3.client("ecs")
    svc = ecs.describe_services(cluster=n["ecs_cluster"], services=[n["ecs_service"]])["services"][0]
    assert svc["status"] == "ACTIVE" and svc["desiredCount"] == 1
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == repo["repositoryUri"] + ":initial"
    dists = boto3.client("cloudfront").list_distributions()["DistributionList"]["Items"]
    assert len(dists) == 1
    assert dists[0]["Origins"]["Items"][0]["DomainName"].startswith(n["ui_bucket"])


def test_outputs_json_is_terraform_output_format_with_every_name_settings_reads(settings):
    from tars_tasks.settings import FIELDS

    applied(settings)
    path = settings.state_dir / "outputs.json"
    assert path == settings.root / ".tars" / "local" / "outputs.json"
    data = json.loads(path.read_text())
    wanted = {f.output for f in FIELDS if f.output}
    assert wanted <= set(data)
    for name, entry in data.items():
        assert set(entry) == {"sensitive", "type", "value"} and entry["value"], name
    dist_id = boto3.client("cloudfront").list_distributions()["DistributionList"]["Items"][0]["Id"]
    assert data["cloudfront_distribution_id"]["value"] == dist_id
    assert data["api_endpoint"]["value"] == data["site_url"]["value"] + "/api"
    reloaded = Settings.load(None, root=settings.root, local=True)
    assert reloaded.distribution_id == dist_id
    assert reloaded.source("ui_bucket").startswith("terraform output")
    assert reloaded.check() == []


def test_second_apply_is_no_changes(settings, monkeypatch):
    applied(settings)
    settings = Settings.load(None, root=settings.root, local=True)  # now reading outputs.json
    before = (settings.state_dir / "outputs.json").read_text()
    calls = []
    settings.clients.observe(lambda service, client: client.meta.events.register(
        "before-call", lambda model, **kw: calls.append(model.name)))
    p = bootstrap.plan(settings)
    assert not p.has_changes, p.summary()
    assert p.summary() == ["no changes: every local resource exists"]
    outcome = bootstrap.apply(settings, p, start_services=False)
    assert outcome.status == "unchanged"
    assert (settings.state_dir / "outputs.json").read_text() == before
    mutating = [c for c in calls if c.startswith(("Create", "Put", "Update", "Publish", "Register", "Delete"))]
    assert mutating == []


def test_missing_pieces_are_recreated(settings):
    applied(settings)
    n = resource_names("sre-poc", ACCOUNT)
    boto3.client("dynamodb").delete_table(TableName=n["kb_chunks_table"])
    boto3.client("s3").put_bucket_versioning(Bucket=n["ui_bucket"], VersioningConfiguration={"Status": "Suspended"})
    p = bootstrap.plan(settings)
    assert [c.line() for c in p.changes] == [f"create dynamodb table {n['kb_chunks_table']}",
                                            f"update s3 bucket {n['ui_bucket']} (versioning on)"]
    bootstrap.apply(settings, p, start_services=False)
    assert boto3.client("s3").get_bucket_versioning(Bucket=n["ui_bucket"])["Status"] == "Enabled"
    assert not bootstrap.plan(settings).has_changes


def test_environment_drift_is_updated_and_reaches_the_alias(settings):
    applied(settings)
    n = resource_names("sre-poc", ACCOUNT)
    lam = boto3.client("lambda")
    lam.update_function_configuration(FunctionName=n["function_name"], Environment={"Variables": {"X": "1"}})
    p = bootstrap.plan(settings)
    assert [c.line() for c in p.changes] == [f"update lambda function {n['function_name']} (environment)"]
    bootstrap.apply(settings, p, start_services=False)
    live = lam.get_alias(FunctionName=n["function_name"], Name="production")["FunctionVersion"]
    env = lam.get_function_configuration(FunctionName=n["function_name"], Qualifier=live)["Environment"]["Variables"]
    assert "X" not in env and env["KB_S3_BUCKET"] == n["kb_bucket"]


def test_a_deployment_from_before_sign_in_gets_the_pool_its_environment_and_an_iam_url(settings):
    """Made before issue 14 (no pool, AuthType NONE): one apply adds the pool, names it in the
    handler's environment (the alias serves it) and makes the Function URL AWS_IAM."""
    applied(settings)
    n = resource_names("sre-poc", ACCOUNT)
    lam, idp = boto3.client("lambda"), boto3.client("cognito-idp")
    for pool in idp.list_user_pools(MaxResults=10)["UserPools"]:
        idp.delete_user_pool(UserPoolId=pool["Id"])
    env = lam.get_function_configuration(FunctionName=n["function_name"])["Environment"]["Variables"]
    old_env = {k: v for k, v in env.items() if not k.startswith("COGNITO_")}
    lam.update_function_configuration(FunctionName=n["function_name"], Environment={"Variables": old_env})
    lam.update_function_url_config(FunctionName=n["function_name"], Qualifier="production", AuthType="NONE")

    p = bootstrap.plan(settings)
    assert {(c.kind, c.action) for c in p.changes} >= {("cognito user pool", "create"), ("lambda function", "update"),
                                                         ("function url", "update")}
    bootstrap.apply(settings, p, start_services=False)
    pool_id = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    alias = lam.get_alias(FunctionName=n["function_name"], Name="production")["FunctionVersion"]
    live = lam.get_function_configuration(FunctionName=n["function_name"], Qualifier=alias)["Environment"]["Variables"]
    assert live["COGNITO_USER_POOL_ID"] == pool_id
    assert lam.get_function_url_config(FunctionName=n["function_name"], Qualifier="production")["AuthType"] == "AWS_IAM"
    assert not bootstrap.plan(settings).changes
