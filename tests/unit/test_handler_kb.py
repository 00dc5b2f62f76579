import json

import boto3
import pytest

from tests.support.handler import BUCKET, call, configure, create_resources, handler_module, item_count

DOCS, CHUNKS = "sre-poc-kb-documents", "sre-poc-kb-chunks"
RUNBOOK = """# Payment service runbook

## PaymentProcessorException
The gateway returned 502. Check the Stripe status page, then the payments-db connection pool.

## CONNECTION_TIMEOUT to payments-db
Restart the pgbouncer sidecar; if it persists fail over the database.
""" + "\n".join(f"Step {i}: look at dashboard panel {i} and note the latency percentile." for i in range(60))


@pytest.fixture
def h(aws, monkeypatch):
    configure(monkeypatch)
    create_resources()
    return handler_module()


def upload(h, text=RUNBOOK, **overrides):
    fields = {"service_name": "payment-service", "feature_name": "payments", "ai_context": ["runbook", "errors"],
              "doc_type": "runbook", "file_name": "payment-runbook.md", **overrides}
    status, body = call(h, "kb_upload", **fields)
    assert status == 200, body
    boto3.client("s3").put_object(Bucket=BUCKET, Key=body["s3_key"], Body=text.encode(), ContentType="text/plain")
    return body


def signed_headers(url: str) -> list[str]:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0].split(";")


def chunk_rows(document_id):
    return boto3.client("dynamodb").query(
        TableName=CHUNKS, IndexName="DocumentIndex", KeyConditionExpression="document_id = :d",
        ExpressionAttributeValues={":d": {"S": document_id}})["Items"]


def test_upload_creates_a_pending_record_and_a_one_hour_presigned_put(h):
    body = upload(h)
    assert body["status"] == "pending" and body["upload_url"].startswith("http")
    assert "X-Amz-Expires=3600" in body["upload_url"] and body["s3_key"].endswith("/payment-runbook.md")
    # the original clients say no size: the URL signs the format's Content-Type (they PUT text/plain)
    assert signed_headers(body["upload_url"]) == ["content-type", "host"]
    assert body["upload_headers"] == {"Content-Type": "text/plain"} and body["max_bytes"] == 10 * 1024 * 1024
    doc = boto3.client("dynamodb").get_item(TableName=DOCS, Key={"document_id": {"S": body["document_id"]}})["Item"]
    assert doc["status"]["S"] == "pending" and doc["feature_name"]["S"] == "payments"
    assert [c["S"] for c in doc["ai_context"]["L"]] == ["runbook", "errors"]


def test_functionality_is_accepted_in_place_of_feature_name(h):
    status, body = call(h, "kb_upload", service_name="order-service", functionality="checkout",
                        ai_context=[], doc_type="reference", file_name="notes.txt")
    assert status == 200
    doc = boto3.client("dynamodb").get_item(TableName=DOCS, Key={"document_id": {"S": body["document_id"]}})["Item"]
    assert doc["feature_name"]["S"] == "checkout"


def test_complete_chunks_on_headings_with_256_float_embeddings(h):
    doc_id = upload(h)["document_id"]
    status, body = call(h, "kb_upload_complete", document_id=doc_id)
    assert status == 200 and body["status"] == "active" and body["document_id"] == doc_id
    rows = chunk_rows(doc_id)
    assert body["chunk_count"] == len(rows) >= 3
    texts = [r["text"]["S"] for r in rows]
    assert any(t.startswith("Payment service runbook > PaymentProcessorException") for t in texts)
    for row in rows:
        vec = json.loads(row["embedding"]["S"])
        assert len(vec) == 256 and all(isinstance(x, float) for x in vec)
        assert abs(sum(x * x for x in vec) - 1.0) < 1e-3
    long_windows = sorted((r for r in rows if "Step" in r["text"]["S"]), key=lambda r: r["chunk_id"]["S"])
    assert len(long_windows) >= 2  # the long section was split into overlapping windows
    tail = long_windows[0]["text"]["S"][-120:]
    assert tail in long_windows[1]["text"]["S"]
    doc = boto3.client("dynamodb").get_item(TableName=DOCS, Key={"document_id": {"S": doc_id}})["Item"]
    assert doc["status"]["S"] == "active" and doc["embedding_model"]["S"] == "feature-hashing-v1"
    assert int(doc["chunk_count"]["N"]) == len(rows)


