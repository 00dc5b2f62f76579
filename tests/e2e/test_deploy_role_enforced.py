"""The local deploy runs under the deploy role's assumed credentials while the emulator enforces IAM.

How (issue 15, part 3):
1. `inv deploy-infrastructure --local` creates the local resources (Terraform's part on AWS, not
   the deploy role's) with an admin user's keys.
2. The real terraform applies infrastructure/'s OIDC provider, deploy role and its policy to the
   same emulator; the role is assumed with AssumeRoleWithWebIdentity, as
   aws-actions/configure-aws-credentials does (moto does not verify the web identity token).
3. moto's IAM enforcement is switched on (`POST /moto-api/reset-auth` 0, the server's form of
   INITIAL_NO_AUTH_ACTION_COUNT): from then on every request must be signed by a known key and
   be allowed by its principal's policies.
4. The whole recorded scenario (bench/deploy_role_calls.py: deploy --all x3, verify, status,
   mcp-stop, mcp-start, rollback --to, releases) runs. The task process signs its own calls
   with the role's keys; the local stand-ins (tars_tasks.local: the bootstrap, the function
   runtime, the MCP process, the site server) sign with the admin's, as Terraform, Lambda, ECS
   and CloudFront would act with their own roles on AWS (tests/support/aws_calls/sitecustomize.py).

What moto 5.2.5 checks, measured (moto/core/authorization.py, moto/iam/access_control.py):
- the signature and the key (an unknown key, e.g. the local target's usual "testing", is refused);
- the action, as "<credential-scope service>:<operation>" for every service;
- the resource only for S3 (bucket and key ARNs); every other service is evaluated against
  Resource "*", which a scoped statement never matches. So the role's non-S3 statements are
  widened to "*" here (``widened``): for them moto proves the actions, and the resources are
  proven by tests/e2e/test_deploy_role_actions.py's evaluator over the recorded calls instead;
- not conditions, not KMS (S3's SSE-KMS data-key calls are not evaluated), not iam:PassRole.
- its Lambda signature check is broken (headers taken as the body): fixed in the emulator process
  only (sitecustomize._fix_moto_lambda_signature), the check itself unchanged.
"""
from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.deploy_role_calls import Scenario
from tars_tasks.local import processes
from tests.support.tf_moto import AVAILABLE, SKIP_REASON, TerraformOnMoto

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)]

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = "sre-poc-github-deploy-local"
TARGETS = ("aws_iam_openid_connect_provider.github", "aws_iam_role_policy.github_deploy")
FUNCTION = "sre-poc-incident-handler"


def widened(policy: dict) -> dict:
    """The policy as moto can evaluate it: S3 statements exactly, the others with Resource "*"."""
    out = json.loads(json.dumps(policy))
    for st in out["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if not all(a.startswith("s3:") for a in actions):
            st["Resource"] = "*"
    return out


def keys_of(c: dict) -> dict:
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            **({"aws_session_token": c["SessionToken"]} if c.get("SessionToken") else {})}


