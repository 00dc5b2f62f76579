"""The repository the deploy role trusts reaches Terraform as TF_VAR_github_repository: from
GITHUB_REPOSITORY (GitHub Actions sets it; .env files too), else the origin remote's GitHub URL."""
from __future__ import annotations

import subprocess

from tars_tasks.settings import Settings


def repo(tmp_path, origin=None):
    root = tmp_path / "r"
    (root / "infrastructure" / "backend").mkdir(parents=True)
    (root / "infrastructure" / "backend" / "dev.hcl").write_text('key = "tars/dev/terraform.tfstate"\n')
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    if origin:
        subprocess.run(["git", "remote", "add", "origin", origin], cwd=root, check=True)
    return root


def variables(root, environ):
    settings = Settings.load(None, root=root, environ={"TARS_TERRAFORM_BIN": "/bin/true", **environ})
    return settings.target.terraform(settings).variables


def test_github_repository_setting_wins(tmp_path):
    root = repo(tmp_path, "git@github.com:someone/fork.git")
    assert variables(root, {"GITHUB_REPOSITORY": "acme/tars"})["github_repository"] == "acme/tars"


def test_origin_remote_otherwise(tmp_path):
    root = repo(tmp_path, "https://github.com/acme/tars.git")
    assert variables(root, {})["github_repository"] == "acme/tars"
    (root / ".env.dev").write_text("GITHUB_REPOSITORY=acme/other\n")
    assert variables(root, {})["github_repository"] == "acme/other"


def test_unknown_repository_is_left_to_terraform(tmp_path):
    """Not a GitHub remote: no variable, and infrastructure/ names what to set (its precondition)."""
    assert "github_repository" not in variables(repo(tmp_path, "https://gitlab.com/acme/tars.git"), {})
    assert "github_repository" not in variables(repo(tmp_path / "x"), {})
