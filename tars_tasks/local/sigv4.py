"""SigV4 between the local site and the local Function URL, as CloudFront's OAC and Lambda do it.

In AWS the Function URL uses ``AWS_IAM`` auth (infrastructure/lambda.tf) and CloudFront's origin
access control signs each ``/api`` request for service ``lambda``. For POST and PUT Lambda does
not accept an unsigned payload: the viewer sends the body's sha256 in ``x-amz-content-sha256``
and OAC signs that value; a missing or wrong hash fails the signature (403).

``sign`` is the site's half (botocore's SigV4Auth), ``check`` the Function URL's: the signature
recomputed over the headers the request says it signed, with the emulator's credentials (the
local target's dummy ones), the payload hash checked against the body. botocore computes the
canonical request both ways, so both halves follow the documented algorithm, not each other.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from typing import Mapping

SERVICE = "lambda"
UNSIGNED = "UNSIGNED-PAYLOAD"
MAX_SKEW = datetime.timedelta(minutes=15)   # AWS refuses requests signed further from its clock
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                   r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;\-]+), ?"
                   r"Signature=(?P<signature>[0-9a-f]{64})$")


def _credentials(access_key: str, secret_key: str, token: str | None = None):
    from botocore.credentials import Credentials

    return Credentials(access_key, secret_key, token)


def sign(method: str, url: str, body: bytes, payload_sha256: str | None, region: str,
         access_key: str, secret_key: str) -> dict[str, str]:
    """The headers OAC adds to an origin request: Authorization, X-Amz-Date, X-Amz-Content-SHA256.

    ``payload_sha256``: what the viewer sent in x-amz-content-sha256 (signed as given, as OAC does);
    None: a GET/HEAD/DELETE hashes the (empty) body, a POST/PUT goes with UNSIGNED-PAYLOAD."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    if payload_sha256 is None:
        payload_sha256 = UNSIGNED if method.upper() in ("POST", "PUT") else hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=url, data=body, headers={"X-Amz-Content-SHA256": payload_sha256})
    SigV4Auth(_credentials(access_key, secret_key), SERVICE, region).add_auth(request)
    return {k: v for k, v in request.headers.items() if k.lower() in
            ("authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token")}


def check(method: str, target: str, headers: Mapping[str, str], body: bytes, region: str, access_key: str,
          secret_key: str, now: datetime.datetime | None = None) -> str | None:
    """None when ``headers`` carry a valid SigV4 signature of this request, else why not."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    lowered = {k.lower(): v for k, v in headers.items()}
    found = _AUTH.match(lowered.get("authorization", "").strip())
    if not found:
        return "missing or malformed SigV4 Authorization header"
    if found["key"] != access_key:
        return "unknown access key"
    if found["service"] != SERVICE or found["region"] != region:
        return f"credential scope {found['region']}/{found['service']} is not {region}/{SERVICE}"
    stamp = lowered.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "missing or malformed X-Amz-Date"
    if stamp[:8] != found["date"]:
        return "X-Amz-Date does not match the credential scope's date"
    if abs((now or datetime.datetime.now(datetime.timezone.utc)) - when) > MAX_SKEW:
        return "the signature has expired (X-Amz-Date too far from now)"
    signed = found["signed"].split(";")
    if "host" not in signed:
        return "the Host header is not signed"
    missing = [h for h in signed if h not in lowered]
    if missing:
        return f"signed header(s) not in the request: {', '.join(missing)}"
    payload = lowered.get("x-amz-content-sha256")
    if payload == UNSIGNED:
        return "Lambda does not accept an unsigned payload (send x-amz-content-sha256 on POST and PUT)"
    if payload is not None and payload != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 is not the sha256 of the body"
    request = AWSRequest(method=method, url=f"http://{lowered['host']}{target}", data=body,
                         headers={h: lowered[h] for h in signed})
    request.context["timestamp"] = stamp
    auth = SigV4Auth(_credentials(access_key, secret_key), SERVICE, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if not hmac.compare_digest(expected, found["signature"]):
        return "the request signature does not match"
    return None
