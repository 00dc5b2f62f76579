"""Lambda: read the live code, update it, publish, point aliases, prune, invoke.

Plain functions over the run's clients (``clients("lambda")``, tars_tasks.target); they print nothing and raise TarsError kinds.
Functions that wait take ``sleep`` (and their delays) as parameters.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from ..errors import ConfigError, StepFailed, TarsError
from .errors import error_code, error_message, translate

NOT_FOUND_HINT = "run inv deploy-infrastructure first"
MAX_BACKOFF = 30.0   # seconds between two tries of a conflicting update


class InvokeTimedOut(StepFailed):
    """The invoke did not answer within the read timeout (the runbook's known smoke case)."""


class QualifierMissing(Exception):
    """No such alias or version (or no such function: ask again without a qualifier to know)."""


def _not_found(exc: BaseException) -> bool:
    return error_code(exc) == "ResourceNotFoundException"


def function_missing(name: str) -> ConfigError:
    return ConfigError(f"function {name} not found", NOT_FOUND_HINT)


def configuration(clients, name: str, qualifier: str | None = None) -> dict[str, Any]:
    """GetFunctionConfiguration of $LATEST, a version or an alias (one read call)."""
    from botocore.exceptions import ClientError

    kwargs = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
    try:
        with translate(f"read function {name}", NOT_FOUND_HINT):
            return clients("lambda").get_function_configuration(**kwargs)
    except ConfigError as err:
        cause = err.__cause__
        if isinstance(cause, ClientError) and _not_found(cause):
            if qualifier and qualifier != "$LATEST":   # AWS says the same for a missing function
                raise QualifierMissing(qualifier) from None
            raise function_missing(name) from None
        raise


def alias_configuration(clients, name: str, alias: str) -> dict[str, Any] | None:
    """The configuration of the version ``alias`` points to, or None when the alias does not exist.
    A missing function raises ConfigError. One read call when the alias exists, two otherwise."""
    try:
        return configuration(clients, name, alias)
    except QualifierMissing:
        configuration(clients, name)   # raises "function X not found" when the function itself is missing
        return None


def upload_artifact(clients, bucket: str, key: str, path) -> None:
    """Stage a zip over the direct-upload limit in the artifact bucket (s3transfer, multipart)."""
    with translate(f"upload {path} to s3://{bucket}/{key}", "create the artifact bucket: run inv deploy-infrastructure"):
        clients("s3").upload_file(str(path), bucket, key)


def update_code(clients, name: str, *, zip_bytes: bytes | None = None, s3: tuple[str, str] | None = None,
                revision_id: str | None = None, sleep: Callable[[float], None] = time.sleep,
                delay: float = 2.0, attempts: int = 6) -> dict[str, Any]:
    """UpdateFunctionCode guarded by RevisionId; retried (backoff) while another update runs."""
    kwargs: dict[str, Any] = {"FunctionName": name}
    if s3:
        kwargs.update(S3Bucket=s3[0], S3Key=s3[1])
    else:
        kwargs["ZipFile"] = zip_bytes
    if revision_id:
        kwargs["RevisionId"] = revision_id
    return _retry_conflicts(lambda: clients("lambda").update_function_code(**kwargs),
                            f"update the code of {name}", sleep, delay, attempts)


def wait_updated(clients, name: str, *, delay: float, max_attempts: int) -> dict[str, Any]:
    """Wait until LastUpdateStatus is Successful (the function_updated_v2 waiter); returns the
    configuration of its last poll (no read after the wait: the waiter's own answer is kept)."""
    from botocore.exceptions import WaiterError

    lam = clients("lambda")
    polled: list[dict[str, Any]] = []

    def keep(parsed=None, **_):
        if isinstance(parsed, dict):
            polled.append(parsed)

    waiter = lam.get_waiter("function_updated_v2")
    event = "after-call.lambda.GetFunction"   # the v2 waiter polls GetFunction
    lam.meta.events.register(event, keep)
    try:
        with translate(f"wait for {name} to finish updating"):
            waiter.wait(FunctionName=name, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts})
    except WaiterError as exc:
        config = (exc.last_response or {}).get("Configuration", {})
        reason = config.get("LastUpdateStatusReason") or str(exc)
        raise StepFailed(f"the code update of {name} did not finish: {reason}",
                         "inv logs --since 10m, fix the cause, then deploy again (the alias did not move)") from None
    finally:
        lam.meta.events.unregister(event, keep)
    last = (polled[-1] if polled else {}).get("Configuration")
    return last if last else configuration(clients, name)


def publish(clients, name: str, *, code_sha256: str, revision_id: str | None, description: str,
            sleep: Callable[[float], None] = time.sleep, delay: float = 2.0, attempts: int = 6) -> dict[str, Any]:
    """PublishVersion guarded by CodeSha256 (and RevisionId): returns the version's configuration."""
    kwargs = {"FunctionName": name, "CodeSha256": code_sha256, "Description": description[:256]}
    if revision_id:
        kwargs["RevisionId"] = revision_id
    return _retry_conflicts(lambda: clients("lambda").publish_version(**kwargs),
                            f"publish a version of {name}", sleep, delay, attempts)


