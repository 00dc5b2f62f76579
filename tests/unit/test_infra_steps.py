"""steps/infra.py with the fake terraform: exactly which commands run, the plan file, outputs."""
from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pytest

from tars_tasks.errors import ConfigError, Refused, StepFailed
from tars_tasks.settings import Settings
from tars_tasks.steps import infra
from tars_tasks.tools import terraform
from tests.support.infra import FAKE_TERRAFORM, call, commands, fake_env, make_project


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def use_fake(project, monkeypatch):
    def use(plan="noop", **extra):
        for key, value in fake_env(project, plan, **extra).items():
            monkeypatch.setenv(key, value)
        return Settings.load(None, root=project)
    return use


def test_plan_then_execute_runs_exactly_the_documented_commands(project, use_fake):
    settings = use_fake("creates")
    plan = infra.plan(settings)
    assert plan.has_changes and plan.counts()["create"] == 3
    assert commands(project) == ["init", "validate", "plan", "show"]
    init = call(project, "init")
    assert "-backend-config=backend/dev.hcl" in init["argv"] and "-input=false" in init["argv"]
    assert init["cwd"] == str(project / "infrastructure")
    assert init["tf_data_dir"] == str(project / ".tars" / "dev" / "terraform")
    planned = call(project, "plan")
    assert "-detailed-exitcode" in planned["argv"]
    out = next(a.split("=", 1)[1] for a in planned["argv"] if a.startswith("-out="))
    assert planned["plan_file_mode_before"] == "0o600"
    assert out == plan.plan_file and oct(os.stat(out).st_mode & 0o777) == "0o600"
    assert call(project, "show")["argv"][-1] == out

    outcome = infra.execute(settings, plan)
    assert commands(project) == ["init", "validate", "plan", "show", "apply", "output", "state"]
    assert call(project, "apply")["argv"][-1] == out  # exactly the saved plan
    assert not Path(out).exists() and not Path(out).parent.exists()
    assert outcome.status == "deployed" and outcome.after == "serial 1"
    saved = json.loads((project / ".tars" / "dev" / "outputs.json").read_text())
    assert saved["ui_bucket"]["value"] == "sre-poc-ui-123456789012"
    # Settings reads the names from there
    again = Settings.load(None, root=project)
    assert again.ui_bucket == "sre-poc-ui-123456789012"
    assert again.distribution_id == "E2FAKEDIST0001"
    assert again.source("ui_bucket").startswith("terraform output ui_bucket")


def test_no_changes_applies_nothing_and_removes_the_plan(project, use_fake):
    settings = use_fake("noop")
    plan = infra.plan(settings)
    assert not plan.has_changes and plan.plan_file is None
    assert plan.summary() == ["terraform (dev): no changes"]
    outcome = infra.execute(settings, plan)
    assert outcome.status == "unchanged"
    assert "apply" not in commands(project)
    assert not list((project / ".tars" / "dev").glob("plan-*"))


def test_env_picks_its_backend_file_and_variables(project, use_fake, monkeypatch):
    monkeypatch.setenv("TARS_ENV", "prod")
    monkeypatch.setenv("TARS_PROJECT", "tars-x")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    settings = use_fake("noop")
    infra.plan(settings)
    assert "-backend-config=backend/prod.hcl" in call(project, "init")["argv"]
    assert call(project, "init")["tf_data_dir"].endswith(".tars/prod/terraform")
    assert call(project, "plan")["tf_vars"] == {"project": "tars-x", "env": "prod", "region": "eu-west-1",
                                                "bedrock_model_id": settings.bedrock_model_id}


def test_missing_backend_file_is_a_config_error(project, use_fake):
    (project / "infrastructure" / "backend" / "staging.hcl").unlink()
    settings = use_fake("noop").replace(env="staging")
    with pytest.raises(ConfigError, match="staging.hcl"):
        infra.plan(settings)
    assert commands(project) == []


def test_plan_error_removes_the_plan_file_and_stops(project, use_fake):
    settings = use_fake("creates", FAKE_TF_FAIL="plan")
    with pytest.raises(StepFailed) as info:
        infra.plan(settings)
    assert "terraform plan failed (exit 1)" in info.value.message
    assert "fake failure" in info.value.message
    assert commands(project) == ["init", "validate", "plan"]
    assert not list((project / ".tars" / "dev").glob("plan-*"))


def test_refused_plan_never_applies(project, use_fake):
    settings = use_fake("delete")
    plan = infra.plan(settings)
    with pytest.raises(Refused):
        infra.guard(plan)
    infra.discard(plan)
    assert "apply" not in commands(project)
    assert not Path(plan.plan_file).exists()


def test_execute_guards_too_so_no_caller_can_skip_it(project, use_fake):
    settings = use_fake("replace_delete_first")
    plan = infra.plan(settings)
    with pytest.raises(Refused):
        infra.execute(settings, plan)
    assert "apply" not in commands(project)
    assert not Path(plan.plan_file).exists()
    with pytest.raises(Refused):  # the plan file is gone; a second try is refused as well
        infra.execute(settings, plan, allow_destroy=True)
    plan = infra.plan(settings)
    outcome = infra.execute(settings, plan, allow_destroy=True, allow_data_loss=True)
    assert outcome.status == "deployed" and commands(project).count("apply") == 1


