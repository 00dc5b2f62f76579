"""Helpers of the infrastructure tests: a project with infrastructure/ in a git repo, the fake
terraform's environment, and the commands it recorded."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_TERRAFORM = ROOT / "tests" / "fakes" / "terraform"
FIXTURES = ROOT / "tests" / "fixtures" / "terraform"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def make_project(tmp_path: Path) -> Path:
    """A git repository holding a copy of infrastructure/ and invoke.yaml (one commit)."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(ROOT / "infrastructure", root / "infrastructure")
    shutil.copy(ROOT / "invoke.yaml", root / "invoke.yaml")
    (root / ".gitignore").write_text(".tars/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "infrastructure")
    return root


def fake_env(root: Path, plan: str = "noop", **extra: str) -> dict[str, str]:
    """Environment for the fake terraform (tasks find it through TARS_TERRAFORM_BIN)."""
    env = {"TARS_ROOT": str(root), "TARS_TERRAFORM_BIN": str(FAKE_TERRAFORM),
           "FAKE_TF_LOG": str(root / "terraform-calls.jsonl"), "FAKE_TF_PLAN": plan,
           "FAKE_TF_STATE": str(root / "fake-state.json")}
    env.update(extra)
    return env


def calls(root: Path) -> list[dict]:
    log = root / "terraform-calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def commands(root: Path) -> list[str]:
    """The subcommands that ran, in order (`state pull` as 'state')."""
    return [c["argv"][0] for c in calls(root)]


def call(root: Path, name: str) -> dict:
    found = [c for c in calls(root) if c["argv"][0] == name]
    assert len(found) == 1, f"expected one terraform {name}, got {len(found)}: {commands(root)}"
    return found[0]
