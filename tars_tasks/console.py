"""The only place that prints: messages, tables, progress, prompts and the --json report.

rich is imported lazily (``inv --list`` stays fast). When stdout is not a terminal, output
degrades to plain lines (no colours, no live bars). Every string that goes out, to the terminal
or a report file, is scrubbed of the secrets registered with :func:`register_secret`, and every
`inv <task>` command in it names the run's target (:func:`set_target`: ``--local``, or the
``--env`` chosen), so a hint or rollback command printed by a ``--local`` run targets local too.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import Refused, TarsError, UsageError

_secrets: set[str] = set()
_lock = threading.Lock()
_consoles: dict[str, Any] = {}
REDACTED = "****"
_target: dict[str, str] = {}          # flag -> its text, e.g. {"local": "--local"}
_COMMAND = re.compile(r"\binv ((?:[a-z0-9_]+\.)?[a-z][a-z0-9-]*)(?![a-z0-9.-])")


def register_secret(value: str | None) -> None:
    """Never print or report ``value`` (tokens, keys, passwords). Short values are ignored."""
    if value and len(value) >= 6:
        _secrets.add(value)


def scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def set_target(flags: dict[str, str]) -> None:
    """The flags that pick this run's target ({"local": "--local"} or {"env": "--env staging"})."""
    _target.clear()
    _target.update(flags)


def _tasks_taking(flag: str) -> frozenset[str]:
    from . import ns

    return frozenset(name for name in ns.task_names if flag in {a.name for a in ns[name].get_arguments()})


_takes: dict[str, frozenset[str]] = {}


def for_target(text: str) -> str:
    """Add the run's target flags to each `inv <task>` in ``text`` that takes them and lacks them."""
    if not _target or "inv " not in text:
        return text
    out, last = [], 0
    for match in _COMMAND.finditer(text):
        rest = text[match.end():]
        rest = rest[:rest.find("inv ")] if "inv " in rest else rest
        add = [flags for name, flags in _target.items()
               if match.group(1) in _takes.setdefault(name, _tasks_taking(name)) and f"--{name}" not in rest]
        out.append(text[last:match.end()] + "".join(f" {f}" for f in add))
        last = match.end()
    return "".join(out) + text[last:]


def _out(text: str) -> str:
    return for_target(scrub(text))


def _scrub_data(data: Any) -> Any:
    if isinstance(data, str):
        return _out(data)
    if isinstance(data, dict):
        return {k: _scrub_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_scrub_data(v) for v in data]
    return data


def _console(stderr: bool = False):
    """The rich console, writing to whatever sys.stdout / sys.stderr is at print time."""
    key = "err" if stderr else "out"
    if key not in _consoles:
        from rich.console import Console

        console = Console(stderr=stderr, highlight=False, soft_wrap=True)
        if not console.is_terminal:  # plain lines, wide enough for whole tables in CI logs
            console = Console(stderr=stderr, highlight=False, soft_wrap=True, width=200,
                              color_system=None)
        _consoles[key] = console
    return _consoles[key]


def is_terminal() -> bool:
    return _consoles["out"].is_terminal if "out" in _consoles else _isatty(sys.stdout)


# The prefixes' plain text: what rich prints for them with no terminal and no colours.
_PLAIN = {"[bold blue]==>[/] ": "==> ", "[green]✓[/] ": "✓ ", "[yellow]warning:[/] ": "warning: ",
          "[bold red]error:[/] ": "error: ", "[cyan]hint:[/] ": "hint: "}


def _print(markup_prefix: str, text: str, *, stderr: bool = False, style: str | None = None) -> None:
    stream = sys.stderr if stderr else sys.stdout
    if ("err" if stderr else "out") not in _consoles and not _isatty(stream):
        with _lock:   # no terminal: the plain line rich would print, without importing rich
            stream.write(_PLAIN.get(markup_prefix, markup_prefix) + _out(str(text)) + "\n")
        return
    from rich.markup import escape

    with _lock:
        _console(stderr).print(markup_prefix + escape(_out(str(text))), style=style)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def info(text: str) -> None:
    _print("", text)


def step(text: str) -> None:
    """A step heading: '==> Building lambda.zip'."""
    _print("[bold blue]==>[/] ", text, style="bold")


def ok(text: str) -> None:
    _print("[green]✓[/] ", text)


def detail(text: str) -> None:
    _print("    ", text, style="dim")


def warn(text: str) -> None:
    _print("[yellow]warning:[/] ", text, stderr=True)


def highlight_error_line(text: str) -> None:
    """A log line that holds an error, shown in red."""
    _print("", text, style="red")


