"""Background processes of local mode (emulator, function runtime, MCP server, site server).

Each one is recorded in ``.tars/local/<name>.json`` (pid, port, command) and stopped by that
pid only, after checking the pid still runs the command we started (pids get reused).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..errors import StepFailed


@dataclass(frozen=True)
class Proc:
    name: str
    pid: int
    port: int
    argv: tuple[str, ...]
    log: str
    started: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _record_path(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.json"


def read(state_dir: Path, name: str) -> Proc | None:
    path = _record_path(state_dir, name)
    try:
        data = json.loads(path.read_text())
        return Proc(name=data["name"], pid=int(data["pid"]), port=int(data["port"]),
                    argv=tuple(data["argv"]), log=data["log"], started=float(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_runs(proc: Proc) -> bool:
    """True when ``proc.pid`` is alive and still runs the command we recorded."""
    try:
        os.kill(proc.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    wanted = proc.argv[-1].encode() if proc.argv else b""
    return any(wanted in part for part in cmdline) if wanted else True


def answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def running(state_dir: Path, name: str, health_path: str = "/") -> Proc | None:
    proc = read(state_dir, name)
    if proc and pid_runs(proc) and answers(proc.url + health_path):
        return proc
    return None


def start(state_dir: Path, name: str, argv: Sequence[str], *, port: int, env: Mapping[str, str],
          health_path: str = "/", timeout: float = 30.0, cwd: Path | None = None,
          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Proc:
    """Start ``argv`` in the background, record it, and wait until ``health_path`` answers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        child = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=dict(env), cwd=str(cwd) if cwd else None, start_new_session=True)
    proc = Proc(name=name, pid=child.pid, port=port, argv=tuple(argv), log=str(log_path), started=time.time())
    _record_path(state_dir, name).write_text(json.dumps(asdict(proc)))
    deadline = clock() + timeout
    while clock() < deadline:
        if child.poll() is not None:
            tail = log_path.read_text(errors="replace")[-400:].strip().splitlines()[-1:] or ["(no output)"]
            raise StepFailed(f"local {name} exited at start (code {child.returncode}): {tail[0]}",
                             f"see {log_path}")
        if answers(proc.url + health_path):
            return proc
        sleep(0.1)
    stop(state_dir, name)
    raise StepFailed(f"local {name} did not answer on port {port} within {timeout:.0f}s", f"see {log_path}")


def stop(state_dir: Path, name: str, timeout: float = 10.0) -> bool:
    """Stop the recorded process by its pid (TERM, then KILL). True when one was stopped."""
    proc = read(state_dir, name)
    _record_path(state_dir, name).unlink(missing_ok=True)
    if proc is None or not pid_runs(proc):
        return False
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(proc.pid, os.WNOHANG)
            if waited == proc.pid:
                return True
        except ChildProcessError:
            pass
        if _gone(proc.pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def _gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie whose parent has not reaped it counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def recorded(state_dir: Path) -> list[Proc]:
    if not state_dir.is_dir():
        return []
    found = (read(state_dir, p.stem) for p in sorted(state_dir.glob("*.json")))
    return [p for p in found if p is not None]
