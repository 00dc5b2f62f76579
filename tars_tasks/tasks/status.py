"""`inv status`: what is live, in one table (replaces check-status.sh).

Each component's current() (Lambda alias → version, UI version, MCP revision and rollout,
infrastructure serial), the deploy lock holder and the latest release record. A component that
is not available or not deployed shows "unknown" / "not deployed", never a traceback.
"""
from __future__ import annotations

from typing import Any, Mapping

from invoke import Collection

from .. import console
from ..skeleton import READS, load_settings, tars_task

# What to show first for each component (its current() keys), in this order.
SHOWN = {
    "lambda": ("alias", "version", "commit", "last_modified"),
    "ui": ("release", "release_id", "commit", "time", "url"),
    "mcp": ("task_definition", "revision", "image", "image_tag", "running", "desired", "rollout_state"),
    "infra": ("serial", "last_apply", "lineage"),
}
HIDDEN = {"state", "error", "component", "env", "function", "code_sha256", "description", "files"}


def describe(name: str, current: dict[str, Any]) -> tuple[str, str]:
    """(state, details) for one component's current() dict."""
    if not current or current.get("state") in ("not deployed", "missing"):
        return "not deployed", current.get("detail", "") if current else ""
    if current.get("state") == "unknown" or current.get("error"):
        return "unknown", str(current.get("error", ""))
    keys = [k for k in SHOWN.get(name, ()) if k in current]
    keys += [k for k in current if k not in keys and k not in HIDDEN and not isinstance(current[k], (dict, list))]
    details = ", ".join(f"{k}={current[k]}" for k in keys if current[k] not in (None, ""))
    return str(current.get("state") or "live"), details


def collect(settings, registry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    from .. import lock
    from ..aws import dynamodb
    from ..steps import pipeline, release

    data: dict[str, Any] = {"env": settings.env, "components": pipeline.current_all(settings, registry)}
    ui = data["components"].get("ui") or {}
    if settings.site_url and ui and not ui.get("error") and ui.get("state") != "not deployed":
        ui.setdefault("url", settings.site_url)
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
    out = [(name, *describe(name, cur)) for name, cur in data["components"].items()]
    lk = data.get("lock")
    if lk is None:
        out.append(("deploy lock", "free", ""))
    elif "holder" in lk:
        out.append(("deploy lock", "held", f"{lk.get('holder')} pid {int(float(lk.get('pid', 0)))} "
                                           f"'{lk.get('command')}' since {lk.get('started')}"))
    else:
        out.append(("deploy lock", *describe("lock", lk)))
    rel = data.get("release")
    if rel is None:
        out.append(("latest release", "none", "no release recorded yet"))
    elif "release_id" in rel:
        out.append(("latest release", rel["release_id"], f"{rel.get('time')} by {rel.get('who')}: {rel.get('command')}"))
    else:
        out.append(("latest release", *describe("release", rel)))
    return out


@tars_task(common=READS)
def status(c, flags):
    """What is live now: Lambda, UI, MCP, infrastructure, the deploy lock, the latest release."""
    settings = load_settings(c, flags)
    data = collect(settings)
    console.table(f"TARS status ({settings.env})", ["part", "state", "details"], rows(data))
    console.write_report(flags.json, data)


ns = Collection(status)
