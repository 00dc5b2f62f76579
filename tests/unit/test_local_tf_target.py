"""The local target's Terraform path with the fake terraform: the same
commands as for AWS run in the emulator's work copy, never in infrastructure/; the outputs' server
URLs are the local servers'; a second run runs nothing when nothing changed; drift found makes
the next deploy plan. The real terraform on the emulator: tests/integration/test_local_terraform.py."""
from __future__ import annotations

import json

import pytest

from tars_tasks.local import services, tf_override, tf_target
from tars_tasks.settings import Settings
from tars_tasks.steps import infra
from tests.support.infra import call, calls, commands, fake_env, make_project


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def local(project, endpoint, monkeypatch):
    def load(plan="creates"):
        for key, value in fake_env(project, plan).items():
            monkeypatch.setenv(key, value)
        return Settings.load(None, root=project, local=True)

    started = []
    monkeypatch.setattr(services, "ensure", lambda settings: started.append(settings.function_name) or {})
    load.started = started
    return load


def test_local_terraform_runs_the_aws_path_in_the_work_copy(project, local):
    settings = local("creates")
    plan = infra.plan(settings)
    assert plan.has_changes and plan.counts()["create"] == 3
    outcome = infra.execute(settings, plan)
    # as for AWS, but the state is a local file read directly (no state pull)
    assert commands(project) == ["init", "validate", "plan", "show", "apply", "output"]
    work = project / ".tars" / "local" / "emulator-terraform"
    init = call(project, "init")
    assert init["cwd"] == str(work / "config") and init["tf_data_dir"] == str(work / "data")
    assert not any(a.startswith("-backend-config") for a in init["argv"])   # the override's local backend
    assert init["tf_vars"]["env"] == "local" and init["tf_vars"]["project"] == "sre-poc"
    assert (work / "config" / tf_override.FILE_NAME).is_file()
    assert not list((project / "infrastructure").rglob("*override*"))
    assert outcome.status == "deployed"
    saved = json.loads((project / ".tars" / "local" / "outputs.json").read_text())
    assert saved["ui_bucket"]["value"] == "sre-poc-ui-123456789012"      # Terraform's own value
    runtime, site = services.url(settings, services.RUNTIME), services.url(settings, services.SITE)
    assert saved["function_url"]["value"] == runtime + "/"
    assert saved["api_endpoint"]["value"] == site + "/api"
    assert local.started == [saved["function_name"]["value"]]             # the servers run on it


def test_the_override_points_the_functions_mcp_endpoint_and_the_kb_cors_origin_at_the_local_servers(project, local):
    settings = local("creates")
    tf_target.prepare(settings)
    override = (project / ".tars" / "local" / "emulator-terraform" / "config" / tf_override.FILE_NAME).read_text()
    assert f'mcp_endpoint = "{services.url(settings, services.MCP)}"' in override
    # the browser's upload from the local site (its origin) to the KB bucket passes the bucket's CORS rule
    assert f'ui_origin = "{services.url(settings, services.SITE)}"' in override
    assert "allowed_origins = [local.ui_origin]" in (project / "infrastructure" / "s3.tf").read_text()


def test_a_second_run_runs_no_terraform_at_all(project, local):
    settings = local("creates")
    infra.execute(settings, infra.plan(settings))
    ran = len(commands(project))
    again = infra.plan(local("creates"))
    assert again.has_changes is False and again.no_plan_because
    assert len(commands(project)) == ran                                   # not even init or validate
    assert "no changes (nothing" in again.summary()[0]
    assert infra.guard(again) == []                                        # nothing to guard, nothing refused
    assert infra.execute(local("creates"), again).status == "unchanged"
    assert commands(project)[ran:] == ["output"]                           # the outputs, re-read


def test_a_changed_tf_file_plans_again(project, local):
    settings = local("creates")
    infra.execute(settings, infra.plan(settings))
    variables = project / "infrastructure" / "variables.tf"
    variables.write_text(variables.read_text().replace("default     = 365", "default     = 30"))
    assert infra.plan(local("creates")).has_changes
    assert commands(project).count("plan") == 2


def test_drift_found_makes_the_next_deploy_plan(project, local):
    settings = local("creates")
    infra.execute(settings, infra.plan(settings))
    drift = infra.plan(local("drift_planned"), refresh_only=True)
    assert drift.has_changes and [c.address for c in drift.drift] == ["aws_lambda_function.handler"]
    assert drift.changes == () and "-refresh-only" not in [c for c in calls(project) if c["argv"][0] == "plan"][1]["argv"]
    assert infra.plan(local("noop")).no_plan_because is None               # a real plan ran
    assert commands(project).count("plan") == 3


