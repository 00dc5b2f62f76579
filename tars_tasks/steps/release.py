"""Release records: what was live after each successful `inv deploy`, and each UI deploy's manifest.

Where they live: the private release bucket (settings.release_bucket, else the artifact bucket),
under ``releases/<env>/deploys/<id>.json`` (whole-deploy records) and ``releases/<env>/ui/<id>.json``
(UI manifests: every file's key, hash and S3 version). That bucket is never served (CloudFront's
only origin is the UI bucket) and no sweep touches it (the UI deploy sweeps only the UI bucket;
the artifact bucket's 30-day expiry applies to ``lambda/`` only). Older versions of this tool kept
them in the UI bucket (``_deploys/``, ``_releases/``), where the site served them and the UI sweep
deleted ``_deploys/``: they are still read there, and :meth:`Shelf.migrate` moves them once
(copy if absent, then delete the old key; running it again finds nothing to move).

Release ids sort by time: ``20261128T010500123Z-abc123def456-9f2e``. Read by `inv releases`,
`inv rollback --to`, `inv status` and preflight's rollback-plan item.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..errors import ConfigError, UsageError
from .component import Live

RECORDS_PREFIX = "releases/"
DEPLOYS, UI = "deploys", "ui"
LEGACY_PREFIXES = {DEPLOYS: "_deploys/", UI: "_releases/"}   # in the UI bucket, before this layout


@dataclass(frozen=True)
class Shelf:
    """One kind of release record: where it is written, and where older versions left it."""

    clients: Any = field(compare=False, repr=False)
    bucket: str = ""
    prefix: str = ""
    legacy_bucket: str | None = None
    legacy_prefix: str = ""

    def key(self, release_id: str) -> str:
        return f"{self.prefix}{release_id}.json"

    def _ids_in(self, bucket: str, prefix: str) -> set[str]:
        from ..aws import s3

        names = (k[len(prefix):] for k in s3.list_objects(self.clients, bucket, prefix))
        return {n[:-len(".json")] for n in names if n.endswith(".json") and "/" not in n}

    def _legacy_ids(self, legacy_keys: Iterable[str] | None = None) -> set[str]:
        """Ids of the records in the old place: from ``legacy_keys`` (a listing of the legacy bucket
        the caller already holds), else listed."""
        from ..aws.errors import error_code

        if not self.legacy_bucket:
            return set()
        if legacy_keys is not None:
            names = (k[len(self.legacy_prefix):] for k in legacy_keys if k.startswith(self.legacy_prefix))
            return {n[:-len(".json")] for n in names if n.endswith(".json") and "/" not in n}
        try:
            return self._ids_in(self.legacy_bucket, self.legacy_prefix)
        except ConfigError as err:
            if error_code(err.__cause__) == "NoSuchBucket":   # no UI bucket (yet): nothing was left there
                return set()
            raise

    def ids(self, legacy_keys: Iterable[str] | None = None) -> list[str]:
        """Every release id, here or in the old place, newest first."""
        return sorted(self._ids_in(self.bucket, self.prefix) | self._legacy_ids(legacy_keys), reverse=True)

    def legacy_ids(self, legacy_keys: Iterable[str] | None = None) -> list[str]:
        return sorted(self._legacy_ids(legacy_keys))

    def read(self, release_id: str) -> dict[str, Any] | None:
        from ..aws import s3

        found = s3.get_json_or_none(self.clients, self.bucket, self.key(release_id))
        if found is None and self.legacy_bucket:
            found = s3.get_json_or_none(self.clients, self.legacy_bucket, f"{self.legacy_prefix}{release_id}.json")
        return found

    def write(self, record: dict[str, Any]) -> str:
        from ..aws import s3

        key = self.key(record["release_id"])
        s3.put_json(self.clients, self.bucket, key, json.loads(json.dumps(record, default=str)))
        return key

    def migrate(self, release_ids: Iterable[str] | None = None) -> list[str]:
        """Move records from the old place (``release_ids``, else all found there). Idempotent:
        copy when absent here, then delete there."""
        from ..aws import s3

        moved = []
        for rid in sorted(self._legacy_ids() if release_ids is None else release_ids):
            old = f"{self.legacy_prefix}{rid}.json"
            if s3.head(self.clients, self.bucket, self.key(rid)) is None:
                s3.copy(self.clients, self.legacy_bucket, old, self.bucket, self.key(rid))
            s3.delete_keys(self.clients, self.legacy_bucket, [old])
            moved.append(rid)
        return moved


def records_bucket(settings) -> str:
    name = settings.release_bucket or settings.artifact_bucket
    if not name:
        raise ConfigError("no bucket for release records",
                          "set TARS_RELEASE_BUCKET (or TARS_ARTIFACT_BUCKET), or run inv deploy-infrastructure")
    if name == settings.ui_bucket:
        raise ConfigError(f"release records cannot live in the UI bucket {name}: the site serves it and "
                          "the UI deploy sweeps it", "point TARS_RELEASE_BUCKET at a private bucket "
                          "(default: the artifact bucket)")
    return name


def shelf(settings, kind: str = DEPLOYS) -> Shelf:
    legacy = settings.ui_bucket if kind == UI else (settings.release_bucket or settings.ui_bucket)
    return Shelf(settings.clients, records_bucket(settings), f"{RECORDS_PREFIX}{settings.env}/{kind}/", legacy,
                 LEGACY_PREFIXES[kind])


def new_id(commit: str, now: float) -> str:
    """Sortable by time, unique even for two records in the same millisecond."""
    import uuid

    from ..times import stamp

    return f"{stamp(now)}-{commit}-{uuid.uuid4().hex[:4]}"


def build(settings, components: Mapping[str, Live], *, commit: str, who: str, preflight: dict | None,
          command: str, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """A release record from each component's ``current()`` (each stored as :meth:`Live.as_record`)."""
    now = clock()
    return {"release_id": new_id(commit, now), "env": settings.env, "project": settings.project,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "who": who, "commit": commit,
            "command": command, "preflight": preflight,
            "components": {name: live.as_record() for name, live in components.items()}}


def write(settings, record: dict[str, Any]) -> str:
    """Store ``record`` (moving any record the old layout left first); returns its S3 key."""
    where = shelf(settings)
    where.migrate()
    return where.write(record)


def list_ids(settings) -> list[str]:
    """Release ids, newest first."""
    return shelf(settings).ids()


def read(settings, release_id: str) -> dict[str, Any]:
    if not release_id or "/" in release_id:
        raise UsageError(f"'{release_id}' is not a release id", "inv releases lists them")
    where = shelf(settings)
    record = where.read(release_id)
    if record is None:
        raise UsageError(f"no release {release_id} in s3://{where.bucket}/{where.prefix}", "inv releases lists them")
    return record


def latest(settings) -> dict[str, Any] | None:
    ids = list_ids(settings)
    return read(settings, ids[0]) if ids else None


def rollback_command(settings, release_id: str) -> str:
    """The exact command that returns this environment to ``release_id``."""
    return f"inv rollback --to {release_id}{settings.target_args}"


def recorded(record: dict[str, Any] | None, name: str) -> Live:
    """What ``record`` says component ``name`` had live (records of older versions included)."""
    return Live.from_record(name, ((record or {}).get("components") or {}).get(name))


def matches(record: dict[str, Any] | None, states: Mapping[str, Live], names) -> bool:
    """True when ``record`` names the same rollback target as ``states`` for every component in ``names``."""
    if not record:
        return False
    return all(recorded(record, n).rollback_target == (states[n].rollback_target if n in states else None)
               for n in names)
