"""A minimal MCP client: JSON-RPC 2.0 over the streamable HTTP transport, with urllib.

Enough for the handler to call tools on the TARS MCP log server (initialize, initialized,
tools/call); replies may come as plain JSON or as a server-sent-event stream. Everything has
one deadline: past it, or on any transport/protocol error, McpUnavailable is raised and the
caller falls back to CloudWatch Logs directly.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

PROTOCOL_VERSION = "2025-06-18"


class McpUnavailable(Exception):
    pass


class McpClient:
    def __init__(self, endpoint: str, timeout: float):
        self.endpoint = endpoint.rstrip("/") if endpoint.rstrip("/").endswith("/mcp") else endpoint.rstrip("/") + "/mcp"
        self.deadline = time.monotonic() + timeout
        self.session_id: str | None = None
        self.protocol: str | None = None
        self._next_id = 0

    # ------------------------------------------------------------------ public
    def call_tool(self, name: str, arguments: dict) -> Any:
        if self.protocol is None:
            self._initialize()
        result = self._request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            text = " ".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")
            raise McpUnavailable(f"tool {name} failed: {text[:200]}")
        for item in result.get("content", []):
            if item.get("type") == "text":
                try:
                    return json.loads(item["text"])
                except ValueError:
                    break
        if "structuredContent" in result:
            return result["structuredContent"]
        raise McpUnavailable(f"tool {name} returned no JSON content")

    # ---------------------------------------------------------------- protocol
    def _initialize(self) -> None:
        result = self._request("initialize", {
            "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
            "clientInfo": {"name": "tars-handler", "version": "1.0"}})
        self.protocol = str(result.get("protocolVersion") or PROTOCOL_VERSION)
        self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _request(self, method: str, params: dict) -> dict:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        reply = self._post(message)
        if reply is None:
            raise McpUnavailable(f"no reply to {method}")
        if "error" in reply:
            raise McpUnavailable(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result") or {}

    def _post(self, message: dict) -> dict | None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise McpUnavailable("MCP server did not answer in time")
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol:
            headers["MCP-Protocol-Version"] = self.protocol
        req = urllib.request.Request(self.endpoint, data=json.dumps(message).encode(), headers=headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=remaining) as resp:
                self.session_id = resp.headers.get("Mcp-Session-Id") or self.session_id
                body = resp.read().decode("utf-8", "replace")
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            raise McpUnavailable(f"MCP server answered HTTP {err.code}") from None
        except (OSError, ValueError) as err:  # URLError, timeouts, refused connections
            raise McpUnavailable(f"MCP server not reachable: {err}") from None
        if "id" not in message:
            return None
        return _parse(body, ctype, message["id"])


def _parse(body: str, content_type: str, want_id: int) -> dict:
    candidates: list[str] = []
    if "text/event-stream" in content_type:
        for event in body.replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(line[5:].lstrip() for line in event.split("\n") if line.startswith("data:"))
            if data:
                candidates.append(data)
    else:
        candidates.append(body)
    for data in candidates:
        try:
            msg = json.loads(data)
        except ValueError:
            continue
        if isinstance(msg, dict) and msg.get("id") == want_id:
            return msg
    raise McpUnavailable("MCP server reply had no JSON-RPC response")
