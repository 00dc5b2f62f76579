"""inv status: one row per component, lock and release; missing parts are unknown, never a crash."""
import boto3
import pytest

from tars_tasks import lock
from tars_tasks.settings import Settings
from tars_tasks.steps import deploy as deploy_task
from tars_tasks.steps.component import Live
from tars_tasks.tasks import status
from tests.fakes.components import registry
from tests.unit.test_pipeline_run import fresh_console, settings  # noqa: F401


def test_status_shows_components_lock_and_latest_release(settings):  # noqa: F811
    reg = registry()
    done = deploy_task.run(settings, ["lambda"], registry=reg, yes=True, skip_verify=True)

    class Broken:
        def current(self, s):
            raise RuntimeError("describe failed")
    reg["mcp"] = Broken()
    reg["infra"] = None
    with lock.hold(settings, "deploy-ui"):
        data = status.collect(settings.replace(site_url="https://tars.example.com"), reg)
        table = {r[0]: r[1:] for r in status.rows(data)}
    assert table["lambda"] == ("live", "version=12")
    assert table["ui"][0] == "live" and "release=r-a" in table["ui"][1]
    assert "url=https://tars.example.com" in table["ui"][1]
    assert table["mcp"][0] == "unknown" and "describe failed" in table["mcp"][1]
    assert table["infra"][0] == "unknown" and "not available" in table["infra"][1]
    assert table["deploy lock"][0] == "held" and "'deploy-ui'" in table["deploy lock"][1]
    assert table["latest release"][0] == done["release_id"]


def test_status_with_nothing_deployed(aws, tmp_path):
    s = Settings.load(None, root=tmp_path, environ={})
    table = {r[0]: r[1:] for r in status.rows(status.collect(s, {"lambda": None}))}
    assert table["lambda"][0] == "unknown"
    assert table["deploy lock"][0] == "not deployed"
    assert table["latest release"][0] == "unknown"  # no UI bucket configured


@pytest.mark.parametrize("recorded,state,target", [
    ({}, "not deployed", None), ({"state": "not deployed"}, "not deployed", None),
    ({"state": "unknown", "error": "x"}, "unknown", None), ({"version": "3", "state": "Active"}, "live", "3"),
    ({"version": None, "function": "f"}, "live", None),
])
def test_a_lambda_entry_of_an_older_record_is_read(recorded, state, target):
    live = Live.from_record("lambda", recorded)
    assert (live.state, live.rollback_target) == (state, target)


def test_status_shows_the_details_a_component_chose_in_its_order():
    live = Live("mcp", version="svc:3", rollback_target="arn:svc:3",
                details=(("task_definition", "arn:svc:3"), ("running", 1), ("pending", None), ("desired", 1)))
    data = {"components": {"mcp": live, "ui": Live.not_deployed("ui", "no release")}, "lock": None, "release": None}
    table = {r[0]: r[1:] for r in status.rows(data)}
    assert table["mcp"] == ("live", "task_definition=arn:svc:3, running=1, desired=1")
    assert table["ui"] == ("not deployed", "no release")
    assert status.as_json(data)["components"]["mcp"]["details"] == {"task_definition": "arn:svc:3", "running": 1,
                                                                     "pending": None, "desired": 1}
