"""The local stand-ins for two AWS_IAM behaviours: the Function URL checking a SigV4 signature,
and CloudFront's origin access control signing the request it forwards.

``check`` recomputes a request's signature with botocore's own SigV4 code (the headers the client
listed as signed, its X-Amz-Date, the body's hash) for the one key the emulator knows (the local
servers' dummy credentials) and says who signed: the ``requestContext.authorizer.iam`` block a
Function URL puts in the event. A missing, malformed, stale (over 15 minutes, as AWS) or wrong
signature gets None: the server answers 403 as AWS does. ``sign`` is what OAC does: it replaces
any ``Authorization`` the viewer sent with its own SigV4 for service ``lambda``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from typing import Any, Callable, Mapping

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = dt.timedelta(minutes=15)
_AUTH = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^/\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request,\s*"
                   r"SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$")


def _request(method: str, url: str, headers: Mapping[str, str], body: bytes):
    from botocore.awsrequest import AWSRequest

    return AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))


def sign(method: str, url: str, headers: Mapping[str, str], body: bytes, credentials, region: str) -> dict[str, str]:
    """``headers`` with OAC's SigV4 for service lambda (any viewer Authorization replaced)."""
    from botocore.auth import SigV4Auth

    kept = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "x-amz-date", "x-amz-security-token")}
    request = _request(method, url, kept, body)
    SigV4Auth(credentials, "lambda", region).add_auth(request)
    return dict(request.headers.items())


def check(method: str, url: str, headers: Mapping[str, str], body: bytes, *,
          secret_for: Callable[[str], str | None], identity: Callable[[str], dict[str, Any]],
          now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> dict[str, Any] | None:
    """The IAM authorizer block for a correctly signed request, else None."""
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials

    lowered = {k.lower(): v for k, v in headers.items()}
    match = _AUTH.match(lowered.get("authorization", "").strip())
    amz_date = lowered.get("x-amz-date", "")
    if not match or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
        return None
    key_id, day, region, service, signed_headers, signature = match.groups()
    secret = secret_for(key_id)
    if secret is None or service != "lambda" or not amz_date.startswith(day):
        return None
    stamp = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    if abs(now() - stamp) > MAX_SKEW:
        return None
    claimed = lowered.get("x-amz-content-sha256")
    if claimed is not None and claimed != "UNSIGNED-PAYLOAD" and claimed != hashlib.sha256(body or b"").hexdigest():
        return None   # Lambda checks the body against the hash the signature covers
    names = signed_headers.split(";")
    if "host" not in names or any(n not in lowered for n in names):
        return None
    request = _request(method, url, {n: lowered[n] for n in names}, body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key_id, secret, lowered.get("x-amz-security-token")), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        return None
    who = identity(key_id)
    return {"accessKey": key_id, "accountId": who["Account"], "callerId": who["UserId"],
            "cognitoIdentity": None, "principalOrgId": None, "userArn": who["Arn"], "userId": who["UserId"]}
