"""deploy --all: the components composed as plain function calls, in order, with a summary.

The registry is one small table (name -> module path). Each module honours the component
contract (steps/component.py: plan / execute / current / plan_rollback / rollback / PLAN_INPUTS;
tests/unit/test_component_contract.py checks every registered one). Tests pass their own registry
of plain objects that honour it too (tests/fakes/components.py).
"""
from __future__ import annotations

import dataclasses
import importlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..errors import ConfigError, TarsError, UsageError
from ..outcome import DEPLOYED, FAILED, NOT_REACHED, PLANNED, UNCHANGED, Outcome
from .component import Live

COMPONENTS: dict[str, str] = {
    "infra": "tars_tasks.steps.infra",
    "mcp": "tars_tasks.steps.mcp",
    "lambda": "tars_tasks.steps.lambda_",
    "ui": "tars_tasks.steps.ui",
}
ORDER = tuple(COMPONENTS)
ROLLBACK_COMPONENTS = ("lambda", "ui", "mcp")  # whole-release rollback; infra prints its command
PASSED = "passed"
INTERRUPTED = "interrupted (Ctrl-C): this component's own step decides what stayed live"


@dataclass(frozen=True)
class Planned:
    name: str
    module: Any
    plan: Any               # None: planned again once infra is applied
    note: str = ""

    @property
    def has_changes(self) -> bool:
        return self.plan is None or bool(self.plan.has_changes)   # every plan is a plan.Plan (or its shape)

    def lines(self) -> list[str]:
        if self.plan is None:
            return [self.note]
        return list(self.plan.summary()) if self.has_changes else []


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


def _ui_plan_args(settings) -> tuple[tuple, dict]:
    """steps.ui.plan takes the built bundle: build ui/ and scan it first (as deploy-ui does)."""
    from .. import console
    from ..artifacts import ui_bundle

    stamped = time.time()   # one release id per run: a re-plan under the lock differs only if the live state moved
    return ((ui_bundle.scan(ui_bundle.build(settings, on_step=lambda text: console.detail(f"ui: {text}"))),),
            {"clock": lambda: stamped})


# Components whose plan() needs more than settings: name -> settings -> (args, kwargs).
PLAN_ARGS: dict[str, Callable[[Any], tuple[tuple, dict]]] = {"ui": _ui_plan_args}


def for_run(plan_args: Mapping[str, Callable]) -> dict[str, Callable]:
    """``plan_args`` made once per settings for one run: the plan shown before the prompt and the
    re-plan under the lock get the same inputs (one UI build, one release stamp)."""
    made: dict[tuple[str, int], tuple[Any, tuple[tuple, dict]]] = {}

    def once(name: str, prepare: Callable) -> Callable:
        def prepared(settings):
            key = (name, id(settings))
            if key not in made:
                made[key] = (settings, prepare(settings))   # keeps settings alive: its id stays unique
            return made[key][1]
        return prepared

    return {name: once(name, prepare) for name, prepare in plan_args.items()}


def digest(planned: list[Planned]) -> list[tuple[str, bool, tuple[str, ...]]]:
    """What a person confirmed: per component, changes or not and its plan's summary lines."""
    return [(p.name, p.has_changes, tuple(p.lines())) for p in planned]


def plan_one(settings, name: str, module: Any, plan_args: Mapping[str, Callable] | None = None) -> Any:
    prepare = (PLAN_ARGS if plan_args is None else plan_args).get(name)
    args, kwargs = prepare(settings) if prepare else ((), {})
    return module.plan(settings, *args, **kwargs)


def plan_all(settings, names: list[str], registry: Mapping[str, Any] | None = None,
             plan_args: Mapping[str, Callable] | None = None) -> list[Planned]:
    """Plan every selected component (reads only). When infra comes first with changes, a later
    component whose plan fails (its resources do not exist yet) is planned again after infra."""
    planned = []
    for name in names:
        module = resolve(name, registry)
        if module is None:
            raise ConfigError(f"the {name} component is not available in this tars_tasks",
                              "update the deploy tasks (git pull), or deploy the other components only")
        infra_first = bool(planned) and planned[0].name == "infra" and planned[0].has_changes
        try:
            planned.append(Planned(name, module, plan_one(settings, name, module, plan_args)))
        except TarsError as err:
            if not infra_first:
                raise
            planned.append(Planned(name, module, None, f"planned after infra ({err.message})"))
    return planned