def test_apply_failure_is_a_step_failure_and_removes_the_plan(project, use_fake):
    settings = use_fake("updates", FAKE_TF_FAIL="apply")
    plan = infra.plan(settings)
    with pytest.raises(StepFailed, match="terraform apply failed"):
        infra.execute(settings, plan)
    assert commands(project)[-1] == "apply"
    assert not Path(plan.plan_file).exists()
    assert not (project / ".tars" / "dev" / "outputs.json").exists()


def test_dry_run_preview_applies_nothing(project, use_fake):
    settings = use_fake("updates")
    plan = infra.plan(settings)
    outcome = plan.preview()   # what --dry-run shows: the plan's own summary, no execute
    infra.discard(plan)
    assert outcome.status == "planned" and "2 to update" in outcome.detail
    assert "apply" not in commands(project) and not Path(plan.plan_file).exists()


def test_current_gives_serial_and_last_apply(project, use_fake):
    settings = use_fake("creates")
    infra.execute(settings, infra.plan(settings))
    now = infra.current(settings)
    assert (now.state, now.version, now.rollback_target) == ("live", "serial 1", None)
    assert now.record["serial"] == 1 and now.record["lineage"] == "fake-lineage-0001"
    assert now.record["last_apply"] and now.record["last_apply"].endswith("Z")
    assert [k for k, _ in now.details][:3] == ["serial", "last_apply", "lineage"]
    assert commands(project)[-2:] == ["init", "state"]  # read only


def test_current_without_terraform_reports_instead_of_failing(project, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings.load(None, root=project, environ={})
    now = infra.current(settings)
    assert now.state == "unknown" and now.record["serial"] is None and "neither terraform nor tofu" in now.error


def test_program_lookup(monkeypatch, tmp_path, project):
    settings = Settings.load(None, root=project, environ={"TARS_TERRAFORM_BIN": str(tmp_path / "nope")})
    with pytest.raises(ConfigError, match="not an executable") as info:
        terraform.find_program(settings)
    assert "install" in info.value.hint
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    settings = Settings.load(None, root=project, environ={})
    with pytest.raises(ConfigError, match="neither terraform nor tofu") as info:
        terraform.find_program(settings)
    assert "developer.hashicorp.com/terraform/install" in info.value.hint and "opentofu" in info.value.hint
    (empty / "tofu").symlink_to(FAKE_TERRAFORM)
    assert terraform.find_program(settings) == str(empty / "tofu")
    (empty / "terraform").symlink_to(FAKE_TERRAFORM)
    assert terraform.find_program(settings) == str(empty / "terraform")


def test_plan_file_goes_with_an_unused_plan_object(project, use_fake):
    """A caller that neither executes nor discards (a pipeline stopped early) leaves no file."""
    import gc

    settings = use_fake("updates")
    plan = infra.plan(settings)
    path = Path(plan.plan_file)
    assert path.exists()
    del plan
    gc.collect()
    assert not path.exists() and not path.parent.exists()


def test_stale_plan_files_of_killed_runs_are_removed(tmp_path):
    old = terraform.new_plan_file(tmp_path)
    recent = terraform.new_plan_file(tmp_path)
    os.utime(old.parent, (1, 1))
    fresh = terraform.new_plan_file(tmp_path)
    assert not old.parent.exists() and recent.exists() and fresh.exists()


def test_show_printing_no_json_is_a_step_failure(project, use_fake):
    settings = use_fake("creates", FAKE_TF_SHOW_TEXT="Terraform crashed!")
    with pytest.raises(StepFailed, match="show -json printed no JSON"):
        infra.plan(settings)
    assert commands(project) == ["init", "validate", "plan", "show"]
    assert "apply" not in commands(project)
    assert not list((project / ".tars" / "dev").glob("plan-*"))


def test_plan_file_is_private(tmp_path):
    path = terraform.new_plan_file(tmp_path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(path.parent).st_mode & 0o777) == "0o700"
    terraform.remove_plan_file(path)
    assert not path.parent.exists()


class _FakeProc:
    def __init__(self, interrupts):
        self.interrupts = interrupts
        self.events = []
        self.returncode = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def communicate(self, timeout=None):
        self.events.append("communicate")
        raise KeyboardInterrupt

    def wait(self):
        self.events.append("wait")
        if self.interrupts > 1:
            raise KeyboardInterrupt
        self.returncode = 130
        return 130

    def kill(self):
        self.events.append("kill")


@pytest.mark.parametrize("interrupts,events", [(1, ["communicate", "wait"]), (2, ["communicate", "wait", "kill"])])
def test_ctrl_c_lets_terraform_stop_gracefully(interrupts, events):
    proc = _FakeProc(interrupts)
    with pytest.raises(KeyboardInterrupt):
        terraform._run(["terraform", "apply", "tfplan"], cwd=".", env={}, timeout=10, popen=lambda *a, **k: proc)
    assert proc.events == events  # killed only on a second Ctrl-C
