"""The local function runtime: runs exactly the code a version holds, as Lambda would.

``invoke(settings, function_name, qualifier, payload, timeout=...)`` resolves the qualifier
(alias -> version) in the emulator (``local.versions``), runs the handler on a warm worker
(``local.warm``: a long-lived subprocess of this Python per version, running only the zip whose
sha256 equals the version's CodeSha256, with the version's environment plus the emulator
endpoint and dummy credentials), ships its log lines to the function's log group, and answers
like boto3's ``invoke``: ``{"StatusCode", "FunctionError", "ExecutedVersion", "Payload"}``. The
Function URL server (``local.function_url``) holds the workers and calls it per request, so a
moved alias is picked up on the next request; other processes reach those workers through
``local.warm_api``; with no runtime server running, one worker runs the one invoke.
"""
from __future__ import annotations

from . import versions, warm, warm_api
from .versions import InvokeTimedOut, Payload  # noqa: F401 - the reply's types, where callers look for them


def invoke(settings, function_name: str, qualifier: str | None, payload: dict, *, timeout: float,
           pool=None) -> dict:
    """boto3-shaped ``invoke`` of ``function_name:qualifier`` run by the local runtime: on ``pool``'s
    warm workers (inside the runtime server), else on the running runtime server's (``local.warm_api``),
    else on a worker started for this one invoke (a cold start) and stopped after it."""
    if pool is not None:
        return pool.invoke(versions.resolve(settings, function_name, qualifier), payload, timeout=timeout,
                           qualifier=qualifier)
    server = warm_api.server_url(settings)
    if server:
        return warm_api.invoke(settings, server, function_name, qualifier, payload, timeout=timeout)
    once = warm.Pool(settings, size=1)   # no runtime server: one cold worker for this invoke, then stopped
    try:
        return once.invoke(versions.resolve(settings, function_name, qualifier), payload, timeout=timeout,
                           qualifier=qualifier)
    finally:
        once.close()
