"""The local-mode servers beside the emulator: function runtime, site server, MCP server.

Each one listens on 127.0.0.1 at a port chosen once and kept in ``.tars/local/ports.json``, so
the URLs written to outputs.json (function_url, site_url, api_endpoint, mcp_endpoint) stay valid
across restarts. ``ensure(settings)`` starts the runtime and the site server when they are not
running (the local infrastructure runner after an apply, and every task that needs them, call it).
"""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

from ..errors import StepFailed
from ..lock import one_at_a_time
from . import processes

RUNTIME = "runtime"
SITE = "site"
MCP = "mcp"
NAMES = (RUNTIME, SITE, MCP)
HEALTH = "/_local/health"


def local_dir(settings) -> Path:
    return settings.local_dir


def proc_dir(settings) -> Path:
    return local_dir(settings) / "proc"


def ports(settings) -> dict[str, int]:
    """The port of each local server; chosen free the first time, then kept."""
    path = local_dir(settings) / "ports.json"
    try:
        known = {k: int(v) for k, v in json.loads(path.read_text()).items() if k in NAMES}
    except (OSError, ValueError, TypeError, AttributeError):
        known = {}
    missing = [n for n in NAMES if n not in known]
    if missing:
        for name in missing:
            port = processes.free_port()
            while port in known.values():
                port = processes.free_port()
            known[name] = port
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    return known


def url(settings, name: str) -> str:
    return f"http://127.0.0.1:{ports(settings)[name]}"


def running(settings, name: str) -> processes.Proc | None:
    return processes.running(proc_dir(settings), name, HEALTH if name != MCP else "/health")


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind (TIME_WAIT is fine)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def start_server(settings, name: str, argv: list[str], env: dict[str, str], health: str,
                 cwd: Path | None = None) -> processes.Proc:
    """Start one local server on its kept port (clear error when something else holds it)."""
    port = ports(settings)[name]
    processes.stop(proc_dir(settings), name)  # a stale record of ours: stop it by pid first
    if _port_taken(port):
        raise StepFailed(f"local {name} cannot start: port {port} on 127.0.0.1 is taken by another program",
                         f"stop that program, or delete {local_dir(settings) / 'ports.json'} "
                         "and run inv deploy-infrastructure --local to pick new ports")
    return processes.start(proc_dir(settings), name, argv, port=port, env=env, health_path=health, cwd=cwd)


def _server_env(settings) -> dict[str, str]:
    """A local server's environment: the emulator's endpoint and dummy keys, no secret of the user;
    the warm pool's settings as this run resolved them (invoke.yaml included: the server reads no ctx)."""
    from .warm import WARM_SETTINGS

    settings.ensure_valid(*WARM_SETTINGS)   # a bad TARS_WARM_* value: one line, exit 2, nothing started
    return settings.child_env(aws=True, TARS_ROOT=str(settings.root), TARS_TARGET="local", TARS_ENV=settings.env,
                              PYTHONPATH=str(Path(__file__).resolve().parents[2]),
                              TARS_WARM_POOL_SIZE=str(settings.warm_pool_size),
                              TARS_WARM_IDLE_SECONDS=str(settings.warm_idle_seconds))


def start_runtime(settings) -> processes.Proc:
    argv = [sys.executable, "-m", "tars_tasks.local.function_url", "--port", str(ports(settings)[RUNTIME]),
            "--function", settings.function_name, "--qualifier", settings.alias]
    return start_server(settings, RUNTIME, argv, _server_env(settings), HEALTH)


def start_site(settings) -> processes.Proc:
    argv = [sys.executable, "-m", "tars_tasks.local.site", "--port", str(ports(settings)[SITE])]
    return start_server(settings, SITE, argv, _server_env(settings), HEALTH)


def serving_endpoint(proc: processes.Proc) -> str | None:
    """The emulator endpoint a running runtime/site server talks to (from its health answer)."""
    import urllib.request

    try:
        with urllib.request.urlopen(proc.url + HEALTH, timeout=2) as reply:
            return json.loads(reply.read()).get("endpoint")
    except (OSError, ValueError):
        return None


def ensure(settings) -> dict[str, processes.Proc]:
    """Start the function runtime and the site server unless they run (restarting one that still
    talks to an emulator endpoint that is gone). Returns both records."""
    started = {}
    for name, start in ((RUNTIME, start_runtime), (SITE, start_site)):
        with one_at_a_time(proc_dir(settings) / f".{name}.lock"):  # two local-mode tasks at once start each server once
            proc = running(settings, name)
            if proc and serving_endpoint(proc) != settings.clients.endpoint_url:
                processes.stop(proc_dir(settings), name)
                proc = None
            started[name] = proc or start(settings)
    return started


