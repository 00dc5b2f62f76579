"""The triage UI on S3 + CloudFront: plan, execute, current, rollback (see steps/__init__).

Safety core: every asset is uploaded first (in parallel); HTML only after every asset succeeded,
``index.html`` the very last, so the live page never references a missing file. Stale objects are
deleted only after the switch, and only those in no UI version among the newest ``keep_versions``
(the UI version live before the switch is always kept). Each deploy writes a UI version record
(steps/ui_versions.py) listing every file's key, hash and S3 version id, on the release shelf
(steps/release.py: the private release bucket, never the UI bucket, so neither the site nor this
sweep can reach it); a rollback copies those versions back (assets first, HTML last) without
rebuilding.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from .. import console
from .. import plan as plan_base
from ..artifacts.ui_bundle import IMMUTABLE, Bundle, is_hashed_asset, is_html
from ..errors import Refused
from ..outcome import DEPLOYED, UNCHANGED, Outcome
from . import release
from . import ui_versions
from .component import Live
from .ui_transfer import run_ordered

UPLOAD, HEADERS, SAME = "upload", "headers", "unchanged"
# What this plan reads that the infrastructure step makes: steps.pipeline plans it again after an
# infra deploy only when one changed (settings fields, and resource types without "aws_"). The
# bundle's build input is VITE_API_ENDPOINT; UI version records live on the release shelf.
PLAN_INPUTS = {"settings": ("ui_bucket", "distribution_id", "vite_api_endpoint", "site_url", "release_bucket",
                            "artifact_bucket"),
               "resources": ("s3_", "cloudfront_")}


@dataclass(frozen=True)
class FilePlan:
    key: str
    path: str
    size: int
    md5: str
    sha256: str
    content_type: str
    cache_control: str
    action: str
    version_id: str | None = None   # of the object already live, when unchanged

    @property
    def html(self) -> bool:
        return is_html(self.key)


@dataclass(frozen=True)
class UiPlan(plan_base.Plan):
    component = "ui"
    bucket: str
    distribution_id: str
    site_url: str
    versioned: bool
    release_id: str
    commit: str
    live_release: str | None
    files: tuple[FilePlan, ...]
    deletes: tuple[str, ...]
    kept_releases: tuple[str, ...]
    invalidation_paths: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    legacy_records: tuple[str, ...] = ()   # UI records an older version left in this bucket: moved first

    def _with(self, action: str) -> list[FilePlan]:
        return [f for f in self.files if f.action == action]

    @property
    def has_changes(self) -> bool:
        return any(f.action != SAME for f in self.files)

    @property
    def before(self) -> str | None:
        return self.live_release

    @property
    def after(self) -> str | None:
        return self.release_id if self.has_changes else self.live_release

    def summary(self) -> list[str]:
        up, hd, same = self._with(UPLOAD), self._with(HEADERS), self._with(SAME)
        if not self.has_changes:
            return [f"no changes: {len(same)} files already live in s3://{self.bucket} "
                    f"(UI version {self.live_release or 'unrecorded'})"]
        lines = [f"{len(up)} to upload ({sum(f.size for f in up)} bytes), {len(hd)} to update headers, "
                 f"{len(same)} unchanged, {len(self.deletes)} stale to delete after the switch"]
        lines += [f"  upload  {f.key}  ({f.size} bytes, {f.cache_control})" for f in up]
        lines += [f"  headers {f.key}  ({f.content_type}; {f.cache_control})" for f in hd]
        lines += [f"  delete  {k}" for k in self.deletes]
        lines.append(f"UI version {self.release_id} (commit {self.commit}); keeps {', '.join(self.kept_releases)}")
        lines.append("invalidate " + (", ".join(self.invalidation_paths) or "nothing (only immutable assets)")
                     + f" on {self.distribution_id}")
        if self.excluded:
            lines.append(f"{len(self.excluded)} source maps not uploaded (--sourcemaps uploads them)")
        return lines

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = {a: len(self._with(a)) for a in (UPLOAD, HEADERS, SAME)}
        data["counts"]["delete"] = len(self.deletes)
        data["has_changes"] = self.has_changes
        return data


def _settings_names(settings) -> tuple[str, str]:
    settings.require("ui_bucket", "distribution_id")
    return settings.ui_bucket, settings.distribution_id


def _check_target(settings, allow_unversioned: bool) -> tuple[str, str, str, bool, dict]:
    """Bucket exists, versioning is on (or allowed off), distribution exists; and the bucket's listing.

    The three reads run concurrently (boto3 clients are thread-safe; the run's Clients makes them
    one at a time). Returns (bucket, distribution id, site URL, versioned, listing).
    """
    from ..aws import cloudfront, s3

    bucket, dist = _settings_names(settings)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="tars-ui-check") as pool:
        versioning = pool.submit(s3.versioning_enabled, settings.clients, bucket)
        domain = pool.submit(cloudfront.domain_name, settings.clients, dist)
        listing = pool.submit(s3.list_objects, settings.clients, bucket)
        versioned = versioning.result()  # a missing bucket is reported first
        site_domain = domain.result()
        objects = listing.result()
    if not versioned and not allow_unversioned:
        raise Refused(f"bucket {bucket} has versioning off: a UI version could not be rolled back",
                      f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration "
                      f"Status=Enabled (or --allow-unversioned: rollback then unavailable)")
    return bucket, dist, settings.site_url or f"https://{site_domain}", versioned, objects


def plan(settings, bundle: Bundle, *, keep_versions: int = 2, allow_unversioned: bool = False,
         invalidate_all: bool = False, workers: int = 8, commit: str | None = None,
         clock: Callable[[], float] = time.time) -> UiPlan:
    """Compare the bundle with the bucket by content and headers. Reads only."""
    from ..aws import cloudfront, s3
    from ..tools import git

    bucket, dist, site_url, versioned, listing = _check_target(settings, allow_unversioned)
    store = ui_versions.Store(bucket, listing, release.shelf(settings, release.UI))
    live = store.live()
    known = {e["key"]: e for e in (live or {}).get("files", [])}
    need_head = [f.key for f in bundle.files if f.key in listing
                 and known.get(f.key, {}).get("md5") != listing[f.key]["etag"]]
    heads = ui_versions.parallel(lambda k: s3.head(settings.clients, bucket, k), need_head, workers)

    files = []
    for f in bundle.files:
        obj = listing.get(f.key)
        action, version = UPLOAD, None
        if obj is not None and not (f.key in heads and heads[f.key] is None):
            entry = known.get(f.key) if f.key not in heads else None
            head = heads.get(f.key) or {}
            seen = entry or {"sha256": head.get("metadata", {}).get("sha256"), "version_id": head.get("version_id"),
                             "content_type": head.get("content_type"), "cache_control": head.get("cache_control")}
            same_body = obj["etag"] == f.md5 or seen.get("sha256") == f.sha256
            same_headers = (seen.get("content_type"), seen.get("cache_control")) == (f.content_type, f.cache_control)
            if same_body:
                action = SAME if same_headers else HEADERS
                version = seen.get("version_id")
        files.append(FilePlan(f.key, str(f.path), f.size, f.md5, f.sha256, f.content_type, f.cache_control,
                              action, version))
    changed = any(f.action != SAME for f in files)
    release_id = ui_versions.new_id(commit or git.describe(settings.root, ("ui",)), clock())
    kept = store.kept(release_id, keep_versions) if changed else ()
    deletes: tuple[str, ...] = ()
    if changed and live is not None:  # no recorded live UI version (old script's files): keep them all
        wanted = set(bundle.by_key()) | store.keys_of(kept)
        legacy = tuple(release.LEGACY_PREFIXES.values())   # moved by Shelf.migrate, never swept
        deletes = tuple(sorted(k for k in listing if not k.startswith(legacy) and k not in wanted))
    mutable = [f.key for f in files if f.action != SAME and f.cache_control != IMMUTABLE]
    mutable += [k for k in deletes if not is_hashed_asset(k)]
    paths = cloudfront.paths_for(mutable, invalidate_all and changed)
    return UiPlan(bucket, dist, site_url, versioned, release_id, release_id.split("-", 1)[1],
                  (live or {}).get("release_id"), tuple(files), deletes, tuple(kept), tuple(paths),
                  bundle.excluded, tuple(store.shelf.legacy_ids(listing)))


def execute(settings, plan: UiPlan, *, workers: int = 8, wait: bool = False,
            clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Upload assets, then HTML (index.html last), record the UI version, delete stale, invalidate."""
    from ..aws import s3

    started = clock()
    if not plan.has_changes:
        return Outcome("ui", UNCHANGED, plan.live_release, plan.live_release, "no changes", elapsed=0.0,
                       data={"site_url": plan.site_url})

    def transfer(f: FilePlan) -> str | None:
        if f.action == HEADERS:
            return s3.copy_in_place(settings.clients, plan.bucket, f.key, content_type=f.content_type,
                                    cache_control=f.cache_control, sha256=f.sha256)
        return s3.put_file(settings.clients, plan.bucket, f.key, Path(f.path), content_type=f.content_type,
                           cache_control=f.cache_control, sha256=f.sha256)

    shelf = release.shelf(settings, release.UI)
    shelf.migrate(plan.legacy_records)   # records an older version left in the UI bucket: out of reach first
    todo = [f for f in plan.files if f.action != SAME]
    versions = run_ordered(todo, transfer, workers=workers, live=plan.live_release, what="upload")
    shelf.write(ui_versions.record(plan, versions, clock()))
    deleted = s3.delete_keys(settings.clients, plan.bucket, plan.deletes) if plan.deletes else 0
    invalidation = ui_versions.invalidate(settings, plan.distribution_id, list(plan.invalidation_paths),
                                       plan.release_id, wait=wait, sleep=sleep)
    up = sum(1 for f in todo if f.action == UPLOAD)
    return Outcome("ui", DEPLOYED, plan.live_release, plan.release_id,
                   f"{up} uploaded, {len(todo) - up} headers updated, {deleted} stale deleted",
                   rollback_command=(f"inv rollback-ui --to {plan.live_release}" if plan.live_release else None),
                   elapsed=clock() - started,
                   data={"site_url": plan.site_url, "invalidation": invalidation, "deleted": list(plan.deletes),
                         "uploaded": [f.key for f in todo if f.action == UPLOAD],
                         "headers_updated": [f.key for f in todo if f.action == HEADERS]})


