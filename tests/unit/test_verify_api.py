"""verify's three checks against the real handler (lambda_src/handler.py) run in-process behind
a tiny HTTP server that turns requests into Function URL events; AWS is moto's server."""
import base64
import importlib.util
import io
import json
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest

from tars_tasks.settings import ROOT, Settings
from tars_tasks.local import sigv4
from tars_tasks.steps import verify
from tars_tasks.tables import create_all
from tests.fakes import kb_faults

FN = "sre-poc-incident-handler"
KB_BUCKET = "sre-poc-kb-test"
GROUP = f"/aws/lambda/{FN}"


def load_handler(monkeypatch, src=ROOT / "lambda_src"):
    """A fresh import of the handler (and its sibling modules) from ``src``."""
    monkeypatch.syspath_prepend(str(src))
    for name in [m for m in list(sys.modules) if (src / f"{m}.py").exists()]:
        monkeypatch.delitem(sys.modules, name)
    spec = importlib.util.spec_from_file_location(f"tars_handler_{time.monotonic_ns()}", src / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ACCOUNT = "123456789012"
IDENTITY = {"Account": ACCOUNT, "UserId": "AIDAVERIFY", "Arn": f"arn:aws:iam::{ACCOUNT}:user/deployer"}


class Context:
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FN}:production"


