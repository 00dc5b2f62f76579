"""The knowledge base's contract across the boundary, on the local deployment.

One ``inv deploy --all --local --yes`` of a private copy of the project (the real handler behind
the local Function URL and the site's ``/api``), then:

- an existing TARS client's request sequence replayed over HTTP, through the site's ``/api`` and
  through the function URL: kb_upload (doc_type "runbook", file_name "test-runbook.md") → PUT the
  file to upload_url as text/plain → kb_upload_complete → GET kb_list → the chunks through the
  DocumentIndex GSI → kb_update disabled → kb_delete; the emulator's tables and bucket are checked
  after each step;
- the UI's own upload form in Debian's Chromium: a markdown runbook uploaded through the Knowledge
  base page shows ``active`` with its chunk count, and the chat lists it among the KB sources.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tars_tasks.local import processes
from tests.conftest import _SAFE_ENV, ROOT
from tests.local_support import copy_project

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
RUNBOOK = """# Ledger service runbook

## KafkaConsumerLagExceeded
The ledger consumer group falls behind the postings topic. Scale the ledger-consumer deployment to
six replicas, then check the broker's under-replicated partitions before restarting anything.

## LedgerBalanceMismatch
Freeze the nightly reconciliation job and page the finance on-call engineer.
"""


def _inv(root: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    """``inv ...`` as a user runs it, with the test suite's safe AWS environment."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TARS_", "AWS_")) and k not in ("GITHUB_TOKEN", "VITE_API_ENDPOINT")}
    env.update(_SAFE_ENV, TARS_ROOT=str(root), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], cwd=str(root), env=env,
                          capture_output=True, text=True, timeout=timeout, input="")


@dataclass(frozen=True)
class Local:
    root: Path
    site_url: str
    function_url: str
    emulator_url: str
    outputs: dict

    def client(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.emulator_url, region_name="us-east-1")


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("kb-contract") / "tars")
    try:
        deployed = _inv(root, "deploy", "--all", "--local", "--yes")
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
        raw = json.loads((root / ".tars" / "local" / "outputs.json").read_text())
        outputs = {k: v["value"] for k, v in raw.items()}
        emulator = processes.read(root / ".tars" / "local" / "proc", "emulator")
        yield Local(root, outputs["site_url"], outputs["function_url"].rstrip("/"), emulator.url, outputs)
    finally:
        _inv(root, "local.down", timeout=120)


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict | bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            status, data, ctype = reply.status, reply.read(), reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        status, data, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
    return status, json.loads(data) if ctype.startswith("application/json") else data


class Client:
    """What an existing TARS client sends: POST JSON with the action in the body, GET with a query.
    Through the site, POSTs carry x-amz-content-sha256 as CloudFront's origin access control needs."""

    def __init__(self, api: str, signed: bool):
        self.api, self.signed = api, signed

    def post(self, action: str, **fields) -> tuple[int, dict]:
        body = json.dumps({"action": action, **fields}).encode()
        headers = {"Content-Type": "application/json"}
        if self.signed:
            headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        return http("POST", self.api, body, headers)

    def get(self, action: str, **query) -> tuple[int, dict]:
        return http("GET", self.api + "?" + urllib.parse.urlencode({"action": action, **query}))


def document_item(local: Local, document_id: str) -> dict | None:
    return local.client("dynamodb").get_item(TableName=local.outputs["kb_documents_table"],
                                             Key={"document_id": {"S": document_id}}).get("Item")


def chunk_items(local: Local, document_id: str) -> list[dict]:
    pages = local.client("dynamodb").get_paginator("query").paginate(
        TableName=local.outputs["kb_chunks_table"], IndexName="DocumentIndex",
        KeyConditionExpression="document_id = :d", ExpressionAttributeValues={":d": {"S": document_id}})
    return [i for p in pages for i in p["Items"]]


