"""A fault-injecting HTTP proxy between the tool and the emulator (stdlib only).

Point boto3 at it with AWS_ENDPOINT_URL. For a seeded share of requests it answers as a
failing AWS would instead of forwarding:

- ``500``: InternalError / ServiceException
- ``503``: ServiceUnavailable (S3: SlowDown)
- ``throttle``: ThrottlingException in the protocol's own shape (JSON ``__type``, REST-JSON
  ``x-amzn-ErrorType`` with 429, XML ``<Code>Throttling</Code>``)
- ``reset``: the TCP connection is reset without an answer
- ``delay``: holds the request past the client's read timeout, then drops it
- ``lost`` (opt-in, not in ``FAULTS``): the request reaches the emulator, then the connection is
  reset before the answer: the client cannot know its call was applied (a retry repeats it)

Seeded (``random.Random(seed)``), so a failing run replays exactly. Every request is recorded
(operation, fault or None) so tests count attempts per operation. Operation names, the server and
the answer are bench/latency_proxy.py's (one forwarding core); the faults are this module's.
"""
from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from bench.latency_proxy import HOP_HEADERS, QuietServer, operation_of, reply

FAULTS = ("500", "503", "throttle", "reset", "delay")


@dataclass
class Record:
    operation: str
    method: str
    path: str
    fault: str | None


@dataclass
class FaultPlan:
    rate: float = 0.2
    seed: int = 0
    kinds: tuple[str, ...] = FAULTS
    delay_seconds: float = 2.0
    # operations never faulted (e.g. the test's own setup calls): matched by substring
    spare: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # when set, only these operations may be faulted
    records: list[Record] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.enabled = True

    def choose(self, operation: str) -> str | None:
        with self._lock:
            roll = self._rng.random()
            kind = self._rng.choice(self.kinds)
        if not self.enabled or any(s in operation for s in self.spare):
            return None
        if self.only and not any(s in operation for s in self.only):
            return None
        return kind if roll < self.rate else None

    def attempts(self, operation: str) -> list[Record]:
        return [r for r in self.records if r.operation == operation]


def _protocol(headers, service_path: str) -> str:
    if headers.get("X-Amz-Target"):
        return "json"
    ctype = headers.get("Content-Type", "")
    if "x-www-form-urlencoded" in ctype:
        return "query"
    if service_path.startswith("lambda:"):
        return "rest-json"
    return "xml"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FaultProxy"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _proxy(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        op = operation_of(self.command, self.path, self.headers)
        plan: FaultPlan = self.server.plan  # type: ignore[attr-defined]
        fault = plan.choose(op)
        record = Record(op, self.command, self.path, fault)
        plan.records.append(record)
        observe = self.server.observe  # type: ignore[attr-defined]
        if observe is not None:
            # e.g. a kill test SIGKILLs the client at its N-th request, before it lands. It may block
            # (hold the request) and may return a fault kind that replaces the plan's choice.
            chosen = observe(record)
            if chosen:
                record.fault = fault = chosen
        if fault == "lost":
            self._forward(body, answer=False)
        if fault in ("reset", "lost"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault == "delay":
            time.sleep(plan.delay_seconds)
            self.close_connection = True
            return
        if fault in ("500", "503", "throttle"):
            self._answer_fault(fault, _protocol(self.headers, op))
            return
        for pattern, answer in self.server.answers.items():  # type: ignore[attr-defined]
            if pattern in op:
                reply(self, *answer(self.command, self.path, body))
                return
        self._forward(body)

    def _answer_fault(self, fault: str, protocol: str) -> None:
        status = {"500": 500, "503": 503, "throttle": 400}[fault]
        code = {"500": "InternalError", "503": "ServiceUnavailable", "throttle": "ThrottlingException"}[fault]
        headers = {"x-amzn-RequestId": "fault-proxy"}
        if protocol == "json":
            payload = json.dumps({"__type": code, "message": f"injected {fault}"}).encode()
            headers["Content-Type"] = "application/x-amz-json-1.1"
        elif protocol == "rest-json":
            if fault == "throttle":
                status, code = 429, "TooManyRequestsException"
            elif fault == "500":
                code = "ServiceException"
            payload = json.dumps({"message": f"injected {fault}", "Type": "Service"}).encode()
            headers["Content-Type"] = "application/json"
            headers["x-amzn-ErrorType"] = code
        else:
            if fault == "throttle":
                code = "Throttling" if protocol == "query" else "SlowDown"
                status = 400 if protocol == "query" else 503
            inner = f"<Code>{code}</Code><Message>injected {fault}</Message>"
            payload = (f"<ErrorResponse><Error>{inner}</Error></ErrorResponse>" if protocol == "query"
                       else f"<Error>{inner}<RequestId>fault-proxy</RequestId></Error>").encode()
            headers["Content-Type"] = "text/xml"
        reply(self, status, headers, payload)

    def _forward(self, body: bytes, answer: bool = True) -> None:
        upstream = urlsplit(self.server.upstream)  # type: ignore[attr-defined]
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        headers["Host"] = self.headers.get("Host", f"{upstream.hostname}:{upstream.port}")
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            upstream_reply = conn.getresponse()
            data = upstream_reply.read()
        except OSError:
            self.send_error(502)
            return
        finally:
            conn.close()
        if answer:
            reply(self, upstream_reply.status, upstream_reply.getheaders(), data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _proxy


class FaultProxy:
    """``with FaultProxy(upstream, FaultPlan(rate=0.2, seed=7)) as proxy: proxy.url``

    ``answers`` maps an operation substring to ``f(method, path, body) -> (status, headers, body)``:
    such requests (when not faulted) are answered by the proxy instead of the emulator (moto runs
    no Lambda code, so a test answers the smoke test's Invoke here, still behind the faults).
    ``observe(record)`` is called for every request before it is answered or forwarded; it may hold
    the request (block) and may return a fault kind (``"reset"``, ``"500"``, ...) to apply to it."""

    def __init__(self, upstream: str, plan: FaultPlan, answers: dict | None = None, observe=None):
        self.plan = plan
        self._server = QuietServer(("127.0.0.1", 0), _Handler)
        self._server.plan = plan  # type: ignore[attr-defined]
        self._server.upstream = upstream  # type: ignore[attr-defined]
        self._server.answers = dict(answers or {})  # type: ignore[attr-defined]
        self._server.observe = observe  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
