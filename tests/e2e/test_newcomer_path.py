"""The newcomer's path, as the README writes it, in a fresh copy of the project.

`make demo` twice (the checkout's virtualenvs linked in as `.venv` / `.venv-checkov`, so setup has
nothing to install; the UI's node_modules is installed by the Makefile's own `npm ci`, as on a
fresh clone). The second run repeats no work: no npm ci, no UI build, no new release record, no
second copy of the sample logs (read from the emulator and the files, not from the output alone).
Every command printed by these `--local` runs names `--local`. Then every command of the README,
in a fresh shell (no virtualenv active, a minimal PATH), as written: the local ones run for real,
and those that target AWS (no account here) must name a real task and real flags.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from tars_tasks.local import processes
from tests.conftest import ROOT
from bench.scenarios.clone import copy_project, stop_recorded

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COMMAND = re.compile(r"\binv ((?:[a-z0-9_]+\.)?[a-z][a-z0-9-]*)(?![a-z0-9.-])")


@pytest.fixture
def clone(tmp_path, run_inv, local_emulator):
    root = copy_project(tmp_path / "tars")
    local_emulator(root)   # the once-applied infrastructure/ (tests/support/tf_applied.py); bench/ times a cold one
    for venv in (".venv", ".venv-checkov"):
        (root / venv).symlink_to(ROOT / venv)
    yield root
    run_inv("local.down", env={"TARS_ROOT": str(root)}, cwd=root)
    stop_recorded(root)   # never leave one behind


def fresh_shell(root: Path, script: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    """bash in ``root`` with what a new terminal has: no virtualenv, a minimal PATH, no AWS account."""
    env = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "TERM": "dumb", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def tasks_taking_local() -> set[str]:
    from tars_tasks import ns

    return {n for n in ns.task_names if "local" in {a.name for a in ns[n].get_arguments()}}


def commands_missing_local(text: str) -> list[str]:
    """Each printed `inv <task> ...` whose task takes --local but which lacks it."""
    takes = tasks_taking_local()
    missing = []
    for line in text.splitlines():
        for match in COMMAND.finditer(line):
            rest = line[match.end():]
            rest = rest[:rest.find("inv ")] if "inv " in rest else rest
            if match.group(1) in takes and "--local" not in rest:
                missing.append(line.strip())
    return missing


def emulator_state(root: Path) -> dict:
    url = processes.read(root / ".tars" / "local" / "proc", "emulator").url
    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    outputs = {k: v["value"] for k, v in json.loads((root / ".tars" / "local" / "outputs.json").read_text()).items()}
    records = s3.list_objects_v2(Bucket=outputs["artifact_bucket"], Prefix="releases/").get("Contents", [])
    return {"errors": len(logs.filter_log_events(logGroupName="/ecs/payment-service", filterPattern="ERROR")["events"]),
            "records": sorted(o["Key"] for o in records)}


def files_state(root: Path) -> dict:
    ui = root / "ui"
    marks = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
             for p in (ui / "node_modules" / ".package-lock.sha256", ui / "node_modules" / ".tars-ui-build.json")}
    return {**marks, "dist": sorted((p.relative_to(ui).as_posix(), p.stat().st_mtime_ns)
                                    for p in (ui / "dist").rglob("*") if p.is_file())}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command:
                lines.append(command)
    return lines


def test_second_make_demo_repeats_nothing_and_the_readme_works_as_written(clone, capsys):
    first = fresh_shell(clone, "make demo")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-3000:]
    assert first.stdout.count("npm ci --no-audit") == 1          # the Makefile's, once
    assert "ui: npm ci skipped" in first.stdout                   # the deploy trusts the Makefile's install
    state, files = emulator_state(clone), files_state(clone)
    assert state["errors"] == 25 and len([k for k in state["records"] if "/deploys/" in k]) == 1

    started = time.monotonic()
    second = fresh_shell(clone, "make demo")
    seconds = time.monotonic() - started
    out = second.stdout + second.stderr
    assert second.returncode == 0, out[-4000:]
    with capsys.disabled():
        print(f"\nsecond make demo: {seconds:.1f} s")
    assert "npm ci --no-audit" not in out and "npm ci (" not in out, out[-4000:]
    assert "ui: npm run build skipped" in out and "npm run build (" not in out, out[-4000:]
    assert files_state(clone) == files                          # no install, no build: markers and dist untouched
    assert emulator_state(clone) == state                       # no new record, no second copy of the logs
    assert "no new release record" in second.stdout
    missing = commands_missing_local(first.stdout + first.stderr + out)
    assert missing == [], missing

    # a --local failure's hint names --local too
    bad = fresh_shell(clone, "source .venv/bin/activate && inv rollback --to nope --local --yes")
    assert bad.returncode == 2 and "inv releases --local" in bad.stderr, bad.stderr

    # the README, as written, in a fresh shell
    commands = readme_commands()
    assert "source .venv/bin/activate" in commands and "make demo" in commands and "make test" in commands
    activate = "source .venv/bin/activate && "
    for command in commands:
        if command.startswith(("make ", "source ")):
            continue
        assert command.startswith("inv "), command
        task = command.split()[1] if not command.startswith("inv --") else None
        runs_here = ("--local" in command or (task or "").startswith("local.")
                     or command in ("inv --list", "inv config", "inv build", "inv --help deploy-lambda"))
        if runs_here:
            result = fresh_shell(clone, activate + command, timeout=600)
            assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
            assert commands_missing_local(result.stdout + result.stderr) == [] or "--local" not in command
        else:   # targets AWS: the task and every flag written must exist
            helped = fresh_shell(clone, activate + f"inv --help {task}", timeout=120)
            assert helped.returncode == 0, (command, helped.stderr)
            for flag in re.findall(r"(--[a-z][a-z-]*)", command):
                assert flag in helped.stdout, (command, flag)