def _retry_conflicts(call: Callable[[], dict], what: str, sleep, delay: float, attempts: int) -> dict:
    from botocore.exceptions import ClientError

    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceConflictException" and attempt < attempts:
                sleep(min(delay * 2 ** (attempt - 1), MAX_BACKOFF))
                continue
            if code == "ResourceConflictException":
                raise StepFailed(f"cannot {what}: another update is still in progress after {attempts} attempts",
                                 "wait for it to finish (inv status), then deploy again") from None
            if code == "PreconditionFailedException":
                raise StepFailed(f"cannot {what}: the function changed since it was read (RevisionId mismatch)",
                                 "someone else deployed meanwhile: run inv deploy-lambda again") from None
            if code == "InvalidParameterValueException" and "CodeSHA256" in error_message(exc).replace("Sha", "SHA"):
                raise StepFailed(f"cannot {what}: the live code is not the code just uploaded ({error_message(exc)})",
                                 "someone else uploaded code meanwhile: run inv deploy-lambda again") from None
            with translate(what, NOT_FOUND_HINT):
                raise
    raise AssertionError("unreachable")


def point_alias(clients, name: str, alias: str, version: str, *, exists: bool = True,
                revision_id: str | None = None) -> dict[str, Any]:
    """Move (or create) ``alias`` so all its traffic goes to ``version``. With ``revision_id`` (the
    alias's, from :func:`aliases`) the move is refused when the alias moved since it was read."""
    from botocore.exceptions import ClientError

    what = f"point alias {alias} of {name} at version {version}"
    try:
        with translate(what, NOT_FOUND_HINT):
            if exists:
                guard = {"RevisionId": revision_id} if revision_id else {}
                return clients("lambda").update_alias(FunctionName=name, Name=alias, FunctionVersion=version,
                                                     RoutingConfig={"AdditionalVersionWeights": {}}, **guard)
            return clients("lambda").create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
    except TarsError as err:
        cause = err.__cause__
        if isinstance(cause, ClientError) and error_code(cause) in ("PreconditionFailedException",
                                                                    "ResourceConflictException"):
            raise StepFailed(f"cannot {what}: the alias changed since it was read ({error_message(cause)})",
                             "someone else deployed meanwhile: run inv deploy-lambda again") from None
        raise


def versions(clients, name: str) -> list[dict[str, Any]]:
    """Published versions (no $LATEST), oldest first."""
    found: list[dict[str, Any]] = []
    with translate(f"list the versions of {name}", NOT_FOUND_HINT):
        for page in clients("lambda").get_paginator("list_versions_by_function").paginate(FunctionName=name):
            found.extend(v for v in page["Versions"] if v["Version"] != "$LATEST")
    return sorted(found, key=lambda v: int(v["Version"]))


def aliases(clients, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with translate(f"list the aliases of {name}", NOT_FOUND_HINT):
        for page in clients("lambda").get_paginator("list_aliases").paginate(FunctionName=name):
            found.extend(page["Aliases"])
    return found


def aliased_versions(alias_list: list[dict[str, Any]]) -> dict[str, list[str]]:
    """{version: [alias names routing to it]}, counting weighted routing too."""
    out: dict[str, list[str]] = {}
    for a in alias_list:
        targets = {a["FunctionVersion"], *((a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})}
        for v in targets:
            out.setdefault(v, []).append(a["Name"])
    return out


def delete_version(clients, name: str, version: str) -> None:
    if not version.isdigit():
        raise TarsError(f"refusing to delete version {version!r} of {name}")
    with translate(f"delete version {version} of {name}", NOT_FOUND_HINT):
        clients("lambda").delete_function(FunctionName=name, Qualifier=version)


def invoke(clients, name: str, qualifier: str, payload: dict, *, timeout: float) -> dict[str, Any]:
    """Invoke once (never retried) with a read timeout of ``timeout`` seconds.

    Returns ``{"StatusCode", "FunctionError", "Payload": bytes}``; raises InvokeTimedOut.
    """
    from botocore.exceptions import ReadTimeoutError

    fresh = clients("lambda", read_timeout=timeout, total_max_attempts=1)
    try:
        with translate(f"invoke {name}:{qualifier}", NOT_FOUND_HINT):
            response = fresh.invoke(FunctionName=name, Qualifier=qualifier, Payload=json.dumps(payload).encode())
    except StepFailed as err:
        if isinstance(err.__cause__, ReadTimeoutError):
            raise InvokeTimedOut(f"invoke of {name}:{qualifier} got no answer in {timeout:g} s") from None
        raise
    body = response.get("Payload")
    return {"StatusCode": response.get("StatusCode"), "FunctionError": response.get("FunctionError"),
            "Payload": body.read() if hasattr(body, "read") else (body or b"")}


def url_auth_type(clients, name: str, alias: str) -> str | None:
    """AuthType of the Function URL of ``alias`` (else of the function); None when it has none."""
    for qualifier in (alias, None):
        kwargs = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
        try:
            return clients("lambda").get_function_url_config(**kwargs).get("AuthType")
        except Exception as exc:  # noqa: BLE001 - sorted below
            if not _not_found(exc):
                with translate(f"read the Function URL of {name}"):
                    raise
    return None


def function(clients, name: str, qualifier: str) -> dict[str, Any]:
    """GetFunction of a version (or of the version an alias names): its configuration and ``Code.Location``."""
    with translate(f"read function {name}:{qualifier}", NOT_FOUND_HINT):
        return clients("lambda").get_function(FunctionName=name, Qualifier=qualifier)


def set_environment(clients, name: str, variables: dict[str, str], *, delay: float, max_attempts: int) -> None:
    """Merge ``variables`` into the function's environment and wait until the update is done."""
    with translate(f"update the environment of {name}", NOT_FOUND_HINT):
        lam = clients("lambda")
        config = lam.get_function_configuration(FunctionName=name)
        merged = dict((config.get("Environment") or {}).get("Variables") or {}, **variables)
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": merged})
        lam.get_waiter("function_updated_v2").wait(FunctionName=name,
                                                   WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts})
