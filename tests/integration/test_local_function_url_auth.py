"""The local Function URL honours its AuthType as Lambda does: with AWS_IAM (what infrastructure/
sets) an unsigned or wrongly signed request is refused with 403 before the function runs, a
request signed as CloudFront's OAC signs it reaches the function; with NONE anything reaches it.
The server runs as a process (`python -m tars_tasks.local.function_url`) against moto's server."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile

import boto3
import pytest

from tars_tasks.local import processes, sigv4
from tests.conftest import ROOT

FUNCTION, ALIAS = "sre-poc-incident-handler", "production"
HANDLER = (b"def lambda_handler(event, context):\n"
           b"    iam = (event['requestContext'].get('authorizer') or {}).get('iam') or {}\n"
           b"    return {'statusCode': 200, 'body': 'reached ' + event['rawPath'] + ' as ' + iam.get('userArn', '-')}\n")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("handler.py", date_time=(1980, 1, 1, 0, 0, 0)), HANDLER)
    return buf.getvalue()


@pytest.fixture
def url_server(endpoint, tmp_path):
    lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1")
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    data = _zip()
    kept = tmp_path / ".tars" / "local" / "code" / f"{hashlib.sha256(data).hexdigest()}.zip"
    kept.parent.mkdir(parents=True)                           # where the runtime finds code by hash
    kept.write_bytes(data)
    lam.create_function(FunctionName=FUNCTION, Runtime="python3.11", Role=role["Role"]["Arn"],
                        Handler="handler.lambda_handler", Code={"ZipFile": data}, Timeout=30)
    version = lam.publish_version(FunctionName=FUNCTION)["Version"]
    lam.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version)
    lam.create_function_url_config(FunctionName=FUNCTION, Qualifier=ALIAS, AuthType="AWS_IAM")
    port = processes.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TARS_"))}
    env.update({"TARS_ROOT": str(tmp_path), "TARS_TARGET": "local", "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen([sys.executable, "-m", "tars_tasks.local.function_url", "--port", str(port),
                             "--function", FUNCTION, "--qualifier", ALIAS], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/_local/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url, lam
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _send(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _signed(method: str, url: str, body: bytes, payload: str | None) -> dict:
    return sigv4.sign(method, url, body, payload, "us-east-1", "testing", "testing")


def test_aws_iam_refuses_unsigned_and_wrongly_signed_requests(url_server):
    url, _ = url_server
    status, reply = _send("GET", url + "/api?action=kb_list")
    assert status == 403 and json.loads(reply)["Message"] == "Forbidden"
    wrong = {**_signed("GET", url + "/api?action=kb_list", b"", None)}
    wrong["Authorization"] = wrong["Authorization"][:-1] + ("0" if wrong["Authorization"][-1] != "0" else "1")
    assert _send("GET", url + "/api?action=kb_list", headers=wrong)[0] == 403
    body = b'{"action": "kb_upload"}'
    unsigned_payload = _signed("POST", url + "/api", body, None)   # POST without the viewer's payload hash
    assert _send("POST", url + "/api", body, unsigned_payload)[0] == 403
    lying = _signed("POST", url + "/api", body, hashlib.sha256(b"other").hexdigest())
    assert _send("POST", url + "/api", body, lying)[0] == 403


def test_a_signed_request_reaches_the_function(url_server):
    url, _ = url_server
    # and the event names the signer as Lambda does for AWS_IAM (requestContext.authorizer.iam)
    signer = boto3.client("sts", endpoint_url=url_server[1].meta.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing").get_caller_identity()["Arn"]
    assert _send("GET", url + "/api", headers=_signed("GET", url + "/api", b"", None)) == (
        200, f"reached /api as {signer}".encode())
    body = b'{"action": "x"}'
    signed = _signed("POST", url + "/api", body, hashlib.sha256(body).hexdigest())
    assert _send("POST", url + "/api", body, {"Content-Type": "application/json", **signed}) == (
        200, f"reached /api as {signer}".encode())


def test_auth_none_lets_anything_through(url_server):
    url, lam = url_server
    lam.update_function_url_config(FunctionName=FUNCTION, Qualifier=ALIAS, AuthType="NONE")
    assert _send("GET", url + "/api") == (200, b"reached /api as -")              # nobody signed
