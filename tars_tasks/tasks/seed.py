"""`inv seed-logs`: sample service logs (payment, order, inventory, with an error burst)."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..runner import load_settings, tars_task

SAMPLE_DATA = "lambda_src/sample_data.py"


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


@tars_task(help={"now_ms": "end the sample traffic at this epoch time in ms (default: now)"})
def seed_logs(c, env=None, local=False, dry_run=False, yes=False, json=None, now_ms=None):
    """Write sample service logs into CloudWatch Logs (payment-service, order-service, inventory-service)."""
    from ..aws import session
    from ..aws.errors import translate

    settings = load_settings(c, env=env, local=local or None)
    module = _sample_data(settings.root)
    where = "the local emulator" if settings.is_local else f"CloudWatch Logs in {settings.region}"
    if dry_run:
        console.info(f"would write the sample logs of {SAMPLE_DATA} into {where} (dry run: nothing written)")
        console.write_report(json, {"dry_run": True, "target": where})
        return
    if not settings.is_local:
        console.confirm(f"write sample logs into {where}?", yes)
    with translate("write the sample logs"):
        counts = module.seed(session.client("logs"), now_ms=int(now_ms) if now_ms is not None else None)
    console.table(f"sample logs written to {where}", ["log group", "events"],
                  [(group, count) for group, count in sorted(counts.items())])
    console.write_report(json, {"target": where, "log_groups": counts})


ns = Collection(seed_logs)
