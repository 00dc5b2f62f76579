"""The local Function URL: HTTP on 127.0.0.1, each request run by ``local.runtime``.

Requests become payload-format-2.0 events (what a Lambda Function URL sends), replies are
read back the way Function URLs read them: a dict with ``statusCode`` gives status, headers,
cookies and body (base64 when ``isBase64Encoded``); anything else is a 200 JSON reply; a
function error is a 502. The alias is resolved on every request, so moving it takes effect at
once. The handler runs on warm workers (``local.warm``) this server holds and stops on exit;
tasks reach them through ``/_local/invoke`` (``local.warm_api``). Run as ``python -m tars_tasks.local.function_url --port N --function F --qualifier Q``.
"""
from __future__ import annotations

import argparse
import base64
import json
import signal
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_PAYLOAD = 6 * 1024 * 1024
HEALTH = "/_local/health"
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
              "application/x-www-form-urlencoded")


def build_event(method: str, target: str, headers: dict[str, str], body: bytes, port: int,
                source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """A Function URL (payload format 2.0) event for one HTTP request."""
    parts = urlsplit(target)
    lowered = {k.lower(): v for k, v in headers.items()}
    ctype = lowered.get("content-type", "")
    is_text = not body or ctype.startswith(TEXT_TYPES)
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": {k: v for k, v in lowered.items() if k != "cookie"},
        "requestContext": {
            "accountId": "anonymous", "apiId": "local", "domainName": f"127.0.0.1:{port}", "domainPrefix": "127",
            "http": {"method": method, "path": parts.path or "/", "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": lowered.get("user-agent", "")},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000)},
        "isBase64Encoded": not is_text,
    }
    if parts.query:
        event["queryStringParameters"] = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "cookie" in lowered:
        event["cookies"] = [c.strip() for c in lowered["cookie"].split(";") if c.strip()]
    if body:
        event["body"] = body.decode("utf-8", "replace") if is_text else base64.b64encode(body).decode()
    return event


def read_reply(reply: dict[str, Any]) -> tuple[int, dict[str, str], list[str], bytes]:
    """(status, headers, cookies, body) the way a Function URL turns the invoke reply into HTTP."""
    if reply.get("FunctionError"):
        return 502, {"Content-Type": "application/json"}, [], json.dumps({"Message": "Internal Server Error"}).encode()
    raw = bytes(reply["Payload"])
    try:
        result = json.loads(raw)
    except ValueError:
        return 502, {"Content-Type": "application/json"}, [], b'{"Message": "Internal Server Error"}'
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        return int(result["statusCode"]), headers, list(result.get("cookies") or []), data
    return 200, {"Content-Type": "application/json"}, [], json.dumps(result).encode()


