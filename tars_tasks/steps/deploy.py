"""`deploy` as a plain function: preflight → plan every selected component → show → stop on
--dry-run → confirm once → lock → plan again → execute in order → verify → release record → summary.

Preflight, the plan shown and the question run without the lock (a person deciding never holds
it); the lock is then taken and everything planned again under it: when that plan's changes and
summary lines differ from the ones confirmed, Refused (exit 3), nothing applied. With --yes
nobody is asked: the lock comes first and its plan is the only one (Terraform plans once). The
lock is held from there to the end of the run (taken late, by ``reload``, when the first setup
creates the lock table). ``run`` composes the named steps below and :mod:`.pipeline`'s plan/execute of the
components; the task (tasks/pipeline.py) only reads its flags and calls it. Raises StepFailed
(exit 1) when anything failed, Refused (exit 3) when preflight refuses, KeyboardInterrupt after
the summary when Ctrl-C stopped a component.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Mapping

from .. import console

COMMAND = "deploy"


def run(settings, names: list[str], *, registry: Mapping[str, Any] | None = None, dry_run: bool = False,
        yes: bool = False, json_path: str | None = None, skip_verify: bool = False,
        preflight: bool = False, force_preflight: bool = False, verify: Callable[[Any], Any] | None = None,
        reload: Callable[[], Any] | None = None, plan_args: Mapping[str, Callable] | None = None,
        clock: Callable[[], float] = time.monotonic, preflight_run: Callable[..., Any] | None = None,
        skip_tests: bool = False) -> dict:
    """The whole pipeline; returns the report."""
    from .. import lock
    from . import pipeline

    deploy_started, started_clock = time.time(), clock()
    if plan_args is None:  # the real components' extra plan inputs (the UI bundle); fakes need none
        plan_args = pipeline.PLAN_ARGS if registry is None else {}
    command = f"{COMMAND} " + " ".join(f"--{n}" for n in names)
    report: dict[str, Any] = {"command": command, "env": settings.env, "dry_run": dry_run,
                              "components": [], "preflight": None, "release_id": None}
    report["preflight"] = run_preflight(settings, report, json_path, registry=registry, dry_run=dry_run,
                                        skip_tests=skip_tests, force=force_preflight,
                                        checklist=preflight_run) if preflight else \
        {"ran": False, "forced": False, "checks": []}
    plan_args = pipeline.for_run(plan_args)   # the UI bundle built once, its release stamp fixed
    shown = None
    if dry_run or not yes:   # plan and ask without the lock: a person deciding never holds it
        console.step("Plan")
        shown = pipeline.plan_all(settings, names, registry, plan_args)
        show(shown)
        if dry_run:
            outcomes = pipeline.planned_outcomes(shown)
            summary(outcomes)
            report.update(components=[o.as_dict() for o in outcomes], ok=True,
                          site_url=getattr(settings, "site_url", None))
            console.write_report(json_path, report)
            return report
        console.confirm(f"Deploy {', '.join(names)} to {settings.env}?", yes)
    with lock.hold(settings, command) as held, contextlib.ExitStack() as late_lock:
        if shown is None:   # --yes: nobody is asked, so the plan under the lock is the only plan
            console.step("Plan")
        else:
            console.info("planning again under the deploy lock")
        planned = pipeline.plan_all(settings, names, registry, plan_args)   # what runs
        if shown is None:
            show(planned)
        elif pipeline.digest(planned) != pipeline.digest(shown):
            refuse_changed(report, json_path, shown, planned)
        previous = latest_release(settings)
        settings_box = [settings]

        def reloaded():
            settings_box[0] = reload()
            if held is None:  # the first setup ran unlocked: infra has just created the lock table
                late_lock.enter_context(lock.hold(settings_box[0], command))
            return settings_box[0]

        outcomes = pipeline.execute_all(settings, planned, clock=clock, default_rollback=_undo(settings, previous),
                                        announce=lambda n: console.step(f"Deploying {n}"),
                                        reload=reloaded if reload else None, plan_args=plan_args)
        settings = settings_box[0]
        report["interrupted"] = pipeline.interrupted(outcomes)
        changed = pipeline.deployed(outcomes)
        if not skip_verify:
            outcomes += run_verify(settings, outcomes, verify, since=deploy_started, clock=clock)
        report["components"] = [o.as_dict() for o in outcomes]
        report["ok"] = not pipeline.failed(outcomes)
        if report["ok"]:
            report.update(record_release(settings, previous, changed, registry, command, report["preflight"]))
        summary(outcomes)
        report.update(site_url=getattr(settings, "site_url", None), elapsed=round(clock() - started_clock, 3))
        console.write_report(json_path, report)
    return finish(report, outcomes)


def refuse_changed(report: dict, json_path: str | None, shown, planned) -> None:
    """Refused (exit 3), nothing applied: the plan under the lock is not the one confirmed."""
    from ..errors import Refused
    from . import pipeline

    moved = [a.name for a, b in zip(shown, planned) if pipeline.digest([a]) != pipeline.digest([b])]
    console.write_report(json_path, dict(report, ok=False, changed_while_asking=moved))
    raise Refused("the plan changed while you were deciding: another deploy ran; re-run")


def run_preflight(settings, report: dict, json_path: str | None, *, registry, dry_run: bool, skip_tests: bool,
                  force: bool, checklist: Callable[..., Any] | None) -> dict:
    """The preflight checklist as a table; Refused (exit 3) when an item fails, unless ``force``."""
    from ..errors import Refused
    from . import preflight as pf

    console.step("Preflight checklist")
    checks = (checklist or pf.run_checklist)(settings, registry=registry, dry_run=dry_run, skip_tests=skip_tests)
    console.table(None, ["check", "result", "reason"], [(c.name, c.status, c.reason) for c in checks])
    bad = pf.failures(checks)
    result = {"ran": True, "forced": bool(bad and force), "checks": [c.as_dict() for c in checks]}
    if bad and not force:
        console.write_report(json_path, dict(report, preflight=result, ok=False))
        raise Refused(f"preflight failed: {', '.join(c.name for c in bad)}",
                      "fix them, or pass --force-preflight (recorded in the release record)")
    if bad:
        console.warn(f"preflight failed ({', '.join(c.name for c in bad)}): overridden with "
                     "--force-preflight, recorded in the release record")
    return result


def show(planned) -> None:
    """Each component's plan: changes or not, and what it would do."""
    for item in planned:
        console.info(f"{item.name}: {'changes' if item.has_changes else 'no changes'}")
        for line in item.lines():
            console.detail(line)


