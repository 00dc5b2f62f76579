"""A moto server whose whole state can be copied in milliseconds: by fork().

moto keeps every resource in the memory of its process and offers no snapshot (its recorder
replays requests, but resources get new random ids on replay, so a Terraform state no longer
matches: measured in docs/benchmarks.md). A fork of the process is an exact copy. So one
*template* process serves while the expensive setup runs (``terraform apply``), then stops
serving (only its main thread is left, which makes fork safe) and forks one child per test:
each child serves an identical copy of the state on its own port.

Run as ``python -m bench.scenarios.moto_template``; one command per line on stdin, one answer
line on stdout:

    serve          -> "port N"          serve on 127.0.0.1:N (a free port)
    freeze         -> "frozen"          stop serving; the state stays in memory
    fork [PORT [HOOK]] -> "child PID PORT"  a copy of the frozen state served by a new process
                                        (on PORT when given and free, else a free port; PORT 0:
                                        any); HOOK, ``/path/file.py:function``, is called in the
                                        child before it serves (a test's patch of moto, e.g.
                                        tests/support/aws_calls/sitecustomize.py's for IAM enforcement)

EOF on stdin ends the template. Children exit with it (PR_SET_PDEATHSIG), or when stopped by
their pid. The client side is :class:`Template`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = "bench.scenarios.moto_template"


def _die_with_parent() -> None:
    import ctypes

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: children are stopped by pid only
        pass


def _serve(port: int):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def _run_hook(hook: str) -> None:
    import importlib.util

    path, function = hook.rsplit(":", 1)
    spec = importlib.util.spec_from_file_location("_moto_template_hook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    getattr(module, function)()


def _fork(port: int, hook: str | None = None) -> str:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: serve the inherited state until stopped
        try:
            os.close(read_end)
            _die_with_parent()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            if hook:
                _run_hook(hook)
            try:
                server = _serve(port)
            except OSError:  # the port is taken: any free one
                server = _serve(0)
            os.write(write_end, str(server.get_host_and_port()[1]).encode())
            os.close(write_end)
            while True:
                signal.pause()
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        child_port = answer.read().strip()
    return f"child {pid} {child_port}" if child_port else "error the child did not start"


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    _die_with_parent()
    server = None
    for line in sys.stdin:
        command, *args = line.split()
        if command == "serve" and server is None:
            server = _serve(0)
            answer = f"port {server.get_host_and_port()[1]}"
        elif command == "freeze" and server is not None:
            server.stop()
            server = None
            answer = "frozen"
        elif command == "fork" and server is None:
            answer = _fork(int(args[0]) if args else 0, args[1] if len(args) > 1 else None)
        else:
            answer = f"error cannot {command} now"
        print(answer, flush=True)


@dataclass(frozen=True)
class Child:
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this copy by its pid (it is our own fork; never by name)."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)


class Template:
    """The client: start the template, let it serve, freeze it, fork copies."""

    def __init__(self, env: dict[str, str] | None = None):
        env = dict(os.environ if env is None else env)
        env["PYTHONPATH"] = str(ROOT)
        env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
        env.pop("AWS_ENDPOINT_URL", None)
        self.proc = subprocess.Popen([sys.executable, "-m", MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=str(ROOT), env=env)
        self.port: int | None = None

    def _ask(self, command: str) -> list[str]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        if not answer or answer[0] == "error":
            raise RuntimeError(f"moto template: {command!r} -> {' '.join(answer) or 'no answer (it exited)'}")
        return answer

    def serve(self) -> str:
        self.port = int(self._ask("serve")[1])
        return f"http://127.0.0.1:{self.port}"

    def freeze(self) -> None:
        self._ask("freeze")

    def fork(self, port: int | None = None, hook: str | None = None) -> Child:
        _, pid, child_port = self._ask("fork" + (f" {port or 0}" if port or hook else "") + (f" {hook}" if hook else ""))
        return Child(int(pid), int(child_port))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


if __name__ == "__main__":
    main()


def moto_process(env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """A plain (not forkable) moto server process on a free 127.0.0.1 port, once it answers:
    (the process, its URL). The caller stops it. bench/bench_lambda.py and bench/bench_ui.py."""
    import urllib.request

    from tars_tasks.local.processes import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")
