"""The deploy role grants exactly what the tasks call (issue 15, part 3: least privilege, derived).

The local scenario of bench/deploy_role_calls.py runs for real (deploy --all three times with every
component changed once, verify, status, mcp-stop, mcp-start, rollback --to, releases), every AWS
call of the task processes recorded by a botocore event hook installed from outside tars_tasks
(tests/support/aws_calls/sitecustomize.py). The policy is the real Terraform's: infrastructure/
applied to moto's server with terraform (the session's once-applied emulator, of which the
scenario runs on a fork), the role's inline policy read back from IAM.

Fails when
- a task calls an action the policy does not grant, or on a resource no statement covers;
- a task calls an action missing from docs/deploy-role-actions.json (regenerate it with
  bench/deploy_role_actions.py, then fix the policy);
- the policy grants an action that no recorded call needs and that is not one of the declared
  external programs' (terraform's state and plan, the image push).
The AWS-target paths the local target does not take (smoke Invoke, prune, ECR login, rollout
watch) are recorded by bench/deploy_role_actions.py from the unit and integration tests; their
actions are in the checked-in file, which this test holds the policy to.
"""
from __future__ import annotations

import json

import pytest

from bench.deploy_role_calls import Scenario
from tests.conftest import ROOT
from bench.scenarios import aws_actions as A
from tests.support.tf_applied import AVAILABLE, SKIP_REASON, local_project

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)]

DERIVED = ROOT / "docs" / "deploy-role-actions.json"
ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = "sre-poc-github-deploy-local"
# statements whose actions are not recorded calls: terraform's refresh (docs/security.md)
TERRAFORM_PLAN = ("TerraformPlanRead", "TerraformPlanUnscoped")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, applied_template):
    """The scenario's calls, and the role's policy and the data key as the real terraform applied
    them with the rest of infrastructure/ (env local: the scenario's names), read from its emulator."""
    work = tmp_path_factory.mktemp("deploy-role")
    log = work / "calls.jsonl"
    scenario = Scenario(work, log)
    fork = local_project(applied_template, scenario.project)   # the once-applied infrastructure/
    try:
        scenario.run()
        policy = fork.client("iam").get_role_policy(RoleName=ROLE, PolicyName="tars-deploy")["PolicyDocument"]
        key = fork.client("kms").describe_key(KeyId="alias/sre-poc-data")["KeyMetadata"]["Arn"]   # kms.tf's data key
    finally:
        scenario.down()
        fork.child.stop()
    return A.load_rows(log), policy, key


