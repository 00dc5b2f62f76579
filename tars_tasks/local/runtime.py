"""The local function runtime: runs exactly the code a version holds, as Lambda would.

``invoke(settings, function_name, qualifier, payload, timeout=...)`` resolves the qualifier
(alias -> version) in the emulator, finds the zip whose sha256 equals that version's CodeSha256
(``local.code``), runs the handler in a fresh subprocess of this Python with the version's
environment plus the emulator endpoint and dummy credentials, ships its log lines to the
function's log group, and answers like boto3's ``invoke``: ``{"StatusCode", "FunctionError",
"ExecutedVersion", "Payload"}``. The Function URL server (``local.function_url``) calls it per
request, so a moved alias is picked up on the next request.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ReadTimeoutError

from ..aws.errors import translate
from . import code

WORKER_SOURCE = (Path(__file__).with_name("lambda_worker.py")).read_text()


class Payload(bytes):
    """The reply body: bytes, with ``.read()`` like boto3's StreamingBody."""

    def read(self, amt: int | None = None) -> bytes:
        return bytes(self)


class InvokeTimedOut(ReadTimeoutError, TimeoutError):
    """The caller's read timeout passed first: botocore's ReadTimeoutError, also a TimeoutError."""


@dataclass(frozen=True)
class Version:
    function_name: str
    version: str
    arn: str
    code_sha256: str
    code_size: int
    handler: str
    timeout: int
    memory: int
    environment: dict
    location: str | None
    concurrency: int | None = None     # reserved concurrency of the function (None: unreserved)


def resolve(settings, function_name: str, qualifier: str | None) -> Version:
    """The published version ``qualifier`` (alias, number or $LATEST) names, from the emulator."""
    from ..aws import session

    lam = session.client("lambda")
    with translate(f"find {function_name}:{qualifier or '$LATEST'} in the local emulator",
                   not_found_hint="run inv deploy-infrastructure --local, then inv deploy-lambda --local"):
        version = qualifier or "$LATEST"
        if not (version == "$LATEST" or version.isdigit()):
            version = lam.get_alias(FunctionName=function_name, Name=version)["FunctionVersion"]
        got = lam.get_function(FunctionName=function_name, Qualifier=version)
    c = got["Configuration"]
    return Version(function_name=function_name, version=c.get("Version") or version, arn=c["FunctionArn"],
                   code_sha256=c["CodeSha256"], code_size=int(c.get("CodeSize") or 0) or None,
                   handler=c.get("Handler") or "handler.lambda_handler", timeout=int(c.get("Timeout") or 3),
                   memory=int(c.get("MemorySize") or 128),
                   environment=dict((c.get("Environment") or {}).get("Variables") or {}),
                   location=(got.get("Code") or {}).get("Location"),
                   concurrency=(got.get("Concurrency") or {}).get("ReservedConcurrentExecutions"))


