"""Knowledge base actions: kb_upload, kb_upload_complete, kb_list, kb_update, kb_delete."""
from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime, timezone

import chunking
import clients
import embeddings
import validation as v
from ddb_items import from_item, to_item
from config import Config
from validation import ApiError

logger = logging.getLogger("tars")
# The file's format comes from its name's extension; doc_type is the document's category.
FORMATS = {"md": "md", "markdown": "md", "txt": "txt", "pdf": "pdf"}
DEFAULT_DOC_TYPE = "runbook"
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
STATUSES = ("pending", "active", "disabled", "failed")
UPDATE_STATUSES = ("active", "disabled")
URL_EXPIRES = 3600
MAX_FILE = 10 * 1024 * 1024
MAX_CHUNKS = 400


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _require_bucket(cfg: Config) -> str:
    if not cfg.kb_s3_bucket:
        raise ApiError(503, "the knowledge base bucket is not configured (KB_S3_BUCKET)")
    return cfg.kb_s3_bucket


def _doc(cfg: Config, document_id: str) -> dict:
    item = clients.client("dynamodb").get_item(TableName=cfg.kb_documents_table,
                                               Key={"document_id": {"S": document_id}}).get("Item")
    if not item:
        raise ApiError(404, f"document '{document_id}' not found")
    return from_item(item)


def _category(params: dict) -> str:
    value = params.get("doc_type")
    if value is None or value == "":
        return DEFAULT_DOC_TYPE
    if not isinstance(value, str) or not _CATEGORY.match(value.strip()):
        raise ApiError(400, "field 'doc_type' is the document's category (runbook, architecture, troubleshooting, "
                            f"...): lower-case letters, digits and '-', at most 40 (got {repr(value)[:60]})")
    return value.strip()


def _format(file_name: str) -> str | None:
    return FORMATS.get(file_name.rsplit(".", 1)[-1].lower()) if "." in file_name else None


def upload(cfg: Config, params: dict) -> dict:
    bucket = _require_bucket(cfg)
    service = v.name(params, "service_name")
    feature = v.text(params, "feature_name", required=False) or v.text(params, "functionality", required=False)
    if not feature:
        raise ApiError(400, "missing field 'feature_name'")
    file_name = v.text(params, "file_name", max_len=200)
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", file_name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._") or "document"
    file_format = _format(base)
    if not file_format:
        raise ApiError(400, f"field 'file_name' must end in .{', .'.join(FORMATS)} (got {file_name!r})")
    doc_type = _category(params)
    document_id = uuid.uuid4().hex
    s3_key = f"kb/{service}/{document_id}/{base}"
    now = _now()
    doc = {"document_id": document_id, "service_name": service, "feature_name": feature[:200],
           "file_name": base, "doc_type": doc_type, "file_format": file_format,
           "ai_context": v.string_list(params, "ai_context"), "s3_key": s3_key, "status": "pending",
           "chunk_count": 0, "created_at": now, "updated_at": now}
    # Sign only Bucket and Key: the client may send any Content-Type (text/plain, application/pdf).
    url = clients.client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": s3_key}, ExpiresIn=URL_EXPIRES)
    clients.client("dynamodb").put_item(TableName=cfg.kb_documents_table, Item=to_item(doc),
                                        ConditionExpression="attribute_not_exists(document_id)")
    return {"document_id": document_id, "upload_url": url, "s3_key": s3_key, "status": "pending",
            "doc_type": doc_type, "file_format": file_format, "expires_in": URL_EXPIRES}


def _format_of(doc: dict) -> str:
    """The stored format; records written before it was stored kept the format in doc_type."""
    return doc.get("file_format") or _format(doc.get("file_name", "")) or FORMATS.get(doc.get("doc_type", ""), "txt")


def _chunks_of(cfg: Config, doc: dict, obj: dict) -> tuple[list[str], int]:
    """(chunks, size in bytes) of the uploaded file; chunking.Unreadable when it does not fit its format."""
    if int(obj.get("ContentLength") or 0) > MAX_FILE:
        raise chunking.Unreadable(f"the file is larger than {MAX_FILE // (1024 * 1024)} MB")
    data = obj["Body"].read()
    chunks = chunking.chunk(chunking.extract_text(data, _format_of(doc)), title=doc.get("feature_name", ""))
    if len(chunks) > MAX_CHUNKS:
        raise chunking.Unreadable(f"the document is too large: {len(chunks)} chunks (at most {MAX_CHUNKS}); split it")
    return chunks, len(data)


def _fail(cfg: Config, doc: dict, reason: str) -> ApiError:
    """Mark the document failed with its reason (no chunks left); the 400 that says so."""
    _delete_chunks(cfg, doc["document_id"])
    clients.client("dynamodb").update_item(
        TableName=cfg.kb_documents_table, Key={"document_id": {"S": doc["document_id"]}},
        UpdateExpression="SET #s = :s, status_reason = :r, chunk_count = :n, updated_at = :u",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "failed"}, ":r": {"S": reason}, ":n": {"N": "0"}, ":u": {"S": _now()}})
    return ApiError(400, f"{doc['file_name']}: {reason}", fields={"document_id": doc["document_id"], "status": "failed"})


