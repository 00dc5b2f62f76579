"""Whole-release rollback with fake components: all three back to the recorded versions."""
import json

import pytest

from tars_tasks.errors import StepFailed, UsageError
from tars_tasks.steps import release
from tars_tasks.steps import deploy as deploy_task
from tars_tasks.steps.rollback import rollback_to
from tests.fakes.components import registry
from tests.unit.test_pipeline_run import ALL, fresh_console, settings  # noqa: F401 - fixtures


def deploy_twice(settings):  # noqa: F811
    reg = registry()
    first = deploy_task.run(settings, ALL, registry=reg, yes=True, skip_verify=True)
    for comp, nxt in (("infra", "serial-6"), ("mcp", "rev-9"), ("lambda", "13"), ("ui", "r-c")):
        reg[comp].next = nxt
    deploy_task.run(settings, ALL, registry=reg, yes=True, skip_verify=True)
    return reg, first["release_id"]


def test_rollback_restores_lambda_ui_and_mcp_together(settings, tmp_path):  # noqa: F811
    reg, rid = deploy_twice(settings)
    assert (reg["lambda"].live, reg["ui"].live, reg["mcp"].live) == ("13", "r-c", "rev-9")
    report = rollback_to(settings, rid, registry=reg, yes=True, json_path=str(tmp_path / "rb.json"))
    assert (reg["lambda"].live, reg["ui"].live, reg["mcp"].live) == ("12", "r-b", "rev-8")
    assert ("rollback", "12", False) in reg["lambda"].calls
    assert not [c for c in reg["infra"].calls if isinstance(c, tuple)]  # infra never rolled back
    assert "deploy-infrastructure" in report["infra"]
    new = release.read(settings, report["new_release_id"])
    assert new["command"] == f"rollback --to {rid}" and new["components"]["lambda"]["version"] == "12"
    assert json.loads((tmp_path / "rb.json").read_text())["ok"] is True
    # a second rollback to the same release changes nothing
    again = rollback_to(settings, rid, registry=reg, yes=True)
    assert [c["status"] for c in again["components"]] == ["unchanged"] * 3
    assert again["new_release_id"] is None


def test_failed_component_rollback_still_rolls_back_the_others(settings):  # noqa: F811
    reg, rid = deploy_twice(settings)

    def broken(s, target=None, *, dry_run=False):
        raise StepFailed("ui bucket gone", "recreate it")
    reg["ui"].rollback = broken
    with pytest.raises(StepFailed) as err:
        rollback_to(settings, rid, registry=reg, yes=True)
    assert "ui" in err.value.message
    assert (reg["lambda"].live, reg["mcp"].live, reg["ui"].live) == ("12", "rev-8", "r-c")


def test_dry_run_and_unknown_release(settings):  # noqa: F811
    reg, rid = deploy_twice(settings)
    report = rollback_to(settings, rid, registry=reg, dry_run=True)
    assert reg["lambda"].live == "13" and report["new_release_id"] is None
    assert {c["status"] for c in report["components"]} == {"planned"}
    with pytest.raises(UsageError):
        rollback_to(settings, "20990101T000000Z-nope", registry=reg, yes=True)
    with pytest.raises(UsageError):
        rollback_to(settings, "../etc", registry=reg, yes=True)