class Emulator:
    def __init__(self, url: str):
        self.url = url

    def client(self, service: str, keys: dict):
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **keys)

    def enforce(self) -> None:
        request = urllib.request.Request(self.url + "/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.loads(r.read())["status"] == "ok"


def denied(call) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"] or str(err.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_the_local_deploy_passes_under_the_deploy_role_and_the_rest_is_refused(tmp_path):
    credentials = tmp_path / "credentials.json"
    scenario = Scenario(tmp_path, tmp_path / "calls.jsonl",
                        env={"DEPLOY_CALLS_CREDENTIALS": str(credentials), "DEPLOY_CALLS_FIX_MOTO_LAMBDA": "1"})
    testing = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    try:
        scenario.inv("local.up", record=False)
        emulator = Emulator(processes.read(scenario.project / ".tars" / "local" / "proc", "emulator").url)
        iam = emulator.client("iam", testing)
        iam.create_user(UserName="local-stand-ins")
        iam.put_user_policy(UserName="local-stand-ins", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        admin = {k: v for k, v in iam.create_access_key(UserName="local-stand-ins")["AccessKey"].items()}
        admin_keys = {"access_key": admin["AccessKeyId"], "secret_key": admin["SecretAccessKey"]}
        credentials.write_text(json.dumps({"deployer": admin_keys, "other": admin_keys}))
        credentials.chmod(0o600)
        scenario.inv("deploy-infrastructure", "--local", "--yes", record=False)
        outputs = json.loads((scenario.project / ".tars" / "local" / "outputs.json").read_text())
        distribution = outputs["cloudfront_distribution_id"]["value"]

        tf = TerraformOnMoto(tmp_path / "tf", emulator.url, locals_={
            "deploy_distribution_arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution}"})
        tf.plan(*TARGETS, variables={"github_repository": "acme/tars", "env": "local"})
        tf.apply_saved_plan()
        applied = iam.get_role_policy(RoleName=ROLE, PolicyName="tars-deploy")["PolicyDocument"]
        iam.put_role_policy(RoleName=ROLE, PolicyName="tars-deploy", PolicyDocument=json.dumps(widened(applied)))
        role = boto3.client("sts", endpoint_url=emulator.url, region_name=REGION).assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", RoleSessionName="github-actions",
            WebIdentityToken="header.payload.signature")["Credentials"]
        credentials.write_text(json.dumps({"other": admin_keys, "deployer": {
            "access_key": role["AccessKeyId"], "secret_key": role["SecretAccessKey"], "token": role["SessionToken"]}}))
        emulator.enforce()

        # the local target's usual keys no longer work: enforcement is on
        assert denied(lambda: emulator.client("s3", testing).list_buckets()) == "InvalidAccessKeyId"

        done = scenario.run()   # every command exits 0, or Scenario raises with its output
        assert [code for _, code in done["ran"]] and all(code == 0 for _, code in done["ran"])

        as_admin = {"aws_access_key_id": admin["AccessKeyId"], "aws_secret_access_key": admin["SecretAccessKey"]}
        lam = emulator.client("lambda", as_admin)
        # the scenario ends rolled back to its first release: the alias is that release's version again
        assert lam.get_alias(FunctionName=FUNCTION, Name="production")["FunctionVersion"] == \
            str(done["first_versions"]["lambda"])

        # calls outside the policy are refused, for the role, on the actions and S3 resources moto checks
        as_role = keys_of(role)
        s3 = emulator.client("s3", as_role)
        bucket = outputs["artifact_bucket"]["value"]
        s3.put_object(Bucket=bucket, Key="releases/local/deploys/probe.json", Body=b"{}")  # its own env: allowed
        assert denied(lambda: s3.put_object(Bucket=bucket, Key="releases/prod/deploys/probe.json", Body=b"{}")) \
            == "AccessDenied"   # another env's records
        assert denied(lambda: s3.get_object(Bucket=outputs["kb_bucket"]["value"], Key="any")) == "AccessDenied"
        assert denied(lambda: emulator.client("dynamodb", as_role).delete_table(TableName="sre-poc-deploy-locks"))
        assert denied(lambda: emulator.client("lambda", as_role).update_function_configuration(
            FunctionName=FUNCTION, Timeout=5))
        assert denied(lambda: emulator.client("iam", as_role).create_user(UserName="intruder"))

        # the proof is not vacuous: without one granted action the deploy fails at that call
        policy = widened(applied)
        for st in policy["Statement"]:
            if isinstance(st["Action"], list) and "lambda:UpdateAlias" in st["Action"]:
                st["Action"].remove("lambda:UpdateAlias")
        emulator.client("iam", as_admin).put_role_policy(RoleName=ROLE, PolicyName="tars-deploy",
                                                         PolicyDocument=json.dumps(policy))
        before = lam.get_alias(FunctionName=FUNCTION, Name="production")["FunctionVersion"]
        older = str(int(before) - 1)
        refused = scenario.inv("rollback-lambda", "--to", older, "--local", "--yes", check=False)
        assert refused.returncode == 1, refused.stdout[-2000:] + refused.stderr[-2000:]
        assert "Traceback" not in refused.stderr and "denied" in refused.stderr.lower(), refused.stderr[-2000:]
        assert lam.get_alias(FunctionName=FUNCTION, Name="production")["FunctionVersion"] == before
    finally:
        scenario.down()
