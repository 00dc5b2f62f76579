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
    monkeypatch.setattr(ui_tasks, "load_settings", lambda c, **_: settings)
    s3 = boto3.client("s3", region_name="us-east-1")
    return type("World", (), {"events": events, "dist": tmp_path / "ui" / "dist", "s3": s3, "bucket": bucket})


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
