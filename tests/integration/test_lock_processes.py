"""The deploy lock across real processes sharing one emulator (moto server).

Each process is tests/fakes/hold_lock.py, which takes the lock through lock.hold exactly as a task
body does (its clock can be shifted, so a lease expires without the test sleeping). The same race
between two real `inv deploy-lambda` processes is in test_lock_deploy_lambda.py.
"""
import os
import signal
import subprocess
import sys
import time

import boto3
import pytest

from tars_tasks.tables import create_all
from tests.conftest import ROOT, inv_env

SCRIPT = ROOT / "tests" / "fakes" / "hold_lock.py"
KEY = {"lock_id": {"S": "sre-poc/dev"}}


@pytest.fixture
def ddb(endpoint):
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
    create_all(client, "sre-poc")
    return client


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path):
    """Even when an assertion fails: release the holders and stop every process this test started."""
    yield
    (tmp_path / "go").touch()
    (tmp_path / "release").touch()
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def start(tmp_path, mode, endpoint, offset=0.0, lease="1800"):
    env = inv_env({"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(tmp_path), "TARS_LOCK_LEASE_SECONDS": lease})
    proc = _popen(tmp_path, mode, offset, env)
    STARTED.append(proc)
    return proc


def _popen(tmp_path, mode, offset, env):
    return subprocess.Popen([sys.executable, str(SCRIPT), mode, str(tmp_path / "go"), str(tmp_path / "release"),
                             str(offset)], env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_held(proc):
    line = proc.stdout.readline()
    assert line.startswith("HELD"), (line, proc.stderr.read() if proc.poll() is not None else "")
    return int(line.split()[1])


def item(ddb):
    return ddb.get_item(TableName="sre-poc-deploy-locks", Key=KEY, ConsistentRead=True).get("Item")


def test_two_processes_started_together_exactly_one_holds(ddb, endpoint, tmp_path):
    a, b = start(tmp_path, "hold", endpoint), start(tmp_path, "hold", endpoint)
    (tmp_path / "go").touch()
    # the loser exits 3 on its own; the winner holds until released
    procs = {a.pid: a, b.pid: b}
    deadline = time.monotonic() + 60
    while all(p.poll() is None for p in procs.values()) and time.monotonic() < deadline:
        time.sleep(0.02)
    loser = next(p for p in procs.values() if p.poll() is not None)
    winner = next(p for p in procs.values() if p is not loser)
    assert loser.returncode == 3, loser.stderr.read()
    assert winner.poll() is None
    assert wait_held(winner) == winner.pid
    message = loser.stderr.read()
    assert f"pid {winner.pid}" in message and "test-hold" in message
    assert item(ddb)["pid"]["N"] == str(winner.pid)
    (tmp_path / "release").touch()
    assert winner.wait(timeout=30) == 0
    assert item(ddb) is None


def test_lock_released_after_failure(ddb, endpoint, tmp_path):
    (tmp_path / "go").touch()
    proc = start(tmp_path, "fail", endpoint)
    assert proc.wait(timeout=60) == 1
    assert item(ddb) is None


def test_lock_released_after_sigint(ddb, endpoint, tmp_path):
    (tmp_path / "go").touch()
    proc = start(tmp_path, "hold", endpoint)
    wait_held(proc)
    assert item(ddb) is not None
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert item(ddb) is None


def test_lease_of_a_killed_process_is_taken_over_after_it_expires(ddb, endpoint, tmp_path):
    (tmp_path / "go").touch()
    dead = start(tmp_path, "hold", endpoint, lease="5")
    dead_pid = wait_held(dead)
    os.kill(dead_pid, signal.SIGKILL)
    dead.wait(timeout=30)
    assert item(ddb)["pid"]["N"] == str(dead_pid)  # a SIGKILL leaves the lease behind
    early = start(tmp_path, "hold", endpoint, lease="5")
    assert early.wait(timeout=60) == 3  # not expired yet: refused
    assert str(dead_pid) in early.stderr.read()
    # the second process's clock is 10 s ahead: the 5 s lease has expired for it
    later = start(tmp_path, "hold", endpoint, offset=10, lease="5")
    assert wait_held(later) == later.pid
    (tmp_path / "release").touch()
    assert later.wait(timeout=30) == 0
    assert "took over an expired deploy lock" in later.stderr.read()
    assert item(ddb) is None
