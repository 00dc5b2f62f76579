"""The fault proxy itself: faults are answered in each protocol's shape, botocore's standard
retry mode retries them, and a client with total_max_attempts=1 (the Lambda smoke invoke) is not."""
import boto3
import botocore.config
import botocore.exceptions
import pytest

from bench.scenarios.fault_proxy import FaultPlan, FaultProxy


def client(service, url, attempts=3, read_timeout=1.0):
    cfg = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": attempts},
                                 read_timeout=read_timeout, connect_timeout=1)
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", config=cfg)


@pytest.mark.parametrize("kind", ["500", "503", "throttle", "reset", "delay"])
def test_every_fault_kind_is_retried_by_standard_mode(endpoint, kind):
    plan = FaultPlan(rate=1.0, seed=1, kinds=(kind,), delay_seconds=1.5)
    with FaultProxy(endpoint, plan) as proxy:
        ddb = client("dynamodb", proxy.url)
        with pytest.raises((botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)):
            ddb.list_tables()
        assert len(plan.attempts("ListTables")) == 3  # every attempt was answered with the fault


@pytest.mark.parametrize("service,call", [("s3", lambda c: c.list_buckets()),
                                          ("sts", lambda c: c.get_caller_identity()),
                                          ("lambda", lambda c: c.list_functions())])
def test_throttling_in_each_protocol_is_recognised(endpoint, service, call):
    plan = FaultPlan(rate=1.0, seed=2, kinds=("throttle",))
    with FaultProxy(endpoint, plan) as proxy:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call(client(service, proxy.url))
    code = err.value.response["Error"]["Code"]
    assert code in ("SlowDown", "Throttling", "TooManyRequestsException")
    assert len(plan.records) == 3


def test_seeded_faults_replay_identically(endpoint):
    def run(seed):
        plan = FaultPlan(rate=0.4, seed=seed, kinds=("500", "503"))
        with FaultProxy(endpoint, plan) as proxy:
            # a generous read timeout: a slow first answer from the emulator must not add a retry
            ddb = client("dynamodb", proxy.url, attempts=10, read_timeout=30)
            for _ in range(5):
                ddb.list_tables()
        return [r.fault for r in plan.records]

    assert run(11) == run(11)
    assert any(run(11))


def test_single_attempt_client_is_never_retried(endpoint):
    plan = FaultPlan(rate=1.0, seed=3, kinds=("503",), only=("lambda:",))
    with FaultProxy(endpoint, plan) as proxy:
        lam = client("lambda", proxy.url, attempts=1)
        with pytest.raises(botocore.exceptions.ClientError):
            lam.invoke(FunctionName="anything", Payload=b"{}")
    assert len(plan.records) == 1
