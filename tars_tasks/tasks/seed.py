"""`inv seed-logs`: sample service logs (payment, order, inventory, with an error burst).

Idempotent: one copy of the sample at a time. Each run notes the streams the generator wrote
(``.tars/<env>/seed-logs.json``) and the next run deletes those before writing a fresh copy that
ends now, so the chat's counts stay the same however often `make demo` runs.
"""
from __future__ import annotations

import json

from invoke import Collection

from .. import console
from ..skeleton import CHANGES, load_settings, tars_task

SAMPLE_DATA = "lambda_src/sample_data.py"
RECORD = "seed-logs.json"


def _remember(settings, streams) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / RECORD).write_text(json.dumps({"streams": sorted(streams)}))


def _recorded(settings) -> list[tuple[str, str]]:
    try:
        return [tuple(s) for s in json.loads((settings.state_dir / RECORD).read_text())["streams"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _sample_data(root):
    """lambda_src/sample_data.py, imported by path (it ships with the handler, not with the tool)."""
    import importlib.util

    from ..errors import ConfigError

    path = root / SAMPLE_DATA
    if not path.is_file():
        raise ConfigError(f"{path} not found", "the sample data generator lives in lambda_src/sample_data.py")
    spec = importlib.util.spec_from_file_location("tars_sample_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "seed", None)):
        raise ConfigError(f"{path} has no seed(logs_client, now_ms=None) function",
                          "define it there: it writes the sample log groups and returns their event counts")
    return module


@tars_task(common=CHANGES, help={"now_ms": "end the sample traffic at this epoch time in ms (default: now)"})
def seed_logs(c, flags, now_ms=None):
    """Write sample service logs into CloudWatch Logs (payment-service, order-service, inventory-service)."""
    from ..aws import logs

    settings = load_settings(c, flags)
    module = _sample_data(settings.root)
    where = settings.target.describe()
    previous = logs.existing_streams(settings.clients, _recorded(settings))
    replacing = f", replacing the previous copy ({len(previous)} streams)" if previous else ""
    if flags.dry_run:
        console.info(f"would write the sample logs of {SAMPLE_DATA} into {where}{replacing} "
                     "(dry run: nothing written)")
        console.write_report(flags.json, {"dry_run": True, "target": where, "replaces": previous})
        return
    if not settings.target.disposable:
        console.confirm(f"write sample logs into {where}{replacing}?", flags.yes)
    logs.delete_streams(settings.clients, previous)
    counts, streams = logs.write_with(settings.clients, module.seed,
                                      now_ms=int(now_ms) if now_ms is not None else None)
    _remember(settings, streams)
    console.table(f"sample logs written to {where}{replacing}", ["log group", "events"],
                  [(group, count) for group, count in sorted(counts.items())])
    console.write_report(flags.json, {"target": where, "log_groups": counts, "replaced": previous})


ns = Collection(seed_logs)
