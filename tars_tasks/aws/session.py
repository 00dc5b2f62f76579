"""One boto3 Session per run; clients created lazily with botocore standard retries.

The endpoint comes from boto3's own ``AWS_ENDPOINT_URL`` support: Settings exports it (local
mode, or a value from .env) and boto3 reads it. Nothing here builds endpoints by hand.
"""
from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_state: dict[str, Any] = {"session": None, "key": None, "clients": {}}


def configure(settings: Any) -> None:
    """Bind the run's session to ``settings`` (region, profile, retries, timeouts)."""
    if settings.endpoint_url and not settings.source("endpoint_url").startswith("environment"):
        settings.export_aws_environment(settings.endpoint_url)
    key = (settings.region, settings.profile, settings.max_attempts, settings.read_timeout)
    with _lock:
        if _state["key"] != key:
            _state.update(session=None, key=key, clients={}, settings=settings)
        _state["settings"] = settings


def reset() -> None:
    """Forget the session and clients (tests, and after the endpoint changes)."""
    with _lock:
        _state.update(session=None, key=None, clients={})


def session():
    import boto3

    with _lock:
        if _state["session"] is None:
            s = _state.get("settings")
            _state["session"] = boto3.session.Session(
                profile_name=getattr(s, "profile", None) or None,
                region_name=getattr(s, "region", None) or None,
            )
        return _state["session"]


def client_config(**overrides: Any):
    """botocore Config with standard retries. ``max_attempts`` counts attempts in total."""
    from botocore.config import Config

    s = _state.get("settings")
    attempts = overrides.pop("total_max_attempts", None) or getattr(s, "max_attempts", 5)
    read_timeout = overrides.pop("read_timeout", None) or getattr(s, "read_timeout", 30.0)
    return Config(retries={"mode": "standard", "total_max_attempts": int(attempts)},
                  connect_timeout=overrides.pop("connect_timeout", 10),
                  read_timeout=read_timeout, **overrides)


def client(service: str, **config_overrides: Any):
    """A cached client for ``service`` (a fresh one when config overrides are given)."""
    from .errors import translate

    if config_overrides:
        with translate(f"create {service} client"):
            return session().client(service, config=client_config(**config_overrides))
    with _lock:
        cached = _state["clients"].get(service)
    if cached is not None:
        return cached
    with translate(f"create {service} client"):
        made = session().client(service, config=client_config())
    with _lock:
        _state["clients"].setdefault(service, made)
        return _state["clients"][service]


def account_id() -> str:
    from .errors import translate

    with translate("read the AWS account id"):
        return client("sts").get_caller_identity()["Account"]
