import { describe, expect, test, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import KnowledgeBasePage from "./KnowledgeBasePage.jsx";
import { deferred, json, mockApi, sha256 } from "../test/api-mock.js";

const UPLOAD_URL =
  "https://sre-poc-kb-documents-123456789012.s3.amazonaws.com/kb/doc-9/runbook.md?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc";

const DOCS = [
  {
    document_id: "doc-1",
    service_name: "payment-service",
    feature_name: "refunds",
    file_name: "refunds.md",
    doc_type: "runbook",
    status: "active",
    chunk_count: 5,
    created_at: "2026-11-27T10:00:00Z",
  },
  {
    document_id: "doc-2",
    service_name: "order-service",
    feature_name: "checkout",
    file_name: "checkout.txt",
    doc_type: "architecture",
    status: "disabled",
    chunk_count: 2,
    created_at: "2026-11-27T11:00:00Z",
  },
];

function listReply(documents = DOCS) {
  return json({ count: documents.length, documents });
}

function signedPosts(calls) {
  for (const call of calls.filter((c) => c.method === "POST")) {
    expect(call.headers["x-amz-content-sha256"], `${call.action} is signed`).toBe(sha256(call.body));
  }
}

async function fillUploadForm(user, file) {
  await user.upload(screen.getByTestId("kb-file"), file);
  await user.type(screen.getByTestId("kb-service"), "payment-service");
  await user.type(screen.getByTestId("kb-feature"), "refunds");
  await user.selectOptions(screen.getByTestId("kb-doc-type"), "troubleshooting");
  await user.type(screen.getByTestId("kb-context"), "timeouts, retries ,");
}

describe("KnowledgeBasePage", () => {
  test("lists the documents from kb_list", async () => {
    const calls = mockApi(() => listReply());
    render(<KnowledgeBasePage />);

    const table = await screen.findByTestId("kb-table");
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(rows[1]).toHaveTextContent("refunds.mdpayment-servicerefundsrunbookactive5");
    expect(rows[2]).toHaveTextContent("checkout.txtorder-servicecheckoutarchitecturedisabled2");
    expect(within(rows[1]).getByRole("button", { name: "Disable" })).toBeInTheDocument();
    expect(within(rows[2]).getByRole("button", { name: "Enable" })).toBeInTheDocument();
    expect(calls).toHaveLength(1);
    expect(calls[0].method).toBe("GET");
    expect(calls[0].url.pathname).toBe("/api");
    expect([...calls[0].url.searchParams]).toEqual([["action", "kb_list"]]);
  });

  test("filters are sent as kb_list query parameters", async () => {
    const calls = mockApi(() => listReply([]));
    render(<KnowledgeBasePage />);
    await screen.findByText("No documents.");
    const user = userEvent.setup();
    await user.selectOptions(screen.getByTestId("kb-filter-status"), "disabled");
    await user.type(screen.getByTestId("kb-filter-service"), "order-service{Enter}");

    await waitFor(() => expect(calls.at(-1).url.searchParams.get("service_name")).toBe("order-service"));
    expect(calls.at(-1).url.searchParams.get("status")).toBe("disabled");
    expect(calls.at(-1).action).toBe("kb_list");
  });

  test("upload: kb_upload, PUT to the presigned URL, kb_upload_complete, with progress, then the list refreshes", async () => {
    const put = deferred();
    let listed = 0;
    const calls = mockApi((call) => {
      if (call.action === "kb_list") return listReply(listed++ ? [{ ...DOCS[0], document_id: "doc-9", file_name: "runbook.md", chunk_count: 4 }] : []);
      if (call.action === "kb_upload")
        return json({
          document_id: "doc-9",
          upload_url: UPLOAD_URL,
          s3_key: "kb/doc-9/runbook.md",
          status: "pending",
          upload_headers: { "Content-Type": "text/plain" },
        });
      if (call.method === "PUT") return put.promise;
      if (call.action === "kb_upload_complete") return json({ document_id: "doc-9", status: "active", chunk_count: 4 });
      return json({ error: "unexpected" }, 400);
    });
    render(<KnowledgeBasePage />);
    await screen.findByText("No documents.");
    const user = userEvent.setup();
    const file = new File(["# Refunds\n\nWhen refunds time out, retry.\n"], "runbook.md", { type: "" });
    await fillUploadForm(user, file);
    await user.click(screen.getByTestId("kb-upload"));

    // Held at the PUT after half the bytes went: step 2 of 3, the bytes sent so far.
    const progress = await screen.findByTestId("kb-progress");
    await waitFor(() => expect(progress).toHaveTextContent("Step 2/3: Uploading runbook.md: 20 B of 41 B"));
    expect(Number(within(progress).getByRole("progressbar").getAttribute("value"))).toBeCloseTo(1 + 20 / 41);
    expect(screen.getByTestId("kb-upload")).toBeDisabled();
    put.resolve(new Response("", { status: 200 }));

    expect(await screen.findByTestId("kb-upload-result")).toHaveTextContent("runbook.md is active: 4 chunks indexed.");
    await screen.findByTestId("kb-row-doc-9");
    expect(screen.queryByTestId("kb-progress")).not.toBeInTheDocument();

    expect(calls.map((c) => `${c.method} ${c.action ?? c.url.host}`)).toEqual([
      "GET kb_list",
      "POST kb_upload",
      "PUT sre-poc-kb-documents-123456789012.s3.amazonaws.com",
      "POST kb_upload_complete",
      "GET kb_list",
    ]);
    expect(calls[1].json).toEqual({
      action: "kb_upload",
      service_name: "payment-service",
      feature_name: "refunds",
      ai_context: ["timeouts", "retries"],
      doc_type: "troubleshooting",
      file_name: "runbook.md",
      file_size: 41, // signed into the upload URL as its Content-Length
    });
    const putCall = calls[2];
    expect(putCall.url.toString()).toBe(UPLOAD_URL);
    expect(putCall.body).toBe(file);
    expect(putCall.headers["content-type"]).toBe("text/plain");
    expect(putCall.headers["x-amz-content-sha256"]).toBeUndefined(); // would break the presigned signature
    expect(calls[3].json).toEqual({ action: "kb_upload_complete", document_id: "doc-9" });
    signedPosts(calls);
  });

  test("the PUT's Content-Type is the one kb_upload signed, not the browser's guess", async () => {
    const calls = mockApi((call) => {
      if (call.action === "kb_list") return listReply([]);
      if (call.action === "kb_upload")
        return json({ document_id: "d", upload_url: UPLOAD_URL, status: "pending", upload_headers: { "Content-Type": "text/plain" } });
      if (call.method === "PUT") return new Response("", { status: 200 });
      return json({ document_id: "d", status: "active", chunk_count: 1 });
    });
    render(<KnowledgeBasePage />);
    const user = userEvent.setup();
    await fillUploadForm(user, new File(["# Guide"], "guide.md", { type: "text/markdown" }));
    await user.click(screen.getByTestId("kb-upload"));
    await screen.findByTestId("kb-upload-result");
    expect(calls.find((c) => c.method === "PUT").headers["content-type"]).toBe("text/plain");
  });

  test("an API that names no upload headers gets the file's own type", async () => {
    const calls = mockApi((call) => {
      if (call.action === "kb_list") return listReply([]);
      if (call.action === "kb_upload") return json({ document_id: "d", upload_url: UPLOAD_URL, status: "pending" });
      if (call.method === "PUT") return new Response("", { status: 200 });
      return json({ document_id: "d", status: "active", chunk_count: 1 });
    });
    render(<KnowledgeBasePage />);
    const user = userEvent.setup();
    await fillUploadForm(user, new File(["%PDF-1.4"], "guide.pdf", { type: "application/pdf" }));
    await user.click(screen.getByTestId("kb-upload"));
    await screen.findByTestId("kb-upload-result");
    expect(calls.find((c) => c.method === "PUT").headers["content-type"]).toBe("application/pdf");
  });

  test("a file over 10 MB is refused before any request", async () => {
    const calls = mockApi(() => listReply([]));
    render(<KnowledgeBasePage />);
    await screen.findByText("No documents.");
    const user = userEvent.setup();
    const big = new File(["x"], "huge.md", { type: "text/markdown" });
    Object.defineProperty(big, "size", { value: 10 * 1024 * 1024 + 1 });
    await fillUploadForm(user, big);
    await user.click(screen.getByTestId("kb-upload"));
    expect(await screen.findByTestId("kb-error")).toHaveTextContent("huge.md is 10.0 MB: the knowledge base takes files up to 10 MB");
    expect(calls.map((c) => c.action)).toEqual(["kb_list"]);
  });

  test("a file type the knowledge base does not take is refused before any request", async () => {
    const calls = mockApi(() => listReply([]));
    render(<KnowledgeBasePage />);
    await screen.findByText("No documents.");
    const user = userEvent.setup({ applyAccept: false });
    await fillUploadForm(user, new File(["x"], "diagram.png", { type: "image/png" }));
    await user.click(screen.getByTestId("kb-upload"));

    expect(await screen.findByTestId("kb-error")).toHaveTextContent(
      "diagram.png: only .md, .markdown, .txt, .pdf files can go into the knowledge base.",
    );
    expect(calls.map((c) => c.action)).toEqual(["kb_list"]);
  });

  test("a refused PUT stops the upload: the alert names the S3 error and kb_upload_complete is not sent", async () => {
    const calls = mockApi((call) => {
      if (call.action === "kb_list") return listReply([]);
      if (call.action === "kb_upload") return json({ document_id: "doc-9", upload_url: UPLOAD_URL, status: "pending" });
      if (call.method === "PUT")
        return new Response("<Error><Code>SignatureDoesNotMatch</Code></Error>", { status: 403 });
      return json({ document_id: "doc-9", status: "active", chunk_count: 1 });
    });
    render(<KnowledgeBasePage />);
    const user = userEvent.setup();
    await fillUploadForm(user, new File(["hello"], "notes.txt", { type: "text/plain" }));
    await user.click(screen.getByTestId("kb-upload"));

    const alert = await screen.findByTestId("kb-error");
    expect(alert).toHaveAttribute("role", "alert");
    expect(alert).toHaveTextContent("The storage bucket refused the upload of notes.txt (403 SignatureDoesNotMatch).");
    // the list is reloaded (the registered document shows as pending); kb_upload_complete is not sent
    await waitFor(() => expect(calls.map((c) => c.action ?? c.method)).toEqual(["kb_list", "kb_upload", "PUT", "kb_list"]));
    expect(screen.queryByTestId("kb-upload-result")).not.toBeInTheDocument();
    expect(screen.queryByTestId("kb-progress")).not.toBeInTheDocument();
  });

  test("a PUT that cannot reach the bucket (network or CORS) is an alert, and kb_upload_complete is not sent", async () => {
    const calls = mockApi((call) => {
      if (call.action === "kb_list") return listReply([]);
      if (call.action === "kb_upload") return json({ document_id: "doc-9", upload_url: UPLOAD_URL, status: "pending" });
      if (call.method === "PUT") throw new TypeError("network");
      return json({ document_id: "doc-9", status: "active", chunk_count: 1 });
    });
    render(<KnowledgeBasePage />);
    const user = userEvent.setup();
    await fillUploadForm(user, new File(["hello"], "notes.txt", { type: "text/plain" }));
    await user.click(screen.getByTestId("kb-upload"));
    expect(await screen.findByTestId("kb-error")).toHaveTextContent(
      "Cannot upload notes.txt to the storage bucket (network error or CORS refusal).",
    );
    await waitFor(() => expect(calls.map((c) => c.action ?? c.method)).toEqual(["kb_list", "kb_upload", "PUT", "kb_list"]));
  });

  test("an error reply to kb_upload is shown and nothing is uploaded", async () => {
    const calls = mockApi((call) =>
      call.action === "kb_list" ? listReply([]) : json({ error: "service_name is required" }, 400),
    );
    render(<KnowledgeBasePage />);
    const user = userEvent.setup();
    await fillUploadForm(user, new File(["hello"], "notes.txt", { type: "text/plain" }));
    await user.click(screen.getByTestId("kb-upload"));
    expect(await screen.findByTestId("kb-error")).toHaveTextContent("The TARS API answered 400: service_name is required");
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
  });

  test("the Document type list offers categories, and the category chosen is sent as doc_type", async () => {
    mockApi(() => listReply([]));
    render(<KnowledgeBasePage />);
    const options = within(screen.getByTestId("kb-doc-type")).getAllByRole("option").map((o) => o.value);
    expect(options).toEqual(["runbook", "architecture", "troubleshooting", "reference", "postmortem"]);
    expect(screen.getByTestId("kb-doc-type")).toHaveValue("runbook");
    // a category, never a file format: the format comes from the file name
    for (const category of options) expect(category).toMatch(/^[a-z0-9][a-z0-9-]{0,39}$/);
    for (const format of ["md", "markdown", "txt", "pdf"]) expect(options).not.toContain(format);
  });

  test("a file the handler cannot parse: the alert gives the reason and the list shows it failed", async () => {
    let completed = false;
    const failed = {
      ...DOCS[0],
      document_id: "doc-9",
      file_name: "diagram.md",
      status: "failed",
      chunk_count: 0,
      status_reason: "the file is named .md but it is a PNG image",
    };
    const calls = mockApi((call) => {
      if (call.action === "kb_list") return listReply(completed ? [failed] : []);
      if (call.action === "kb_upload") return json({ document_id: "doc-9", upload_url: UPLOAD_URL, status: "pending" });
      if (call.method === "PUT") return new Response("", { status: 200 });
      completed = true;
      return json({ error: "diagram.md: the file is named .md but it is a PNG image", document_id: "doc-9", status: "failed" }, 400);
    });
    render(<KnowledgeBasePage />);
    await screen.findByText("No documents.");
    const user = userEvent.setup();
    await fillUploadForm(user, new File(["\x89PNG"], "diagram.md", { type: "" }));
    await user.click(screen.getByTestId("kb-upload"));

    expect(await screen.findByTestId("kb-error")).toHaveTextContent(
      "The TARS API answered 400: diagram.md: the file is named .md but it is a PNG image",
    );
    const row = await screen.findByTestId("kb-row-doc-9");
    expect(row).toHaveTextContent("failed");
    expect(within(row).getByTestId("kb-reason-doc-9")).toHaveTextContent("it is a PNG image");
    expect(within(row).queryByRole("button", { name: "Enable" })).not.toBeInTheDocument();
    expect(screen.queryByTestId("kb-upload-result")).not.toBeInTheDocument();
    expect(calls.map((c) => c.action ?? c.method)).toEqual(["kb_list", "kb_upload", "PUT", "kb_upload_complete", "kb_list"]);
  });

  test("Disable sends kb_update status=disabled and reloads the list", async () => {
    let disabled = false;
    const calls = mockApi((call) => {
      if (call.action === "kb_update") {
        disabled = true;
        return json({ document_id: call.json.document_id, status: call.json.status });
      }
      return listReply(disabled ? [{ ...DOCS[0], status: "disabled" }] : [DOCS[0]]);
    });
    render(<KnowledgeBasePage />);
    const row = await screen.findByTestId("kb-row-doc-1");
    await userEvent.setup().click(within(row).getByRole("button", { name: "Disable" }));

    expect(await within(row).findByRole("button", { name: "Enable" })).toBeInTheDocument();
    const update = calls.find((c) => c.action === "kb_update");
    expect(update.json).toEqual({ action: "kb_update", document_id: "doc-1", status: "disabled" });
    expect(calls.map((c) => c.action)).toEqual(["kb_list", "kb_update", "kb_list"]);
    signedPosts(calls);
  });

  test("Delete asks first, sends kb_delete, and sends nothing when the user cancels", async () => {
    let deleted = false;
    const calls = mockApi((call) => {
      if (call.action === "kb_delete") {
        deleted = true;
        return json({ deleted: true, document_id: call.json.document_id });
      }
      return listReply(deleted ? [DOCS[1]] : DOCS);
    });
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    render(<KnowledgeBasePage />);
    const row = await screen.findByTestId("kb-row-doc-1");
    const user = userEvent.setup();

    await user.click(within(row).getByRole("button", { name: "Delete" }));
    expect(confirm).toHaveBeenCalledWith("Delete refunds.md and its chunks?");
    expect(calls.map((c) => c.action)).toEqual(["kb_list"]);

    await user.click(within(row).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(screen.queryByTestId("kb-row-doc-1")).not.toBeInTheDocument());
    expect(calls.find((c) => c.action === "kb_delete").json).toEqual({ action: "kb_delete", document_id: "doc-1" });
    signedPosts(calls);
  });

  test("an unreachable API is a visible alert on the knowledge base page; Refresh recovers", async () => {
    let up = false;
    const calls = mockApi(() => {
      if (!up) throw new TypeError("NetworkError when attempting to fetch resource.");
      return listReply();
    });
    render(<KnowledgeBasePage />);
    expect(await screen.findByTestId("kb-error")).toHaveTextContent(
      "Cannot reach the TARS API at http://localhost:3000/api?action=kb_list",
    );
    up = true;
    await userEvent.setup().click(screen.getByTestId("kb-refresh"));
    expect(await screen.findByTestId("kb-row-doc-1")).toBeInTheDocument();
    expect(screen.queryByTestId("kb-error")).not.toBeInTheDocument();
    expect(calls.map((c) => c.action)).toEqual(["kb_list", "kb_list"]);
  });
});
