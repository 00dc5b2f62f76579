"""Fake components honouring the component contract (plan / execute / current / rollback).

Plain objects the pipeline receives through its registry, so its ordering, summary, exit codes
and release records are proven without the real components.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tars_tasks.errors import StepFailed
from tars_tasks.outcome import DEPLOYED, UNCHANGED, Outcome


@dataclass(frozen=True)
class FakePlan:
    has_changes: bool
    lines: tuple[str, ...] = ()

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
    key: str = "version"               # the key current() reports the live version under
    on_execute: object = None          # called with settings inside execute (e.g. takes the lock)
    plan_hook: object = None           # called with settings inside plan (may raise)
    calls: list = field(default_factory=list)

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

    def current(self, settings):
        self.calls.append("current")
        return {self.key: self.live, "state": "live"}

    def rollback(self, settings, target=None, *, dry_run=False):
        self.calls.append(("rollback", target, dry_run))
        before = self.live
        if not dry_run:
            self.live = str(target)
        return Outcome(self.name, "planned" if dry_run else DEPLOYED, before=before, after=str(target))


def registry(**overrides) -> dict[str, FakeComponent]:
    comps = {"infra": FakeComponent("infra", "serial-4", "serial-5", key="serial"),
             "mcp": FakeComponent("mcp", "rev-7", "rev-8", key="task_definition"),
             "lambda": FakeComponent("lambda", "11", "12", key="version"),
             "ui": FakeComponent("ui", "r-a", "r-b", key="release")}
    for name, attrs in overrides.items():
        for k, v in attrs.items():
            setattr(comps[name], k, v)
    return comps
