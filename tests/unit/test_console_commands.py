"""Commands printed for the user name the run's target: a `--local` run's hints and rollback
commands carry `--local` (and an explicitly chosen env its `--env`), wherever they were written."""
from __future__ import annotations

import json

import pytest

from tars_tasks import console
from tars_tasks.errors import UsageError
from tars_tasks.settings import Settings


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(console, "_consoles", {})
    yield
    console.set_target({})


def test_a_local_run_prints_every_command_with_local(capsys, tmp_path):
    console.set_target(Settings.load(None, root=tmp_path, environ={}, local=True).target_flags)
    console.table("deploy summary", ["component", "detail"],
                  [("lambda", "deployed; rollback: inv rollback-lambda --to 1"),
                   ("ui", "rollback: inv rollback-ui --to r1")])
    console.error(UsageError("no release nope", "inv releases lists them; then inv rollback --to RELEASE"))
    console.write_report(tmp_path / "r.json", {"rollback_command": "inv rollback-mcp --to 3"})
    out = capsys.readouterr()
    assert "inv rollback-lambda --local --to 1" in out.out and "inv rollback-ui --local --to r1" in out.out
    assert "hint: inv releases --local lists them; then inv rollback --local --to RELEASE" in out.err
    assert json.loads((tmp_path / "r.json").read_text())["rollback_command"] == "inv rollback-mcp --local --to 3"


def test_commands_that_already_name_the_target_or_cannot_take_it_are_left_alone(tmp_path):
    console.set_target({"local": "--local"})
    for text in ("inv rollback --to X --local", "inv local.status", "inv --help deploy-ui", "no command here",
                 "inv lint-infra"):
        assert console.for_target(text) == text


def test_an_aws_run_adds_env_only_when_it_was_chosen(tmp_path):
    assert Settings.load(None, root=tmp_path, environ={}).target_flags == {}
    chosen = Settings.load(None, root=tmp_path, environ={"TARS_ENV": "staging"}).target_flags
    assert chosen == {"env": "--env staging"}
    console.set_target(chosen)
    assert console.for_target("rollback: inv rollback-lambda --to 4") == "rollback: inv rollback-lambda --env staging --to 4"
    assert console.for_target("inv rollback --to X --env staging") == "inv rollback --to X --env staging"
