"""Faults for the verify tests, wrapped around the REAL handler's KB actions (lambda_src/handler.py):
FAULTS makes one step misbehave as a broken deployment would."""
from __future__ import annotations

import json

import boto3

FAULTS: set[str] = set()


def _short_embedding() -> list[float]:
    return [0.0] * 255


def install(handler, chunks_table: str) -> None:
    complete, listing = handler.ACTIONS["kb_upload_complete"], handler.ACTIONS["kb_list"]

    def faulty_complete(req):
        if "complete_500" in FAULTS:
            raise RuntimeError("indexing crashed")
        out = complete(req)
        if "short_embedding" in FAULTS:  # a broken embedding model: one vector too short
            ddb = boto3.client("dynamodb")
            first = ddb.query(TableName=chunks_table, IndexName="DocumentIndex",
                              KeyConditionExpression="document_id = :d",
                              ExpressionAttributeValues={":d": {"S": req.field("document_id")}})["Items"][0]
            ddb.update_item(TableName=chunks_table, Key={"chunk_id": first["chunk_id"]},
                            UpdateExpression="SET embedding = :e",
                            ExpressionAttributeValues={":e": {"S": json.dumps(_short_embedding())}})
        return out

    def faulty_list(req):
        out = listing(req)
        if "list_hides" in FAULTS:
            out = dict(out, documents=[], count=0)
        return out

    handler.ACTIONS["kb_upload_complete"] = faulty_complete
    handler.ACTIONS["kb_list"] = faulty_list
