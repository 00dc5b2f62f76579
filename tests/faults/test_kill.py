"""SIGKILL tests: a real `inv deploy-ui` killed at its N-th AWS request (seeded N; watched through
the proxy, so the point is deterministic) leaves a live index.html whose every asset exists, and a
rerun completes; `inv deploy-lambda` killed between PublishVersion and the alias move leaves the
alias on the old version and its deploy lock behind: a new run is refused (exit 3 naming the
holder) until the lease runs out (then taken over) or `inv unlock --force` releases it.
The 20 seeded UI trials run under `-m faults`; the plain run kills at the boundaries instead
(test_boundaries.py)."""
from __future__ import annotations

import signal
import time

import boto3
import pytest

from bench.scenarios import lambda_faults as lam
from bench.scenarios import ui_faults as ui
from bench.scenarios.lambda_faults import LOCK_KEY as KEY
from bench.scenarios.lambda_faults import lock_item, rerun, reset, start_killed_at_publish


def ui_kill_trials(moto_server, project, seeds):
    reset(moto_server)
    dist_id, old = ui.prepare(moto_server, project)
    trials = []
    for seed in seeds:
        trial = ui.kill_run(moto_server, project, dist_id, old, seed)
        trials.append(trial)
        assert trial.state in ("old", "new"), (seed, trial.killed_at, trial.state)
        assert trial.rerun.returncode == 0, trial.rerun.stderr
        assert trial.rerun_state == "new", (seed, trial.rerun_state)
        old = trial.new
    return trials


@pytest.mark.faults
def test_deploy_ui_killed_at_20_seeded_points(moto_server, endpoint, project):
    trials = ui_kill_trials(moto_server, project, range(20))
    killed = [t for t in trials if t.killed_at]
    assert len(killed) >= 15, "most trials must really be killed mid-deploy"
    assert {t.state for t in killed} == {"old", "new"}, "kills both before and after the switch"


def killed_lambda(endpoint, project, lease):
    lam.prepare(endpoint)
    (project / "lambda_src" / "fault_seed.py").write_text("SEED = 'kill'\n")
    proc = start_killed_at_publish(endpoint, project, TARS_LOCK_LEASE_SECONDS=str(lease))
    assert proc.returncode == -signal.SIGKILL
    assert lam.alias_version(endpoint) == lam.PREVIOUS, "the alias moved although the deploy died before it"
    assert "4" in lam.published(endpoint), "the kill was not after the publish"
    held = lock_item(endpoint)
    assert held and held["pid"]["N"] == str(proc.pid) and held["command"]["S"] == "deploy-lambda"
    refused, _ = rerun(endpoint, project)
    assert refused.returncode == 3, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"pid {proc.pid}" in errors[0] and "deploy-lambda" in errors[0]
    assert lam.alias_version(endpoint) == lam.PREVIOUS
    return proc


def assert_converged(endpoint, done, smoke):
    assert done.returncode == 0, done.stderr
    alias = lam.alias_version(endpoint)
    assert alias != lam.PREVIOUS and alias in smoke.passed
    assert lam.code_of(endpoint, alias) == lam.code_of(endpoint, "$LATEST")
    assert lock_item(endpoint) is None, "the rerun left the lock behind"


def test_deploy_lambda_killed_after_publish_lock_taken_over_after_its_lease(endpoint, project):
    killed_lambda(endpoint, project, lease=1800)
    # the lease runs out: its end moves into the past (no sleeping, and no race between the refused
    # rerun above and a short real lease)
    boto3.client("dynamodb", endpoint_url=endpoint).update_item(
        TableName=lam.LOCK_TABLE, Key=KEY, UpdateExpression="SET expires_at = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}})
    done, smoke = rerun(endpoint, project)
    assert "took over an expired deploy lock" in done.stderr and "deploy-lambda" in done.stderr
    assert_converged(endpoint, done, smoke)


def test_deploy_lambda_killed_after_publish_lock_released_by_unlock_force(endpoint, project):
    import subprocess

    killed_lambda(endpoint, project, lease=1800)
    unlock = subprocess.run(lam.inv_command("unlock", "--force"), cwd=str(lam.ROOT),
                            env=lam.inv_env(endpoint, project), capture_output=True, text=True, timeout=60)
    assert unlock.returncode == 0 and "released the deploy lock" in unlock.stderr, unlock.stderr
    assert lock_item(endpoint) is None
    done, smoke = rerun(endpoint, project)
    assert_converged(endpoint, done, smoke)
