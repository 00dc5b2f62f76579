"""Stand-in KB and chat actions for lambda_src/handler.py, until branch app-backend lands.

They follow the API the handler is being given (kb_upload → presigned PUT → kb_upload_complete
→ kb_list → kb_update → kb_delete, chat) over the same tables and bucket, and are registered
ONLY for action names the real handler does not define yet: once the real actions are on main,
the verify tests run against them unchanged. FAULTS makes one step misbehave as a broken
deployment would.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid

import boto3

FAULTS: set[str] = set()


def _ddb():
    return boto3.client("dynamodb")


def _s3():
    return boto3.client("s3")


def _embedding(text: str, size: int = 256) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % 32] - 128) / 128.0, 4) for i in range(size)]


def install(handler) -> list[str]:
    """Register the stand-ins on ``handler`` (the module); returns the names registered."""
    action, ApiError = handler.action, handler.ApiError
    docs, chunks, bucket = (os.environ["KB_DOCUMENTS_TABLE"], os.environ["KB_CHUNKS_TABLE"],
                            os.environ["KB_S3_BUCKET"])
    added = []

    def register(name):
        def deco(fn):
            if name not in handler.ACTIONS:
                action(name)(fn)
                added.append(name)
            return fn
        return deco

    @register("kb_upload")
    def kb_upload(req):
        doc_id = uuid.uuid4().hex
        key = f"kb/{req.field('service_name')}/{doc_id}/{req.field('file_name')}"
        _ddb().put_item(TableName=docs, Item={
            "document_id": {"S": doc_id}, "service_name": {"S": req.field("service_name")},
            "feature_name": {"S": req.field("feature_name")}, "doc_type": {"S": req.field("doc_type")},
            "ai_context": {"S": json.dumps(req.field("ai_context"))}, "s3_key": {"S": key},
            "status": {"S": "pending"}})
        url = _s3().generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key,
                                                                  "ContentType": "text/plain"}, ExpiresIn=300)
        return {"document_id": doc_id, "upload_url": url, "s3_key": key, "status": "pending"}

    def _doc(doc_id):
        item = _ddb().get_item(TableName=docs, Key={"document_id": {"S": doc_id}}).get("Item")
        if not item:
            raise ApiError(404, f"no document {doc_id}")
        return item

    @register("kb_upload_complete")
    def kb_upload_complete(req):
        doc_id = req.field("document_id")
        doc = _doc(doc_id)
        text = _s3().get_object(Bucket=bucket, Key=doc["s3_key"]["S"])["Body"].read().decode()
        parts = [p for p in text.split("\n\n") if p.strip()]
        for i, part in enumerate(parts):
            _ddb().put_item(TableName=chunks, Item={
                "chunk_id": {"S": f"{doc_id}-{i}"}, "document_id": {"S": doc_id}, "text": {"S": part},
                "embedding": {"S": json.dumps(_embedding(part))}})
        _ddb().update_item(TableName=docs, Key={"document_id": {"S": doc_id}},
                           UpdateExpression="SET #s = :a, chunk_count = :n", ExpressionAttributeNames={"#s": "status"},
                           ExpressionAttributeValues={":a": {"S": "active"}, ":n": {"N": str(len(parts))}})
        return {"document_id": doc_id, "status": "active", "chunk_count": len(parts)}

    @register("kb_list")
    def kb_list(req):
        items = _ddb().scan(TableName=docs).get("Items", [])
        documents = [{k: next(iter(v.values())) for k, v in it.items()} for it in items]
        return {"count": len(documents), "documents": documents}

    @register("kb_update")
    def kb_update(req):
        doc_id = req.field("document_id")
        _doc(doc_id)
        _ddb().update_item(TableName=docs, Key={"document_id": {"S": doc_id}}, UpdateExpression="SET #s = :v",
                           ExpressionAttributeNames={"#s": "status"},
                           ExpressionAttributeValues={":v": {"S": req.field("status")}})
        return {"document_id": doc_id, "status": req.field("status")}

    @register("kb_delete")
    def kb_delete(req):
        doc_id = req.field("document_id")
        doc = _doc(doc_id)
        found = _ddb().query(TableName=chunks, IndexName="DocumentIndex", KeyConditionExpression="document_id = :d",
                             ExpressionAttributeValues={":d": {"S": doc_id}}).get("Items", [])
        for c in found:
            _ddb().delete_item(TableName=chunks, Key={"chunk_id": c["chunk_id"]})
        _s3().delete_object(Bucket=bucket, Key=doc["s3_key"]["S"])
        _ddb().delete_item(TableName=docs, Key={"document_id": {"S": doc_id}})
        return {"deleted": True, "document_id": doc_id}

    @register("chat")
    def chat(req):
        started = time.monotonic()
        question = req.field("question")
        group = f"/aws/lambda/{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'sre-poc-incident-handler')}"
        events = boto3.client("logs").filter_log_events(
            logGroupName=group, startTime=int((time.time() - 3600) * 1000), filterPattern="ERROR").get("events", [])
        return {"answer": f"{len(events)} error(s) in the last hour ({question})",
                "findings": {"error_count": len(events), "log_groups": [group], "top_errors": []},
                "kb_sources": [], "llm": "stand-in", "elapsed_ms": int((time.monotonic() - started) * 1000)}

    _wrap_faults(handler, chunks)
    return added


def _wrap_faults(handler, chunks_table: str) -> None:
    """Whichever actions are registered (real or stand-in), FAULTS can break them."""
    complete, listing = handler.ACTIONS["kb_upload_complete"], handler.ACTIONS["kb_list"]

    def faulty_complete(req):
        if "complete_500" in FAULTS:
            raise RuntimeError("indexing crashed")
        out = complete(req)
        if "short_embedding" in FAULTS:  # a broken embedding model: one vector too short
            first = _ddb().query(TableName=chunks_table, IndexName="DocumentIndex",
                                 KeyConditionExpression="document_id = :d",
                                 ExpressionAttributeValues={":d": {"S": req.field("document_id")}})["Items"][0]
            _ddb().update_item(TableName=chunks_table, Key={"chunk_id": first["chunk_id"]},
                               UpdateExpression="SET embedding = :e",
                               ExpressionAttributeValues={":e": {"S": json.dumps(_embedding("x", 255))}})
        return out

    def faulty_list(req):
        out = listing(req)
        if "list_hides" in FAULTS:
            out = dict(out, documents=[], count=0)
        return out

    handler.ACTIONS["kb_upload_complete"] = faulty_complete
    handler.ACTIONS["kb_list"] = faulty_list
