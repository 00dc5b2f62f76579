"""`inv status`: what is live, in one table (replaces check-status.sh).

Each component's current() (a steps.component.Live: its state and the details it chooses to
show, in its order: Lambda alias → version, UI version, MCP revision and rollout, infrastructure
serial), the deploy lock holder and the latest release record. A component that is not
available or not deployed shows "unknown" / "not deployed", never a traceback.
"""
from __future__ import annotations

from typing import Any, Mapping

from invoke import Collection

from .. import console
from ..skeleton import READS, load_settings, tars_task


def collect(settings, registry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each component's Live (``components``), the deploy lock holder and the latest release record."""
    from dataclasses import replace

    from .. import lock
    from ..aws import dynamodb
    from ..steps import pipeline, release
    from ..steps.component import LIVE

    components = pipeline.current_all(settings, registry)
    ui = components.get("ui")
    if settings.site_url and ui is not None and ui.state == LIVE:   # where people open the live UI
        components["ui"] = replace(ui, details=ui.details + (("url", settings.site_url),))
    data: dict[str, Any] = {"env": settings.env, "components": components}
    try:
        holder = dynamodb.read_lock(settings.clients, settings.lock_table, lock.lock_id(settings))
        data["lock"] = {k: v for k, v in holder.items() if k != "token"} if holder else None
    except dynamodb.LockTableMissing:
        data["lock"] = {"state": "not deployed", "detail": f"no lock table {settings.lock_table}"}
    except Exception as exc:  # noqa: BLE001
        data["lock"] = {"state": "unknown", "error": pipeline.describe_failure(exc)}
    try:
        data["release"] = release.latest(settings)
    except Exception as exc:  # noqa: BLE001 - no bucket yet, no record yet
        data["release"] = {"state": "unknown", "error": pipeline.describe_failure(exc)}
    return data


def rows(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = [(name, live.state, live.shown()) for name, live in data["components"].items()]
    lk = data.get("lock")
    if lk is None:
        out.append(("deploy lock", "free", ""))
    elif "holder" in lk:
        out.append(("deploy lock", "held", f"{lk.get('holder')} pid {int(float(lk.get('pid', 0)))} "
                                           f"'{lk.get('command')}' since {lk.get('started')}"))
    else:
        out.append(("deploy lock", lk["state"], lk.get("detail") or lk.get("error", "")))
    rel = data.get("release")
    if rel is None:
        out.append(("latest release", "none", "no release recorded yet"))
    elif "release_id" in rel:
        out.append(("latest release", rel["release_id"], f"{rel.get('time')} by {rel.get('who')}: {rel.get('command')}"))
    else:
        out.append(("latest release", rel["state"], rel["error"]))
    return out


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """The --json report: each component's Live as a plain dict."""
    return {**data, "components": {name: live.as_dict() for name, live in data["components"].items()}}


@tars_task(common=READS)
def status(c, flags):
    """What is live now: Lambda, UI, MCP, infrastructure, the deploy lock, the latest release."""
    settings = load_settings(c, flags)
    data = collect(settings)
    console.table(f"TARS status ({settings.env})", ["part", "state", "details"], rows(data))
    console.write_report(flags.json, as_json(data))


ns = Collection(status)
