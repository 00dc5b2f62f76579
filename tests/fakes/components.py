"""Fake components honouring the component contract (steps/component.py: plan / execute /
current / plan_rollback / rollback / PLAN_INPUTS).

Plain objects the pipeline receives through its registry, so its ordering, summary, exit codes
and release records are proven without the real components.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tars_tasks.errors import StepFailed
from tars_tasks.outcome import DEPLOYED, UNCHANGED, Outcome
from tars_tasks.steps.component import Live


@dataclass(frozen=True)
class FakePlan:
    has_changes: bool
    lines: tuple[str, ...] = ()
    changes: tuple | None = None       # an infra plan's resource changes; None: not listed (plan all again)

    def summary(self) -> list[str]:
        return list(self.lines)

    def as_dict(self) -> dict:
        return {"has_changes": self.has_changes, "lines": list(self.lines)}


@dataclass
class FakeComponent:
    name: str
    live: str = "1"
    next: str = "2"
    changes: bool = True
    fail: str | None = None            # a StepFailed message
    crash: Exception | None = None     # an unexpected exception
    key: str = "version"               # the key its record stores the live version under
    restorable: bool = True            # current() names a rollback target (the infrastructure does not)
    on_execute: object = None          # called with settings inside execute (e.g. takes the lock)
    plan_hook: object = None           # called with settings inside plan (may raise)
    calls: list = field(default_factory=list)
    PLAN_INPUTS = None                 # says nothing about what its plan reads: planned again after infra

    def plan(self, settings, **options):
        self.calls.append("plan")
        if self.plan_hook:
            self.plan_hook(settings)
        return FakePlan(self.changes, (f"update {self.name} {self.live} -> {self.next}",) if self.changes else ())

    def execute(self, settings, plan, **options):
        self.calls.append("execute")
        if self.on_execute:
            self.on_execute(settings)
        if self.crash:
            raise self.crash
        if self.fail:
            raise StepFailed(self.fail, f"fix {self.name}")
        if not plan.has_changes:
            return Outcome(self.name, UNCHANGED, before=self.live, after=self.live)
        before, self.live = self.live, self.next
        return Outcome(self.name, DEPLOYED, before=before, after=self.live,
                       rollback_command=f"inv rollback-{self.name} --to {before}")

    def current(self, settings) -> Live:
        self.calls.append("current")
        return Live(self.name, version=self.live, rollback_target=self.live if self.restorable else None,
                    details=((self.key, self.live),), record={self.key: self.live})

    def plan_rollback(self, settings, target=None, **options):
        return FakePlan(str(target) != self.live, (f"roll {self.name} {self.live} -> {target}",))

    def rollback(self, settings, target=None, *, dry_run=False):
        self.calls.append(("rollback", target, dry_run))
        before = self.live
        if not dry_run:
            self.live = str(target)
        return Outcome(self.name, "planned" if dry_run else DEPLOYED, before=before, after=str(target))


def registry(**overrides) -> dict[str, FakeComponent]:
    comps = {"infra": FakeComponent("infra", "serial-4", "serial-5", key="serial", restorable=False),
             "mcp": FakeComponent("mcp", "rev-7", "rev-8", key="task_definition"),
             "lambda": FakeComponent("lambda", "11", "12", key="version"),
             "ui": FakeComponent("ui", "r-a", "r-b", key="release")}
    for name, attrs in overrides.items():
        for k, v in attrs.items():
            setattr(comps[name], k, v)
    return comps
