"""Secrets from SSM Parameter Store: read on first use, cached per warm container, never logged.

``github_token()`` reads the SecureString named by GITHUB_TOKEN_SSM_PARAM (None when unset or
missing). Nothing here logs or returns the value anywhere but to the caller.
"""
from __future__ import annotations

import logging
import threading

import clients
import config

logger = logging.getLogger("tars")
_CACHE: dict[str, str | None] = {}
_LOCK = threading.Lock()


def parameter(name: str) -> str | None:
    with _LOCK:
        if name not in _CACHE:
            ssm = clients.client("ssm")
            try:
                _CACHE[name] = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            except ssm.exceptions.ParameterNotFound:
                logger.warning("SSM parameter %s not found", name)  # the name only, never a value
                _CACHE[name] = None
        return _CACHE[name]


def github_token() -> str | None:
    name = config.load().github_token_ssm_param
    return parameter(name) if name else None


def reset() -> None:
    with _LOCK:
        _CACHE.clear()
