"""CloudWatch Logs: read a log group's events (paginated), and follow it without repeating lines."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from ..errors import ConfigError
from .errors import error_code, translate


class LogGroupMissing(ConfigError):
    """The log group does not exist (the function has not logged yet)."""


def quoted(text: str) -> str:
    """A filter pattern that matches ``text`` literally (spaces and all)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def events(clients, group: str, start_ms: int, *, end_ms: int | None = None,
           pattern: str | None = None, page_size: int | None = None) -> Iterator[dict[str, Any]]:
    """Every event of ``group`` from ``start_ms`` (FilterLogEvents, all pages, oldest first per page)."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(start_ms)}
    if end_ms is not None:
        kwargs["endTime"] = int(end_ms)
    if pattern:
        kwargs["filterPattern"] = pattern
    try:
        with translate(f"read the log group {group}"):
            paginator = clients("logs").get_paginator("filter_log_events")
            pages = paginator.paginate(**kwargs, PaginationConfig={"PageSize": page_size} if page_size else {})
            for page in pages:
                yield from sorted(page.get("events", []), key=lambda e: (e["timestamp"], e["eventId"]))
    except ConfigError as err:
        if isinstance(err.__cause__, ClientError) and error_code(err.__cause__) == "ResourceNotFoundException":
            raise LogGroupMissing(f"log group {group} not found",
                              "the function has not logged yet (deploy and invoke it), "
                              "or run inv deploy-infrastructure first") from None
        raise


def follow(clients, group: str, start_ms: int, *, pattern: str | None = None, delay: float = 2.0,
           sleep: Callable[[float], None] = time.sleep, polls: int | None = None) -> Iterator[dict[str, Any]]:
    """Poll ``group`` every ``delay`` seconds, yielding each event once (deduplicated by eventId).

    Each poll starts at the newest timestamp seen (inclusive: events sharing it are filtered by
    id). ``polls`` bounds the number of polls (tests); None polls until interrupted.
    """
    seen: dict[str, int] = {}
    since = int(start_ms)
    done = 0
    while True:
        for event in events(clients, group, since, pattern=pattern):
            if event["eventId"] in seen:
                continue
            seen[event["eventId"]] = event["timestamp"]
            since = max(since, event["timestamp"])
            yield event
        seen = {k: ts for k, ts in seen.items() if ts >= since}   # only ids that can come back
        done += 1
        if polls is not None and done >= polls:
            return
        sleep(delay)


def existing_streams(clients, streams: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Those of ``(group, stream)`` that exist (a missing group or stream is simply absent)."""
    found = []
    for group, stream in streams:
        with translate(f"read the log streams of {group}"):
            try:
                page = clients("logs").describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)
            except Exception as exc:  # noqa: BLE001 - a deleted group holds no stream
                if error_code(exc) == "ResourceNotFoundException":
                    continue
                raise
        if any(s["logStreamName"] == stream for s in page.get("logStreams", [])):
            found.append((group, stream))
    return found


def delete_streams(clients, streams: list[tuple[str, str]]) -> None:
    for group, stream in streams:
        with translate(f"delete log stream {stream} of {group}"):
            clients("logs").delete_log_stream(logGroupName=group, logStreamName=stream)


def put_lines(clients, group: str, stream: str, events: list[dict[str, Any]], *, create: bool = True) -> None:
    """Put ``events`` ({timestamp, message}) into ``group``/``stream``, both created when missing
    (``create=False``: the stream exists, one call)."""
    logs = clients("logs")
    with translate(f"write the log lines of {group}"):
        try:
            if create:
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceNotFoundException:
            logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


class _Recording:
    """The logs client a generator gets: every call passes through; the streams it writes are noted."""

    def __init__(self, client):
        self._client = client
        self.streams: set[tuple[str, str]] = set()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_log_stream(self, **kwargs):
        self.streams.add((kwargs["logGroupName"], kwargs["logStreamName"]))
        return self._client.create_log_stream(**kwargs)

    def put_log_events(self, **kwargs):
        self.streams.add((kwargs["logGroupName"], kwargs["logStreamName"]))
        return self._client.put_log_events(**kwargs)


def write_with(clients, generator: Callable[..., Any], **kwargs: Any) -> tuple[Any, set[tuple[str, str]]]:
    """Run ``generator(logs_client, **kwargs)`` (code that writes log events itself, like the sample
    data of lambda_src/) on the logs client; returns its result and the (group, stream)s it wrote."""
    recording = _Recording(clients("logs"))
    with translate("write the sample logs"):
        result = generator(recording, **kwargs)
    return result, recording.streams
