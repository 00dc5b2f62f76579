"""The local Function URL's AWS_IAM check and the local site's OAC signing (tars_tasks/local/sigv4.py):
a request signed by botocore passes and names its signer; any change to it, another key, a stale
date or a body that is not the one hashed does not."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tars_tasks.local import sigv4

URL = "http://127.0.0.1:4567/?action=kb_list&limit=5"
WHO = {"Account": "123456789012", "UserId": "AIDAEXAMPLE", "Arn": "arn:aws:iam::123456789012:user/deployer"}
KEYS = {"AKIALOCAL": "local-secret"}


def signed(method="POST", url=URL, body=b'{"action":"chat"}', key="AKIALOCAL", secret="local-secret",
           service="lambda", hash_body=True) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if hash_body:
        headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(request)
    return {**dict(request.headers.items()), "Host": "127.0.0.1:4567", "User-Agent": "curl/8"}


def check(method="POST", url=URL, headers=None, body=b'{"action":"chat"}', now=None):
    return sigv4.check(method, url, headers if headers is not None else signed(method, url, body), body,
                       secret_for=KEYS.get, identity=lambda key: WHO,
                       **({"now": lambda: now} if now else {}))


def test_a_good_signature_names_the_signer_as_a_function_url_event_does():
    who = check()
    assert who == {"accessKey": "AKIALOCAL", "accountId": "123456789012", "callerId": "AIDAEXAMPLE",
                   "cognitoIdentity": None, "principalOrgId": None,
                   "userArn": "arn:aws:iam::123456789012:user/deployer", "userId": "AIDAEXAMPLE"}
    assert check("GET", body=b"", headers=signed("GET", body=b"")) is not None


@pytest.mark.parametrize("case", ["unsigned", "other body", "other query", "other method", "unknown key",
                                  "wrong secret", "other service", "stale", "header changed", "bad hash"])
def test_anything_else_is_refused(case):
    body = b'{"action":"chat"}'
    headers, url, method, now = signed(), URL, "POST", None
    if case == "unsigned":
        headers = {"Content-Type": "application/json", "Host": "127.0.0.1:4567"}
    elif case == "other body":
        body = b'{"action":"kb_delete"}'
        headers = {**headers, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    elif case == "other query":
        url = URL.replace("limit=5", "limit=6")
    elif case == "other method":
        method = "PUT"
    elif case == "unknown key":
        headers = signed(key="AKIAOTHER")
    elif case == "wrong secret":
        headers = signed(secret="guessed")
    elif case == "other service":
        headers = signed(service="execute-api")
    elif case == "stale":
        now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=16)
    elif case == "header changed":
        headers = {**headers, "Content-Type": "text/plain"}
    elif case == "bad hash":   # the signature covers a hash, but not of the body that came
        body = b'{"action":"chat","x":1}'
    assert check(method, url, headers, body, now) is None


def test_the_site_signs_as_oac_does_replacing_a_viewers_authorization():
    body = b'{"action":"kb_list"}'
    viewer = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAVIEWER/...", "x-tars-token": "t",
              "x-amz-content-sha256": hashlib.sha256(body).hexdigest(), "Host": "127.0.0.1:4567"}
    out = sigv4.sign("POST", URL, viewer, body, Credentials("AKIALOCAL", "local-secret"), "us-east-1")
    assert "AKIAVIEWER" not in out["Authorization"] and "Credential=AKIALOCAL/" in out["Authorization"]
    assert out["x-tars-token"] == "t"
    assert check("POST", URL, out, body)["accessKey"] == "AKIALOCAL"
