"""Uploads sized for latency (issue 16.4): no ``Expect: 100-continue`` round trip before a body, and a
connection pool that holds every parallel upload (headers as sent, read from botocore's before-send)."""
from __future__ import annotations

import hashlib

import boto3

from tars_tasks.aws import s3
from tars_tasks.aws.clients import EMULATOR_CREDENTIALS, Clients
from tars_tasks.tasks.ui import DEFAULT_WORKERS, MAX_WORKERS


def test_put_file_sends_no_expect_continue_and_the_pool_holds_every_worker(endpoint, tmp_path):
    boto3.client("s3").create_bucket(Bucket="ui-uploads")
    clients = Clients(region="us-east-1", endpoint_url=lambda: endpoint, credentials=dict(EMULATOR_CREDENTIALS))
    headers: list[dict] = []
    clients.observe(lambda service, client: client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **kw: headers.append(dict(request.headers))))
    for name, size in (("small.js", 10), ("big.js", 2_000_000)):   # botocore adds Expect to any file body
        path = tmp_path / name
        path.write_bytes(b"x" * size)
        s3.put_file(clients, "ui-uploads", name, path, content_type="text/javascript",
                    cache_control="no-cache", sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(headers) == 2 and not [h for h in headers if "Expect" in h], headers
    got = boto3.client("s3").get_object(Bucket="ui-uploads", Key="big.js")
    assert got["ContentLength"] == 2_000_000
    assert clients("s3").meta.config.max_pool_connections >= MAX_WORKERS >= DEFAULT_WORKERS >= 16
