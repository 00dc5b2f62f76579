"""`inv verify`: the runbook's three post-deployment checks (logs, KB test, chat), each timed."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..skeleton import READS, load_settings, tars_task


@tars_task(common=READS, help={"since": "look at the logs since this long ago: 10m (default), 2h, 90s, or an ISO time"})
def verify(c, since=None, *, flags):
    """Post-deployment checks: no ERROR in the logs, the KB round trip, a chat answer within 30 s."""
    import time

    from ..errors import StepFailed
    from ..steps import verify as steps
    from ..times import parse_since

    start = parse_since(since or "10m", time.time())
    settings = load_settings(c, flags)
    results = steps.run_all(settings, since=start)
    console.table(f"verify ({settings.env})", ["check", "result", "time", "reason"],
                  [(r.name, r.status, f"{r.elapsed:.1f}s", r.reason) for r in results])
    for r in results:
        for line in r.details:
            console.detail(f"{r.name}: {line}")
    bad = [r for r in results if r.status != steps.PASS]
    console.write_report(flags.json, {"env": settings.env, "ok": not bad, "checks": [r.as_dict() for r in results]})
    if bad:
        raise StepFailed(f"verification failed: {', '.join(r.name for r in bad)}",
                         "see the table above; inv status shows what is live, inv rollback --to undoes a release")
    console.ok("TARS is healthy")


ns = Collection(verify)
