"""The remote builder: build and push the MCP image, or pip-install Lambda dependencies, on
another machine over SSH (Fabric 3), for laptops that cannot build linux/amd64 well.

``--builder user@host[:port]`` (or TARS_BUILDER). Authentication is plain SSH: the agent, the
keys in ~/.ssh and ~/.ssh/config (Fabric reads it); the builder's host key must already be in
~/.ssh/known_hosts (unknown or changed keys are refused). Every SSH failure becomes one StepFailed
line naming the builder and the cause. Work happens in a ``mktemp -d`` directory that is removed
on every exit path. The registry password travels on the remote engine's stdin only.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..errors import ConfigError, StepFailed, UsageError
from . import build_context, container

_SPEC = re.compile(r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\])(?::(?P<port>\d{1,5}))?$")
SSH_HINT = "check that `ssh {target}` works from this machine (key in ssh-agent or ~/.ssh, host reachable)"


@dataclass(frozen=True)
class Builder:
    user: str | None
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}:{self.port}"

    def ssh_target(self) -> str:
        return f"-p {self.port} {self.user + '@' if self.user else ''}{self.host}"


def parse(spec: str) -> Builder:
    """'user@host[:port]' -> Builder (port 22 by default); anything else is a UsageError."""
    match = _SPEC.match((spec or "").strip())
    port = int(match.group("port")) if match and match.group("port") else 22
    if not match or not 0 < port < 65536:
        raise UsageError(f"--builder '{spec}' is not user@host[:port]", "for example --builder ci@build-box:2222")
    return Builder(match.group("user"), match.group("host").strip("[]"), port)


def _ssh_cause(exc: BaseException) -> str:
    from paramiko import ssh_exception as sx

    if isinstance(exc, sx.NoValidConnectionsError):
        return "connection refused"
    if "No authentication methods available" in str(exc):
        return "no SSH key or agent to authenticate with"
    if isinstance(exc, sx.AuthenticationException):
        return f"authentication failed ({exc})"
    if isinstance(exc, sx.BadHostKeyException):
        return "the host key does not match ~/.ssh/known_hosts (possible man-in-the-middle)"
    if "not found in known_hosts" in str(exc):
        return "unknown host key: it is not in ~/.ssh/known_hosts (ssh to it once to check and record it)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "connection timed out"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _ssh_errors() -> tuple[type[BaseException], ...]:
    from paramiko import ssh_exception as sx

    return (sx.SSHException, sx.NoValidConnectionsError, socket.error, EOFError)


@contextlib.contextmanager
def connect(spec: str, connect_timeout: float = 10) -> Iterator[object]:
    """An open Fabric Connection to ``spec``; SSH failures -> StepFailed naming host and cause."""
    from fabric import Connection

    builder = parse(spec)
    from paramiko import RejectPolicy

    conn = Connection(builder.host, user=builder.user, port=builder.port, connect_timeout=connect_timeout,
                      connect_kwargs={"banner_timeout": connect_timeout, "auth_timeout": connect_timeout})
    # The registry password goes to this host: it must be the host we know. Fabric's default
    # accepts any host key and reads no known_hosts; check ~/.ssh/known_hosts as ssh does.
    try:
        conn.client.load_system_host_keys()
    except OSError:
        pass  # no readable known_hosts: every host is unknown, and refused below
    conn.client.set_missing_host_key_policy(RejectPolicy())
    try:
        conn.open()
        yield conn
    except _ssh_errors() as exc:
        raise StepFailed(f"builder {builder}: {_ssh_cause(exc)}",
                         SSH_HINT.format(target=builder.ssh_target())) from None
    finally:
        conn.close()


class _Lines:
    """A file-like sink for Fabric's output streams: hands each complete line to ``on_line``."""

    def __init__(self, on_line: Callable[[str], None]):
        self.on_line = on_line
        self.partial = ""

    def write(self, data: str) -> int:
        self.partial += data
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            self.on_line(line.rstrip("\r"))
        return len(data)

    def flush(self) -> None:
        if self.partial:
            self.on_line(self.partial)
            self.partial = ""


