"""The knowledge-base test (replaces test-kb-feature.sh): upload, index, list, disable, delete.

The test document is removed even when a step fails.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Callable

from ..errors import StepFailed, TarsError

TEXT = ("TARS deployment verification document.\n\n"
        "If the incident handler reports a timeout, check the MCP server first.\n\n"
        "This document is created and deleted by inv verify.\n")


def resources_ready(settings) -> list[str]:
    """Problems with the KB tables, bucket and the function's KB variables (empty: all good)."""
    from ..aws import dynamodb, lambda_, s3

    problems = []
    for table in (settings.kb_documents_table, settings.kb_chunks_table):
        try:
            state = dynamodb.table_status(settings.clients, table)
            if state != "ACTIVE":
                problems.append(f"table {table} is {state}")
        except TarsError as exc:
            problems.append(f"table {table}: {_why(exc)}")
    if not settings.kb_s3_bucket:
        problems.append("KB bucket not configured (KB_S3_BUCKET)")
    else:
        try:
            s3.check_bucket(settings.clients, settings.kb_s3_bucket)
        except TarsError as exc:
            problems.append(f"bucket {settings.kb_s3_bucket}: {_why(exc)}")
    try:
        env = (lambda_.configuration(settings.clients, settings.function_name)
               .get("Environment", {}).get("Variables", {}))
        missing = [v for v in ("KB_DOCUMENTS_TABLE", "KB_CHUNKS_TABLE", "KB_S3_BUCKET") if not env.get(v)]
        if missing:
            problems.append(f"function {settings.function_name} lacks {', '.join(missing)}")
    except TarsError as exc:
        problems.append(f"function {settings.function_name}: {_why(exc)}")
    return problems


def _why(err: TarsError) -> str:
    """The AWS error code behind ``err`` when there is one, else its message."""
    from ..aws.errors import error_code

    return error_code(err.__cause__) or err.message


def chunks_of(settings, document_id: str) -> list[dict[str, Any]]:
    from ..aws import dynamodb

    return dynamodb.query(settings.clients, settings.kb_chunks_table, "DocumentIndex", "document_id", document_id)


def bad_embeddings(chunks: list[dict[str, Any]], size: int = 256) -> list[str]:
    bad = []
    for chunk in chunks:
        cid = chunk.get("chunk_id", {}).get("S", "?")
        try:
            vector = json.loads(chunk["embedding"]["S"])
            ok = (isinstance(vector, list) and len(vector) == size
                  and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector))
        except (KeyError, ValueError, TypeError):
            ok = False
        if not ok:
            bad.append(cid)
    return bad


def put_text(url: str, text: str, timeout: float = 30.0) -> None:
    request = urllib.request.Request(url, data=text.encode(), method="PUT", headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        raise StepFailed(f"PUT to the presigned upload URL answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise StepFailed(f"PUT to the presigned upload URL failed: {getattr(exc, 'reason', exc)}") from None


def run(settings, api, *, clock: Callable[[], float] = time.time) -> tuple[list[str], dict[str, Any]]:
    """The whole KB round trip. Returns (steps passed, data); raises StepFailed naming the step."""
    passed: list[str] = []
    data: dict[str, Any] = {}
    problems = resources_ready(settings)
    if problems:
        raise StepFailed("KB resources not ready: " + "; ".join(problems))
    passed.append("resources")
    document_id = None
    try:
        up = api.post("kb_upload", service_name="tars-verify", feature_name="deploy-verification",
                      ai_context=["post-deployment verification"],
                      file_name=f"tars-verify-{int(clock())}.txt")
        document_id = up.get("document_id")
        data["document_id"] = document_id
        if not document_id or not up.get("upload_url") or up.get("status") != "pending":
            raise StepFailed(f"kb_upload: unexpected reply {sorted(up)} status={up.get('status')}")
        passed.append("kb_upload")
        put_text(up["upload_url"], TEXT)
        passed.append("upload")
        done = api.post("kb_upload_complete", document_id=document_id)
        if done.get("status") != "active" or int(done.get("chunk_count") or 0) < 1:
            raise StepFailed(f"kb_upload_complete: status {done.get('status')}, {done.get('chunk_count')} chunks")
        passed.append("kb_upload_complete")
        listed = api.get("kb_list")
        if document_id not in [d.get("document_id") for d in listed.get("documents", [])]:
            raise StepFailed(f"kb_list does not show document {document_id}")
        passed.append("kb_list")
        chunks = chunks_of(settings, document_id)
        if not chunks:
            raise StepFailed(f"no chunk of {document_id} in {settings.kb_chunks_table} (DocumentIndex)")
        bad = bad_embeddings(chunks)
        if bad:
            raise StepFailed(f"{len(bad)} chunk(s) without a 256-float embedding: {', '.join(bad[:3])}")
        data["chunks"] = len(chunks)
        passed.append("chunks")
        api.post("kb_update", document_id=document_id, status="disabled")
        passed.append("kb_update")
        deleted = api.post("kb_delete", document_id=document_id)
        if deleted.get("deleted") is not True:
            raise StepFailed(f"kb_delete did not delete {document_id}")
        document_id = None
        passed.append("kb_delete")
    finally:
        if document_id:  # a step failed: never leave the test document behind
            try:
                api.post("kb_delete", document_id=document_id)
            except StepFailed:
                pass
    return passed, data
