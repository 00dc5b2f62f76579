import json
import time
from datetime import datetime, timezone

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.support.handler import BUCKET, call, configure, create_resources, handler_module, lambda_module

@pytest.fixture
def seeded_ms():
    """When the sample logs are seeded: each test's own time, so a window relative to the handler's
    clock holds the burst however long the suite ran before the test (a full run takes ~30 min)."""
    return int(time.time() * 1000)


@pytest.fixture
def h(aws, monkeypatch, seeded_ms):
    configure(monkeypatch)
    create_resources()
    h = handler_module()
    lambda_module("sample_data").seed(boto3.client("logs"), now_ms=seeded_ms)
    return h


def add_doc(h, service, file_name, text):
    body = call(h, "kb_upload", service_name=service, feature_name="ops", file_name=file_name, doc_type="runbook")[1]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=body["s3_key"], Body=text.encode())
    assert call(h, "kb_upload_complete", document_id=body["document_id"])[0] == 200
    return body["document_id"]


def test_errors_in_the_last_hour_without_bedrock_still_gives_the_facts(h):
    status, body = call(h, "chat", question="Are there any errors in the last hour?")
    assert status == 200
    assert body["llm"] == "unavailable" and isinstance(body["elapsed_ms"], int)
    f = body["findings"]
    assert f["error_count"] == 33 and f["source"] == "cloudwatch" and f["since_minutes"] == 60
    assert f["log_groups"] == ["/ecs/inventory-service", "/ecs/order-service", "/ecs/payment-service"]
    top = f["top_errors"][0]
    assert top["count"] == 18 and top["log_group"] == "/ecs/payment-service"
    assert top["message"].startswith("PaymentProcessorException: card authorisation failed")
    assert "PaymentProcessorException" in top["sample"] and " ERROR " in top["sample"]
    assert {e["message"].split(":")[0] for e in f["top_errors"]} >= {"PaymentProcessorException", "CONNECTION_TIMEOUT"}
    answer = body["answer"]
    assert "33 error(s)" in answer and "payment-service 25" in answer and "order-service 8" in answer
    assert "inventory-service" not in answer.split("Top errors")[0].split(":", 1)[1]  # no errors there


def test_service_and_time_range_narrow_the_search(h):
    body = call(h, "chat", question="what is failing?", service="order-service", time_range="30m")[1]
    assert body["findings"]["log_groups"] == ["/ecs/order-service"]
    assert body["findings"]["error_count"] == 8 and body["findings"]["since_minutes"] == 30
    named = call(h, "chat", question="any errors in payment-service in the last 2 hours?")[1]
    assert named["findings"]["log_groups"] == ["/ecs/payment-service"] and named["findings"]["since_minutes"] == 120


def test_only_errors_inside_the_window_count(h, monkeypatch, seeded_ms):
    sample = lambda_module("sample_data")
    # the handler's clock is frozen at the moment the logs were seeded, so no event crosses the
    # window's edge while the test runs
    now_ms = seeded_ms
    frozen = datetime.fromtimestamp(now_ms / 1000, timezone.utc)

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(lambda_module("chat"), "datetime", FrozenDatetime)
    start = now_ms - 5 * 60_000
    expected = {s: sum(1 for e in sample.events_for(s, now_ms) if " ERROR " in e["message"] and e["timestamp"] >= start)
                for s in sample.SERVICES}
    assert 0 < sum(expected.values()) < 33
    body = call(h, "chat", question="errors?", time_range="5m")[1]
    assert body["findings"]["error_count"] == sum(expected.values())
    assert body["findings"]["by_log_group"] == {f"/ecs/{s}": n for s, n in expected.items()}
    assert "in the last 5 minutes" in body["answer"]
    quiet = call(h, "chat", question="errors?", service="inventory-service")[1]
    assert quiet["findings"]["error_count"] == 0
    assert quiet["answer"].startswith("No errors in the last hour across 1 log group(s): /ecs/inventory-service")


def test_a_payment_document_is_a_kb_source_for_a_payment_question(h):
    pay = add_doc(h, "payment-service", "payment-runbook.md",
                  "# Payment failures\n## PaymentProcessorException\nThe card gateway returned 502: check the "
                  "payment provider status and retry the payment authorisation.")
    add_doc(h, "inventory-service", "stock.md",
            "# Stock sync\nWarehouse stock levels are synced nightly; low stock warnings page the buying team.")
    body = call(h, "chat", question="Why are card payments failing with PaymentProcessorException?")[1]
    assert body["kb_sources"][0]["document_id"] == pay
    assert body["kb_sources"][0]["file_name"] == "payment-runbook.md" and 0 < body["kb_sources"][0]["score"] <= 1
    assert set(body["kb_sources"][0]) == {"document_id", "file_name", "score"}
    assert "payment-runbook.md" in body["answer"]
    call(h, "kb_update", document_id=pay, status="disabled")
    body = call(h, "chat", question="Why are card payments failing with PaymentProcessorException?")[1]
    assert pay not in [s["document_id"] for s in body["kb_sources"]]


