"""Secrets never leave the process: a full local deploy (`inv deploy --all --local --yes`) run with a
known fake GitHub token and AWS secret key in its environment, then every place a secret could leak
is scanned: the output, the --json report, every log group of the emulator, every S3 object (release
records under releases/ included), the argv of every process local mode started
(/proc/<pid>/cmdline), the argv the container engine received (the fake docker records it: local mode
runs no engine, so deploy-mcp is also run against the same emulator as a non-local deploy), and the
Lambda zip (every member).
"""
from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest

from bench.scenarios.clone import copy_components, stop_recorded
from tars_tasks.local import processes
from tests.conftest import FAKES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GITHUB_TOKEN = "ghp_FAKEtokenFORtheSECRETStest0123456789ab"
AWS_SECRET = "fakeSECRETkeyFORtheSECRETStest/0123456789"
SECRETS = (GITHUB_TOKEN, AWS_SECRET)


@pytest.fixture
def root(tmp_path, run_inv, local_emulator):
    """A copy of the project (UI dependencies hard-linked from the checkout when installed)."""
    root = copy_components(tmp_path / "project")
    local_emulator(root)   # the once-applied infrastructure/ (tests/support/tf_applied.py), no apply here
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-qm", "x"],
                   cwd=root, check=True)
    yield root
    run_inv("local.down", env={"TARS_ROOT": str(root)})
    stop_recorded(root)   # never leave one behind


def leaks(text: str | bytes, where: str) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return [f"{where}: {s[:8]}..." for s in SECRETS if s in text]


def test_no_secret_reaches_output_reports_logs_records_argv_or_zip(root, run_inv, tmp_path):
    docker_log = tmp_path / "docker.log"
    env = {"TARS_ROOT": str(root), "GITHUB_TOKEN": GITHUB_TOKEN, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
           "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE", "FAKE_DOCKER_LOG": str(docker_log),
           "PATH": f"{FAKES}:{os.environ['PATH']}", "TARS_CONTAINER_ENGINE": "docker"}
    report = tmp_path / "deploy.json"
    found: list[str] = []

    deployed = run_inv("deploy", "--all", "--local", "--yes", "--json", str(report), env=env, timeout=600)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    found += leaks(deployed.stdout + deployed.stderr, "deploy output")
    found += leaks(report.read_text(), "deploy --json report")

    # the processes local mode started: their argv while they run
    proc_dir = root / ".tars" / "local" / "proc"
    started = list(processes.recorded(proc_dir))
    assert {p.name for p in started} >= {"emulator"}, started
    for proc in started:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert cmdline, f"{proc.name} ({proc.pid}) is not running"
        found += leaks(cmdline.replace(b"\0", b" "), f"argv of {proc.name}")

    # the container engine's argv: a non-local deploy-mcp against the same emulator and env
    url = processes.read(proc_dir, "emulator").url
    mcp = run_inv("deploy-mcp", "--env", "local", "--yes", "--timeout", "1", "--json", str(tmp_path / "mcp.json"),
                  env={**env, "AWS_ENDPOINT_URL": url, "MOTO_ECS_SERVICE_RUNNING": "1"}, timeout=300)
    assert "Traceback" not in mcp.stderr, mcp.stderr[-3000:]
    found += leaks(mcp.stdout + mcp.stderr, "deploy-mcp output")
    if (tmp_path / "mcp.json").exists():
        found += leaks((tmp_path / "mcp.json").read_text(), "deploy-mcp --json report")
    engine_calls = [json.loads(line) for line in docker_log.read_text().splitlines()]
    verbs = [c["argv"][1] for c in engine_calls]
    assert "login" in verbs and "build" in verbs, (verbs, mcp.stdout[-2000:], mcp.stderr[-2000:])
    for c in engine_calls:
        found += leaks(" ".join(c["argv"]), f"docker argv {c['argv'][1]}")
        found += leaks(json.dumps({k: v for k, v in c.items() if k not in ("argv", "stdin")}), "docker call")
    login = next(c for c in engine_calls if c["argv"][1] == "login")
    assert "--password-stdin" in login["argv"] and login["stdin"], "the registry password goes on stdin"
    assert login["stdin"].strip() not in " ".join(login["argv"])

    # the emulator: every log group, every S3 object (release records included)
    clients = {n: boto3.client(n, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                               aws_secret_access_key="testing") for n in ("logs", "s3", "lambda")}
    groups = [g["logGroupName"] for g in clients["logs"].describe_log_groups()["logGroups"]]
    assert groups
    events = 0
    for group in groups:
        for page in clients["logs"].get_paginator("filter_log_events").paginate(logGroupName=group):
            for e in page["events"]:
                events += 1
                found += leaks(e["message"], f"log group {group}")
    assert events > 0, groups  # the runtime's log lines were scanned, not an empty emulator
    records = []
    for bucket in (b["Name"] for b in clients["s3"].list_buckets()["Buckets"]):
        for page in clients["s3"].get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                if obj["Key"].startswith("releases/"):
                    records.append(obj["Key"])
                body = clients["s3"].get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                found += leaks(body, f"s3://{bucket}/{obj['Key']}")
    assert any(k.startswith("releases/local/deploys/") for k in records), records

    # the Lambda zip: the built one and the one the function runs
    with zipfile.ZipFile(root / "dist" / "lambda.zip") as zf:
        for name in zf.namelist():
            found += leaks(zf.read(name), f"dist/lambda.zip:{name}")
    fn = clients["lambda"].get_function(FunctionName="sre-poc-incident-handler", Qualifier="production")
    found += leaks(json.dumps(fn["Configuration"], default=str), "function configuration")

    # and the status report, which reads everything back
    status = run_inv("status", "--local", "--json", str(tmp_path / "status.json"), env=env)
    found += leaks(status.stdout + status.stderr, "status output")
    found += leaks((tmp_path / "status.json").read_text(), "status --json report")

    assert found == [], found