def object_body(local: Local, key: str) -> bytes | None:
    s3 = local.client("s3")
    try:
        return s3.get_object(Bucket=local.outputs["kb_bucket"], Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


@pytest.mark.parametrize("path, feature_field", [("site", "feature_name"), ("function_url", "functionality")])
def test_an_existing_clients_kb_sequence_over_http(local, path, feature_field):
    api = local.site_url + "/api" if path == "site" else local.function_url
    client = Client(api, signed=path == "site")
    service = f"contract-{path.replace('_', '-')}"
    text = RUNBOOK.replace("Ledger", f"Ledger ({path})")

    status, up = client.post("kb_upload", service_name=service, **{feature_field: "ledger-postings"},
                             ai_context=["Kafka consumer lag", "reconciliation"], doc_type="runbook",
                             file_name="test-runbook.md")
    assert status == 200, up
    document_id = up["document_id"]
    assert up["status"] == "pending" and up["upload_url"].startswith("http://127.0.0.1:")
    item = document_item(local, document_id)
    assert item["status"]["S"] == "pending" and item["doc_type"]["S"] == "runbook"
    assert item["file_format"]["S"] == "md" and item["feature_name"]["S"] == "ledger-postings"
    assert item["service_name"]["S"] == service and item["file_name"]["S"] == "test-runbook.md"

    # The URL signs the Content-Type of the format (moto does not check signatures; S3 does): the
    # original client's text/plain is exactly that type, and it says no size, so none is signed.
    signed = urllib.parse.parse_qs(urllib.parse.urlsplit(up["upload_url"]).query)["X-Amz-SignedHeaders"][0]
    assert signed == "content-type;host" and up["upload_headers"] == {"Content-Type": "text/plain"}
    status, _ = http("PUT", up["upload_url"], text.encode(), {"Content-Type": "text/plain"})
    assert status == 200 and object_body(local, item["s3_key"]["S"]) == text.encode()

    status, done = client.post("kb_upload_complete", document_id=document_id)
    assert status == 200, done
    assert done["status"] == "active" and done["chunk_count"] >= 2 and done["document_id"] == document_id
    assert document_item(local, document_id)["status"]["S"] == "active"

    status, listed = client.get("kb_list", service_name=service)
    assert status == 200 and listed["count"] == len(listed["documents"]) == 1
    doc = listed["documents"][0]
    assert (doc["document_id"], doc["status"], doc["chunk_count"]) == (document_id, "active", done["chunk_count"])
    assert doc["doc_type"] == "runbook" and doc["ai_context"] == ["Kafka consumer lag", "reconciliation"]

    chunks = chunk_items(local, document_id)
    assert len(chunks) == done["chunk_count"]
    for chunk in chunks:
        assert set(chunk["embedding"]) == {"S"}   # a String attribute holding a JSON list
        vector = json.loads(chunk["embedding"]["S"])
        assert isinstance(vector, list) and len(vector) == 256 and all(type(x) is float for x in vector)
    assert any("KafkaConsumerLagExceeded" in c["text"]["S"] for c in chunks)

    status, updated = client.post("kb_update", document_id=document_id, status="disabled")
    assert (status, updated) == (200, {"document_id": document_id, "status": "disabled"})
    assert document_item(local, document_id)["status"]["S"] == "disabled"

    status, deleted = client.post("kb_delete", document_id=document_id)
    assert status == 200 and deleted["deleted"] is True and deleted["chunks_deleted"] == done["chunk_count"]
    assert document_item(local, document_id) is None and chunk_items(local, document_id) == []
    assert object_body(local, item["s3_key"]["S"]) is None
    assert client.get("kb_list", service_name=service)[1]["count"] == 0


@pytest.mark.parametrize("path", ["site", "function_url"])
def test_a_get_kb_delete_is_refused_and_deletes_nothing(local, path):
    api = local.site_url + "/api" if path == "site" else local.function_url
    client = Client(api, signed=path == "site")
    up = client.post("kb_upload", service_name="contract-get", feature_name="x", file_name="keep.md")[1]
    status, reply = client.get("kb_delete", document_id=up["document_id"])
    assert status == 405 and "POST" in reply["error"]
    assert document_item(local, up["document_id"])["status"]["S"] == "pending"
    assert client.post("kb_delete", document_id=up["document_id"])[1]["deleted"] is True


def test_the_ui_uploads_a_runbook_that_the_chat_then_cites(local, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    runbook = tmp_path / "ledger-runbook.md"
    runbook.write_text(RUNBOOK)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(local.site_url + "/", wait_until="networkidle")
            page.get_by_test_id("nav-kb").click()
            page.get_by_test_id("kb-file").set_input_files(str(runbook))
            page.get_by_test_id("kb-service").fill("ledger-service")
            page.get_by_test_id("kb-feature").fill("postings")
            page.get_by_test_id("kb-doc-type").select_option("runbook")
            page.get_by_test_id("kb-context").fill("kafka, consumer lag")
            page.get_by_test_id("kb-upload").click()

            result = page.get_by_test_id("kb-upload-result")
            expect(result).to_contain_text("ledger-runbook.md is active", timeout=60_000)
            row = page.locator("[data-testid^=kb-row-]").filter(has_text="ledger-runbook.md")
            expect(row).to_have_count(1, timeout=30_000)
            document_id = row.get_attribute("data-testid").removeprefix("kb-row-")
            chunks = len(chunk_items(local, document_id))
            assert chunks >= 2
            expect(result).to_contain_text(f"{chunks} chunks indexed")
            cells = row.locator("td")
            assert [cells.nth(i).inner_text() for i in range(6)][:6] == [
                "ledger-runbook.md", "ledger-service", "postings", "runbook", "active", str(chunks)]
            item = document_item(local, document_id)
            assert (item["status"]["S"], item["doc_type"]["S"], item["file_format"]["S"]) == ("active", "runbook", "md")
            assert object_body(local, item["s3_key"]["S"]) == RUNBOOK.encode()
            # the browser PUT the Content-Type the URL signs, with the length it declared
            head = local.client("s3").head_object(Bucket=local.outputs["kb_bucket"], Key=item["s3_key"]["S"])
            assert head["ContentType"] == "text/plain" and head["ContentLength"] == len(RUNBOOK.encode())

            page.get_by_test_id("nav-chat").click()
            page.get_by_test_id("chat-question").fill(
                "ledger-service reports KafkaConsumerLagExceeded: how many ledger-consumer replicas?")
            page.get_by_test_id("chat-submit").click()
            sources = page.get_by_role("region", name="Knowledge base sources")
            expect(sources).to_contain_text("ledger-runbook.md", timeout=60_000)
            assert sources.locator("li").first.inner_text().startswith("ledger-runbook.md")
        finally:
            browser.close()
    assert errors == []
