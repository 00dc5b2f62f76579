// The API mocked at the fetch boundary: every request is recorded (URL, method, headers,
// raw body, parsed JSON body) and answered by the test's handler.
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
  return calls;
}

/** A promise with its resolve exposed, to hold a reply while the test looks at the pending UI. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
