"""CloudFront: the distribution's domain, invalidations with back-off, waiting for completion."""
from __future__ import annotations

import time
from typing import Callable, Iterable
from urllib.parse import quote

from ..errors import ConfigError, StepFailed
from .errors import error_code, translate

MAX_PATHS = 15            # above this many paths one "/*" is cheaper and as good
ALL = "/*"
NO_DISTRIBUTION_HINT = "check TARS_DISTRIBUTION_ID (inv config), or run inv deploy-infrastructure first"
# moto (the local emulator) reports "COMPLETED" where CloudFront says "Completed".
EMULATOR_COMPLETED = "COMPLETED"


def domain_name(clients, distribution_id: str) -> str:
    """The distribution's *.cloudfront.net domain; ConfigError (exit 2) when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        r = clients("cloudfront").get_distribution(Id=distribution_id)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchDistribution", "404", "NotFound"):
            raise ConfigError(f"CloudFront distribution {distribution_id} does not exist",
                              NO_DISTRIBUTION_HINT) from None
        with translate(f"read CloudFront distribution {distribution_id}", NO_DISTRIBUTION_HINT):
            raise
    return r["Distribution"]["DomainName"]


def paths_for(keys: Iterable[str], invalidate_all: bool = False) -> list[str]:
    """CloudFront paths for changed object keys: index.html also as its folder ("/", "/docs/")."""
    paths: set[str] = set()
    for key in keys:
        path = "/" + quote(key, safe="/~-._")
        paths.add(path)
        if key == "index.html" or key.endswith("/index.html"):
            paths.add(path[: -len("index.html")])
    if invalidate_all or len(paths) > MAX_PATHS:
        return [ALL] if paths or invalidate_all else []
    return sorted(paths)


def invalidate(clients, distribution_id: str, paths: list[str], caller_reference: str, *, delay: float,
               max_attempts: int, sleep: Callable[[float], None] = time.sleep) -> str:
    """Create an invalidation; back off while CloudFront has too many in progress. Returns its id."""
    from botocore.exceptions import ClientError

    cf = clients("cloudfront")
    batch = {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": caller_reference}
    wait = max(delay, 0.0)
    for attempt in range(1, max_attempts + 1):
        try:
            r = cf.create_invalidation(DistributionId=distribution_id, InvalidationBatch=batch)
            return r["Invalidation"]["Id"]
        except ClientError as exc:
            if error_code(exc) != "TooManyInvalidationsInProgress" or attempt == max_attempts:
                if error_code(exc) == "TooManyInvalidationsInProgress":
                    raise StepFailed(f"CloudFront still had too many invalidations in progress after "
                                     f"{attempt} attempts", "the files are live; run inv deploy-ui "
                                     "--invalidate-all later to refresh the edge caches") from None
                with translate(f"invalidate {len(paths)} paths on {distribution_id}", NO_DISTRIBUTION_HINT):
                    raise
            sleep(wait)
            wait = min(max(wait * 2, 0.01), 60.0)
    raise AssertionError("unreachable")


def wait_completed(clients, distribution_id: str, invalidation_id: str, *, delay: float, max_attempts: int) -> None:
    """botocore's ``invalidation_completed`` waiter, also accepting the emulator's "COMPLETED".

    CloudFront only ever answers "InProgress" or "Completed", so the extra acceptor cannot
    change what happens against AWS; moto answers "COMPLETED" and would never match otherwise.
    """
    from botocore.exceptions import WaiterError
    from botocore.loaders import create_loader
    from botocore.waiter import WaiterModel, create_waiter_with_client

    cf = clients("cloudfront")
    config = create_loader().load_service_model("cloudfront", "waiters-2", cf.meta.service_model.api_version)
    spec = config["waiters"]["InvalidationCompleted"]
    spec["acceptors"] = spec["acceptors"] + [{"matcher": "path", "argument": "Invalidation.Status",
                                              "state": "success", "expected": EMULATOR_COMPLETED}]
    waiter = create_waiter_with_client("InvalidationCompleted", WaiterModel(config), cf)
    try:
        waiter.wait(DistributionId=distribution_id, Id=invalidation_id,
                    WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts})
    except WaiterError as exc:
        raise StepFailed(f"invalidation {invalidation_id} did not complete: {exc}",
                         "the files are live; the edge caches refresh when it completes") from None
