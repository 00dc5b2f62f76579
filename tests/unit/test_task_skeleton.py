"""skeleton.apply, the skeleton of every mutating task: plan → show → --dry-run stops → confirm
outside the lock → lock → re-plan (refuse when what is live moved) → execute under the lock."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from invoke import Context

from tars_tasks import console, lock, skeleton
from tars_tasks.errors import Refused
from tars_tasks.outcome import DEPLOYED, Outcome
from tars_tasks.plan import Plan


@dataclass(frozen=True)
class Count(Plan):
    component = "thing"
    current: int
    desired: int

    @property
    def has_changes(self) -> bool:
        return self.current != self.desired

    @property
    def before(self):
        return self.current

    @property
    def after(self):
        return self.desired

    def summary(self):
        return [f"set the count from {self.current} to {self.desired}"]

    def as_dict(self):
        return {"current": self.current, "desired": self.desired}


class World:
    """What is live (``count``), the lock (held or not), and what happened, in order."""

    def __init__(self, monkeypatch, count=1):
        self.count, self.held, self.events = count, False, []

        @contextlib.contextmanager
        def hold(settings, command, **_):
            self.events.append(f"lock {command}")
            self.held = True
            try:
                yield {}
            finally:
                self.held = False
                self.events.append("unlock")

        def confirm(question, yes):
            self.events.append(f"ask (lock held: {self.held})" if not yes else "no question (--yes)")

        monkeypatch.setattr(lock, "hold", hold)
        monkeypatch.setattr(console, "confirm", confirm)

    def plan(self, desired=0):
        return lambda: Count(self.count, desired)

    def execute(self, p):
        self.events.append(f"execute (lock held: {self.held})")
        self.count = p.desired
        return Outcome("thing", DEPLOYED, str(p.current), str(p.desired))

    def apply(self, *, dry_run=False, yes=False, plan=None, report=None):
        return skeleton.apply(None, "thing-set", plan or self.plan(), self.execute, dry_run=dry_run, yes=yes,
                            question=lambda p: f"set {p.desired}?", show=lambda p: self.events.append("show"),
                            report=report)


def test_real_run_asks_outside_the_lock_then_executes_under_it(monkeypatch):
    world, report = World(monkeypatch), {}
    made, outcome = world.apply(report=report)
    assert world.events == ["show", "ask (lock held: False)", "lock thing-set", "execute (lock held: True)", "unlock"]
    assert world.count == 0 and outcome.status == DEPLOYED and made == Count(1, 0)
    assert report == {"plan": {"current": 1, "desired": 0}, "outcome": outcome.as_dict()}


def test_dry_run_is_the_plans_preview_and_nothing_else(monkeypatch):
    world, report = World(monkeypatch), {}
    made, outcome = world.apply(dry_run=True, report=report)
    assert world.events == ["show"] and world.count == 1
    assert (outcome.status, outcome.before, outcome.after) == ("planned", "1", "0")
    assert outcome.detail == "set the count from 1 to 0"   # rendered from the plan execute would run
    assert report["outcome"]["status"] == "planned"


def test_no_changes_asks_nothing_and_takes_no_lock(monkeypatch):
    world = World(monkeypatch, count=0)
    made, outcome = world.apply()
    assert world.events == ["show", "execute (lock held: False)"]
    assert Count(0, 0).preview().status == "unchanged"


def test_a_plan_that_moved_while_the_person_answered_is_refused(monkeypatch):
    world = World(monkeypatch)
    reads = iter([1, 5])          # someone else set the count to 5 while the question was open
    with pytest.raises(Refused) as err:
        world.apply(plan=lambda: Count(next(reads), 0))
    assert err.value.exit_code == 3 and "changed while the plan was shown" in err.value.message
    assert world.count == 1 and "execute (lock held: True)" not in world.events
    assert world.events[-1] == "unlock"


def test_with_yes_a_moved_plan_is_shown_again_and_run(monkeypatch):
    world = World(monkeypatch)
    reads = iter([1, 5])
    made, outcome = world.apply(yes=True, plan=lambda: Count(next(reads), 0))
    assert made == Count(5, 0) and outcome.before == "5"
    assert world.events == ["show", "no question (--yes)", "lock thing-set", "show", "execute (lock held: True)",
                            "unlock"]


# tars_task(common=...): the common flags declared once, placed where the body's `flags` parameter is

def _args(task):
    """{long name: (short flag or None, takes a value, help)} as Invoke builds them."""
    import copy

    saved = copy.copy(task.help)
    try:
        return {a.names[0]: (a.names[1] if len(a.names) > 1 else None, a.takes_value, a.help)
                for a in task.get_arguments()}
    finally:
        task.help = saved


def test_common_flags_are_declared_once_with_their_defaults_and_help():
    seen = []

    @skeleton.tars_task(common=skeleton.CHANGES, help={"to": "where to", "yes": "really"})
    def thing(c, flags, to=None):
        seen.append((flags, to))

    args = _args(thing)
    assert list(args) == ["env", "local", "dry-run", "yes", "json", "to"]
    assert args["env"] == ("e", True, skeleton.COMMON_HELP["env"])
    assert args["dry-run"] == ("d", False, skeleton.COMMON_HELP["dry_run"])
    assert args["yes"] == ("y", False, "really")   # a task may reword a common flag's help
    assert args["to"] == ("t", True, "where to")
    thing(Context(), to="v1", dry_run=True)   # as Invoke calls it: keywords, the others at their defaults
    thing(Context(), "staging", True)        # positionally, in the order of the signature Invoke reads
    assert seen == [(skeleton.Flags(dry_run=True), "v1"), (skeleton.Flags(env="staging", local=True), None)]


def test_where_flags_stands_is_where_the_common_flags_stand():
    """Invoke gives short flags in parameter order: a task flag before `flags` keeps its letter."""
    @skeleton.tars_task(common=skeleton.READS)
    def early(c, flags, limit=None):
        pass

    @skeleton.tars_task(common=skeleton.READS)
    def late(c, limit=None, *, flags):
        pass

    assert _args(early)["limit"][0] == "i" and _args(early)["local"][0] == "l"
    assert _args(late)["limit"][0] == "l" and _args(late)["local"][0] == "o"


def test_a_task_takes_only_the_common_flags_it_declares():
    @skeleton.tars_task(common=("env", "json"))
    def reads(c, flags):
        return flags

    assert list(_args(reads)) == ["env", "json"]
    with pytest.raises(TypeError):
        reads(Context(), dry_run=True)
    with pytest.raises(TypeError, match="needs a `flags` parameter"):
        skeleton.tars_task(common=("env",))(lambda c: None)
    with pytest.raises(TypeError, match="unknown common flags"):
        skeleton.tars_task(common=("force",))(lambda c, flags: None)


def test_an_unwritable_json_path_is_refused_before_the_body_runs(tmp_path):
    from invoke.exceptions import Exit

    ran = []

    @skeleton.tars_task(common=skeleton.READS)
    def reads(c, flags):
        ran.append(flags)

    with pytest.raises(Exit) as stopped:
        reads(Context(), json=str(tmp_path))   # a directory: no file to write
    assert stopped.value.code == 2 and ran == []
