"""Release records: what was live after each successful `inv deploy`, kept in S3.

One JSON object per release under ``_deploys/`` in the release bucket (settings.release_bucket,
else the UI bucket; the UI deploy keeps its own per-UI releases under ``_releases/``). Release
ids sort by time: ``20261128T010500123Z-abc123def456-9f2e``. Read by `inv releases`, `inv rollback --to`,
`inv status` and preflight's rollback-plan item.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from ..errors import ConfigError, UsageError

PREFIX = "_deploys/"
# The key of each component's current() dict that its rollback() takes as target.
ROLLBACK_KEYS = ("rollback_target", "version", "release", "release_id", "task_definition", "revision")


def bucket(settings) -> str:
    name = settings.release_bucket or settings.ui_bucket
    if not name:
        raise ConfigError("no bucket for release records",
                          "set TARS_RELEASE_BUCKET (or TARS_UI_BUCKET), or run inv deploy-infrastructure")
    return name


def new_id(commit: str, now: float) -> str:
    """Sortable by time, unique even for two records in the same millisecond."""
    import uuid

    millis = int(round((now % 1) * 1000)) % 1000
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{millis:03d}Z-{commit}-{uuid.uuid4().hex[:4]}"


def build(settings, components: dict[str, dict], *, commit: str, who: str, preflight: dict | None,
          command: str, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """A release record from each component's ``current()``."""
    now = clock()
    return {"release_id": new_id(commit, now), "env": settings.env, "project": settings.project,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "who": who, "commit": commit,
            "command": command, "preflight": preflight, "components": components}


def write(settings, record: dict[str, Any]) -> str:
    """Store ``record``; returns its S3 key."""
    from ..aws.errors import translate
    from ..aws.session import client

    key = PREFIX + record["release_id"] + ".json"
    with translate(f"write the release record to s3://{bucket(settings)}/{key}"):
        client("s3").put_object(Bucket=bucket(settings), Key=key, ContentType="application/json",
                                Body=json.dumps(record, indent=2, sort_keys=True, default=str).encode())
    return key


def list_ids(settings) -> list[str]:
    """Release ids, newest first."""
    from ..aws.errors import translate
    from ..aws.session import client

    ids: list[str] = []
    with translate(f"list release records in s3://{bucket(settings)}/{PREFIX}"):
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket(settings), Prefix=PREFIX)
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(PREFIX):]
                if name.endswith(".json") and "/" not in name:
                    ids.append(name[:-len(".json")])
    return sorted(ids, reverse=True)


def read(settings, release_id: str) -> dict[str, Any]:
    from ..aws.errors import error_code, translate
    from ..aws.session import client

    if not release_id or "/" in release_id:
        raise UsageError(f"'{release_id}' is not a release id", "inv releases lists them")
    key = PREFIX + release_id + ".json"
    try:
        with translate(f"read release record {release_id}"):
            body = client("s3").get_object(Bucket=bucket(settings), Key=key)["Body"].read()
    except Exception as exc:
        cause = exc.__cause__ or exc
        if error_code(cause) in ("NoSuchKey", "404"):
            raise UsageError(f"no release {release_id} in s3://{bucket(settings)}/{PREFIX}",
                             "inv releases lists them") from None
        raise
    return json.loads(body)


def latest(settings) -> dict[str, Any] | None:
    ids = list_ids(settings)
    return read(settings, ids[0]) if ids else None


def rollback_command(settings, release_id: str) -> str:
    """The exact command that returns this environment to ``release_id``."""
    where = " --local" if settings.is_local else f" --env {settings.env}"
    return f"inv rollback --to {release_id}{where}"


def rollback_target(state: dict[str, Any] | None) -> Any:
    """The value a component's rollback() takes, from what its current() said."""
    for key in ROLLBACK_KEYS:
        if state and state.get(key) not in (None, ""):
            return state[key]
    return None
