"""DynamoDB: the deploy lock (conditional writes) and table checks."""
from __future__ import annotations

from typing import Any

from ..errors import Refused
from .errors import error_code, translate

LOCK_KEY = "lock_id"


class LockTableMissing(Exception):
    """The lock table does not exist yet (first setup, before the infrastructure)."""


def _item(holder: dict[str, Any]) -> dict[str, dict[str, str]]:
    out = {}
    for key, value in holder.items():
        out[key] = {"N": str(value)} if isinstance(value, (int, float)) and not isinstance(value, bool) else {"S": str(value)}
    return out


def _plain(item: dict[str, dict[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, typed in item.items():
        if "N" in typed:
            out[key] = float(typed["N"])
        else:
            out[key] = next(iter(typed.values()))
    return out


def read_lock(clients, table: str, lock_id: str) -> dict[str, Any] | None:
    with translate(f"read the deploy lock in {table}"):
        try:
            reply = clients("dynamodb").get_item(TableName=table, Key={LOCK_KEY: {"S": lock_id}}, ConsistentRead=True)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise LockTableMissing(table) from None
            raise
    return _plain(reply["Item"]) if "Item" in reply else None


def acquire_lock(clients, table: str, lock_id: str, holder: dict[str, Any], now: float) -> dict[str, Any] | None:
    """Take the lock. Returns the expired holder it took over from, or None when it was free.

    Raises Refused naming the holder while a live lease is held, LockTableMissing when the
    table does not exist.
    """
    item = _item(dict(holder, **{LOCK_KEY: lock_id}))
    ddb = clients("dynamodb")
    with translate(f"take the deploy lock in {table}"):
        try:
            ddb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(lock_id)")
            return None
        except Exception as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                raise LockTableMissing(table) from None
            if code != "ConditionalCheckFailedException":
                raise
    current = read_lock(clients, table, lock_id)
    if current is None:  # released between our two calls: try once more
        return acquire_lock(clients, table, lock_id, holder, now)
    if _ours(current, holder):  # our first put landed but its answer was lost; botocore retried it
        return None
    if float(current.get("expires_at", 0)) > now:
        raise Refused(
            f"another deploy holds the lock for {lock_id}: {current.get('holder')} "
            f"(pid {int(float(current.get('pid', 0)))}, commit {current.get('commit')}, "
            f"'{current.get('command')}', since {current.get('started')})",
            "wait for it to finish, or run inv unlock --force if that deploy is dead")
    with translate(f"take over the expired deploy lock in {table}"):
        try:
            ddb.put_item(TableName=table, Item=item, ConditionExpression="#t = :t",
                         ExpressionAttributeNames={"#t": "token"},
                         ExpressionAttributeValues={":t": {"S": str(current.get("token"))}})
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if not _ours(read_lock(clients, table, lock_id), holder):
                raise Refused(f"another deploy took the expired lock for {lock_id} first",
                              "wait for it to finish") from None
    return current


def _ours(current: dict[str, Any] | None, holder: dict[str, Any]) -> bool:
    return bool(current) and bool(holder.get("token")) and current.get("token") == holder.get("token")


def renew_lock(clients, table: str, lock_id: str, token: str, expires_at: float) -> bool:
    """Extend our lease. False when the lock is no longer ours."""
    with translate(f"renew the deploy lock in {table}"):
        try:
            clients("dynamodb").update_item(
                TableName=table, Key={LOCK_KEY: {"S": lock_id}}, UpdateExpression="SET expires_at = :e",
                ConditionExpression="#t = :t", ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":e": {"N": str(expires_at)}, ":t": {"S": token}})
            return True
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise


def release_lock(clients, table: str, lock_id: str, token: str | None = None) -> bool:
    """Delete the lock (only ours, unless ``token`` is None: inv unlock --force)."""
    kwargs: dict[str, Any] = {}
    if token is not None:
        kwargs = {"ConditionExpression": "#t = :t", "ExpressionAttributeNames": {"#t": "token"},
                  "ExpressionAttributeValues": {":t": {"S": token}}}
    with translate(f"release the deploy lock in {table}"):
        try:
            clients("dynamodb").delete_item(TableName=table, Key={LOCK_KEY: {"S": lock_id}}, **kwargs)
            return True
        except Exception as exc:
            if error_code(exc) in ("ConditionalCheckFailedException", "ResourceNotFoundException"):
                return False
            raise


def table_status(clients, table: str) -> str:
    """TableStatus (ACTIVE, CREATING ...); ConfigError when the table does not exist."""
    with translate(f"describe table {table}"):
        return clients("dynamodb").describe_table(TableName=table)["Table"]["TableStatus"]


def query(clients, table: str, index: str, attribute: str, value: str) -> list[dict[str, Any]]:
    """Every item of ``index`` whose ``attribute`` equals the string ``value`` (all pages, typed items)."""
    items: list[dict[str, Any]] = []
    with translate(f"query {table} ({index})"):
        pages = clients("dynamodb").get_paginator("query").paginate(
            TableName=table, IndexName=index, KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": attribute}, ExpressionAttributeValues={":v": {"S": value}})
        for page in pages:
            items += page.get("Items", [])
    return items
