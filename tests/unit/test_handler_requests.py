"""The router: Function URL events, bad bodies, failures without traces, one INFO line at cold start."""
import importlib
import json
import logging
import sys

import pytest

from tests.support.handler import (ROOT, Context, configure, create_resources, event, handler_module, item_count,
                                   signed_by_iam, url_event)


@pytest.fixture
def h(aws, monkeypatch):
    configure(monkeypatch)
    create_resources()
    return handler_module()


def reply_of(h, ev):
    """``ev`` from a machine client of this account (IAM on the Function URL), as the deploy tasks call."""
    r = h.lambda_handler(signed_by_iam(ev) if ev.get("requestContext") else ev, Context())
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


def test_cors_answers_only_the_origins_listed_never_star(h, monkeypatch):
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://tars.example.com, http://localhost:5173")

    def preflight(origin):
        return h.lambda_handler({"requestContext": {"http": {"method": "OPTIONS"}}, "headers": {"Origin": origin}}, None)

    r = preflight("https://tars.example.com")
    assert r["statusCode"] == 204 and r["headers"]["Access-Control-Allow-Origin"] == "https://tars.example.com"
    assert "POST" in r["headers"]["Access-Control-Allow-Methods"]
    assert "x-tars-token" in r["headers"]["Access-Control-Allow-Headers"].split(",")
    for other in ("https://evil.example.net", "null", "https://tars.example.com.evil.net"):
        r = preflight(other)
        assert r["statusCode"] == 204 and "Access-Control-Allow-Origin" not in r["headers"], other
    listed = reply_of(h, {**event("health"), "headers": {"origin": "http://localhost:5173"}})
    assert listed[0] == 200
    r = h.lambda_handler({**event("health"), "headers": {"origin": "http://localhost:5173"}}, None)
    assert r["headers"]["Access-Control-Allow-Origin"] == "http://localhost:5173" and r["headers"]["Vary"] == "Origin"


def test_an_aws_failure_is_a_5xx_without_trace_logged_at_error(h, monkeypatch, caplog):
    monkeypatch.setenv("INCIDENTS_TABLE", "no-such-table")
    with caplog.at_level(logging.INFO, logger="tars"):
        status, body = reply_of(h, event("list_incidents", "GET"))
    assert status == 502 and body == {"error": "AWS call failed: ResourceNotFoundException"}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "request failed" in errors[0].getMessage()


def test_expected_degradations_log_no_error(h, caplog):
    import boto3

    from tests.support.handler import lambda_module

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
    allowed = set(sys.stdlib_module_names) | local | {"boto3", "botocore", "pypdf", "jwt"}
    for path in src.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
    reqs = [l.split("==")[0] for l in (src / "requirements.txt").read_text().splitlines() if "==" in l]
    assert reqs == ["pypdf", "PyJWT[crypto]", "cryptography", "cffi", "pycparser"]


