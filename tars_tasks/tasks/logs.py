"""`inv logs` (replaces `aws logs tail`): the function's log lines, paginated, followed, checked."""
from __future__ import annotations

import re
import time
from typing import Callable

from invoke import Collection

from .. import console
from ..errors import StepFailed, UsageError
from ..skeleton import READS, load_settings, tars_task
from ..times import parse_since

ERROR_LINE = re.compile(r"\[ERROR\]|\bERROR\b|\"level\"\s*:\s*\"ERROR\"")


def is_error(message: str) -> bool:
    return bool(ERROR_LINE.search(message))


def format_event(event: dict) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(event["timestamp"] / 1000))
    stream = event.get("logStreamName", "")
    short = stream.rsplit("]", 1)[-1][:8] if stream else ""
    return f"{stamp}Z {short} {event['message'].rstrip()}"


def show_logs(clients, group: str, since_ms: int, *, follow: bool = False, text: str | None = None,
              delay: float = 2.0, sleep: Callable[[float], None] = time.sleep, polls: int | None = None) -> dict:
    """Print the events (ERROR lines highlighted); returns counts and the error lines."""
    from ..aws import logs

    pattern = logs.quoted(text) if text else None
    stream = (logs.follow(clients, group, since_ms, pattern=pattern, delay=delay, sleep=sleep, polls=polls) if follow
              else logs.events(clients, group, since_ms, pattern=pattern))
    count, errors = 0, []
    for event in stream:
        count += 1
        line = format_event(event)
        if is_error(event["message"]):
            errors.append(line)
            console.highlight_error_line(line)
        else:
            console.info(line)
    return {"group": group, "since_ms": since_ms, "events": count, "error_lines": errors}


@tars_task(common=READS, help={"since": "how far back: 10m (default), 2h, 1d, or an ISO time like 2026-01-31T09:00:00Z",
                                "follow": "keep polling for new lines (Ctrl-C stops); each line is shown once",
                                "filter": "only lines containing this text",
                                "errors": "exit 1 when any ERROR line is found (for CI)"})
def logs(c, flags, since=None, follow=False, filter=None, errors=False):  # noqa: A002
    """Show the Lambda function's log lines (replaces aws logs tail)."""
    if follow and errors:
        raise UsageError("--errors checks a finished window and cannot be combined with --follow",
                         "drop --follow (CI: inv logs --since 10m --errors)")
    since_ms = int(parse_since(since or "10m", time.time()) * 1000)
    settings = load_settings(c, flags)
    group = settings.log_group
    console.step(f"{group} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(since_ms / 1000))}")
    result = show_logs(settings.clients, group, since_ms, follow=follow, text=filter, delay=float(settings.waiter_delay))
    console.write_report(flags.json, {"task": "logs", **result})
    found = len(result["error_lines"])
    summary = f"{result['events']} line(s), {found} ERROR line(s)"
    if errors and found:
        raise StepFailed(f"{summary} in {group}", f"read them above; inv logs --since {since or '10m'} --filter ERROR")
    console.ok(summary)


ns = Collection(logs)