def _undo(settings, previous: dict | None) -> str | None:
    from . import release

    return release.rollback_command(settings, previous["release_id"]) if previous else None


def run_verify(settings, outcomes, verify: Callable[[Any], Any] | None, *, since: float,
               clock: Callable[[], float]) -> list:
    """The post-deployment checks as one more outcome, only when something was deployed and
    nothing failed (the logs read are those since this deploy began)."""
    from ..outcome import FAILED, Outcome
    from . import pipeline

    if not pipeline.deployed(outcomes):
        console.info("nothing was deployed: verify skipped (inv verify runs the checks on their own)")
        return []
    if pipeline.failed(outcomes):
        return []
    console.step("Verify")
    started = clock()
    try:
        if verify is None:
            from . import verify as verify_steps

            def verify(s):
                return verify_steps.run_all(s, since=since)
        results = verify(settings)
        bad = [r for r in results if r.status != "pass"]
        return [Outcome("verify", FAILED if bad else pipeline.PASSED,
                        detail="; ".join(f"{r.name}: {r.reason}" for r in (bad or results)),
                        elapsed=round(clock() - started, 3))]
    except Exception as exc:  # noqa: BLE001
        return [Outcome("verify", FAILED, detail=pipeline.describe_failure(exc), elapsed=round(clock() - started, 3))]


def record_release(settings, previous: dict | None, changed: bool, registry, command: str, preflight: dict) -> dict:
    """A new release record of what is live now; none when nothing changed and the newest record
    already says the same (that release is still live)."""
    from ..tools import git
    from . import pipeline, release

    states = pipeline.current_all(settings, registry)
    if not changed and release.matches(previous, states, pipeline.ORDER):
        return {"release_id": previous["release_id"], "unchanged": True}
    record = release.build(settings, states, commit=git.commit(settings.root), who=git.user(),
                           preflight=preflight, command=command)
    try:
        release.write(settings, record)
        return {"release_id": record["release_id"]}
    except Exception as exc:  # noqa: BLE001 - the deploy itself succeeded
        console.warn(f"could not write the release record: {pipeline.describe_failure(exc)}")
        return {}


def finish(report: dict, outcomes) -> dict:
    """After the summary and the report: Ctrl-C (exit 130), the first failure (exit 1), or done."""
    from ..errors import StepFailed
    from ..outcome import FAILED

    if report["interrupted"]:
        raise KeyboardInterrupt
    if not report["ok"]:
        broken = next(o for o in outcomes if o.status == FAILED)
        raise StepFailed(f"deploy failed at {broken.component}: {broken.detail}",
                         "see the summary above: each deployed component has its rollback command")
    if report.get("unchanged"):
        console.ok(f"no changes: release {report['release_id']} is still live (no new release record)")
    else:
        console.ok(f"deployed; release {report['release_id']}" if report["release_id"] else "deployed")
    if report.get("site_url"):
        console.info(f"TARS UI: {report['site_url']}")
    return report


def latest_release(settings) -> dict | None:
    from . import release

    try:
        return release.latest(settings)
    except Exception:  # noqa: BLE001 - no bucket yet: no previous release
        return None


def summary(outcomes, title: str = "deploy summary") -> None:
    from . import pipeline

    console.table(title, ["component", "result", "version", "time", "detail"], pipeline.summary_rows(outcomes))
