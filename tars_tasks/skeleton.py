"""The task skeleton, written once: the ``tars_task`` decorator (common flags, the failure
contract), ``load_settings`` (Settings and their target, once per run) and ``apply`` (plan → show →
--dry-run → confirm outside the lock → lock → re-plan → execute → report) that every mutating
task runs its component's plan through.

``tars_task`` is Invoke's ``@task`` plus the failure contract of DESIGN.md: a TarsError
prints its two lines (what failed, what to do) and exits with its code; a ``--json`` path that
cannot be written is refused before anything changes (exit 2), and one whose write fails after
the task did its work ends with ReportNotWritten (exit 4, the work stands); Ctrl-C exits 130;
a botocore error that slipped through is converted; a traceback shows only with ``--debug``
(Invoke's core flag) or TARS_DEBUG=1.
"""
from __future__ import annotations

import functools
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable

from invoke import task
from invoke.exceptions import Exit

from . import console
from .errors import TarsError

COMMON_HELP = {
    "env": "environment: reads .env.<env> and .tars/<env>/outputs.json (default: tars.env)",
    "local": "target the embedded local emulator instead of AWS (or TARS_TARGET=local)",
    "dry_run": "print the plan (every call and upload it would make) and change nothing",
    "yes": "do not ask for confirmation (CI)",
    "json": "write a machine-readable report to this file",
}
COMMON_DEFAULTS = {"env": None, "local": False, "dry_run": False, "yes": False, "json": None}
CHANGES = ("env", "local", "dry_run", "yes", "json")   # a task that changes something
READS = ("env", "local", "json")                       # a task that only reads


@dataclass(frozen=True)
class Flags:
    """The common flags of one run, as the task's ``flags`` parameter receives them (a flag the task
    does not declare has its default)."""

    env: str | None = None
    local: bool = False
    dry_run: bool = False
    yes: bool = False
    json: str | None = None

    @property
    def settings(self) -> dict:
        """What of them ``Settings.load`` reads: ``Settings.load(c, **flags.settings)``."""
        return {"env": self.env, "local": self.local}


def _debugging() -> bool:
    from .settings import Settings

    return Settings.debug_requested() or logging.getLogger().isEnabledFor(logging.DEBUG)


def _signature(body: Callable, common: tuple[str, ...]) -> tuple[inspect.Signature, bool]:
    """The signature Invoke reads: the body's, its ``flags`` parameter replaced by the common flags
    (in that place: Invoke gives short flags in parameter order, first letter not yet taken)."""
    sig = inspect.signature(body)
    params = list(sig.parameters.values())
    names = [p.name for p in params]
    unknown = set(common) - set(COMMON_DEFAULTS)
    if unknown:
        raise TypeError(f"{body.__name__}: unknown common flags {sorted(unknown)}")
    if "flags" not in names:
        if common:
            raise TypeError(f"{body.__name__}: common={common} needs a `flags` parameter to receive them")
        return sig, False
    at = names.index("flags")
    expanded = [inspect.Parameter(name, params[at].kind, default=COMMON_DEFAULTS[name]) for name in common]
    return sig.replace(parameters=params[:at] + expanded + params[at + 1:]), True


def tars_task(*args: Any, help: dict | None = None, common: tuple[str, ...] = (),  # noqa: A002
              **kwargs: Any) -> Callable:
    """``@tars_task(common=CHANGES, help={...})``: an Invoke task with TARS's failure handling.

    ``common`` names the common flags the task takes (``CHANGES``, ``READS`` or any of ``env``,
    ``local``, ``dry_run``, ``yes``, ``json``); their defaults and help are declared here once
    (``help`` may reword one for a task). The body takes them as one :class:`Flags` parameter named
    ``flags``, and where that parameter stands in its signature is where the flags stand in the
    signature Invoke reads (so the short flags are those the body's order gives). The body's other
    parameters are the task's own flags.
    """

    def decorate(body: Callable) -> Any:
        public, takes_flags = _signature(body, tuple(common))

        @functools.wraps(body)
        def wrapper(c, *a, **kw):
            try:
                bound = public.bind(c, *a, **kw)
                bound.apply_defaults()
                given = dict(bound.arguments)
                flags = Flags(**{name: given.pop(name) for name in common})
                if takes_flags:
                    given["flags"] = flags
                if flags.json:
                    console.check_report_path(flags.json)   # before anything changes
                result = body(**given)
                _report_written(body.__name__)
                return result
            except TarsError as err:
                if _debugging():
                    raise
                console.error(err)
                for path, why in console.unwritten_reports():
                    console.warn(f"the --json report was not written to {path} either ({why})")
                raise Exit(code=err.exit_code) from None
            except KeyboardInterrupt:
                console.error(TarsError("interrupted", "the step in progress was stopped; run the task again"))
                raise Exit(code=130) from None
            except Exception as exc:  # botocore errors that no aws/ function translated
                from .aws.errors import convert

                converted = convert(exc, "talk to AWS")
                if converted is None or _debugging():
                    raise
                console.error(converted)
                raise Exit(code=converted.exit_code) from None

        wrapper.__signature__ = public   # what Invoke (inspect.signature) reads
        merged = {k: v for k, v in {**COMMON_HELP, **(help or {})}.items() if k in public.parameters}
        return task(wrapper, *args, help=merged, **kwargs)

    if args and callable(args[0]) and not kwargs and help is None and not common:
        body, args = args[0], ()
        return decorate(body)
    return decorate


