"""`rollback --to RELEASE` as a plain function: Lambda, UI and MCP back to a release record together.

Each component still differing from the record is rolled back with its own ``rollback`` (the
others are rolled back even when one fails); the infrastructure is not rolled back implicitly (the
command for it is printed); a new release record says what is live afterwards.
"""
from __future__ import annotations

from typing import Any, Mapping

from .. import console


def plan(settings, release_id: str, registry: Mapping[str, Any] | None = None):
    """(the record, [(component, recorded target, live target)] still to roll back, the unchanged
    components' outcomes). Reads only."""
    from ..outcome import UNCHANGED, Outcome
    from . import pipeline, release

    record = release.read(settings, release_id)
    live = pipeline.current_all(settings, registry, pipeline.ROLLBACK_COMPONENTS)
    todo, unchanged = [], []
    for name in pipeline.ROLLBACK_COMPONENTS:
        want = release.recorded(record, name).rollback_target
        have = live[name].rollback_target
        if want is None:
            unchanged.append(Outcome(name, UNCHANGED, before=have, detail="not in the release record"))
        elif str(want) == str(have):
            unchanged.append(Outcome(name, UNCHANGED, before=have, after=have, detail="already live"))
        else:
            todo.append((name, want, have))
    return record, todo, unchanged


def infra_hint(record: dict) -> str:
    from . import release

    serial = release.recorded(record, "infra").record.get("serial")   # infra's record: the state serial
    return (f"infrastructure is not rolled back: check out commit {record.get('commit')} and run "
            f"inv deploy-infrastructure (recorded state serial {serial or 'unknown'})")


def execute(settings, todo, registry: Mapping[str, Any] | None = None, *, dry_run: bool = False) -> list:
    """Each component's own rollback (its preview with ``dry_run``); one failing does not stop the others."""
    from ..outcome import FAILED, Outcome
    from . import pipeline

    outcomes = []
    for name, want, have in todo:
        try:
            outcomes.append(pipeline.resolve(name, registry).rollback(settings, want, dry_run=dry_run))
        except Exception as exc:  # noqa: BLE001 - the others are still rolled back
            outcomes.append(Outcome(name, FAILED, before=have, after=str(want), detail=pipeline.describe_failure(exc)))
    return outcomes


def record_release(settings, release_id: str, registry: Mapping[str, Any] | None = None) -> str | None:
    """A new release record of what is live after the rollback (None when it could not be written)."""
    from ..tools import git
    from . import pipeline, release

    new = release.build(settings, pipeline.current_all(settings, registry), commit=git.commit(settings.root),
                        who=git.user(), preflight=None, command=f"rollback --to {release_id}")
    try:
        release.write(settings, new)
        return new["release_id"]
    except Exception as exc:  # noqa: BLE001
        console.warn(f"could not write the release record: {pipeline.describe_failure(exc)}")
        return None


def rollback_to(settings, release_id: str, *, registry: Mapping[str, Any] | None = None,
                dry_run: bool = False, yes: bool = False, json_path: str | None = None) -> dict:
    """plan → show → confirm (outside the lock) → lock → each component's rollback → a new
    release record → summary. Raises StepFailed (exit 1) when a component failed."""
    from .. import lock
    from ..errors import StepFailed
    from ..outcome import FAILED
    from . import pipeline
    from .deploy import summary

    record, todo, outcomes = plan(settings, release_id, registry)
    console.step(f"Rollback to release {release_id} ({record.get('time')}, commit {record.get('commit')})")
    for name, want, have in todo:
        console.info(f"{name}: {have or 'unknown'} → {want}")
    hint = infra_hint(record)
    console.info(hint)
    report = {"release_id": release_id, "env": settings.env, "dry_run": dry_run, "infra": hint,
              "new_release_id": None, "site_url": settings.site_url}
    if todo and not dry_run:
        console.confirm(f"Roll {', '.join(n for n, _, _ in todo)} back to release {release_id}?", yes)
    import contextlib

    with contextlib.nullcontext() if dry_run else lock.hold(settings, f"rollback --to {release_id}"):
        outcomes += execute(settings, todo, registry, dry_run=dry_run)
        order = {n: i for i, n in enumerate(pipeline.ROLLBACK_COMPONENTS)}
        outcomes.sort(key=lambda o: order.get(o.component, 99))
        report["components"] = [o.as_dict() for o in outcomes]
        report["ok"] = not pipeline.failed(outcomes)
        if todo and not dry_run:
            report["new_release_id"] = record_release(settings, release_id, registry)
    summary(outcomes, "rollback summary")
    console.write_report(json_path, report)
    if not report["ok"]:
        bad = [o.component for o in outcomes if o.status == FAILED]
        raise StepFailed(f"rollback failed for {', '.join(bad)}", "see the summary; run inv status to see what is live")
    console.ok("nothing to roll back: release already live" if not todo else
               ("rollback planned (dry run)" if dry_run else f"rolled back to release {release_id}"))
    return report
