"""The boto3 clients of one run (``settings.clients``), made by its target (tars_tasks/target.py).

The one place a boto3 session and its clients are made: every other module calls
``aws/<service>`` functions with the run's ``Clients``. Local: the emulator's ``endpoint_url``
and dummy credentials, given explicitly (the user's profile is never read); AWS: the user's
profile and boto3's own configuration. botocore's standard retry mode everywhere.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
S3 = "s3"   # the one service whose client is boto3's (upload_file)
POOL_SIZE = 64   # connections per client, at least the most parallel transfers (deploy-ui --workers)


class Clients:
    """The boto3 clients of one run. ``clients("lambda")`` is the cached client of a service;
    ``clients("lambda", read_timeout=...)`` a fresh one with those botocore Config overrides."""

    def __init__(self, *, region: str, profile: str | None = None, endpoint_url: Callable[[], str | None] | None = None,
                 credentials: dict[str, str] | None = None, max_attempts: int = 5, read_timeout: float = 30.0):
        self.region = region
        self.profile = profile
        self._endpoint = endpoint_url or (lambda: None)
        self._credentials = credentials
        self.max_attempts = int(max_attempts)
        self.read_timeout = float(read_timeout)
        self._lock = threading.RLock()   # creating a client is not thread-safe: one at a time
        self._core = None
        self._session = None
        self._clients: dict[str, Any] = {}
        self._observers: list[Callable[[str, Any], None]] = []

    @property
    def endpoint_url(self) -> str | None:
        return self._endpoint()

    def core(self):
        """The run's botocore session: credentials for signing, and the factory of every client
        but S3's (so a run that talks only to Lambda never imports boto3 nor s3transfer)."""
        import botocore.session

        with self._lock:
            if self._core is None:
                if self._credentials is not None:   # the emulator: never the user's profile or keys
                    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
                    core.set_credentials(self._credentials["AWS_ACCESS_KEY_ID"],
                                         self._credentials["AWS_SECRET_ACCESS_KEY"])
                else:
                    core = botocore.session.Session(profile=self.profile or None)
                if self.region:
                    core.set_config_variable("region", self.region)
                self._core = core
            return self._core

    def session(self):
        """A boto3 session over :meth:`core` (made on the first S3 client: ``upload_file``, the
        multipart upload through s3transfer, is boto3's)."""
        import boto3

        with self._lock:
            if self._session is None:
                self._session = boto3.session.Session(botocore_session=self.core(), region_name=self.region or None)
            return self._session

    def config(self, **overrides: Any):
        """botocore Config with standard retries. ``total_max_attempts`` counts attempts in total."""
        from botocore.config import Config

        attempts = overrides.pop("total_max_attempts", None) or self.max_attempts
        read_timeout = overrides.pop("read_timeout", None) or self.read_timeout
        return Config(retries={"mode": "standard", "total_max_attempts": int(attempts)},
                      connect_timeout=overrides.pop("connect_timeout", 10), read_timeout=read_timeout,
                      max_pool_connections=overrides.pop("max_pool_connections", POOL_SIZE), **overrides)

    def _make(self, service: str, **overrides: Any):
        from .errors import translate

        endpoint = self.endpoint_url
        with translate(f"create {service} client"):
            factory = self.session().client if service == S3 else self.core().create_client
            made = factory(service, config=self.config(**overrides), **({"endpoint_url": endpoint} if endpoint else {}))
        if service == S3:
            _no_expect_continue(made)
        for observe in list(self._observers):
            observe(service, made)
        return made

    def __call__(self, service: str, **config_overrides: Any):
        with self._lock:
            if config_overrides:
                return self._make(service, **config_overrides)
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def forget(self) -> None:
        """Drop the clients made so far (the endpoint changed); observers stay."""
        with self._lock:
            self._clients.clear()

    def observe(self, hook: Callable[[str, Any], None]) -> None:
        """Call ``hook(service, client)`` for every client made from now on, and for those made."""
        with self._lock:
            self._observers.append(hook)
            made = list(self._clients.items())
        for service, client in made:
            hook(service, client)

    def credentials(self):
        """The frozen credentials of the session (None when there are none)."""
        found = self.core().get_credentials()
        return found.get_frozen_credentials() if found is not None else None


def _no_expect_continue(client) -> None:
    """botocore sends every S3 PUT with a file body as ``Expect: 100-continue``: one more round trip
    per upload before the body goes out. It buys something only when the PUT is likely refused
    (auth, wrong region), which the plan's bucket reads have already ruled out; so none."""
    from botocore.handlers import add_expect_header

    client.meta.events.unregister("before-call.s3", add_expect_header)
