"""`inv preflight`: the runbook's pre-deployment checklist, each item pass / fail / skip."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..skeleton import load_settings, tars_task


@tars_task(common=("env", "local", "dry_run", "json"), help={
    "force": "do not refuse on failed items (the override is recorded in the report)",
    "skip_tests": "do not run the project's test command (TARS_TEST_COMMAND)",
})
def preflight(c, force=False, skip_tests=False, *, flags):
    """Pre-deployment checklist: tests, incidents, review, deployment window, rollback plan."""
    from ..errors import Refused
    from ..steps import preflight as pf

    settings = load_settings(c, flags)
    checks = pf.run_checklist(settings, skip_tests=skip_tests, dry_run=flags.dry_run)
    console.table(f"preflight ({settings.env})", ["check", "result", "reason"],
                  [(ch.name, ch.status, ch.reason) for ch in checks])
    for ch in checks:
        for line in ch.details:
            console.detail(f"{ch.name}: {line}")
    bad = pf.failures(checks)
    console.write_report(flags.json, {"env": settings.env, "ok": not bad, "forced": bool(force and bad),
                                "checks": [ch.as_dict() for ch in checks]})
    if bad and not force:
        raise Refused(f"preflight failed: {', '.join(ch.name for ch in bad)}",
                      "fix the items above, or pass --force (recorded) to go ahead anyway")
    if bad:
        console.warn(f"preflight failed ({', '.join(ch.name for ch in bad)}) and was overridden with --force")
    else:
        console.ok("preflight passed")


ns = Collection(preflight)
