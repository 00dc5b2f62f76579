"""The component contract (steps/component.py): every registered component honours it, and release
records written by older versions of this tool (no ``rollback_target``) are still read by
`rollback --to`, `releases`, preflight and deploy, while records written now stay readable by
those older versions."""
import json
from pathlib import Path

import pytest

from tars_tasks.steps import pipeline, release
from tars_tasks.steps.component import LIVE, NOT_DEPLOYED, UNKNOWN, Component, Live
from tars_tasks.steps.rollback import rollback_to
from tests.fakes.components import registry
from tests.unit.test_pipeline_run import fresh_console, settings  # noqa: F401 - fixtures

OLD_RECORD = Path(__file__).parents[1] / "fixtures" / "records" / "deploy-record-7bd2abf.json"


def old_record() -> dict:
    """A whole-deploy record in the shape tars_tasks at 7bd2abf wrote: each component's current()
    dict as it was, no state, no rollback_target."""
    return json.loads(OLD_RECORD.read_text())


def old_rollback_target(state):
    """How the version before this one read a record's rollback target (steps/release.py at 7bd2abf)."""
    for key in ("rollback_target", "version", "release", "release_id", "task_definition", "revision"):
        if state and state.get(key) not in (None, ""):
            return state[key]
    return None


@pytest.mark.parametrize("name", list(pipeline.COMPONENTS))
def test_every_registered_component_honours_the_contract(name):
    module = pipeline.resolve(name)
    assert isinstance(module, Component), name
    inputs = module.PLAN_INPUTS
    assert inputs is None or (set(inputs) == {"settings", "resources"}), name


def test_the_fakes_tests_pass_as_a_registry_honour_it_too():
    assert all(isinstance(fake, Component) for fake in registry().values())


def test_an_object_missing_a_member_does_not_honour_it():
    class NoRollback:
        PLAN_INPUTS = None

        def plan(self, settings): ...

        def execute(self, settings, plan): ...

        def current(self, settings): ...

        def plan_rollback(self, settings, target=None): ...

    assert not isinstance(NoRollback(), Component)


def test_an_old_record_is_read_through_each_components_own_key():
    record = old_record()
    live = {name: release.recorded(record, name) for name in pipeline.ORDER}
    assert live["lambda"].rollback_target == "3"
    assert live["ui"].rollback_target == "20261130T045623127Z-0bc772b6bb85"
    assert live["mcp"].rollback_target == "arn:aws:ecs:us-east-1:123456789012:task-definition/sre-poc-mcp-server:2"
    assert live["infra"].rollback_target is None and live["infra"].record["serial"] == 12
    assert {v.state for v in live.values()} == {LIVE}
    # the old key is per component, not a guess: the UI's release id is never read as Lambda's version
    assert Live.from_record("lambda", {"release_id": "r-1"}).rollback_target is None
    assert Live.from_record("mcp", {"revision": 2}).rollback_target is None


@pytest.mark.parametrize("entry,state", [
    (None, NOT_DEPLOYED), ({"function": "f", "alias": "live", "version": None}, LIVE),
    ({"state": "unknown", "error": "AccessDenied"}, UNKNOWN), ({"state": "not deployed", "detail": "no lock"}, NOT_DEPLOYED),
])
def test_old_entries_without_a_target(entry, state):
    live = Live.from_record("lambda", entry)
    assert (live.state, live.rollback_target) == (state, None)


def test_rollback_to_an_old_record_puts_each_component_back(settings):  # noqa: F811
    record = old_record()
    release.shelf(settings).write(record)
    reg = registry()
    assert release.list_ids(settings) == [record["release_id"]]
    report = rollback_to(settings, record["release_id"], registry=reg, yes=True)
    assert report["ok"] is True
    assert (reg["lambda"].live, reg["ui"].live, reg["mcp"].live) == (
        "3", "20261130T045623127Z-0bc772b6bb85",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/sre-poc-mcp-server:2")
    assert "recorded state serial 12" in report["infra"]
    assert not [c for c in reg["infra"].calls if isinstance(c, tuple)]   # infra never rolled back
    # what is live now matches the old record: a second rollback changes nothing
    again = rollback_to(settings, record["release_id"], registry=reg, yes=True)
    assert [c["status"] for c in again["components"]] == ["unchanged"] * 3
    assert release.matches(record, pipeline.current_all(settings, reg), pipeline.ROLLBACK_COMPONENTS)


def test_a_record_written_now_keeps_the_old_keys_and_is_read_by_the_old_reader(settings):  # noqa: F811
    old = old_record()["components"]
    live = {"lambda": Live("lambda", version="3", rollback_target="3", record=old["lambda"]),
            "ui": Live("ui", version=old["ui"]["release_id"], rollback_target=old["ui"]["release_id"], record=old["ui"]),
            "mcp": Live("mcp", version="sre-poc-mcp-server:2", rollback_target=old["mcp"]["task_definition"],
                        record=old["mcp"]),
            "infra": Live("infra", version="serial 12", record=old["infra"]),
            }
    record = release.build(settings, live, commit="c0ffee", who="ann@box", preflight=None, command="deploy --all")
    release.write(settings, record)
    stored = release.read(settings, record["release_id"])["components"]
    for name, entry in stored.items():
        assert {k: v for k, v in entry.items() if k not in ("state", "rollback_target")} == old[name]
        assert entry["rollback_target"] == live[name].rollback_target
        assert release.recorded({"components": stored}, name).rollback_target == live[name].rollback_target
    for name in pipeline.ROLLBACK_COMPONENTS:                       # the version before this one reads it
        assert old_rollback_target(stored[name]) == live[name].rollback_target
    assert old_rollback_target(stored["infra"]) is None


def test_live_refuses_a_state_outside_the_three():
    with pytest.raises(ValueError):
        Live("lambda", "Active")
