import { useCallback, useEffect, useRef, useState } from "react";
import { apiGet, apiPost } from "../api.js";
import { ALLOWED_EXTENSIONS, DOC_TYPES, UPLOAD_STEPS, parseContext, uploadDocument } from "../kbUpload.js";
import ErrorAlert from "../ErrorAlert.jsx";
import { useSession } from "../session.js";

const STATUSES = ["", "active", "pending", "disabled", "failed"];

function UploadForm({ onUploaded, onError }) {
  const fileInput = useRef(null);
  const [file, setFile] = useState(null);
  const [serviceName, setServiceName] = useState("");
  const [featureName, setFeatureName] = useState("");
  const [docType, setDocType] = useState(DOC_TYPES[0]);
  const [context, setContext] = useState("");
  const [progress, setProgress] = useState(null);
  const [result, setResult] = useState("");

  const busy = progress !== null;
  const ready = file && serviceName.trim() && featureName.trim() && !busy;

  async function submit(event) {
    event.preventDefault();
    if (!ready) return;
    onError("");
    setResult("");
    try {
      const done = await uploadDocument(
        file,
        {
          service_name: serviceName.trim(),
          feature_name: featureName.trim(),
          ai_context: parseContext(context),
          doc_type: docType,
        },
        setProgress,
      );
      setResult(`${file.name} is ${done.status}: ${done.chunk_count} chunk${done.chunk_count === 1 ? "" : "s"} indexed.`);
      setFile(null);
      if (fileInput.current) fileInput.current.value = "";
      onUploaded();
    } catch (err) {
      onError(err.message);
      if (err.documentId) onUploaded(); // the document is listed: pending, or failed with its reason
    } finally {
      setProgress(null);
    }
  }

  return (
    <form className="card form" onSubmit={submit} aria-label="Upload a document">
      <h3>Upload a document</h3>
      <div className="row">
        <label>
          File ({ALLOWED_EXTENSIONS.map((e) => "." + e).join(", ")})
          <input
            ref={fileInput}
            type="file"
            data-testid="kb-file"
            accept={ALLOWED_EXTENSIONS.map((e) => "." + e).join(",")}
            onChange={(e) => setFile(e.target.files[0] || null)}
          />
        </label>
        <label>
          Service
          <input data-testid="kb-service" value={serviceName} onChange={(e) => setServiceName(e.target.value)} placeholder="payment-service" />
        </label>
        <label>
          Feature
          <input data-testid="kb-feature" value={featureName} onChange={(e) => setFeatureName(e.target.value)} placeholder="refunds" />
        </label>
      </div>
      <div className="row">
        <label>
          Document type
          <select data-testid="kb-doc-type" value={docType} onChange={(e) => setDocType(e.target.value)}>
            {DOC_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="grow">
          AI context (comma separated)
          <input data-testid="kb-context" value={context} onChange={(e) => setContext(e.target.value)} placeholder="timeouts, retries" />
        </label>
        <button type="submit" data-testid="kb-upload" disabled={!ready}>
          {busy ? "Uploading…" : "Upload"}
        </button>
      </div>
      {busy && (
        <div className="progress" role="status" data-testid="kb-progress">
          <progress max={UPLOAD_STEPS} value={progress.step - 1 + (progress.fraction || 0)} aria-label="Upload progress" />
          <span>
            Step {progress.step}/{progress.of}: {progress.label}
          </span>
        </div>
      )}
      {result && (
        <p className="success" role="status" data-testid="kb-upload-result">
          {result}
        </p>
      )}
    </form>
  );
}

export default function KnowledgeBasePage() {
  const { canWrite } = useSession();
  const [documents, setDocuments] = useState([]);
  const [page, setPage] = useState({ total: 0, nextToken: null });
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");
  const [serviceDraft, setServiceDraft] = useState("");
  const [serviceFilter, setServiceFilter] = useState("");
  const [statusFilter, setStatusFilter] = useState("");
  const [pendingId, setPendingId] = useState(null);

  // Only the latest list request may update the page (filters can change while one is in flight).
  const latest = useRef(0);
  // The list comes a page at a time (kb_list's limit/next_token); "More" appends the next page.
  const load = useCallback(async (nextToken = null) => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const data = await apiGet("kb_list", { service_name: serviceFilter.trim(), status: statusFilter, next_token: nextToken });
      if (mine !== latest.current) return;
      setDocuments((shown) => (nextToken ? [...shown, ...(data.documents || [])] : data.documents || []));
      setPage({ total: data.total ?? (data.documents || []).length, nextToken: data.next_token || null });
    } catch (err) {
      if (mine === latest.current) setError(err.message);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }, [serviceFilter, statusFilter]);

  useEffect(() => {
    load();
  }, [load]);
  const reload = useCallback(() => load(), [load]);

  async function change(doc, action, fields, confirmText) {
    if (confirmText && !window.confirm(confirmText)) return;
    setError("");
    setPendingId(doc.document_id);
    try {
      await apiPost(action, { document_id: doc.document_id, ...fields });
      await reload();
    } catch (err) {
      setError(err.message);
    } finally {
      setPendingId(null);
    }
  }

  return (
    <div className="page">
      <h2>Knowledge base</h2>
      {canWrite && <UploadForm onUploaded={reload} onError={setError} />}
      <ErrorAlert message={error} testId="kb-error" onDismiss={() => setError("")} />
      <section className="card">
        <form
          className="row"
          aria-label="Filter documents"
          onSubmit={(e) => {
            e.preventDefault();
            setServiceFilter(serviceDraft);
          }}
        >
          <h3 className="grow" data-testid="kb-count">
            Documents ({documents.length < page.total ? `${documents.length} of ${page.total}` : documents.length})
          </h3>
          <label>
            Service
            <input
              data-testid="kb-filter-service"
              value={serviceDraft}
              onChange={(e) => setServiceDraft(e.target.value)}
              onBlur={() => setServiceFilter(serviceDraft)}
            />
          </label>
          <label>
            Status
            <select data-testid="kb-filter-status" value={statusFilter} onChange={(e) => setStatusFilter(e.target.value)}>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s || "any"}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            data-testid="kb-refresh"
            onClick={() => {
              setError("");
              reload();
            }}
          >
            Refresh
          </button>
        </form>
        {loading && <p className="muted">Loading…</p>}
        {!loading && documents.length === 0 && <p className="muted">No documents.</p>}
        {documents.length > 0 && (
          <table aria-label="Documents" data-testid="kb-table">
            <thead>
              <tr>
                <th>File</th>
                <th>Service</th>
                <th>Feature</th>
                <th>Type</th>
                <th>Status</th>
                <th className="num">Chunks</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {documents.map((d) => (
                <tr key={d.document_id} data-testid={`kb-row-${d.document_id}`}>
                  <td>{d.file_name}</td>
                  <td>{d.service_name}</td>
                  <td>{d.feature_name}</td>
                  <td>{d.doc_type}</td>
                  <td>
                    <span className={`badge ${d.status === "active" ? "ok" : d.status === "failed" ? "bad" : "muted"}`}>
                      {d.status}
                    </span>
                    {d.status_reason && (
                      <div className="muted small" data-testid={`kb-reason-${d.document_id}`}>
                        {d.status_reason}
                      </div>
                    )}
                  </td>
                  <td className="num">{d.chunk_count ?? 0}</td>
                  <td>{d.created_at}</td>
                  <td className="actions">
                    {canWrite && d.status === "active" && (
                      <button type="button" disabled={pendingId === d.document_id} onClick={() => change(d, "kb_update", { status: "disabled" })}>
                        Disable
                      </button>
                    )}
                    {canWrite && d.status === "disabled" && (
                      <button type="button" disabled={pendingId === d.document_id} onClick={() => change(d, "kb_update", { status: "active" })}>
                        Enable
                      </button>
                    )}
                    {canWrite && (
                      <button
                        type="button"
                        className="danger"
                        disabled={pendingId === d.document_id}
                        onClick={() => change(d, "kb_delete", {}, `Delete ${d.file_name} and its chunks?`)}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.nextToken && (
          <button type="button" data-testid="kb-more" disabled={loading} onClick={() => load(page.nextToken)}>
            More documents
          </button>
        )}
      </section>
    </div>
  );
}
