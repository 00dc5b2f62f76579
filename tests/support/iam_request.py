"""A request to the local Function URL signed as a machine client signs it (SigV4, service lambda,
the emulator's dummy key): the local URL is AWS_IAM like the real one and refuses unsigned calls."""
from __future__ import annotations

import hashlib
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def signed(url: str, data: bytes | None = None, method: str = "GET", headers: dict | None = None,
           region: str = "us-east-1") -> urllib.request.Request:
    headers = {**(headers or {}), "x-amz-content-sha256": hashlib.sha256(data or b"").hexdigest()}
    request = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
    SigV4Auth(Credentials("testing", "testing"), "lambda", region).add_auth(request)
    return urllib.request.Request(url, data=data, method=method, headers=dict(request.headers.items()))
