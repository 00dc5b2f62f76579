import { apiPost, putToPresignedUrl, ApiError } from "./api.js";

// The handler takes the file's format from its extension, and doc_type as the document's
// category (lower-case letters, digits and '-', up to 40; "runbook" when absent).
export const ALLOWED_EXTENSIONS = ["md", "markdown", "txt", "pdf"];
export const DOC_TYPES = ["runbook", "architecture", "troubleshooting", "reference", "postmortem"];
export const UPLOAD_STEPS = 3;
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024; // the handler's limit (kb.MAX_FILE)

export function fileExtension(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

/** Split "a, b,,c " into ["a", "b", "c"]. */
export function parseContext(text) {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The knowledge base upload: kb_upload (document record + presigned URL) → PUT the file →
 * kb_upload_complete (parse, chunk, embed). `onProgress({step, of, fraction, label})` reports each
 * stage, and the bytes sent during the PUT (`fraction` of step 2).
 * Returns the kb_upload_complete reply ({document_id, status, chunk_count}). An error after
 * kb_upload carries `documentId`: the document exists (pending, or failed with its reason).
 */
export async function uploadDocument(file, meta, onProgress = () => {}) {
  const ext = fileExtension(file.name);
  if (!ALLOWED_EXTENSIONS.includes(ext)) {
    throw new ApiError(
      `${file.name}: only ${ALLOWED_EXTENSIONS.map((e) => "." + e).join(", ")} files can go into the knowledge base.`,
      { kind: "input" },
    );
  }
  if (file.size > MAX_UPLOAD_BYTES || file.size === 0) {
    throw new ApiError(
      file.size ? `${file.name} is ${formatBytes(file.size)}: the knowledge base takes files up to 10 MB; split it.` : `${file.name} is empty.`,
      { kind: "input" },
    );
  }
  onProgress({ step: 1, of: UPLOAD_STEPS, label: "Registering the document" });
  const created = await apiPost("kb_upload", {
    service_name: meta.service_name,
    feature_name: meta.feature_name,
    ai_context: meta.ai_context,
    doc_type: meta.doc_type,
    file_name: file.name,
    file_size: file.size, // signed into the upload URL: S3 refuses another length
  });
  if (!created.upload_url || !created.document_id) {
    throw new ApiError("The TARS API answered kb_upload without an upload_url or document_id.");
  }
  const uploading = (loaded, total) =>
    onProgress({
      step: 2,
      of: UPLOAD_STEPS,
      fraction: total ? loaded / total : 0,
      label: `Uploading ${file.name}: ${formatBytes(loaded)} of ${formatBytes(total)}`,
    });
  try {
    uploading(0, file.size);
    const contentType = created.upload_headers && created.upload_headers["Content-Type"];
    await putToPresignedUrl(created.upload_url, file, { contentType, onProgress: uploading });
    onProgress({ step: 3, of: UPLOAD_STEPS, label: "Indexing (parse, chunk, embed)" });
    return await apiPost("kb_upload_complete", { document_id: created.document_id }, { timeoutMs: 120_000 });
  } catch (err) {
    err.documentId = created.document_id;
    throw err;
  }
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