def upload_complete(cfg: Config, params: dict) -> dict:
    bucket = _require_bucket(cfg)
    doc = _doc(cfg, v.text(params, "document_id", max_len=64))
    s3 = clients.client("s3")
    try:
        obj = s3.get_object(Bucket=bucket, Key=doc["s3_key"])
    except s3.exceptions.NoSuchKey:
        raise ApiError(409, "the file has not been uploaded yet: PUT it to upload_url first") from None
    try:
        chunks, size = _chunks_of(cfg, doc, obj)
    except chunking.Unreadable as err:
        raise _fail(cfg, doc, str(err)) from None
    prefix = f"{doc['service_name']} {doc.get('feature_name', '')} {' '.join(doc.get('ai_context') or [])}"
    vectors, model = embeddings.embed_all([f"{prefix}\n{c}" for c in chunks], cfg.embedding_model_id)
    _delete_chunks(cfg, doc["document_id"])  # completing twice replaces, never duplicates
    ddb = clients.client("dynamodb")
    requests = [{"PutRequest": {"Item": {
        "chunk_id": {"S": f"{doc['document_id']}#{i:04d}"}, "document_id": {"S": doc["document_id"]},
        "chunk_index": {"N": str(i)}, "service_name": {"S": doc["service_name"]}, "text": {"S": text},
        "embedding": {"S": json.dumps(vec)}, "embedding_model": {"S": model}}}}
        for i, (text, vec) in enumerate(zip(chunks, vectors))]
    _batch_write(ddb, cfg.kb_chunks_table, requests)
    ddb.update_item(
        TableName=cfg.kb_documents_table, Key={"document_id": {"S": doc["document_id"]}},
        UpdateExpression="SET #s = :s, chunk_count = :n, embedding_model = :m, size_bytes = :b, updated_at = :u "
                         "REMOVE status_reason",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "active"}, ":n": {"N": str(len(chunks))}, ":m": {"S": model},
                                   ":b": {"N": str(size)}, ":u": {"S": _now()}})
    return {"document_id": doc["document_id"], "status": "active", "chunk_count": len(chunks),
            "embedding_model": model}


def _batch_write(ddb, table: str, requests: list[dict]) -> None:
    for start in range(0, len(requests), 25):
        pending = {table: requests[start:start + 25]}
        for _ in range(5):
            left = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not left:
                break
            pending = left
        else:
            raise RuntimeError(f"DynamoDB left {len(pending[table])} writes unprocessed in {table}")


def chunk_ids(cfg: Config, document_id: str) -> list[str]:
    ddb = clients.client("dynamodb")
    ids: list[str] = []
    for page in ddb.get_paginator("query").paginate(
            TableName=cfg.kb_chunks_table, IndexName="DocumentIndex",
            KeyConditionExpression="document_id = :d", ExpressionAttributeValues={":d": {"S": document_id}},
            ProjectionExpression="chunk_id"):
        ids += [i["chunk_id"]["S"] for i in page.get("Items", [])]
    return ids


def _delete_chunks(cfg: Config, document_id: str) -> int:
    ids = chunk_ids(cfg, document_id)
    _batch_write(clients.client("dynamodb"), cfg.kb_chunks_table,
                 [{"DeleteRequest": {"Key": {"chunk_id": {"S": i}}}} for i in ids])
    return len(ids)


def documents(cfg: Config, service: str | None = None, status: str | None = None) -> list[dict]:
    ddb = clients.client("dynamodb")
    if service:
        pages = ddb.get_paginator("query").paginate(
            TableName=cfg.kb_documents_table, IndexName="ServiceIndex",
            KeyConditionExpression="service_name = :s", ExpressionAttributeValues={":s": {"S": service}})
    else:
        pages = ddb.get_paginator("scan").paginate(TableName=cfg.kb_documents_table)
    docs = [from_item(i) for page in pages for i in page.get("Items", [])]
    docs = [d for d in docs if status is None or d.get("status") == status]
    return sorted(docs, key=lambda d: d.get("created_at", ""), reverse=True)


def list_documents(cfg: Config, params: dict) -> dict:
    service = v.name(params, "service_name", required=False)
    status = v.choice(params, "status", STATUSES, required=False)
    docs = documents(cfg, service, status)
    for d in docs:
        d.setdefault("ai_context", [])
    return {"count": len(docs), "documents": docs}


def update(cfg: Config, params: dict) -> dict:
    document_id = v.text(params, "document_id", max_len=64)
    status = v.choice(params, "status", UPDATE_STATUSES)
    doc = _doc(cfg, document_id)
    if doc["status"] == "pending":
        raise ApiError(409, "the document is still pending: call kb_upload_complete first")
    if doc["status"] == "failed":
        raise ApiError(409, f"the document failed ({doc.get('status_reason', 'unreadable')}): upload a readable file")
    clients.client("dynamodb").update_item(
        TableName=cfg.kb_documents_table, Key={"document_id": {"S": document_id}},
        UpdateExpression="SET #s = :s, updated_at = :u", ConditionExpression="attribute_exists(document_id)",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": status}, ":u": {"S": _now()}})
    return {"document_id": document_id, "status": status}


def delete(cfg: Config, params: dict) -> dict:
    document_id = v.text(params, "document_id", max_len=64)
    doc = _doc(cfg, document_id)
    if cfg.kb_s3_bucket:
        clients.client("s3").delete_object(Bucket=cfg.kb_s3_bucket, Key=doc["s3_key"])
    removed = _delete_chunks(cfg, document_id)
    clients.client("dynamodb").delete_item(TableName=cfg.kb_documents_table, Key={"document_id": {"S": document_id}})
    return {"deleted": True, "document_id": document_id, "chunks_deleted": removed}
