"""Error lines in CloudWatch Logs, grouped into findings (the direct path, without MCP).

The MCP server's ``error_summary`` tool groups errors the same way (mcp_server/cwlogs.py);
tests/integration/test_mcp_handler.py checks both paths give the same findings.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

# CloudWatch filter syntax: any of these terms. The regex re-checks each line (case-sensitive
# levels, any *Exception/*Error class name).
FILTER_PATTERN = "?ERROR ?FATAL ?CRITICAL ?Exception"
_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|CRITICAL)\b|\w+(Exception|Error)\b")
_PREFIX = re.compile(
    r"^\s*(\d{4}-\d\d-\d\d[T ][\d:.,]+Z?\s+)?((ERROR|FATAL|CRITICAL|WARN(ING)?|INFO|DEBUG)\s+)?"
    r"(\[[^\]]*\]\s+)?(req(uest)?([-_]?id)?=\S+\s+)?", re.I)
_HEX_ID = re.compile(r"\b[0-9a-f]{6,}\b|\b[0-9a-f]{8}-[0-9a-f-]{27}\b", re.I)
_NUMBER = re.compile(r"\d+(\.\d+)?")
MAX_EVENTS_PER_GROUP = 5000


def is_error(message: str) -> bool:
    return bool(_ERROR_LINE.search(message))


def normalise(message: str) -> str:
    """The message with its timestamp, level, ids and numbers removed, so repeats group."""
    text = _PREFIX.sub("", message.strip(), count=1)
    text = _HEX_ID.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return re.sub(r"\s+", " ", text)[:200]


def list_groups(logs: Any, prefix: str) -> list[str]:
    names: list[str] = []
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
        names += [g["logGroupName"] for g in page.get("logGroups", [])]
    return sorted(names)


def error_events(logs: Any, group: str, start_ms: int, end_ms: int, *, deadline: float | None = None,
                 pattern: str = FILTER_PATTERN, limit: int = MAX_EVENTS_PER_GROUP) -> tuple[list[dict], bool]:
    """Error events of ``group`` in [start_ms, end_ms]; (events, truncated)."""
    events: list[dict] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "endTime": end_ms,
                              "filterPattern": pattern, "limit": min(limit, 10000)}
    while True:
        page = logs.filter_log_events(**kwargs)
        events += [e for e in page.get("events", []) if is_error(e.get("message", ""))]
        token = page.get("nextToken")
        if len(events) >= limit or (deadline is not None and time.monotonic() > deadline):
            return events[:limit], bool(token) or len(events) > limit
        if not token or token == kwargs.get("nextToken"):
            return events, False
        kwargs["nextToken"] = token


def summarise(group: str, events: list[dict], top: int = 5) -> dict:
    """``{"log_group", "error_count", "top_errors": [{"message", "count", "log_group", "sample"}]}``"""
    counts: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for event in events:
        key = normalise(event.get("message", ""))
        counts[key] += 1
        samples.setdefault(key, event.get("message", "").strip()[:500])
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"log_group": group, "error_count": len(events),
            "top_errors": [{"message": m, "count": n, "log_group": group, "sample": samples[m]} for m, n in ranked]}


def merge(summaries: list[dict], searched: list[str], top: int = 5) -> dict:
    """Per-group summaries → the chat's findings."""
    errors = [e for s in summaries for e in s.get("top_errors", [])]
    errors.sort(key=lambda e: (-e["count"], e["log_group"], e["message"]))
    return {
        "error_count": sum(int(s.get("error_count", 0)) for s in summaries),
        "log_groups": list(searched),
        "by_log_group": {s["log_group"]: int(s.get("error_count", 0)) for s in summaries},
        "top_errors": errors[:top],
        "truncated": any(s.get("truncated") for s in summaries),
    }


def direct_findings(logs: Any, groups: list[str], start_ms: int, end_ms: int, budget_s: float) -> dict:
    deadline = time.monotonic() + budget_s
    summaries = []
    for group in groups:
        events, truncated = error_events(logs, group, start_ms, end_ms, deadline=deadline)
        summaries.append({**summarise(group, events), "truncated": truncated})
    return merge(summaries, groups)
