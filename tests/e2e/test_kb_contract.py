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

Since issue 14 the local deployment has a user pool and enforces sign-in as AWS does: through the
site a person's access token (an editor added by ``inv users.add --local``), on the Function URL a
SigV4 signature (the machine client's path); an anonymous or unsigned request is refused.
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
from bench.scenarios.clone import copy_project

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
EDITOR, VIEWER = "editor@tars.local", "viewer@tars.local"
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
    passwords: dict   # e-mail -> the password inv users.add --local generated

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
        passwords = {}
        for email, role in ((EDITOR, "editor"), (VIEWER, "viewer")):
            added = _inv(root, "users.add", email, "--role", role, "--local")
            assert added.returncode == 0, added.stdout[-2000:] + added.stderr[-2000:]
            passwords[email] = (root / ".tars" / "local" / "users" / f"{email}.password").read_text().strip()
            assert passwords[email] not in added.stdout + added.stderr
        yield Local(root, outputs["site_url"], outputs["function_url"].rstrip("/"), emulator.url, outputs, passwords)
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
    Through the site, POSTs carry x-amz-content-sha256 as CloudFront's origin access control needs
    and a person's access token in x-tars-token; on the Function URL a machine client signs with
    SigV4 (service lambda) as ``inv verify`` does."""

    def __init__(self, api: str, signed: bool, token: str | None = None, iam: bool = False):
        self.api, self.signed, self.token, self.iam = api, signed, token, iam

    def headers(self, method: str, url: str, body: bytes | None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.signed or self.iam:
            headers["x-amz-content-sha256"] = hashlib.sha256(body or b"").hexdigest()
        if self.token:
            headers["x-tars-token"] = self.token
        if self.iam:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials

            request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
            SigV4Auth(Credentials("testing", "testing"), "lambda", "us-east-1").add_auth(request)
            headers = dict(request.headers.items())
        return headers

    def post(self, action: str, **fields) -> tuple[int, dict]:
        body = json.dumps({"action": action, **fields}).encode()
        return http("POST", self.api, body, self.headers("POST", self.api, body))

    def get(self, action: str, **query) -> tuple[int, dict]:
        url = self.api + "?" + urllib.parse.urlencode({"action": action, **query})
        return http("GET", url, None, self.headers("GET", url, None))


def token_of(local: Local, email: str) -> str:
    """A person's access token from the local pool (moto checks the password on this flow; the
    browser tests sign in with SRP through the UI)."""
    idp = local.client("cognito-idp")
    reply = idp.admin_initiate_auth(UserPoolId=local.outputs["cognito_user_pool_id"],
                                    ClientId=local.outputs["cognito_client_id"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                    AuthParameters={"USERNAME": email, "PASSWORD": local.passwords[email]})
    return reply["AuthenticationResult"]["AccessToken"]


def client_for(local: Local, path: str, who: str = "editor") -> Client:
    """The site with a person's token, or the Function URL signed by IAM."""
    if path == "site":
        return Client(local.site_url + "/api", signed=True, token=token_of(local, EDITOR if who == "editor" else VIEWER))
    return Client(local.function_url + "/", signed=False, iam=True)


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
    client = client_for(local, path)
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
    client = client_for(local, path)
    up = client.post("kb_upload", service_name="contract-get", feature_name="x", file_name="keep.md")[1]
    status, reply = client.get("kb_delete", document_id=up["document_id"])
    assert status == 405 and "POST" in reply["error"]
    assert document_item(local, up["document_id"])["status"]["S"] == "pending"
    assert client.post("kb_delete", document_id=up["document_id"])[1]["deleted"] is True


def test_the_api_refuses_whom_it_cannot_name_and_viewers_cannot_write(local):
    """Anonymous through the site: 401 (the site signs every /api request as CloudFront's OAC does, so
    that signature proves nothing about the person); an unsigned or wrongly signed call to the
    Function URL: 403 from the URL itself, as AWS_IAM answers; a viewer reads but cannot write."""
    table = local.client("dynamodb")
    count = lambda: table.scan(TableName=local.outputs["kb_documents_table"], Select="COUNT")["Count"]  # noqa: E731
    before = count()
    anonymous = Client(local.site_url + "/api", signed=True)
    status, body = anonymous.post("kb_upload", service_name="anon", feature_name="x", file_name="a.md")
    assert (status, body["code"]) == (401, "missing_token")
    assert anonymous.get("kb_list")[0] == 401
    status, body = Client(local.site_url + "/api", signed=True, token="not-a-jwt").get("kb_list")
    assert (status, body["code"]) == (401, "malformed_token")
    unsigned = Client(local.function_url + "/", signed=True)
    assert unsigned.post("kb_upload", service_name="anon", feature_name="x", file_name="a.md") == (403, {"Message": "Forbidden"})
    forged = Client(local.function_url + "/", signed=False, iam=True)
    headers = forged.headers("POST", forged.api, b'{"action":"kb_list"}')
    assert http("POST", forged.api, b'{"action":"kb_delete","document_id":"x"}', headers)[0] == 403   # another body
    assert http("GET", local.site_url + "/api?action=health")[0] == 200   # health answers anyone

    viewer = client_for(local, "site", who="viewer")
    assert viewer.get("kb_list")[0] == 200
    status, body = viewer.post("kb_upload", service_name="viewer", feature_name="x", file_name="v.md")
    assert (status, body["code"]) == (403, "viewer_cannot_write")
    assert count() == before


