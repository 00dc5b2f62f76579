"""Whole-release rollback, the release list, and the deploy lock's manual release.

`inv rollback --to RELEASE` puts Lambda, UI and MCP back to that release record together (the
infrastructure is not rolled back implicitly: the command for it is printed). `inv releases`
lists the records; `inv unlock --force` removes a dead deploy's lock.
"""
from __future__ import annotations

from typing import Any, Mapping

from invoke import Collection

from .. import console
from ..runner import load_settings, tars_task


def rollback_to(settings, release_id: str, *, registry: Mapping[str, Any] | None = None,
                dry_run: bool = False, yes: bool = False, json_path: str | None = None) -> dict:
    from .. import lock
    from ..errors import StepFailed
    from ..outcome import FAILED, UNCHANGED, Outcome
    from ..steps import pipeline, release
    from ..tools import git

    record = release.read(settings, release_id)
    live = pipeline.current_all(settings, registry, pipeline.ROLLBACK_COMPONENTS)
    todo, outcomes = [], []
    for name in pipeline.ROLLBACK_COMPONENTS:
        want = release.rollback_target(record["components"].get(name))
        have = release.rollback_target(live.get(name))
        if want is None:
            outcomes.append(Outcome(name, UNCHANGED, before=have, detail="not in the release record"))
        elif str(want) == str(have):
            outcomes.append(Outcome(name, UNCHANGED, before=have, after=have, detail="already live"))
        else:
            todo.append((name, want, have))
    console.step(f"Rollback to release {release_id} ({record.get('time')}, commit {record.get('commit')})")
    for name, want, have in todo:
        console.info(f"{name}: {have or 'unknown'} → {want}")
    infra = record["components"].get("infra") or {}
    infra_hint = (f"infrastructure is not rolled back: check out commit {record.get('commit')} and run "
                  f"inv deploy-infrastructure (recorded state serial {infra.get('serial') or 'unknown'})")
    console.info(infra_hint)
    report = {"release_id": release_id, "env": settings.env, "dry_run": dry_run, "infra": infra_hint,
              "new_release_id": None, "site_url": getattr(settings, "site_url", None)}
    if todo and not dry_run:
        console.confirm(f"Roll {', '.join(n for n, _, _ in todo)} back to release {release_id}?", yes)
    with lock.hold(settings, f"rollback --to {release_id}", dry_run=dry_run):
        for name, want, have in todo:
            module = pipeline.resolve(name, registry)
            try:
                if module is None:
                    raise StepFailed(f"the {name} component is not available in this tars_tasks")
                out = module.rollback(settings, want, dry_run=dry_run)
            except Exception as exc:  # noqa: BLE001 - the others are still rolled back
                out = Outcome(name, FAILED, before=have, after=str(want), detail=pipeline.describe_failure(exc))
            outcomes.append(out)
        order = {n: i for i, n in enumerate(pipeline.ROLLBACK_COMPONENTS)}
        outcomes.sort(key=lambda o: order.get(o.component, 99))
        report["components"] = [o.as_dict() for o in outcomes]
        report["ok"] = not pipeline.failed(outcomes)
        if todo and not dry_run:
            states = pipeline.current_all(settings, registry)
            new = release.build(settings, states, commit=git.commit(settings.root), who=git.user(),
                                preflight=None, command=f"rollback --to {release_id}")
            try:
                release.write(settings, new)
                report["new_release_id"] = new["release_id"]
            except Exception as exc:  # noqa: BLE001
                console.warn(f"could not write the release record: {pipeline.describe_failure(exc)}")
    console.table("rollback summary", ["component", "result", "version", "time", "detail"],
                  pipeline.summary_rows(outcomes))
    console.write_report(json_path, report)
    if not report["ok"]:
        bad = [o.component for o in outcomes if o.status == FAILED]
        raise StepFailed(f"rollback failed for {', '.join(bad)}", "see the summary; run inv status to see what is live")
    console.ok("nothing to roll back: release already live" if not todo else
               ("rollback planned (dry run)" if dry_run else f"rolled back to release {release_id}"))
    return report


@tars_task(help={"to": "release id to return to (inv releases lists them)"})
def rollback(c, to=None, env=None, local=False, dry_run=False, yes=False, json=None):
    """Put Lambda, UI and MCP back to a recorded release together."""
    from ..errors import UsageError

    if not to:
        raise UsageError("which release? --to is required", "inv releases lists them")
    settings = load_settings(c, env=env, local=local or None)
    rollback_to(settings, to, dry_run=dry_run, yes=yes, json_path=json)


@tars_task(help={"limit": "how many of the newest releases to show (default 20)"})
def releases(c, limit=None, env=None, local=False, json=None):
    """List the release records (newest first)."""
    from ..steps import release

    settings = load_settings(c, env=env, local=local or None)
    ids = release.list_ids(settings)[: int(limit or 20)]
    records = [release.read(settings, rid) for rid in ids]
    rows = []
    for r in records:
        comps = r.get("components", {})
        rows.append((r["release_id"], r.get("time"), r.get("who"), r.get("command"),
                     *(release.rollback_target(comps.get(n)) or "-" for n in ("lambda", "ui", "mcp"))))
    console.table(f"releases ({settings.env})", ["release", "time", "who", "command", "lambda", "ui", "mcp"], rows)
    if not rows:
        console.info("no release recorded yet: inv deploy writes one after each successful deploy")
    console.write_report(json, {"env": settings.env, "releases": records})


@tars_task(help={"force": "required: remove the lock whoever holds it"})
def unlock(c, force=False, env=None, local=False, json=None):
    """Release the deploy lock of this environment (after a dead deploy)."""
    from .. import lock
    from ..aws import dynamodb
    from ..errors import UsageError

    settings = load_settings(c, env=env, local=local or None)
    lid = lock.lock_id(settings)
    try:
        holder = dynamodb.read_lock(settings.clients, settings.lock_table, lid)
    except dynamodb.LockTableMissing:
        holder = None
    if holder is None:
        console.ok(f"no deploy lock held for {lid}")
        console.write_report(json, {"lock_id": lid, "released": None})
        return
    who = (f"{holder.get('holder')} (pid {int(float(holder.get('pid', 0)))}, '{holder.get('command')}', "
           f"since {holder.get('started')})")
    if not force:
        raise UsageError(f"the deploy lock for {lid} is held by {who}",
                         "make sure that deploy is dead, then run inv unlock --force")
    dynamodb.release_lock(settings.clients, settings.lock_table, lid)
    console.warn(f"released the deploy lock of {who}")
    console.write_report(json, {"lock_id": lid, "released": {k: v for k, v in holder.items() if k != "token"}})


ns = Collection(rollback, releases, unlock)
