"""The MCP server's tools against moto (in-process), called through FastMCP as a client would."""
import asyncio
import json
import time

import boto3
import pytest

from tests.support.handler import lambda_module
from bench.scenarios.mcp_server import server_module

@pytest.fixture
def mcp(aws):
    # seeded at the test's own time (not at import): "since 30m" must hold the burst however long
    # the suite ran before this test
    lambda_module("sample_data").seed(boto3.client("logs"), now_ms=int(time.time() * 1000))
    return server_module().build()


def call(mcp, name, **args):
    blocks = asyncio.run(mcp.call_tool(name, args))
    content = blocks[0] if isinstance(blocks, tuple) else blocks
    return json.loads(content[0].text)


def test_list_log_groups_by_prefix(mcp):
    boto3.client("logs").create_log_group(logGroupName="/aws/lambda/other")
    got = call(mcp, "list_log_groups")
    assert [g["name"] for g in got["log_groups"]] == ["/ecs/inventory-service", "/ecs/order-service",
                                                      "/ecs/payment-service"]
    assert [g["name"] for g in call(mcp, "list_log_groups", prefix="/aws/")["log_groups"]] == ["/aws/lambda/other"]


def test_search_logs_with_a_pattern(mcp):
    got = call(mcp, "search_logs", log_group="/ecs/payment-service", pattern="PaymentProcessorException", since="1h")
    assert got["count"] == 18 and not got["truncated"]
    assert all("PaymentProcessorException" in e["message"] for e in got["events"])
    limited = call(mcp, "search_logs", log_group="/ecs/payment-service", since="1h", limit=10)
    assert limited["count"] == 10 and limited["truncated"]


def test_error_summary_by_service_or_log_group(mcp):
    by_service = call(mcp, "error_summary", service="payment-service", since="1h")
    assert by_service["log_group"] == "/ecs/payment-service" and by_service["error_count"] == 25
    assert [(e["count"], e["message"].split(":")[0]) for e in by_service["top_errors"]] == [
        (18, "PaymentProcessorException"), (7, "CONNECTION_TIMEOUT")]
    by_group = call(mcp, "error_summary", log_group="/ecs/order-service", since="30m")
    assert by_group["error_count"] == 8
    assert call(mcp, "error_summary", service="inventory-service")["error_count"] == 0


@pytest.mark.parametrize("name, args, message", [
    ("error_summary", {}, "exactly one of service or log_group"),
    ("error_summary", {"service": "a", "log_group": "/ecs/a"}, "exactly one"),
    ("error_summary", {"service": "payment-service", "since": "forever"}, "since must look like"),
    ("search_logs", {"log_group": "/ecs/nope"}, "log group not found"),
    ("search_logs", {"log_group": "/ecs/payment-service", "limit": 0}, "limit"),
])
def test_bad_tool_input_is_a_tool_error(mcp, name, args, message):
    from mcp.server.fastmcp.exceptions import ToolError

    with pytest.raises(ToolError, match=message):
        asyncio.run(mcp.call_tool(name, args))