# ------------------------------------------------- requests through the Function URL event shape
def state():
    """Everything the handler could change: every table's items, every object in every bucket."""
    import boto3

    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    tables = {t: sorted(json.dumps(i, sort_keys=True) for i in ddb.scan(TableName=t)["Items"])
              for t in ddb.list_tables()["TableNames"]}
    objects = sorted((b["Name"], o["Key"], o["ETag"]) for b in s3.list_buckets()["Buckets"]
                     for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", []))
    return tables, objects


def url_reply(h, ev):
    r = h.lambda_handler(signed_by_iam(ev), Context())
    assert "Access-Control-Allow-Origin" not in r["headers"] and r["headers"]["Content-Type"] == "application/json"
    return r["statusCode"], r["headers"], json.loads(r["body"])


DEEP = 100_000
MALFORMED = [
    ("action-list", json.dumps({"action": ["kb_list"]}), "field 'action' must be a string"),
    ("action-object", json.dumps({"action": {"name": "kb_delete"}}), "field 'action' must be a string"),
    ("action-number", json.dumps({"action": 7}), "field 'action' must be a string"),
    ("action-true", json.dumps({"action": True}), "field 'action' must be a string"),
    ("nested-list", "[" * DEEP + "]" * DEEP, "nested too deeply"),
    ("nested-objects", '{"a":' * DEEP + "1" + "}" * DEEP, "nested too deeply"),
    ("nested-field", '{"action": "create_incident", "title": ' + "[" * DEEP + "]" * DEEP + "}", "nested too deeply"),
]


@pytest.mark.parametrize("body, says", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_action_and_deep_json_are_400_and_change_nothing(h, caplog, body, says):
    before = state()
    with caplog.at_level(logging.INFO, logger="tars"):
        status, _, reply = url_reply(h, url_event("POST", body=body))
    assert (status, set(reply)) == (400, {"error"}) and says in reply["error"], reply
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []   # no RecursionError, no trace
    assert state() == before


@pytest.mark.parametrize("query", [{"action": "kb_list"}, {"action": "list_incidents"}, {"action": "health"}])
def test_an_action_list_in_the_query_string_is_still_a_string(h, query):
    # a Function URL joins a repeated query parameter with commas: ?action=a&action=b -> "a,b"
    status, _, reply = url_reply(h, url_event("GET", {"action": query["action"] + "," + query["action"]}))
    assert status == 400 and "unknown action" in reply["error"]
    assert url_reply(h, url_event("GET", query))[0] == 200


def seeded(h):
    """One active KB document (its file, chunks) and one open incident, written through the handler."""
    import boto3

    from tests.support.handler import BUCKET

    post = lambda fields: url_reply(h, url_event("POST", body=json.dumps(fields)))  # noqa: E731
    up = post({"action": "kb_upload", "service_name": "payment-service", "feature_name": "payments",
               "file_name": "runbook.md"})[2]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=up["s3_key"], Body=b"# Runbook\n\nRestart the pool.\n")
    assert post({"action": "kb_upload_complete", "document_id": up["document_id"]})[2]["status"] == "active"
    incident = post({"action": "create_incident", "service": "payment-service", "severity": "P2", "title": "slow"})[2]
    return up["document_id"], incident["incident_id"]


WRITES = [
    ("kb_delete", lambda d, i: {"document_id": d}),
    ("kb_update", lambda d, i: {"document_id": d, "status": "disabled"}),
    ("kb_upload", lambda d, i: {"service_name": "payment-service", "feature_name": "x", "file_name": "a.md"}),
    ("kb_upload_complete", lambda d, i: {"document_id": d}),
    ("create_incident", lambda d, i: {"service": "payment-service", "severity": "P1", "title": "down"}),
    ("update_incident", lambda d, i: {"incident_id": i, "status": "resolved"}),
]


WRITE_CASES = [(name, fields, "GET") for name, fields in WRITES] + [
    ("kb_delete", WRITES[0][1], method) for method in ("HEAD", "PUT", "DELETE", "PATCH")]


@pytest.mark.parametrize("action, fields, method", WRITE_CASES, ids=[f"{c[2]}-{c[0]}" for c in WRITE_CASES])
def test_a_write_action_other_than_post_is_405_and_changes_nothing(h, method, action, fields):
    document_id, incident_id = seeded(h)
    before = state()
    query = {"action": action, **fields(document_id, incident_id)}
    body = None if method in ("GET", "HEAD") else json.dumps(query)
    status, headers, reply = url_reply(h, url_event(method, query if body is None else None, body))
    assert status == 405 and headers["Allow"] == "POST", reply
    assert f"action '{action}' changes data" in reply["error"] and "POST" in reply["error"]
    assert state() == before


def test_a_get_whose_body_names_a_write_action_is_405_too(h):
    document_id, _ = seeded(h)
    before = state()
    ev = url_event("GET", {"action": "kb_list"}, json.dumps({"action": "kb_delete", "document_id": document_id}))
    assert url_reply(h, ev)[0] == 405 and state() == before


@pytest.mark.parametrize("action, query", [("kb_list", {"service_name": "payment-service"}),
                                           ("list_incidents", {"status": "open"}), ("health", {}),
                                           ("chat", {"question": "any errors in the last hour?"})])
def test_read_actions_answer_get(h, action, query):
    seeded(h)
    before = state()
    status, _, reply = url_reply(h, url_event("GET", {"action": action, **query}))
    assert status == 200, reply
    assert state() == before


def test_a_direct_invoke_may_still_write(h):
    """An IAM-authorised direct invoke (no HTTP method) is not a browser GET: writes are allowed."""
    document_id, _ = seeded(h)
    reply = h.lambda_handler({"action": "kb_delete", "document_id": document_id}, None)
    assert reply["statusCode"] == 200 and json.loads(reply["body"])["deleted"] is True
