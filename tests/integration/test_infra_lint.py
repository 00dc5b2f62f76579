"""`inv lint-infra`: terraform fmt -check + validate (fake terraform here) and checkov, for real,
offline, on infrastructure/. This is how CI runs checkov: 0 failed checks is the bar."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.infra import FAKE_TERRAFORM, commands, fake_env, make_project
from tests.unit.test_infra_checkov import skip_comments

INSECURE = '''
resource "aws_security_group" "wide_open" {
  name   = "wide-open"
  vpc_id = aws_vpc.main.id
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
'''


def test_lint_infra_passes_with_zero_failed_checks(run_inv, tmp_path):
    report = tmp_path / "lint.json"
    log = tmp_path / "calls.jsonl"
    env = {"TARS_TERRAFORM_BIN": str(FAKE_TERRAFORM), "FAKE_TF_LOG": str(log)}
    result = run_inv("lint-infra", "--json", str(report), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert data["checkov"]["failed"] == 0 and data["checkov"]["parsing_errors"] == 0
    assert data["checkov"]["passed"] > 200
    # each skip is one reasoned comment in the .tf files (none sits on a for_each resource)
    assert data["checkov"]["skipped"] == len(skip_comments())
    ran = [json.loads(line)["argv"] for line in log.read_text().splitlines()]
    assert [a[0] for a in ran] == ["fmt", "init", "validate"]
    assert "-check" in ran[0] and "-backend=false" in ran[1]
    assert "0 failed" in result.stdout


def test_checkov_failure_names_the_check_and_exits_1(run_inv, tmp_path):
    project = make_project(tmp_path)
    (project / "infrastructure" / "insecure.tf").write_text(INSECURE)
    result = run_inv("lint-infra", env=fake_env(project))
    assert result.returncode == 1
    assert "checkov:" in result.stderr and "failed check" in result.stderr
    assert "aws_security_group.wide_open" in result.stderr and "CKV_AWS_" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_terraform_says_so_and_still_runs_checkov(run_inv, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    (empty / "git").symlink_to(shutil.which("git"))
    result = run_inv("lint-infra", env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    assert "neither terraform nor tofu is installed" in result.stderr
    assert "skipped terraform fmt -check and validate" in result.stderr
    assert "0 failed" in result.stdout


def test_unformatted_files_fail_before_checkov(run_inv, tmp_path):
    project = make_project(tmp_path)
    result = run_inv("lint-infra", env=fake_env(project, FAKE_TF_UNFORMATTED="s3.tf"))
    assert result.returncode == 1
    assert "not formatted: s3.tf" in result.stderr and "terraform fmt" in result.stderr
    assert commands(project) == ["fmt"]


def test_missing_checkov_is_exit_2(run_inv, tmp_path):
    project = make_project(tmp_path)
    result = run_inv("lint-infra", env=fake_env(project, TARS_CHECKOV_BIN=str(tmp_path / "nope")))
    assert result.returncode == 2
    assert "make .venv-checkov" in result.stderr


MIRROR = os.environ.get("TARS_TERRAFORM_PLUGIN_DIR") or "/opt/tf-plugins"


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("terraform") and Path(MIRROR, "registry.terraform.io").is_dir()),
                    reason="needs a real terraform and an AWS provider mirror (offline init)")
def test_real_terraform_fmt_and_validate(run_inv, tmp_path):
    """With a real terraform and a local provider mirror: fmt -check and validate really pass."""
    project = make_project(tmp_path)
    rc = tmp_path / "terraformrc"
    rc.write_text("")  # no CLI config: only -plugin-dir is used
    result = run_inv("lint-infra", env={"TARS_ROOT": str(project), "TARS_TERRAFORM_PLUGIN_DIR": MIRROR,
                                        "TF_CLI_CONFIG_FILE": str(rc)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "formatted and valid" in result.stdout
