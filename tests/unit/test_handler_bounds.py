"""What a signed-in user still cannot do (issue 14, item 7): oversized or mistyped KB uploads,
re-embedding an active document, replies over Lambda's 6 MB, an unbounded KB search."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from tests.support.handler import BUCKET, Context, call, configure, create_resources, event, handler_module, item_count, lambda_module

DOCS, CHUNKS, INCIDENTS = "sre-poc-kb-documents", "sre-poc-kb-chunks", "sre-poc-incidents"
MB = 1024 * 1024
RUNBOOK = "# Ledger runbook\n## KafkaConsumerLagExceeded\nScale the ledger consumer to six replicas.\n"


@pytest.fixture
def h(aws, monkeypatch):
    configure(monkeypatch)
    create_resources()
    boto3.client("s3").put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return handler_module()


def doc_item(document_id):
    item = boto3.client("dynamodb").get_item(TableName=DOCS, Key={"document_id": {"S": document_id}}).get("Item")
    return lambda_module("ddb_items").from_item(item) if item else None


def versions(key):
    return boto3.client("s3").list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])


def signed(url):
    return parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0].split(";")


# ------------------------------------------------------------------ upload bounds
def test_a_declared_size_is_signed_into_the_upload_url(h):
    status, body = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="r.md", file_size=len(RUNBOOK))
    assert status == 200 and signed(body["upload_url"]) == ["content-length", "content-type", "host"]
    assert body["upload_headers"] == {"Content-Type": "text/plain"}
    pdf = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="r.pdf", file_size=2048)[1]
    assert pdf["upload_headers"] == {"Content-Type": "application/pdf"}


def test_the_signature_covers_the_declared_length_and_type(h):
    """S3 recomputes the signature from the request's own Content-Length and Content-Type (moto does
    not check presigned signatures, so check the signature itself): the URL's signature is the one of
    exactly that length and type, and differs for any other."""
    from urllib.parse import urlencode

    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    body = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="r.md", file_size=5)[1]
    url = body["upload_url"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    credentials = lambda_module("clients").client("s3")._request_signer._credentials   # the handler's own

    def signature(length, ctype):
        """The signature S3 computes for a PUT with this Content-Length and Content-Type."""
        keep = {k: v for k, v in query.items() if k != "X-Amz-Signature"}
        req = AWSRequest("PUT", url.split("?")[0] + "?" + urlencode(keep),
                         headers={"Content-Length": str(length), "Content-Type": ctype, "host": urlsplit(url).netloc})
        req.context["timestamp"] = keep["X-Amz-Date"]
        auth = S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=int(keep["X-Amz-Expires"]))
        return auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)

    assert signature(5, "text/plain") == query["X-Amz-Signature"]
    assert signature(50 * MB, "text/plain") != query["X-Amz-Signature"]
    assert signature(5, "text/html") != query["X-Amz-Signature"]


@pytest.mark.parametrize("size, says", [(10 * MB + 1, "larger than 10 MB"), (50 * MB, "larger than 10 MB"),
                                        (0, "the file is empty"), ("12x", "size in bytes"), (True, "size in bytes")])
def test_a_declared_size_over_the_limit_is_refused_before_anything_is_written(h, size, says):
    status, body = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="r.md", file_size=size)
    assert status == 400 and says in body["error"]
    assert item_count(DOCS) == 0


def test_an_oversized_object_is_deleted_at_complete_and_the_document_fails(h):
    up = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="big.md")[1]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=up["s3_key"], Body=b"#" * (10 * MB + 1), ContentType="text/html")
    status, body = call(h, "kb_upload_complete", document_id=up["document_id"])
    assert status == 400 and body["status"] == "failed" and "larger than 10 MB" in body["error"]
    doc = doc_item(up["document_id"])
    assert doc["status"] == "failed" and "it was deleted" in doc["status_reason"]
    assert versions(up["s3_key"]) == []            # the version itself is gone, not hidden behind a marker
    assert item_count(CHUNKS) == 0


def _s3_event(key, size, version="v1"):
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                         "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
                         "s3": {"s3SchemaVersion": "1.0", "configurationId": "tf-s3-lambda",
                                "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                                "object": {"key": key, "size": size, "eTag": "0123", "versionId": version,
                                           "sequencer": "0A1B2C3D4E5F678901"}}}]}


def test_s3_reports_a_50mb_upload_and_it_never_stays_pending(h, caplog):
    """The client PUT 50 MB and never called kb_upload_complete: S3's event is enough."""
    import logging

    up = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="huge.md")[1]
    put = boto3.client("s3").put_object(Bucket=BUCKET, Key=up["s3_key"], Body=b"x" * (50 * MB), ContentType="text/html")
    caplog.set_level(logging.INFO, logger="tars.audit")
    r = h.lambda_handler(_s3_event(up["s3_key"].replace(" ", "+"), 50 * MB, put["VersionId"]), Context())
    assert r["statusCode"] == 200 and json.loads(r["body"])["rejected"] == [up["s3_key"]]
    doc = doc_item(up["document_id"])
    assert doc["status"] == "failed" and "larger than 10 MB (52428800 bytes)" in doc["status_reason"]
    assert versions(up["s3_key"]) == []
    line = json.loads([r for r in caplog.records if r.name == "tars.audit"][-1].getMessage())
    assert line["action"] == "kb_object_created" and line["reason"] == "too_large"