def describe_failure(exc: BaseException) -> str:
    from ..aws.errors import convert

    err = exc if isinstance(exc, TarsError) else convert(exc, "deploy")
    if err is None:
        return f"unexpected error: {type(exc).__name__}: {exc}"
    return err.message + (f" ({err.hint})" if err.hint else "")


def execute_all(settings, planned: list[Planned], *, clock: Callable[[], float] = time.monotonic,
                announce: Callable[[str], None] = lambda text: None, default_rollback: str | None = None,
                reload: Callable[[], Any] | None = None,
                plan_args: Mapping[str, Callable] | None = None) -> list[Outcome]:
    """Execute in order; after the first failure the rest are 'not reached'. After infra deployed,
    ``reload()`` gives settings with the new Terraform outputs and the components whose inputs
    that changed are planned again (:func:`stale_after_infra`); the other plans stand, as they
    do after an unchanged infra."""
    outcomes: list[Outcome] = []
    stopped = False
    replan: set[str] = set()
    for item in planned:
        if stopped:
            outcomes.append(Outcome(item.name, NOT_REACHED))
            continue
        announce(item.name)
        started = clock()
        try:
            plan = item.plan
            if plan is None or item.name in replan:
                plan = plan_one(settings, item.name, item.module, plan_args)
            out = item.module.execute(settings, plan)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the summary's 'failed (why)'
            out = Outcome(item.name, FAILED, detail=describe_failure(exc))
        except KeyboardInterrupt:  # the summary still says what happened; the caller exits 130
            out = Outcome(item.name, FAILED, detail=INTERRUPTED, data={"interrupted": True})
        rollback_cmd = out.rollback_command or (default_rollback if out.status == DEPLOYED else None)
        out = dataclasses.replace(out, component=item.name, elapsed=round(clock() - started, 3),
                                  rollback_command=rollback_cmd if out.status == DEPLOYED else None)
        outcomes.append(out)
        stopped = out.status == FAILED
        if item.name == "infra" and out.status == DEPLOYED and reload is not None:
            before = settings
            try:
                settings = reload()
            except Exception as exc:  # noqa: BLE001 - bad new outputs, or another deploy took the new lock
                outcomes.append(Outcome("settings", FAILED, detail=f"after infra: {describe_failure(exc)}"))
                stopped = True
            replan = stale_after_infra(planned, plan, before, settings)
    return outcomes


def stale_after_infra(planned: list[Planned], infra_plan: Any, before, after) -> set[str]:
    """The components to plan again after an infra deploy: those whose ``PLAN_INPUTS`` (the
    settings fields their plan reads, and the resource types, without ``aws_``, whose change can
    make a plan made before it stale) changed. A component whose ``PLAN_INPUTS`` is None (it does
    not say what it reads), or an infra plan whose ``changes`` is None, means planning again."""
    changes = infra_plan.changes
    changed = [str(c.type).removeprefix("aws_") for c in changes or ()]
    was, now = before.as_dict(redact=False), after.as_dict(redact=False)
    stale = set()
    for item in planned:
        inputs = item.module.PLAN_INPUTS
        if item.name == "infra":
            continue
        if inputs is None or changes is None \
                or any(was.get(f) != now.get(f) for f in inputs["settings"]) \
                or any(t.startswith(tuple(inputs["resources"])) for t in changed):
            stale.add(item.name)
    return stale


def planned_outcomes(planned: list[Planned]) -> list[Outcome]:
    """--dry-run: what each component would do."""
    return [Outcome(p.name, PLANNED if p.has_changes else UNCHANGED, detail="; ".join(p.lines()))
            for p in planned]


def interrupted(outcomes: list[Outcome]) -> bool:
    return any(o.data.get("interrupted") for o in outcomes)


def deployed(outcomes: list[Outcome]) -> bool:
    return any(o.status == DEPLOYED for o in outcomes)


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
                names: tuple[str, ...] = ORDER) -> dict[str, Live]:
    """Each component's current() (a :class:`~.component.Live`) for status and release records; never raises."""
    states: dict[str, Live] = {}
    for name in names:
        try:
            module = resolve(name, registry)
        except Exception as exc:  # noqa: BLE001 - a broken component shows as unknown
            states[name] = Live.unknown(name, f"{type(exc).__name__}: {exc}")
            continue
        if module is None:
            states[name] = Live.unknown(name, "component not available in this tars_tasks")
            continue
        try:
            states[name] = module.current(settings)
        except Exception as exc:  # noqa: BLE001
            states[name] = Live.unknown(name, describe_failure(exc))
    return states
