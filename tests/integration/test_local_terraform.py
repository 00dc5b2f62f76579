"""`--local` infrastructure by the real terraform, end to end through `inv`.

From an empty emulator `inv deploy-infrastructure --local --yes` applies the unmodified
infrastructure/ (through the work copy and its override) with the same steps as for AWS, writes
the outputs with the local servers' URLs, and a second run applies nothing and runs no plan.
`inv infra-drift --local` finds a change made through boto3 (exit 2, naming the resource);
`inv deploy-infrastructure --local` puts it back. A commit that replaces a DynamoDB table is
refused by the destroy guard (exit 3, nothing applied); `inv rollback-infrastructure --local`
reverts a commit that changed infrastructure/ and applies the revert. Every claim is checked in
the emulator itself. The cold apply is the session's template (tests/support/tf_applied.py: the
same `inv deploy-infrastructure --local --yes`, from an empty emulator); this module works on a
fork of it, so it pays no apply of its own.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
import sys

import boto3
import pytest

from tests.conftest import ROOT, inv_env
from tests.support.infra import git, make_project
from tests.support.tf_applied import AVAILABLE, PLUGIN_DIR, SKIP_REASON, local_project

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)]

TABLES = {"sre-poc-incidents", "sre-poc-kb-documents", "sre-poc-kb-chunks", "sre-poc-deploy-locks"}


class Local:
    def __init__(self, run_inv, root):
        self.run_inv, self.root = run_inv, root
        self.env = {"TARS_ROOT": str(root), "NO_COLOR": "1"}
        if PLUGIN_DIR:
            self.env["TARS_TERRAFORM_PLUGIN_DIR"] = PLUGIN_DIR

    def inv(self, *args: str, timeout: float = 900):
        return self.run_inv(*args, env=self.env, cwd=self.root, timeout=timeout)

    def report(self, name: str) -> dict:
        return json.loads((self.root / name).read_text())

    @property
    def outputs(self) -> dict:
        return json.loads((self.root / ".tars" / "local" / "outputs.json").read_text())

    @property
    def endpoint(self) -> str:
        record = json.loads((self.root / ".tars" / "local" / "proc" / "emulator.json").read_text())
        return f"http://127.0.0.1:{record['port']}"

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def state(self) -> dict:
        return json.loads((self.root / ".tars" / "local" / "emulator-terraform" / "terraform.tfstate").read_text())

    def commit(self, path: str, old: str, new: str, message: str, count: int = 1) -> str:
        target = self.root / "infrastructure" / path
        text = target.read_text()
        assert text.count(old) == count, f"{path} no longer holds {old!r} {count} time(s)"
        target.write_text(text.replace(old, new))
        git(self.root, "commit", "-qam", message)
        return git(self.root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def local(tmp_path_factory, applied_template):
    """A project with every component, its emulator a fork of the session's template: the
    infrastructure `inv deploy-infrastructure --local` applied from an empty emulator (tf_applied)."""
    def run_inv(*args, env=None, cwd=None, timeout=300):  # conftest's run_inv, module-scoped
        return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], cwd=str(cwd or ROOT),
                              env=inv_env(env), capture_output=True, text=True, timeout=timeout, input="")

    root = make_project(tmp_path_factory.mktemp("local-tf"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "dist", ".tars")
    for name in ("lambda_src", "mcp_server", "ui"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    (root / ".gitignore").write_text(".tars/\n*.json.report\nui/node_modules/\nui/dist/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the components")
    modules = ROOT / "ui" / "node_modules"
    if modules.is_dir():  # as test_pipeline_local: the UI's dependencies hard-linked, not installed again
        subprocess.run(["cp", "-al", str(modules), str(root / "ui" / "node_modules")], check=True)
        from tars_tasks.artifacts import ui_bundle

        ui_bundle.mark_installed(root / "ui")
    project = Local(run_inv, root)
    fork = local_project(applied_template, root)
    try:
        yield project, applied_template
    finally:
        project.inv("local.down", timeout=120)
        fork.child.stop()


def test_deploy_infrastructure_applies_everything_from_an_empty_emulator(local):
    """The session's template: `inv deploy-infrastructure --local --yes` from an empty emulator
    (tests/support/tf_applied.apply_template); its emulator is checked here through a fork, an
    exact copy of it."""
    project, first = local
    report = first.report
    counts = report["plan"]["counts"]
    assert counts["create"] > 80 and counts["update"] == counts["replace"] == counts["delete"] == 0
    assert report["outcome"]["status"] == "deployed"
    # in the emulator, not in Terraform's word
    assert set(project.client("dynamodb").list_tables()["TableNames"]) == TABLES
    url = project.client("lambda").get_function_url_config(FunctionName="sre-poc-incident-handler",
                                                           Qualifier="production")
    assert url["AuthType"] == "AWS_IAM"
    assert project.client("iam").get_role(RoleName="sre-poc-incident-handler")["Role"]["Arn"]
    assert project.client("kms").list_aliases()["Aliases"]
    assert project.client("cloudfront").list_distributions()["DistributionList"]["Quantity"] == 1
    state = json.loads((first.directory / "terraform.tfstate").read_text())
    managed = [i for r in state["resources"] if r["mode"] == "managed" for i in r["instances"]]
    assert len(managed) == counts["create"]
    # outputs: Terraform's values, the servers' URLs the local servers'
    outputs = {k: v["value"] for k, v in first.outputs.items()}
    assert outputs["function_name"] == "sre-poc-incident-handler"
    assert outputs["cloudfront_distribution_id"] == \
        project.client("cloudfront").list_distributions()["DistributionList"]["Items"][0]["Id"]
    for name in ("function_url", "site_url", "api_endpoint", "mcp_endpoint"):
        assert re.match(r"http://127\.0\.0\.1:\d+", outputs[name]), (name, outputs[name])
    # the function's MCP endpoint is the local MCP server's (the override restates the local)
    env = project.client("lambda").get_function_configuration(
        FunctionName="sre-poc-incident-handler")["Environment"]["Variables"]
    assert env["MCP_ENDPOINT"] == outputs["mcp_endpoint"]
    # the real .tf files are untouched: nothing of the override reached infrastructure/
    assert git(first.root, "status", "--porcelain", "--", "infrastructure") == ""
    assert not list((first.root / "infrastructure").rglob("*override*"))


def test_a_second_run_applies_nothing_and_runs_no_plan(local):
    project, _ = local
    serial = project.state()["serial"]
    again = project.inv("deploy-infrastructure", "--local", "--yes", "--json", "second.json.report")
    assert again.returncode == 0, again.stderr[-3000:]
    report = project.report("second.json.report")
    assert report["plan"]["has_changes"] is False
    because = project.root / ".tars" / "local" / "emulator-terraform" / "plan-because.json"
    assert report["plan"]["no_plan_because"], because.read_text() if because.exists() else "?"  # no plan ran
    assert report["outcome"]["status"] == "unchanged"
    assert project.state()["serial"] == serial
    assert "no changes" in again.stdout


def test_drift_made_behind_terraforms_back_is_found_and_put_back(local):
    project, _ = local
    ddb = project.client("dynamodb")
    arn = ddb.describe_table(TableName="sre-poc-incidents")["Table"]["TableArn"]
    tags = ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert any(t["Key"] == "Environment" for t in tags)
    ddb.untag_resource(ResourceArn=arn, TagKeys=["Environment"])
    # (a billing mode changed and put back would do too, but moto 5.2.5 keeps the provisioned
    # throughput after the switch back to on-demand, which fails every later plan: see the report)
    logs = project.client("logs")
    logs.put_retention_policy(logGroupName="/aws/lambda/sre-poc-incident-handler", retentionInDays=1)

    drift = project.inv("infra-drift", "--local", "--json", "drift.json.report")
    assert drift.returncode == 2, drift.stderr[-3000:]
    report = project.report("drift.json.report")
    assert report["drift"] is True
    assert {d["address"] for d in report["plan"]["drift"]} == {"aws_dynamodb_table.incidents",
                                                                "aws_cloudwatch_log_group.lambda"}
    assert "aws_dynamodb_table.incidents" in drift.stdout and "aws_cloudwatch_log_group.lambda" in drift.stdout

    # the no-op check cannot see drift, so the drift found makes the next deploy plan: it puts it back
    fixed = project.inv("deploy-infrastructure", "--local", "--yes")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert {"Key": "Environment", "Value": "local"} in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    group = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/sre-poc-incident-handler")["logGroups"][0]
    assert group["retentionInDays"] == 365
    clean = project.inv("infra-drift", "--local")
    assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr[-2000:]


def test_replacing_a_table_is_refused_by_the_destroy_guard(local):
    project, _ = local
    head = git(project.root, "rev-parse", "HEAD")
    ddb = project.client("dynamodb")
    key_before = ddb.describe_table(TableName="sre-poc-incidents")["Table"]["KeySchema"]
    assert key_before == [{"AttributeName": "incident_id", "KeyType": "HASH"}]
    serial = project.state()["serial"]
    try:
        # the hash key and its attribute: AWS must replace the table
        project.commit("dynamodb.tf", '"incident_id"', '"incident_key"', "incidents keyed by incident_key", count=2)
        refused = project.inv("deploy-infrastructure", "--local", "--yes")
        assert refused.returncode == 3, refused.stderr[-3000:]
        assert "aws_dynamodb_table.incidents" in refused.stderr and "destroy guard" in refused.stderr
        # allowed to destroy, but not data: still refused (the table holds data)
        data = project.inv("deploy-infrastructure", "--local", "--yes", "--allow-destroy")
        assert data.returncode == 3, data.stderr[-3000:]
        assert ddb.describe_table(TableName="sre-poc-incidents")["Table"]["KeySchema"] == key_before
        assert project.state()["serial"] == serial
    finally:
        git(project.root, "reset", "-q", "--hard", head)


def test_rollback_infrastructure_reverts_the_commit_and_applies_it(local):
    project, _ = local
    logs = project.client("logs")

    def retention() -> int:
        groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/sre-poc-incident-handler")["logGroups"]
        return groups[0]["retentionInDays"]

    before = retention()
    changed = project.commit("variables.tf", f"default     = {before}", "default     = 30",
                             "Shorter log retention")
    deployed = project.inv("deploy-infrastructure", "--local", "--yes")
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert retention() == 30

    rolled = project.inv("rollback-infrastructure", "--local", "--yes")
    assert rolled.returncode == 0, rolled.stderr[-3000:]
    assert git(project.root, "log", "-1", "--format=%s") == 'Revert "Shorter log retention"'
    assert git(project.root, "rev-parse", "HEAD~1") == changed
    assert retention() == before


def _http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_deploy_all_deploys_the_components_onto_what_terraform_made(local):
    import hashlib

    project, _ = local
    done = project.inv("deploy", "--all", "--local", "--yes", "--json", "all.json.report")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = project.report("all.json.report")
    assert {c["component"]: c["status"] for c in report["components"]} == {
        "infra": "unchanged", "mcp": "deployed", "lambda": "deployed", "ui": "deployed", "verify": "passed"}
    lam = project.client("lambda")
    alias = lam.get_alias(FunctionName="sre-poc-incident-handler", Name="production")["FunctionVersion"]
    assert alias.isdigit()                                                  # a published version
    env = lam.get_function_configuration(FunctionName="sre-poc-incident-handler",
                                         Qualifier=alias)["Environment"]["Variables"]
    assert env["INCIDENTS_TABLE"] == "sre-poc-incidents"                    # Terraform's configuration

    # the Function URL is AWS_IAM, as in AWS: unsigned is 403; through the site (signed as
    # CloudFront's OAC signs, X-Amz-Cf-Id added) the request reaches the handler, which wants a
    # person's token there (issue 14 phase B): 401 without one, 200 with a signed-in user's
    outputs = {k: v["value"] for k, v in project.outputs.items()}
    body = b'{"action": "kb_list"}'
    headers = {"Content-Type": "application/json", "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    status, reply = _http("POST", outputs["function_url"], body, headers)
    assert status == 403, reply
    status, reply = _http("POST", outputs["api_endpoint"], body, headers)
    assert status == 401, reply
    added = project.inv("users.add", "sre@tars.local", "--role", "viewer", "--local")
    assert added.returncode == 0, added.stdout[-2000:] + added.stderr[-2000:]
    password = (project.root / ".tars" / "local" / "users" / "sre@tars.local.password").read_text().strip()
    signed_in = project.client("cognito-idp").admin_initiate_auth(   # the pool Terraform made
        UserPoolId=outputs["cognito_user_pool_id"], ClientId=outputs["cognito_client_id"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "sre@tars.local", "PASSWORD": password})
    token = signed_in["AuthenticationResult"]["AccessToken"]
    status, reply = _http("POST", outputs["api_endpoint"], body, {**headers, "x-tars-token": token})
    assert status == 200 and "documents" in json.loads(reply), reply
    status, reply = _http("POST", outputs["function_url"], body, {**headers, "x-tars-token": token})
    assert status == 403, reply          # a person's token is no signature: the URL still refuses


def test_replacing_a_table_applies_with_allow_destroy_and_allow_data_loss(local):
    """The guard's other half, on a real plan. The tables have deletion protection, so even with
    both flags the guard refuses (AWS would refuse the delete mid-apply); the SRE's procedure
    (protection off in its own commit, deploy, then the replacement with both flags) applies.
    Last in the module: the fork's incidents table is replaced for good (the fork ends with it)."""
    project, _ = local
    head = git(project.root, "rev-parse", "HEAD")
    ddb = project.client("dynamodb")
    ddb.put_item(TableName="sre-poc-incidents", Item={"incident_id": {"S": "inc-1"}})
    protection = ('hash_key                    = "incident_id"\n  deletion_protection_enabled = true',
                  'hash_key                    = "incident_id"\n  deletion_protection_enabled = false')
    try:
        project.commit("dynamodb.tf", '"incident_id"', '"incident_key"', "incidents keyed by incident_key", count=2)
        refused = project.inv("deploy-infrastructure", "--local", "--yes", "--allow-destroy", "--allow-data-loss")
        assert refused.returncode == 3, refused.stderr[-3000:]
        assert "deletion protection" in refused.stderr and "aws_dynamodb_table.incidents" in refused.stderr
        assert ddb.describe_table(TableName="sre-poc-incidents")["Table"]["DeletionProtectionEnabled"] is True
        git(project.root, "reset", "-q", "--hard", head)

        project.commit("dynamodb.tf", *protection, "incidents: deletion protection off before its replacement")
        off = project.inv("deploy-infrastructure", "--local", "--yes")
        assert off.returncode == 0, off.stderr[-3000:]
        assert ddb.describe_table(TableName="sre-poc-incidents")["Table"]["DeletionProtectionEnabled"] is False
        serial = project.state()["serial"]
        project.commit("dynamodb.tf", '"incident_id"', '"incident_key"', "incidents keyed by incident_key", count=2)
        done = project.inv("deploy-infrastructure", "--local", "--yes", "--allow-destroy", "--allow-data-loss")
        assert done.returncode == 0, done.stderr[-3000:]
        table = ddb.describe_table(TableName="sre-poc-incidents")["Table"]
        assert table["KeySchema"] == [{"AttributeName": "incident_key", "KeyType": "HASH"}]
        assert ddb.scan(TableName="sre-poc-incidents")["Count"] == 0      # a new, empty table
        assert project.state()["serial"] > serial
    finally:
        git(project.root, "reset", "-q", "--hard", head)
