"""Incident actions: create_incident, update_incident, list_incidents (INCIDENTS_TABLE)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import clients
import paging
import validation as v
from ddb_items import from_item, to_item
from config import Config
from validation import ApiError

SEVERITIES = ("P1", "P2", "P3", "P4")
STATUSES = ("open", "investigating", "mitigated", "resolved")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def create(cfg: Config, params: dict) -> dict:
    service = v.name(params, "service")
    severity = v.choice(params, "severity", SEVERITIES, normalise=str.upper)
    title = v.text(params, "title", max_len=200)
    description = v.text(params, "description", required=False, max_len=5000, default="")
    now = _now()
    incident = {"incident_id": f"INC-{now[:10].replace('-', '')}-{uuid.uuid4().hex[:8]}", "service": service,
                "severity": severity, "title": title, "description": description, "status": "open",
                "created_at": now, "updated_at": now}
    clients.client("dynamodb").put_item(TableName=cfg.incidents_table, Item=to_item(incident),
                                        ConditionExpression="attribute_not_exists(incident_id)")
    return {"incident": incident, **incident}


def update(cfg: Config, params: dict) -> dict:
    incident_id = v.text(params, "incident_id", max_len=64)
    status = v.choice(params, "status", STATUSES)
    ddb = clients.client("dynamodb")
    now = _now()
    values = {":s": {"S": status}, ":u": {"S": now}}
    expr = "SET #s = :s, updated_at = :u"
    if status == "resolved":
        expr += ", resolved_at = :u"
    try:
        item = ddb.update_item(TableName=cfg.incidents_table, Key={"incident_id": {"S": incident_id}},
                               UpdateExpression=expr, ConditionExpression="attribute_exists(incident_id)",
                               ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=values,
                               ReturnValues="ALL_NEW")["Attributes"]
    except ddb.exceptions.ConditionalCheckFailedException:
        raise ApiError(404, f"incident '{incident_id}' not found") from None
    incident = from_item(item)
    return {"incident": incident, **incident}


def list_incidents(cfg: Config, params: dict) -> dict:
    """Newest first, ``limit`` at a time (paging.py): {count, total, incidents, next_token}."""
    status = v.choice(params, "status", STATUSES, required=False)
    severity = v.choice(params, "severity", SEVERITIES, required=False, normalise=str.upper)
    ddb = clients.client("dynamodb")
    rows = [r for r in paging.light_items(ddb, cfg.incidents_table, "incident_id", ("status", "severity"))
            if (status is None or r.get("status") == status) and (severity is None or r.get("severity") == severity)]
    items, token, total = paging.page(ddb, cfg.incidents_table, "incident_id", rows, params)
    return {"count": len(items), "total": total, "incidents": items, "next_token": token}
