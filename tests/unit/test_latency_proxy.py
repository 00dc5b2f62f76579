"""bench/latency_proxy.py: adds its delay to every request and connection, counts them, and forwards
bodies, status and headers unchanged (no timing asserted: the delay goes through an injected sleep)."""
from __future__ import annotations

import hashlib
import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import latency_proxy


class _Echo(BaseHTTPRequestHandler):
    """Answers with the status named in the path (/status/404), the body's sha256 and length."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status = int(self.path.split("/status/")[1]) if "/status/" in self.path else 200
        payload = f"{self.command} {hashlib.sha256(body).hexdigest()} {len(body)}".encode()
        self.send_response(status)
        self.send_header("X-Echo-Header", self.headers.get("X-Test", ""))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = _answer


@pytest.fixture()
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def proxy(upstream):
    sleeps: list[float] = []
    lock = threading.Lock()

    def sleep(seconds):
        with lock:
            sleeps.append(seconds)

    answers = {"lambda:POST /2015-03-31/functions/fn/invocations":
               lambda method, path, body: (200, {"X-Amz-Executed-Version": "7"}, b'{"statusCode": 200}')}
    with latency_proxy.LatencyProxy(upstream, ms=40, connect_ms=25, answers=answers, sleep=sleep) as p:
        p.sleeps = sleeps
        yield p


def _conn(proxy):
    host, port = proxy.url.split("//")[1].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_forwards_bodies_status_and_headers_and_counts_each_request(proxy):
    body = bytes(range(256)) * 4096   # 1 MiB
    conn = _conn(proxy)
    conn.request("PUT", "/bucket/key", body=body, headers={"X-Test": "kept"})
    reply = conn.getresponse()
    assert reply.status == 200
    assert reply.read().decode() == f"PUT {hashlib.sha256(body).hexdigest()} {len(body)}"
    assert reply.getheader("X-Echo-Header") == "kept"
    conn.request("GET", "/status/404")   # the same (kept-alive) connection
    reply = conn.getresponse()
    assert reply.status == 404 and reply.read().startswith(b"GET ")
    conn.request("POST", "/status/503", body=b"x")
    reply = conn.getresponse()
    assert reply.status == 503 and reply.read().endswith(b" 1")
    conn.close()
    assert proxy.count == 3
    assert proxy.connections == 1
    assert proxy.sleeps.count(0.04) == 3 and proxy.sleeps.count(0.025) == 1   # per request, per connection


def test_expect_100_continue_costs_one_more_round_trip(proxy):
    conn = _conn(proxy)
    conn.putrequest("PUT", "/bucket/obj")
    conn.putheader("Content-Length", "5")
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    conn.send(b"hello")
    reply = conn.getresponse()
    assert reply.status == 200 and reply.read().endswith(b" 5")
    assert proxy.expect_continue == 1
    assert proxy.sleeps.count(0.04) == 2


def test_answers_replace_the_upstream_after_the_delay_and_are_counted(proxy):
    conn = _conn(proxy)
    conn.request("POST", "/2015-03-31/functions/fn/invocations", body=b"{}",
                 headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/lambda/aws4_request, "
                                           "SignedHeaders=host, Signature=x"})
    reply = conn.getresponse()
    assert reply.status == 200 and reply.read() == b'{"statusCode": 200}'
    assert reply.getheader("X-Amz-Executed-Version") == "7"
    assert proxy.by_operation() == {"lambda:POST /2015-03-31/functions/fn/invocations": 1}
    proxy.reset()
    assert proxy.count == 0 and proxy.by_operation() == {}


def test_parallel_connections_are_each_counted(proxy):
    results = []

    def one():
        conn = _conn(proxy)
        conn.request("GET", "/x")
        results.append(conn.getresponse().status)
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [200] * 8
    assert proxy.count == 8 and proxy.connections == 8
