"""Is the emulator's infrastructure already what ``infrastructure/`` says? Without running a plan.

A plan against the emulator refreshes every resource (~20 s for ~90 resources). Nothing can
have changed when everything that feeds the plan is what it was after the last successful apply:

- the work copy's files: every .tf file, the provider lock, the placeholder zip, and the
  generated override (which holds the emulator's endpoint and the state's path);
- the input variables, and the terraform program (path, size, mtime: an upgrade re-plans);
- the state (serial and lineage: an apply or import by hand changes them);
- the emulator instance. The emulator keeps everything in memory: a restarted (or reset)
  emulator has none of the resources the state lists. The instance is identified by a marker
  the emulator itself holds, an SSM parameter (``MARKER``) written with a random id: a restart
  or a ``/moto-api/reset`` wipes it with everything else, which a pid and start time would not
  see. ``bind_state`` runs before every plan: when the marker is missing or differs from the one
  the state was made with, the state is reset, never left pointing at resources that are gone.

``infra-drift`` never uses this: drift is made behind Terraform's back, only a plan sees it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Mapping

from .tf_workcopy import WorkCopy

MARKER = "/tars-emulator/instance"
BOUND = "state-instance"      # the instance the state file was made on
APPLIED = "applied.json"      # the fingerprint after the last successful apply (or no-op plan)


def _clients(endpoint: str, region: str):
    from ..aws.clients import EMULATOR_CREDENTIALS, Clients

    return Clients(region=region, endpoint_url=lambda: endpoint, credentials=dict(EMULATOR_CREDENTIALS),
                   max_attempts=3)


def emulator_instance(endpoint: str, *, claim: bool = False, region: str = "us-east-1") -> str | None:
    """The id of the emulator instance at ``endpoint``; None when it carries none yet, unless
    ``claim``: then one is written (the first writer wins a race; everyone reads the same id)."""
    from ..aws import ssm

    clients = _clients(endpoint, region)
    found = ssm.parameter_value(clients, MARKER)
    if found is not None or not claim:
        return found
    ssm.create_parameter(clients, MARKER, uuid.uuid4().hex,
                         "identifies this emulator instance (tars_tasks.local.tf_fingerprint)")
    return ssm.parameter_value(clients, MARKER)


def bind_state(copy: WorkCopy, instance: str) -> bool:
    """Make the work copy's state belong to ``instance``: reset it when it was made on another
    emulator instance (or on none known). True when the state was reset."""
    bound = copy.directory / BOUND
    try:
        previous = bound.read_text(encoding="utf-8").strip()
    except OSError:
        previous = None
    if previous == instance:
        return False
    had_state = copy.state_path.exists()
    copy.reset_state()
    forget(copy)
    copy.directory.mkdir(parents=True, exist_ok=True)
    bound.write_text(instance + "\n", encoding="utf-8")
    return had_state


def _state_identity(path: Path) -> str:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return f"{state.get('lineage')}:{state.get('serial')}"
    except (OSError, ValueError):
        return "no state"


def fingerprint(copy: WorkCopy, variables: Mapping[str, str], instance: str | None, program: str | None = None) -> str:
    """sha256 of everything that feeds a plan of ``copy`` (see the module docstring)."""
    return combine(inputs(copy, variables, instance, program))


def combine(found: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for label, value in found.items():
        digest.update(label.encode() + b"\0" + bytes.fromhex(value))
    return digest.hexdigest()


def inputs(copy: WorkCopy, variables: Mapping[str, str], instance: str | None, program: str | None = None) -> dict[str, str]:
    """label -> sha256 of each input of a plan, in a fixed order (what ``fingerprint`` combines)."""
    found: dict[str, str] = {}

    def feed(label: str, data: bytes) -> None:
        found[label] = hashlib.sha256(data).hexdigest()

    for root, dirs, files in os.walk(copy.config_dir):
        dirs[:] = sorted(d for d in dirs if d != ".terraform")
        for name in sorted(files):
            path = Path(root, name)
            if name != ".terraform.tfstate.lock.info":
                feed("file:" + str(path.relative_to(copy.config_dir)), path.read_bytes())
    feed("variables", json.dumps(dict(variables), sort_keys=True).encode())
    if program:
        where = shutil.which(program) or program
        try:
            stat = os.stat(where)
            feed("program", f"{where}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        except OSError:
            feed("program", where.encode())
    feed("cli-config", copy.cli_config.read_bytes() if copy.cli_config and copy.cli_config.is_file() else b"")
    feed("state", _state_identity(copy.state_path).encode())
    feed("instance", (instance or "").encode())
    return found


def unchanged(copy: WorkCopy, current: str) -> bool:
    """True when ``current`` is the fingerprint recorded after the last successful apply."""
    try:
        return json.loads((copy.directory / APPLIED).read_text(encoding="utf-8")).get("fingerprint") == current
    except (OSError, ValueError, AttributeError):
        return False


def record(copy: WorkCopy, current: str, found: Mapping[str, str] | None = None) -> None:
    """After a successful apply (or a plan with no changes): remember ``current`` (computed after
    it) and, when given, its ``inputs`` (so ``changed`` can say which one moved)."""
    path = copy.directory / APPLIED
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"fingerprint": current, "inputs": dict(found or {})}) + "\n", encoding="utf-8")
    tmp.replace(path)


def changed(copy: WorkCopy, found: Mapping[str, str]) -> list[str]:
    """The inputs that differ from those of the last successful apply (all of them when none is known)."""
    try:
        recorded = json.loads((copy.directory / APPLIED).read_text(encoding="utf-8")).get("inputs") or {}
    except (OSError, ValueError, AttributeError):
        recorded = {}
    return sorted(set(found) ^ set(recorded) | {k for k in found if k in recorded and recorded[k] != found[k]})


def forget(copy: WorkCopy) -> None:
    """A failed or interrupted apply: the next run must plan."""
    (copy.directory / APPLIED).unlink(missing_ok=True)
