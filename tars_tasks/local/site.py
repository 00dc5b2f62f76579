"""The local site server: the UI bucket's current objects, and ``/api`` forwarded to the runtime.

What CloudFront does in AWS: ``/`` is ``index.html`` (the distribution's default root object),
every other path is the object of that key, served with the Content-Type and Cache-Control it
was stored with (so a person sees exactly what was deployed, headers included); ``/api`` and
``/api/...`` go to the Function URL (the local runtime) with method, query, headers and body.
Run as ``python -m tars_tasks.local.site --port N``.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

HEALTH = "/_local/health"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


def object_key(path: str) -> str:
    """The S3 key CloudFront asks the origin for: '/' -> index.html, '/a/' -> a/index.html."""
    key = unquote(urlsplit(path).path).lstrip("/")
    if key == "" or key.endswith("/"):
        key += "index.html"
    return key


def is_api(path: str) -> bool:
    p = urlsplit(path).path
    return p == "/api" or p.startswith("/api/")


def make_handler(settings, runtime_url: str):
    from botocore.exceptions import ClientError

    from ..aws import s3
    from ..errors import TarsError
    from . import sigv4

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tars-local-site"

        def log_message(self, fmt: str, *args: Any) -> None:
            print(f"{self.address_string()} {fmt % args}", flush=True)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _text(self, status: int, message: str) -> None:
            self._send(status, {"Content-Type": "text/plain; charset=utf-8"}, message.encode())

        def handle_any(self) -> None:
            if urlsplit(self.path).path == HEALTH:
                return self._send(200, {"Content-Type": "application/json"}, json.dumps(
                    {"ok": True, "endpoint": settings.clients.endpoint_url, "bucket": settings.ui_bucket}).encode())
            if is_api(self.path):
                return self.forward()
            if self.command not in ("GET", "HEAD"):
                return self._text(405, "method not allowed")
            self.serve_object()

        def serve_object(self) -> None:
            key = object_key(self.path)
            if not settings.ui_bucket:
                return self._text(503, "no UI bucket configured: run inv deploy-infrastructure --local")
            try:
                obj = s3.get_object(settings.clients, settings.ui_bucket, key)
            except TarsError as exc:   # the bucket answered with an error, or nothing answered at all
                who = "the UI bucket" if isinstance(exc.__cause__, ClientError) else "the local emulator"
                return self._text(502, f"{who} did not answer: {exc.message}")
            if obj is None:
                hint = " (deploy the UI: inv deploy-ui --local)" if key == "index.html" else ""
                return self._text(404, f"not found: /{key}{hint}")
            headers = {"Content-Type": obj["content_type"] or "binary/octet-stream", "ETag": obj["etag"]}
            if obj["cache_control"]:
                headers["Cache-Control"] = obj["cache_control"]
            if obj["content_encoding"]:
                headers["Content-Encoding"] = obj["content_encoding"]
            if obj["version_id"]:
                headers["x-amz-version-id"] = obj["version_id"]
            if self.headers.get("If-None-Match") and self.headers["If-None-Match"] == obj["etag"]:
                return self._send(304, {k: v for k, v in headers.items() if k != "Content-Type"}, b"")
            self._send(200, headers, obj["body"])

        def forward(self) -> None:
            """What CloudFront does with /api: adds its X-Amz-Cf-Id (a viewer's own is replaced) and
            signs the origin request for the Function URL (origin access control, SigV4 in
            Authorization, a viewer's Authorization replaced). The person's token rides along in
            x-tars-token; the handler, not this signature, decides who may do what."""
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"x-amz-cf-id"}}
            headers["X-Amz-Cf-Id"] = base64.urlsafe_b64encode(os.urandom(42)).decode()
            url = runtime_url + self.path
            headers = sigv4.sign(self.command, url, headers, body or b"", settings.clients.credentials(),
                                 settings.region)
            request = urllib.request.Request(url, data=body, method=self.command, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=settings.smoke_timeout) as reply:
                    self._send(reply.status, dict(reply.headers.items()), reply.read())
            except urllib.error.HTTPError as err:
                self._send(err.code, dict(err.headers.items()), err.read())
            except OSError as exc:
                self._text(502, f"the local function runtime did not answer ({exc}): inv local.status")

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = handle_any

    return Handler


def serve(port: int) -> None:
    from ..settings import Settings
    from . import services

    settings = Settings.load(None, local=True)   # the emulator's endpoint comes in AWS_ENDPOINT_URL
    runtime_url = services.url(settings, services.RUNTIME)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(settings, runtime_url))
    server.daemon_threads = True
    print(f"local site on http://127.0.0.1:{port}/ serving bucket {settings.ui_bucket}, /api -> {runtime_url}",
          flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args(argv).port)


if __name__ == "__main__":
    main()
