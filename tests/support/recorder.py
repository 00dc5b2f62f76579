"""botocore event hooks on the run's S3/CloudFront clients: record calls, inject failures as AWS answers."""
from __future__ import annotations

import threading
from urllib.parse import unquote, urlparse


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_kw):
        yield self._body


def aws_error(url: str, status: int, code: str, message: str = "injected by the test"):
    """An HTTP error response shaped as AWS sends it (XML body), for a before-send handler."""
    from botocore.awsrequest import AWSResponse

    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return AWSResponse(url, status, {"Content-Type": "application/xml"}, _Raw(body))


def key_of(url: str, bucket: str) -> str:
    path = unquote(urlparse(url).path).lstrip("/")
    return path[len(bucket) + 1:] if path.startswith(bucket + "/") else path


class Calls:
    """Every S3 write and CloudFront invalidation, in the order they were sent: [(operation, key)]."""

    WRITES = ("PutObject", "CopyObject", "CreateMultipartUpload", "DeleteObjects", "CreateInvalidation")

    def __init__(self, settings, bucket: str):
        self.bucket = bucket
        self.sequence: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        settings.clients.observe(lambda service, client: service in ("s3", "cloudfront") and
                                 client.meta.events.register(f"before-send.{service}", self._record))

    def _record(self, request, event_name=None, **_kw):
        op = (event_name or "").rsplit(".", 1)[-1]
        if op in self.WRITES:
            with self._lock:
                self.sequence.append((op, key_of(request.url, self.bucket)))

    def of(self, *ops: str) -> list[str]:
        return [k for op, k in self.sequence if op in ops]


def every_client(monkeypatch, hook) -> None:
    """Call ``hook(service, client)`` for every boto3 client any run makes from now on (a task run
    in-process loads its own Settings, hence its own Clients: this reaches those too)."""
    from tars_tasks.aws.clients import Clients

    real_init = Clients.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.observe(hook)

    monkeypatch.setattr(Clients, "__init__", init)