def test_the_local_infrastructure_is_terraform_and_aws_keeps_its_own(project, endpoint, monkeypatch):
    """No switch: --local runs infrastructure/ through the work copy; AWS through the real backend."""
    from tars_tasks.steps.infra_terraform import TerraformRunner

    for key, value in fake_env(project).items():
        monkeypatch.setenv(key, value)
    settings = Settings.load(None, root=project, local=True)
    assert type(settings.target.infrastructure(settings)) is tf_target.LocalTerraformRunner
    assert "local_infra" not in {f.name for f in settings_fields()}
    aws = Settings.load(None, root=project)
    assert isinstance(aws.target.infrastructure(aws), TerraformRunner)


def settings_fields():
    from tars_tasks import settings as module

    return module.FIELDS


def test_setup_fails_with_one_line_when_terraform_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert tf_target.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: terraform: not installed") and len(err.strip().splitlines()) == 1


def _stub(tmp_path, version: str):
    program = tmp_path / "terraform"
    program.write_text(f"#!/bin/sh\necho '{{\"terraform_version\": \"{version}\"}}'\n")
    program.chmod(0o755)
    return str(program)


def test_setup_names_terraform_and_where_the_provider_comes_from(tmp_path):
    mirror = tmp_path / "mirror" / "registry.terraform.io" / "hashicorp" / "aws"
    mirror.mkdir(parents=True)
    ok, line = tf_target.installation(_stub(tmp_path, "1.11.4"), str(tmp_path / "mirror"))
    assert ok and "terraform 1.11.4" in line and str(tmp_path / "mirror") in line


def test_setup_says_how_to_install_a_missing_or_old_terraform(tmp_path, monkeypatch):
    ok, line = tf_target.installation(_stub(tmp_path, "1.4.7"))
    assert not ok and "older than 1.6" in line and "install" in line
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ok, line = tf_target.installation("terraform")
    assert not ok and "not installed" in line and "developer.hashicorp.com" in line


def test_a_failed_apply_makes_the_next_run_plan(project, local, monkeypatch):
    from tars_tasks.errors import StepFailed

    settings = local("creates")
    infra.execute(settings, infra.plan(settings))                           # applied, fingerprint kept
    variables = project / "infrastructure" / "variables.tf"
    variables.write_text(variables.read_text().replace("default     = 365", "default     = 30"))
    settings = local("updates")
    plan = infra.plan(settings)
    monkeypatch.setenv("FAKE_TF_FAIL", "apply")
    with pytest.raises(StepFailed):
        infra.execute(settings, plan)
    monkeypatch.delenv("FAKE_TF_FAIL")
    variables.write_text(variables.read_text().replace("default     = 30", "default     = 365"))
    # the files are back to what the last successful apply saw, but that apply is not what is live
    assert infra.plan(local("noop")).no_plan_because is None
    assert commands(project).count("plan") == 3


def test_the_destroy_guard_runs_on_the_local_path(project, local):
    from tars_tasks.errors import Refused

    settings = local("replace_delete_first")
    plan = infra.plan(settings)
    with pytest.raises(Refused):
        infra.guard(plan)
    with pytest.raises(Refused):                                            # execute guards too
        infra.execute(settings, plan)
    assert "apply" not in commands(project)


def _entry(address, actions, before=None, after=None):
    return {"address": address, "type": address.split(".")[0],
            "change": {"actions": actions, "before": before, "after": after}}


def test_drift_on_the_emulator_is_what_the_plan_would_put_back():
    """Measured: right after a create, a refresh-only plan against moto reports ~45 resources
    (null stored, {} read back; a bucket's lifecycle that a sibling resource manages ...) while a
    normal plan of that state changes nothing. Drift = changed outside and planned back."""
    noise = [_entry("aws_s3_bucket.ui", ["update"], {"tags": None}, {"tags": {}}),
             _entry("aws_iam_role.lambda", ["update"], {"inline_policy": []}, {"inline_policy": [{"name": "x"}]})]
    untagged = _entry("aws_dynamodb_table.incidents", ["update"], {"tags_all": {"Environment": "local"}}, {"tags_all": {}})
    gone = _entry("aws_ssm_parameter.github_token", ["delete"], {"name": "x"}, None)
    wanted = _entry("aws_lambda_function.handler", ["update"])          # a config change, not drift
    doc = {"resource_drift": [*noise, untagged, gone],
           "resource_changes": [_entry("aws_dynamodb_table.incidents", ["update"]),
                                _entry("aws_ssm_parameter.github_token", ["create"]), wanted,
                                _entry("aws_s3_bucket.ui", ["no-op"])]}
    found, shown = tf_target.filter_drift(doc)
    assert found and [d["address"] for d in shown["resource_drift"]] == [
        "aws_dynamodb_table.incidents", "aws_ssm_parameter.github_token"]
    assert shown["resource_changes"] == []
    assert tf_target.filter_drift({"resource_drift": noise, "resource_changes": [wanted]}) == (
        False, {"resource_drift": [], "resource_changes": []})
