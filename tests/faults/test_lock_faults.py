"""The deploy lock when a conditional PutItem reaches DynamoDB but its answer is lost (connection
reset after the write): botocore's standard mode retries it, the retry's condition fails against
our own item, and the lock must still count as ours, not refuse this run naming itself."""
from __future__ import annotations

import random

import boto3
import pytest

from tars_tasks import lock
from tars_tasks.errors import Refused
from tars_tasks.settings import Settings
from bench.scenarios.fault_proxy import FaultPlan, FaultProxy

TABLE = "sre-poc-deploy-locks"
KEY = {"lock_id": {"S": "sre-poc/dev"}}


def lost_then_delivered(rate: float = 0.5) -> int:
    """A seed whose first roll faults and second does not (the proxy rolls roll, kind per request)."""
    for seed in range(1000):
        rng = random.Random(seed)
        first = rng.random()
        rng.choice(("lost",))
        if first < rate and rng.random() >= rate:
            return seed
    raise AssertionError("no such seed")


def make_table(endpoint):
    boto3.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}])


def item(endpoint):
    return boto3.client("dynamodb", endpoint_url=endpoint).get_item(TableName=TABLE, Key=KEY,
                                                                    ConsistentRead=True).get("Item")


@pytest.mark.parametrize("expired_holder", [False, True], ids=["free", "takeover"])
def test_lock_put_applied_but_answer_lost_is_still_ours(endpoint, project, monkeypatch, expired_holder):
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    make_table(endpoint)
    if expired_holder:   # a dead deploy's lock, lease over: the put is the conditional takeover
        boto3.client("dynamodb", endpoint_url=endpoint).put_item(TableName=TABLE, Item={
            **KEY, "holder": {"S": "dead"}, "pid": {"N": "1"}, "command": {"S": "deploy-ui"},
            "started": {"S": "2026-01-01T00:00:00Z"}, "expires_at": {"N": "1"}, "token": {"S": "old"}})
    plan = FaultPlan(rate=0.5, seed=lost_then_delivered(), kinds=("lost",), only=("PutItem",))
    with FaultProxy(endpoint, plan) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        settings = Settings.load(None, root=project, environ={"AWS_ENDPOINT_URL": proxy.url})
        with lock.hold(settings, "deploy-lambda") as holder:
            held = item(endpoint)
        puts = [r for r in plan.records if r.operation == "PutItem"]
    # free: [lost, retried]; takeover: [lost (refused: held), retried, takeover lost, retried]
    assert [r.fault for r in puts] == (["lost", None, "lost", None] if expired_holder else ["lost", None])
    assert held["token"]["S"] == holder["token"] and held["command"]["S"] == "deploy-lambda"
    assert item(endpoint) is None, "released on exit"


def test_a_live_foreign_lock_is_still_refused(endpoint, project, monkeypatch):
    make_table(endpoint)
    boto3.client("dynamodb", endpoint_url=endpoint).put_item(TableName=TABLE, Item={
        **KEY, "holder": {"S": "alice"}, "pid": {"N": "42"}, "command": {"S": "deploy-ui"},
        "started": {"S": "now"}, "expires_at": {"N": "99999999999"}, "token": {"S": "alice-token"}})
    settings = Settings.load(None, root=project, environ={})
    with pytest.raises(Refused) as err:
        with lock.hold(settings, "deploy-lambda"):
            pass
    assert "alice" in err.value.message and "pid 42" in err.value.message
    assert item(endpoint)["token"]["S"] == "alice-token"