def current(settings) -> Live:
    """The live release (its id is the rollback target; its record: id, commit, time, files), or
    not deployed when no recorded release is wholly live."""
    from ..aws import s3

    bucket, _ = _settings_names(settings)
    s3.check_bucket(settings.clients, bucket)
    record = ui_versions.Store(bucket, s3.list_objects(settings.clients, bucket), release.shelf(settings, release.UI)).live()
    if not record:
        return Live.not_deployed("ui", f"no recorded UI version is live in {bucket}")
    rid = record["release_id"]
    return Live("ui", version=rid, rollback_target=rid, record=record,
                details=(("release_id", rid), ("commit", record.get("commit")), ("time", record.get("time")),
                         ("bucket", record.get("bucket")), ("versioned", record.get("versioned"))))


def list_versions(settings) -> list[dict]:
    """Every UI version record, newest first, each with ``live`` true for the one users see."""
    from ..aws import s3

    bucket, _ = _settings_names(settings)
    s3.check_bucket(settings.clients, bucket)
    store = ui_versions.Store(bucket, s3.list_objects(settings.clients, bucket), release.shelf(settings, release.UI))
    live = (store.live() or {}).get("release_id")
    return [dict(store.load(rid), live=(rid == live)) for rid in store.ids]


@dataclass(frozen=True)
class RollbackPlan(plan_base.Plan):
    """rollback-ui: copy the recorded S3 versions of UI version ``target`` back (assets first, HTML last)."""

    component = "ui"
    bucket: str
    distribution_id: str
    site_url: str
    live: str | None
    target: str
    restore: tuple[tuple[str, str, int], ...]   # (key, version id, size) of each file to copy back
    invalidation_paths: tuple[str, ...]

    @property
    def has_changes(self) -> bool:
        return self.target != self.live

    @property
    def before(self) -> str | None:
        return self.live

    @property
    def after(self) -> str:
        return self.target

    def summary(self) -> list[str]:
        if not self.has_changes:
            return [f"UI version {self.live} is already live"]
        return [f"restore {len(self.restore)} files of UI version {self.target}; invalidate "
                f"{', '.join(self.invalidation_paths) or 'nothing'}"]

    def as_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "distribution_id": self.distribution_id, "live": self.live,
                "target": self.target, "restore": [key for key, _, _ in self.restore],
                "invalidate": list(self.invalidation_paths), "has_changes": self.has_changes,
                "summary": self.summary()}


