"""What every task shares: the ``tars_task`` decorator, common flags, and loading Settings.

``tars_task`` is Invoke's ``@task`` plus the failure contract of DESIGN.md: a TarsError
prints its two lines (what failed, what to do) and exits with its code; Ctrl-C exits 130;
a botocore error that slipped through is converted; a traceback shows only with ``--debug``
(Invoke's core flag) or TARS_DEBUG=1.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from invoke import task
from invoke.exceptions import Exit

from . import console
from .errors import TarsError

COMMON_HELP = {
    "env": "environment: reads .env.<env> and .tars/<env>/outputs.json (default: tars.env)",
    "local": "target the embedded local emulator instead of AWS (or TARS_TARGET=local)",
    "dry_run": "print the plan (every call and upload it would make) and change nothing",
    "yes": "do not ask for confirmation (CI)",
    "json": "write a machine-readable report to this file",
}


def _debugging() -> bool:
    from .settings import Settings

    return Settings.debug_requested() or logging.getLogger().isEnabledFor(logging.DEBUG)


def tars_task(*args: Any, help: dict | None = None, **kwargs: Any) -> Callable:  # noqa: A002
    """``@tars_task(help={...})``: an Invoke task with TARS's failure handling and common help."""

    def decorate(body: Callable) -> Any:
        @functools.wraps(body)
        def wrapper(c, *a, **kw):
            try:
                return body(c, *a, **kw)
            except TarsError as err:
                if _debugging():
                    raise
                console.error(err)
                raise Exit(code=err.exit_code) from None
            except KeyboardInterrupt:
                console.error(TarsError("interrupted", "the step in progress was stopped; run the task again"))
                raise Exit(code=130) from None
            except Exception as exc:  # botocore errors that no aws/ function translated
                from .aws.errors import convert

                converted = convert(exc, "talk to AWS")
                if converted is None or _debugging():
                    raise
                console.error(converted)
                raise Exit(code=converted.exit_code) from None

        merged = {k: v for k, v in COMMON_HELP.items()}
        merged.update(help or {})
        import inspect

        params = inspect.signature(body).parameters
        merged = {k: v for k, v in merged.items() if k in params}
        return task(wrapper, *args, help=merged, **kwargs)

    if args and callable(args[0]) and not kwargs and help is None:
        body, args = args[0], ()
        return decorate(body)
    return decorate


def load_settings(c: Any, **flags: Any):
    """Settings for this run, validated, with the AWS session bound (and local mode started)."""
    from .aws import session
    from .settings import Settings

    settings = Settings.load(c, **flags)
    console.set_target(settings.target_flags)   # printed commands and hints name this run's target
    settings.ensure_valid()
    if settings.is_local:
        from .local import emulator

        emulator.activate(settings)
    session.configure(settings)
    return settings
