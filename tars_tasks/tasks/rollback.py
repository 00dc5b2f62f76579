"""Whole-release rollback, the release list, and the deploy lock's manual release.

`inv rollback --to RELEASE` puts Lambda, UI and MCP back to that release record together (the
infrastructure is not rolled back implicitly: the command for it is printed). `inv releases`
lists the records; `inv unlock --force` removes a dead deploy's lock. The whole-release
rollback itself is the plain function steps/rollback.rollback_to.
"""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..skeleton import CHANGES, READS, load_settings, tars_task


@tars_task(common=CHANGES, help={"to": "release id to return to (inv releases lists them)"})
def rollback(c, to=None, *, flags):
    """Put Lambda, UI and MCP back to a recorded release together."""
    from ..errors import UsageError
    from ..steps.rollback import rollback_to

    if not to:
        raise UsageError("which release? --to is required", "inv releases lists them")

    settings = load_settings(c, flags)
    rollback_to(settings, to, dry_run=flags.dry_run, yes=flags.yes, json_path=flags.json)


@tars_task(common=READS, help={"limit": "how many of the newest releases to show (default 20)"})
def releases(c, limit=None, *, flags):   # --limit before the flags: -l is --limit, --local has -o
    """List the release records (newest first)."""
    from ..steps import release

    settings = load_settings(c, flags)
    ids = release.list_ids(settings)[: int(limit or 20)]
    records = [release.read(settings, rid) for rid in ids]
    rows = [(r["release_id"], r.get("time"), r.get("who"), r.get("command"),
             *(release.recorded(r, n).rollback_target or "-" for n in ("lambda", "ui", "mcp"))) for r in records]
    console.table(f"releases ({settings.env})", ["release", "time", "who", "command", "lambda", "ui", "mcp"], rows)
    if not rows:
        console.info("no release recorded yet: inv deploy writes one after each successful deploy")
    console.write_report(flags.json, {"env": settings.env, "releases": records})


@tars_task(common=("env", "local", "dry_run", "json"), help={"force": "required: remove the lock whoever holds it"})
def unlock(c, force=False, *, flags):
    """Release the deploy lock of this environment (after a dead deploy)."""
    from .. import lock
    from ..errors import UsageError
    from ..skeleton import run

    settings = load_settings(c, flags)

    def check(plan) -> None:
        if plan.has_changes and not force:
            raise UsageError(f"the deploy lock for {plan.lock_id} is held by {plan.who}",
                             "make sure that deploy is dead, then run inv unlock --force")

    plan, outcome = run(settings, "unlock", lambda: lock.plan_unlock(settings),
                        lambda plan: lock.execute_unlock(settings, plan), json=flags.json, component="lock",
                        dry_run=flags.dry_run, yes=True, question=lambda plan: None, check=check, locked=False,
                        show=lambda plan: None)
    if not plan.has_changes:
        console.ok(plan.summary()[0])
    elif flags.dry_run:
        console.info(f"dry run: would {plan.summary()[0]}; nothing changed")
    else:
        console.warn(outcome.detail)


ns = Collection(rollback, releases, unlock)