def plan_rollback(settings, target: str | None = None, *, workers: int = 8,
                  invalidate_all: bool = False) -> RollbackPlan:
    """UI version ``target`` (default: the one before the live one), the files that differ from it,
    and what to invalidate. Reads only; refuses a UI version whose recorded S3 versions are gone."""
    from ..aws import cloudfront

    bucket, dist, site_url, _, listing = _check_target(settings, allow_unversioned=True)
    store = ui_versions.Store(bucket, listing, release.shelf(settings, release.UI))
    live = (store.live() or {}).get("release_id")
    record = store.target(target, live)
    if record["release_id"] == live:
        return RollbackPlan(bucket, dist, site_url, live, live, (), ())
    ui_versions.check_versions(settings.clients, bucket, record, workers)
    live_files = {e["key"]: e for e in (store.load(live) if live else {}).get("files", [])}
    todo = [e for e in record["files"] if listing.get(e["key"], {}).get("etag") != e["md5"]
            or (e["key"] in live_files and (live_files[e["key"]]["content_type"], live_files[e["key"]]["cache_control"])
                != (e["content_type"], e["cache_control"]))]
    mutable = [e["key"] for e in todo if e["cache_control"] != IMMUTABLE]
    return RollbackPlan(bucket, dist, site_url, live, record["release_id"],
                        tuple((e["key"], e["version_id"], int(e.get("size", 0))) for e in todo),
                        tuple(cloudfront.paths_for(mutable, invalidate_all)))


