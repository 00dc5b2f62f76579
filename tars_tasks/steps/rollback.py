"""`rollback --to RELEASE` as a plain function: Lambda, UI and MCP back to a release record together.

Each component still differing from the record is rolled back with its own ``rollback`` (the
others are rolled back even when one fails); the infrastructure is not rolled back implicitly (the
command for it is printed); a new release record says what is live afterwards.
"""
from __future__ import annotations

from typing import Any, Mapping

from .. import console


def rollback_to(settings, release_id: str, *, registry: Mapping[str, Any] | None = None,
                dry_run: bool = False, yes: bool = False, json_path: str | None = None) -> dict:
    from .. import lock
    from ..errors import StepFailed
    from ..outcome import FAILED, UNCHANGED, Outcome
    from ..tools import git
    from . import pipeline, release
    from .deploy import summary

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
    summary(outcomes, "rollback summary")
    console.write_report(json_path, report)
    if not report["ok"]:
        bad = [o.component for o in outcomes if o.status == FAILED]
        raise StepFailed(f"rollback failed for {', '.join(bad)}", "see the summary; run inv status to see what is live")
    console.ok("nothing to roll back: release already live" if not todo else
               ("rollback planned (dry run)" if dry_run else f"rolled back to release {release_id}"))
    return report
