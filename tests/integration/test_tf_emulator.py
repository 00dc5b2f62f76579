"""The real terraform applies the unmodified infrastructure/ to moto's server through the work copy.

From an empty emulator every resource of infrastructure/ is created (counted against the plan
and found in the emulator), a second plan has no changes, the outputs hold everything Settings
reads; drift made through boto3 shows in a plan (the destroy guard on a real plan, through `inv`:
tests/integration/test_local_terraform.py). Each test works on its own fork of the once-applied emulator (tf_applied: the
session's one `inv deploy-infrastructure --local` from an empty emulator).
"""
from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from tars_tasks.local import hcl_layout, tf_fingerprint, tf_override
from tars_tasks.settings import FIELDS, Settings
from tars_tasks.steps import infra_guard
from tars_tasks.tools.terraform import new_plan_file
from tests.support.tf_applied import INFRA, VARIABLES, restore

pytestmark = pytest.mark.slow

# for_each over var.github_deploy_role_policy_arns, empty by default: no instance is expected
EMPTY_BY_DEFAULT = {"aws_iam_role_policy_attachment.github_deploy_extra"}


def _plan(infra, tmp_path, variables=None) -> tuple[bool, dict]:
    tf = infra.terraform(variables)
    plan_file = new_plan_file(tmp_path / "plans")
    changed = tf.plan(plan_file)
    return changed, tf.show_json(plan_file)


def _switched_off() -> set[str]:
    blocks = hcl_layout.read_dir(INFRA)
    return {b.address for r in tf_override.RULES if isinstance(r.action, tf_override.Off) for b in blocks
            if r.matches(b)}


def test_every_resource_is_applied_from_an_empty_emulator(applied_template, applied_infra):
    plan = applied_template.report["plan"]   # inv deploy-infrastructure --local --json, from an empty emulator
    created = {c["address"] for c in plan["changes"] if c["actions"] == ["create"]}
    assert all(c["actions"] == ["create"] for c in plan["changes"]) and plan["blocked"] == []
    state = json.loads(applied_infra.copy.state_path.read_text())
    in_state = {(r["type"] + "." + r["name"] + (f"[{json.dumps(i['index_key'])}]" if "index_key" in i else ""))
                for r in state["resources"] if r["mode"] == "managed" for i in r["instances"]}
    assert in_state == created and len(created) > 80
    # every resource block of infrastructure/ has instances, unless switched off for moto
    blocks = {b.address for b in hcl_layout.read_dir(INFRA) if b.kind == "resource"}
    with_instances = {r["type"] + "." + r["name"] for r in state["resources"] if r["mode"] == "managed"}
    assert blocks - with_instances == _switched_off() - {a for a in _switched_off() if a.startswith("data.")} \
        | EMPTY_BY_DEFAULT
    # ... and the emulator holds them (state asserted there, not in Terraform's word)
    ddb, s3, lam = (applied_infra.client(s) for s in ("dynamodb", "s3", "lambda"))
    assert set(ddb.list_tables()["TableNames"]) == {"sre-poc-incidents", "sre-poc-kb-documents", "sre-poc-kb-chunks",
                                                     "sre-poc-deploy-locks"}
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {
        f"sre-poc-{n}-123456789012" for n in ("ui", "kb-documents", "artifacts", "logs")}
    url = lam.get_function_url_config(FunctionName="sre-poc-incident-handler", Qualifier="production")
    assert url["AuthType"] == "AWS_IAM"
    assert applied_infra.client("cloudfront").list_distributions()["DistributionList"]["Quantity"] == 1
    assert applied_infra.client("ecs").describe_services(cluster="sre-poc-cluster", services=["sre-poc-mcp-server"]
                                                         )["services"][0]["status"] == "ACTIVE"
    # the sign-in pool of cognito.tf: admin-created users only, the UI's client, the two role groups
    idp = applied_infra.client("cognito-idp")
    pool = applied_template.outputs["cognito_user_pool_id"]["value"]
    assert idp.describe_user_pool(UserPoolId=pool)["UserPool"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]
    assert {g["GroupName"] for g in idp.list_groups(UserPoolId=pool)["Groups"]} == {"tars-viewers", "tars-editors"}
    assert idp.describe_user_pool_client(UserPoolId=pool, ClientId=applied_template.outputs["cognito_client_id"]["value"])


def test_outputs_hold_everything_settings_reads(applied_template):
    read = {f.output for f in FIELDS if f.output}
    assert read and read <= set(applied_template.outputs)
    assert all(applied_template.outputs[name]["value"] not in (None, "") for name in read)
    assert applied_template.outputs["function_name"]["value"] == "sre-poc-incident-handler"


