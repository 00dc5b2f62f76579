"""Every mutating task asks its question before it takes the deploy lock (a person answering never
holds the lock), and no task takes the lock itself (skeleton.apply does): deploy-ui and
rollback-ui run in-process against moto with the lock and the prompt recorded."""
from __future__ import annotations

import ast
import contextlib
from pathlib import Path

import boto3
import pytest

from tars_tasks import console, lock
from tars_tasks.settings import Settings
from tars_tasks.tasks import ui as ui_tasks
from tests.support import fresh_console  # noqa: F401
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, write_dist

TASKS = Path(__file__).resolve().parents[2] / "tars_tasks" / "tasks"
pytestmark = pytest.mark.usefixtures("fresh_console")


@pytest.fixture
def world(aws, tmp_path, monkeypatch):
    """The UI site in moto, settings for it, and a record of the lock and the questions, in order."""
    bucket, dist_id = make_site()
    settings = Settings.load(None, root=tmp_path, environ={
        "TARS_UI_BUCKET": bucket, "TARS_DISTRIBUTION_ID": dist_id, "TARS_ARTIFACT_BUCKET": RECORDS_BUCKET,
        "TARS_WAITER_DELAY": "0.01", "AWS_REGION": "us-east-1"})
    events, held = [], [False]

    @contextlib.contextmanager
    def hold(settings_, command, **_):
        events.append(f"lock {command}")
        held[0] = True
        try:
            yield {}
        finally:
            held[0] = False
            events.append("unlock")

    def confirm(question, yes):
        events.append(f"ask (lock held: {held[0]})")

    monkeypatch.setattr(lock, "hold", hold)
    monkeypatch.setattr(console, "confirm", confirm)
    monkeypatch.setattr(ui_tasks, "load_settings", lambda c, flags=None, **_: settings)
    s3 = boto3.client("s3", region_name="us-east-1")
    return type("World", (), {"events": events, "dist": tmp_path / "ui" / "dist", "s3": s3, "bucket": bucket,
                              "settings": settings})


def index(world) -> bytes:
    return world.s3.get_object(Bucket=world.bucket, Key="index.html")["Body"].read()


def test_deploy_ui_and_rollback_ui_ask_before_they_lock(world):
    write_dist(world.dist, "v1")
    ui_tasks.deploy_ui.body(None, skip_build=True)
    assert world.events == ["ask (lock held: False)", "lock deploy-ui", "unlock"]
    v1 = index(world)
    write_dist(world.dist, "v2")
    world.events.clear()
    ui_tasks.deploy_ui.body(None, skip_build=True)
    assert world.events == ["ask (lock held: False)", "lock deploy-ui", "unlock"] and index(world) != v1

    world.events.clear()
    ui_tasks.rollback_ui.body(None)
    assert world.events == ["ask (lock held: False)", "lock rollback-ui", "unlock"]
    assert index(world) == v1   # executed under the lock, after the answer


def test_a_dry_run_neither_asks_nor_locks(world):
    write_dist(world.dist, "v1")
    ui_tasks.deploy_ui.body(None, skip_build=True, dry_run=True)
    assert world.events == []
    assert "Contents" not in world.s3.list_objects_v2(Bucket=world.bucket)


def _calls(tree: ast.AST) -> set[str]:
    return {f"{n.func.value.id}.{n.func.attr}" for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)}


def test_no_task_takes_the_lock_itself():
    """Only the skeleton (and the steps/ orchestrators) take the deploy lock: a task that took it
    itself could ask its question while holding it. (seed-logs asks, but never locks.)"""
    assert sorted(path.name for path in TASKS.glob("*.py") if "lock.hold" in _calls(ast.parse(path.read_text()))) == []


# ---------------------------------------------------------------- inv deploy (steps/deploy.run)

