"""Newest-first pages of a table: ``limit`` items and an opaque ``next_token``.

The tables have no index sorted by time for every listing, so a listing reads only the keys, the
time and the filter fields of every item (a projected scan), sorts them newest first, cuts the
page after the token's position, then reads the page's items whole (BatchGetItem). The token is
the position of the page's last item (created_at, id): items written meanwhile appear on the
first page instead of shifting later pages. Replies stay bounded by ``limit`` (at most
MAX_LIMIT items) whatever the table holds.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Iterable

from ddb_items import from_item
from validation import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def limit_of(params: dict) -> int:
    value = params.get("limit")
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
        if isinstance(value, bool) or str(limit) != str(value).strip():
            raise ValueError
    except (TypeError, ValueError):
        raise ApiError(400, f"field 'limit' must be a whole number from 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"field 'limit' must be a whole number from 1 to {MAX_LIMIT} (got {limit})")
    return limit


def token_of(params: dict) -> tuple[str, str] | None:
    value = params.get("next_token")
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str) or len(value) > 400:
            raise ValueError
        position = json.loads(base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4)))
        if not (isinstance(position, list) and len(position) == 2 and all(isinstance(p, str) for p in position)):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "field 'next_token' is not a token this API gave: start again without it") from None
    return position[0], position[1]


def _token(created_at: str, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, key]).encode()).decode().rstrip("=")


def light_items(ddb: Any, table: str, key: str, fields: Iterable[str]) -> list[dict]:
    """Every item's key, created_at and ``fields`` (a projected scan)."""
    names = {f"#f{i}": f for i, f in enumerate((key, "created_at", *fields))}
    out: list[dict] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(names),
                                                   ExpressionAttributeNames=names):
        out += [from_item(i) for i in page.get("Items", [])]
    return out


def page(ddb: Any, table: str, key: str, rows: list[dict], params: dict) -> tuple[list[dict], str | None, int]:
    """(the page's whole items newest first, next_token or None, how many rows matched)."""
    limit, after = limit_of(params), token_of(params)
    rows = sorted(rows, key=lambda r: (str(r.get("created_at", "")), str(r[key])), reverse=True)
    if after is not None:
        rows_after = [r for r in rows if (str(r.get("created_at", "")), str(r[key])) < after]
    else:
        rows_after = rows
    chosen = rows_after[:limit]
    items = _batch_get(ddb, table, key, [str(r[key]) for r in chosen])
    more = len(rows_after) > limit
    token = _token(str(chosen[-1].get("created_at", "")), str(chosen[-1][key])) if more else None
    return [items[str(r[key])] for r in chosen if str(r[key]) in items], token, len(rows)


def _batch_get(ddb: Any, table: str, key: str, ids: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(ids), 100):
        request = {table: {"Keys": [{key: {"S": i}} for i in ids[start:start + 100]]}}
        for _ in range(5):
            reply = ddb.batch_get_item(RequestItems=request)
            for item in reply.get("Responses", {}).get(table, []):
                doc = from_item(item)
                found[str(doc[key])] = doc
            request = reply.get("UnprocessedKeys") or {}
            if not request:
                break
    return found
