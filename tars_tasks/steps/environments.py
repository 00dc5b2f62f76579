"""`inv deploy --all --env dev,staging`: several environments' pipelines in parallel, one summary.

plan (reads nothing: the names checked against ``tars.envs``, one child command per env, plain
data) → run every child at once → one table (environment, components, result, release id,
duration, exit code) and, with ``--json``, one object holding each environment's own report →
exit with the worst (highest) exit code of them.

Each environment is its own child process, ``inv deploy ... --env NAME --yes --json R``, as if
typed in its own terminal: Settings, the boto3 clients, the console's target and secrets, the
deploy lock's bookkeeping and the local target's emulator are per process, so nothing is shared
that was not made to be; one environment failing (or crashing) cannot stop or corrupt another.
What they do share on disk is guarded where it lives: the Lambda zip and the UI build are made one
at a time per checkout (tars_tasks/artifacts), each env uploads its own copy of the UI bundle, and
the local target keeps each env in its own directory (``.tars/local-<env>``, its own emulator).

Output: every line a child prints is relayed as it comes, prefixed ``[env]``, to the stream it
was written to. Live lines (rather than each env's log printed whole at its end) because a deploy
takes minutes: a CI log or a terminal shows progress and the failing step the moment it happens,
and a job killed by a timeout still has every line so far; ``grep '^\\[staging\\]'`` gives one env's
whole log back.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .. import console
from ..errors import ConfigError, TarsError, UsageError

ERROR_PREFIX = "error: "


@dataclass(frozen=True)
class EnvRun:
    """One environment's deploy: the child command and where it writes its report."""

    env: str
    argv: tuple[str, ...]
    report_path: str


@dataclass(frozen=True)
class EnvResult:
    env: str
    exit_code: int
    elapsed: float
    report: dict | None     # the child's own --json report (None: it stopped before writing one)
    error: str | None       # its `error:` line, if it printed one


class EnvironmentsFailed(TarsError):
    """Some environments did not deploy; the exit code is the worst of theirs."""

    kind = "environments"

    def __init__(self, message: str, hint: str, exit_code: int):
        super().__init__(message, hint)
        self.exit_code = exit_code