def deployer_calls(rows: list[dict], data_key: str) -> list[tuple[str, str, dict]]:
    """(action, resource, the row) of every call the deploy role makes in the recording."""
    out = []
    for row in rows:
        if A.origin(row, A.LOCAL_STAND_INS) != "deployer":
            continue
        for action, resources in A.iam_calls(row, REGION, ACCOUNT):
            placeholders = {A.DATA_KEY: data_key,
                            A.FUNCTION_URL: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sre-poc-incident-handler:production"}
            out.extend((action, placeholders.get(r, r), row) for r in resources)
    return out


def test_the_policy_grants_exactly_what_the_tasks_call(recorded):
    rows, policy, data_key = recorded
    derived = json.loads(DERIVED.read_text())
    calls = deployer_calls(rows, data_key)
    called = {a for a, _, _ in calls}
    # the recording covers what the brief names: every component deployed, rolled back, verified
    assert {"lambda:UpdateFunctionCode", "lambda:UpdateAlias", "s3:PutObject", "s3:GetObjectVersion",
            "cloudfront:CreateInvalidation", "ecs:UpdateService", "logs:FilterLogEvents",
            "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= called, called

    # 1. every call is granted, on its own resource
    refused = sorted({(a, r, row["caller"]) for a, r, row in calls if not A.allowed(policy, a, r)})
    assert not refused, f"calls the deploy role's policy does not allow (infrastructure/deploy_role.tf): {refused}"

    # 2. nothing is called that the derived file does not list
    new = called - set(derived["actions"])
    assert not new, f"tasks call {sorted(new)}: run bench/deploy_role_actions.py and grant them in deploy_role.tf"

    # 3. the policy grants nothing beyond the derived actions, the external programs' and terraform plan's
    statements = {s["Sid"]: s for s in policy["Statement"]}
    needed = set(derived["actions"]) | set(derived["external"])
    for sid, st in statements.items():
        if sid in TERRAFORM_PLAN:
            continue
        for action in A._listed(st["Action"]):
            assert "*" not in action, (sid, action)
            assert action in needed, f"{sid} grants {action}, which no task calls (docs/deploy-role-actions.json)"
    granted = {a for sid, st in statements.items() for a in A._listed(st["Action"])}
    assert not [a for a in needed if not any(A.grants(g, a) for g in granted)]

    # 4. "*" only where AWS has no resource-level permission (and terraform plan's documented reads)
    star = {a for sid, st in statements.items() if "*" in A._listed(st["Resource"]) for a in A._listed(st["Action"])}
    star_calls = {a for a, r, _ in calls if r == "*"}
    assert star - set(A._listed(statements["TerraformPlanUnscoped"]["Action"])) == \
        {"ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"}
    assert star_calls <= star

    # 5. the release records: only this env's prefix of the artifact bucket
    bucket = f"sre-poc-artifacts-{ACCOUNT}"
    assert A.allowed(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/releases/local/deploys/x.json")
    assert not A.allowed(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/releases/prod/deploys/x.json")
    assert not A.allowed(policy, "s3:DeleteObject", f"arn:aws:s3:::{bucket}/releases/local/deploys/x.json")
    assert not A.allowed(policy, "lambda:DeleteFunction",
                         f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sre-poc-incident-handler")


def test_the_evaluator_refuses_what_the_policy_leaves_out():
    """The check above is only as good as ``allowed``: a wrong resource or action is refused."""
    policy = {"Statement": [{"Sid": "S", "Effect": "Allow", "Action": ["s3:GetObject"],
                             "Resource": ["arn:aws:s3:::b/releases/dev/*"]}]}
    assert A.allowed(policy, "s3:GetObject", "arn:aws:s3:::b/releases/dev/deploys/1.json") == ["S"]
    assert A.allowed(policy, "s3:getobject", "arn:aws:s3:::b/releases/dev/x") == ["S"]  # actions: any case
    assert not A.allowed(policy, "s3:GetObject", "arn:aws:s3:::b/releases/prod/x")
    assert not A.allowed(policy, "s3:PutObject", "arn:aws:s3:::b/releases/dev/x")
    assert not A.allowed(policy, "s3:GetObject", "arn:aws:s3:::B/releases/dev/x")  # ARNs: case matters


def test_iam_action_mapping():
    row = {"service": "s3", "signing_name": "s3", "operation": "ListObjectsV2", "params": {"Bucket": "b"}, "argv": ""}
    assert A.iam_calls(row) == [("s3:ListBucket", ["arn:aws:s3:::b"])]
    row = {"service": "s3", "signing_name": "s3", "operation": "GetObject", "argv": "",
           "params": {"Bucket": "b", "Key": "k", "VersionId": "v1"}}
    assert A.iam_calls(row) == [("s3:GetObjectVersion", ["arn:aws:s3:::b/k"]), ("kms:Decrypt", [A.DATA_KEY])]
    row = {"service": "lambda", "signing_name": "lambda", "operation": "Invoke", "argv": "",
           "params": {"FunctionName": "f", "Qualifier": "3"}}
    assert A.iam_calls(row) == [("lambda:InvokeFunction", [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f:3"])]
    row = {"service": "sts", "signing_name": "sts", "operation": "GetCallerIdentity", "argv": "", "params": {}}
    assert A.iam_calls(row) == []
    row = {"service": "ecs", "signing_name": "ecs", "operation": "RegisterTaskDefinition", "argv": "",
           "params": {"family": "f", "taskRoleArn": "arn:aws:iam::1:role/t"}}
    assert A.iam_calls(row) == [("ecs:RegisterTaskDefinition", ["*"]), ("iam:PassRole", ["arn:aws:iam::1:role/t"])]
    row = {"service": "dynamodb", "signing_name": "dynamodb", "operation": "Query", "argv": "",
           "params": {"TableName": "t", "IndexName": "I"}}
    assert A.iam_calls(row) == [("dynamodb:Query", [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/index/I"])]