def error(err: TarsError) -> None:
    """The two lines of an expected failure: what failed, what to do."""
    _print("[bold red]error:[/] ", err.message, stderr=True)
    for line in err.details:
        _print("    ", line, stderr=True)
    if err.hint:
        _print("[cyan]hint:[/] ", err.hint, stderr=True)


def relay(prefix: str, line: str, *, stderr: bool = False) -> None:
    """A line another run printed (a child deploying one environment), as it printed it, after ``prefix``."""
    stream = sys.stderr if stderr else sys.stdout
    with _lock:
        stream.write(prefix + scrub(line) + "\n")
        stream.flush()


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.table import Table

    t = Table(title=_out(title) if title else None, show_lines=False, header_style="bold")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*(_out("" if v is None else str(v)) for v in row))
    with _lock:
        _console().print(t)


def confirm(question: str, assume_yes: bool) -> None:
    """Ask once; raise Refused on 'no' or when there is no terminal to ask on and no --yes."""
    if assume_yes:
        return
    if not sys.stdin or not sys.stdin.isatty():
        raise Refused(f"{question} needs a confirmation and there is no terminal to ask",
                      "re-run with --yes (as CI does through the Makefile)")
    from rich.prompt import Confirm

    if not Confirm.ask(question, console=_console(), default=False):
        raise Refused("cancelled at the prompt: nothing was changed")


@contextlib.contextmanager
def status(text: str) -> Iterator[Any]:
    """A spinner with a live status line on a terminal; plain lines otherwise.

    Yields an object with ``update(text)``.
    """
    if is_terminal():
        with _console().status(_out(text)) as live:
            yield _StatusLine(lambda t: live.update(_out(t)))
    else:
        info(text)
        yield _StatusLine(info)


class _StatusLine:
    def __init__(self, sink):
        self._sink = sink
        self._last = None

    def update(self, text: str) -> None:
        if text != self._last:
            self._last = text
            self._sink(text)


@contextlib.contextmanager
def progress(description: str, total_files: int, total_bytes: int) -> Iterator[Any]:
    """Files and bytes progress. Yields an object with ``advance(nbytes, label)``."""
    if is_terminal():
        from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress,
                                   TextColumn, TimeRemainingColumn)

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("files"), DownloadColumn(), TimeRemainingColumn(),
                      console=_console(), transient=False) as bar:
            files = bar.add_task(_out(description), total=total_files)
            bar_bytes = {"done": 0}

            def advance(nbytes: int, label: str) -> None:
                with _lock:
                    bar_bytes["done"] += nbytes
                    bar.update(files, advance=1)

            yield _Progress(advance)
    else:
        counter = {"n": 0}

        def advance_plain(nbytes: int, label: str) -> None:
            with _lock:
                counter["n"] += 1
                n = counter["n"]
            info(f"  [{n}/{total_files}] {label} ({nbytes} bytes)")

        info(f"{description}: {total_files} files, {total_bytes} bytes")
        yield _Progress(advance_plain)


class _Progress:
    def __init__(self, advance):
        self.advance = advance


_unwritten: list[tuple[str, str]] = []   # (path, why) of reports that could not be written


def check_report_path(path: str | os.PathLike) -> None:
    """Before a task changes anything: UsageError (exit 2) when --json cannot name a file to write."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--json {path} is a directory", "give it a file name, like --json report.json")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"--json {path}: {parent} is not a directory", "give --json a path in a directory")
    writable = os.access(target, os.W_OK) if target.exists() else os.access(parent, os.W_OK | os.X_OK)
    if not writable:
        raise UsageError(f"--json {path} cannot be written (permission denied)", "give --json a writable path")


def write_report(path: str | os.PathLike | None, data: dict) -> None:
    """Write the --json report (scrubbed of secrets). No-op when no path was given.

    A write that fails (disk full, directory gone) does not undo or hide the task's work: it is
    noted, and the task skeleton ends the task with ReportNotWritten (exit 4) once the task is done.
    """
    if not path:
        return
    target = Path(path)
    try:
        if target.parent and not target.parent.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(_scrub_data(data), indent=2, sort_keys=True, default=str) + "\n")
    except OSError as exc:
        _unwritten.append((str(path), exc.strerror or str(exc)))


def unwritten_reports() -> list[tuple[str, str]]:
    """The reports that could not be written since the last call (and forget them)."""
    out = list(_unwritten)
    _unwritten.clear()
    return out


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text report (markdown), scrubbed of secrets like every other output."""
    target = Path(path)
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(scrub(text), encoding="utf-8")
