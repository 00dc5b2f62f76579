"""infrastructure/deploy_role.tf with the real terraform: the GitHub OIDC provider and this env's
deploy role, read from a real plan JSON, then applied to moto's server (state asserted there).

The trust policy must accept only this repository's GitHub environment of this env
(sub = repo:OWNER/REPO:environment:NAME) and only STS as audience.
"""
from __future__ import annotations

import json
import re

import boto3
import pytest

from tests.support.tf_moto import AVAILABLE, SKIP_REASON, TerraformOnMoto, changes

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)]

ACCOUNT = "123456789012"  # moto's account
PROVIDER = "aws_iam_openid_connect_provider.github[0]"
ROLE = "aws_iam_role.github_deploy[0]"
POLICY = "aws_iam_role_policy.github_deploy[0]"
TARGETS = ("aws_iam_openid_connect_provider.github", "aws_iam_role_policy.github_deploy")
# moto has no CloudFront policy APIs, so the distribution is not created here: its ARN is given
DISTRIBUTION = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EDFDVBD6EXAMPLE"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def expected_trust(sub: str, provider_arn: str = OIDC_ARN) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "GitHubEnvironmentOnly", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": provider_arn},
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                       "token.actions.githubusercontent.com:sub": sub}}}]}


def test_plan_trusts_only_this_repos_environment_and_applies_to_moto(endpoint, tmp_path):
    tf = TerraformOnMoto(tmp_path, endpoint, locals_={"deploy_distribution_arn": DISTRIBUTION})
    variables = {"github_repository": "acme/tars", "env": "staging"}
    plan, done = tf.plan(*TARGETS, variables=variables)
    assert done.returncode == 2
    planned = changes(plan)
    assert planned[PROVIDER]["actions"] == ["create"]
    assert planned[PROVIDER]["after"]["url"] == "https://token.actions.githubusercontent.com"
    assert planned[PROVIDER]["after"]["client_id_list"] == ["sts.amazonaws.com"]
    assert planned[ROLE]["actions"] == ["create"]
    assert planned[ROLE]["after"]["name"] == "sre-poc-github-deploy-staging"
    trust = json.loads(planned[ROLE]["after"]["assume_role_policy"])
    assert trust == expected_trust("repo:acme/tars:environment:staging")

    tf.apply_saved_plan()
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    role = iam.get_role(RoleName="sre-poc-github-deploy-staging")["Role"]
    assert role["AssumeRolePolicyDocument"] == trust and role["MaxSessionDuration"] == 3600
    [provider] = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert provider["Arn"] == OIDC_ARN
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)["ClientIDList"] == ["sts.amazonaws.com"]
    policy = iam.get_role_policy(RoleName="sre-poc-github-deploy-staging", PolicyName="tars-deploy")["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    listed = lambda v: v if isinstance(v, list) else [v]  # noqa: E731 - IAM gives a string for one item
    read_verbs = re.compile(r"^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*\*?$")
    for sid, st in statements.items():
        assert st["Effect"] == "Allow"
        wild = [a for a in listed(st["Action"]) if "*" in a]
        # wildcards only on read verbs (the plan's refresh), never a whole service or a write
        assert all(read_verbs.match(a) for a in wild) and (not wild or sid.startswith("TerraformPlan")), sid
        if sid not in ("Unscoped", "TerraformPlanUnscoped"):
            assert "*" not in listed(st["Resource"]), sid
    # "*" only for calls without resource-level permissions (the derivation: test_deploy_role_actions.py)
    assert set(listed(statements["Unscoped"]["Action"])) == {
        "ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions"}
    assert set(listed(statements["TerraformPlanUnscoped"]["Action"])) == {
        "logs:DescribeLogGroups", "ec2:Describe*", "kms:ListAliases"}
    assert listed(statements["ReleaseRecords"]["Resource"]) == [
        f"arn:aws:s3:::sre-poc-artifacts-{ACCOUNT}/releases/staging/*",
        f"arn:aws:s3:::sre-poc-artifacts-{ACCOUNT}/lambda/sre-poc-incident-handler/*"]
    writes = {a for st in statements.values() for a in listed(st["Action"])
              if not read_verbs.match(a) and not a.startswith(("s3:GetObject", "lambda:InvokeFunction"))}
    # no way to change IAM, keys or the network: the role can only pass the MCP task roles and use the data key
    assert {a for a in writes if a.startswith(("iam:", "kms:", "ec2:"))} == {
        "iam:PassRole", "kms:Decrypt", "kms:GenerateDataKey"}
    assert listed(statements["Invalidate"]["Resource"]) == [DISTRIBUTION]
    assert listed(statements["TerraformState"]["Resource"]) == [
        "arn:aws:s3:::sre-poc-terraform-state/tars/staging/terraform.tfstate"]
    assert f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sre-poc-incident-handler" in listed(
        statements["LambdaDeploy"]["Resource"])
    assert iam.list_users()["Users"] == []  # no IAM user, so no access key, was created

    _, again = tf.plan(*TARGETS, variables=variables)
    assert again.returncode == 0, again.stdout[-2000:]  # moto echoes back what was applied


def test_second_env_of_the_account_reuses_the_provider(endpoint, tmp_path):
    """Only one provider per URL per account: another env passes the first one's ARN."""
    tf = TerraformOnMoto(tmp_path, endpoint)
    plan, _ = tf.plan("aws_iam_openid_connect_provider.github", "aws_iam_role.github_deploy", variables={
        "github_repository": "acme/tars", "env": "prod", "github_environment": "production",
        "github_oidc_provider_arn": OIDC_ARN})
    planned = changes(plan)
    assert PROVIDER not in planned
    assert planned[ROLE]["after"]["name"] == "sre-poc-github-deploy-prod"
    assert json.loads(planned[ROLE]["after"]["assume_role_policy"]) == expected_trust(
        "repo:acme/tars:environment:production")


def test_without_a_repository_the_plan_says_what_to_set_and_the_switch_turns_it_off(endpoint, tmp_path):
    tf = TerraformOnMoto(tmp_path, endpoint)
    targets = ("aws_iam_openid_connect_provider.github", "aws_iam_role.github_deploy")
    plan, failed = tf.plan(*targets, ok=(1,))
    assert plan is None
    assert "github_repository must be OWNER/REPO" in failed.stderr and "GITHUB_REPOSITORY" in failed.stderr
    plan, done = tf.plan(*targets, variables={"github_deploy_role": "false"})
    assert done.returncode == 0 and not [a for a in changes(plan) if "github" in a]
