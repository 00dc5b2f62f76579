"""A latency proxy for benchmarks: an HTTP forwarding proxy on 127.0.0.1 that adds a fixed delay to
every request (and to every new connection, as a TCP handshake costs a round trip) and counts them.

Point a tool at it instead of the emulator (``AWS_ENDPOINT_URL=proxy.url``, ``aws --endpoint-url``):
each request waits ``ms`` before it is forwarded, so N sequential calls cost N x ms more than on
loopback, and calls made in parallel overlap, as they do against AWS over a real network. An
``Expect: 100-continue`` request pays the delay twice (the 100 Continue is one more round trip
before the body is sent). Bodies, status and headers are forwarded unchanged (one upstream
connection per client connection). ``answers`` maps an operation substring to
``f(method, path, body) -> (status, headers, body)``: those requests are answered by the proxy
after the delay (moto runs no Lambda code: a bench answers the smoke test's Invoke here).

    with LatencyProxy("http://127.0.0.1:5000", ms=40) as proxy:
        run(env={"AWS_ENDPOINT_URL": proxy.url}); print(proxy.count, proxy.by_operation())

The fault proxy (bench/scenarios/fault_proxy.py) shares this module's operation names, server and
answer. Stdlib only; also a command: ``python bench/latency_proxy.py UPSTREAM --ms 40 [--port 0]``.
"""
from __future__ import annotations

import argparse
import collections
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
               "expect"}


def operation_of(method: str, path: str, headers) -> str:
    """X-Amz-Target's operation, else ``service:METHOD /path`` (the SigV4 scope's service)."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    auth = headers.get("Authorization", "")
    service = ""
    if "Credential=" in auth:
        parts = auth.split("Credential=")[1].split(",")[0].split("/")
        service = parts[3] if len(parts) > 3 else ""
    return f"{service}:{method} {urlsplit(path).path}"


def reply(handler: BaseHTTPRequestHandler, status: int, headers, payload: bytes) -> None:
    """Answer a request: ``headers`` (a dict or (name, value) pairs) but the hop-by-hop ones and
    Content-Length, which is set from ``payload``; no body for HEAD. The fault proxy answers this way too."""
    handler.send_response(status)
    for k, v in (headers.items() if isinstance(headers, dict) else headers):
        if k.lower() not in HOP_HEADERS and k.lower() != "content-length":
            handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LatencyProxy"
    upstream_conn: http.client.HTTPConnection | None = None

    def log_message(self, *args) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.pause(self.server.connect_delay)   # type: ignore[attr-defined]  # the handshake's round trip
        self.server.note_connection()                   # type: ignore[attr-defined]

    def finish(self) -> None:
        super().finish()
        if self.upstream_conn is not None:
            self.upstream_conn.close()

    def handle_expect_100(self) -> bool:
        self.server.pause(self.server.delay)   # type: ignore[attr-defined]  # the client waits a round trip for it
        self.server.note_expect()              # type: ignore[attr-defined]
        return super().handle_expect_100()

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass   # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _proxy(self) -> None:
        body = self._body()
        op = operation_of(self.command, self.path, self.headers)
        server = self.server
        server.pause(server.delay)   # type: ignore[attr-defined]
        server.note_request(op)      # type: ignore[attr-defined]
        for pattern, answer in server.answers.items():   # type: ignore[attr-defined]
            if pattern in op:
                self._reply(*answer(self.command, self.path, body))
                return
        status, headers, data = self._forward(body)
        self._reply(status, headers, data)

    def _forward(self, body: bytes) -> tuple[int, list, bytes]:
        upstream = urlsplit(self.server.upstream)   # type: ignore[attr-defined]
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):   # the kept upstream connection may have been closed by the emulator
            if self.upstream_conn is None:
                self.upstream_conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
            try:
                self.upstream_conn.request(self.command, self.path, body=body or None, headers=headers)
                reply = self.upstream_conn.getresponse()
                data = reply.read()
                if reply.will_close:
                    self.upstream_conn.close()
                    self.upstream_conn = None
                return reply.status, reply.getheaders(), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.upstream_conn.close()
                self.upstream_conn = None
                if attempt == 2:
                    return 502, [], b""
        raise AssertionError("unreachable")

    def _reply(self, status: int, headers, payload: bytes) -> None:
        reply(self, status, headers, payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _proxy


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not print a client's hang-up (a read timeout, a reset) as an error."""

    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LatencyProxy:
    """``ms`` added to every request; ``connect_ms`` (default: ``ms``) to every new connection."""

    def __init__(self, upstream: str, ms: float = 40.0, *, connect_ms: float | None = None,
                 answers: dict | None = None, port: int = 0, sleep=time.sleep):
        self._server = QuietServer(("127.0.0.1", port), _Handler)
        self._server.upstream = upstream.rstrip("/")                   # type: ignore[attr-defined]
        self._server.delay = ms / 1000.0                               # type: ignore[attr-defined]
        self._server.connect_delay = (ms if connect_ms is None else connect_ms) / 1000.0  # type: ignore[attr-defined]
        self._server.answers = dict(answers or {})                     # type: ignore[attr-defined]
        self._server.pause = lambda seconds: sleep(seconds) if seconds > 0 else None  # type: ignore[attr-defined]
        self._lock = threading.Lock()
        self.count = 0
        self.connections = 0
        self.expect_continue = 0
        self.operations: list[str] = []
        self._server.note_request = self._note_request                 # type: ignore[attr-defined]
        self._server.note_connection = self._note_connection           # type: ignore[attr-defined]
        self._server.note_expect = self._note_expect                   # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="latency-proxy", daemon=True)

    @property
    def ms(self) -> float:
        return self._server.delay * 1000.0   # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _note_request(self, op: str) -> None:
        with self._lock:
            self.count += 1
            self.operations.append(op)

    def _note_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def _note_expect(self) -> None:
        with self._lock:
            self.expect_continue += 1

    def reset(self) -> None:
        """Zero the counters (between two measured runs)."""
        with self._lock:
            self.count = self.connections = self.expect_continue = 0
            self.operations = []

    def by_operation(self) -> dict[str, int]:
        with self._lock:
            return dict(collections.Counter(self.operations))

    def __enter__(self) -> "LatencyProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("upstream", help="where to forward, e.g. http://127.0.0.1:5000")
    parser.add_argument("--ms", type=float, default=40.0, help="delay added to every request (ms)")
    parser.add_argument("--connect-ms", type=float, help="delay added to every new connection (default: --ms)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    with LatencyProxy(args.upstream, args.ms, connect_ms=args.connect_ms, port=args.port) as proxy:
        print(f"{proxy.url} -> {args.upstream} (+{args.ms:g} ms per request); Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(5)
        except KeyboardInterrupt:
            print(f"{proxy.count} requests, {proxy.connections} connections")


if __name__ == "__main__":
    main()
