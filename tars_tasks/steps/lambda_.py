"""The Lambda component: plan (reads only), execute, current, rollback.

execute: update the code (RevisionId guard) -> wait (function_updated_v2) -> publish a version
(CodeSha256 + RevisionId guard, "commit <describe>") -> smoke-test that version by qualifier ->
only then point the alias (the alias's RevisionId guard) -> prune old versions. A failed smoke test
leaves the alias where it was.

Round trips (each one costs the network's latency): the alias's code is read while the zip builds
(``read_live``); under the lock only the aliases are read again (``confirm``: ListAliases, sent with
the lock's write), the guards of every later write make a change after that read fail instead of
being overwritten; the prune reuses that alias listing, lists the versions while the smoke test
runs and deletes in parallel. No call is made twice.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .. import console
from .. import plan as plan_base
from ..errors import ConfigError, Refused, StepFailed, UsageError
from ..outcome import DEPLOYED, UNCHANGED, Outcome
from .component import Live

COMPONENT = "lambda"
# What this plan reads that the infrastructure step makes: steps.pipeline plans it again after an
# infra deploy only when one changed (settings fields, and resource types without "aws_").
PLAN_INPUTS = {"settings": ("function_name", "alias", "artifact_bucket"),
               "resources": ("lambda_", "function_url")}
HEALTH_EVENT = {"action": "health"}


@dataclass(frozen=True)
class Plan(plan_base.Plan):
    component = COMPONENT
    function: str
    alias: str
    sha256_b64: str
    zip_path: str
    zip_size: int
    live_version: str | None = None      # where the alias points now (None: no alias yet)
    live_sha256: str | None = None
    upload: bool = False                 # $LATEST holds other code: UpdateFunctionCode first
    revision_id: str | None = None       # $LATEST's RevisionId when read
    timeout: int = 3                     # the function's Timeout (seconds)
    s3_location: tuple[str, str] | None = None
    description: str = ""
    smoke: bool = True
    keep_versions: int = 3
    reads: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    # read under the lock (confirm): the alias's RevisionId (UpdateAlias is refused if it moved since)
    # and every alias of the function (the prune never deletes an aliased version)
    alias_revision: str | None = field(default=None, compare=False)
    aliases: tuple | None = field(default=None, compare=False, repr=False)

    @property
    def has_changes(self) -> bool:
        return self.live_sha256 != self.sha256_b64

    @property
    def before(self) -> str | None:
        return self.live_version

    @property
    def after(self) -> str | None:
        return None if self.has_changes else self.live_version   # a new version: numbered when published

    def summary(self) -> list[str]:
        target = f"{self.function}:{self.alias}"
        if not self.has_changes:
            return [f"no changes: {target} (version {self.live_version}) already runs {self.sha256_b64}"]
        lines = list(self.notes)
        if self.upload:
            if self.s3_location:
                lines.append(f"upload {self.zip_path} ({self.zip_size:,} bytes) to s3://{'/'.join(self.s3_location)}")
            guard = f" RevisionId={self.revision_id}" if self.revision_id else ""
            lines += [f"UpdateFunctionCode {self.function} CodeSha256={self.sha256_b64}{guard}",
                      f"wait: function_updated_v2 on {self.function}"]
        else:
            lines.append(f"$LATEST of {self.function} already holds this code: no upload")
        lines.append(f"PublishVersion {self.function} CodeSha256={self.sha256_b64} Description='{self.description}'")
        lines.append(f"Invoke {self.function}:<new version> {json.dumps(HEALTH_EVENT)} (smoke test)"
                     if self.smoke else "smoke test skipped (--no-smoke)")
        verb = "UpdateAlias" if self.live_version else "CreateAlias"
        lines.append(f"{verb} {self.alias} -> <new version> (now {self.live_version or 'absent'})")
        lines.append(f"DeleteFunction for versions older than the newest {self.keep_versions}, never an aliased one")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "has_changes": self.has_changes, "summary": self.summary()}


def require_sign_in(settings) -> None:
    """A production env (TARS_PRODUCTION_ENVS) never gets the API without a user pool to check people
    against: the handler would refuse every person (503), so the deploy refuses first (exit 3).
    deploy --all plans the function again after infrastructure created the pool."""
    production = {e.strip() for e in str(settings.production_envs or "").split(",") if e.strip()}
    if settings.env in production and not settings.cognito_user_pool_id:
        raise Refused(f"refusing to deploy the API to {settings.env}: no user pool is configured "
                      "(cognito_user_pool_id), so nobody could sign in",
                      f"run inv deploy-infrastructure --env {settings.env} (it creates the pool), "
                      "or set TARS_COGNITO_USER_POOL_ID")


def read_live(settings) -> dict[str, Any] | None:
    """The configuration of the version the alias points to (None: no alias yet). One read, which
    does not need the zip: the task sends it while the zip builds (``plan(live=...)``)."""
    from ..aws import lambda_

    try:
        return lambda_.configuration(settings.clients, settings.function_name, settings.alias)
    except lambda_.QualifierMissing:
        return None   # no alias yet (or no function: the next read says which)


def plan(settings, artifact=None, *, smoke: bool = True, description: str | None = None,
         live: Callable[[], dict[str, Any] | None] | None = None) -> Plan:
    """Compare the artifact with the alias's version (1 read, or ``live()``: read_live's answer
    read earlier), then with $LATEST (1 more read)."""
    from ..aws import lambda_
    from ..artifacts import lambda_zip

    require_sign_in(settings)
    artifact = artifact or lambda_zip.build(settings)
    s3_location = None
    if artifact.needs_s3:   # checked before any AWS call
        settings.require("artifact_bucket", hint=f"the zip is {artifact.size:,} bytes, over Lambda's 50 MB direct "
                                                 "upload: set TARS_ARTIFACT_BUCKET (or inv deploy-infrastructure)")
        s3_location = (settings.artifact_bucket, f"lambda/{settings.function_name}/{_hex(artifact.sha256_b64)}.zip")
    fn, alias = settings.function_name, settings.alias
    base = dict(function=fn, alias=alias, sha256_b64=artifact.sha256_b64, zip_path=str(artifact.path),
                zip_size=artifact.size, smoke=smoke, keep_versions=int(settings.keep_versions),
                s3_location=s3_location)
    live = live() if live is not None else read_live(settings)
    if live is not None and live.get("CodeSha256") == artifact.sha256_b64:
        return Plan(**base, live_version=live["Version"], live_sha256=live["CodeSha256"],
                    timeout=int(live.get("Timeout") or 3), reads=1)
    latest = lambda_.configuration(settings.clients, fn)   # raises "function X not found"
    notes = () if live is not None else (f"alias {alias} does not exist yet: it will be created",)
    return Plan(**base, live_version=live and live["Version"], live_sha256=live and live.get("CodeSha256"),
                upload=latest.get("CodeSha256") != artifact.sha256_b64, revision_id=latest.get("RevisionId"),
                timeout=int(latest.get("Timeout") or 3), description=description or _description(settings),
                reads=2, notes=notes)


def confirm(settings, first: Plan, again: Callable[[], Plan]) -> Plan:
    """The plan under the lock: ``first`` when the alias still points where it was read (one
    ListAliases, sent while the lock is taken; the alias's RevisionId then guards UpdateAlias,
    $LATEST's RevisionId guards the upload and CodeSha256 the publish, so whatever moves after this
    read fails the deploy instead of being overwritten), else ``again()``: the whole plan read anew.
    ListAliases rather than GetAlias: the deploy role grants it already, and the prune needs it."""
    from dataclasses import replace

    from ..aws import lambda_

    listed = lambda_.aliases(settings.clients, first.function)
    found = next((a for a in listed if a.get("Name") == first.alias), {})
    if found.get("FunctionVersion") != first.live_version:
        return again()
    return replace(first, alias_revision=found.get("RevisionId"), aliases=tuple(listed))


def _description(settings) -> str:
    from ..tools import git

    return f"commit {git.describe(settings.root, ('lambda_src',))}"


def _hex(sha256_b64: str) -> str:
    import base64

    return base64.b64decode(sha256_b64).hex()


def execute(settings, plan: Plan, *, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.time, report: Callable[[str], None] | None = None) -> Outcome:
    from ..aws import lambda_

    if not plan.has_changes:
        return Outcome(COMPONENT, UNCHANGED, plan.live_version, plan.live_version, "no changes")
    report = report or console.detail   # progress prints through the console, in deploy-lambda and deploy --all alike
    started = clock()
    fn = plan.function
    retry = dict(sleep=sleep, delay=float(settings.waiter_delay), attempts=int(settings.max_attempts) + 3)
    revision = plan.revision_id
    if plan.upload:
        if plan.s3_location:
            report(f"uploading {plan.zip_size:,} bytes to s3://{'/'.join(plan.s3_location)}")
            lambda_.upload_artifact(settings.clients, *plan.s3_location, plan.zip_path)
            updated = lambda_.update_code(settings.clients, fn, s3=plan.s3_location, revision_id=revision, **retry)
        else:
            report(f"updating the code of {fn}")
            with open(plan.zip_path, "rb") as f:
                updated = lambda_.update_code(settings.clients, fn, zip_bytes=f.read(), revision_id=revision, **retry)
        _same_code(updated, plan, "after the upload")
        if updated.get("LastUpdateStatus") == "Successful" and updated.get("RevisionId"):
            revision = updated["RevisionId"]   # already done: nothing to wait for
        else:
            report("waiting for the update to finish")
            revision = lambda_.wait_updated(settings.clients, fn, delay=float(settings.waiter_delay),
                                            max_attempts=int(settings.waiter_max_attempts)).get("RevisionId")
    published = lambda_.publish(settings.clients, fn, code_sha256=plan.sha256_b64, revision_id=revision,
                                description=plan.description, **retry)
    version = published["Version"]
    _same_code(published, plan, f"in version {version}")
    report(f"published version {version} ({plan.description})")
    smoke = {"skipped": True}
    listing = _list_for_prune(settings, fn, plan.aliases)   # reads only: they go out with the smoke test
    try:
        if plan.smoke:
            report(f"smoke test: invoking {fn}:{version} with {json.dumps(HEALTH_EVENT)}")
            smoke = smoke_test(settings, fn, version, function_timeout=plan.timeout)
        lambda_.point_alias(settings.clients, fn, plan.alias, version, exists=plan.live_version is not None,
                            revision_id=plan.alias_revision)
    finally:
        if listing is not None:
            listing[0].shutdown(wait=True)
    report(f"alias {plan.alias}: {plan.live_version or 'absent'} -> {version}")
    pruned, prune_error = [], None
    if not settings.target.prunes_versions:
        # The local emulator (moto 5.2.5) numbers a new version len(versions) + 1: once one is
        # deleted it hands out a number that is still live (two "4"s), and the runtime then runs the
        # older one. So local mode keeps every version; pruning is for AWS.
        report(f"{settings.target.describe()}: old versions are kept (it would reuse their numbers)")
    else:
        try:
            listed = (listing[1].result(), listing[2].result())
            pruned = prune(settings.clients, fn, int(settings.keep_versions), protect={version}, listed=listed)
        except StepFailed as err:   # the deploy is done; a failed clean-up is only reported
            prune_error = err.message
    detail = "deployed, smoke test timed out" if smoke.get("timed_out") else "deployed"
    return Outcome(COMPONENT, DEPLOYED, plan.live_version, version, detail,
                   rollback_command=f"inv rollback-lambda --to {plan.live_version}" if plan.live_version else None,
                   elapsed=round(clock() - started, 3),
                   data={"sha256_b64": plan.sha256_b64, "description": plan.description, "smoke": smoke,
                         "pruned": pruned, "prune_error": prune_error})


def _same_code(config: dict, plan: Plan, where: str) -> None:
    sha = config.get("CodeSha256")
    if sha and sha != plan.sha256_b64:
        raise StepFailed(f"{plan.function} holds code {sha} {where}, not the zip's {plan.sha256_b64}",
                         "someone else deployed meanwhile: run inv deploy-lambda again (the alias did not move)")


def smoke_test(settings, fn: str, version: str, *, function_timeout: int) -> dict[str, Any]:
    """Invoke ``version`` once with the health event. Raises StepFailed on a bad reply; a timeout
    is returned as ``timed_out`` once the version is confirmed Active (the runbook's known case)."""
    from ..aws import lambda_

    timeout = max(float(settings.smoke_timeout), function_timeout + 10.0)
    try:
        response = settings.target.invoke(settings, fn, version, dict(HEALTH_EVENT), timeout=timeout)
    except (lambda_.InvokeTimedOut, TimeoutError):
        config = lambda_.configuration(settings.clients, fn, version)
        state, status = config.get("State"), config.get("LastUpdateStatus")
        if state not in (None, "Active") or status not in (None, "Successful"):
            raise StepFailed(f"smoke test of version {version} timed out and the version is {state}/{status}",
                             "the alias did not move; inv logs --since 10m shows why") from None
        return {"timed_out": True, "timeout": timeout, "state": state or "Active",
                "last_modified": config.get("LastModified")}
    ok, reason, body = judge_health(response)
    if not ok:
        raise StepFailed(f"smoke test of version {version} failed: {reason}",
                         "the alias did not move; inv logs --since 10m shows why")
    return {"timed_out": False, "reply": body}


def judge_health(response: dict) -> tuple[bool, str, dict]:
    """(ok, reason, reply body) for an invoke response of the health action."""
    raw = response.get("Payload") or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    shown = " ".join(text.split())[:200]   # one line in an error message
    if response.get("FunctionError"):
        return False, f"FunctionError {response['FunctionError']}: {shown}", {}
    if response.get("StatusCode") not in (200, None):
        return False, f"invoke status {response.get('StatusCode')}", {}
    try:
        reply = json.loads(text)
        body = json.loads(reply["body"]) if isinstance(reply.get("body"), str) else reply.get("body") or {}
    except (ValueError, TypeError, KeyError, AttributeError):
        return False, f"not a JSON reply: {shown}", {}
    if reply.get("statusCode") != 200:
        return False, f"statusCode {reply.get('statusCode')}: {shown}", body
    if not isinstance(body, dict) or body.get("status") != "ok":
        return False, f"health status is {body.get('status') if isinstance(body, dict) else body!r}, not ok", {}
    return True, "", body


def _list_for_prune(settings, fn: str, aliases: tuple | None):
    """(pool, versions future, aliases future) started now, or None when this target keeps every
    version. Versions listed after the publish (the new one is in them); the aliases as ``confirm``
    read them under the lock (else listed now), before the alias moves: the old version still
    counts as aliased, kept this time, which errs on the safe side."""
    from concurrent.futures import ThreadPoolExecutor

    from ..aws import lambda_

    if not settings.target.prunes_versions:
        return None
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tars-prune-list")
    read = (lambda: list(aliases)) if aliases is not None else (lambda: lambda_.aliases(settings.clients, fn))
    return pool, pool.submit(lambda_.versions, settings.clients, fn), pool.submit(read)


def prune(clients, fn: str, keep: int, protect: set[str] = frozenset(),
          listed: tuple[list, list] | None = None) -> list[str]:
    """Delete published versions beyond the newest ``keep``, never one an alias points to (or one
    in ``protect``). ``listed``: (versions, aliases) already read; the deletes run in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    from ..aws import lambda_

    found, alias_list = listed or (lambda_.versions(clients, fn), lambda_.aliases(clients, fn))
    numbers = sorted((v["Version"] for v in found), key=int, reverse=True)
    pinned = lambda_.aliased_versions(alias_list)
    doomed = [v for v in numbers[keep:] if v not in pinned and v not in protect]
    if doomed:
        with ThreadPoolExecutor(max_workers=min(8, len(doomed)), thread_name_prefix="tars-prune") as pool:
            for done in [pool.submit(lambda_.delete_version, clients, fn, v) for v in doomed]:
                done.result()   # the first failure is raised (StepFailed: reported, the deploy stands)
    return sorted(doomed, key=int)


def current(settings) -> Live:
    """The version the alias points at (the rollback target), its commit and date."""
    from ..aws import lambda_

    live = lambda_.alias_configuration(settings.clients, settings.function_name, settings.alias)
    record = {"function": settings.function_name, "alias": settings.alias, "version": None}
    if not live:
        return Live.not_deployed(COMPONENT, f"no alias {settings.alias} on {settings.function_name}", record)
    version, commit = str(live["Version"]), commit_of(live.get("Description", ""))
    record.update(version=version, code_sha256=live.get("CodeSha256"), last_modified=live.get("LastModified"),
                  description=live.get("Description", ""), commit=commit)
    return Live(COMPONENT, version=version, rollback_target=version, record=record,
                details=(("alias", settings.alias), ("version", version), ("commit", commit),
                         ("last_modified", live.get("LastModified"))))


def commit_of(description: str) -> str:
    return description.split("commit ", 1)[1].split()[0] if "commit " in (description or "") else ""


def history(settings) -> tuple[list[dict[str, Any]], str | None]:
    """([{version, commit, date, size, aliases}], the alias's current version), newest first."""
    from ..aws import lambda_

    fn = settings.function_name
    lambda_.configuration(settings.clients, fn)   # "function X not found" first
    pinned = lambda_.aliased_versions(lambda_.aliases(settings.clients, fn))
    rows = [{"version": v["Version"], "commit": commit_of(v.get("Description", "")), "date": v.get("LastModified", ""),
             "size": v.get("CodeSize", 0), "aliases": sorted(pinned.get(v["Version"], []))}
            for v in reversed(lambda_.versions(settings.clients, fn))]
    live = next((r["version"] for r in rows if settings.alias in r["aliases"]), None)
    return rows, live


def rollback_target(settings, target: str | None = None, known: tuple | None = None) -> tuple[str, str]:
    """(current, target) after checking the target (reads only; ``known`` = a history() result)."""
    rows, live = known or history(settings)
    if live is None:
        raise ConfigError(f"alias {settings.alias} of {settings.function_name} does not exist: nothing to roll back",
                          "deploy first: inv deploy-lambda")
    known = {r["version"] for r in rows}
    if target is None:
        older = [r["version"] for r in rows if int(r["version"]) < int(live)]
        if not older:
            raise UsageError(f"no version older than {live} to roll back to", "pick one with --to VERSION")
        return live, older[0]
    target = str(target).strip()
    if target.upper() == "$LATEST":
        raise UsageError("cannot roll back to $LATEST: an alias must point at a published version",
                         f"pick a version: {', '.join(sorted(known, key=int)) or 'none published'}")
    if target not in known:
        raise UsageError(f"version {target} of {settings.function_name} does not exist",
                         f"pick one of: {', '.join(sorted(known, key=int)) or 'none published'}")
    if target == live:
        raise UsageError(f"alias {settings.alias} already points at version {target}", "pick another one with --to")
    return live, target


@dataclass(frozen=True)
class RollbackPlan(plan_base.Plan):
    """rollback-lambda: point the alias from ``current`` back at the published version ``target``."""

    component = COMPONENT
    function: str
    alias: str
    current: str
    target: str

    has_changes = True   # rollback_target refuses the version the alias already points at

    @property
    def before(self) -> str:
        return self.current

    @property
    def after(self) -> str:
        return self.target

    def summary(self) -> list[str]:
        return [f"UpdateAlias {self.function}:{self.alias} -> version {self.target} (now {self.current})"]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}


def plan_rollback(settings, target: str | None = None, known: tuple | None = None) -> RollbackPlan:
    """The version to go back to (``target``, default the newest one older than the live one). Reads only."""
    before, after = rollback_target(settings, target, known)
    return RollbackPlan(settings.function_name, settings.alias, before, after)


def execute_rollback(settings, p: RollbackPlan) -> Outcome:
    from ..aws import lambda_

    lambda_.point_alias(settings.clients, p.function, p.alias, p.target)
    return Outcome(COMPONENT, DEPLOYED, p.current, p.target, f"alias {p.alias}: {p.current} -> {p.target}",
                   rollback_command=f"inv rollback-lambda --to {p.current}")


def rollback(settings, target: str | None = None, *, dry_run: bool = False, known: tuple | None = None) -> Outcome:
    """The component contract's rollback: plan, then execute it, or show it (``dry_run``)."""
    p = plan_rollback(settings, target, known)
    return p.preview() if dry_run else execute_rollback(settings, p)