@pytest.fixture
def pipeline_world(aws, tmp_path, monkeypatch):
    """deploy's pipeline with fake components, the lock table and release bucket in moto; the
    prompt records whether the real lock item exists while it waits (and may run ``meanwhile``)."""
    from tars_tasks.aws import dynamodb
    from tars_tasks.tables import create_all
    from tests.fakes.components import registry

    create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="tars-artifacts")
    settings = Settings.load(None, root=tmp_path, environ={"TARS_ARTIFACT_BUCKET": "tars-artifacts"})
    reg = registry(mcp={"changes": False})
    world = type("PipelineWorld", (), {"settings": settings, "reg": reg, "asked": [], "meanwhile": None})

    def lock_item():
        return dynamodb.read_lock(settings.clients, settings.lock_table, lock.lock_id(settings))

    def confirm(question, yes):
        world.asked.append((question, lock_item()))
        if world.meanwhile:
            world.meanwhile()

    world.lock_item = staticmethod(lock_item)
    for name, comp in reg.items():
        comp.on_execute = lambda s, n=name: world.asked.append((f"execute {n}", lock_item()))
    monkeypatch.setattr(console, "confirm", confirm)
    return world


def test_deploy_asks_before_it_locks_and_runs_the_plan_made_under_the_lock(pipeline_world):
    from tars_tasks.steps import deploy

    w = pipeline_world
    report = deploy.run(w.settings, ["infra", "mcp", "lambda"], registry=w.reg, skip_verify=True)
    question, held_while_asking = w.asked[0]
    assert question == "Deploy infra, mcp, lambda to dev?" and held_while_asking is None
    # then the lock: every component executed while 'deploy ...' held it, and it is released after
    assert [(what, item["command"]) for what, item in w.asked[1:]] == [
        (f"execute {n}", "deploy --infra --mcp --lambda") for n in ("infra", "mcp", "lambda")]
    assert w.lock_item() is None
    # planned once to ask, once more under the lock; the lambda's new version is live
    assert w.reg["lambda"].calls[:3] == ["plan", "plan", "execute"] and w.reg["lambda"].live == "12"
    assert report["ok"] and report["release_id"]


def test_a_plan_that_changed_while_the_person_decided_is_refused_and_nothing_is_applied(pipeline_world, tmp_path):
    import json

    from tars_tasks.errors import Refused
    from tars_tasks.steps import deploy, release

    w = pipeline_world

    def another_deploy():   # while the prompt waits, someone else deploys lambda 13
        w.reg["lambda"].live = "13"

    w.meanwhile = another_deploy
    report_path = tmp_path / "report.json"
    with pytest.raises(Refused) as err:
        deploy.run(w.settings, ["infra", "mcp", "lambda"], registry=w.reg, skip_verify=True,
                   json_path=str(report_path))
    assert err.value.exit_code == 3
    assert err.value.message == "the plan changed while you were deciding: another deploy ran; re-run"
    assert all("execute" not in c.calls for c in w.reg.values())
    assert (w.reg["infra"].live, w.reg["lambda"].live) == ("serial-4", "13")   # nothing applied
    assert w.lock_item() is None and release.list_ids(w.settings) == []
    written = json.loads(report_path.read_text())
    assert written["ok"] is False and written["changed_while_asking"] == ["lambda"]


def test_deploy_yes_plans_once_under_the_lock(pipeline_world):
    from tars_tasks.steps import deploy

    w = pipeline_world
    seen = []
    w.reg["infra"].plan_hook = lambda s: seen.append(w.lock_item())
    deploy.run(w.settings, ["infra", "lambda"], registry=w.reg, yes=True, skip_verify=True)
    assert [what for what, _ in w.asked] == ["execute infra", "execute lambda"]   # nobody asked
    assert [item["command"] for item in seen] == ["deploy --infra --lambda"]   # one plan (one terraform plan)
    assert w.reg["infra"].calls.count("plan") == 1 and w.reg["lambda"].calls.count("plan") == 1


def test_deploy_ui_through_the_pipeline_asks_before_it_locks_and_its_replan_matches(world, monkeypatch):
    """The real UI component in `inv deploy --ui`: the release id is stamped once per run, so the
    re-plan under the lock matches the plan confirmed (a new stamp alone would refuse every run)."""
    from tars_tasks.artifacts import ui_bundle
    from tars_tasks.steps import deploy

    write_dist(world.dist, "v1")
    monkeypatch.setattr(ui_bundle, "build", lambda settings, **_: world.dist)   # no npm here
    report = deploy.run(world.settings, ["ui"], skip_verify=True)
    assert world.events == ["ask (lock held: False)", "lock deploy --ui", "unlock"]
    ui = next(c for c in report["components"] if c["component"] == "ui")
    assert report["ok"] and ui["status"] == "deployed" and b"<title>TARS</title>" in index(world)
