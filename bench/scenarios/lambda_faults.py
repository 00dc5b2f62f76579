"""The deploy-lambda fault scenario, shared by tests/faults/ (test_lambda_faults, test_kill,
test_boundaries) and bench/reliability_report.py: a real `inv deploy-lambda --yes` subprocess talks to the emulator
through the fault proxy; the proxy answers the smoke test's Invoke (moto runs no code) with the
health reply of the invoked version, or a failing one for a seeded share of runs.

The function is prepared in the emulator directly (not through the proxy): versions 1..3 published,
the alias on 3. A deployed run must end on version 4 (smoke passed), versions 2, 3, 4 kept.
"""
from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3

from bench.scenarios.fault_proxy import FaultPlan, FaultProxy, Record

ROOT = Path(__file__).resolve().parents[2]
NOBACKOFF = ROOT / "tests" / "support" / "nobackoff"
FN = "sre-poc-incident-handler"
ALIAS = "production"
LOCK_TABLE = "sre-poc-deploy-locks"
INVOKE = f"lambda:POST /2015-03-31/functions/{FN}/invocations"
PREVIOUS = "3"
PUBLISH = f"lambda:POST /2015-03-31/functions/{FN}/versions"
LOCK_KEY = {"lock_id": {"S": "sre-poc/dev"}}


def tiny_zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", text)
    return buf.getvalue()


def prepare(endpoint: str) -> None:
    """Lock table, function with versions 1..3, alias on 3: straight to the emulator."""
    ddb = boto3.client("dynamodb", endpoint_url=endpoint)
    ddb.create_table(TableName=LOCK_TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}])
    role = boto3.client("iam", endpoint_url=endpoint).create_role(
        RoleName="tars-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", endpoint_url=endpoint)
    lam.create_function(FunctionName=FN, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
                        Code={"ZipFile": tiny_zip("old = 1")})
    for n in (1, 2, 3):
        if n > 1:
            lam.update_function_code(FunctionName=FN, ZipFile=tiny_zip(f"old = {n}"))
        lam.publish_version(FunctionName=FN, Description=f"commit old{n}")
    lam.create_alias(FunctionName=FN, Name=ALIAS, FunctionVersion=PREVIOUS)


def alias_version(endpoint: str) -> str:
    return boto3.client("lambda", endpoint_url=endpoint).get_alias(FunctionName=FN, Name=ALIAS)["FunctionVersion"]


def published(endpoint: str) -> list[str]:
    lam = boto3.client("lambda", endpoint_url=endpoint)
    return sorted((v["Version"] for v in lam.list_versions_by_function(FunctionName=FN)["Versions"]
                   if v["Version"] != "$LATEST"), key=int)


def code_of(endpoint: str, version: str) -> str:
    return boto3.client("lambda", endpoint_url=endpoint).get_function_configuration(
        FunctionName=FN, Qualifier=version)["CodeSha256"]


