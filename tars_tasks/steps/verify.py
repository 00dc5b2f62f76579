"""The runbook's three post-deployment checks as plain functions: logs, the KB test, chat.

Requests go to the Function URL SigV4-signed (service "lambda") when it uses AWS_IAM auth: a machine
client, authorized by IAM alone (the site's /api needs a signed-in person since issue 14). Without
a Function URL, or one with no IAM auth, they go to the public entry the UI uses: settings.site_url +
"/api" (CloudFront, whose origin access control signs for Lambda: the client sends
``x-amz-content-sha256`` on POST/PUT).
"""
from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from ..errors import ConfigError, StepFailed

PASS, FAIL, SKIP = "pass", "fail", "skip"
INIT_LINE = "TARS handler initialised"
CHAT_QUESTION = "Are there any errors in the last hour?"
CHAT_LIMIT = 30.0
EMBEDDING_SIZE = 256


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    reason: str
    elapsed: float = 0.0
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Api:
    """The TARS API at its public entry: ``get(action, **query)`` and ``post(action, **body)``."""

    def __init__(self, settings, *, timeout: float = 60.0, sign: bool | None = None):
        self.settings = settings
        self.timeout = timeout
        if sign is None:
            sign = bool(settings.function_url) and settings.target.signs_function_url(settings)
        if sign and settings.function_url:
            self.url, self.sign = settings.function_url, True
        elif settings.site_url:
            self.url, self.sign = settings.site_url.rstrip("/") + "/api", False
        elif settings.function_url:
            self.url, self.sign = settings.function_url, False
        else:
            raise ConfigError("no API entry to verify against",
                              "set TARS_SITE_URL or TARS_FUNCTION_URL, or run inv deploy-infrastructure")

    def get(self, action: str, **query: Any) -> dict:
        sep = "&" if "?" in self.url else "?"
        return self._send("GET", self.url + sep + urllib.parse.urlencode({"action": action, **query}), None)

    def post(self, action: str, **body: Any) -> dict:
        return self._send("POST", self.url, json.dumps({"action": action, **body}).encode())

    def headers_for(self, method: str, url: str, data: bytes | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if data is not None:
            headers["x-amz-content-sha256"] = hashlib.sha256(data).hexdigest()
        if self.sign:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest

            credentials = self.settings.clients.credentials()
            if credentials is None:
                raise ConfigError("no AWS credentials to sign the Function URL request",
                                  "run aws configure or set AWS_PROFILE")
            request = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
            SigV4Auth(credentials, "lambda", self.settings.region).add_auth(request)
            headers = dict(request.headers.items())
        return headers

    def _send(self, method: str, url: str, data: bytes | None) -> dict:
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers_for(method, url, data))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")[:300]
            raise StepFailed(f"{method} {_action(url, data)} answered HTTP {exc.code}: {text}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise StepFailed(f"{method} {_action(url, data)} failed: {getattr(exc, 'reason', exc)}") from None
        except ValueError:
            raise StepFailed(f"{method} {_action(url, data)} did not answer JSON") from None


def _action(url: str, data: bytes | None) -> str:
    try:
        return json.loads(data)["action"] if data else urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["action"][0]
    except (ValueError, KeyError, IndexError):
        return url


def logs_check(settings, since: float) -> Result:
    """No ERROR line since ``since`` (epoch seconds), and the init line present after it when the
    function's alias was deployed within that window (a cold start must have logged it)."""
    from ..aws import logs

    group = settings.log_group

    def lines(pattern: str) -> list[str]:
        return [e["message"].rstrip() for e in logs.events(settings.clients, group, int(since * 1000),
                                                          pattern=pattern)]

    try:
        errors = lines("ERROR")
        init = lines(logs.quoted(INIT_LINE))
    except logs.LogGroupMissing:
        return Result("logs", FAIL, f"log group {group} does not exist (the function never ran)")
    if errors:
        return Result("logs", FAIL, f"{len(errors)} ERROR line(s) in {group}", details=errors[:10])
    if init:
        return Result("logs", PASS, f"no ERROR line, handler initialised ({len(init)} cold start(s))")
    deployed = alias_deployed_at(settings)
    if deployed is not None and deployed >= since:
        return Result("logs", FAIL, f"no '{INIT_LINE}' line in {group} since the deploy")
    return Result("logs", PASS, "no ERROR line (no deploy of the function in this window, so no cold start expected)")


def alias_deployed_at(settings) -> float | None:
    """When the alias's version was deployed (its LastModified), or None when unknown."""
    from ..aws import lambda_

    try:
        text = lambda_.configuration(settings.clients, settings.function_name, settings.alias)["LastModified"]
    except Exception:  # noqa: BLE001 - unknown: the init line is then not required
        return None
    return parse_last_modified(text)


def parse_last_modified(text: str) -> float | None:
    """Lambda's LastModified ('2024-01-01T12:00:00.000+0000', or moto's nanosecond 'Z' form)."""
    import re
    from datetime import datetime

    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", text or "")
    if not m:
        return None
    zone = (m.group(3) or "Z").replace("Z", "+00:00")
    zone = zone if ":" in zone else zone[:3] + ":" + zone[3:]
    fraction = (m.group(2) or "0")[:6]
    return datetime.fromisoformat(f"{m.group(1)}.{fraction:0<6}{zone}").timestamp()


def kb_check(settings, api: Api, *, clock: Callable[[], float] = time.time) -> Result:
    from . import verify_kb

    try:
        passed, data = verify_kb.run(settings, api, clock=clock)
    except StepFailed as exc:
        return Result("kb", FAIL, exc.message)
    return Result("kb", PASS, f"{' → '.join(passed)} ({data.get('chunks')} chunk(s))", data=data)


def chat_check(settings, api: Api, *, clock: Callable[[], float] = time.monotonic,
               limit: float = CHAT_LIMIT) -> Result:
    started = clock()
    try:
        reply = Api(settings, timeout=limit, sign=api.sign).post("chat", question=CHAT_QUESTION)
    except StepFailed as exc:
        return Result("chat", FAIL, exc.message)
    took = clock() - started
    if not str(reply.get("answer") or "").strip():
        return Result("chat", FAIL, "the chat reply has no answer")
    if took > limit:
        return Result("chat", FAIL, f"answered in {took:.1f} s, over the {limit:.0f} s limit")
    return Result("chat", PASS, f"answered in {took:.1f} s (handler {reply.get('elapsed_ms')} ms)",
                  data={"latency": round(took, 3), "elapsed_ms": reply.get("elapsed_ms"),
                        "findings": reply.get("findings")})


def run_all(settings, *, since: float | None = None, clock: Callable[[], float] = time.time,
            timer: Callable[[], float] = time.monotonic, api: Api | None = None) -> list[Result]:
    """The three checks, each timed. ``since``: epoch seconds (default: 10 minutes ago)."""
    since = clock() - 600 if since is None else since
    api = api or Api(settings)
    from .pipeline import describe_failure

    results = []
    # logs last: the KB and chat requests are traffic whose errors the logs check then sees
    for name, check in (("kb", lambda: kb_check(settings, api, clock=clock)),
                        ("chat", lambda: chat_check(settings, api, clock=timer)),
                        ("logs", lambda: logs_check(settings, since))):
        started = timer()
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - one check failing does not hide the others
            result = Result(name, FAIL, describe_failure(exc))
        results.append(Result(**{**result.as_dict(), "elapsed": round(timer() - started, 3)}))
    return results
