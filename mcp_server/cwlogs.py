"""CloudWatch Logs queries behind the MCP tools (plain functions over a boto3 logs client).

Errors are grouped exactly as the Lambda handler's direct path groups them
(lambda_src/log_search.py); tests/integration/test_mcp_handler.py checks both agree.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

FILTER_PATTERN = "?ERROR ?FATAL ?CRITICAL ?Exception"
_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|CRITICAL)\b|\w+(Exception|Error)\b")
_PREFIX = re.compile(
    r"^\s*(\d{4}-\d\d-\d\d[T ][\d:.,]+Z?\s+)?((ERROR|FATAL|CRITICAL|WARN(ING)?|INFO|DEBUG)\s+)?"
    r"(\[[^\]]*\]\s+)?(req(uest)?([-_]?id)?=\S+\s+)?", re.I)
_HEX_ID = re.compile(r"\b[0-9a-f]{6,}\b|\b[0-9a-f]{8}-[0-9a-f-]{27}\b", re.I)
_NUMBER = re.compile(r"\d+(\.\d+)?")
_SINCE = re.compile(r"^\s*(\d+)\s*(m|min|minutes?|h|hours?|d|days?)\s*$", re.I)
MAX_SINCE_MINUTES = 14 * 24 * 60
MAX_EVENTS = 5000
SEARCH_BUDGET_S = 8.0


class ToolInputError(ValueError):
    """Bad tool arguments (the MCP reply is an error result with this message)."""


def since_ms(since: str, now_ms: int) -> int:
    """'30m', '1h', '2d' (or 'today') → the start time in epoch milliseconds."""
    text = (since or "1h").strip().lower()
    if text == "today":
        day = datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return int(day.timestamp() * 1000)
    m = _SINCE.match(text)
    if not m:
        raise ToolInputError(f"since must look like 30m, 1h or 2d (got {since!r})")
    minutes = int(m.group(1)) * {"m": 1, "h": 60, "d": 1440}[m.group(2)[0]]
    if not 1 <= minutes <= MAX_SINCE_MINUTES:
        raise ToolInputError("since must be between 1 minute and 14 days")
    return now_ms - minutes * 60_000


def is_error(message: str) -> bool:
    return bool(_ERROR_LINE.search(message))


def normalise(message: str) -> str:
    text = _PREFIX.sub("", message.strip(), count=1)
    text = _HEX_ID.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return re.sub(r"\s+", " ", text)[:200]


def list_log_groups(logs: Any, prefix: str) -> list[dict]:
    out = []
    kwargs = {"logGroupNamePrefix": prefix} if prefix else {}
    for page in logs.get_paginator("describe_log_groups").paginate(**kwargs):
        out += [{"name": g["logGroupName"], "stored_bytes": g.get("storedBytes", 0),
                 "retention_days": g.get("retentionInDays")} for g in page.get("logGroups", [])]
    return sorted(out, key=lambda g: g["name"])


def filter_events(logs: Any, group: str, start_ms: int, end_ms: int, pattern: str, limit: int,
                  only_errors: bool = False) -> tuple[list[dict], bool]:
    deadline = time.monotonic() + SEARCH_BUDGET_S
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "endTime": end_ms,
                              "limit": min(limit, 10000)}
    if pattern:
        kwargs["filterPattern"] = pattern
    events: list[dict] = []
    while True:
        page = logs.filter_log_events(**kwargs)
        events += [e for e in page.get("events", []) if not only_errors or is_error(e.get("message", ""))]
        token = page.get("nextToken")
        if len(events) >= limit or time.monotonic() > deadline:
            return events[:limit], bool(token) or len(events) > limit
        if not token or token == kwargs.get("nextToken"):
            return events, False
        kwargs["nextToken"] = token


def search_logs(logs: Any, group: str, pattern: str, since: str, limit: int, now_ms: int) -> dict:
    if not 1 <= limit <= 1000:
        raise ToolInputError("limit must be between 1 and 1000")
    events, truncated = filter_events(logs, group, since_ms(since, now_ms), now_ms, pattern, limit)
    return {"log_group": group, "pattern": pattern, "count": len(events), "truncated": truncated,
            "events": [{"timestamp": e["timestamp"], "log_stream": e.get("logStreamName"),
                        "message": e.get("message", "").rstrip()} for e in events]}


def error_summary(logs: Any, group: str, since: str, now_ms: int, top: int = 5) -> dict:
    events, truncated = filter_events(logs, group, since_ms(since, now_ms), now_ms, FILTER_PATTERN, MAX_EVENTS,
                                      only_errors=True)
    counts: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for event in events:
        key = normalise(event.get("message", ""))
        counts[key] += 1
        samples.setdefault(key, event.get("message", "").strip()[:500])
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"log_group": group, "error_count": len(events), "truncated": truncated,
            "top_errors": [{"message": m, "count": n, "log_group": group, "sample": samples[m]} for m, n in ranked]}