def execute_rollback(settings, p: RollbackPlan, *, workers: int = 8, wait: bool = False,
                     sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> Outcome:
    """Copy the plan's versions back (assets first, HTML last), then invalidate."""
    from ..aws import s3

    started = clock()
    if not p.has_changes:
        return Outcome("ui", UNCHANGED, p.live, p.live, p.summary()[0], data={"site_url": p.site_url})
    run_ordered([{"key": key, "version_id": version, "size": size} for key, version, size in p.restore],
                lambda e: s3.restore_version(settings.clients, p.bucket, e["key"], e["version_id"]),
                workers=workers, live=p.live, what="restore")
    invalidation = ui_versions.invalidate(settings, p.distribution_id, list(p.invalidation_paths),
                                       f"rollback-{p.target}-{int(clock())}", wait=wait, sleep=sleep)
    return Outcome("ui", DEPLOYED, p.live, p.target, p.summary()[0],
                   rollback_command=(f"inv rollback-ui --to {p.live}" if p.live else None), elapsed=clock() - started,
                   data={"site_url": p.site_url, "restored": [key for key, _, _ in p.restore],
                         "invalidation": invalidation})


def rollback(settings, target: str | None = None, *, dry_run: bool = False, workers: int = 8,
             invalidate_all: bool = False, wait: bool = False,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> Outcome:
    """The component contract's rollback: plan it, then execute it, or show it (``dry_run``)."""
    p = plan_rollback(settings, target, workers=workers, invalidate_all=invalidate_all)
    if dry_run:
        return p.preview()
    return execute_rollback(settings, p, workers=workers, wait=wait, sleep=sleep, clock=clock)


def print_plan(plan: UiPlan) -> None:
    for line in plan.summary():
        console.detail(line)
