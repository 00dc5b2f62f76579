"""UI versions: the record (manifest) of each UI deploy, which one is live, retention.

A "UI version" is one deploy of the UI bundle; a "release" is a whole-deploy record of every
component (steps/release.py, ``inv releases``). The UI version records live on the release shelf
(steps/release.py: ``releases/<env>/ui/<id>.json`` in the private release bucket, never in the UI
bucket the site serves; the stored path and the record's ``release_id`` key keep their old names,
see docs/architecture.md). A record lists, for every file of a deploy, its key, SHA-256, MD5 (S3's
single-part ETag), size, headers and S3 version id. The live UI version is the newest record whose
every file is the current object (compared by ETag; by the stored SHA-256 for multipart objects).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from .. import console
from ..errors import Refused, UsageError


def new_id(commit: str, now: float) -> str:
    """Sortable by time: 20261128T010500123Z-<commit>."""
    from ..times import stamp

    return f"{stamp(now)}-{commit}"


def parallel(fn: Callable[[Any], Any], items: Iterable[Any], workers: int) -> dict[Any, Any]:
    items = list(items)
    if not items:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tars-ui-read") as pool:
        return dict(zip(items, pool.map(fn, items)))


def record(plan, versions: dict[str, str | None], now: float) -> dict[str, Any]:
    files = [{"key": f.key, "sha256": f.sha256, "md5": f.md5, "size": f.size, "content_type": f.content_type,
              "cache_control": f.cache_control, "version_id": versions.get(f.key, f.version_id)}
             for f in plan.files]
    return {"release_id": plan.release_id, "commit": plan.commit, "bucket": plan.bucket,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "versioned": plan.versioned,
            "files": files}


class Store:
    """The UI version records on ``shelf`` (newest first, read lazily) against the UI bucket's listing."""

    def __init__(self, bucket: str, listing: dict[str, dict], shelf):
        self.bucket, self.listing, self.shelf = bucket, listing, shelf
        self.ids = shelf.ids(legacy_keys=listing if shelf.legacy_bucket == bucket else None)
        self._records: dict[str, dict] = {}
        self._live: dict | None | bool = False

    def load(self, version_id: str) -> dict:
        from ..errors import StepFailed

        if version_id not in self._records:
            record = self.shelf.read(version_id)
            if record is None:   # listed a moment ago: another deploy moved or deleted it
                raise StepFailed(f"UI version record {version_id} disappeared while reading it",
                                 "run the task again")
            self._records[version_id] = record
        return self._records[version_id]

    def _is_current(self, entry: dict) -> bool:
        from ..aws import s3

        obj = self.listing.get(entry["key"])
        if obj is None:
            return False
        if obj["etag"] == entry["md5"]:
            return True
        if "-" in obj["etag"]:  # multipart: the ETag is no MD5; compare the stored content hash
            head = s3.head(self.shelf.clients, self.bucket, entry["key"]) or {}
            return head.get("metadata", {}).get("sha256") == entry["sha256"]
        return False

    def live(self) -> dict | None:
        """The newest UI version whose every file is live, or None."""
        if self._live is False:
            self._live = next((self.load(r) for r in self.ids
                               if all(self._is_current(e) for e in self.load(r)["files"])), None)
        return self._live  # type: ignore[return-value]

    def kept(self, new_id: str, keep: int) -> tuple[str, ...]:
        """The new UI version, then the live one, then the newest others: ``keep`` in all."""
        out = [new_id]
        live = self.live()
        if live and len(out) < keep:
            out.append(live["release_id"])
        for rid in self.ids:
            if len(out) >= keep:
                break
            if rid not in out:
                out.append(rid)
        return tuple(out)

    def keys_of(self, version_ids: Iterable[str]) -> set[str]:
        return {e["key"] for rid in version_ids if rid in self.ids for e in self.load(rid)["files"]}

    def target(self, target: str | None, live: str | None) -> dict:
        """The record to roll back to: ``target``, or the UI version before the live one."""
        if target:
            if target not in self.ids:
                listed = ", ".join(self.ids[:5]) or "none recorded"
                raise UsageError(f"unknown UI version {target}", f"inv ui-versions lists them (newest: {listed})")
            return self.load(target)
        if not self.ids:
            raise Refused("no UI version is recorded in this bucket: nothing to roll back to",
                          "deploy with inv deploy-ui first")
        if live is None:
            raise Refused("no recorded UI version is live now, so there is no 'previous' one",
                          "name one: inv rollback-ui --to VERSION (inv ui-versions lists them)")
        older = self.ids[self.ids.index(live) + 1:]
        if not older:
            raise Refused(f"UI version {live} is the oldest recorded: nothing before it", "inv ui-versions lists them")
        return self.load(older[0])


def check_versions(clients, bucket: str, rec: dict, workers: int) -> None:
    """Refused (before any change) unless every recorded object version still exists."""
    from ..aws import s3

    rid = rec["release_id"]
    unversioned = [e["key"] for e in rec["files"] if not e.get("version_id")]
    if unversioned:
        raise Refused(f"UI version {rid} was recorded without S3 object versions (bucket versioning was off)",
                      "it cannot be restored; redeploy that commit with inv deploy-ui", details=unversioned[:10])
    found = parallel(lambda e: s3.head(clients, bucket, e[0], e[1]) is not None,
                     [(e["key"], e["version_id"]) for e in rec["files"]], workers)
    missing = [f"{key} (version {vid})" for (key, vid), ok in found.items() if not ok]
    if missing:
        raise Refused(f"UI version {rid} cannot be restored: {len(missing)} object versions are gone",
                      "pick another UI version (inv ui-versions), or redeploy that commit", details=missing[:10])


def invalidate(settings, distribution_id: str, paths: list[str], reference: str, *, wait: bool,
               sleep: Callable[[float], None]) -> dict | None:
    from ..aws import cloudfront

    if not paths:
        return None
    inv_id = cloudfront.invalidate(settings.clients, distribution_id, paths, reference, delay=settings.waiter_delay,
                                   max_attempts=settings.waiter_max_attempts, sleep=sleep)
    if wait:
        with console.status(f"waiting for invalidation {inv_id} on {distribution_id}"):
            cloudfront.wait_completed(settings.clients, distribution_id, inv_id, delay=settings.waiter_delay,
                                      max_attempts=settings.waiter_max_attempts)
    return {"id": inv_id, "paths": paths, "waited": wait}
