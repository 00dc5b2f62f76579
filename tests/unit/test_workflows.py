""".github/workflows: actionlint passes on every workflow, and the rules the deploy relies on hold:
keyless credentials, one job per environment with its own concurrency group, every step that
deploys is a Makefile alias, CI runs exactly the README's test command."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
COMPONENT_FLAGS = ["--all", "--lambda", "--ui", "--mcp", "--infra"]


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def actionlint(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ACTIONLINT, "-no-color", "-shellcheck=", "-pyflakes="], cwd=directory,
                          capture_output=True, text=True, timeout=120)


needs_actionlint = pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is installed by make setup")


@needs_actionlint
def test_actionlint_passes_on_every_workflow():
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == ["ci.yml", "deploy-env.yml", "deploy.yml"]
    done = actionlint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_actionlint
@pytest.mark.parametrize("name, old, new, complaint", [
    ("deploy.yml", "rollback-to: ${{ inputs.rollback || '' }}\n\n  staging",
     "rollback_to: ${{ inputs.rollback || '' }}\n\n  staging", "rollback_to"),
    ("deploy-env.yml", "COMPONENTS: ${{ inputs.components }}", "COMPONENTS: ${{ inputs.component }}", "component"),
    ("ci.yml", "runs-on: ubuntu-latest", "runs-on: ubuntu-lastest", "ubuntu-lastest"),
])
def test_actionlint_fails_on_a_broken_copy(tmp_path, name, old, new, complaint):
    """The check can fail: one typo in a copy of the workflows is reported."""
    copy = tmp_path / "repo" / ".github" / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    text = (copy / name).read_text()
    assert old in text
    (copy / name).write_text(text.replace(old, new, 1))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path / "repo", check=True)  # actionlint finds the project by .git
    done = actionlint(tmp_path / "repo")
    assert done.returncode == 1 and complaint in done.stdout, done.stdout + done.stderr


def test_no_access_keys_anywhere():
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID",
                          "AWS_SECRET_ACCESS_KEY", "secrets."):
            assert forbidden not in text, f"{path.name}: {forbidden}"


def test_deploy_job_assumes_the_environment_role_by_oidc():
    doc = load("deploy-env.yml")
    assert doc["permissions"] == {"contents": "read", "id-token": "write"}
    job = doc["jobs"]["deploy"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {"group": "tars-deploy-${{ inputs.environment }}", "cancel-in-progress": False}
    [creds] = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert set(creds["with"]) == {"role-to-assume", "role-session-name", "aws-region"}
    steps = [s.get("id") or s.get("uses", "").split("@")[0] for s in job["steps"]]
    assert steps.index("aws-actions/configure-aws-credentials") < steps.index("outputs") < steps.index("deploy")


def test_every_deploying_step_is_a_makefile_alias():
    job = load("deploy-env.yml")["jobs"]["deploy"]
    runs = [s["run"].strip() for s in job["steps"] if "run" in s]
    assert runs and all(re.fullmatch(r"make [a-z-]+( ARGS=.*)?", r) for r in runs), runs
    makefile = (ROOT / "Makefile").read_text()
    for run in runs:
        target = run.split()[1]
        assert re.search(rf"^{target}:", makefile, re.M), f"no Makefile target {target}"
        assert re.search(rf"^{target}:.*\n\t\$\(INV\) ", makefile, re.M) or target == "setup", target


def test_one_job_per_environment_each_through_the_reusable_job():
    doc = load("deploy.yml")
    assert doc["on"]["push"] == {"branches": ["main"]}
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert inputs["components"]["options"] == COMPONENT_FLAGS
    assert inputs["environment"]["options"] == ["dev", "staging", "prod"]
    assert inputs["rollback"]["type"] == "string"
    assert doc["permissions"] == {"contents": "read", "id-token": "write"}
    jobs = doc["jobs"]
    assert list(jobs) == ["dev", "staging", "prod"]
    for name, job in jobs.items():
        assert job["uses"] == "./.github/workflows/deploy-env.yml"
        assert job["with"]["environment"] == name
        assert job["with"]["rollback-to"] == "${{ inputs.rollback || '' }}"
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert "needs.dev.result == 'success'" in jobs["staging"]["if"]
    assert "needs.staging.result == 'success'" in jobs["prod"]["if"]


def test_ci_runs_the_readmes_test_command_and_keeps_the_report():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make test\b", readme, re.M), "the README's test command is no longer make test"
    doc = load("ci.yml")
    assert set(doc["on"]) == {"pull_request", "push"}
    job = doc["jobs"]["test"]
    assert job["runs-on"] == "ubuntu-latest"
    [test] = [s for s in job["steps"] if s.get("name") == "make test"]
    assert test["run"] == 'make test ARGS="--junitxml=test-results/pytest.xml"'
    uses = {s["uses"].split("@")[0]: s for s in job["steps"] if "uses" in s}
    assert uses["actions/setup-python"]["with"]["cache"] == "pip"
    assert uses["actions/setup-node"]["with"]["cache"] == "npm"
    assert uses["hashicorp/setup-terraform"]["with"]["terraform_version"] == "~1.11.0"
    assert uses["actions/cache"]["with"]["path"] == test["env"]["TARS_TERRAFORM_PLUGIN_DIR"]
    assert uses["actions/upload-artifact"]["with"]["path"] == "test-results/"
    assert uses["actions/upload-artifact"]["if"] == "${{ !cancelled() }}"


def make_n(*args: str) -> subprocess.CompletedProcess:
    """`make -n` as a user types it (not as a sub-make of `make test`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)


@pytest.mark.parametrize("args, expected", [
    ("--lambda --json r.json", "inv deploy --yes --lambda --json r.json"),
    ("--ui --mcp", "inv deploy --yes --ui --mcp"),
    ("--env dev --json r.json", "inv deploy --yes --all --env dev --json r.json"),
    ("", "inv deploy --yes --all"),
])
def test_make_deploy_deploys_what_args_name_else_all(args, expected):
    done = make_n("deploy", f"ARGS={args}")
    assert " ".join(done.stdout.split()).endswith(expected), done.stdout


def test_make_rollback_hands_the_release_to_the_shell_as_data():
    """The workflow's `make rollback ARGS='--to "$$RELEASE" ...'`: the recipe holds "$RELEASE"."""
    step = next(s for s in load("deploy-env.yml")["jobs"]["deploy"]["steps"] if s.get("id") == "rollback")
    args = re.fullmatch(r"make rollback ARGS='(.*)'", step["run"].strip()).group(1)
    done = make_n("rollback", f"ARGS={args}")
    assert done.stdout.strip().endswith('rollback --yes --to "$RELEASE" --json "$REPORT"'), done.stdout
