// The API mocked at the fetch boundary: every request is recorded (URL, method, headers,
// raw body, parsed JSON body) and answered by the test's handler. The presigned S3 PUT goes
// through XMLHttpRequest (for upload progress), so a fake XMLHttpRequest routes it to the same
// handler and the same call list; it reports half the bytes sent before the handler answers.
import { createHash } from "node:crypto";
import { vi } from "vitest";

export function json(data, status = 200) {
  return new Response(JSON.stringify(data), { status, headers: { "Content-Type": "application/json" } });
}

export function sha256(text) {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Install a fetch mock; `handler(call)` returns a Response (or throws to simulate a network error). */
export function mockApi(handler) {
  const calls = [];
  const fetchMock = vi.fn(async (input, init = {}) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(Object.entries(init.headers || {}).map(([k, v]) => [k.toLowerCase(), v]));
    const call = {
      url,
      action: url.searchParams.get("action"),
      method: init.method || "GET",
      headers,
      body: init.body,
      json: null,
    };
    if (typeof init.body === "string") {
      call.json = JSON.parse(init.body);
      call.action = call.json.action;
    }
    calls.push(call);
    return handler(call);
  });
  vi.stubGlobal("fetch", fetchMock);
  vi.stubGlobal("XMLHttpRequest", fakeXhrClass(handler, calls));
  return calls;
}

function fakeXhrClass(handler, calls) {
  return class FakeXMLHttpRequest {
    constructor() {
      this.upload = { onprogress: null };
      this.headers = {};
      this.status = 0;
      this.responseText = "";
    }
    open(method, url) {
      this.method = method;
      this.url = new URL(url);
    }
    setRequestHeader(name, value) {
      this.headers[name.toLowerCase()] = value;
    }
    async send(body) {
      const call = { url: this.url, action: null, method: this.method, headers: this.headers, body, json: null };
      calls.push(call);
      const total = body && typeof body.size === "number" ? body.size : 0;
      this.upload.onprogress?.({ lengthComputable: true, loaded: Math.floor(total / 2), total });
      let response;
      try {
        response = await handler(call);
      } catch {
        this.onerror?.();
        return;
      }
      this.status = response.status;
      this.responseText = await response.text();
      this.onload?.();
    }
  };
}

/** A promise with its resolve exposed, to hold a reply while the test looks at the pending UI. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