def _report_written(task_name: str) -> None:
    """The task is done: ReportNotWritten (exit 4) when its --json report could not be written."""
    from .errors import ReportNotWritten

    unwritten = console.unwritten_reports()
    if unwritten:
        path, why = unwritten[-1]
        raise ReportNotWritten(f"{task_name.replace('_', '-')} done (its changes stand), but the --json report "
                               f"was not written to {path} ({why})",
                               "do not run it again for the report: inv status shows what is live; "
                               "give --json a writable file next time")


def load_settings(c: Any, flags: Flags | None = None, **more: Any):
    """Settings for this run (``--env``, ``--local`` from ``flags``, then ``more``), validated, its
    target started (the emulator, for --local)."""
    from .settings import Settings

    settings = Settings.load(c, **(flags.settings if flags else {}), **more)
    console.set_target(settings.target_flags)   # printed commands and hints name this run's target
    settings.ensure_valid()
    settings.target.start(settings)
    return settings


def apply(settings, command: str, plan: Callable[[], Any], execute: Callable[[Any], Any], *, dry_run: bool,
          yes: bool, question: Callable[[Any], str | None], show: Callable[[Any], None] | None = None,
          check: Callable[[Any], None] | None = None, replan: bool = True, locked: bool = True,
          report: dict | None = None, confirm: Callable[[Any], Any] | None = None):
    """The skeleton of a mutating task once its settings are loaded; returns ``(plan, outcome)``.

    plan (reads only) → show it → ``--dry-run``: the plan's own preview, nothing else → no
    changes: ``execute`` of the empty plan (it changes nothing) → confirm, outside the lock
    (``question`` None: nothing to ask) → take the deploy lock → plan again under it: when the live
    state moved since the plan shown, refuse (exit 3) unless ``--yes`` (then the new plan is shown
    and run) → execute → release the lock. The lock is held from the re-plan to the end of
    ``execute``, never while a person answers. ``report`` (the --json report) gets the plan
    (``as_dict``) each time one is made and the outcome. ``check(plan)`` runs on every plan shown
    (the destroy guard: it refuses before --dry-run stops and before anyone is asked).
    ``replan=False``: execute the plan shown, for a plan that checks itself for staleness when
    executed (a saved Terraform plan: terraform apply refuses it when the state moved).
    ``locked=False``: no deploy lock (users.*: the user pool is not a deploy). ``confirm(first)``,
    when given, replaces the re-plan: a cheaper check, sent together with the lock's write (it must
    only read, and the component's writes must be guarded by what it read, so nothing that moves
    after it is overwritten).
    """
    from . import lock
    from .errors import Refused

    report = {} if report is None else report
    show = show or _show_plan

    def planned():
        made = plan()
        report["plan"] = made.as_dict()
        return made

    def done(made, outcome):
        report["outcome"] = outcome.as_dict()
        return made, outcome

    first = planned()
    show(first)
    if check:
        check(first)
    if dry_run:
        return done(first, first.preview())
    if not first.has_changes:
        return done(first, execute(first))
    asked = question(first)
    if asked:
        console.confirm(asked, yes)
    if not locked:
        return done(first, execute(first))
    early = None
    if confirm is not None and replan:   # one round trip less: the check goes out with the lock's write
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tars-confirm")
        early = pool.submit(confirm, first)
        pool.shutdown(wait=False)
    with lock.hold(settings, command):
        if early is not None:
            current = early.result()
            report["plan"] = current.as_dict()
        else:
            current = planned() if replan else first
        if current != first:
            if not yes:
                raise Refused(f"{command}: what is live changed while the plan was shown",
                              f"run inv {command} again and look at the new plan")
            console.warn("what is live changed since the plan was shown: the new plan")
            show(current)
            if check:
                check(current)
        return done(current, execute(current))


def run(settings, command: str, plan: Callable[[], Any], execute: Callable[[Any], Any], *, json: str | None,
        component: str, extra: dict | None = None, **how: Any):
    """:func:`apply`, then the task's ``--json`` report, written once whether the run failed or not.

    The one report of every mutating task: ``task``, ``env``, ``dry_run``, the task's ``extra``
    keys, ``plan`` (the last plan made, ``as_dict``) and ``outcome``; on failure ``outcome`` is
    ``{component, status: failed, error}`` and ``error`` the failure (kind, message, hint, exit
    code). Returns ``(plan, outcome)``; ``how`` are :func:`apply`'s keywords.
    """
    from .outcome import FAILED

    report: dict = {"task": command, "env": settings.env, "dry_run": bool(how.get("dry_run")),
                    **(extra or {}), "plan": None, "outcome": None}
    try:
        made, outcome = apply(settings, command, plan, execute, report=report, **how)
    except TarsError as err:
        report["outcome"] = {"component": component, "status": FAILED, "error": err.as_dict()}
        report["error"] = err.as_dict()
        console.write_report(json, report)
        raise
    console.write_report(json, report)
    return made, outcome


def _show_plan(plan) -> None:
    for line in plan.summary():
        console.detail(line)