def inv_env(endpoint_url: str, root: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARS_")}
    env.update({"AWS_ENDPOINT_URL": endpoint_url, "TARS_ROOT": str(root), "TARS_TEST_NO_BACKOFF": "1",
                "TARS_WAITER_DELAY": "0.01", "TARS_MAX_ATTEMPTS": "5", "TARS_READ_TIMEOUT": "1",
                "TARS_SMOKE_TIMEOUT": "5", "NO_COLOR": "1",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join([str(NOBACKOFF), str(ROOT)])
    return env


def inv_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "-r", str(ROOT), *args]


class SmokeAnswers:
    """Answers the Invoke as the Lambda runtime would: healthy, or (``healthy=False``) a 500 reply."""

    def __init__(self, healthy: bool = True):
        self.healthy = healthy
        self.passed: list[str] = []     # versions that got a healthy reply
        self.answered: list[str] = []

    def __call__(self, method: str, path: str, body: bytes):
        version = parse_qs(urlsplit(path).query).get("Qualifier", ["$LATEST"])[0]
        self.answered.append(version)
        status = 200 if self.healthy else 500
        reply = {"statusCode": status, "body": json.dumps({"status": "ok" if self.healthy else "error",
                                                           "version": version})}
        if self.healthy:
            self.passed.append(version)
        return 200, {"Content-Type": "application/json", "X-Amz-Executed-Version": version}, json.dumps(reply).encode()


@dataclass
class LambdaRun:
    seed: int | str            # the fault seed, or the boundary's name
    returncode: int
    stdout: str
    stderr: str
    alias: str
    versions: list[str]
    new_sha: str
    live_sha: str
    smoke_passed: list[str]
    healthy: bool
    records: list[Record] = field(default_factory=list)
    killed: bool = False

    @property
    def deployed(self) -> bool:
        return self.returncode == 0

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def run(endpoint: str, root: Path, seed: int, rate: float = 0.2, *, delay_seconds: float = 1.5,
        timeout: float = 180) -> LambdaRun:
    """One seeded deploy-lambda through the proxy. ``endpoint`` must be freshly prepared."""
    (root / "lambda_src" / "fault_seed.py").write_text(f"SEED = {seed}\n")   # new code each run
    healthy = random.Random(f"smoke-{seed}").random() >= 0.15              # some versions fail their smoke
    answers = SmokeAnswers(healthy)
    plan = FaultPlan(rate=rate, seed=seed, delay_seconds=delay_seconds)
    report = root / f"report-{seed}.json"
    with FaultProxy(endpoint, plan, answers={INVOKE: answers}) as proxy:
        done = subprocess.run(inv_command("deploy-lambda", "--yes", "--json", str(report)), cwd=str(ROOT),
                              env=inv_env(proxy.url, root), capture_output=True, text=True, timeout=timeout)
    data = json.loads(report.read_text()) if report.exists() else {}
    new_sha = (data.get("artifact") or {}).get("sha256_b64", "")
    alias = alias_version(endpoint)
    return LambdaRun(seed, done.returncode, done.stdout, done.stderr, alias, published(endpoint), new_sha,
                     code_of(endpoint, alias), answers.passed, healthy, list(plan.records))


SMOKE_POINTS = ("kill-on-invoke", "fault-invoke-once", "failing-reply")


def boundary_run(endpoint: str, root: Path, point: str, **env: str) -> LambdaRun:
    """One `inv deploy-lambda` through the proxy (no seeded faults), acted on at the smoke test:

    - ``kill-on-invoke``: SIGKILL as the smoke Invoke arrives; it and every later request are cut;
    - ``fault-invoke-once``: the first smoke Invoke is answered 500 ServiceException (a fault botocore's
      standard mode would retry); a second Invoke would be answered healthy;
    - ``failing-reply``: the Invoke answers an unhealthy health reply (statusCode 500).
    """
    import signal

    assert point in SMOKE_POINTS, point
    (root / "lambda_src" / "fault_seed.py").write_text(f"SEED = {point!r}\n")   # new code
    answers = SmokeAnswers(healthy=point != "failing-reply")
    seen = {"cut": False, "invokes": 0, "pid": None}

    def observe(record: Record) -> str | None:
        if seen["cut"]:
            return "reset"
        if record.operation != INVOKE:
            return None
        seen["invokes"] += 1
        if point == "kill-on-invoke":
            seen["cut"] = True
            os.kill(seen["pid"], signal.SIGKILL)
            return "reset"
        return "500" if point == "fault-invoke-once" and seen["invokes"] == 1 else None

    plan = FaultPlan(rate=0.0)
    with FaultProxy(endpoint, plan, answers={INVOKE: answers}, observe=observe) as proxy:
        proc = subprocess.Popen(inv_command("deploy-lambda", "--yes"), cwd=str(ROOT),
                                env=inv_env(proxy.url, root, **env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        seen["pid"] = proc.pid
        out, err = proc.communicate(timeout=180)
    alias = alias_version(endpoint)
    return LambdaRun(point, proc.returncode, out, err, alias, published(endpoint), code_of(endpoint, "$LATEST"),
                     code_of(endpoint, alias), answers.passed, answers.healthy, list(plan.records),
                     killed=proc.returncode == -signal.SIGKILL)


def reset(endpoint: str) -> None:
    """Empty the emulator (moto's reset API)."""
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST", data=b""),
                           timeout=10).close()


def check(run: LambdaRun) -> None:
    """What every run under faults must end as (the tests assert it, the report counts "broken")."""
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    invokes = [r for r in run.records if r.operation == INVOKE]
    assert len(invokes) <= 1, f"the smoke Invoke was retried: {invokes}"
    if run.deployed:
        assert run.alias == "4", (run.alias, run.stdout, run.stderr)
        assert run.alias in run.smoke_passed, "the alias is on a version that did not pass the smoke test"
        assert run.live_sha == run.new_sha
        pruned_clean = run.versions == ["2", "3", "4"]
        assert pruned_clean or "pruning old versions failed" in run.stderr, run.versions
        assert run.alias in run.versions and PREVIOUS in run.versions
    else:
        assert run.returncode == 1, (run.returncode, run.stderr)
        assert len(run.error_lines()) == 1, run.stderr
        assert run.alias == PREVIOUS, "a failed deploy moved the alias"
        assert run.versions[:3] == ["1", "2", "3"] and len(run.versions) <= 4
        # why it failed: the smoke test (bad reply or a faulted Invoke) or a call that ran out of attempts
        faulted_invoke = any(r.fault for r in invokes)
        assert (not run.healthy and invokes) or faulted_invoke or "cannot" in run.error_lines()[0], run.stderr


def retried(run) -> list[str]:
    """Operations faulted and then tried again (by botocore) in this run."""
    seen = []
    for i, r in enumerate(run.records):
        if r.fault and any(later.operation == r.operation for later in run.records[i + 1:]):
            seen.append(r.operation)
    return seen


def start_killed_at_publish(endpoint: str, root: Path, **env: str) -> subprocess.Popen:
    """Run deploy-lambda through the proxy; SIGKILL it as its PublishVersion request arrives (the
    request still lands: the version exists, the alias move never comes)."""
    import signal

    proc = {}

    def observe(record: Record) -> None:
        if record.operation == PUBLISH and "p" in proc:
            os.kill(proc["p"].pid, signal.SIGKILL)

    smoke = SmokeAnswers()
    with FaultProxy(endpoint, FaultPlan(rate=0.0), answers={INVOKE: smoke}, observe=observe) as proxy:
        proc["p"] = subprocess.Popen(inv_command("deploy-lambda", "--yes"), cwd=str(ROOT),
                                     env=inv_env(proxy.url, root, **env), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        proc["p"].communicate(timeout=120)
    return proc["p"]


def rerun(endpoint: str, root: Path, **env: str):
    """A rerun straight to the emulator except for the smoke Invoke (answered by the proxy)."""
    smoke = SmokeAnswers()
    with FaultProxy(endpoint, FaultPlan(rate=0.0), answers={INVOKE: smoke}) as proxy:
        done = subprocess.run(inv_command("deploy-lambda", "--yes"), cwd=str(ROOT),
                              env=inv_env(proxy.url, root, **env), capture_output=True, text=True,
                              timeout=120)
    return done, smoke


def lock_item(endpoint: str) -> dict | None:
    return boto3.client("dynamodb", endpoint_url=endpoint).get_item(
        TableName=LOCK_TABLE, Key=LOCK_KEY, ConsistentRead=True).get("Item")
