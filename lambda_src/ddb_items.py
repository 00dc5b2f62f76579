"""DynamoDB items <-> plain JSON-able dicts."""
from __future__ import annotations

from decimal import Decimal


def from_item(item: dict) -> dict:
    """A DynamoDB item as plain JSON-able values (numbers as int/float)."""
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    out = {}
    for key, raw in item.items():
        val = des.deserialize(raw)
        if isinstance(val, Decimal):
            val = int(val) if val == val.to_integral_value() else float(val)
        elif isinstance(val, set):
            val = sorted(val)
        out[key] = val
    return out


def to_item(doc: dict) -> dict:
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    return {k: ser.serialize(val) for k, val in doc.items() if val is not None and val != ""}
