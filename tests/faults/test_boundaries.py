"""Kills and faults placed on the boundaries the safety guards protect, not at seeded points:
every plain `pytest` run hits each boundary, so a one-line mutation of a guard fails here
(docs/reliability.md, "Mutations", lists which; bench/mutations.py reproduces the table).

deploy-ui (index-last): SIGKILL right after the first HTML PUT (the last asset PUT held until
then), SIGKILL on the last asset PUT, the last asset PUT failing on every attempt. After each,
every asset the live index.html references exists (the previous release whole, or the new one
whole), and after a kill `inv unlock --force` and a rerun put the new release live.

deploy-lambda (smoke gate): SIGKILL on the smoke Invoke, the smoke Invoke faulted once, a failing
health reply. After each, the alias is on the previous version (never on an unverified one); the
Invoke is made once; a rerun after a kill converges on the new code.
"""
from __future__ import annotations

import subprocess

import pytest

from bench.scenarios import lambda_faults as lam
from bench.scenarios import ui_faults as ui
from bench.scenarios.lambda_faults import rerun, reset
from tests.faults.test_kill import assert_converged


@pytest.fixture
def site(moto_server, project):
    """Release v0 live; returns (distribution id, v0's files)."""
    reset(moto_server)
    return ui.prepare(moto_server, project)


def html_puts(trial: ui.UiRun) -> list[str]:
    return [k for k in (ui.put_key(r) for r in trial.records) if k and k.endswith(".html")]


def assert_rerun_completes(trial: ui.UiRun) -> None:
    assert trial.rerun is not None, "the run was not killed"
    assert trial.rerun.returncode == 0, trial.rerun.stderr
    assert trial.rerun_state == "new", trial.rerun_state


def test_deploy_ui_killed_right_after_its_first_html_put(moto_server, project, site):
    dist_id, old = site
    trial, boundary = ui.boundary_run(moto_server, project, dist_id, old, "first-html")
    assert boundary.killed_at == "index.html", (boundary.killed_at, trial.stderr)
    assert boundary.assets_before_html == boundary.assets, \
        f"the first HTML PUT came after {boundary.assets_before_html} of {boundary.assets} asset PUTs"
    assert boundary.held, "the last asset PUT was never held: the boundary was not reached"
    assert not boundary.held_cut, "an HTML PUT was sent while an asset PUT was still unanswered"
    # index-last: when the first HTML PUT lands, every asset it references has landed before it
    assert trial.state == "new", trial.state
    assert_rerun_completes(trial)


def test_deploy_ui_killed_on_its_last_asset_put(moto_server, project, site):
    dist_id, old = site
    trial, boundary = ui.boundary_run(moto_server, project, dist_id, old, "last-asset")
    assert boundary.killed_at and boundary.killed_at.startswith("assets/"), boundary.killed_at
    assert html_puts(trial) == [] and boundary.assets_before_html is None, "an HTML PUT came before the last asset's"
    assert trial.state == "old", trial.state     # the previous index.html live, every asset present
    assert_rerun_completes(trial)


def test_deploy_ui_last_asset_put_failing_stops_the_html_switch(moto_server, project, site):
    dist_id, old = site
    trial, boundary = ui.boundary_run(moto_server, project, dist_id, old, "fail-last-asset")
    assert boundary.failing, "the last asset PUT was never seen: the boundary was not reached"
    attempts = [r for r in trial.records if ui.put_key(r) == boundary.failing]
    assert len(attempts) == 5 and all(r.fault == "500" for r in attempts)   # TARS_MAX_ATTEMPTS=5
    assert "Traceback" not in trial.stdout + trial.stderr, trial.stderr
    assert trial.returncode == 1 and len(trial.error_lines()) == 1, trial.stderr
    assert boundary.failing in trial.error_lines()[0] and "no HTML was touched" in trial.error_lines()[0]
    assert html_puts(trial) == [], "HTML was uploaded although an asset failed"
    assert trial.state == "old", trial.state
    again = subprocess.run(lam.inv_command("deploy-ui", "--skip-build", "--yes"), cwd=str(lam.ROOT),
                           env=ui.ui_env(moto_server, project, dist_id), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert ui.state_of(ui.live(moto_server), old, trial.new) == "new"


def invokes(run: lam.LambdaRun) -> list:
    return [r for r in run.records if r.operation == lam.INVOKE]


def assert_failed_clean(run: lam.LambdaRun) -> None:
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert run.returncode == 1 and len(run.error_lines()) == 1, (run.returncode, run.stderr)
    assert "smoke test of version 4" in run.error_lines()[0] or "invoke" in run.error_lines()[0], run.stderr
    assert run.alias == lam.PREVIOUS, "the alias moved to a version that did not pass its smoke test"
    assert run.versions == ["1", "2", "3", "4"], run.versions   # published, never aliased


def test_deploy_lambda_killed_on_its_smoke_invoke(endpoint, project):
    lam.prepare(endpoint)
    run = lam.boundary_run(endpoint, project, "kill-on-invoke")
    assert run.killed and len(invokes(run)) == 1, run.stderr
    assert run.alias == lam.PREVIOUS, "the alias points at a version whose smoke test never finished"
    assert "4" in run.versions
    unlock = subprocess.run(lam.inv_command("unlock", "--force"), cwd=str(lam.ROOT),
                            env=lam.inv_env(endpoint, project), capture_output=True, text=True, timeout=60)
    assert unlock.returncode == 0, unlock.stderr
    done, smoke = rerun(endpoint, project)
    assert_converged(endpoint, done, smoke)


def test_deploy_lambda_smoke_invoke_faulted_once_is_not_retried(endpoint, project):
    lam.prepare(endpoint)
    run = lam.boundary_run(endpoint, project, "fault-invoke-once")
    assert [r.fault for r in invokes(run)] == ["500"], "the smoke Invoke must be made exactly once"
    assert_failed_clean(run)


def test_deploy_lambda_failing_smoke_reply_leaves_the_alias(endpoint, project):
    lam.prepare(endpoint)
    run = lam.boundary_run(endpoint, project, "failing-reply")
    assert [r.fault for r in invokes(run)] == [None]
    assert_failed_clean(run)
    assert "statusCode 500" in run.error_lines()[0], run.stderr
