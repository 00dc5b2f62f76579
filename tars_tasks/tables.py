"""The DynamoDB tables of TARS: keys and indexes, in one place.

``infrastructure/dynamodb.tf`` and the tests create exactly these (tests parse the Terraform and
compare, so the two cannot drift). ``{project}`` is the project.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True)
class Table:
    key: str                      # resource_names() key of the table's name
    hash_key: str
    indexes: tuple[Index, ...] = ()
    attributes: tuple[str, ...] = ()  # every key attribute (all strings)


TABLES: tuple[Table, ...] = (
    Table("incidents_table", "incident_id", (Index("StatusIndex", "status", "created_at"),),
          ("incident_id", "status", "created_at")),
    Table("kb_documents_table", "document_id", (Index("ServiceIndex", "service_name"),),
          ("document_id", "service_name")),
    Table("kb_chunks_table", "chunk_id", (Index("DocumentIndex", "document_id"),),
          ("chunk_id", "document_id")),
    Table("lock_table", "lock_id", (), ("lock_id",)),
)


def create_table_args(table: Table, name: str) -> dict[str, Any]:
    """boto3 ``create_table`` arguments for ``table`` named ``name`` (on-demand billing)."""
    args: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in table.attributes],
        "KeySchema": [{"AttributeName": table.hash_key, "KeyType": "HASH"}],
        "SSESpecification": {"Enabled": True},
    }
    if table.indexes:
        args["GlobalSecondaryIndexes"] = [
            {"IndexName": ix.name,
             "KeySchema": [{"AttributeName": ix.hash_key, "KeyType": "HASH"}]
             + ([{"AttributeName": ix.range_key, "KeyType": "RANGE"}] if ix.range_key else []),
             "Projection": {"ProjectionType": "ALL"}}
            for ix in table.indexes]
    return args


def create_all(ddb_client: Any, project: str) -> list[str]:
    """Create every table (tests that prepare an emulator directly). Returns the names created."""
    from .names import resource_names

    names = resource_names(project)
    created = []
    for table in TABLES:
        ddb_client.create_table(**create_table_args(table, names[table.key]))
        created.append(names[table.key])
    return created