def test_completing_twice_replaces_chunks(h):
    doc_id = upload(h)["document_id"]
    first = call(h, "kb_upload_complete", document_id=doc_id)[1]["chunk_count"]
    second = call(h, "kb_upload_complete", document_id=doc_id)[1]["chunk_count"]
    assert first == second == len(chunk_rows(doc_id)) == item_count(CHUNKS)


def test_pdf_is_parsed_with_pypdf(h):
    pdf = _pdf("Inventory sync fails when the warehouse API returns 429")
    status, body = call(h, "kb_upload", service_name="inventory-service", feature_name="sync", ai_context=[],
                        doc_type="architecture", file_name="sync.pdf")
    boto3.client("s3").put_object(Bucket=BUCKET, Key=body["s3_key"], Body=pdf)
    status, done = call(h, "kb_upload_complete", document_id=body["document_id"])
    assert status == 200 and done["chunk_count"] == 1
    assert "warehouse API returns 429" in chunk_rows(body["document_id"])[0]["text"]["S"]


def test_list_update_delete(h):
    a = upload(h)["document_id"]
    call(h, "kb_upload_complete", document_id=a)
    b = upload(h, service_name="order-service", file_name="orders.txt", doc_type="postmortem")["document_id"]
    listed = call(h, "kb_list", "GET")[1]
    assert listed["count"] == 2
    first = {d["document_id"]: d for d in listed["documents"]}[a]
    for key in ("document_id", "service_name", "feature_name", "file_name", "status", "chunk_count", "created_at"):
        assert key in first
    assert first["chunk_count"] > 0 and first["status"] == "active"
    assert [d["document_id"] for d in call(h, "kb_list", "GET", service_name="order-service")[1]["documents"]] == [b]
    assert [d["document_id"] for d in call(h, "kb_list", "GET", status="pending")[1]["documents"]] == [b]

    assert call(h, "kb_update", document_id=a, status="disabled")[1] == {"document_id": a, "status": "disabled"}
    assert call(h, "kb_list", "GET", status="disabled")[1]["documents"][0]["document_id"] == a
    status, body = call(h, "kb_update", document_id=b, status="active")
    assert status == 409 and "kb_upload_complete" in body["error"]

    key = first["s3_key"]
    assert call(h, "kb_delete", document_id=a)[1] == {"deleted": True, "document_id": a, "chunks_deleted": first["chunk_count"]}
    assert chunk_rows(a) == [] and item_count(CHUNKS) == 0
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0
    assert call(h, "kb_list", "GET")[1]["count"] == 1
    assert call(h, "kb_delete", document_id=a)[0] == 404


@pytest.mark.parametrize("action, fields, status, message", [
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.exe", "doc_type": "runbook"},
     400, "field 'file_name' must end in .md, .markdown, .txt, .pdf (got 'a.exe')"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.docx"}, 400, ".md, .markdown, .txt, .pdf"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "README"}, 400, "'file_name' must end in"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.md.png", "doc_type": "md"}, 400, "file_name"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.md", "doc_type": "Run Book"},
     400, "field 'doc_type' is the document's category"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.md", "doc_type": "x" * 41}, 400, "at most 40"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.md", "doc_type": "-runbook"}, 400, "doc_type"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.md", "doc_type": ["runbook"]}, 400, "doc_type"),
    ("kb_upload", {"service_name": "payment-service", "feature_name": "x", "file_name": "a.md", "doc_type": "run_book"}, 400, "doc_type"),
    ("kb_upload", {"service_name": "payment-service", "file_name": "a.md"}, 400, "missing field 'feature_name'"),
    ("kb_upload", {"feature_name": "x", "file_name": "a.md"}, 400, "missing field 'service_name'"),
    ("kb_upload", {"service_name": "p", "feature_name": "x", "file_name": "a.md", "ai_context": 5}, 400, "ai_context"),
    ("kb_upload_complete", {}, 400, "missing field 'document_id'"),
    ("kb_upload_complete", {"document_id": "nope"}, 404, "not found"),
    ("kb_update", {"document_id": "nope", "status": "deleted"}, 400, "active, disabled"),
    ("kb_update", {"document_id": "nope", "status": "active"}, 404, "not found"),
    ("kb_delete", {}, 400, "missing field 'document_id'"),
])
def test_bad_kb_input_is_4xx_and_writes_nothing(h, action, fields, status, message):
    got, body = call(h, action, **fields)
    assert got == status and message in body["error"], body
    assert item_count(DOCS) == 0 and item_count(CHUNKS) == 0


