"""deploy-ui, rollback-ui, ui-versions: replaces deploy-ui.sh (npm build, two s3 syncs, /* invalidation).

A "UI version" is one deploy of the UI bundle (its record: steps/ui_versions.py); a "release" is the
whole-deploy record of ``inv deploy`` (``inv releases``, ``inv rollback --to``). ``inv releases-ui``
and ``--keep-releases``, the old names, still work.
"""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..errors import UsageError
from ..skeleton import CHANGES, READS, load_settings, run, tars_task

DEFAULT_WORKERS = 32   # with latency, uploads wait on round trips, not CPU: one per file up to this many
MAX_WORKERS = 64       # the S3 client's connection pool (aws/clients.POOL_SIZE)
DEFAULT_KEEP = 2


def _keep(keep_versions, keep_releases) -> int:
    """--keep-versions, or its old name --keep-releases (deprecated: a warning)."""
    if keep_releases is not None:
        if keep_versions is not None and str(keep_versions) != str(keep_releases):
            raise UsageError(f"--keep-versions {keep_versions} and --keep-releases {keep_releases} disagree",
                             "pass only --keep-versions (--keep-releases is its old name)")
        console.warn("--keep-releases is deprecated: use --keep-versions (the same number)")
    return _count(keep_versions if keep_versions is not None else keep_releases, DEFAULT_KEEP,
                  "--keep-versions" if keep_versions is not None or keep_releases is None else "--keep-releases")


def _count(value, default: int, flag: str, most: int | None = None) -> int:
    if value is None:
        return default
    try:
        n = int(str(value))
    except ValueError:
        n = 0
    if n < 1 or (most is not None and n > most):
        limit = f"between 1 and {most}" if most is not None else "at least 1"
        raise UsageError(f"{flag} must be a whole number {limit}, not {value!r}", f"for example {flag} {default}")
    return n


@tars_task(auto_shortflags=False, common=CHANGES, help={
    "workers": f"parallel uploads, at most {MAX_WORKERS} (default: one per file, up to {DEFAULT_WORKERS})",
    "keep_versions": f"UI versions whose files stay in the bucket, the new one included (default {DEFAULT_KEEP})",
    "keep_releases": "deprecated: the old name of --keep-versions",
    "sourcemaps": "upload the *.map source maps too (left out by default)",
    "invalidate_all": "invalidate /* instead of only the changed HTML and non-hashed paths",
    "wait": "wait until the CloudFront invalidation has completed",
    "allow_unversioned": "deploy to a bucket with versioning off (rollback-ui is then unavailable)",
    "api_endpoint": "VITE_API_ENDPOINT for the build (default: settings / Terraform output api_endpoint)",
    "skip_build": "deploy the existing ui/dist without running npm",
})
def deploy_ui(c, flags, workers=None, keep_versions=None, keep_releases=None, sourcemaps=False, invalidate_all=False,
              wait=False, allow_unversioned=False, api_endpoint=None, skip_build=False):
    """Build the UI and publish it: assets first, index.html last, then invalidate what changed."""
    import time

    from ..artifacts import ui_bundle
    from ..steps import ui as steps

    settings = load_settings(c, flags, vite_api_endpoint=api_endpoint)
    n_workers = _count(workers, DEFAULT_WORKERS, "--workers", MAX_WORKERS)
    keep = _keep(keep_versions, keep_releases)
    settings.require("ui_bucket", "distribution_id")
    dist = settings.root / "ui" / "dist"
    if skip_build:
        if not (dist / "index.html").is_file():  # nothing built: a usage problem, not a failed step
            raise UsageError(f"--skip-build but nothing is built: no index.html in {dist}",
                             "run inv deploy-ui without --skip-build (it builds the UI first)")
        console.step(f"Using the existing build in {dist}")
    else:
        console.step("Building the UI")
        dist = ui_bundle.build(settings, on_step=console.detail)
    bundle = ui_bundle.scan(dist, sourcemaps=sourcemaps)
    stamped = time.time()   # one release id for the plan shown and the re-plan under the lock
    console.step(f"Comparing {len(bundle.files)} files with s3://{settings.ui_bucket}")
    plan, outcome = run(settings, "deploy-ui", lambda: steps.plan(
        settings, bundle, keep_versions=keep, allow_unversioned=allow_unversioned, invalidate_all=invalidate_all,
        workers=n_workers, clock=lambda: stamped), lambda plan: steps.execute(settings, plan, workers=n_workers,
                                                                              wait=wait),
        json=flags.json, component="ui", dry_run=flags.dry_run, yes=flags.yes, show=steps.print_plan,
        question=lambda plan: f"Publish UI version {plan.release_id} to s3://{plan.bucket}?")
    if flags.dry_run:
        console.ok("dry run: nothing changed")
        return
    if outcome.status == "unchanged":
        console.ok("no changes: nothing uploaded, nothing invalidated")
    else:
        console.ok(f"UI version {outcome.after} is live: {outcome.detail}")
        inv = outcome.data.get("invalidation")
        console.detail(f"invalidated {', '.join(inv['paths'])} ({inv['id']})" if inv else "nothing to invalidate")
        if outcome.rollback_command:
            console.detail(f"undo with: {outcome.rollback_command}")
    console.info(f"site: {plan.site_url}")


