"""The router: Function URL events, bad bodies, failures without traces, one INFO line at cold start."""
import importlib
import json
import logging
import sys

import pytest

from tests.handler_support import ROOT, configure, create_resources, event, handler_module, item_count


@pytest.fixture
def h(aws, monkeypatch):
    configure(monkeypatch)
    create_resources()
    return handler_module()


def reply_of(h, ev):
    r = h.lambda_handler(ev, None)
    return r["statusCode"], json.loads(r["body"]) if r["body"] else None


def test_a_2mb_body_is_400_and_nothing_is_written(h):
    big = json.dumps({"action": "create_incident", "service": "payment-service", "severity": "P1",
                      "title": "x", "description": "y" * (2 * 1024 * 1024)})
    status, body = reply_of(h, event(None, raw_body=big))
    assert status == 400 and "larger than 1048576 bytes" in body["error"]
    assert item_count("sre-poc-incidents") == 0


@pytest.mark.parametrize("raw, message", [
    ("{nope", "not valid JSON"), ("[1, 2]", "JSON object"), ("", "missing field 'action'"),
])
def test_bad_bodies_are_400(h, raw, message):
    status, body = reply_of(h, event(None, raw_body=raw))
    assert status == 400 and message in body["error"]


def test_base64_body_and_get_query_string_are_understood(h):
    ev = event("create_incident", b64=True, service="order-service", severity="P3", title="slow checkout")
    status, body = reply_of(h, ev)
    assert status == 200 and body["severity"] == "P3"
    status, body = reply_of(h, event("list_incidents", "GET", severity="P3"))
    assert status == 200 and body["count"] == 1
    bad = {"requestContext": {"http": {"method": "POST"}}, "body": "***", "isBase64Encoded": True}
    assert reply_of(h, bad)[0] == 400


def test_options_preflight_gets_cors_headers(h):
    r = h.lambda_handler({"requestContext": {"http": {"method": "OPTIONS"}}}, None)
    assert r["statusCode"] == 204 and "POST" in r["headers"]["Access-Control-Allow-Methods"]


def test_an_aws_failure_is_a_5xx_without_trace_logged_at_error(h, monkeypatch, caplog):
    monkeypatch.setenv("INCIDENTS_TABLE", "no-such-table")
    with caplog.at_level(logging.INFO, logger="tars"):
        status, body = reply_of(h, event("list_incidents", "GET"))
    assert status == 502 and body == {"error": "AWS call failed: ResourceNotFoundException"}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "request failed" in errors[0].getMessage()


def test_expected_degradations_log_no_error(h, caplog):
    import boto3

    from tests.handler_support import lambda_module

    lambda_module("sample_data").seed(boto3.client("logs"))
    with caplog.at_level(logging.INFO, logger="tars"):
        assert reply_of(h, event("chat", question="errors in the last hour?"))[0] == 200
        assert reply_of(h, event("kb_upload", service_name="x", feature_name="y", file_name="z.exe"))[0] == 400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_cold_start_logs_one_info_line(caplog, aws):
    for name in ("handler",):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(ROOT / "lambda_src"))
    try:
        with caplog.at_level(logging.DEBUG, logger="tars"):
            importlib.import_module("handler")
    finally:
        sys.path.remove(str(ROOT / "lambda_src"))
    records = [r for r in caplog.records if r.name == "tars"]
    assert len(records) == 1 and records[0].levelno == logging.INFO
    assert records[0].getMessage().startswith("TARS handler initialised version=")


def test_the_handler_is_deployable_alone():
    """lambda_src imports only the stdlib, boto3/botocore (the runtime's) and its requirements."""
    import ast

    src = ROOT / "lambda_src"
    local = {p.stem for p in src.glob("*.py")}
    allowed = set(sys.stdlib_module_names) | local | {"boto3", "botocore", "pypdf"}
    for path in src.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
    reqs = [l.split("==")[0] for l in (src / "requirements.txt").read_text().splitlines() if "==" in l]
    assert reqs == ["pypdf"]