def test_a_second_plan_has_no_changes(applied_infra, tmp_path):
    changed, doc = _plan(applied_infra, tmp_path)
    assert changed is False, [rc["address"] for rc in doc["resource_changes"] if rc["change"]["actions"] != ["no-op"]]
    assert not infra_guard.parse_changes(doc)


def test_drift_made_through_boto3_shows_in_a_plan(applied_infra, tmp_path):
    ddb, ecr = applied_infra.client("dynamodb"), applied_infra.client("ecr")
    table_arn = ddb.describe_table(TableName="sre-poc-kb-chunks")["Table"]["TableArn"]
    ddb.update_table(TableName="sre-poc-kb-chunks", BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    repo_arn = ecr.describe_repositories(repositoryNames=["sre-poc-mcp-server"])["repositories"][0]["repositoryArn"]
    ecr.untag_resource(resourceArn=repo_arn, tagKeys=["ManagedBy"])
    assert table_arn

    changed, doc = _plan(applied_infra, tmp_path)
    assert changed
    drift = {rc["address"]: rc for rc in doc["resource_drift"]}
    assert drift["aws_dynamodb_table.kb_chunks"]["change"]["after"]["billing_mode"] == "PROVISIONED"
    assert "ManagedBy" not in drift["aws_ecr_repository.mcp"]["change"]["after"]["tags_all"]
    planned = {c.address: c for c in infra_guard.parse_changes(doc)}
    assert planned["aws_dynamodb_table.kb_chunks"].actions == ("update",)
    assert planned["aws_ecr_repository.mcp"].actions == ("update",)
    # the policies that name those two are re-read during apply (their data sources depend on a
    # pending change): at most updates, nothing replaced or deleted
    assert all(c.actions == ("update",) for c in planned.values())


def test_copies_are_independent_and_restore_exactly(applied_template, applied_infra, tmp_path):
    applied_infra.client("ssm").delete_parameter(Name="/sre-poc/github-token")
    other = restore(applied_template, tmp_path / "other")
    try:
        assert other.client("ssm").get_parameter(Name="/sre-poc/github-token")["Parameter"]["Name"]
        assert other.restore_seconds < 60  # a sanity bound, not a timing assertion: an apply takes longer
        assert tf_fingerprint.emulator_instance(other.endpoint) == applied_template.instance
    finally:
        other.child.stop()
    names = applied_infra.client("ssm").describe_parameters()["Parameters"]
    assert "/sre-poc/github-token" not in {p["Name"] for p in names}


def test_a_reset_emulator_resets_the_state_and_the_fingerprint(applied_infra):
    copy = applied_infra.copy
    instance = tf_fingerprint.emulator_instance(applied_infra.endpoint)
    assert instance == applied_infra.instance
    assert tf_fingerprint.bind_state(copy, instance) is False and copy.state_path.exists()
    before = tf_fingerprint.fingerprint(copy, VARIABLES, instance, "terraform")
    tf_fingerprint.record(copy, before)
    assert tf_fingerprint.unchanged(copy, tf_fingerprint.fingerprint(copy, VARIABLES, instance, "terraform"))

    request = urllib.request.Request(applied_infra.endpoint + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=10).close()
    assert tf_fingerprint.emulator_instance(applied_infra.endpoint) is None
    assert not tf_fingerprint.unchanged(copy, tf_fingerprint.fingerprint(copy, VARIABLES, None, "terraform"))
    fresh = tf_fingerprint.emulator_instance(applied_infra.endpoint, claim=True)
    assert fresh != instance
    assert tf_fingerprint.bind_state(copy, fresh) is True
    assert not copy.state_path.exists() and not (copy.directory / tf_fingerprint.APPLIED).exists()


def test_the_fork_can_stand_in_for_the_local_emulator(applied_infra, tmp_path):
    from tars_tasks.local import processes

    applied_infra.adopt_as_local_emulator(tmp_path / "proc")
    found = processes.running(tmp_path / "proc", "emulator", "/moto-api/")
    assert found is not None and found.url == applied_infra.endpoint


def test_the_override_lives_only_in_the_work_copy(applied_infra):
    assert applied_infra.copy.override_path.is_file()
    assert not list(INFRA.rglob("*override*"))
    assert Path(applied_infra.copy.config_dir).resolve() != INFRA.resolve()


def test_the_template_is_applied_with_what_a_local_project_gives_terraform(tmp_path):
    """VARIABLES (the template's) == what the local target passes for a fresh project copy: else
    every test's first --local task would plan (and apply the difference) instead of reusing it."""
    from tars_tasks.local import tf_target

    shutil.copy(INFRA.parent / "invoke.yaml", tmp_path / "invoke.yaml")
    settings = Settings.load(None, root=tmp_path, environ={}, local=True)
    assert tf_target.variables(settings) == VARIABLES
