"""Shared fixtures: moto in-process and on 127.0.0.1, and `inv` run as a real subprocess."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

# The real infrastructure/ applied to moto once per session; each test gets an exact copy.
from tests.support.tf_applied import applied_infra, applied_template, local_emulator, local_settings  # noqa: F401,E402


def pytest_sessionfinish(session, exitstatus):
    """Under `make test` (TARS_NO_SKIPS=1) a skipped test fails the run: a test that cannot run on
    the CI machine (no terraform, no Chromium...) must not pass as if it had proven something."""
    if os.environ.get("TARS_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        for report in skipped:
            sys.stderr.write(f"skipped under make test: {report.nodeid}: {report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


ROOT = Path(__file__).resolve().parent.parent
FAKES = ROOT / "tests" / "fakes"
REGION = "us-east-1"

# Tests never talk to a real AWS account, never wait for real, never read the developer's config.
_SAFE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "TARS_WAITER_DELAY": "0.01",
    "TARS_MAX_ATTEMPTS": "3",
    "NO_COLOR": "1",
}


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("TARS_", "AWS_")) or key in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "VITE_API_ENDPOINT"):
            monkeypatch.delenv(key, raising=False)
    for key, value in _SAFE_ENV.items():
        monkeypatch.setenv(key, value)

    yield


@pytest.fixture
def clients():
    """The boto3 clients of a run against whatever the test set up (moto in-process, or the
    emulator AWS_ENDPOINT_URL names): for tests that call aws/ functions directly."""
    from tars_tasks.aws.clients import Clients

    return Clients(region=REGION, max_attempts=3)


@pytest.fixture
def aws(monkeypatch):
    """moto in-process (unit tests)."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture(scope="session")
def moto_server():
    """moto's server on 127.0.0.1 for the whole session; tests reset it through `endpoint`."""
    from moto.server import ThreadedMotoServer

    from tars_tasks.local.processes import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def endpoint(moto_server, monkeypatch):
    """A wiped emulator, with boto3 in this process pointed at it."""
    req = urllib.request.Request(moto_server + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


def inv_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()}
    env.update(extra or {})
    env["PYTHONPATH"] = str(ROOT)
    if env.get("DEPLOY_CALLS_LOG"):  # bench/deploy_role_actions.py records the tasks' AWS calls
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "support" / "aws_calls"), str(ROOT)])
    return env


@pytest.fixture
def run_inv():
    """Run `inv ...` as a user runs it, in a subprocess, against whatever the env points at."""

    def run(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "invoke", "-r", str(ROOT), *args]
        return subprocess.run(cmd, cwd=str(cwd or ROOT), env=inv_env(env), capture_output=True, text=True,
                              timeout=timeout, input=input if input is not None else "")

    return run


@pytest.fixture
def project(tmp_path):
    """A private copy of the deployable sources; point tasks at it with TARS_ROOT."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("lambda_src", "invoke.yaml"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy(src, root / name)
    # share the dependency cache so tests do not reinstall wheels
    (root / ".tars").mkdir()
    cache = ROOT / ".tars" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (root / ".tars" / "cache").symlink_to(cache)
    return root