def test_s3_events_under_the_limit_or_of_other_keys_change_nothing(h):
    up = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="ok.md")[1]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=up["s3_key"], Body=RUNBOOK.encode())
    r = h.lambda_handler(_s3_event(up["s3_key"], len(RUNBOOK)), Context())
    assert json.loads(r["body"]) == {"checked": 1, "rejected": []}
    assert doc_item(up["document_id"])["status"] == "pending" and len(versions(up["s3_key"])) == 1
    other = h.lambda_handler(_s3_event("elsewhere/x.bin", 50 * MB), Context())
    assert json.loads(other["body"]) == {"checked": 0, "rejected": []}


def test_an_oversized_replacement_of_an_active_file_is_deleted_and_the_indexed_file_stays(h):
    up = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="r.md")[1]
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=up["s3_key"], Body=RUNBOOK.encode(), ContentType="text/plain")
    assert call(h, "kb_upload_complete", document_id=up["document_id"])[1]["status"] == "active"
    big = s3.put_object(Bucket=BUCKET, Key=up["s3_key"], Body=b"x" * (10 * MB + 1))
    h.lambda_handler(_s3_event(up["s3_key"], 10 * MB + 1, big["VersionId"]), Context())
    assert doc_item(up["document_id"])["status"] == "active"
    assert s3.get_object(Bucket=BUCKET, Key=up["s3_key"])["Body"].read() == RUNBOOK.encode()


def test_an_s3_shaped_body_over_http_is_not_an_s3_event(h):
    ev = event(None, raw_body=json.dumps(_s3_event("kb/x/y/z.md", 50 * MB)))
    assert h.lambda_handler(ev, Context())["statusCode"] == 400


def test_completing_an_active_document_again_does_not_embed_it_again(h, monkeypatch):
    embeddings = lambda_module("embeddings")
    up = call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name="r.md")[1]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=up["s3_key"], Body=RUNBOOK.encode(), ContentType="text/plain")
    first = call(h, "kb_upload_complete", document_id=up["document_id"])[1]
    before = doc_item(up["document_id"])
    calls = []
    real = embeddings.embed_all
    monkeypatch.setattr(embeddings, "embed_all", lambda *a, **k: calls.append(a) or real(*a, **k))
    status, again = call(h, "kb_upload_complete", document_id=up["document_id"])
    assert status == 200 and again["unchanged"] is True and again["chunk_count"] == first["chunk_count"]
    assert calls == [] and doc_item(up["document_id"]) == before
    # a new file at the same key is indexed again
    boto3.client("s3").put_object(Bucket=BUCKET, Key=up["s3_key"], Body=(RUNBOOK + "\n## More\ntext\n").encode())
    assert "unchanged" not in call(h, "kb_upload_complete", document_id=up["document_id"])[1] and len(calls) == 1


