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
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from . import console
from . import plan as plan_base

# Lock ids this process holds right now: a nested hold (deploy --all calling a component that
# takes the lock itself) is a no-op instead of refusing its own pipeline.
_held: dict[str, dict | None] = {}
_held_lock = threading.Lock()


@contextlib.contextmanager
def one_at_a_time(path) -> Iterator[None]:
    """This machine's lock, beside the deploy lock: hold an exclusive flock on ``path`` for the block.
    Runs on one checkout (several environments deployed in parallel, two terminals) build into the
    same directories, or start the same local server, one after the other instead of over each
    other. Released when the block ends or the process dies."""
    import fcntl
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
def hold(settings, command: str, *, clock: Callable[[], float] = time.time) -> Iterator[dict | None]:
    """Hold the deploy lock for the body (a dry run never gets here: skeleton.apply stops before)."""
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


# ---------------------------------------------------------------- inv unlock, as a plan

@dataclass(frozen=True)
class UnlockPlan(plan_base.Plan):
    """inv unlock: delete the lock item of ``lock_id`` as it was read (its token), or nothing."""

    component = "lock"
    lock_id: str
    holder: tuple[tuple[str, Any], ...] = ()   # the lock item read, token included; () when free

    @property
    def has_changes(self) -> bool:
        return bool(self.holder)

    @property
    def who(self) -> str:
        h = dict(self.holder)
        return (f"{h.get('holder')} (pid {int(float(h.get('pid', 0)))}, '{h.get('command')}', "
                f"since {h.get('started')})")

    @property
    def before(self) -> str | None:
        return self.who if self.holder else None

    def summary(self) -> list[str]:
        if not self.holder:
            return [f"no deploy lock held for {self.lock_id}"]
        return [f"release the deploy lock of {self.lock_id}, held by {self.who}"]

    def as_dict(self) -> dict[str, Any]:
        return {"lock_id": self.lock_id, "held_by": {k: v for k, v in self.holder if k != "token"} or None}


def plan_unlock(settings) -> UnlockPlan:
    """Reads only: who holds this environment's deploy lock (no lock table yet: nobody)."""
    from .aws import dynamodb

    lid = lock_id(settings)
    try:
        holder = dynamodb.read_lock(settings.clients, settings.lock_table, lid)
    except dynamodb.LockTableMissing:
        holder = None
    return UnlockPlan(lid, tuple(sorted((holder or {}).items())))


def execute_unlock(settings, p: UnlockPlan):
    """Delete the lock item read by the plan, only if it is still that one (its token)."""
    from .aws import dynamodb
    from .errors import Refused
    from .outcome import DEPLOYED, UNCHANGED, Outcome

    if not p.has_changes:
        return Outcome("lock", UNCHANGED, None, None, p.summary()[0])
    if not dynamodb.release_lock(settings.clients, settings.lock_table, p.lock_id, dict(p.holder).get("token")):
        raise Refused(f"the deploy lock of {p.lock_id} changed since it was read: nothing released",
                      "run inv unlock again and look at who holds it now")
    return Outcome("lock", DEPLOYED, p.who, None, f"released the deploy lock of {p.who}")