def sign_in(page, local: Local, email: str) -> None:
    """The UI's sign-in form (amazon-cognito-identity-js, USER_SRP_AUTH against the local pool)."""
    from playwright.sync_api import expect

    page.get_by_test_id("signin-username").fill(email)
    page.get_by_test_id("signin-secret").fill(local.passwords[email])
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("signed-in-user")).to_have_text(email, timeout=30_000)


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
            sign_in(page, local, EDITOR)
            expect(page.get_by_test_id("signed-in-role")).to_contain_text("editor")
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


def test_a_viewer_signs_in_chats_sees_no_write_controls_and_a_direct_write_is_refused(local):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(local.site_url + "/", wait_until="networkidle")
            expect(page.get_by_test_id("signin-username")).to_be_visible()
            sign_in(page, local, VIEWER)
            expect(page.get_by_test_id("signed-in-role")).to_contain_text("viewer")

            page.get_by_test_id("nav-chat").click()
            page.get_by_test_id("chat-question").fill("Are there any errors in the last hour?")
            page.get_by_test_id("chat-submit").click()
            expect(page.get_by_test_id("chat-answer")).to_be_visible(timeout=60_000)
            expect(page.get_by_test_id("chat-llm")).to_be_visible()

            page.get_by_test_id("nav-kb").click()
            expect(page.get_by_test_id("kb-count")).to_be_visible(timeout=30_000)
            assert page.get_by_test_id("kb-file").count() == 0 and page.get_by_test_id("kb-upload").count() == 0
            # the page's own session token, sent by hand: the handler refuses the write, not just the UI
            status, body = page.evaluate("""async () => {
                const key = Object.keys(sessionStorage).find((k) => k.endsWith(".accessToken"));
                const body = JSON.stringify({action: "kb_upload", service_name: "v", feature_name: "x", file_name: "v.md"});
                const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
                const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
                const r = await fetch("/api", {method: "POST", body, headers: {"Content-Type": "application/json",
                    "x-amz-content-sha256": hash, "x-tars-token": sessionStorage.getItem(key)}});
                return [r.status, await r.json()];
            }""")
            assert (status, body["code"]) == (403, "viewer_cannot_write")

            page.get_by_test_id("sign-out").click()
            expect(page.get_by_test_id("signin-username")).to_be_visible()
        finally:
            browser.close()
    assert errors == []


def test_inv_audit_shows_who_wrote_and_who_was_refused(local, tmp_path):
    """After the editor's writes and the refusals above: `inv audit --local` names each, read back from
    the function's log group where the handler wrote them."""
    editor = client_for(local, "site")
    status, up = editor.post("kb_upload", service_name="audited", feature_name="x", file_name="audited.md")
    assert status == 200
    viewer = client_for(local, "site", who="viewer")
    assert viewer.post("kb_delete", document_id=up["document_id"])[0] == 403
    report = tmp_path / "audit.json"
    done = _inv(local.root, "audit", "--local", "--since", "1h", "--json", str(report))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    records = json.loads(report.read_text())["records"]
    mine = [r for r in records if (r.get("ids") or {}).get("document_id") == up["document_id"]]
    assert {(r["action"], r["result"], r["who"].get("username")) for r in mine} >= {
        ("kb_upload", "ok", EDITOR), ("kb_delete", "refused", VIEWER)}
    assert any(r["who"].get("kind") == "iam" and r["action"] == "kb_upload" for r in records)   # the machine client
    assert "kb_upload" in done.stdout and EDITOR in done.stdout
    only = _inv(local.root, "audit", "--local", "--who", "viewer@", "--json", str(report))
    assert only.returncode == 0 and {r["who"]["username"] for r in json.loads(report.read_text())["records"]} == {VIEWER}
