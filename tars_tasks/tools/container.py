"""The container engine (docker or podman): login with the password on stdin, build, push.

The engine comes from settings.container_engine (TARS_CONTAINER_ENGINE), else the first of
docker, podman on PATH. The registry password only ever travels on the engine's stdin
(``login --password-stdin``): never in argv, never printed.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError, StepFailed

ENGINES = ("docker", "podman")
PLATFORM = "linux/amd64"
INSTALL_HINT = ("install Docker (https://docs.docker.com/engine/install/) or Podman, set TARS_CONTAINER_ENGINE, "
                "or build on another machine with --builder user@host")


def detect(preferred: str | None = None) -> str:
    """Path of the engine program: ``preferred`` when given, else docker, else podman."""
    names = (preferred,) if preferred else ENGINES
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    wanted = preferred or " or ".join(ENGINES)
    raise ConfigError(f"no container engine found: {wanted} is not on PATH", INSTALL_HINT)


def engine_name(program: str) -> str:
    return Path(program).name


# The argv of each step: shared with the remote builder, which runs the same commands over SSH.
def login_argv(program: str, registry: str, username: str) -> list[str]:
    return [program, "login", "--username", username, "--password-stdin", registry]


def build_argv(program: str, context: str, tag: str, platform: str = PLATFORM) -> list[str]:
    return [program, "build", "--platform", platform, "-t", tag, context]


def push_argv(program: str, tag: str) -> list[str]:
    return [program, "push", tag]


def _failed(argv: Sequence[str], what: str, lines: list[str], code: int) -> StepFailed:
    tail = [line for line in lines if line.strip()][-8:]
    last = tail[-1].strip() if tail else f"exit {code}"
    return StepFailed(f"cannot {what}: {last}", f"run {engine_name(argv[0])} by hand to see the full output",
                      details=tail[:-1])


def _run(argv: Sequence[str], what: str, *, stdin: str | None = None, timeout: float = 3600) -> str:
    try:
        result = subprocess.run(list(argv), input=stdin if stdin is not None else "", capture_output=True,
                                text=True, timeout=timeout)
    except FileNotFoundError:
        raise ConfigError(f"cannot {what}: {argv[0]} is not installed", INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise StepFailed(f"cannot {what}: {engine_name(argv[0])} did not finish in {timeout:g} s",
                         "check the engine (docker info) and retry") from None
    if result.returncode != 0:
        raise _failed(argv, what, (result.stderr or result.stdout).splitlines(), result.returncode)
    return result.stdout


def _stream(argv: Sequence[str], what: str, on_line: Callable[[str], None] | None) -> None:
    """Run a long step (build, push) showing its output line by line as it comes."""
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
    except FileNotFoundError:
        raise ConfigError(f"cannot {what}: {argv[0]} is not installed", INSTALL_HINT) from None
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        del lines[:-50]
        if on_line:
            on_line(line.rstrip("\n"))
    code = proc.wait()
    if code != 0:
        raise _failed(argv, what, lines, code)


def version(program: str) -> str:
    return _run([program, "version", "--format", "{{.Client.Version}}"], "ask the container engine its version",
                timeout=60).strip()


def login(program: str, registry: str, username: str, password: str) -> None:
    _run(login_argv(program, registry, username), f"log in to {registry}", stdin=password + "\n", timeout=120)


def build(program: str, context: Path, tag: str, platform: str = PLATFORM,
          on_line: Callable[[str], None] | None = None) -> None:
    if not (context / "Dockerfile").is_file():
        raise ConfigError(f"no Dockerfile in {context}", "the MCP server's Dockerfile belongs in mcp_server/")
    _stream(build_argv(program, str(context), tag, platform), f"build {tag}", on_line)


def push(program: str, tag: str, on_line: Callable[[str], None] | None = None) -> None:
    _stream(push_argv(program, tag), f"push {tag}", on_line)
