"""TARS MCP log server: CloudWatch Logs tools over MCP's streamable HTTP transport, plus GET /health.

Run: ``python server.py [--host 0.0.0.0] [--port 8000]`` (or MCP_HOST / MCP_PORT). The MCP
endpoint is ``/mcp``; the server is stateless and answers in plain JSON, so any streamable-HTTP
client (the SDK's, or the handler's small urllib one) can call it. AWS settings are boto3's
own (AWS_REGION, AWS_ENDPOINT_URL, the task role).
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Any

import anyio
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from starlette.requests import Request
from starlette.responses import JSONResponse

import cwlogs

TOOLS = ("list_log_groups", "search_logs", "error_summary")
_CLIENT: list[Any] = []


def logs_client() -> Any:
    if not _CLIENT:
        _CLIENT.append(boto3.client("logs", config=Config(
            connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 2})))
    return _CLIENT[0]


async def _run(fn, *args) -> dict:
    """Run a blocking CloudWatch query off the event loop; turn failures into tool errors."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except cwlogs.ToolInputError as err:
        raise ToolError(str(err)) from None
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise ToolError("log group not found") from None
        raise ToolError(f"CloudWatch Logs call failed: {code}") from None
    except BotoCoreError as err:
        raise ToolError(f"CloudWatch Logs not reachable: {type(err).__name__}") from None


def _now_ms() -> int:
    return int(time.time() * 1000)


def build(host: str = "127.0.0.1", port: int = 8000) -> FastMCP:
    mcp = FastMCP("tars-logs", host=host, port=port, stateless_http=True, json_response=True,
                  instructions="CloudWatch Logs of the TARS services: list groups, search, summarise errors.")
    prefix_default = os.environ.get("LOG_GROUP_PREFIX", "/ecs/")

    @mcp.tool()
    async def list_log_groups(prefix: str = prefix_default) -> dict:
        """List CloudWatch log groups whose name starts with `prefix` (default: the services' /ecs/)."""
        groups = await _run(cwlogs.list_log_groups, logs_client(), prefix)
        return {"prefix": prefix, "log_groups": groups}

    @mcp.tool()
    async def search_logs(log_group: str, pattern: str = "", since: str = "1h", limit: int = 100) -> dict:
        """Events of `log_group` matching the CloudWatch filter `pattern` since `since` (30m, 1h, 2d, today)."""
        return await _run(cwlogs.search_logs, logs_client(), log_group, pattern, since, limit, _now_ms())

    @mcp.tool()
    async def error_summary(service: str = "", log_group: str = "", since: str = "1h") -> dict:
        """Error lines of a service (or a log group) since `since`, grouped by message with counts."""
        if bool(service) == bool(log_group):
            raise ToolError("give exactly one of service or log_group")
        group = log_group or f"{prefix_default}{service}"
        return await _run(cwlogs.error_summary, logs_client(), group, since, _now_ms())

    @mcp.custom_route("/health", methods=["GET"])
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "server": "tars-logs", "tools": list(TOOLS)})

    return mcp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("MCP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MCP_PORT", "8000")))
    args = parser.parse_args(argv)
    build(args.host, args.port).run(transport="streamable-http")


if __name__ == "__main__":
    main()