def test_complete_before_upload_is_409_and_stays_pending(h):
    status, body = call(h, "kb_upload", service_name="payment-service", feature_name="x", file_name="a.md")
    got, err = call(h, "kb_upload_complete", document_id=body["document_id"])
    assert got == 409 and "upload_url" in err["error"]
    assert call(h, "kb_list", "GET")[1]["documents"][0]["status"] == "pending"


def test_the_original_clients_upload_request_is_accepted_and_the_category_stored(h):
    """The exact kb_upload an existing TARS client sends (doc_type is the category)."""
    status, body = call(h, "kb_upload", service_name="payment-service", feature_name="payment-processing",
                        ai_context=["Payment gateway errors", "retry policy"], doc_type="runbook",
                        file_name="test-runbook.md")
    assert status == 200, body
    assert body["status"] == "pending" and body["doc_type"] == "runbook" and body["file_format"] == "md"
    doc = boto3.client("dynamodb").get_item(TableName=DOCS, Key={"document_id": {"S": body["document_id"]}})["Item"]
    assert doc["doc_type"]["S"] == "runbook" and doc["file_format"]["S"] == "md"
    assert doc["file_name"]["S"] == "test-runbook.md" and doc["feature_name"]["S"] == "payment-processing"


@pytest.mark.parametrize("category", ["runbook", "architecture", "troubleshooting", "postmortem", "reference",
                                      "on-call-2024", "a", "x" * 40, "md", "pdf"])
def test_any_short_slug_is_a_category(h, category):
    status, body = call(h, "kb_upload", service_name="payment-service", feature_name="x", doc_type=category,
                        file_name="notes.txt")
    assert status == 200, body
    doc = boto3.client("dynamodb").get_item(TableName=DOCS, Key={"document_id": {"S": body["document_id"]}})["Item"]
    assert (doc["doc_type"]["S"], doc["file_format"]["S"]) == (category, "txt")


@pytest.mark.parametrize("doc_type", [None, ""])
def test_no_category_means_runbook(h, doc_type):
    fields = {} if doc_type is None else {"doc_type": doc_type}
    status, body = call(h, "kb_upload", service_name="payment-service", feature_name="x", file_name="a.md", **fields)
    assert status == 200 and body["doc_type"] == "runbook"
    listed = call(h, "kb_list", "GET")[1]["documents"][0]
    assert listed["doc_type"] == "runbook" and listed["file_format"] == "md"


@pytest.mark.parametrize("file_name, file_format", [("a.md", "md"), ("A.MARKDOWN", "md"), ("notes.Txt", "txt"),
                                                    ("guide.pdf", "pdf"), ("dir/sub/run.book.md", "md")])
def test_the_format_comes_from_the_file_name(h, file_name, file_format):
    status, body = call(h, "kb_upload", service_name="p", feature_name="x", doc_type="architecture", file_name=file_name)
    assert status == 200 and body["file_format"] == file_format and body["doc_type"] == "architecture"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize("file_name, data, reason", [
    ("diagram.md", PNG, "the file is named .md but it is a PNG image"),
    ("notes.txt", b"PK\x03\x04" + bytes(40), "it is a ZIP archive"),
    ("guide.md", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "it is a PDF (name it .pdf)"),
    ("latin1.md", "Caf\u00e9 runbook".encode("latin-1"), "not UTF-8 text"),
    ("nul.txt", b"text\x00with a NUL", "NUL bytes"),
    ("image.pdf", PNG, "the file is not a PDF: it is a PNG image"),
    ("broken.pdf", b"%PDF-1.4\nnot really", "not a readable PDF"),
    ("empty.md", b"   \n", "the document has no text"),
], ids=["png-as-md", "zip-as-txt", "pdf-as-md", "latin1-md", "nul-txt", "png-as-pdf", "broken-pdf", "empty-md"])
def test_content_that_does_not_fit_the_format_ends_failed_with_a_reason(h, file_name, data, reason):
    doc = upload(h, file_name=file_name)
    boto3.client("s3").put_object(Bucket=BUCKET, Key=doc["s3_key"], Body=data)
    status, body = call(h, "kb_upload_complete", document_id=doc["document_id"])
    assert status == 400 and reason in body["error"], body
    assert body["status"] == "failed" and body["document_id"] == doc["document_id"]
    listed = call(h, "kb_list", "GET", status="failed")[1]["documents"]
    assert [d["document_id"] for d in listed] == [doc["document_id"]]
    assert reason in listed[0]["status_reason"] and listed[0]["chunk_count"] == 0
    assert item_count(CHUNKS) == 0 and call(h, "kb_list", "GET", status="active")[1]["count"] == 0
    status, err = call(h, "kb_update", document_id=doc["document_id"], status="active")
    assert status == 409 and "failed" in err["error"]


