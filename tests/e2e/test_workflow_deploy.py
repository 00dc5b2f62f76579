"""The deploy workflow's own commands, run as GitHub Actions runs them, against the local target.

Each step of .github/workflows/deploy-env.yml that the test runs is read from the workflow file:
its `run:` text goes to bash as GitHub runs it (`bash --noprofile --norc -eo pipefail`), with the
job's and the step's `env:` (their `${{ }}` expressions answered as a dispatch would answer them),
CI=true and GITHUB_STEP_SUMMARY pointing at a file of the test. The one difference from the
workflow: TARS_TARGET=local instead of the AWS credentials of the configure-aws-credentials step.
Asserted: the job summary's content and the emulator's state (alias, release records).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from tars_tasks.local import processes
from tests.conftest import ROOT
from bench.scenarios.clone import copy_project

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKFLOW = ROOT / ".github" / "workflows" / "deploy-env.yml"
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
FIXTURES = ROOT / "tests" / "fixtures" / "reports"


@pytest.fixture
def project(tmp_path, run_inv):
    root = copy_project(tmp_path / "repo")
    modules = ROOT / "ui" / "node_modules"
    if modules.is_dir():  # hard links: no npm ci in the copy
        subprocess.run(["cp", "-al", str(modules), str(root / "ui" / "node_modules")], check=True)
    yield root
    run_inv("local.down", env={"TARS_ROOT": str(root)}, cwd=root)


class Job:
    def __init__(self, project: Path, tmp_path: Path):
        self.project, self.tmp = project, tmp_path
        self.job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["deploy"]
        self.steps = {s["id"]: s for s in self.job["steps"] if "id" in s}
        self.count = 0

    def answers(self, inputs: dict[str, str]) -> dict[str, str]:
        return {"inputs.environment": "local", "inputs.components": inputs.get("components", "--all"),
                "inputs.rollback-to": inputs.get("rollback-to", ""), "vars.AWS_REGION || 'us-east-1'": "us-east-1",
                "vars.TARS_TIMEZONE": "", "vars.TARS_BLOCKED_WINDOWS": "", "github.token": ""}

    def env(self, step: dict, inputs: dict[str, str]) -> dict[str, str]:
        answers = self.answers(inputs)

        def substitute(value) -> str:  # an expression the test cannot answer fails the test
            return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: answers[m.group(1)], str(value))

        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
        env.update({k: substitute(v) for k, v in (self.job.get("env") or {}).items()})
        env.update({k: substitute(v) for k, v in (step.get("env") or {}).items()})
        env.update(CI="true", TARS_TARGET="local", VENV=str(ROOT / ".venv"))
        return env

    def would_run(self, step_id: str, inputs: dict[str, str]) -> bool:
        condition = self.steps[step_id].get("if")
        rollback = inputs.get("rollback-to", "")
        if condition is None:
            return True
        if condition == "inputs.rollback-to == ''":
            return rollback == ""
        if condition == "inputs.rollback-to != ''":
            return rollback != ""
        if "hashFiles('.tars/ci/deploy-report.json') != ''" in condition:
            return self.report_path.is_file()
        raise AssertionError(f"the test does not know the condition {condition!r} of step {step_id}")

    @property
    def report_path(self) -> Path:
        return self.project / self.job["env"]["REPORT"]

    def run(self, step_id: str, **inputs: str) -> tuple[subprocess.CompletedProcess, Path]:
        assert self.would_run(step_id, inputs), f"step {step_id} would not run with {inputs}"
        self.count += 1
        summary = self.tmp / f"step-summary-{self.count}.md"
        summary.write_text("")
        env = dict(self.env(self.steps[step_id], inputs), GITHUB_STEP_SUMMARY=str(summary))
        done = subprocess.run([*GITHUB_BASH, self.steps[step_id]["run"]], cwd=self.project, env=env,
                              capture_output=True, text=True, timeout=1200)
        return done, summary

    def deploy_then_summary(self, **inputs: str) -> tuple[subprocess.CompletedProcess, str, dict]:
        self.report_path.unlink(missing_ok=True)
        step = "rollback" if inputs.get("rollback-to") else "deploy"
        assert not self.would_run("deploy" if step == "rollback" else "rollback", inputs)
        done, _ = self.run(step, **inputs)
        shown, summary = self.run("summary", **inputs)
        assert shown.returncode == 0, shown.stdout[-2000:] + shown.stderr[-2000:]
        return done, summary.read_text(), json.loads(self.report_path.read_text())


def alias_version(url: str) -> str:
    lam = boto3.client("lambda", endpoint_url=url, region_name="us-east-1")
    return lam.get_alias(FunctionName="sre-poc-incident-handler", Name="production")["FunctionVersion"]


def same_shape(live: dict, fixture: str) -> None:
    """The fixtures of tests/unit/test_report_markdown.py still look like what the tasks write."""
    saved = json.loads((FIXTURES / fixture).read_text())
    assert set(live) == set(saved), set(live) ^ set(saved)
    assert {k for c in live["components"] for k in c} == {k for c in saved["components"] for k in c}


def test_the_workflow_deploys_rolls_back_and_summarises(project, tmp_path):
    job = Job(project, tmp_path)
    outputs, _ = job.run("outputs")
    assert outputs.returncode == 0, outputs.stdout + outputs.stderr
    assert "no local deployment yet" in outputs.stdout

    first, summary, r1 = job.deploy_then_summary(components="--all")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    same_shape(r1, "deploy-all.json")
    local_outputs = json.loads((project / ".tars" / "local" / "outputs.json").read_text())
    site = local_outputs["site_url"]["value"]
    assert summary.startswith("### ✅ TARS deploy to `local`: done\n")
    for component in ("infra", "mcp", "lambda", "ui"):  # a cold terraform apply takes minutes
        assert re.search(rf"^\| {component} \| deployed \| .+ → .+ \| (\d+\.\d s|\d+ min \d\d s) \|", summary, re.M), summary
    assert re.search(r"^\| verify \| passed \|", summary, re.M)
    assert f"- **Release**: `{r1['release_id']}`" in summary and f"- **UI**: {site}" in summary
    emulator = processes.read(project / ".tars" / "local" / "proc", "emulator").url
    v1 = alias_version(emulator)
    s3 = boto3.client("s3", endpoint_url=emulator, region_name="us-east-1")
    record = json.loads(s3.get_object(Bucket=local_outputs["artifact_bucket"]["value"],
                                      Key=f"releases/local/deploys/{r1['release_id']}.json")["Body"].read())
    assert record["components"]["lambda"]["version"] == v1

    with (project / "lambda_src" / "handler.py").open("a") as fh:
        fh.write("\n# a change\n")
    second, summary, r2 = job.deploy_then_summary(components="--lambda")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    v2 = alias_version(emulator)
    assert int(v2) > int(v1)
    assert re.search(rf"^\| lambda \| deployed \| {v1} → {v2} \|", summary, re.M), summary
    assert "| infra |" not in summary and "| ui |" not in summary  # only what was asked

    back, summary, rb = job.deploy_then_summary(**{"rollback-to": r1["release_id"]})
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
    same_shape(rb, "rollback.json")
    assert alias_version(emulator) == v1
    assert summary.startswith(f"### ✅ TARS rollback to release {r1['release_id']} of `local`: done\n")
    assert re.search(rf"^\| lambda \| deployed \| {v2} → {v1} \|", summary, re.M), summary
    assert f"- **New release record**: `{rb['new_release_id']}`" in summary

    # a release id is data, never shell code: make's recipe expands "$RELEASE" as one word
    hostile = "x; touch pwned; echo"
    job.report_path.unlink()
    refused, _ = job.run("rollback", **{"rollback-to": hostile})
    assert refused.returncode != 0 and "no release" in refused.stderr, refused.stderr[-2000:]
    assert not (project / "pwned").exists() and alias_version(emulator) == v1

    text = (project / "lambda_src" / "handler.py").read_text()
    (project / "lambda_src" / "handler.py").write_text(text.replace(
        "def health(req: Request) -> dict:\n", 'def health(req: Request) -> dict:\n    raise RuntimeError("broken")\n', 1))
    broken, summary, r3 = job.deploy_then_summary(components="--all")
    assert broken.returncode != 0 and "Traceback" not in broken.stderr
    same_shape(r3, "deploy-failed.json")
    assert summary.startswith("### ❌ TARS deploy to `local`: failed at lambda\n"), summary
    assert re.search(r"^\| lambda \| failed \| .*smoke test", summary, re.M) and "| ui | not reached |" in summary
    assert "**Release**" not in summary and alias_version(emulator) == v1
