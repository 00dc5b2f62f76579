"""boto3 clients with timeouts, cached per warm container (and per endpoint, for tests)."""
from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from config import AWS_TIMEOUTS

_CACHE: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def client(service: str, timeouts: tuple[float, float, int] = AWS_TIMEOUTS) -> Any:
    connect, read, attempts = timeouts
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    key = (service, timeouts, region, os.environ.get("AWS_ENDPOINT_URL", ""))
    with _LOCK:
        if key not in _CACHE:
            extra = {"signature_version": "s3v4"} if service == "s3" else {}
            config = BotoConfig(connect_timeout=connect, read_timeout=read, region_name=region,
                                retries={"mode": "standard", "total_max_attempts": attempts}, **extra)
            _CACHE[key] = boto3.session.Session().client(service, config=config)
        return _CACHE[key]


def reset() -> None:
    """Forget every client (tests switch emulators)."""
    with _LOCK:
        _CACHE.clear()
