"""Warm execution environments of the local runtime (issue 16.1): a worker per deployed version,
reused with its module state, replaced on a crash, a timeout, a moved alias or idleness, reported
cold once, and never left behind. Asserts behaviour (pids, counters, log events), never time."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from tars_tasks.local import processes, runtime, services, warm, warm_api
from tests.integration.test_local_runtime import FN, deploy, payload, settings  # noqa: F401 (fixture)

COUNTER = '''COUNT.append(1)
    if event and event.get("crash"):
        os._exit(3)
    if event and event.get("raise"):
        raise ValueError("boom")
    if event and event.get("sleep"):
        import time; time.sleep(event["sleep"])
    return {"pid": os.getpid(), "n": len(COUNT), "version": context.function_version}

COUNT = []  # module state: kept between invocations of one worker'''


def alive(pid: int) -> bool:
    """True while ``pid`` is a warm worker (its command line holds the worker's source)."""
    try:
        return b"warm execution environment" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.fixture
def pool(settings):  # noqa: F811
    p = warm.Pool(settings)
    yield p
    pids = [w["pid"] for w in p.workers()]
    p.close()
    assert not [pid for pid in pids if alive(pid)], "a worker outlived the pool"


def call(settings, pool, event=None, qualifier="production"):  # noqa: F811
    return runtime.invoke(settings, FN, qualifier, event or {}, timeout=30, pool=pool)


def report_lines(stream: str) -> list[str]:
    events = boto3.client("logs").get_log_events(logGroupName=f"/aws/lambda/{FN}", logStreamName=stream,
                                                  startFromHead=True)["events"]
    return [e["message"] for e in events]


def signed(settings, url: str):  # noqa: F811
    """A GET signed with the emulator's key (the local Function URL is AWS_IAM, as is the runtime's API)."""
    from tars_tasks.local import sigv4

    headers = sigv4.sign("GET", url, {}, b"", settings.clients.credentials(), settings.region)
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)


def first_stream(settings, proc) -> str:  # noqa: F811
    with signed(settings, proc.url + warm_api.WORKERS) as reply:
        return json.loads(reply.read())[0]["stream"]


def eventually(read, count: int, tries: int = 100) -> list:
    """``read()`` once it holds ``count`` items (the server ships logs after it replied)."""
    import time

    from botocore.exceptions import ClientError

    got: list = []
    for _ in range(tries):
        try:
            got = read()
        except ClientError:   # the stream is not there yet
            got = []
        if len(got) >= count:
            return got
        time.sleep(0.1)
    return got


def test_a_second_request_reuses_the_worker_and_its_module_state(settings, pool):  # noqa: F811
    deploy(settings, COUNTER)
    first, second = payload(call(settings, pool)), payload(call(settings, pool))
    assert first["pid"] == second["pid"] and (first["n"], second["n"]) == (1, 2)
    assert [w["pid"] for w in pool.workers()] == [first["pid"]]


def test_init_duration_is_reported_on_the_cold_start_only(settings, pool):  # noqa: F811
    deploy(settings, COUNTER)
    call(settings, pool)
    call(settings, pool)
    messages = report_lines(pool.workers()[0]["stream"])
    reports = [m for m in messages if m.startswith("REPORT RequestId:")]
    assert len(reports) == 2
    assert "\tInit Duration: " in reports[0] and "Init Duration" not in reports[1]
    assert "\tMax Memory Used: " in reports[1]
    assert messages[0].startswith("INIT_START") and sum(m.startswith("INIT_START") for m in messages) == 1
    assert any("TARS handler initialised" in m for m in messages[:3])   # init logs before the first START


def test_a_new_alias_target_gets_a_new_worker_and_the_old_one_stops(settings, pool):  # noqa: F811
    v1 = deploy(settings, COUNTER)
    old = payload(call(settings, pool))
    v2 = deploy(settings, COUNTER.replace('"n"', '"two"'))
    new = payload(call(settings, pool))
    assert (old["version"], new["version"]) == (v1, v2) and new["pid"] != old["pid"]
    assert not alive(old["pid"])
    assert [w["version"] for w in pool.workers()] == [v2]


