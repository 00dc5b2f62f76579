"""One structured JSON line per successful write and per refused request (issue 14, item 6).

The line goes to the function's own log group (which the chat cannot read: its role reads only
the services' prefix), marked ``"audit": "tars"`` so a metric filter or ``inv audit`` finds it:
``{"audit": "tars", "time", "result": "ok"|"refused", "status", "action", "who": {kind, sub,
username, principal}, "ids": {...}, "source_ip", "forwarded_for", "reason"}``. Never a token.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

logger = logging.getLogger("tars.audit")
logger.setLevel(logging.INFO)
ID_FIELDS = ("document_id", "incident_id")


def _ids(params: dict, result: dict | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for source in (result or {}, (result or {}).get("incident") or {}, params):
        for name in ID_FIELDS:
            value = source.get(name) if isinstance(source, dict) else None
            if isinstance(value, str) and name not in found:
                found[name] = value[:100]
    return found


def source(event: dict) -> dict[str, str]:
    rc = event.get("requestContext") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    out = {"source_ip": str(((rc.get("http") or {}).get("sourceIp")) or "")}
    if headers.get("x-forwarded-for"):
        out["forwarded_for"] = headers["x-forwarded-for"][:200]
    return {k: v for k, v in out.items() if v}


def record(event: dict, caller: Any, action: str | None, status: int, *, params: dict | None = None,
           result: dict | None = None, reason: str | None = None) -> dict:
    line = {"audit": "tars", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "result": "ok" if status < 400 else "refused", "status": status, "action": (action or "")[:100],
            "who": caller.who() if caller is not None else {"kind": "unauthenticated"},
            "ids": _ids(params or {}, result), **source(event)}
    if reason:
        line["reason"] = reason
    logger.info(json.dumps(line, sort_keys=True))
    return line