# ------------------------------------------------------------------ pagination
def _many_incidents(n, description_chars=5000):
    """``n`` incidents as create_incident writes them (5,000-character descriptions: the field's limit)."""
    ddb = boto3.client("dynamodb")
    base = time.time() - n
    rows = []
    for i in range(n):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i)) + f".{i % 1000:03d}000Z"
        rows.append({"PutRequest": {"Item": {
            "incident_id": {"S": f"INC-{i:05d}"}, "service": {"S": "ledger"}, "severity": {"S": ("P1", "P2", "P3")[i % 3]},
            "title": {"S": f"incident {i}"}, "description": {"S": "d" * description_chars}, "status": {"S": "open"},
            "created_at": {"S": stamp}, "updated_at": {"S": stamp}}}})
    for start in range(0, n, 25):
        ddb.batch_write_item(RequestItems={INCIDENTS: rows[start:start + 25]})


def test_1300_incidents_page_cleanly_and_every_reply_stays_far_below_6mb(h):
    _many_incidents(1300)
    seen, token, biggest, pages = [], None, 0, 0
    while True:
        query = {"limit": "100", **({"next_token": token} if token else {})}
        r = h.lambda_handler(event("list_incidents", "GET", **query), Context())
        biggest = max(biggest, len(r["body"]))
        body = json.loads(r["body"])
        assert r["statusCode"] == 200 and body["total"] == 1300 and body["count"] == len(body["incidents"])
        seen += [i["incident_id"] for i in body["incidents"]]
        pages += 1
        token = body["next_token"]
        if not token:
            break
    assert pages == 13 and len(seen) == len(set(seen)) == 1300
    assert seen == [f"INC-{i:05d}" for i in reversed(range(1300))]   # newest first, across pages
    assert biggest < 600_000                                            # 6 MB is Lambda's reply limit
    first = json.loads(h.lambda_handler(event("list_incidents", "GET"), Context())["body"])
    assert first["count"] == 50 and len(json.dumps(first)) < 300_000   # the default page


def test_filters_page_too_and_a_new_incident_does_not_shift_later_pages(h):
    _many_incidents(30, description_chars=10)
    page1 = call(h, "list_incidents", "GET", severity="P1", limit="4")[1]
    assert page1["total"] == 10 and [i["severity"] for i in page1["incidents"]] == ["P1"] * 4
    call(h, "create_incident", service="ledger", severity="P1", title="newest")
    page2 = call(h, "list_incidents", "GET", severity="P1", limit="4", next_token=page1["next_token"])[1]
    ids = [i["incident_id"] for i in page1["incidents"] + page2["incidents"]]
    assert len(set(ids)) == 8 and ids == sorted(ids, reverse=True)


@pytest.mark.parametrize("query, says", [({"limit": "0"}, "from 1 to 100"), ({"limit": "101"}, "from 1 to 100"),
                                         ({"limit": "ten"}, "whole number"), ({"next_token": "nope"}, "next_token"),
                                         ({"next_token": "W10"}, "next_token")])
def test_bad_paging_input_is_400(h, query, says):
    for action in ("list_incidents", "kb_list"):
        status, body = call(h, action, "GET", **query)
        assert status == 400 and says in body["error"], (action, body)