def test_a_crash_answers_lambdas_error_and_the_next_request_gets_a_fresh_worker(settings, pool):  # noqa: F811
    deploy(settings, COUNTER)
    before = payload(call(settings, pool))
    crashed = call(settings, pool, {"crash": True})
    assert crashed["FunctionError"] == "Unhandled"
    error = payload(crashed)
    assert error["errorType"] == "Runtime.ExitError" and error["errorMessage"].endswith("exit status 3")
    assert not alive(before["pid"])
    after = payload(call(settings, pool))
    assert after["pid"] != before["pid"] and after["n"] == 1


def test_a_function_error_keeps_the_worker_as_lambda_does(settings, pool):  # noqa: F811
    deploy(settings, COUNTER)
    before = payload(call(settings, pool))
    failed = call(settings, pool, {"raise": True})
    assert failed["FunctionError"] == "Unhandled" and payload(failed)["errorType"] == "ValueError"
    after = payload(call(settings, pool))
    assert after["pid"] == before["pid"] and after["n"] == 3


def test_a_timeout_kills_the_worker(settings, pool):  # noqa: F811
    boto3.client("lambda").update_function_configuration(FunctionName=FN, Timeout=1)
    deploy(settings, COUNTER)
    before = payload(call(settings, pool))
    timed_out = call(settings, pool, {"sleep": 30})
    assert payload(timed_out)["errorType"] == "Sandbox.Timedout"
    assert not alive(before["pid"]) and pool.workers() == []
    assert payload(call(settings, pool))["n"] == 1


def test_the_callers_timeout_raises_like_botocore_and_frees_the_worker(settings, pool):  # noqa: F811
    from botocore.exceptions import ReadTimeoutError

    deploy(settings, COUNTER)
    before = payload(call(settings, pool))
    with pytest.raises(ReadTimeoutError):
        runtime.invoke(settings, FN, "production", {"sleep": 30}, timeout=0.5, pool=pool)
    assert not alive(before["pid"]) and pool.workers() == []


