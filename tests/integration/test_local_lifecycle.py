"""Local mode as a user drives it: `inv local.up/down/status`, `inv seed-logs --local`, and a killed
emulator (clear error, `inv local.up` recovers, the local Terraform state is reset with it). Real
subprocesses, a real emulator process; where the infrastructure is needed, a fork of the session's
once-applied infrastructure/ (tests/support/tf_applied.py)."""
from __future__ import annotations

import json
import os
import signal
import textwrap

import pytest

from tars_tasks.errors import TarsError
from tars_tasks.aws import s3
from tars_tasks.local import emulator, processes, services
from tars_tasks.settings import Settings
from tests.support.tf_applied import deploy_local_infrastructure

SAMPLE = textwrap.dedent('''
    import time

    GROUPS = {"/ecs/payment-service": ["ERROR PaymentProcessorException: card declined"] * 3 + ["INFO ok"],
              "/ecs/order-service": ["INFO order placed"] * 2,
              "/ecs/inventory-service": ["ERROR CONNECTION_TIMEOUT"]}

    def seed(logs_client, now_ms=None):
        now_ms = now_ms or int(time.time() * 1000)
        counts = {}
        for group, lines in GROUPS.items():
            try:
                logs_client.create_log_group(logGroupName=group)
            except logs_client.exceptions.ResourceAlreadyExistsException:
                pass
            logs_client.create_log_stream(logGroupName=group, logStreamName=f"seed-{now_ms}")
            logs_client.put_log_events(logGroupName=group, logStreamName=f"seed-{now_ms}", logEvents=[
                {"timestamp": now_ms - 1000 + i, "message": m} for i, m in enumerate(lines)])
            counts[group] = len(lines)
        return counts
''')


@pytest.fixture
def root(tmp_path, run_inv):
    (tmp_path / "lambda_src").mkdir()
    (tmp_path / "lambda_src" / "sample_data.py").write_text(SAMPLE)
    yield tmp_path
    run_inv("local.down", env={"TARS_ROOT": str(tmp_path)})
    for proc in processes.recorded(tmp_path / ".tars" / "local" / "proc"):  # never leave one behind
        processes.stop(tmp_path / ".tars" / "local" / "proc", proc.name)


def emulator_settings(root) -> Settings:
    s = Settings.load(None, root=root, local=True)
    s.target.start(s)
    return s


def test_seed_logs_local_writes_the_sample_groups(root, run_inv):
    r = run_inv("seed-logs", "--local", "--json", str(root / "seed.json"), env={"TARS_ROOT": str(root)})
    assert r.returncode == 0, r.stderr
    assert "/ecs/payment-service" in r.stdout
    assert json.loads((root / "seed.json").read_text())["log_groups"]["/ecs/payment-service"] == 4
    import boto3

    url = processes.read(root / ".tars" / "local" / "proc", "emulator").url
    logs = boto3.client("logs", endpoint_url=url)
    events = logs.filter_log_events(logGroupName="/ecs/payment-service", filterPattern="ERROR")["events"]
    assert len(events) == 3


def test_seed_logs_again_keeps_one_copy_of_the_sample(root, run_inv):
    """The real generator: the chat's error count (25 payment-service errors) must not grow per run."""
    import shutil

    import boto3

    from tests.conftest import ROOT

    shutil.copy(ROOT / "lambda_src" / "sample_data.py", root / "lambda_src" / "sample_data.py")
    env = {"TARS_ROOT": str(root)}
    counts = []
    for _ in range(3):
        r = run_inv("seed-logs", "--local", env=env)
        assert r.returncode == 0, r.stderr
        logs = boto3.client("logs", endpoint_url=processes.read(root / ".tars" / "local" / "proc", "emulator").url)
        errors = logs.filter_log_events(logGroupName="/ecs/payment-service", filterPattern="ERROR")["events"]
        streams = logs.describe_log_streams(logGroupName="/ecs/payment-service")["logStreams"]
        counts.append((len(errors), len(streams)))
    assert counts == [(25, 1)] * 3, counts
    assert "replacing the previous copy" in r.stdout


def test_seed_logs_without_the_generator_is_a_clear_config_error(root, run_inv):
    (root / "lambda_src" / "sample_data.py").unlink()
    r = run_inv("seed-logs", "--local", env={"TARS_ROOT": str(root)})
    assert r.returncode == 2
    assert "sample_data.py not found" in r.stderr + r.stdout and "Traceback" not in r.stderr


def test_killed_emulator_gives_a_clear_error_and_local_up_recovers(root, run_inv, local_emulator):
    env = {"TARS_ROOT": str(root)}
    local_emulator(root)
    assert run_inv("local.up", env=env).returncode == 0
    s = emulator_settings(root)
    deploy_local_infrastructure(s)
    s = emulator_settings(root)
    first = processes.read(services.proc_dir(s), "emulator")


    calls = []

    def kill_on_third_call(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            os.kill(first.pid, signal.SIGKILL)

    s.clients("s3").meta.events.register("before-call", kill_on_third_call)
    with pytest.raises(TarsError) as err:
        for _ in range(5):
            s3.list_objects(s.clients, s.ui_bucket)
    assert "does not answer" in err.value.message and "inv local.up" in err.value.hint

    status = run_inv("local.status", env=env)
    assert "emulator" in status.stdout and "dead" in status.stdout
    assert f"TARS UI: {s.site_url}/" in status.stdout
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as site_err:
        urllib.request.urlopen(s.site_url + "/", timeout=30)
    assert site_err.value.code == 502 and b"emulator did not answer" in site_err.value.read()

    up = run_inv("local.up", env=env)
    assert up.returncode == 0, up.stderr
    assert "emulator started" in up.stdout and "deploy --all --local" in up.stdout + up.stderr
    second = processes.read(services.proc_dir(s), "emulator")
    assert second.pid != first.pid and second.port == first.port
    s = emulator_settings(root)
    work = root / ".tars" / "local" / "emulator-terraform"
    assert (work / "terraform.tfstate").is_file()
    local = s.target.infrastructure(s).local        # what every plan prepares first: its state went
    assert not (work / "terraform.tfstate").exists()    # with the process, so Terraform's goes too
    assert not local.unchanged()                   # and the next deploy plans (from empty)
    assert "instance" in json.loads((work / "plan-because.json").read_text())["changed"]

    # any --local task brings back a runtime or site server that is not running
    processes.stop(services.proc_dir(s), services.SITE)
    processes.stop(services.proc_dir(s), services.RUNTIME)
    assert run_inv("seed-logs", "--local", env=env).returncode == 0
    assert services.running(s, services.SITE) and services.running(s, services.RUNTIME)

    down = run_inv("local.down", env=env)
    assert down.returncode == 0
    assert all(name in down.stdout for name in ("emulator", "runtime", "site"))
    assert processes.recorded(services.proc_dir(s)) == []
    assert processes._gone(second.pid)


def test_two_tasks_at_once_start_each_server_once(root, run_inv, local_emulator):
    import concurrent.futures

    env = {"TARS_ROOT": str(root)}
    local_emulator(root)
    assert run_inv("local.up", env=env).returncode == 0
    s = emulator_settings(root)
    deploy_local_infrastructure(s)
    for name in (services.RUNTIME, services.SITE):   # what a deployment left, its servers not running
        processes.stop(services.proc_dir(s), name)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_inv("seed-logs", "--local", env=env), range(2)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert services.running(s, services.RUNTIME) and services.running(s, services.SITE)
