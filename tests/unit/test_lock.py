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
    from tars_tasks.aws import session
    session.configure(s)
    return s


def test_second_holder_is_refused_and_lock_released_after(settings):
    with lock.hold(settings, "deploy-lambda"):
        assert dynamodb.read_lock(settings.lock_table, lock.lock_id(settings))["command"] == "deploy-lambda"
        with pytest.raises(Refused) as err:
            with lock.hold(settings, "deploy-ui"):
                pass
        assert "deploy-lambda" in err.value.message and err.value.exit_code == 3
    assert dynamodb.read_lock(settings.lock_table, lock.lock_id(settings)) is None


def test_released_when_body_fails(settings):
    with pytest.raises(RuntimeError):
        with lock.hold(settings, "deploy-lambda"):
            raise RuntimeError("boom")
    assert dynamodb.read_lock(settings.lock_table, lock.lock_id(settings)) is None


def test_expired_lease_is_taken_over(settings):
    now = [1000.0]
    dynamodb.acquire_lock(settings.lock_table, lock.lock_id(settings),
                          {"holder": "dead@box", "pid": 1, "commit": "x", "command": "deploy-ui",
                           "started": "then", "expires_at": 1001.0, "token": "old"}, now=1000.0)
    with lock.hold(settings, "deploy-lambda", clock=lambda: 5000.0) as holder:
        assert holder["command"] == "deploy-lambda"
    assert dynamodb.read_lock(settings.lock_table, lock.lock_id(settings)) is None


def test_missing_table_runs_unlocked(aws, tmp_path):
    s = Settings.load(None, root=tmp_path, environ={})
    from tars_tasks.aws import session
    session.configure(s)
    with lock.hold(s, "deploy-lambda") as holder:
        assert holder is None