class FunctionUrl:
    """HTTP → Lambda Function URL event (payload 2.0) → handler → HTTP."""

    def __init__(self, handler):
        self.handler = handler
        self.requests = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def _serve(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append({"method": self.command, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                event = {"version": "2.0", "rawPath": url.path, "rawQueryString": url.query,
                         "headers": {k.lower(): v for k, v in self.headers.items()},
                         "queryStringParameters": dict(parse_qsl(url.query)) or None,
                         "requestContext": {"http": {"method": self.command, "path": url.path}},
                         "body": base64.b64encode(body).decode() if body else None, "isBase64Encoded": bool(body)}
                signer = sigv4.check(self.command, f"http://{self.headers['Host']}{self.path}", dict(self.headers.items()),
                                     body, secret_for=lambda key: "testing" if key == "testing" else None,
                                     identity=lambda key: IDENTITY)
                if signer:   # what an AWS_IAM Function URL puts in the event for a good signature
                    event["requestContext"]["authorizer"] = {"iam": signer}
                reply = outer.handler.lambda_handler(event, Context())
                payload = reply.get("body", "").encode()
                self.send_response(reply["statusCode"])
                for k, v in reply.get("headers", {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def deployed(endpoint, monkeypatch, tmp_path):
    """Tables, bucket, function with its KB variables, a log group with the init line; the handler served."""
    region = "us-east-1"
    ddb = boto3.client("dynamodb", region_name=region)
    create_all(ddb, "sre-poc")
    boto3.client("s3", region_name=region).create_bucket(Bucket=KB_BUCKET)
    role = boto3.client("iam", region_name=region).create_role(
        RoleName="tars-fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("handler.py", "def lambda_handler(e, c): return {}")
    kb_env = {"KB_DOCUMENTS_TABLE": "sre-poc-kb-documents", "KB_CHUNKS_TABLE": "sre-poc-kb-chunks",
              "KB_S3_BUCKET": KB_BUCKET, "INCIDENTS_TABLE": "sre-poc-incidents"}
    boto3.client("lambda", region_name=region).create_function(
        FunctionName=FN, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": zbuf.getvalue()}, Environment={"Variables": kb_env})
    logs = boto3.client("logs", region_name=region)
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s1")
    logs.put_log_events(logGroupName=GROUP, logStreamName="s1", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "INFO TARS handler initialised version=3 commit=abc"}])
    for k, v in kb_env.items():
        monkeypatch.setenv(k, v)
    handler = load_handler(monkeypatch)
    kb_faults.FAULTS.clear()
    kb_faults.install(handler, "sre-poc-kb-chunks")
    fn = FunctionUrl(handler)
    boto3.client("lambda", region_name=region).create_function_url_config(FunctionName=FN, AuthType="AWS_IAM")
    settings = Settings.load(None, root=tmp_path, environ={
        "TARS_FUNCTION_URL": fn.url, "KB_S3_BUCKET": KB_BUCKET, "AWS_ENDPOINT_URL": endpoint})
    yield settings, fn, ddb
    fn.server.shutdown()
    kb_faults.FAULTS.clear()


def kb_leftovers(ddb):
    s3 = boto3.client("s3", region_name="us-east-1")
    return (ddb.scan(TableName="sre-poc-kb-documents")["Items"], ddb.scan(TableName="sre-poc-kb-chunks")["Items"],
            s3.list_objects_v2(Bucket=KB_BUCKET).get("Contents", []))


def test_all_three_checks_pass_and_leave_nothing_behind(deployed):
    settings, fn, ddb = deployed
    results = verify.run_all(settings, since=time.time() - 60)
    assert [(r.name, r.status) for r in results] == [("kb", "pass"), ("chat", "pass"), ("logs", "pass")], results
    kb = results[0]
    assert kb.data["chunks"] >= 1 and "kb_delete" in kb.reason
    assert kb_leftovers(ddb) == ([], [], [])
    posts = [r for r in fn.requests if r["method"] == "POST"]
    assert posts and all(r["headers"]["x-amz-content-sha256"] ==
                         __import__("hashlib").sha256(r["body"]).hexdigest() for r in posts)
    # the URL is AWS_IAM (as lambda.tf makes it): every check signed, the handler authorized it by IAM
    assert all(r["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ") for r in fn.requests)


@pytest.mark.parametrize("fault,step", [("short_embedding", "256-float"), ("list_hides", "kb_list"),
                                        ("complete_500", "HTTP 500")])
def test_kb_failure_names_the_step_and_removes_the_document(deployed, fault, step):
    settings, fn, ddb = deployed
    kb_faults.FAULTS.add(fault)
    result = verify.kb_check(settings, verify.Api(settings))
    assert result.status == "fail" and step in result.reason, result.reason
    assert kb_leftovers(ddb) == ([], [], [])


def test_kb_resources_missing(deployed):
    settings, fn, ddb = deployed
    ddb.delete_table(TableName="sre-poc-kb-chunks")
    result = verify.kb_check(settings, verify.Api(settings))
    assert result.status == "fail" and "sre-poc-kb-chunks" in result.reason
    assert not [r for r in fn.requests if r["method"] == "POST"]  # nothing uploaded


def test_logs_check_finds_error_lines_and_missing_init(deployed):
    settings, fn, ddb = deployed
    logs = boto3.client("logs", region_name="us-east-1")
    since = time.time() - 60
    logs.put_log_events(logGroupName=GROUP, logStreamName="s1", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "[ERROR] KeyError: 'question'"}])
    result = verify.logs_check(settings, since)
    assert result.status == "fail", result
    assert result.details == ["[ERROR] KeyError: 'question'"]
    # no init line in the window: fine unless the alias was deployed within it
    later = verify.logs_check(settings, time.time() + 5)
    assert later.status == "pass" and "no deploy of the function" in later.reason
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_alias(FunctionName=FN, Name="production", FunctionVersion=lam.publish_version(FunctionName=FN)["Version"])
    deployed = verify.alias_deployed_at(settings)
    assert deployed is not None and abs(deployed - time.time()) < 3600
    # a fresh log group without any init line, the alias deployed inside the window: a failure
    logs.delete_log_group(logGroupName=GROUP)
    logs.create_log_group(logGroupName=GROUP)
    missing = verify.logs_check(settings, deployed - 60)
    assert missing.status == "fail" and "initialised" in missing.reason
    logs.delete_log_group(logGroupName=GROUP)
    assert "does not exist" in verify.logs_check(settings, since).reason


def test_chat_over_the_limit_fails(deployed):
    settings, fn, ddb = deployed
    ticks = iter([0.0, 31.0])
    result = verify.chat_check(settings, verify.Api(settings), clock=lambda: next(ticks))
    assert result.status == "fail" and "over the 30 s limit" in result.reason


def test_function_url_with_aws_iam_is_sigv4_signed(deployed):
    settings, fn, ddb = deployed
    api = verify.Api(settings)
    assert api.sign is True
    assert api.post("chat", question="hi")["answer"]
    headers = fn.requests[-1]["headers"]
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/lambda/aws4_request" in headers["authorization"]
    assert "x-amz-content-sha256" in headers["authorization"]  # the body hash is a signed header


def test_an_iam_function_url_is_preferred_to_the_site_whose_api_needs_a_person(deployed):
    settings, fn, ddb = deployed
    api = verify.Api(settings.replace(site_url="https://tars.example.com"))
    assert api.url == settings.function_url and api.sign is True


def test_site_url_goes_through_api_path_unsigned(tmp_path):
    s = Settings.load(None, root=tmp_path, environ={"TARS_SITE_URL": "https://tars.example.com/"})
    api = verify.Api(s)
    assert api.url == "https://tars.example.com/api" and api.sign is False
    headers = api.headers_for("POST", api.url, b'{"action":"chat"}')
    assert headers["x-amz-content-sha256"] == __import__("hashlib").sha256(b'{"action":"chat"}').hexdigest()
    from tars_tasks.errors import ConfigError
    with pytest.raises(ConfigError):
        verify.Api(Settings.load(None, root=tmp_path, environ={}))


def test_parse_since_is_the_one_of_inv_logs():
    """inv verify --since and inv logs --since read the window with the same function."""
    from tars_tasks.errors import UsageError
    from tars_tasks.times import parse_since

    assert parse_since("10m", 1000.0) == 400.0
    with pytest.raises(UsageError):
        parse_since("ten minutes", 0)
    assert not hasattr(verify, "parse_since")


@pytest.mark.parametrize("text,expected", [
    ("2024-01-01T12:00:00.000+0000", 1704110400.0), ("2024-01-01T12:00:00.468729000Z", 1704110400.468729),
    ("2024-01-01T13:00:00+01:00", 1704110400.0), ("yesterday", None),
])
def test_parse_last_modified(text, expected):
    got = verify.parse_last_modified(text)
    assert got == (pytest.approx(expected) if expected else None)
