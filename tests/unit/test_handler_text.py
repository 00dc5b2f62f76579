"""Pure parts of the handler: chunking, embeddings, time ranges, error grouping, MCP replies, secrets."""
import logging
import time
from datetime import datetime, timezone

import boto3
import pytest

from tests.support.handler import ROOT, configure, handler_module, lambda_module

handler_module()  # puts the handler's modules in sys.modules
chunking = lambda_module("chunking")
embeddings = lambda_module("embeddings")
chat = lambda_module("chat")
log_search = lambda_module("log_search")
mcp_client = lambda_module("mcp_client")
sample_data = lambda_module("sample_data")
validation = lambda_module("validation")


def test_sections_follow_heading_paths():
    text = "intro line\n# A\none\n## B\ntwo\n# C\nthree"
    assert chunking.sections(text) == [("", "intro line"), ("A", "one"), ("A > B", "two"), ("C", "three")]
    assert chunking.chunk("plain text only", title="T") == ["T\nplain text only"]


def test_long_sections_become_overlapping_windows():
    body = " ".join(f"word{i}" for i in range(1200))
    chunks = chunking.chunk(f"# H\n{body}")
    assert len(chunks) > 3 and all(len(c) <= chunking.MAX_CHUNK + 10 for c in chunks)
    for a, b in zip(chunks, chunks[1:]):
        assert a[-100:].split(" ", 1)[1] in b  # the end of one window starts the next
    words = set(body.split())
    assert words == {w for c in chunks for w in c.split()[1:]} - {"H"}


def test_hashing_embedding_is_deterministic_unit_and_256_long():
    a = embeddings.hashing_embedding("PaymentProcessorException in payment-service")
    assert a == embeddings.hashing_embedding("PaymentProcessorException in payment-service")
    assert len(a) == 256 and abs(sum(x * x for x in a) - 1) < 1e-4
    related = embeddings.hashing_embedding("payment-service throws PaymentProcessorException")
    unrelated = embeddings.hashing_embedding("warehouse stock sync nightly")
    assert embeddings.cosine(a, related) > embeddings.cosine(a, unrelated)


def test_embed_all_falls_back_for_every_text_when_titan_is_not_configured():
    embeddings.reset()
    vectors, model = embeddings.embed_all(["a b", "c d"], "none")
    assert model == embeddings.HASHING and vectors == [embeddings.hashing_embedding(t) for t in ("a b", "c d")]


NOW = datetime(2026, 11, 28, 14, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, question, minutes", [
    (None, "Are there any errors in the last hour?", 60), (None, "errors in the last 30 minutes", 30),
    (None, "anything today?", 14 * 60 + 30), (None, "past 2 days please", 2880), (None, "errors?", 60),
    ("15m", "", 15), ("2h", "", 120), ("1d", "", 1440), ("today", "", 870), ("45", "", 45),
    ("last 3 hours", "", 180),
])
def test_time_range(value, question, minutes):
    assert chat.parse_time_range(value, question, NOW) == minutes


@pytest.mark.parametrize("value", ["forever", "0m", "8d", "-5m"])
def test_bad_time_range(value):
    with pytest.raises(validation.ApiError):
        chat.parse_time_range(value, "", NOW)


def test_error_lines_group_without_ids_and_numbers():
    events = sample_data.events_for("payment-service", int(time.time() * 1000))
    errors = [e for e in events if log_search.is_error(e["message"])]
    assert len(errors) == 25 and not any(" INFO " in e["message"] for e in errors)
    summary = log_search.summarise("/ecs/payment-service", errors)
    assert [(e["count"], e["message"]) for e in summary["top_errors"]] == [
        (18, "PaymentProcessorException: card authorisation failed: gateway returned <n> (txn=txn-<id> provider=stripe)"),
        (7, "CONNECTION_TIMEOUT: connect to payments-db.internal:<n> timed out after <n>ms")]


def test_the_mcp_server_groups_errors_exactly_like_the_handler():
    import sys
    sys.path.insert(0, str(ROOT / "mcp_server"))
    try:
        import cwlogs
    finally:
        sys.path.remove(str(ROOT / "mcp_server"))
    lines = [e["message"] for s in sample_data.SERVICES for e in sample_data.events_for(s, 1_700_000_000_000)]
    lines += ["FATAL boom 0xdeadbeef", "Traceback ... ValueError: bad 42", "2026-01-01 12:00:00,123 ERROR x=1"]
    assert [cwlogs.normalise(m) for m in lines] == [log_search.normalise(m) for m in lines]
    assert [cwlogs.is_error(m) for m in lines] == [log_search.is_error(m) for m in lines]
    assert cwlogs.FILTER_PATTERN == log_search.FILTER_PATTERN


def test_sample_data_is_realistic_and_ordered():
    now = 1_700_000_000_000
    for service in sample_data.SERVICES:
        events = sample_data.events_for(service, now)
        stamps = [e["timestamp"] for e in events]
        assert stamps == sorted(stamps) and now - 45 * 60_000 <= stamps[0] and stamps[-1] < now
        assert all(f"[{service}]" in e["message"] for e in events)
    assert sum(" ERROR " in e["message"] for e in sample_data.events_for("order-service", now)) == 8


def test_mcp_reply_parsing_handles_json_and_event_streams():
    sse = 'event: message\r\ndata: {"jsonrpc":"2.0","id":2,"result":{"ok":1}}\r\n\r\n'
    assert mcp_client._parse(sse, "text/event-stream", 2)["result"] == {"ok": 1}
    assert mcp_client._parse('{"jsonrpc":"2.0","id":3,"result":{}}', "application/json", 3)["id"] == 3
    with pytest.raises(mcp_client.McpUnavailable):
        mcp_client._parse("<html>", "text/html", 1)


def test_an_mcp_server_that_never_answers_times_out_into_the_fallback():
    import socket

    with socket.socket() as silent:  # accepts connections (backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        client = mcp_client.McpClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        with pytest.raises(mcp_client.McpUnavailable):
            client.call_tool("list_log_groups", {})
    assert client.endpoint.endswith("/mcp")


def test_github_token_is_read_lazily_once_and_never_logged(aws, monkeypatch, caplog):
    configure(monkeypatch)
    secrets = lambda_module("ssm_secrets")
    secrets.reset()
    lambda_module("clients").reset()
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/sre-poc/github-token", Value="ghp_s3cr3t", Type="SecureString")
    calls = []
    lambda_module("clients").client("ssm").meta.events.register("before-call.ssm.GetParameter",
                                                                lambda **kw: calls.append(1))
    with caplog.at_level(logging.DEBUG, logger="tars"):
        assert secrets.github_token() == "ghp_s3cr3t"
        assert secrets.github_token() == "ghp_s3cr3t"
    assert len(calls) == 1 and "ghp_s3cr3t" not in caplog.text
    monkeypatch.setenv("GITHUB_TOKEN_SSM_PARAM", "/sre-poc/missing")
    assert secrets.github_token() is None
