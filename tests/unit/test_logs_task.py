"""inv logs: --since parsing, pagination, --follow without repeats, ERROR detection."""
from __future__ import annotations

import calendar
import time

import boto3
import pytest

from tars_tasks.aws import logs as aws_logs
from tars_tasks.errors import ConfigError, UsageError
from tars_tasks.tasks.logs import is_error, show_logs
from tars_tasks.times import parse_since

GROUP = "/aws/lambda/sre-poc-incident-handler"
NOW = 1_800_000_000.0


@pytest.fixture
def group(aws):
    cw = boto3.client("logs")
    cw.create_log_group(logGroupName=GROUP)
    cw.create_log_stream(logGroupName=GROUP, logStreamName="2026/11/28/[$LATEST]abcdef0123")
    return cw


def put(cw, *messages, at_ms=None):
    base = at_ms or int(time.time() * 1000) - 60_000
    cw.put_log_events(logGroupName=GROUP, logStreamName="2026/11/28/[$LATEST]abcdef0123",
                      logEvents=[{"timestamp": base + i, "message": m} for i, m in enumerate(messages)])


@pytest.mark.parametrize("text,seconds", [("10m", 600), ("2h", 7200), ("1d", 86400), ("30s", 30)])
def test_since_durations(text, seconds):
    assert parse_since(text, NOW) == NOW - seconds


def test_since_iso_times():
    expected = calendar.timegm((2026, 11, 28, 1, 0, 0))
    assert parse_since("2026-11-28T01:00:00Z", NOW + 10**8) == expected
    assert parse_since("2026-11-28T01:00:00", NOW + 10**8) == expected          # no zone: UTC
    assert parse_since("2026-11-28T02:00:00+01:00", NOW + 10**8) == expected


@pytest.mark.parametrize("bad", ["yesterday", "10x", "", "0m", "-5m", "2099-01-01T00:00:00Z"])
def test_since_rejects_everything_else(bad):
    with pytest.raises(UsageError) as err:
        parse_since(bad, NOW)
    assert err.value.exit_code == 2 and "10m" in err.value.hint


def test_error_lines():
    assert is_error("[ERROR]\t2026-11-28T00:00:00Z\treq\tboom")
    assert is_error('{"level": "ERROR", "message": "boom"}')
    assert not is_error("[INFO] TARS handler initialised") and not is_error("no errors here: MIRRORED")


def test_events_are_read_across_pages(clients, group):
    put(group, *[f"line {i}" for i in range(5)])
    calls = []
    clients("logs").meta.events.register("before-call.cloudwatch-logs.FilterLogEvents",
                                                 lambda **kw: calls.append(1))
    got = [e["message"] for e in aws_logs.events(clients, GROUP, 0, page_size=2)]
    assert got == [f"line {i}" for i in range(5)] and len(calls) == 3


def test_missing_group_is_a_config_error(clients, aws):
    with pytest.raises(ConfigError) as err:
        list(aws_logs.events(clients, "/aws/lambda/nope", 0))
    assert "log group /aws/lambda/nope not found" in err.value.message


def test_follow_shows_each_line_once(clients, group):
    start = int(time.time() * 1000) - 60_000
    put(group, "first", "second", at_ms=start)
    arriving = [["third"], ["fourth", "fifth"], []]
    slept = []

    def sleep(seconds):   # new lines arrive while the follower waits; one shares a timestamp
        slept.append(seconds)
        batch = arriving.pop(0)
        if batch:
            put(group, *batch, at_ms=start + 1 if len(slept) == 1 else start + 20)   # "third" shares "second"'s ms

    seen = [e["message"] for e in aws_logs.follow(clients, GROUP, start, delay=0.5, sleep=sleep, polls=4)]
    assert seen == ["first", "second", "third", "fourth", "fifth"]
    assert slept == [0.5, 0.5, 0.5]


def test_show_logs_counts_errors_and_filters(clients, group, capsys, monkeypatch):
    from tars_tasks import console

    monkeypatch.setattr(console, "_consoles", {})   # a console bound to capsys's stdout
    put(group, "[INFO] TARS handler initialised", "[ERROR] boom in chat", "[INFO] done")
    result = show_logs(clients, GROUP, 0)
    assert result["events"] == 3 and len(result["error_lines"]) == 1 and "boom in chat" in result["error_lines"][0]
    filtered = show_logs(clients, GROUP, 0, text="handler initialised")
    assert filtered["events"] == 1 and filtered["error_lines"] == []
    assert "TARS handler initialised" in capsys.readouterr().out
