"""`inv audit`: who wrote, deleted or was refused what, from the handler's audit lines.

The handler logs one JSON line (``"audit": "tars"``, lambda_src/audit.py) per successful write and
per refused request into its own log group; this reads them back (CloudWatch Logs, paginated) and
prints them as a table, oldest first. A log line that is not an audit line is skipped.
"""
from __future__ import annotations

import json as jsonlib
import time

from invoke import Collection

from .. import console
from ..skeleton import READS, load_settings, tars_task
from ..times import parse_since

COLUMNS = ["time", "result", "status", "action", "who", "ids", "source ip", "reason"]


def parse_line(message: str) -> dict | None:
    """The audit record in a log message (the Lambda runtime may prefix level, time and request id)."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        record = jsonlib.loads(message[start:].strip())
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("audit") == "tars" else None


def who(record: dict) -> str:
    person = record.get("who") or {}
    return str(person.get("username") or person.get("principal") or person.get("sub") or person.get("kind") or "?")


def row(record: dict) -> tuple[str, ...]:
    ids = ", ".join(f"{k}={v}" for k, v in sorted((record.get("ids") or {}).items()))
    return (str(record.get("time", ""))[:19].replace("T", " "), str(record.get("result", "")),
            str(record.get("status", "")), str(record.get("action", "")), who(record), ids,
            str(record.get("source_ip", "")), str(record.get("reason", "")))


def records(clients, group: str, since_ms: int, *, person: str | None = None, action: str | None = None) -> list[dict]:
    from ..aws import logs

    found = []
    for event in logs.events(clients, group, since_ms, pattern="audit"):
        record = parse_line(event["message"])
        if record is None:
            continue
        if person and person.lower() not in who(record).lower():
            continue
        if action and record.get("action") != action:
            continue
        found.append(record)
    return sorted(found, key=lambda r: str(r.get("time", "")))


@tars_task(common=READS, help={"since": "how far back: 1h (default), 30m, 2d, or an ISO time like 2026-01-31T09:00:00Z",
                                "who": "only lines of this person (part of their e-mail) or IAM principal",
                                "action": "only this action (kb_upload, kb_delete, create_incident ...)"})
def audit(c, flags, since=None, who=None, action=None):
    """Who wrote, deleted or was refused what: the API's audit log as a table."""
    since_ms = int(parse_since(since or "1h", time.time()) * 1000)
    settings = load_settings(c, flags)
    group = settings.log_group
    found = records(settings.clients, group, since_ms, person=who, action=action)
    console.table(f"audit of {settings.function_name} since "
                  f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(since_ms / 1000))}", COLUMNS,
                  [row(r) for r in found])
    console.write_report(flags.json, {"task": "audit", "group": group, "since_ms": since_ms, "records": found})
    refused = sum(1 for r in found if r.get("result") == "refused")
    console.ok(f"{len(found)} audit line(s), {refused} refused")


ns = Collection(audit)
