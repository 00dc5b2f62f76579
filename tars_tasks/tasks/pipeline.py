"""`inv deploy [--all] [--infra] [--mcp] [--lambda] [--ui]`: replaces deploy.sh.

Order: preflight (prod, or --preflight) → plan every selected component → ask once → infra → mcp
→ lambda → ui → verify, all under one deploy lock. The summary says for every component:
deployed (old → new), unchanged, failed (why) or not reached, with the rollback command of each
deployed one. A successful run writes a release record.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Mapping

from invoke import Collection

from .. import console
from ..runner import load_settings, tars_task

COMMAND = "deploy"


def run(settings, names: list[str], *, registry: Mapping[str, Any] | None = None, dry_run: bool = False,
        yes: bool = False, json_path: str | None = None, skip_verify: bool = False,
        preflight: bool = False, force_preflight: bool = False, verify: Callable[[Any], Any] | None = None,
        reload: Callable[[], Any] | None = None, plan_args: Mapping[str, Callable] | None = None,
        clock: Callable[[], float] = time.monotonic, preflight_run: Callable[..., Any] | None = None,
        skip_tests: bool = False) -> dict:
    """The whole pipeline; returns the report. Raises StepFailed (exit 1) when anything failed."""
    from .. import lock
    from ..errors import Refused, StepFailed
    from ..outcome import FAILED, Outcome
    from ..steps import pipeline, release
    from ..tools import git

    deploy_started = time.time()
    started_clock = clock()
    if plan_args is None:  # the real components' extra plan inputs (the UI bundle); fakes need none
        plan_args = pipeline.PLAN_ARGS if registry is None else {}
    command = f"{COMMAND} " + " ".join(f"--{n}" for n in names)
    report: dict[str, Any] = {"command": command, "env": settings.env, "dry_run": dry_run,
                              "components": [], "preflight": None, "release_id": None}
    with lock.hold(settings, command, dry_run=dry_run) as held, contextlib.ExitStack() as late_lock:
        checks = None
        if preflight:
            from ..steps import preflight as pf

            console.step("Preflight checklist")
            checks = (preflight_run or pf.run_checklist)(settings, registry=registry, dry_run=dry_run,
                                                          skip_tests=skip_tests)
            console.table(None, ["check", "result", "reason"], [(c.name, c.status, c.reason) for c in checks])
            bad = pf.failures(checks)
            report["preflight"] = {"ran": True, "forced": bool(bad and force_preflight),
                                   "checks": [c.as_dict() for c in checks]}
            if bad and not force_preflight:
                console.write_report(json_path, dict(report, ok=False))
                raise Refused(f"preflight failed: {', '.join(c.name for c in bad)}",
                              "fix them, or pass --force-preflight (recorded in the release record)")
            if bad:
                console.warn(f"preflight failed ({', '.join(c.name for c in bad)}): overridden with "
                             "--force-preflight, recorded in the release record")
        else:
            report["preflight"] = {"ran": False, "forced": False, "checks": []}
        console.step("Plan")
        planned = pipeline.plan_all(settings, names, registry, plan_args)
        for item in planned:
            console.info(f"{item.name}: {'changes' if item.has_changes else 'no changes'}")
            for line in item.lines():
                console.detail(line)
        if dry_run:
            outcomes = pipeline.planned_outcomes(planned)
            _summary(outcomes)
            report.update(components=[o.as_dict() for o in outcomes], ok=True,
                          site_url=getattr(settings, "site_url", None))
            console.write_report(json_path, report)
            return report
        console.confirm(f"Deploy {', '.join(names)} to {settings.env}?", yes)
        previous = _latest_release(settings)
        default_rb = release.rollback_command(settings, previous["release_id"]) if previous else None
        settings_box = [settings]

        def reloaded():
            settings_box[0] = reload() if reload else settings_box[0]
            if held is None:  # the first setup ran unlocked: infra has just created the lock table
                late_lock.enter_context(lock.hold(settings_box[0], command))
            return settings_box[0]

        outcomes = pipeline.execute_all(settings, planned, clock=clock, default_rollback=default_rb,
                                        announce=lambda n: console.step(f"Deploying {n}"),
                                        reload=reloaded if reload else None, plan_args=plan_args)
        settings = settings_box[0]
        report["interrupted"] = pipeline.interrupted(outcomes)
        changed = pipeline.deployed(outcomes)
        if not changed and not skip_verify:
            console.info("nothing was deployed: verify skipped (inv verify runs the checks on their own)")
        if changed and not pipeline.failed(outcomes) and not skip_verify:
            console.step("Verify")
            started = clock()
            try:
                if verify is None:
                    from ..steps import verify as verify_steps

                    def verify(s):  # the logs since this deploy began
                        return verify_steps.run_all(s, since=deploy_started)
                results = verify(settings)
                bad = [r for r in results if r.status != "pass"]
                outcomes.append(Outcome("verify", FAILED if bad else pipeline.PASSED,
                                        detail="; ".join(f"{r.name}: {r.reason}" for r in (bad or results)),
                                        elapsed=round(clock() - started, 3)))
            except Exception as exc:  # noqa: BLE001
                outcomes.append(Outcome("verify", FAILED, detail=pipeline.describe_failure(exc),
                                        elapsed=round(clock() - started, 3)))
        report["components"] = [o.as_dict() for o in outcomes]
        report["ok"] = not pipeline.failed(outcomes)
        if report["ok"]:
            states = pipeline.current_all(settings, registry)
            if not changed and release.matches(previous, states, pipeline.ORDER):
                report["release_id"] = previous["release_id"]   # the same release is still live
                report["unchanged"] = True
            else:
                record = release.build(settings, states, commit=git.commit(settings.root), who=git.user(),
                                       preflight=report["preflight"], command=command)
                try:
                    release.write(settings, record)
                    report["release_id"] = record["release_id"]
                except Exception as exc:  # noqa: BLE001 - the deploy itself succeeded
                    console.warn(f"could not write the release record: {pipeline.describe_failure(exc)}")
        _summary(outcomes)
        report.update(site_url=getattr(settings, "site_url", None), elapsed=round(clock() - started_clock, 3))
        console.write_report(json_path, report)
    if report["interrupted"]:
        raise KeyboardInterrupt  # after the summary and the report: the runner exits 130
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


def _latest_release(settings) -> dict | None:
    from ..steps import release

    try:
        return release.latest(settings)
    except Exception:  # noqa: BLE001 - no bucket yet: no previous release
        return None


def _summary(outcomes) -> None:
    from ..steps import pipeline

    console.table("deploy summary", ["component", "result", "version", "time", "detail"],
                  pipeline.summary_rows(outcomes))


@tars_task(help={
    "all": "deploy every component: infra, mcp, lambda, ui (then verify)",
    "infra": "deploy the Terraform infrastructure",
    "mcp": "deploy the MCP server (ECS)",
    "lambda_": "deploy the Lambda handler",
    "ui": "deploy the triage UI",
    "skip_verify": "do not run the post-deployment checks",
    "skip_preflight": "do not run the preflight checklist (even in prod)",
    "preflight": "run the preflight checklist first (always done for TARS_PREFLIGHT_ENVS)",
    "force_preflight": "go ahead when preflight items fail (recorded in the release record)",
    "skip_tests": "preflight without its test item (CI: the same commit already passed make test)",
})
def deploy(c, all=False, infra=False, mcp=False, lambda_=False, ui=False, skip_verify=False,  # noqa: A002
           skip_preflight=False, preflight=False, force_preflight=False, skip_tests=False, env=None, local=False,
           dry_run=False, yes=False, json=None):
    """Deploy components in order (infra → mcp → lambda → ui → verify) with one summary."""
    from ..errors import UsageError
    from ..steps import pipeline

    if skip_preflight and (preflight or force_preflight):
        raise UsageError("--skip-preflight contradicts --preflight / --force-preflight", "pass only one")
    names = pipeline.select(all, infra=infra, mcp=mcp, lambda_=lambda_, ui=ui)
    settings = load_settings(c, env=env, local=local or None)
    prod_like = settings.env in [e.strip() for e in (settings.preflight_envs or "").split(",")]
    run(settings, names, dry_run=dry_run, yes=yes, json_path=json, skip_verify=skip_verify,
        preflight=(preflight or force_preflight or prod_like) and not skip_preflight,
        force_preflight=force_preflight, skip_tests=skip_tests,
        reload=lambda: load_settings(c, env=env, local=local or None))


ns = Collection(deploy)
