"""Knowledge base actions: kb_upload, kb_upload_complete, kb_list, kb_update, kb_delete, and the
check of every new KB file that S3 reports (object_created).

Uploads are bounded at the source: the presigned PUT signs the Content-Type of the file's format
and, when the client says the file's size (``file_size``, as the UI does), its Content-Length, so
S3 refuses any other type or length. A client that does not say the size (the original TARS
clients) still gets a URL bound to the type; its file's size is checked when S3 reports the
object and again at kb_upload_complete: over MAX_FILE it is deleted (that version, for good) and
the document ends ``failed`` with the reason.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime, timezone

from botocore.exceptions import ClientError

import chunking
import clients
import embeddings
import paging
import validation as v
from ddb_items import from_item, to_item
from config import Config
from validation import ApiError

logger = logging.getLogger("tars")
# The file's format comes from its name's extension; doc_type is the document's category.
FORMATS = {"md": "md", "markdown": "md", "txt": "txt", "pdf": "pdf"}
# The Content-Type the upload URL signs, by format: the original clients PUT markdown as text/plain.
CONTENT_TYPES = {"md": "text/plain", "txt": "text/plain", "pdf": "application/pdf"}
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
    size = _declared_size(params)
    document_id = uuid.uuid4().hex
    s3_key = f"kb/{service}/{document_id}/{base}"
    now = _now()
    doc = {"document_id": document_id, "service_name": service, "feature_name": feature[:200],
           "file_name": base, "doc_type": doc_type, "file_format": file_format,
           "ai_context": v.string_list(params, "ai_context"), "s3_key": s3_key, "status": "pending",
           "chunk_count": 0, "created_at": now, "updated_at": now}
    content_type = CONTENT_TYPES[file_format]
    signed = {"Bucket": bucket, "Key": s3_key, "ContentType": content_type}
    if size is not None:
        signed["ContentLength"] = size
    url = clients.client("s3").generate_presigned_url("put_object", Params=signed, ExpiresIn=URL_EXPIRES)
    clients.client("dynamodb").put_item(TableName=cfg.kb_documents_table, Item=to_item(doc),
                                        ConditionExpression="attribute_not_exists(document_id)")
    return {"document_id": document_id, "upload_url": url, "s3_key": s3_key, "status": "pending",
            "doc_type": doc_type, "file_format": file_format, "expires_in": URL_EXPIRES,
            "upload_headers": {"Content-Type": content_type}, "max_bytes": MAX_FILE}


def _declared_size(params: dict) -> int | None:
    value = params.get("file_size")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ApiError(400, "field 'file_size' must be the file's size in bytes")
    size = int(value)
    if size < 1:
        raise ApiError(400, "field 'file_size': the file is empty")
    if size > MAX_FILE:
        raise ApiError(400, f"field 'file_size': the file is larger than {MAX_FILE // (1024 * 1024)} MB "
                            f"({size} bytes); split it")
    return size


def _format_of(doc: dict) -> str:
    """The stored format; records written before it was stored kept the format in doc_type."""
    return doc.get("file_format") or _format(doc.get("file_name", "")) or FORMATS.get(doc.get("doc_type", ""), "txt")


def _chunks_of(doc: dict, data: bytes) -> list[str]:
    """The chunks of the uploaded file; chunking.Unreadable when it does not fit its format."""
    chunks = chunking.chunk(chunking.extract_text(data, _format_of(doc)), title=doc.get("feature_name", ""))
    if len(chunks) > MAX_CHUNKS:
        raise chunking.Unreadable(f"the document is too large: {len(chunks)} chunks (at most {MAX_CHUNKS}); split it")
    return chunks


def _too_large(size: int) -> str:
    return f"the file is larger than {MAX_FILE // (1024 * 1024)} MB ({size} bytes): it was deleted; split it"


def _delete_version(bucket: str, key: str, version_id: str | None) -> None:
    """Remove this upload for good (a versioned bucket would otherwise keep it behind a marker)."""
    extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
    clients.client("s3").delete_object(Bucket=bucket, Key=key, **extra)


def _fail(cfg: Config, doc: dict, reason: str) -> ApiError:
    """Mark the document failed with its reason (no chunks left); the 400 that says so."""
    _mark_failed(cfg, doc, reason)
    return ApiError(400, f"{doc['file_name']}: {reason}", fields={"document_id": doc["document_id"], "status": "failed"})


def _mark_failed(cfg: Config, doc: dict, reason: str) -> None:
    _delete_chunks(cfg, doc["document_id"])
    clients.client("dynamodb").update_item(
        TableName=cfg.kb_documents_table, Key={"document_id": {"S": doc["document_id"]}},
        UpdateExpression="SET #s = :s, status_reason = :r, chunk_count = :n, updated_at = :u REMOVE indexed_etag",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "failed"}, ":r": {"S": reason}, ":n": {"N": "0"}, ":u": {"S": _now()}})


def upload_complete(cfg: Config, params: dict) -> dict:
    bucket = _require_bucket(cfg)
    doc = _doc(cfg, v.text(params, "document_id", max_len=64))
    s3 = clients.client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=doc["s3_key"])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise ApiError(409, "the file has not been uploaded yet: PUT it to upload_url first") from None
        raise
    size, etag, version = int(head.get("ContentLength") or 0), head.get("ETag", ""), head.get("VersionId")
    if size > MAX_FILE:
        _delete_version(bucket, doc["s3_key"], version)
        raise _fail(cfg, doc, _too_large(size))
    if doc["status"] == "active" and etag and doc.get("indexed_etag") == etag:
        # the same file again: nothing to redo (no second embedding of the same text)
        return {"document_id": doc["document_id"], "status": "active", "chunk_count": doc.get("chunk_count", 0),
                "embedding_model": doc.get("embedding_model"), "unchanged": True}
    data = s3.get_object(Bucket=bucket, Key=doc["s3_key"], **({"VersionId": version} if version else {}))["Body"].read()
    try:
        chunks = _chunks_of(doc, data)
    except chunking.Unreadable as err:
        raise _fail(cfg, doc, str(err)) from None
    prefix = f"{doc['service_name']} {doc.get('feature_name', '')} {' '.join(doc.get('ai_context') or [])}"
    vectors, model = embeddings.embed_all([f"{prefix}\n{c}" for c in chunks], cfg.embedding_model_id)
    _delete_chunks(cfg, doc["document_id"])  # a replaced file: its chunks replace the old ones
    ddb = clients.client("dynamodb")
    requests = [{"PutRequest": {"Item": {
        "chunk_id": {"S": f"{doc['document_id']}#{i:04d}"}, "document_id": {"S": doc["document_id"]},
        "chunk_index": {"N": str(i)}, "service_name": {"S": doc["service_name"]}, "text": {"S": text},
        "embedding": {"S": json.dumps(vec)}, "embedding_model": {"S": model}}}}
        for i, (text, vec) in enumerate(zip(chunks, vectors))]
    _batch_write(ddb, cfg.kb_chunks_table, requests)
    ddb.update_item(
        TableName=cfg.kb_documents_table, Key={"document_id": {"S": doc["document_id"]}},
        UpdateExpression="SET #s = :s, chunk_count = :n, embedding_model = :m, size_bytes = :b, updated_at = :u, "
                         "indexed_etag = :e REMOVE status_reason",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "active"}, ":n": {"N": str(len(chunks))}, ":m": {"S": model},
                                   ":b": {"N": str(len(data))}, ":u": {"S": _now()}, ":e": {"S": etag or "-"}})
    return {"document_id": doc["document_id"], "status": "active", "chunk_count": len(chunks),
            "embedding_model": model}


def object_created(cfg: Config, records: list[dict], on_reject=lambda ids, reason: None) -> dict:
    """S3 ObjectCreated events of the KB bucket: an object over MAX_FILE is deleted (that version)
    and its document, unless already indexed from an earlier file, ends failed with the reason."""
    from urllib.parse import unquote_plus

    checked, rejected = 0, []
    for record in records:
        s3 = record.get("s3") or {}
        obj, bucket = s3.get("object") or {}, (s3.get("bucket") or {}).get("name")
        key, size = unquote_plus(str(obj.get("key") or "")), int(obj.get("size") or 0)
        if bucket != cfg.kb_s3_bucket or not key.startswith("kb/"):
            continue
        checked += 1
        if size <= MAX_FILE:
            continue
        _delete_version(bucket, key, obj.get("versionId"))
        parts = key.split("/")
        reason = _too_large(size)
        if len(parts) >= 4:
            try:
                doc = _doc(cfg, parts[2])
            except ApiError:
                doc = None
            if doc and doc.get("s3_key") == key and doc["status"] in ("pending", "failed"):
                _mark_failed(cfg, doc, reason)
        rejected.append(key)
        on_reject({"document_id": parts[2] if len(parts) >= 4 else key}, "too_large")
    return {"checked": checked, "rejected": rejected}


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
    """Every matching document's key fields (no paging: the chat's KB search ranks them)."""
    fields = ("service_name", "status", "file_name", "feature_name", "ai_context", "embedding_model", "chunk_count")
    rows = paging.light_items(clients.client("dynamodb"), cfg.kb_documents_table, "document_id", fields)
    rows = [d for d in rows if (service is None or d.get("service_name") == service)
            and (status is None or d.get("status") == status)]
    return sorted(rows, key=lambda d: d.get("created_at", ""), reverse=True)


def list_documents(cfg: Config, params: dict) -> dict:
    """Newest first, ``limit`` at a time (paging.py): {count, total, documents, next_token}."""
    service = v.name(params, "service_name", required=False)
    status = v.choice(params, "status", STATUSES, required=False)
    ddb = clients.client("dynamodb")
    rows = [d for d in paging.light_items(ddb, cfg.kb_documents_table, "document_id", ("service_name", "status"))
            if (service is None or d.get("service_name") == service) and (status is None or d.get("status") == status)]
    docs, token, total = paging.page(ddb, cfg.kb_documents_table, "document_id", rows, params)
    for d in docs:
        d.setdefault("ai_context", [])
        d.pop("indexed_etag", None)
    return {"count": len(docs), "total": total, "documents": docs, "next_token": token}


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
