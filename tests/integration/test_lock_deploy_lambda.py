"""Two real `inv deploy-lambda` processes started together against one emulator: exactly one
deploys, the other exits 3 naming the holder; Ctrl-C while holding releases the lock.

A test-only sitecustomize (tests/support/lock_pause) pauses each process right after it took the lock,
so the two runs overlap for certain instead of by timing.
"""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import boto3
import pytest

pytest.importorskip("tars_tasks.steps.lambda_", reason="deploy-lambda (branch lambda) is not on this branch yet")

from tests.conftest import ROOT, inv_env  # noqa: E402

FN = "sre-poc-incident-handler"
KEY = {"lock_id": {"S": "sre-poc/dev"}}


@pytest.fixture
def setup(endpoint, project, tmp_path):
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName="sre-poc-deploy-locks", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}])
    role = boto3.client("iam").create_role(RoleName="tars-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "placeholder = 1")
    boto3.client("lambda").create_function(FunctionName=FN, Runtime="python3.11", Role=role,
                                           Handler="handler.lambda_handler", Code={"ZipFile": buf.getvalue()})
    held = tmp_path / "held"
    held.mkdir()
    env = inv_env({"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project), "TARS_TEST_HELD_DIR": str(held),
                   "TARS_TEST_RELEASE_FILE": str(tmp_path / "release")})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "support" / "lock_pause"), str(ROOT)])
    # a second checkout: two engineers (or two CI jobs) deploying the same environment
    other = tmp_path / "checkout2"
    shutil.copytree(project, other, symlinks=True, ignore=shutil.ignore_patterns("dist"))
    return env, held, tmp_path / "release", other


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path):
    """Even when an assertion fails: release the pause and stop every process this test started."""
    yield
    (tmp_path / "release").touch()
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def start(env, root=None):
    if root is not None:
        env = dict(env, TARS_ROOT=str(root))
    proc = _popen(env)
    STARTED.append(proc)
    return proc


def _popen(env):
    return subprocess.Popen([sys.executable, "-m", "invoke", "-r", str(ROOT), "deploy-lambda", "--yes", "--no-smoke"],
                            cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait(predicate, seconds=120):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def lock_item():
    return boto3.client("dynamodb").get_item(TableName="sre-poc-deploy-locks", Key=KEY, ConsistentRead=True).get("Item")


def test_two_deploys_exactly_one_runs_the_other_exits_3(setup):
    env, held, release, other = setup
    a, b = start(env), start(env, other)
    wait(lambda: any(held.iterdir()) and (a.poll() is not None or b.poll() is not None))
    winner_pid = int(next(held.iterdir()).name)
    winner, loser = (a, b) if a.pid == winner_pid else (b, a)
    code = loser.wait(timeout=60)
    assert code == 3, loser.stderr.read()
    err = loser.stderr.read()
    assert f"pid {winner_pid}" in err and "deploy-lambda" in err and "Traceback" not in err
    assert lock_item()["pid"]["N"] == str(winner_pid)
    release.touch()
    out, err = winner.communicate(timeout=300)
    assert winner.returncode == 0, err
    versions = [v["Version"] for v in boto3.client("lambda").list_versions_by_function(FunctionName=FN)["Versions"]]
    assert versions == ["$LATEST", "1"]  # exactly one deploy published
    assert lock_item() is None


def test_ctrl_c_while_holding_releases_the_lock(setup):
    env, held, release, _ = setup
    proc = start(env)
    wait(lambda: any(held.iterdir()))
    assert lock_item() is not None
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert lock_item() is None
    versions = [v["Version"] for v in boto3.client("lambda").list_versions_by_function(FunctionName=FN)["Versions"]]
    assert versions == ["$LATEST"]  # interrupted before any change
