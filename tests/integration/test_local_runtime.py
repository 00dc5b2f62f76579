"""The local runtime runs exactly the deployed code, picks up a moved alias, and logs like Lambda."""
from __future__ import annotations

import io
import json
import time
import urllib.request
import zipfile

import boto3
import pytest

from tests.support.iam_request import signed

from tars_tasks.errors import StepFailed
from tars_tasks.local import code, processes, runtime, services

FN = "sre-poc-incident-handler"

HANDLER = '''
import json, logging, os
logger = logging.getLogger("tars")
logger.setLevel(logging.INFO)
logger.info("TARS handler initialised version=%s", os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"))

def lambda_handler(event, context):
    {body}
'''


def make_zip(body: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", HANDLER.format(body=body))
    return buf.getvalue()


def deploy(settings, body: str, *, keep_in_dist: bool = True) -> str:
    """What deploy-lambda does: upload, publish, move the alias. Returns the version."""
    data = make_zip(body)
    if keep_in_dist:
        settings.dist_dir.mkdir(parents=True, exist_ok=True)
        (settings.dist_dir / "lambda.zip").write_bytes(data)
    lam = boto3.client("lambda")
    lam.update_function_code(FunctionName=FN, ZipFile=data)
    version = lam.publish_version(FunctionName=FN)["Version"]
    lam.update_alias(FunctionName=FN, Name="production", FunctionVersion=version)
    return version


@pytest.fixture
def settings(local_settings, tmp_path):
    s = local_settings(tmp_path)   # a fork of the once-applied infrastructure/ (Terraform's placeholder code)
    yield s
    for proc in processes.recorded(services.proc_dir(s)):
        processes.stop(services.proc_dir(s), proc.name)


def payload(reply) -> dict:
    return json.loads(reply["Payload"])


def test_placeholder_answers_until_deploy(settings):
    reply = runtime.invoke(settings, FN, "production", {"action": "health"}, timeout=30)
    assert "FunctionError" not in reply
    assert payload(reply)["statusCode"] == 503


def test_runs_the_deployed_version_and_follows_the_alias(settings):
    v1 = deploy(settings, 'return {"code": "one", "version": context.function_version, '
                          '"env": os.environ["KB_S3_BUCKET"], "endpoint": os.environ["AWS_ENDPOINT_URL"]}')
    got = payload(runtime.invoke(settings, FN, "production", {}, timeout=30))
    assert got == {"code": "one", "version": v1, "env": settings.kb_s3_bucket, "endpoint": settings.endpoint_url}
    v2 = deploy(settings, 'return {"code": "two"}')
    assert payload(runtime.invoke(settings, FN, "production", {}, timeout=30)) == {"code": "two"}
    # back to v1 although dist/ now holds v2: v1 runs from the cache keyed by its own hash
    boto3.client("lambda").update_alias(FunctionName=FN, Name="production", FunctionVersion=v1)
    assert payload(runtime.invoke(settings, FN, "production", {}, timeout=30))["code"] == "one"
    assert payload(runtime.invoke(settings, FN, v2, {}, timeout=30)) == {"code": "two"}


def test_refuses_code_that_is_not_the_deployed_zip(settings):
    deploy(settings, 'return {"code": "deployed"}', keep_in_dist=False)
    (settings.dist_dir).mkdir(parents=True, exist_ok=True)
    # the same size as the deployed zip, so only the sha256 check can refuse it
    (settings.dist_dir / "lambda.zip").write_bytes(make_zip('return {"code": "rebuilt!"}'))
    with pytest.raises(StepFailed, match="not available locally"):
        runtime.invoke(settings, FN, "production", {}, timeout=30)


def test_function_errors_are_reported_as_lambda_does(settings):
    deploy(settings, 'raise ValueError("boom")')
    reply = runtime.invoke(settings, FN, "production", {}, timeout=30)
    assert reply["FunctionError"] == "Unhandled"
    assert payload(reply)["errorType"] == "ValueError" and payload(reply)["errorMessage"] == "boom"


def test_timeout_of_the_function(settings):
    boto3.client("lambda").update_function_configuration(FunctionName=FN, Timeout=1)
    deploy(settings, 'import time; time.sleep(30)')
    reply = runtime.invoke(settings, FN, "production", {}, timeout=30)
    assert payload(reply)["errorType"] == "Sandbox.Timedout"


def test_caller_timeout_raises_like_botocore(settings):
    from botocore.exceptions import ReadTimeoutError

    deploy(settings, 'import time; time.sleep(30)')
    with pytest.raises(ReadTimeoutError) as err:
        runtime.invoke(settings, FN, "production", {}, timeout=0.5)
    assert isinstance(err.value, TimeoutError)


def test_log_lines_reach_the_function_log_group(settings):
    version = deploy(settings, 'logger.info("handled %s", event.get("n")); logger.warning("two\\nlines"); return {}')
    runtime.invoke(settings, FN, "production", {"n": 42}, timeout=30)
    # the runtime ships the lines after the reply went out (as Lambda: the caller does not wait
    # for CloudWatch), so read until the REPORT line is there
    logs = boto3.client("logs")
    for _ in range(300):
        messages = [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{FN}")["events"]]
        if any(m.startswith("REPORT RequestId:") for m in messages):
            break
        time.sleep(0.1)
    assert any(m.startswith("START RequestId:") and f"Version: {version}" for m in messages)
    assert any("[INFO]" in m and f"TARS handler initialised version={version}" in m for m in messages)
    assert any("handled 42" in m for m in messages)
    assert any(m.endswith("two\nlines") for m in messages)  # a multi-line record stays one event
    assert any(m.startswith("REPORT RequestId:") for m in messages)
    streams = boto3.client("logs").describe_log_streams(logGroupName=f"/aws/lambda/{FN}")["logStreams"]
    assert any(f"[{version}]" in s["logStreamName"] for s in streams)


def test_function_url_server_serves_requests_and_picks_up_a_new_alias_target(settings):
    deploy(settings, 'return {"statusCode": 201, "headers": {"X-Code": "one"}, '
                     '"body": json.dumps({"method": event["requestContext"]["http"]["method"], '
                     '"body": event.get("body"), "q": event.get("queryStringParameters")})}')
    proc = services.start_runtime(settings)
    assert settings.function_url == proc.url + "/"
    req = signed(proc.url + "/api?x=1", data=b'{"action": "health"}', method="POST",
                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 201 and r.headers["X-Code"] == "one"
        assert json.loads(r.read()) == {"method": "POST", "body": '{"action": "health"}', "q": {"x": "1"}}
    # AWS_IAM, as lambda.tf makes it: unsigned is refused by the URL itself, the function never runs
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(proc.url + "/", timeout=30)
    assert err.value.code == 403 and json.loads(err.value.read()) == {"Message": "Forbidden"}
    deploy(settings, 'return {"code": "two"}')
    with urllib.request.urlopen(signed(proc.url + "/"), timeout=30) as r:
        assert r.status == 200 and json.loads(r.read()) == {"code": "two"}
    deploy(settings, 'raise RuntimeError("x")')
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(signed(proc.url + "/"), timeout=30)
    assert err.value.code == 502


def test_code_deployed_through_the_artifact_bucket_is_found_there(settings):
    """deploy-lambda sends zips over 50 MB through the artifact bucket: no dist/ copy needed."""
    data = make_zip('return {"code": "from s3"}')
    boto3.client("s3").put_object(Bucket=settings.artifact_bucket, Key="lambda/abc.zip", Body=data)
    lam = boto3.client("lambda")
    lam.update_function_code(FunctionName=FN, S3Bucket=settings.artifact_bucket, S3Key="lambda/abc.zip")
    version = lam.publish_version(FunctionName=FN)["Version"]
    assert lam.get_function_configuration(FunctionName=FN, Qualifier=version)["CodeSha256"] == code.sha256_b64(data)
    lam.update_alias(FunctionName=FN, Name="production", FunctionVersion=version)
    assert payload(runtime.invoke(settings, FN, "production", {}, timeout=30)) == {"code": "from s3"}
    assert "s3://" in (code.cache_dir(settings, code.sha256_b64(data)) / ".complete").read_text()


def test_a_location_served_on_127_0_0_1_is_fetched_and_checked(settings, tmp_path):
    import http.server
    import threading

    data = make_zip('return {"code": "from location"}')
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "code.zip").write_bytes(data)
    (tmp_path / "served" / "other.zip").write_bytes(make_zip('return {"code": "wrong"}'))
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "served"), **kw)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        sha = code.sha256_b64(data)
        with pytest.raises(StepFailed):   # bytes whose hash differs are never run
            code.unpacked(settings, sha, len(data), base + "/other.zip")
        where = code.unpacked(settings, sha, len(data), base + "/code.zip")
        assert (where / "handler.py").is_file() and "Code.Location" in (where / ".complete").read_text()
    finally:
        server.shutdown()