class IamAuth:
    """The Function URL's AuthType (re-read every few seconds: an apply may change it) and
    the SigV4 check of AWS_IAM against the one key the emulator knows (this server's own)."""

    RECHECK_S = 5.0

    def __init__(self, settings, function_name: str, qualifier: str, clock=time.monotonic):
        import threading

        self.settings, self.function_name, self.qualifier, self.clock = settings, function_name, qualifier, clock
        self._lock = threading.Lock()
        self._auth_type: tuple[float, str] | None = None
        self._identity: dict | None = None

    def required(self) -> bool:
        with self._lock:
            if self._auth_type is None or self.clock() - self._auth_type[0] > self.RECHECK_S:
                from ..aws import lambda_

                try:
                    found = lambda_.url_auth_type(self.settings.clients, self.function_name, self.qualifier) or "AWS_IAM"
                except Exception:  # noqa: BLE001 - cannot read it: like AWS_IAM, refuse unsigned calls
                    found = "AWS_IAM"
                self._auth_type = (self.clock(), found)
            return self._auth_type[1] == "AWS_IAM"

    def _credentials(self):
        return self.settings.clients.credentials()

    def _who(self, _key_id: str) -> dict:
        from ..aws import sts

        if self._identity is None:
            self._identity = sts.caller(self.settings.clients)
        return self._identity

    def signer(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict | None:
        from . import sigv4

        own = self._credentials()
        return sigv4.check(method, url, headers, body, identity=self._who,
                           secret_for=lambda key: own.secret_key if key == own.access_key else None)


def make_handler(settings, function_name: str, qualifier: str, port: int, pool=None):
    from ..errors import TarsError
    from . import runtime, warm_api

    iam = IamAuth(settings, function_name, qualifier)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tars-local-function-url"

        def log_message(self, fmt: str, *args: Any) -> None:  # one line per request in the server log
            print(f"{self.address_string()} {fmt % args}", flush=True)

        def _send(self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] = ()) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, message: str, hint: str | None = None) -> None:
            self._send(status, {"Content-Type": "application/json"},
                       json.dumps({"Message": message, "hint": hint}).encode())

        def handle_any(self) -> None:
            if self.path.split("?")[0] == HEALTH:
                return self._send(200, {"Content-Type": "application/json"}, json.dumps(
                    {"ok": True, "endpoint": settings.clients.endpoint_url, "function": function_name,
                     "qualifier": qualifier}).encode())
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_PAYLOAD:
                return self._error(413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
            body = self.rfile.read(length) if length else b""
            if pool is None:
                return self.invoke(body)
            with pool.logs_after_reply() as ship_logs:   # the reply does not wait for CloudWatch
                if self.path in (warm_api.INVOKE, warm_api.WORKERS):  # the runtime's own API
                    if iam.signer(self.command, f"http://{self.headers.get('Host', '')}{self.path}",
                                  dict(self.headers.items()), body) is None:   # as Lambda's Invoke API: SigV4
                        return self._send(403, {"Content-Type": "application/json"}, b'{"Message":"Forbidden"}')
                    answer = warm_api.handle(pool, settings, body) if self.path == warm_api.INVOKE else pool.workers()
                    self._send(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())
                else:
                    self.invoke(body)
                self.wfile.flush()
                ship_logs()

        def invoke(self, body: bytes) -> None:
            event = build_event(self.command, self.path, dict(self.headers.items()), body, port,
                                self.client_address[0])
            if iam.required():
                signer = iam.signer(self.command, f"http://{self.headers.get('Host', '')}{self.path}",
                                    dict(self.headers.items()), body)
                if signer is None:   # what an AWS_IAM Function URL answers an unsigned or badly signed call
                    return self._send(403, {"Content-Type": "application/json"}, b'{"Message":"Forbidden"}')
                event["requestContext"]["accountId"] = signer["accountId"]
                event["requestContext"]["authorizer"] = {"iam": signer}
            try:
                reply = runtime.invoke(settings, function_name, qualifier, event, timeout=900, pool=pool)
            except TarsError as err:
                return self._error(502, err.message, err.hint)
            status, headers, cookies, data = read_reply(reply)
            self._send(status, headers, data, cookies)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = handle_any

    return Handler


def serve(port: int, function_name: str, qualifier: str) -> None:
    from ..settings import Settings
    from . import warm

    settings = Settings.load(None, local=True)   # the emulator's endpoint comes in AWS_ENDPOINT_URL
    pool = warm.Pool(settings)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(settings, function_name, qualifier, port, pool))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, _exit_on_signal)   # inv local.down: stop the workers, then exit
    print(f"local Function URL for {function_name}:{qualifier} on http://127.0.0.1:{port}/ "
          f"(emulator {settings.clients.endpoint_url}, warm workers: up to {pool.size} per function, "
          f"stopped after {pool.idle_seconds:.0f} s idle)", flush=True)
    pool.run_reaper()
    try:
        server.serve_forever()
    finally:
        stopped = pool.close()
        print(f"stopped {len(stopped)} warm worker(s): {stopped}", flush=True)


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--function", required=True)
    parser.add_argument("--qualifier", default="production")
    args = parser.parse_args(argv)
    serve(args.port, args.function, args.qualifier)


if __name__ == "__main__":
    main()
