"""`inv deploy-infrastructure` as a user runs it, with the fake terraform and moto for the lock.

Every test asserts exactly which terraform commands ran: a refused plan never reaches apply.
"""
from __future__ import annotations

import json
import shutil

import boto3
import pytest

from tests.support.infra import call, commands, fake_env, make_project

PLANNED = ["init", "validate", "plan", "show"]
APPLIED = PLANNED + ["apply", "output", "state"]


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def deploy(run_inv, project, endpoint):
    def run(plan, *flags, **extra):
        env = fake_env(project, plan, AWS_ENDPOINT_URL=endpoint, **extra)
        return run_inv("deploy-infrastructure", *flags, env=env)
    return run


def test_creates_are_applied_and_outputs_saved(deploy, project):
    result = deploy("creates", "--yes", "--json", str(project / "report.json"))
    assert result.returncode == 0, result.stderr
    assert commands(project) == APPLIED
    out = next(a for a in call(project, "plan")["argv"] if a.startswith("-out="))[5:]
    assert call(project, "apply")["argv"][-1] == out
    assert "aws_dynamodb_table.incidents" in result.stdout and "create" in result.stdout
    assert "lock table sre-poc-deploy-locks does not exist yet" in result.stderr
    outputs = json.loads((project / ".tars" / "dev" / "outputs.json").read_text())
    assert outputs["function_name"]["value"] == "sre-poc-incident-handler"
    report = json.loads((project / "report.json").read_text())
    assert report["outcome"]["status"] == "deployed"
    assert report["plan"]["counts"]["create"] == 3
    assert not list((project / ".tars" / "dev").glob("plan-*"))  # plan file removed


@pytest.mark.parametrize("plan,address", [
    ("delete", "aws_dynamodb_table.kb_chunks"),
    ("replace_delete_first", "aws_dynamodb_table.incidents"),
    ("replace_create_first", "aws_cloudfront_response_headers_policy.security"),
    ("forget", "aws_ssm_parameter.github_token"),
    ("unknown_format", "(whole plan)"),
])
def test_destroy_guard_refuses_with_exit_3(deploy, project, plan, address):
    result = deploy(plan, "--yes", "--json", str(project / "report.json"))
    assert result.returncode == 3, result.stderr
    report = json.loads((project / "report.json").read_text())
    assert report["error"]["kind"] == "refused" and report["outcome"]["status"] == "failed"  # nothing applied
    assert address in [b["address"] for b in report["plan"]["blocked"]]
    assert commands(project) == PLANNED  # never apply
    assert "destroy guard" in result.stderr and address in result.stderr
    assert "--allow-destroy" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((project / ".tars" / "dev").glob("plan-*"))
    assert not (project / ".tars" / "dev" / "outputs.json").exists()


def test_stateful_delete_needs_allow_data_loss_too(deploy, project):
    result = deploy("delete", "--yes", "--allow-destroy")
    assert result.returncode == 3
    assert "holding data" in result.stderr and "aws_dynamodb_table.kb_chunks" in result.stderr
    assert "apply" not in commands(project)
    result = deploy("delete", "--yes", "--allow-destroy", "--allow-data-loss")
    assert result.returncode == 0, result.stderr
    assert commands(project).count("apply") == 1


def test_non_stateful_replace_needs_only_allow_destroy(deploy, project):
    result = deploy("replace_create_first", "--yes", "--allow-destroy")
    assert result.returncode == 0, result.stderr
    assert commands(project) == APPLIED


def test_no_changes(deploy, project):
    result = deploy("noop", "--yes")
    assert result.returncode == 0, result.stderr
    assert "no changes" in result.stdout
    assert commands(project) == PLANNED + ["output"]  # outputs refreshed, nothing applied


def test_no_terminal_and_no_yes_is_refused_before_apply(deploy, project):
    result = deploy("updates")
    assert result.returncode == 3
    assert "--yes" in result.stderr
    assert commands(project) == PLANNED


def test_dry_run_plans_only(deploy, project):
    result = deploy("updates", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert commands(project) == PLANNED
    assert "aws_lambda_function.handler" in result.stdout and "dry run" in result.stdout


def test_terraform_error_is_one_line_exit_1(deploy, project):
    result = deploy("creates", "--yes", FAKE_TF_FAIL="validate")
    assert result.returncode == 1
    assert "terraform validate failed" in result.stderr and "Traceback" not in result.stderr
    assert commands(project) == ["init", "validate"]


def test_missing_terraform_says_how_to_install(run_inv, project, endpoint, tmp_path):
    empty = tmp_path / "empty-bin"  # git, but no terraform nor tofu
    empty.mkdir()
    (empty / "git").symlink_to(shutil.which("git"))
    env = fake_env(project, "creates", AWS_ENDPOINT_URL=endpoint, PATH=str(empty))
    del env["TARS_TERRAFORM_BIN"]
    result = run_inv("deploy-infrastructure", "--yes", env=env)
    assert result.returncode == 2
    assert "neither terraform nor tofu is installed" in result.stderr
    assert "install" in result.stderr and "Traceback" not in result.stderr


def test_held_deploy_lock_refuses_before_terraform_applies(deploy, project, endpoint):
    """The plan (reads only) is made and shown before the lock is taken (skeleton.apply); a live
    holder then refuses the apply."""
    from tars_tasks import lock
    from tars_tasks.settings import Settings
    from tars_tasks.tables import create_all

    create_all(boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint), "sre-poc")
    settings = Settings.load(None, root=project)
    with lock.hold(settings, "deploy-lambda"):
        result = deploy("creates", "--yes")
    assert result.returncode == 3
    assert "deploy-lambda" in result.stderr
    assert commands(project) == PLANNED   # planned, never applied
