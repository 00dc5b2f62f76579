"""The local AWS stand-in: moto's server on 127.0.0.1, started on demand.

Every ``--local`` task starts it first (``LocalTarget.start`` in tars_tasks/target.py), which
also gives the run's clients its endpoint and dummy credentials.
"""
from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from ..errors import StepFailed
from . import processes

NAME = "emulator"
HEALTH = "/moto-api/"


def proc_dir(settings) -> Path:
    return settings.local_dir / "proc"


def every_proc_dir(settings) -> list[Path]:
    """The process records of every local env of the project (.tars/local, .tars/local-<env>)."""
    tars = settings.root / ".tars"
    return [tars / "local" / "proc", *sorted(tars.glob("local-*/proc"))]


def running(settings) -> processes.Proc | None:
    return processes.running(proc_dir(settings), NAME, HEALTH)


def up(settings) -> tuple[processes.Proc, bool]:
    """Start moto's server unless it runs. Returns (process, started_now)."""
    proc = running(settings)
    if proc:
        return proc, False
    port = _previous_port(settings) or processes.free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    env = settings.child_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                             AWS_DEFAULT_REGION=settings.region, MOTO_PORT=str(port))
    return processes.start(proc_dir(settings), NAME, argv, port=port, env=env, health_path=HEALTH), True


def _previous_port(settings) -> int | None:
    """The port of the last emulator when it is free again: the endpoint the runtime and site
    servers know stays valid after a restart (its state does not: the emulator keeps it in memory)."""
    import socket

    last = processes.read(proc_dir(settings), NAME)
    if last is None:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", last.port))
        except OSError:
            return None
    return last.port


def down(settings) -> bool:
    return processes.stop(proc_dir(settings), NAME)


def reset(settings) -> bool:
    """Wipe every resource the emulator holds. False when it is not running."""
    proc = running(settings)
    if not proc:
        return False
    request = urllib.request.Request(proc.url + "/moto-api/reset", method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except OSError as exc:
        raise StepFailed(f"could not reset the local emulator: {exc}", "inv local.down, then inv local.up")
