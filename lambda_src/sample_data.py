"""Realistic demo logs: INFO traffic for three services and a burst of ERRORs, in CloudWatch Logs.

``seed(logs_client)`` writes into ``/ecs/<service>`` (creating the groups) and returns how many
events it wrote per group. Timestamps lie in the 45 minutes before ``now_ms`` (errors in the
last 15), so "errors in the last hour" finds them. Deterministic: same input, same lines.
"""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone

SERVICES = ("payment-service", "order-service", "inventory-service")
LOG_GROUP_PREFIX = "/ecs/"

_INFO = {
    "payment-service": [
        "POST /v1/payments 200 {ms}ms amount={amount} currency=USD",
        "Payment authorised txn=txn-{id} provider=stripe",
        "Refund processed txn=txn-{id} amount={amount}",
        "GET /health 200 {ms}ms",
    ],
    "order-service": [
        "POST /v1/orders 201 {ms}ms order=ord-{id} items={n}",
        "Order ord-{id} moved to FULFILLMENT",
        "GET /v1/orders/ord-{id} 200 {ms}ms",
        "GET /health 200 {ms}ms",
    ],
    "inventory-service": [
        "Reserved {n} units sku=SKU-{id}",
        "GET /v1/stock/SKU-{id} 200 {ms}ms",
        "Stock sync completed warehouse=us-east-1a items={n}",
        "GET /health 200 {ms}ms",
    ],
}
# (service, template, how many) in the error burst
_ERRORS = (
    ("payment-service", "PaymentProcessorException: card authorisation failed: gateway returned 502 "
                        "(txn=txn-{id} provider=stripe)", 18),
    ("payment-service", "CONNECTION_TIMEOUT: connect to payments-db.internal:5432 timed out after {ms}ms", 7),
    ("order-service", "CONNECTION_TIMEOUT: POST http://payment-service/v1/payments timed out after {ms}ms "
                      "order=ord-{id}", 6),
    ("order-service", "OrderValidationException: order ord-{id} has no shipping address", 2),
)
_WARN = (("inventory-service", "Low stock sku=SKU-{id} remaining={n}", 2),)
_INFO_COUNT = {"payment-service": 60, "order-service": 50, "inventory-service": 40}


def _line(rng: random.Random, ts_ms: int, level: str, service: str, template: str) -> str:
    stamp = datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    body = template.format(ms=rng.randint(3, 900) if level == "INFO" else rng.randint(5000, 30000),
                           amount=f"{rng.uniform(5, 400):.2f}", id=f"{rng.getrandbits(24):06x}",
                           n=rng.randint(1, 12))
    return f"{stamp} {level} [{service}] req={rng.getrandbits(32):08x} {body}"


def events_for(service: str, now_ms: int, seed: int = 7) -> list[dict]:
    """The events one service gets, oldest first (what ``seed`` writes)."""
    rng = random.Random(f"{service}:{seed}")
    items: list[tuple[int, str, str]] = []
    for _ in range(_INFO_COUNT[service]):
        items.append((now_ms - rng.randint(60_000, 45 * 60_000), "INFO", rng.choice(_INFO[service])))
    for svc, template, count in _ERRORS:
        if svc == service:
            items += [(now_ms - rng.randint(30_000, 15 * 60_000), "ERROR", template) for _ in range(count)]
    for svc, template, count in _WARN:
        if svc == service:
            items += [(now_ms - rng.randint(30_000, 30 * 60_000), "WARN", template) for _ in range(count)]
    items.sort(key=lambda item: item[0])
    return [{"timestamp": ts, "message": _line(rng, ts, level, service, template)} for ts, level, template in items]


def seed(logs_client, *, now_ms: int | None = None) -> dict[str, int]:
    """Write the demo logs; returns ``{log group: events written}``."""
    now_ms = int(time.time() * 1000) if now_ms is None else int(now_ms)
    written: dict[str, int] = {}
    for service in SERVICES:
        group = f"{LOG_GROUP_PREFIX}{service}"
        try:
            logs_client.create_log_group(logGroupName=group)
        except logs_client.exceptions.ResourceAlreadyExistsException:
            pass
        stream = f"ecs/{service}/seed-{now_ms}"
        try:
            logs_client.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs_client.exceptions.ResourceAlreadyExistsException:
            pass
        events = events_for(service, now_ms)
        logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        written[group] = len(events)
    return written
