"""The MCP server as a real process on 127.0.0.1 (against the moto server), called over HTTP by the
SDK's streamable-HTTP client and by the handler's own small client (with the same findings as the
handler's direct CloudWatch path)."""
import asyncio
import json
import time
import urllib.request

import boto3
import pytest

from tests.support.handler import call, configure, create_resources, handler_module, lambda_module
from bench.scenarios.mcp_server import start_server, stop_server


@pytest.fixture(scope="module")
def mcp_url(moto_server):
    from tars_tasks.local.processes import free_port

    port = free_port()
    proc = start_server(port, moto_server)
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


@pytest.fixture
def seeded(endpoint):
    return lambda_module("sample_data").seed(boto3.client("logs"), now_ms=int(time.time() * 1000))


def test_health(mcp_url):
    with urllib.request.urlopen(mcp_url + "/health", timeout=5) as resp:
        assert resp.status == 200
        assert json.loads(resp.read())["tools"] == ["list_log_groups", "search_logs", "error_summary"]


def test_sdk_client_lists_tools_and_calls_error_summary(mcp_url, seeded):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def session_calls():
        async with streamable_http_client(mcp_url + "/mcp") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = sorted(t.name for t in (await session.list_tools()).tools)
                result = await session.call_tool("error_summary", {"service": "payment-service", "since": "1h"})
                groups = await session.call_tool("list_log_groups", {})
                return tools, result, groups

    tools, result, groups = asyncio.run(session_calls())
    assert tools == ["error_summary", "list_log_groups", "search_logs"]
    assert not result.isError
    summary = json.loads(result.content[0].text)
    assert summary["error_count"] == 25 and summary["top_errors"][0]["count"] == 18
    names = [g["name"] for g in json.loads(groups.content[0].text)["log_groups"]]
    assert names == sorted(seeded)


def test_handler_chat_through_mcp_gives_the_same_findings_as_direct(mcp_url, seeded, monkeypatch):
    configure(monkeypatch, MCP_ENDPOINT=mcp_url)
    create_resources()
    h = handler_module()
    via_mcp = call(h, "chat", question="Are there any errors in the last hour?")[1]
    monkeypatch.setenv("MCP_ENDPOINT", "")
    direct = call(h, "chat", question="Are there any errors in the last hour?")[1]
    assert via_mcp["findings"].pop("source") == "mcp" and direct["findings"].pop("source") == "cloudwatch"
    assert via_mcp["findings"] == direct["findings"]
    assert via_mcp["findings"]["error_count"] == 33 and via_mcp["answer"] == direct["answer"]


def test_handler_mcp_client_reports_tool_errors(mcp_url, seeded):
    mcp_client = lambda_module("mcp_client")
    client = mcp_client.McpClient(mcp_url, timeout=10)
    assert client.call_tool("error_summary", {"log_group": "/ecs/order-service", "since": "1h"})["error_count"] == 8
    with pytest.raises(mcp_client.McpUnavailable, match="exactly one of service or log_group"):
        client.call_tool("error_summary", {})


def test_the_image_healthcheck_command_passes_on_a_live_server_and_fails_on_a_dead_one(mcp_url):
    import os
    import subprocess
    import sys

    from tars_tasks.local.processes import free_port
    from tests.integration.test_mcp_dockerfile import healthcheck_command

    cmd = [sys.executable if c == "python" else c for c in healthcheck_command()]
    live = subprocess.run(cmd, env={**os.environ, "MCP_PORT": mcp_url.rsplit(":", 1)[1]}, timeout=20)
    dead = subprocess.run(cmd, env={**os.environ, "MCP_PORT": str(free_port())}, timeout=20,
                          stderr=subprocess.DEVNULL)
    assert live.returncode == 0 and dead.returncode != 0