@tars_task(auto_shortflags=False, common=CHANGES, help={
    "to": "UI version id to restore (default: the one before the live one; see inv ui-versions)",
    "workers": f"parallel restores, at most {MAX_WORKERS} (default {DEFAULT_WORKERS})",
    "invalidate_all": "invalidate /* instead of only the restored HTML and non-hashed paths",
    "wait": "wait until the CloudFront invalidation has completed",
})
def rollback_ui(c, flags, to=None, workers=None, invalidate_all=False, wait=False):
    """Make a previous UI version live again from its recorded S3 object versions (no rebuild)."""
    from ..steps import ui as steps

    settings = load_settings(c, flags)
    n_workers = _count(workers, DEFAULT_WORKERS, "--workers", MAX_WORKERS)

    def show(plan) -> None:
        console.step(f"Rolling the UI back from {plan.live or 'an unrecorded version'} to {plan.target}")
        console.detail(plan.summary()[0])

    plan, outcome = run(settings, "rollback-ui",
                        lambda: steps.plan_rollback(settings, to, workers=n_workers, invalidate_all=invalidate_all),
                        lambda plan: steps.execute_rollback(settings, plan, workers=n_workers, wait=wait),
                        json=flags.json, component="ui", dry_run=flags.dry_run, yes=flags.yes, show=show,
                        question=lambda plan: f"Restore UI version {plan.target}?")
    if not plan.has_changes:
        console.ok(plan.summary()[0])
    elif flags.dry_run:
        console.ok("dry run: nothing changed")
    else:
        console.ok(f"UI version {outcome.after} is live again ({len(outcome.data.get('restored', []))} files restored)")
        console.info(f"site: {plan.site_url}")


@tars_task(auto_shortflags=False, common=READS, aliases=("releases-ui",))
def ui_versions(c, flags):
    """List the recorded UI versions (id, commit, time, files) and which one is live."""
    from ..steps import ui as steps

    settings = load_settings(c, flags)
    records = steps.list_versions(settings)
    console.table(f"UI versions in s3://{settings.ui_bucket}", ["version", "commit", "time", "files", "live"],
                  [(r["release_id"], r["commit"], r["time"], len(r["files"]), "live" if r["live"] else "")
                   for r in records])
    if not any(r["live"] for r in records):
        console.warn("no recorded UI version is live (deployed by another tool, or never deployed)")
    console.write_report(flags.json, {"task": "ui-versions", "releases": [   # the record keys stay
        {k: v for k, v in r.items() if k != "files"} | {"files": len(r["files"])} for r in records]})


ns = Collection(deploy_ui, rollback_ui, ui_versions)
