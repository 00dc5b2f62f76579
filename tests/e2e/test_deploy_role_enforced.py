"""The local deploy runs under the deploy role's assumed credentials while the emulator enforces IAM.

How (issue 15, part 3):
1. The local infrastructure is the real terraform's apply of infrastructure/, OIDC provider, deploy
   role (env local) and its policy included: the project's emulator is a fork of the session's
   once-applied emulator (tests/support/tf_applied.py), with this run's moto adaptation (below);
   `inv deploy-infrastructure --local` finds it applied and starts the local servers.
2. The role is assumed with AssumeRoleWithWebIdentity, as aws-actions/configure-aws-credentials
   does (moto does not verify the web identity token).
3. moto's IAM enforcement is switched on (`POST /moto-api/reset-auth` 0, the server's form of
   INITIAL_NO_AUTH_ACTION_COUNT): from then on every request must be signed by a known key and
   be allowed by its principal's policies.
4. The whole recorded scenario (bench/deploy_role_calls.py: deploy --all x3, verify, status,
   mcp-stop, mcp-start, rollback --to, releases) runs. The task process signs its own calls
   with the role's keys (tests/support/aws_calls/sitecustomize.py, a before-sign hook); the
   local stand-ins (the work copy's instance marker for Terraform's state, the function runtime for Lambda, the MCP process
   for ECS, the site server for CloudFront) keep the local target's dummy key, which the
   emulator treats as a principal allowed everything, as those act with their own roles on AWS.

What moto 5.2.5 checks, measured (moto/core/authorization.py, moto/iam/access_control.py, and
this test's probes):
- the signature and the key: an unknown key is refused (InvalidClientTokenId / InvalidAccessKeyId);
- the action, as "<credential-scope service>:<operation>", for every service;
- the resource only for S3 (bucket and key ARNs; another env's release records are refused);
  every other service is evaluated against Resource "*", which a scoped statement never matches.
  So the role's non-S3 statements are widened to "*" here (``for_moto``): for them moto proves
  the actions, and tests/e2e/test_deploy_role_actions.py proves the resources (its evaluator over
  the recorded calls);
- S3 HeadBucket under the name s3:HeadBucket (AWS evaluates s3:ListBucket): added next to
  s3:ListBucket in ``for_moto``;
- not conditions, not KMS (S3's SSE-KMS data-key use is not evaluated), not iam:PassRole, not
  presigned URLs (moto answers 500 without an Authorization header; verify's KB upload URL is
  signed by the function, not the deploy role: it passes unchecked, see sitecustomize.py).
- Its Lambda and CloudFront signature check is broken (headers taken as the body): fixed in the
  emulator process only (sitecustomize._adapt_moto_for_the_enforced_run), the check unchanged.
"""
from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.deploy_role_calls import Scenario
from tars_tasks.local import processes
from bench.scenarios import aws_actions as A
from tests.conftest import ROOT
from tests.support.tf_applied import AVAILABLE, SKIP_REASON

# the emulator's adaptation for this run, called in the fork before it serves (moto_template's hook)
ADAPT = f"{ROOT / 'tests' / 'support' / 'aws_calls' / 'sitecustomize.py'}:_adapt_moto_for_the_enforced_run"

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)]

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = "sre-poc-github-deploy-local"
FUNCTION = "sre-poc-incident-handler"


def for_moto(policy: dict) -> dict:
    """The policy as moto 5.2.5 can evaluate it (see the module docstring): S3 statements exactly
    (plus moto's name for HeadBucket), the others with Resource "*"."""
    out = json.loads(json.dumps(policy))
    for st in out["Statement"]:
        actions = st["Action"] = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if not all(a.startswith("s3:") for a in actions):
            st["Resource"] = "*"
        if "s3:ListBucket" in actions:
            actions.append("s3:HeadBucket")
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


def test_the_local_deploy_passes_under_the_deploy_role_and_the_rest_is_refused(tmp_path, local_emulator):
    credentials = tmp_path / "credentials.json"
    log = tmp_path / "calls.jsonl"
    scenario = Scenario(tmp_path, log, env={"DEPLOY_CALLS_CREDENTIALS": str(credentials), "DEPLOY_CALLS_EMULATOR": "1"})
    stand_ins = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    try:
        credentials.write_text(json.dumps({"deployer": {"access_key": "unset", "secret_key": "unset"}}))
        local_emulator(scenario.project, hook=ADAPT)
        scenario.inv("deploy-infrastructure", "--local", "--yes", record=False)
        emulator = Emulator(processes.read(scenario.project / ".tars" / "local" / "proc", "emulator").url)
        outputs = json.loads((scenario.project / ".tars" / "local" / "outputs.json").read_text())
        iam = emulator.client("iam", stand_ins)
        applied = iam.get_role_policy(RoleName=ROLE, PolicyName="tars-deploy")["PolicyDocument"]
        iam.put_role_policy(RoleName=ROLE, PolicyName="tars-deploy", PolicyDocument=json.dumps(for_moto(applied)))
        role = emulator.client("sts", stand_ins).assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", RoleSessionName="github-actions",
            WebIdentityToken="header.payload.signature")["Credentials"]
        credentials.write_text(json.dumps({"deployer": {
            "access_key": role["AccessKeyId"], "secret_key": role["SecretAccessKey"], "token": role["SessionToken"]}}))
        credentials.chmod(0o600)
        emulator.enforce()

        # enforcement is on: a key moto does not know is refused
        stranger = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x"}
        assert denied(lambda: emulator.client("s3", stranger).list_buckets()) == "InvalidAccessKeyId"

        done = scenario.run()   # every command exits 0, or Scenario raises with its output
        assert len(done["ran"]) > 8 and all(code == 0 for _, code in done["ran"])
        # every call the deployer made to the emulator was signed with the role's keys (verify's
        # Function URL requests go to the local function URL server, which checks SigV4 itself)
        deployer = [(r["pid"], r["operation"]) for r in A.load_rows(log)
                    if A.origin(r, A.LOCAL_STAND_INS) == "deployer" and r["operation"] != "InvokeFunctionUrl"]
        signed = {(r["pid"], r["operation"]) for r in A.load_signatures(log)}
        assert len(deployer) > 100 and set(deployer) <= signed, set(deployer) - signed

        lam = emulator.client("lambda", stand_ins)
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

        # the proof is not vacuous: without one granted action the task fails at that call
        policy = for_moto(applied)
        for st in policy["Statement"]:
            if "lambda:UpdateAlias" in st["Action"]:
                st["Action"].remove("lambda:UpdateAlias")
        iam.put_role_policy(RoleName=ROLE, PolicyName="tars-deploy", PolicyDocument=json.dumps(policy))
        before = lam.get_alias(FunctionName=FUNCTION, Name="production")["FunctionVersion"]
        other = str(int(before) + 1)
        refused = scenario.inv("rollback-lambda", "--to", other, "--local", "--yes", check=False)
        assert refused.returncode == 1, refused.stdout[-2000:] + refused.stderr[-2000:]
        assert "Traceback" not in refused.stderr and "denied" in refused.stderr.lower(), refused.stderr[-2000:]
        assert lam.get_alias(FunctionName=FUNCTION, Name="production")["FunctionVersion"] == before
    finally:
        scenario.down()