def test_kb_list_pages_newest_first(h):
    ids = [call(h, "kb_upload", service_name="ledger", feature_name="lag", file_name=f"d{i}.md")[1]["document_id"]
           for i in range(7)]
    first = call(h, "kb_list", "GET", limit="3")[1]
    second = call(h, "kb_list", "GET", limit="3", next_token=first["next_token"])[1]
    third = call(h, "kb_list", "GET", limit="3", next_token=second["next_token"])[1]
    got = [d["document_id"] for p in (first, second, third) for d in p["documents"]]
    assert got == list(reversed(ids)) and third["next_token"] is None and first["total"] == 7
    assert all("indexed_etag" not in d for d in first["documents"])


# ------------------------------------------------------------------ the chat's KB search
def _docs_with_chunks(n_docs, n_chunks):
    ddb = boto3.client("dynamodb")
    hashing = lambda_module("embeddings")
    for d in range(n_docs):
        doc_id = f"doc{d:03d}"
        ddb.put_item(TableName=DOCS, Item={
            "document_id": {"S": doc_id}, "service_name": {"S": "ledger"}, "feature_name": {"S": "lag"},
            "file_name": {"S": f"{doc_id}.md"}, "status": {"S": "active"}, "chunk_count": {"N": str(n_chunks)},
            "embedding_model": {"S": hashing.HASHING}, "created_at": {"S": f"2026-01-01T00:00:{d:02d}.000000Z"},
            "s3_key": {"S": f"kb/ledger/{doc_id}/{doc_id}.md"}})
        rows = [{"PutRequest": {"Item": {
            "chunk_id": {"S": f"{doc_id}#{i:04d}"}, "document_id": {"S": doc_id}, "chunk_index": {"N": str(i)},
            "service_name": {"S": "ledger"}, "text": {"S": f"consumer lag step {i}"},
            "embedding": {"S": json.dumps(hashing.embed(f"consumer lag step {i}", hashing.HASHING))},
            "embedding_model": {"S": hashing.HASHING}}}} for i in range(n_chunks)]
        for start in range(0, len(rows), 25):
            ddb.batch_write_item(RequestItems={CHUNKS: rows[start:start + 25]})


def test_the_kb_search_stops_at_its_chunk_limit_and_says_so(h, monkeypatch):
    chat = lambda_module("chat")
    monkeypatch.setattr(chat, "KB_SEARCH_MAX_CHUNKS", 50)
    _docs_with_chunks(4, 30)
    status, body = call(h, "chat", question="ledger consumer lag: what now?")
    assert status == 200 and body["kb_sources"]
    search = body["kb_search"]
    assert search == {"documents": 4, "documents_searched": 2, "chunks_scanned": 50, "truncated": True,
                      "stopped_at": "the chunk limit (50)"}
    assert "knowledge base search stopped at the chunk limit (50)" in body["answer"]


def test_the_kb_search_stops_at_its_time_limit(h):
    _docs_with_chunks(2, 5)
    cfg = lambda_module("config").load()
    sources, search = lambda_module("chat").kb_sources(cfg, "consumer lag", None, budget_s=0)
    assert sources == [] and search["truncated"] and search["stopped_at"] == "the time limit (0 s)"


def test_an_unbounded_search_would_read_everything(h):
    _docs_with_chunks(3, 10)
    cfg = lambda_module("config").load()
    # a time budget no loaded machine reaches: this test is about the count, not the clock
    sources, search = lambda_module("chat").kb_sources(cfg, "consumer lag", None, budget_s=3600)
    assert search == {"documents": 3, "documents_searched": 3, "chunks_scanned": 30, "truncated": False}


def test_a_last_document_cut_short_by_the_chunk_limit_is_reported(h, monkeypatch):
    chat = lambda_module("chat")
    monkeypatch.setattr(chat, "KB_SEARCH_MAX_CHUNKS", 50)
    _docs_with_chunks(2, 30)
    cfg = lambda_module("config").load()
    _, search = chat.kb_sources(cfg, "consumer lag", None, budget_s=3600)   # the chunk limit, not the clock
    assert search == {"documents": 2, "documents_searched": 2, "chunks_scanned": 50, "truncated": True,
                      "stopped_at": "the chunk limit (50)"}
