"""The deploy lock: one mutating task per environment at a time.

``with lock.hold(settings, "deploy-lambda"):`` takes the lock (a DynamoDB conditional put in
the lock table), renews the lease from a background thread while the body runs, and releases
it on every exit path (success, failure, Ctrl-C). A live holder → Refused (exit 3) naming it;
an expired lease is taken over with a warning. Before the infrastructure exists there is no
lock table: the first setup then runs unlocked, with a warning.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from typing import Callable, Iterator

from . import console

# Lock ids this process holds right now: a nested hold (deploy --all calling a component that
# takes the lock itself) is a no-op instead of refusing its own pipeline.
_held: dict[str, dict | None] = {}
_held_lock = threading.Lock()


def lock_id(settings) -> str:
    return f"{settings.project}/{settings.env}"


def held_here(settings) -> bool:
    """True when this process already holds the deploy lock of ``settings``' environment."""
    with _held_lock:
        return lock_id(settings) in _held


@contextlib.contextmanager
def _mark_held(lid: str, holder: dict | None) -> Iterator[dict | None]:
    with _held_lock:
        had, previous = lid in _held, _held.get(lid)
        _held[lid] = holder
    try:
        yield holder
    finally:
        with _held_lock:
            if had:
                _held[lid] = previous
            else:
                _held.pop(lid, None)


@contextlib.contextmanager
def hold(settings, command: str, *, dry_run: bool = False,
         clock: Callable[[], float] = time.time) -> Iterator[dict | None]:
    if dry_run:
        yield None
        return
    with _held_lock:
        nested = lock_id(settings) in _held
        outer = _held.get(lock_id(settings))
    if nested and outer is not None:  # re-entrant: the outer hold keeps (and releases) the lock
        yield outer
        return
    # not held, or held "unlocked" because the table was missing: try for the real lock now
    from .aws import dynamodb
    from .tools import git

    lease = float(settings.lock_lease_seconds)
    token = uuid.uuid4().hex
    now = clock()
    holder = {"holder": git.user(), "pid": os.getpid(), "commit": git.commit(settings.root),
              "command": command, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
              "expires_at": now + lease, "token": token}
    table, lid = settings.lock_table, lock_id(settings)
    try:
        previous = dynamodb.acquire_lock(settings.clients, table, lid, holder, now)
    except dynamodb.LockTableMissing:
        if not nested:
            console.warn(f"deploy lock table {table} does not exist yet: running without a lock")
        with _mark_held(lid, None):
            yield None
        return
    if previous:
        console.warn(f"took over an expired deploy lock from {previous.get('holder')} "
                     f"('{previous.get('command')}', since {previous.get('started')})")
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(max(lease / 3, 0.05)):
            try:
                if not dynamodb.renew_lock(settings.clients, table, lid, token, clock() + lease):
                    console.warn("the deploy lock was taken from this run (inv unlock --force?)")
                    return
            except Exception:  # noqa: BLE001 - a failed renewal is retried next period
                continue

    renewer = threading.Thread(target=renew, name="tars-lock-renewal", daemon=True)
    renewer.start()
    try:
        with _mark_held(lid, holder):
            yield holder
    finally:
        stop.set()
        renewer.join(timeout=5)
        try:
            dynamodb.release_lock(settings.clients, table, lid, token)
        except Exception as exc:  # noqa: BLE001 - never hide the body's own error
            console.warn(f"could not release the deploy lock ({exc}); inv unlock --force releases it")