def test_concurrency_above_the_reserved_concurrency_queues(settings, pool):  # noqa: F811
    boto3.client("lambda").put_function_concurrency(FunctionName=FN, ReservedConcurrentExecutions=1)
    deploy(settings, COUNTER)
    replies: list[dict] = []
    threads = [threading.Thread(target=lambda: replies.append(call(settings, pool, {"sleep": 0.3})))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = [payload(r) for r in replies]
    assert not [r for r in replies if "FunctionError" in r]
    assert len({b["pid"] for b in bodies}) == 1 and sorted(b["n"] for b in bodies) == [1, 2, 3]


def test_without_reserved_concurrency_the_pool_grows_to_its_size(settings):  # noqa: F811
    # Terraform reserves concurrency for the function (var.lambda_reserved_concurrency): take it away
    boto3.client("lambda").delete_function_concurrency(FunctionName=FN)
    deploy(settings, COUNTER)
    pool = warm.Pool(settings, size=2)
    try:
        barrier = threading.Barrier(3)
        replies: list[dict] = []

        def one():
            barrier.wait()
            replies.append(payload(call(settings, pool, {"sleep": 0.5})))

        threads = [threading.Thread(target=one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(replies) == 3 and len({r["pid"] for r in replies}) == 2
    finally:
        pool.close()


def test_an_idle_worker_is_stopped_after_the_idle_time(settings):  # noqa: F811
    now = [1000.0]
    pool = warm.Pool(settings, idle_seconds=60, clock=lambda: now[0])
    try:
        deploy(settings, COUNTER)
        pid = payload(call(settings, pool))["pid"]
        now[0] += 59
        assert pool.reap() == [] and alive(pid)
        now[0] += 1
        assert pool.reap() == [pid] and not alive(pid)
        assert payload(call(settings, pool))["n"] == 1
    finally:
        pool.close()


def test_new_code_under_latest_gets_a_new_worker(settings, pool):  # noqa: F811
    deploy(settings, COUNTER)
    first = payload(call(settings, pool, qualifier="$LATEST"))
    boto3.client("lambda").update_function_configuration(FunctionName=FN, Environment={"Variables": {"X": "1"}})
    second = payload(call(settings, pool, qualifier="$LATEST"))
    assert second["pid"] != first["pid"] and not alive(first["pid"])


def test_tasks_reach_the_runtime_servers_warm_workers_and_local_down_leaves_none(settings, run_inv):  # noqa: F811
    deploy(settings, COUNTER)
    proc = services.start_runtime(settings)
    assert warm_api.server_url(settings) == proc.url
    first = payload(runtime.invoke(settings, FN, "production", {}, timeout=30))   # as the smoke test calls it
    with signed(settings, proc.url + "/") as reply:                                # a Function URL request
        second = json.loads(reply.read())
    assert second["pid"] == first["pid"] and second["n"] == 2
    with signed(settings, proc.url + warm_api.WORKERS) as reply:
        assert [w["pid"] for w in json.loads(reply.read())] == [first["pid"]]
    with pytest.raises(urllib.error.HTTPError) as unsigned:   # the runtime's API wants SigV4, as Invoke does
        urllib.request.urlopen(urllib.request.Request(proc.url + warm_api.INVOKE, data=b"{}", method="POST"), timeout=30)
    assert unsigned.value.code == 403
    reports = eventually(lambda: [m for m in report_lines(first_stream(settings, proc)) if m.startswith("REPORT")], 2)
    assert ["Init Duration" in r for r in reports] == [True, False]   # shipped after the replies went out
    with pytest.raises(Exception, match="not found|does not exist|ResourceNotFound"):
        runtime.invoke(settings, "no-such-function", "production", {}, timeout=30)
    down = run_inv("local.down", env={"TARS_ROOT": str(settings.root)})
    assert down.returncode == 0 and f"runtime (pid {proc.pid})" in down.stdout, down.stdout + down.stderr
    assert processes._gone(proc.pid) and not alive(first["pid"])


def test_a_worker_runs_only_the_zip_whose_sha256_is_the_deployed_code_sha256(settings, pool):  # noqa: F811
    from tars_tasks.errors import StepFailed
    from tests.integration.test_local_runtime import make_zip

    deployed, rebuilt = make_zip('return {"code": "deployed"}'), make_zip('return {"code": "rebuilt!"}')
    assert len(deployed) == len(rebuilt)   # same size: only the hash tells them apart
    deploy(settings, 'return {"code": "deployed"}', keep_in_dist=False)
    settings.dist_dir.mkdir(parents=True, exist_ok=True)
    (settings.dist_dir / "lambda.zip").write_bytes(rebuilt)
    with pytest.raises(StepFailed, match="not available locally"):
        call(settings, pool)
    assert pool.workers() == []


def test_local_down_stops_a_worker_that_is_busy_in_its_handler(settings, run_inv):  # noqa: F811
    """An idle worker also exits when the server dies (EOF on its request pipe); a busy one only
    goes because the server stops its workers by pid on SIGTERM."""
    boto3.client("lambda").update_function_configuration(FunctionName=FN, Timeout=120)
    deploy(settings, COUNTER)
    proc = services.start_runtime(settings)
    outcome: list = []

    def long_invoke():
        try:
            outcome.append(runtime.invoke(settings, FN, "production", {"sleep": 60}, timeout=120))
        except Exception as exc:  # noqa: BLE001 - the server goes away under it
            outcome.append(exc)

    thread = threading.Thread(target=long_invoke, daemon=True)
    thread.start()
    busy = eventually(lambda: [w for w in json.loads(signed(settings, proc.url + warm_api.WORKERS).read()) if w["busy"]], 1)
    assert busy and alive(busy[0]["pid"])
    assert run_inv("local.down", env={"TARS_ROOT": str(settings.root)}).returncode == 0
    assert not alive(busy[0]["pid"])
    thread.join(timeout=60)
    assert not thread.is_alive() and len(outcome) == 1   # the caller is answered, not left hanging:
    assert (isinstance(outcome[0], Exception) and "did not answer" in str(outcome[0])) or \
        payload(outcome[0])["errorType"] == "Runtime.ExitError", outcome   # the worker's exit, or the server's