def log_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def worker_environment(settings, v: Version, stream: str, task_root: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT") if k in os.environ}
    env.update(v.environment)
    env.update({
        "AWS_REGION": settings.region, "AWS_DEFAULT_REGION": settings.region,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_FUNCTION_NAME": v.function_name, "AWS_LAMBDA_FUNCTION_VERSION": v.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(v.memory), "AWS_LAMBDA_LOG_GROUP_NAME": log_group(v.function_name),
        "AWS_LAMBDA_LOG_STREAM_NAME": stream, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LAMBDA_TASK_ROOT": str(task_root), "TARS_LOCAL_INVOKED_ARN": v.arn, "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOME": tempfile.gettempdir(),
    })
    if settings.endpoint_url:
        env["AWS_ENDPOINT_URL"] = settings.endpoint_url
    return env


def code_root(settings, v: Version) -> Path:
    """The unpacked code of ``v``: only the zip whose sha256 is its CodeSha256 (``local.code``)."""
    from ..aws import session

    return code.unpacked(settings, v.code_sha256, v.code_size, v.location, s3=session.client("s3"))


def run(settings, v: Version, payload: Any, *, timeout: float, request_id: str | None = None) -> dict[str, Any]:
    """Run ``v`` once with ``payload``; returns the boto3-shaped reply and ships the logs."""
    request_id = request_id or str(uuid.uuid4())
    task_root = code_root(settings, v)
    stream = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{v.version}]{uuid.uuid4().hex}"
    started = time.time()
    limit = min(float(v.timeout), float(timeout))
    with tempfile.TemporaryDirectory(prefix="tars-invoke-") as tmp:
        result_path = Path(tmp) / "result.json"
        argv = [sys.executable, "-c", WORKER_SOURCE, v.handler, str(result_path), request_id,
                str(started + v.timeout)]
        child = subprocess.Popen(argv, cwd=str(task_root), env=worker_environment(settings, v, stream, task_root),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        timed_out = False
        try:
            output, _ = child.communicate(json.dumps(payload).encode(), timeout=limit)
        except subprocess.TimeoutExpired:
            child.kill()
            output, _ = child.communicate()
            timed_out = True
        elapsed = time.time() - started
        lines = [f"START RequestId: {request_id} Version: {v.version}"]
        # one event per line; a record's own newlines came as \r (as in Lambda), so it stays one event
        lines += [line.replace("\r", "\n") for line in output.decode("utf-8", "replace").split("\n") if line.strip()]
        try:
            outcome = json.loads(result_path.read_text()) if result_path.exists() else None
        except ValueError:
            outcome = None
    if timed_out and v.timeout <= timeout:
        lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z {request_id} "
                     f"Task timed out after {v.timeout:.2f} seconds")
        outcome = {"error": {"errorMessage": f"Task timed out after {v.timeout:.2f} seconds",
                             "errorType": "Sandbox.Timedout", "requestId": request_id}}
    lines += [f"END RequestId: {request_id}",
              f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms\t"
              f"Billed Duration: {int(elapsed * 1000) + 1} ms\tMemory Size: {v.memory} MB"]
    ship_logs(v.function_name, stream, lines, started)
    if timed_out and v.timeout > timeout:  # the caller's read timeout, as botocore raises it
        raise InvokeTimedOut(endpoint_url=f"local runtime {v.function_name}:{v.version}")
    if outcome is None:
        outcome = {"error": {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                                             f"exit status {child.returncode}",
                             "errorType": "Runtime.ExitError"}}
    reply: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": v.version,
                             "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": 200}}
    if "error" in outcome:
        reply["FunctionError"] = "Unhandled"
        reply["Payload"] = Payload(json.dumps(outcome["error"]).encode())
    else:
        reply["Payload"] = Payload(json.dumps(outcome["result"]).encode())
    return reply


def ship_logs(function_name: str, stream: str, lines: list[str], started: float, *, create: bool = True) -> None:
    """Put ``lines`` into the function's log group (created when missing, as Lambda does);
    ``create=False``: the stream exists already (a warm worker's second invoke)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..aws import session

    logs = session.client("logs")
    group = log_group(function_name)
    stamp = int(started * 1000)
    events = [{"timestamp": stamp + i // 1000, "message": line} for i, line in enumerate(lines)]
    try:
        try:
            if create:
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceNotFoundException:
            logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    except (BotoCoreError, ClientError) as exc:  # the reply matters more than its logs
        print(f"tars local runtime: could not write logs to {group}: {exc}", file=sys.stderr)


def invoke(settings, function_name: str, qualifier: str | None, payload: dict, *, timeout: float,
           pool=None) -> dict:
    """boto3-shaped ``invoke`` of ``function_name:qualifier`` run by the local runtime: on ``pool``'s
    warm workers (inside the runtime server), else on the running runtime server's (``local.warm_api``),
    else once in a fresh process."""
    if pool is not None:
        return pool.invoke(resolve(settings, function_name, qualifier), payload, timeout=timeout, qualifier=qualifier)
    from . import warm_api

    server = warm_api.server_url(settings)
    if server:
        return warm_api.invoke(server, function_name, qualifier, payload, timeout=timeout)
    return run(settings, resolve(settings, function_name, qualifier), payload, timeout=timeout)
