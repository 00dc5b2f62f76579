"""What Invoke itself rejects, held to the same contract as the tasks: one line, a hint, exit 2.

``inv`` is Invoke's own program (``invoke.main.program``). Its ``Program.run`` prints a parser
error ("No idea what '--x' is!") and exits 1 (hard-coded for ``ParseError`` in Invoke 2.2), and it
parses the project's ``invoke.yaml`` with no error handling (a YAML error is a traceback). Invoke
imports ``tasks.py`` before it reads ``invoke.yaml`` and before it parses the task flags, so
``tasks.py`` calls :func:`attach`, which

* checks the project's ``invoke.yaml`` first (a malformed one: ``error:`` + ``hint:``, exit 2);
* wraps the running program's ``parse_tasks`` and ``parse_cleanup`` (the two steps that raise
  ``ParseError`` after the collection is loaded) so that a parser error becomes a usage error:
  exit 2 with the task's help command as the hint.

``--debug`` (or TARS_DEBUG=1) keeps Invoke's own behaviour, traceback included.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import EXIT_USAGE, UsageError

_NO_IDEA = re.compile(r"^No idea what '(?P<what>.*)' is!$")
_NEEDS_VALUE = re.compile(r"^Flag <Argument: (?P<name>[\w-]+)(?: \((?P<short>\w)\))?> needed value")


def usage_error(exc: Exception) -> UsageError:
    """Invoke's ParseError as one line and a hint naming the help to read."""
    context = getattr(exc, "context", None)
    task = getattr(context, "name", None)
    help_cmd = f"inv --help {task} lists its flags" if task else "inv --list lists the tasks"
    text = str(exc)
    no_idea = _NO_IDEA.match(text)
    if no_idea:
        what = no_idea.group("what")
        if what.startswith("-"):
            where = f" for inv {task}" if task else ""
            return UsageError(f"unknown flag '{what}'{where}", help_cmd)
        return UsageError(f"unknown task '{what}'", "inv --list lists the tasks")
    needs = _NEEDS_VALUE.match(text)
    if needs:
        flag = "--" + needs.group("name").replace("_", "-")
        return UsageError(f"{flag} needs a value" + (f" (inv {task})" if task else ""), help_cmd)
    return UsageError(text.rstrip("!"), help_cmd)


def teach(program: Any) -> None:
    """Make ``program``'s parser errors usage errors (exit 2). Idempotent."""
    from invoke.exceptions import Exit, ParseError

    from . import console
    from .skeleton import _debugging

    if getattr(program, "_tars_taught", False):
        return
    for name in ("parse_tasks", "parse_cleanup"):
        original = getattr(program, name)

        def guarded(original=original):
            try:
                return original()
            except ParseError as exc:
                if _debugging():
                    raise
                console.error(usage_error(exc))
                raise Exit(code=EXIT_USAGE) from None

        setattr(program, name, guarded)
    program._tars_taught = True


def attach(tasks_file: str) -> None:
    """Called by tasks.py while Invoke loads it: check invoke.yaml, teach the running program."""
    from invoke.exceptions import Exit
    from invoke.main import program

    from . import console
    from .errors import ConfigError
    from .skeleton import _debugging
    from .settings import check_invoke_file

    try:
        check_invoke_file(Path(tasks_file).resolve().parent)
    except ConfigError as err:
        if _debugging():
            raise
        console.error(err)
        raise Exit(code=err.exit_code) from None
    teach(program)
