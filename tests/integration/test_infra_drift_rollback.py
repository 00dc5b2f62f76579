"""`inv infra-drift` (exit 2 = drift) and `inv rollback-infrastructure` (git revert, then the
guarded plan and apply), with the fake terraform and real git repositories."""
from __future__ import annotations

import pytest

from tests.support.infra import call, commands, fake_env, git, make_project


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def test_drift_found_exits_2_naming_the_resource(run_inv, project, endpoint):
    result = run_inv("infra-drift", env=fake_env(project, "drift", AWS_ENDPOINT_URL=endpoint))
    assert result.returncode == 2, result.stderr
    assert "drift found" in result.stderr and "aws_lambda_function.handler" in result.stdout
    assert "-refresh-only" in call(project, "plan")["argv"]
    assert commands(project) == ["init", "validate", "plan", "show"]  # never apply
    assert not list((project / ".tars" / "dev").glob("plan-*"))


def test_no_drift_exits_0(run_inv, project, endpoint):
    result = run_inv("infra-drift", env=fake_env(project, "no_drift", AWS_ENDPOINT_URL=endpoint))
    assert result.returncode == 0, result.stderr
    assert "no drift" in result.stdout
    assert "apply" not in commands(project)


@pytest.fixture
def history(project):
    """Three more commits: an infrastructure change, an unrelated one, a README."""
    variables = project / "infrastructure" / "variables.tf"
    original = variables.read_text()
    variables.write_text(original.replace("default     = 365", "default     = 30"))
    git(project, "commit", "-qam", "Shorter log retention")
    infra_commit = git(project, "rev-parse", "HEAD")
    (project / "NOTES.md").write_text("notes\n")
    git(project, "add", "NOTES.md")
    git(project, "commit", "-qm", "Notes")
    other_commit = git(project, "rev-parse", "HEAD")
    return {"original": original, "infra": infra_commit, "other": other_commit}


def test_rollback_reverts_newest_infra_commit_then_applies(run_inv, project, endpoint, history):
    result = run_inv("rollback-infrastructure", "--yes", env=fake_env(project, "updates", AWS_ENDPOINT_URL=endpoint))
    assert result.returncode == 0, result.stderr
    assert git(project, "log", "-1", "--format=%s") == 'Revert "Shorter log retention"'
    assert (project / "infrastructure" / "variables.tf").read_text() == history["original"]
    assert (project / "NOTES.md").exists()  # the newer unrelated commit stays
    assert commands(project) == ["init", "validate", "plan", "show", "apply", "output", "state"]
    assert "reverted" in result.stdout


def test_rollback_of_a_destroying_plan_is_refused_and_never_applies(run_inv, project, endpoint, history):
    result = run_inv("rollback-infrastructure", "--yes", env=fake_env(project, "delete", AWS_ENDPOINT_URL=endpoint))
    assert result.returncode == 3
    assert "destroy guard" in result.stderr and "aws_dynamodb_table.kb_chunks" in result.stderr
    assert "the revert is committed as" in result.stderr
    assert "apply" not in commands(project)


def test_rollback_of_a_given_commit(run_inv, project, endpoint, history):
    env = fake_env(project, "noop", AWS_ENDPOINT_URL=endpoint)
    result = run_inv("rollback-infrastructure", "--yes", "--commit", history["infra"][:10], env=env)
    assert result.returncode == 0, result.stderr
    assert git(project, "log", "-1", "--format=%s") == 'Revert "Shorter log retention"'
    assert "apply" not in commands(project)  # the plan had no changes


@pytest.mark.parametrize("rev,message", [("nosuchrev", "names no commit"), ("other", "does not touch infrastructure/")])
def test_rollback_bad_commit_is_exit_2_and_changes_nothing(run_inv, project, endpoint, history, rev, message):
    head = git(project, "rev-parse", "HEAD")
    env = fake_env(project, "updates", AWS_ENDPOINT_URL=endpoint)
    result = run_inv("rollback-infrastructure", "--yes", "--commit", history.get(rev, rev), env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert git(project, "rev-parse", "HEAD") == head and commands(project) == []


def test_rollback_refuses_over_uncommitted_infra_changes(run_inv, project, endpoint, history):
    head = git(project, "rev-parse", "HEAD")
    (project / "infrastructure" / "variables.tf").write_text("# local edit\n")
    result = run_inv("rollback-infrastructure", "--yes", env=fake_env(project, "updates", AWS_ENDPOINT_URL=endpoint))
    assert result.returncode == 3
    assert "uncommitted changes in infrastructure/" in result.stderr
    assert git(project, "rev-parse", "HEAD") == head and commands(project) == []


def test_conflicting_revert_is_aborted(run_inv, project, endpoint, history):
    variables = project / "infrastructure" / "variables.tf"
    variables.write_text(variables.read_text().replace("default     = 30", "default     = 60"))
    git(project, "commit", "-qam", "Retention 60")
    head = git(project, "rev-parse", "HEAD")
    env = fake_env(project, "updates", AWS_ENDPOINT_URL=endpoint)
    result = run_inv("rollback-infrastructure", "--yes", "--commit", history["infra"], env=env)
    assert result.returncode == 1
    assert "git revert" in result.stderr and "aborted" in result.stderr
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == ""
    assert commands(project) == []


def test_rollback_dry_run_changes_nothing(run_inv, project, endpoint, history):
    head = git(project, "rev-parse", "HEAD")
    result = run_inv("rollback-infrastructure", "--dry-run", env=fake_env(project, "updates", AWS_ENDPOINT_URL=endpoint))
    assert result.returncode == 0, result.stderr
    assert "would git revert --no-edit " + history["infra"][:12] in result.stdout
    assert git(project, "rev-parse", "HEAD") == head and commands(project) == []