def test_a_failed_document_becomes_active_once_a_readable_file_is_uploaded(h):
    doc = upload(h, file_name="runbook.md")
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=doc["s3_key"], Body=PNG)
    assert call(h, "kb_upload_complete", document_id=doc["document_id"])[0] == 400
    s3.put_object(Bucket=BUCKET, Key=doc["s3_key"], Body=RUNBOOK.encode())
    status, body = call(h, "kb_upload_complete", document_id=doc["document_id"])
    assert status == 200 and body["status"] == "active" and body["chunk_count"] == len(chunk_rows(doc["document_id"]))
    item = boto3.client("dynamodb").get_item(TableName=DOCS, Key={"document_id": {"S": doc["document_id"]}})["Item"]
    assert item["status"]["S"] == "active" and "status_reason" not in item


def test_an_active_document_whose_file_is_replaced_by_garbage_fails_and_loses_its_chunks(h):
    doc = upload(h)
    assert call(h, "kb_upload_complete", document_id=doc["document_id"])[1]["chunk_count"] > 0
    boto3.client("s3").put_object(Bucket=BUCKET, Key=doc["s3_key"], Body=PNG)
    assert call(h, "kb_upload_complete", document_id=doc["document_id"])[1]["status"] == "failed"
    assert chunk_rows(doc["document_id"]) == []


def test_a_record_written_before_the_format_was_stored_still_completes(h):
    """Records from the earlier contract kept the format in doc_type and have no file_format."""
    from tests.support.handler import lambda_module

    doc = upload(h, file_name="legacy.md")
    boto3.client("dynamodb").update_item(
        TableName=DOCS, Key={"document_id": {"S": doc["document_id"]}}, UpdateExpression="SET doc_type = :t REMOVE file_format",
        ExpressionAttributeValues={":t": {"S": "md"}})
    assert lambda_module("kb")._format_of({"doc_type": "pdf", "file_name": "noext"}) == "pdf"
    status, body = call(h, "kb_upload_complete", document_id=doc["document_id"])
    assert status == 200 and body["status"] == "active"


def _pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` (hand-built: pypdf reads but does not lay out text)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_upload_without_a_configured_bucket_is_503_and_writes_nothing(h, monkeypatch):
    monkeypatch.setenv("KB_S3_BUCKET", "")
    status, body = call(h, "kb_upload", service_name="payment-service", feature_name="x", file_name="a.md")
    assert status == 503 and "KB_S3_BUCKET" in body["error"]
    assert item_count(DOCS) == 0


def _ui_list(name: str) -> list[str]:
    """A string array the UI exports from ui/src/kbUpload.js (what its upload form offers)."""
    import re

    from tests.support.handler import ROOT

    source = (ROOT / "ui" / "src" / "kbUpload.js").read_text()
    found = re.search(rf"export const {name} = \[([^\]]*)\]", source)
    assert found, f"{name} not found in ui/src/kbUpload.js"
    return json.loads(f"[{found.group(1)}]")


def test_every_category_and_extension_the_ui_offers_is_accepted_by_the_handler(h):
    categories, extensions = _ui_list("DOC_TYPES"), _ui_list("ALLOWED_EXTENSIONS")
    assert categories and extensions
    for category in categories:
        for ext in extensions:
            status, body = call(h, "kb_upload", service_name="ui-service", feature_name="ui",
                                doc_type=category, file_name=f"doc.{ext}")
            assert status == 200 and body["doc_type"] == category, (category, ext, body)
    assert item_count(DOCS) == len(categories) * len(extensions)
