"""`inv build`, `inv deploy-lambda`, `inv rollback-lambda` (replace build.sh and deploy-lambda.sh)."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..errors import TarsError
from ..skeleton import CHANGES, apply, load_settings, run, tars_task


def _build(settings, builder=None):
    from ..artifacts import lambda_zip

    console.step("Building dist/lambda.zip")
    with console.status("packaging lambda_src/") as line:
        artifact = lambda_zip.build(settings, builder=builder, report=line.update)
    for name in artifact.skipped_secrets:
        console.warn(f"lambda_src/{name} looks like a secret: not packed")
    how = "reused, nothing changed" if artifact.reused else f"dependencies: {artifact.dependencies}"
    console.ok(f"{artifact.path.relative_to(settings.root) if artifact.path.is_relative_to(settings.root) else artifact.path}"
               f": {artifact.size:,} bytes, {artifact.file_count} files, "
               f"{artifact.unzipped_size:,} bytes unzipped ({how})")
    console.detail(f"sha256 {artifact.sha256_b64}  commit {artifact.commit}")
    if artifact.needs_s3:
        console.detail("over 50 MB: deploy-lambda uploads it through the artifact bucket")
    return artifact


@tars_task(common=("env", "json"), help={"builder": "install dependencies on this Linux host over SSH: user@host[:port] "
                                                  "(default: TARS_BUILDER)"})
def build(c, flags, builder=None):
    """Package lambda_src/ and its dependencies into dist/lambda.zip (deterministic, cached)."""
    from ..settings import Settings

    settings = Settings.load(c, env=flags.env, builder=builder)
    settings.ensure_valid()
    artifact = _build(settings)
    console.write_report(flags.json, {"task": "build", "artifact": artifact.as_dict()})


def _show(plan) -> None:
    if not plan.has_changes:
        console.ok(f"no changes: version {plan.live_version} already runs this code")
        return
    for line in plan.summary():
        console.detail(line)


def _read_live_meanwhile(settings):
    """A future of step.read_live (one read that needs no zip), sent before the build starts."""
    from concurrent.futures import ThreadPoolExecutor

    from ..steps import lambda_ as step

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tars-read-live")
    try:
        return pool.submit(step.read_live, settings)
    finally:
        pool.shutdown(wait=False)


def _deploy(settings, plan):
    from ..steps import lambda_ as step

    if plan.has_changes:
        console.step("Deploying")
    return step.execute(settings, plan)


@tars_task(common=CHANGES, help={"no_smoke": "publish and move the alias without invoking the new version first",
                                 "keep_versions": "published versions to keep when pruning (default: TARS_KEEP_VERSIONS, 3)",
                                 "builder": "install dependencies on this Linux host: user@host[:port]"})
def deploy_lambda(c, flags, no_smoke=False, keep_versions=None, builder=None):
    """Build, upload, publish, smoke-test, then move the alias and prune old versions."""
    from ..outcome import FAILED, UNCHANGED
    from ..steps import lambda_ as step

    settings = load_settings(c, flags, keep_versions=keep_versions, builder=builder)
    report = {"task": "deploy-lambda", "env": settings.env, "function": settings.function_name,
              "alias": settings.alias, "dry_run": bool(flags.dry_run)}
    try:
        step.require_sign_in(settings)   # before the build: a refused deploy costs nothing
        live = _read_live_meanwhile(settings)   # the alias's code, read while the zip builds
        artifact = _build(settings)
        report["artifact"] = artifact.as_dict()
        console.step(f"Comparing with {settings.function_name}:{settings.alias}")

        def again():
            return step.plan(settings, artifact, smoke=not no_smoke)

        plan, outcome = apply(settings, "deploy-lambda", lambda: step.plan(settings, artifact, smoke=not no_smoke,
                                                                           live=live.result),
                              lambda plan: _deploy(settings, plan), dry_run=flags.dry_run, yes=flags.yes, report=report,
                              question=lambda plan: f"Deploy to {plan.function}:{plan.alias} (env {settings.env})?",
                              show=_show, confirm=lambda first: step.confirm(settings, first, again))
        if flags.dry_run and plan.has_changes:
            console.ok("dry run: nothing was changed")
        if flags.dry_run or outcome.status == UNCHANGED:
            return
        if outcome.data.get("smoke", {}).get("timed_out"):
            smoke = outcome.data["smoke"]
            console.warn(f"deployed, smoke test timed out after {smoke['timeout']:g} s: version {outcome.after} "
                         f"is {smoke['state']}, LastModified {smoke['last_modified']}; check inv logs --since 10m")
        if outcome.data.get("prune_error"):
            console.warn(f"pruning old versions failed: {outcome.data['prune_error']}")
        elif outcome.data.get("pruned"):
            console.detail(f"pruned versions {', '.join(outcome.data['pruned'])}")
        console.ok(f"{settings.function_name}:{settings.alias} {outcome.before or '(new)'} -> {outcome.after} "
                   f"({outcome.detail}, {outcome.elapsed:.1f} s)")
        if outcome.rollback_command:
            console.detail(f"undo with: {outcome.rollback_command}")
    except TarsError as err:
        report["outcome"] = {"component": "lambda", "status": FAILED, "error": err.as_dict()}
        raise
    finally:
        console.write_report(flags.json, report)


@tars_task(common=CHANGES, help={"to": "version to point the alias at (default: the newest one older than the current)"})
def rollback_lambda(c, flags, to=None):
    """Show the published versions, then move the alias back to an older one."""
    from ..steps import lambda_ as step

    settings = load_settings(c, flags)
    known = step.history(settings)
    rows = known[0]
    console.table(f"{settings.function_name} versions", ["version", "commit", "date", "size", "aliases"],
                  [(r["version"], r["commit"], r["date"], f"{r['size']:,}", ", ".join(r["aliases"])) for r in rows])
    first = iter([known])   # the first plan reads the history just shown; the re-plan under the lock reads again
    _, outcome = run(settings, "rollback-lambda", lambda: step.plan_rollback(settings, to, next(first, None)),
                     lambda plan: step.execute_rollback(settings, plan), json=flags.json, component="lambda",
                     extra={"versions": rows}, dry_run=flags.dry_run, yes=flags.yes,
                     question=lambda plan: f"Point {plan.function}:{plan.alias} at version {plan.after}?",
                     show=lambda plan: console.info(f"{plan.alias}: version {plan.before} -> {plan.after}"))
    console.ok(f"{outcome.detail}" if not flags.dry_run else f"dry run: {outcome.detail}; nothing was changed")


ns = Collection(build, deploy_lambda, rollback_lambda)
