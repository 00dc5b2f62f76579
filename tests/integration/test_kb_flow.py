"""The whole KB flow on the moto server: kb_upload, a real HTTP PUT to the presigned URL with the
client's own Content-Type, kb_upload_complete, chunks through DocumentIndex, chat, delete."""
import json
import urllib.parse
import urllib.request

import boto3
import pytest

from tests.support.handler import BUCKET, call, configure, create_resources, handler_module, item_count

RUNBOOK = """# Payment service runbook

## PaymentProcessorException
The card gateway returned 502. Check the payment provider status page and retry the authorisation.

## CONNECTION_TIMEOUT
The payments database pool is exhausted: restart the pgbouncer sidecar.
"""


@pytest.fixture
def h(endpoint, monkeypatch):
    configure(monkeypatch)
    create_resources()
    return handler_module()


def put(url: str, data: bytes, content_type: str) -> int:
    req = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


def test_kb_flow_with_a_real_presigned_put(h):
    up = call(h, "kb_upload", service_name="payment-service", feature_name="payments",
              ai_context=["runbook"], doc_type="runbook", file_name="payment-runbook.md")[1]
    assert put(up["upload_url"], RUNBOOK.encode(), "text/plain") == 200
    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=up["s3_key"])
    assert obj["Body"].read() == RUNBOOK.encode() and obj["ContentType"] == "text/plain"

    done = call(h, "kb_upload_complete", document_id=up["document_id"])[1]
    assert done["status"] == "active" and done["chunk_count"] == 2  # one per section with text
    rows = boto3.client("dynamodb").query(
        TableName="sre-poc-kb-chunks", IndexName="DocumentIndex", KeyConditionExpression="document_id = :d",
        ExpressionAttributeValues={":d": {"S": up["document_id"]}})["Items"]
    assert len(rows) == 2 and all(len(json.loads(r["embedding"]["S"])) == 256 for r in rows)
    assert sorted(r["text"]["S"].split("\n")[0] for r in rows) == [
        "Payment service runbook > CONNECTION_TIMEOUT", "Payment service runbook > PaymentProcessorException"]

    listed = call(h, "kb_list", "GET", service_name="payment-service")[1]
    assert listed["count"] == 1 and listed["documents"][0]["chunk_count"] == 2

    chat = call(h, "chat", question="What do I do about PaymentProcessorException on card payments?")[1]
    assert chat["kb_sources"][0]["document_id"] == up["document_id"]

    assert call(h, "kb_delete", document_id=up["document_id"])[1]["deleted"] is True
    assert item_count("sre-poc-kb-chunks") == 0 and item_count("sre-poc-kb-documents") == 0
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_presigned_put_signs_the_formats_content_type(h):
    # moto does not check presigned signatures, so what AWS would check is asserted on the URL:
    # since issue 14 (upload bounds) SigV4 signs `content-type` with `host`, so only the format's own
    # type (text/plain for a .txt, what the original clients send) is accepted by S3.
    up = call(h, "kb_upload", service_name="order-service", feature_name="orders", doc_type="reference",
              file_name="notes.txt")[1]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(up["upload_url"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-type;host"] and query["X-Amz-Expires"] == ["3600"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert up["upload_headers"] == {"Content-Type": "text/plain"}
    assert put(up["upload_url"], b"orders notes", up["upload_headers"]["Content-Type"]) == 200
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key=up["s3_key"])["Body"].read() == b"orders notes"


def test_bedrock_configured_but_unreachable_falls_back_on_the_moto_server(h, monkeypatch):
    monkeypatch.setenv("BEDROCK_MODEL_ID", "anthropic.claude-3-haiku")
    boto3.client("logs").create_log_group(logGroupName="/ecs/payment-service")
    up = call(h, "kb_upload", service_name="payment-service", feature_name="payments", file_name="a.md")[1]
    put(up["upload_url"], RUNBOOK.encode(), "text/plain")
    done = call(h, "kb_upload_complete", document_id=up["document_id"])[1]
    assert done["embedding_model"] == "feature-hashing-v1"  # moto's Titan answer has no embedding
    chat = call(h, "chat", question="errors in the last hour?")[1]
    assert chat["llm"] == "unavailable" and chat["answer"].startswith("No errors in the last hour")
