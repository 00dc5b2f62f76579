"""SigV4 between the local site (signs as CloudFront's OAC) and the local Function URL (checks as
Lambda with AWS_IAM auth): a signed request passes, anything altered or unsigned does not."""
from __future__ import annotations

import datetime
import hashlib

import pytest

from tars_tasks.local import sigv4

KEY, SECRET, REGION = "testing", "testing", "us-east-1"
URL = "http://127.0.0.1:8123/api?action=kb_list&service_name=a%20b"
TARGET = "/api?action=kb_list&service_name=a%20b"
BODY = b'{"action": "kb_upload"}'


def signed(method="POST", body=BODY, payload=None, url=URL, **extra):
    if payload is None and method in ("POST", "PUT"):
        payload = hashlib.sha256(body).hexdigest()
    headers = {"Host": "127.0.0.1:8123", "Content-Type": "application/json"}
    headers.update(sigv4.sign(method, url, body, payload, REGION, KEY, SECRET, **extra))
    return headers


def test_a_signed_post_and_get_pass():
    assert sigv4.check("POST", TARGET, signed(), BODY, REGION, KEY, SECRET) is None
    assert sigv4.check("GET", TARGET, signed("GET", b""), b"", REGION, KEY, SECRET) is None


def test_the_signature_is_botocores_own():
    """The same request signed by boto3's usual path (SigV4Auth.add_auth) checks out too."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=URL, data=BODY,
                         headers={"x-amz-content-sha256": hashlib.sha256(BODY).hexdigest(),
                                  "Content-Type": "application/json"})
    SigV4Auth(Credentials(KEY, SECRET), "lambda", REGION).add_auth(request)
    headers = {"Host": "127.0.0.1:8123", **dict(request.headers.items())}
    assert sigv4.check("POST", TARGET, headers, BODY, REGION, KEY, SECRET) is None


@pytest.mark.parametrize("change, why", [
    (lambda h, b: ({k: v for k, v in h.items() if k != "Authorization"}, b), "missing"),
    (lambda h, b: (h, b + b" "), "sha256 of the body"),
    (lambda h, b: ({**h, "Host": "127.0.0.1:9999"}, b), "signature does not match"),
    (lambda h, b: ({**h, "Authorization": h["Authorization"].replace("us-east-1", "eu-west-1")}, b), "scope"),
    (lambda h, b: ({**h, "Authorization": h["Authorization"][:-4] + "0000"}, b), "does not match"),
])
def test_anything_altered_is_refused(change, why):
    headers, body = change(signed(), BODY)
    reason = sigv4.check("POST", TARGET, headers, body, REGION, KEY, SECRET)
    assert reason and why in reason


def test_another_secret_is_refused():
    assert "does not match" in sigv4.check("POST", TARGET, signed(), BODY, REGION, KEY, "other-secret")


def test_a_changed_query_is_refused():
    assert sigv4.check("POST", TARGET.replace("kb_list", "kb_delete"), signed(), BODY, REGION, KEY, SECRET)


def test_post_without_the_viewers_payload_hash_is_refused_as_lambda_does():
    headers = {"Host": "127.0.0.1:8123", **sigv4.sign("POST", URL, BODY, None, REGION, KEY, SECRET)}
    assert headers["X-Amz-Content-SHA256"] == sigv4.UNSIGNED
    assert "unsigned payload" in sigv4.check("POST", TARGET, headers, BODY, REGION, KEY, SECRET)


def test_an_old_signature_is_refused():
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=20)
    assert "expired" in sigv4.check("POST", TARGET, signed(), BODY, REGION, KEY, SECRET, now=later)
