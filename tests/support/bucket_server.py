"""A small static server on 127.0.0.1 that serves a bucket's current objects, as CloudFront would.

Each response carries the object's stored Content-Type and Cache-Control; "/" and "/dir/" map to
index.html (CloudFront's default root object); a missing key is a 404.
"""
from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import unquote, urlparse


@contextlib.contextmanager
def serve_bucket(bucket: str) -> Iterator[str]:
    import boto3

    s3 = boto3.client("s3")
    served: list[tuple[int, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            key = unquote(urlparse(self.path).path).lstrip("/")
            if key == "" or key.endswith("/"):
                key += "index.html"
            try:
                obj = s3.get_object(Bucket=bucket, Key=key)
            except s3.exceptions.NoSuchKey:
                served.append((404, key))
                self.send_error(404)
                return
            body = obj["Body"].read()
            served.append((200, key))
            self.send_response(200)
            self.send_header("Content-Type", obj["ContentType"])
            self.send_header("Cache-Control", obj.get("CacheControl", ""))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        server.served = served  # type: ignore[attr-defined]
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