def parse(text: str, declared: Sequence[str]) -> tuple[str, ...]:
    """``dev,staging`` → ("dev", "staging"). UsageError for an empty or repeated name, ConfigError
    for one the project does not declare (tars.envs in invoke.yaml)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise UsageError(f"--env {text}: an empty environment name", "separate names with single commas: --env dev,staging")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"--env {text}: {', '.join(twice)} named twice", "name each environment once")
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise ConfigError(f"unknown environment '{unknown[0]}' in --env {text}",
                          f"use some of: {', '.join(declared)} (list them under tars.envs in invoke.yaml)")
    return tuple(names)


def plan(envs: Sequence[str], flags: Sequence[str], workdir: Path, *, program: Sequence[str] | None = None) -> tuple[EnvRun, ...]:
    """One child command per env: ``inv [flags] --env NAME --json <workdir>/NAME.json``."""
    from ..settings import ROOT

    program = tuple(program or (sys.executable, "-m", "invoke", "-r", str(ROOT), "deploy"))
    return tuple(EnvRun(env, (*program, *flags, "--env", env, "--json", str(workdir / f"{env}.json")),
                        str(workdir / f"{env}.json")) for env in envs)


def child_flags(names: Sequence[str], *, local: bool, dry_run: bool, yes: bool, **switches: bool) -> tuple[str, ...]:
    """The flags every child gets: the components, the switches that are on (``skip_verify`` →
    ``--skip-verify``), the target, --dry-run, --yes."""
    from .pipeline import ORDER

    flags = ["--all"] if tuple(names) == ORDER else [f"--{name}" for name in names]
    flags += [f"--{name.replace('_', '-')}" for name, on in switches.items() if on]
    flags += [flag for flag, on in (("--local", local), ("--dry-run", dry_run), ("--yes", yes)) if on]
    return tuple(flags)


def child_environment(env: str) -> dict[str, str]:
    """A child's environment: this process's (it deploys as this run would: the same credentials,
    GITHUB_TOKEN for prod's preflight), naming its env, its output unbuffered so lines come live."""
    return {**os.environ, "TARS_ENV": env, "PYTHONUNBUFFERED": "1"}


def run_all(runs: Sequence[EnvRun], *, clock: Callable[[], float] = time.monotonic,
            environment: Callable[[str], dict[str, str]] = child_environment) -> list[EnvResult]:
    """Start every child at once, relay their lines, wait for all of them (Ctrl-C in a terminal
    reaches every child: each ends its own run and summary, then this returns)."""
    started, procs, readers, errors = clock(), [], [], {}
    for run in runs:
        proc = subprocess.Popen(run.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace", env=environment(run.env))
        procs.append(proc)
        for stream, to_stderr in ((proc.stdout, False), (proc.stderr, True)):
            reader = threading.Thread(target=_relay, args=(run.env, stream, to_stderr, errors), daemon=True)
            reader.start()
            readers.append(reader)
    ended: dict[int, float] = {}
    pending = list(enumerate(procs))
    while pending:
        try:
            for i, proc in list(pending):
                proc.wait()
                ended[i] = clock() - started
                pending.remove((i, proc))
        except KeyboardInterrupt:
            console.warn("interrupted: waiting for every environment to end its own run")
    for reader in readers:
        reader.join()
    return [EnvResult(run.env, exit_code(proc.returncode), round(ended[i], 3), _read(run.report_path),
                      errors.get(run.env)) for i, (run, proc) in enumerate(zip(runs, procs))]


def _relay(env: str, stream, to_stderr: bool, errors: dict[str, str]) -> None:
    for line in stream:
        line = line.rstrip("\n")
        if to_stderr and line.startswith(ERROR_PREFIX) and env not in errors:
            errors[env] = line[len(ERROR_PREFIX):]
        console.relay(f"[{env}] ", line, stderr=to_stderr)


def _read(path: str) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def exit_code(returncode: int) -> int:
    """A child's exit code; killed by signal N (returncode -N) counts as 128 + N, as a shell says."""
    return 128 - returncode if returncode < 0 else returncode


def worst(codes: Sequence[int]) -> int:
    """The run's exit code: the highest of the environments' (0 only when every one is 0)."""
    return max(codes, default=0)


def result_text(result: EnvResult) -> str:
    """What happened to one env, in a few words."""
    report = result.report
    if result.exit_code == 130:
        return "interrupted"
    if report is None:
        return f"failed: {result.error}" if result.error else f"ended with exit {result.exit_code}, no report"
    if result.exit_code == 0:
        return "dry run" if report.get("dry_run") else "no changes" if report.get("unchanged") else "deployed"
    broken = next((c for c in report.get("components") or () if c.get("status") == "failed"), None)
    if broken:
        return f"failed at {broken['component']}: {broken.get('detail') or result.error or ''}".rstrip(": ")
    return f"{'refused' if result.exit_code == 3 else 'failed'}: {result.error or 'see its lines above'}"


def rows(results: Sequence[EnvResult]) -> list[tuple[str, str, str, str, str, str]]:
    """The summary table: environment, components, result, release id, duration, exit code."""
    out = []
    for r in results:
        parts = (r.report or {}).get("components") or ()
        components = ", ".join(f"{c['component']} {c['status']}" for c in parts) or "-"
        out.append((r.env, components, result_text(r), (r.report or {}).get("release_id") or "-",
                    f"{r.elapsed:.1f}s", str(r.exit_code)))
    return out


def combined_report(command: str, results: Sequence[EnvResult]) -> dict:
    """The --json report: the worst exit code and each environment's own report, in the order given."""
    code = worst([r.exit_code for r in results])
    return {"command": command, "envs": [r.env for r in results], "exit_code": code, "ok": code == 0,
            "environments": [{"env": r.env, "exit_code": r.exit_code, "elapsed": r.elapsed, "result": result_text(r),
                              "error": r.error, "report": r.report} for r in results]}


def deploy(declared: Sequence[str], env_list: str, flags: Sequence[str], *, dry_run: bool, yes: bool,
           json_path: str | None, local: bool, program: Sequence[str] | None = None) -> dict:
    """The whole run; returns the combined report, raises EnvironmentsFailed (worst exit code)."""
    envs = parse(env_list, declared)
    if not (yes or dry_run):
        raise UsageError(f"--env {env_list} deploys {len(envs)} environments at once: no prompt can be answered "
                         "for each", "look at the plans with --dry-run, then run it again with --yes")
    command = " ".join(["deploy", *(f for f in flags if f not in ("--yes", "--dry-run", "--local"))])
    with tempfile.TemporaryDirectory(prefix="tars-envs-") as workdir:
        runs = plan(envs, flags, Path(workdir), program=program)
        console.step(f"{command} to {', '.join(envs)} in parallel: one process each, its lines start with [env]")
        results = run_all(runs)
    console.table(f"deploy summary: {len(results)} environments",
                  ["environment", "components", "result", "release id", "duration", "exit code"], rows(results))
    report = combined_report(command, results)
    console.write_report(json_path, report)
    bad = [r for r in results if r.exit_code != 0]
    if bad:
        good = [r.env for r in results if r.exit_code == 0]
        again = f"inv {command} --env {','.join(r.env for r in bad)}{' --local' if local else ''}{' --yes' if yes else ''}"
        raise EnvironmentsFailed("deploy failed in " + ", ".join(f"{r.env} (exit {r.exit_code})" for r in bad)
                                 + (f"; {', '.join(good)} done" if good else ""),
                                 f"each environment's own lines above start with [env]; once fixed: {again}",
                                 report["exit_code"])
    console.ok(f"{'dry run done' if dry_run else 'done'}: {', '.join(envs)}")
    return report
