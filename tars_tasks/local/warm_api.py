"""The local runtime's Invoke API: how a task (the smoke test, verify) reaches the warm workers.

The runtime server (``local.function_url``) holds the :class:`~tars_tasks.local.warm.Pool`.
``POST /_local/invoke`` with ``{"function", "qualifier", "payload", "timeout"}`` runs one invoke
there and answers the boto3 shape (``Payload`` as text), ``{"error": TarsError.as_dict()}``, or
``{"callerTimedOut": true}``. ``GET /_local/workers`` lists the live workers (pid, version, busy).
Both need a SigV4 signature of the emulator's key, as Lambda's Invoke API does.
:func:`invoke` is the client side: the reply exactly as ``runtime.invoke`` returns it, errors
raised as the same kinds, so a caller cannot tell which process ran the handler.
"""
from __future__ import annotations

import json
import urllib.request
from typing import Any

INVOKE = "/_local/invoke"
WORKERS = "/_local/workers"


def server_url(settings) -> str | None:
    """The URL of this project's runtime server when it runs and talks to this emulator."""
    from . import processes, services

    proc = processes.read(services.proc_dir(settings), services.RUNTIME)
    if proc is None or not processes.pid_runs(proc):
        return None
    return proc.url if services.serving_endpoint(proc) == settings.clients.endpoint_url else None


def handle(pool, settings, body: bytes) -> dict[str, Any]:
    """Run one ``/_local/invoke`` request on ``pool``; the JSON answer."""
    from ..errors import TarsError, UsageError
    from . import versions

    try:
        request = json.loads(body)
        function, qualifier = str(request["function"]), request.get("qualifier")
        timeout = float(request.get("timeout") or 900)
    except (ValueError, KeyError, TypeError) as exc:
        return {"error": UsageError(f"bad local invoke request: {exc}",
                                    'send {"function", "qualifier", "payload", "timeout"}').as_dict()}
    try:
        version = versions.resolve(settings, function, qualifier)
        reply = pool.invoke(version, request.get("payload"), timeout=timeout, qualifier=qualifier)
    except versions.InvokeTimedOut:
        return {"callerTimedOut": True}
    except TarsError as err:
        return {"error": err.as_dict()}
    answer = {k: reply[k] for k in ("StatusCode", "ExecutedVersion", "FunctionError") if k in reply}
    answer["RequestId"] = reply["ResponseMetadata"]["RequestId"]
    answer["Payload"] = bytes(reply["Payload"]).decode("utf-8")
    return answer


def invoke(settings, url: str, function: str, qualifier: str | None, payload: Any, *, timeout: float) -> dict[str, Any]:
    """``runtime.invoke`` through the runtime server at ``url``, signed with SigV4 as Lambda's
    Invoke API is (the server refuses an unsigned call: 403)."""
    from .. import errors
    from . import sigv4, versions

    body = json.dumps({"function": function, "qualifier": qualifier, "payload": payload,
                       "timeout": timeout}).encode()
    headers = sigv4.sign("POST", url + INVOKE, {"Content-Type": "application/json"}, body,
                         settings.clients.credentials(), settings.region)
    request = urllib.request.Request(url + INVOKE, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=float(timeout) + 30) as reply:
            answer = json.loads(reply.read())
    except (OSError, ValueError) as exc:
        raise errors.StepFailed(f"the local function runtime at {url} did not answer: {exc}",
                                "inv local.status shows it; inv local.up restarts it") from None
    if answer.get("callerTimedOut"):
        raise versions.InvokeTimedOut(endpoint_url=f"local runtime {function}:{qualifier}")
    if "error" in answer:
        kinds = {"usage": errors.UsageError, "config": errors.ConfigError, "refused": errors.Refused}
        err = answer["error"]
        raise kinds.get(err.get("kind"), errors.StepFailed)(err.get("message", "local invoke failed"),
                                                            err.get("hint"), details=err.get("details"))
    result = {k: answer[k] for k in ("StatusCode", "ExecutedVersion", "FunctionError") if k in answer}
    result["ResponseMetadata"] = {"RequestId": answer.get("RequestId"), "HTTPStatusCode": 200}
    result["Payload"] = versions.Payload(answer["Payload"].encode("utf-8"))
    return result