def test_bedrock_answer_when_converse_answers(h, monkeypatch):
    monkeypatch.setenv("BEDROCK_MODEL_ID", "anthropic.claude-3-haiku")
    clients = lambda_module("clients")
    from config import BEDROCK_CHAT_TIMEOUTS  # noqa: E402  (lambda_src is importable: handler_module ran)

    seen = {}

    def converse(params, **kwargs):
        # moto does not implement Converse (and its in-process before-send hook answers first):
        # answer at before-call, with the reply Bedrock gives, after botocore serialised the request.
        seen["body"] = json.loads(params["body"])
        reply = {"output": {"message": {"role": "assistant", "content": [{"text": "payment-service is failing."}]}},
                 "stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                 "metrics": {"latencyMs": 5}}
        return AWSResponse(params["url"], 200, {}, None), reply

    clients.client("bedrock-runtime", BEDROCK_CHAT_TIMEOUTS).meta.events.register("before-call.bedrock-runtime.Converse", converse)
    body = call(h, "chat", question="Are there any errors in the last hour?")[1]
    assert body["llm"] == "bedrock" and body["answer"] == "payment-service is failing."
    prompt = seen["body"]["messages"][0]["content"][0]["text"]
    assert '"error_count": 33' in prompt and "PaymentProcessorException" in prompt
    assert body["findings"]["error_count"] == 33


def test_bedrock_failing_falls_back_to_the_summary(h, monkeypatch):
    monkeypatch.setenv("BEDROCK_MODEL_ID", "anthropic.claude-3-haiku")  # moto: Converse not implemented
    body = call(h, "chat", question="Are there any errors in the last hour?")[1]
    assert body["llm"] == "unavailable" and "payment-service 25" in body["answer"]


def test_unreachable_mcp_falls_back_to_cloudwatch(h, monkeypatch):
    from tars_tasks.local.processes import free_port

    monkeypatch.setenv("MCP_ENDPOINT", f"http://127.0.0.1:{free_port()}/mcp")  # nothing listens there
    body = call(h, "chat", question="Are there any errors in the last hour?")[1]
    assert body["findings"]["source"] == "cloudwatch" and body["findings"]["error_count"] == 33


@pytest.mark.parametrize("fields, message", [
    ({}, "missing field 'question'"),
    ({"question": "x" * 2001}, "longer than 2000"),
    ({"question": "errors?", "time_range": "forever"}, "time_range"),
    ({"question": "errors?", "time_range": "30d"}, "7 days"),
    ({"question": "errors?", "service": "no such/service"}, "service"),
])
def test_bad_chat_input_is_400(h, fields, message):
    status, body = call(h, "chat", **fields)
    assert status == 400 and message in body["error"]


def test_titan_embeddings_when_bedrock_answers_and_the_document_records_the_model(h):
    import io

    from config import BEDROCK_EMBED_TIMEOUTS

    calls = []

    def titan(params, **kwargs):  # moto's invoke_model has no embedding: answer as Titan V2 does
        text = json.loads(params["body"])["inputText"]
        calls.append(json.loads(params["body"]))
        vec = lambda_module("embeddings").hashing_embedding(text)  # a stand-in vector, 256 floats
        return AWSResponse(params["url"], 200, {}, None), {"body": io.BytesIO(json.dumps({"embedding": vec}).encode())}

    lambda_module("clients").client("bedrock-runtime", BEDROCK_EMBED_TIMEOUTS).meta.events.register(
        "before-call.bedrock-runtime.InvokeModel", titan)
    doc = add_doc(h, "payment-service", "pay.md", "# Payments\nPaymentProcessorException means the gateway failed.")
    row = boto3.client("dynamodb").get_item(TableName="sre-poc-kb-documents", Key={"document_id": {"S": doc}})["Item"]
    assert row["embedding_model"]["S"] == "amazon.titan-embed-text-v2:0"
    assert calls and all(c["dimensions"] == 256 and c["normalize"] is True for c in calls)
    n = len(calls)
    body = call(h, "chat", question="PaymentProcessorException on payments?")[1]
    assert body["kb_sources"][0]["document_id"] == doc and len(calls) == n + 1  # the question, with Titan too


def test_embedding_budget_exhausted_falls_back_to_hashing_for_the_whole_document(h):
    embeddings = lambda_module("embeddings")
    vectors, model = embeddings.embed_all(["one", "two"], "amazon.titan-embed-text-v2:0", budget_s=-1)
    assert model == embeddings.HASHING and vectors[1] == embeddings.hashing_embedding("two")


def test_bedrock_is_skipped_when_the_request_deadline_is_too_close(h, monkeypatch):
    monkeypatch.setenv("BEDROCK_MODEL_ID", "anthropic.claude-3-haiku")
    chat = lambda_module("chat")
    from config import BEDROCK_CHAT_TIMEOUTS, load

    called = []
    lambda_module("clients").client("bedrock-runtime", BEDROCK_CHAT_TIMEOUTS).meta.events.register(
        "before-call.bedrock-runtime.Converse", lambda **kw: called.append(1))
    findings = {"error_count": 0, "log_groups": [], "by_log_group": {}, "top_errors": []}
    assert chat.ask_bedrock(load(), "q", findings, 60, [], time.monotonic() + 5) is None
    assert called == []


def test_a_broken_knowledge_base_still_gives_the_log_facts(h, monkeypatch, caplog):
    import logging

    monkeypatch.setenv("KB_DOCUMENTS_TABLE", "no-such-table")
    with caplog.at_level(logging.INFO, logger="tars"):
        status, body = call(h, "chat", question="Are there any errors in the last hour?")
    assert status == 200 and body["findings"]["error_count"] == 33 and body["kb_sources"] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "Knowledge base search failed, answering without it: ResourceNotFoundException"]


def test_a_service_without_a_log_group_says_so(h):
    body = call(h, "chat", question="errors?", service="billing-service")[1]
    assert body["findings"]["log_groups"] == [] and body["findings"]["error_count"] == 0
    assert body["answer"] == "No service log groups found to search for the last hour."
