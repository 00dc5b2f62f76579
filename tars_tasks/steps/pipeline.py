"""deploy --all: the components composed as plain function calls, in order, with a summary.

The registry is one small table (name -> module path). Each module honours the component
contract (plan / execute / current / rollback). Tests pass their own registry of plain objects.
"""
from __future__ import annotations

import dataclasses
import importlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..errors import ConfigError, TarsError, UsageError
from ..outcome import DEPLOYED, FAILED, NOT_REACHED, PLANNED, UNCHANGED, Outcome

COMPONENTS: dict[str, str] = {
    "infra": "tars_tasks.steps.infra",
    "mcp": "tars_tasks.steps.mcp",
    "lambda": "tars_tasks.steps.lambda_",
    "ui": "tars_tasks.steps.ui",
}
ORDER = tuple(COMPONENTS)
ROLLBACK_COMPONENTS = ("lambda", "ui", "mcp")  # whole-release rollback; infra prints its command
PASSED = "passed"


@dataclass(frozen=True)
class Planned:
    name: str
    module: Any
    plan: Any

    @property
    def has_changes(self) -> bool:
        return bool(getattr(self.plan, "has_changes", True))


def resolve(name: str, registry: Mapping[str, Any] | None = None) -> Any | None:
    """The component module for ``name``; None when it is not part of this installation."""
    entry = (registry if registry is not None else COMPONENTS).get(name)
    if entry is None or not isinstance(entry, str):
        return entry
    try:
        return importlib.import_module(entry)
    except ModuleNotFoundError as exc:
        if exc.name and entry.startswith(exc.name):
            return None
        raise


def select(all_: bool, **flags: bool) -> list[str]:
    """Components to deploy, in pipeline order. ``flags``: infra, mcp, lambda_, ui."""
    chosen = {name for name in ORDER if all_ or flags.get("lambda_" if name == "lambda" else name)}
    if not chosen:
        raise UsageError("nothing selected to deploy", "pass --all, or one or more of --infra --mcp --lambda --ui")
    return [name for name in ORDER if name in chosen]


def plan_all(settings, names: list[str], registry: Mapping[str, Any] | None = None) -> list[Planned]:
    planned = []
    for name in names:
        module = resolve(name, registry)
        if module is None:
            raise ConfigError(f"the {name} component is not available in this tars_tasks",
                              "update the deploy tasks (git pull), or deploy the other components only")
        planned.append(Planned(name, module, module.plan(settings)))
    return planned


def _failure(exc: BaseException) -> str:
    from ..aws.errors import convert

    err = exc if isinstance(exc, TarsError) else convert(exc, "deploy")
    if err is None:
        return f"unexpected error: {type(exc).__name__}: {exc}"
    return err.message + (f" ({err.hint})" if err.hint else "")


def execute_all(settings, planned: list[Planned], *, clock: Callable[[], float] = time.monotonic,
                announce: Callable[[str], None] = lambda text: None,
                default_rollback: str | None = None) -> list[Outcome]:
    """Execute in order; after the first failure the rest are 'not reached'."""
    outcomes: list[Outcome] = []
    stopped = False
    for item in planned:
        if stopped:
            outcomes.append(Outcome(item.name, NOT_REACHED))
            continue
        announce(item.name)
        started = clock()
        try:
            out = item.module.execute(settings, item.plan)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the summary's 'failed (why)'
            out = Outcome(item.name, FAILED, detail=_failure(exc))
        rollback_cmd = out.rollback_command or (default_rollback if out.status == DEPLOYED else None)
        out = dataclasses.replace(out, component=item.name, elapsed=round(clock() - started, 3),
                                  rollback_command=rollback_cmd if out.status == DEPLOYED else None)
        outcomes.append(out)
        stopped = out.status == FAILED
    return outcomes


def planned_outcomes(planned: list[Planned]) -> list[Outcome]:
    """--dry-run: what each component would do."""
    return [Outcome(p.name, PLANNED if p.has_changes else UNCHANGED,
                    detail="; ".join(p.plan.summary()) if hasattr(p.plan, "summary") else "")
            for p in planned]


def failed(outcomes: list[Outcome]) -> bool:
    return any(o.status == FAILED for o in outcomes)


def summary_rows(outcomes: list[Outcome]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for o in outcomes:
        change = f"{o.before or '-'} → {o.after or '-'}" if o.status == DEPLOYED else (o.after or o.before or "")
        note = o.detail
        if o.rollback_command:
            note = (note + "; " if note else "") + f"rollback: {o.rollback_command}"
        rows.append((o.component, o.status, change, f"{o.elapsed:.1f}s", note))
    return rows


def current_all(settings, registry: Mapping[str, Any] | None = None,
                names: tuple[str, ...] = ORDER) -> dict[str, dict]:
    """Each component's current() for status and release records; never raises."""
    states: dict[str, dict] = {}
    for name in names:
        try:
            module = resolve(name, registry)
        except Exception as exc:  # noqa: BLE001 - a broken component shows as unknown
            states[name] = {"state": "unknown", "error": f"{type(exc).__name__}: {exc}"}
            continue
        if module is None:
            states[name] = {"state": "unknown", "error": "component not available in this tars_tasks"}
            continue
        try:
            states[name] = dict(module.current(settings) or {})
        except Exception as exc:  # noqa: BLE001
            states[name] = {"state": "unknown", "error": _failure(exc)}
    return states