def run(conn, command: str, what: str, *, stdin: str | None = None, timeout: float | None = 3600,
        on_line: Callable[[str], None] | None = None) -> str:
    """Run ``command`` on the builder (output captured; shown line by line through ``on_line`` when
    given); failure -> StepFailed with the last lines."""
    kwargs: dict = {"hide": True, "warn": True, "echo_stdin": False, "timeout": timeout, "pty": False}
    if on_line is not None:
        sink = _Lines(on_line)
        kwargs.update(hide=False, out_stream=sink, err_stream=sink)
    if stdin is not None:
        kwargs["in_stream"] = io.StringIO(stdin)
    else:
        kwargs["in_stream"] = False
    from invoke.exceptions import CommandTimedOut

    try:
        result = conn.run(command, **kwargs)
    except CommandTimedOut:
        raise StepFailed(f"builder {conn.host}: cannot {what}: no answer in {timeout:g} s", "retry") from None
    if result.exited != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-8:]
        last = tail[-1] if tail else f"exit {result.exited}"
        raise StepFailed(f"builder {conn.host}: cannot {what}: {last}",
                         f"run it there by hand: {command}", details=tail[:-1])
    return result.stdout


@contextlib.contextmanager
def workdir(conn) -> Iterator[str]:
    """A fresh directory on the builder, removed afterwards (even when the step failed)."""
    path = run(conn, "mktemp -d -t tars-build.XXXXXXXX", "create a work directory").strip()
    if not path.startswith("/"):
        raise StepFailed(f"builder {conn.host}: mktemp gave '{path[:60]}'", "check the builder's shell")
    try:
        yield path
    finally:
        with contextlib.suppress(Exception):
            conn.run(f"rm -rf {shlex.quote(path)}", hide=True, warn=True, in_stream=False)


def remote_engine(conn, preferred: str | None = None) -> str:
    names = (preferred,) if preferred else container.ENGINES
    probe = " || ".join(f"command -v {shlex.quote(n)}" for n in names)
    found = conn.run(probe, hide=True, warn=True, in_stream=False).stdout.strip().splitlines()
    if not found:
        raise ConfigError(f"builder {conn.host}: no container engine ({' or '.join(names)}) on its PATH",
                          container.INSTALL_HINT)
    return found[0]


def build_and_push(spec: str, context: Path, tag: str, login, *, engine: str | None = None,
                   platform: str = container.PLATFORM, on_line: Callable[[str], None] | None = None) -> None:
    """Upload ``context`` (honouring .dockerignore), log in, build ``tag`` and push it, on the builder."""
    payload = build_context.tarball(Path(context))
    with connect(spec) as conn, workdir(conn) as work:
        program = remote_engine(conn, engine)
        conn.put(io.BytesIO(payload), f"{work}/context.tar.gz")
        ctx = f"{work}/context"
        run(conn, f"mkdir -p {shlex.quote(ctx)} && tar -xzf {shlex.quote(work + '/context.tar.gz')} -C {shlex.quote(ctx)}",
            "unpack the build context")
        run(conn, shlex.join(container.login_argv(program, login.registry, login.username)),
            f"log in to {login.registry}", stdin=login.password + "\n", timeout=120)
        run(conn, shlex.join(container.build_argv(program, ctx, tag, platform)), f"build {tag}", on_line=on_line)
        run(conn, shlex.join(container.push_argv(program, tag)), f"push {tag}", on_line=on_line)


def pip_install(builder: str, requirements_text: str, pip_args: Sequence[str]) -> bytes:
    """``pip install -r requirements --target`` on the builder; returns the installed tree as .tar.gz.

    ``pip_args`` are appended as given (e.g. ``--platform manylinux2014_x86_64 --only-binary=:all:
    --python-version 3.11``). Archive members are relative to the target: ``./package/...``.
    """
    with connect(builder) as conn, workdir(conn) as work:
        requirements = f"{work}/requirements.txt"
        target = f"{work}/site"
        conn.put(io.BytesIO(requirements_text.encode("utf-8")), requirements)
        command = ["python3", "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                   "--target", target, "-r", requirements, *pip_args]
        run(conn, shlex.join(command), "install the Lambda dependencies")
        archive = f"{work}/site.tar.gz"
        run(conn, f"mkdir -p {shlex.quote(target)} && tar -czf {shlex.quote(archive)} -C {shlex.quote(target)} .",
            "pack the installed dependencies")
        buffer = io.BytesIO()
        conn.get(archive, local=buffer)
        return buffer.getvalue()
