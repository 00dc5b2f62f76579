// The TARS API client: one endpoint, the action in the JSON body (POST) or the query (GET).
//
// Every reply is JSON; an error reply is {"error": "..."} with a 4xx/5xx status. POST bodies
// carry `x-amz-content-sha256` (hex SHA-256 of the exact body bytes) because CloudFront in
// front of a Lambda Function URL with origin access control rejects unsigned payloads.

const DEFAULT_TIMEOUT_MS = 60_000;
// The signed-in user's access token travels in this header: CloudFront's origin access control
// signs the request to the Function URL with its own Authorization header.
export const TOKEN_HEADER = "x-tars-token";

let tokenProvider = null; // async () => access token, or null (no sign-in)
let onUnauthorized = null; // (ApiError) => void: the API answered 401

/** How the API client gets the token, and who hears about a 401 (App sets both once signed in). */
export function setApiAuth(provider, unauthorized) {
  tokenProvider = provider;
  onUnauthorized = unauthorized;
}

export class ApiError extends Error {
  constructor(message, { status = 0, kind = "api" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.kind = kind; // "api" (the API answered an error), "network", "timeout", "upload"
  }
}

/** The API base: VITE_API_ENDPOINT at build time, else this site's own /api. */
export function apiBase() {
  const configured = (import.meta.env.VITE_API_ENDPOINT || "").trim();
  return configured || "/api";
}

/** Absolute URL of the API with the given query parameters (empty values are left out). */
export function apiUrl(params = {}) {
  const url = new URL(apiBase(), window.location.href);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url.toString();
}

/** Hex SHA-256 of a UTF-8 string, or null where Web Crypto is unavailable (plain http off localhost). */
export async function sha256Hex(text) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function withToken(headers) {
  if (!tokenProvider) return headers;
  let token;
  try {
    token = await tokenProvider();
  } catch {
    token = null;
  }
  if (!token) {
    const err = new ApiError("Your session has ended: sign in again.", { status: 401, kind: "auth" });
    onUnauthorized?.(err);
    throw err;
  }
  return { ...headers, [TOKEN_HEADER]: token };
}

async function send(url, init, timeoutMs) {
  init = { ...init, headers: await withToken(init.headers) };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(url, { ...init, signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted) {
      throw new ApiError(`The TARS API did not answer within ${Math.round(timeoutMs / 1000)} s (${url}).`, {
        kind: "timeout",
      });
    }
    throw new ApiError(`Cannot reach the TARS API at ${url}: ${err && err.message ? err.message : err}`, {
      kind: "network",
    });
  } finally {
    clearTimeout(timer);
  }
  return readReply(response);
}

async function readReply(response) {
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    // {"error"} from the handler; {"message"}/{"Message"} from the Function URL or CloudFront itself.
    const message = data && [data.error, data.message, data.Message].find((m) => typeof m === "string" && m);
    const detail = message || "no error message in the reply";
    if (response.status === 401 && tokenProvider) {
      const err = new ApiError(`Your session is no longer accepted (${detail}): sign in again.`, { status: 401, kind: "auth" });
      onUnauthorized?.(err);
      throw err;
    }
    if (response.status === 403 && data && typeof data.code === "string") {
      throw new ApiError(`Not allowed: ${detail}`, { status: 403, kind: "forbidden" });
    }
    throw new ApiError(`The TARS API answered ${response.status}: ${detail}`, { status: response.status });
  }
  if (data === null || typeof data !== "object") {
    throw new ApiError(`The TARS API answered ${response.status} with a reply that is not JSON.`, {
      status: response.status,
    });
  }
  return data;
}

/** GET ?action=<action>&<params>. */
export function apiGet(action, params = {}, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  return send(apiUrl({ action, ...params }), { method: "GET", headers: { Accept: "application/json" } }, timeoutMs);
}

/** POST {"action": <action>, ...fields} with the body's SHA-256 in x-amz-content-sha256. */
export async function apiPost(action, fields = {}, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const body = JSON.stringify({ action, ...fields });
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const hash = await sha256Hex(body);
  if (hash) headers["x-amz-content-sha256"] = hash;
  return send(apiUrl(), { method: "POST", headers, body }, timeoutMs);
}

/**
 * PUT a file to a presigned S3 URL, reporting bytes sent through `onProgress(loaded, total)`
 * (XMLHttpRequest: fetch cannot report upload progress). The URL's signature covers the
 * Content-Type kb_upload named (`contentType`) and, as the UI declares the file's size, its
 * Content-Length (the browser sets it from the file): S3 refuses any other. No x-amz-* header
 * and no token is added: S3 rejects unsigned x-amz-* headers, and the token is for the API only.
 */
export function putToPresignedUrl(uploadUrl, file, { contentType, timeoutMs = 5 * 60_000, onProgress = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", uploadUrl);
    xhr.timeout = timeoutMs;
    xhr.setRequestHeader("Content-Type", contentType || file.type || "text/plain");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
        return;
      }
      const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || "");
      reject(
        new ApiError(
          `The storage bucket refused the upload of ${file.name} (${xhr.status}${code ? ` ${code[1]}` : ""}).`,
          { status: xhr.status, kind: "upload" },
        ),
      );
    };
    xhr.onerror = () =>
      reject(new ApiError(`Cannot upload ${file.name} to the storage bucket (network error or CORS refusal).`, { kind: "upload" }));
    xhr.ontimeout = () =>
      reject(new ApiError(`The upload of ${file.name} did not finish within ${Math.round(timeoutMs / 1000)} s.`, { kind: "timeout" }));
    xhr.send(file);
  });
}
