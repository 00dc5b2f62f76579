import time

import boto3
import pytest

from tars_tasks import lock
from tars_tasks.aws import dynamodb
from tars_tasks.errors import Refused
from tars_tasks.settings import Settings
from tars_tasks.tables import create_all


@pytest.fixture
def settings(aws, tmp_path):
    create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")
    s = Settings.load(None, root=tmp_path, environ={"TARS_LOCK_LEASE_SECONDS": "60"})
    return s


def test_second_holder_is_refused_and_lock_released_after(clients, settings):
    with lock.hold(settings, "deploy-lambda"):
        assert dynamodb.read_lock(clients, settings.lock_table, lock.lock_id(settings))["command"] == "deploy-lambda"
        # another process (not this one's re-entrant hold) asking for the lock is refused
        with pytest.raises(Refused) as err:
            dynamodb.acquire_lock(clients, settings.lock_table, lock.lock_id(settings),
                                  {"holder": "b@box", "pid": 2, "commit": "y", "command": "deploy-ui",
                                   "started": "now", "expires_at": 9e12, "token": "other"}, now=time.time())
        assert "deploy-lambda" in err.value.message and err.value.exit_code == 3
    assert dynamodb.read_lock(clients, settings.lock_table, lock.lock_id(settings)) is None


def test_live_lock_of_another_process_refuses_hold(clients, settings):
    dynamodb.acquire_lock(clients, settings.lock_table, lock.lock_id(settings),
                          {"holder": "b@box", "pid": 2, "commit": "y", "command": "deploy-ui",
                           "started": "now", "expires_at": time.time() + 600, "token": "other"}, now=time.time())
    with pytest.raises(Refused) as err:
        with lock.hold(settings, "deploy-lambda"):
            pass
    assert "b@box" in err.value.message and "deploy-ui" in err.value.message
    assert dynamodb.read_lock(clients, settings.lock_table, lock.lock_id(settings))["token"] == "other"


def test_released_when_body_fails(clients, settings):
    with pytest.raises(RuntimeError):
        with lock.hold(settings, "deploy-lambda"):
            raise RuntimeError("boom")
    assert dynamodb.read_lock(clients, settings.lock_table, lock.lock_id(settings)) is None


def test_expired_lease_is_taken_over(clients, settings):
    now = [1000.0]
    dynamodb.acquire_lock(clients, settings.lock_table, lock.lock_id(settings),
                          {"holder": "dead@box", "pid": 1, "commit": "x", "command": "deploy-ui",
                           "started": "then", "expires_at": 1001.0, "token": "old"}, now=1000.0)
    with lock.hold(settings, "deploy-lambda", clock=lambda: 5000.0) as holder:
        assert holder["command"] == "deploy-lambda"
    assert dynamodb.read_lock(clients, settings.lock_table, lock.lock_id(settings)) is None


def test_missing_table_runs_unlocked(aws, tmp_path):
    s = Settings.load(None, root=tmp_path, environ={})
    with lock.hold(s, "deploy-lambda") as holder:
        assert holder is None


def test_nested_hold_in_same_process_is_a_no_op(clients, settings):
    lid = lock.lock_id(settings)
    with lock.hold(settings, "deploy --all") as outer:
        assert lock.held_here(settings)
        with lock.hold(settings, "deploy-lambda") as inner:
            assert inner is outer
            assert dynamodb.read_lock(clients, settings.lock_table, lid)["command"] == "deploy --all"
        # the nested exit did not release the outer lock
        assert dynamodb.read_lock(clients, settings.lock_table, lid)["token"] == outer["token"]
    assert dynamodb.read_lock(clients, settings.lock_table, lid) is None
    assert not lock.held_here(settings)


def test_nested_guard_is_per_environment(clients, settings):
    other = settings.replace(env="prod")
    with lock.hold(settings, "deploy --all"):
        with lock.hold(other, "deploy-lambda"):
            assert dynamodb.read_lock(clients, settings.lock_table, lock.lock_id(other))["command"] == "deploy-lambda"
    assert dynamodb.read_lock(clients, settings.lock_table, lock.lock_id(other)) is None


def test_nested_hold_takes_the_real_lock_once_the_table_exists(clients, aws, tmp_path):
    s = Settings.load(None, root=tmp_path, environ={})
    with lock.hold(s, "deploy --all") as outer:
        assert outer is None  # no table yet: unlocked
        create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")  # infra created it
        with lock.hold(s, "deploy --all") as late:
            assert dynamodb.read_lock(clients, s.lock_table, lock.lock_id(s))["token"] == late["token"]
            with lock.hold(s, "deploy-lambda") as inner:  # components inside: re-entrant no-op
                assert inner is late
        assert dynamodb.read_lock(clients, s.lock_table, lock.lock_id(s)) is None
        assert lock.held_here(s)  # back to the outer, unlocked hold
    assert not lock.held_here(s)
