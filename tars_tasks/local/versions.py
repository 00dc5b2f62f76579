"""One function version of the local runtime: what it is, where its code is, where its logs go.

``resolve`` reads the version a qualifier (alias, number or $LATEST) names from the emulator;
``code_root`` gives its unpacked code, only the zip whose sha256 equals its CodeSha256
(``local.code``); ``worker_environment`` the environment its workers run with (the version's
variables, the emulator endpoint, dummy credentials, Lambda's own variables); ``ship_logs`` puts
an invoke's lines into its log group. ``Payload`` and ``InvokeTimedOut`` give replies and caller
timeouts boto3's shapes. Used by ``local.warm`` (the workers) and ``local.runtime`` (the entry).
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ReadTimeoutError

from ..aws.errors import translate
from ..errors import TarsError
from ..names import function_log_group
from . import code


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
    from ..aws import lambda_

    with translate(f"find {function_name}:{qualifier or '$LATEST'} in the local emulator",
                   not_found_hint="run inv deploy-infrastructure --local, then inv deploy-lambda --local"):
        version = qualifier or "$LATEST"   # GetFunction of an alias answers the version it names: one call
        got = lambda_.function(settings.clients, function_name, version)
    c = got["Configuration"]
    return Version(function_name=function_name, version=c.get("Version") or version, arn=c["FunctionArn"],
                   code_sha256=c["CodeSha256"], code_size=int(c.get("CodeSize") or 0) or None,
                   handler=c.get("Handler") or "handler.lambda_handler", timeout=int(c.get("Timeout") or 3),
                   memory=int(c.get("MemorySize") or 128),
                   environment=dict((c.get("Environment") or {}).get("Variables") or {}),
                   location=(got.get("Code") or {}).get("Location"),
                   concurrency=(got.get("Concurrency") or {}).get("ReservedConcurrentExecutions"))


def worker_environment(settings, v: Version, stream: str, task_root: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT") if k in os.environ}
    env.update(v.environment)
    env.update({
        "AWS_REGION": settings.region, "AWS_DEFAULT_REGION": settings.region,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_FUNCTION_NAME": v.function_name, "AWS_LAMBDA_FUNCTION_VERSION": v.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(v.memory), "AWS_LAMBDA_LOG_GROUP_NAME": function_log_group(v.function_name),
        "AWS_LAMBDA_LOG_STREAM_NAME": stream, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LAMBDA_TASK_ROOT": str(task_root), "TARS_LOCAL_INVOKED_ARN": v.arn, "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOME": tempfile.gettempdir(),
    })
    if settings.clients.endpoint_url:
        env["AWS_ENDPOINT_URL"] = settings.clients.endpoint_url
    return env


def code_root(settings, v: Version) -> Path:
    """The unpacked code of ``v``: only the zip whose sha256 is its CodeSha256 (``local.code``)."""
    return code.unpacked(settings, v.code_sha256, v.code_size, v.location)


def ship_logs(settings, function_name: str, stream: str, lines: list[str], started: float, *,
              create: bool = True) -> None:
    """Put ``lines`` into the function's log group (created when missing, as Lambda does);
    ``create=False``: the stream exists already (a warm worker's second invoke)."""
    from ..aws import logs

    group = function_log_group(function_name)
    stamp = int(started * 1000)
    events = [{"timestamp": stamp + i // 1000, "message": line} for i, line in enumerate(lines)]
    try:
        logs.put_lines(settings.clients, group, stream, events, create=create)
    except TarsError as exc:  # the reply matters more than its logs
        print(f"tars local runtime: could not write logs to {group}: {exc}", file=sys.stderr)
