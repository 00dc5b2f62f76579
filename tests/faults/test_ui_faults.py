"""deploy-ui under injected faults (500, 503, throttling/SlowDown, resets, delays past the read
timeout on a seeded 20% of requests): a real `inv deploy-ui` subprocess through the fault proxy.
Every run ends with the new release live and complete, or the previous index.html live,
byte-identical, and every asset it references present. 20 seeds under `-m faults`, 3 by default."""
from __future__ import annotations

import pytest

from bench.scenarios import ui_faults as scenario
from bench.scenarios.lambda_faults import reset, retried
from bench.scenarios.ui_faults import check


def ui_runs(moto_server, project, seeds, spare=(), **env):
    """One site for all seeds: each run starts from whatever the previous one left live."""
    reset(moto_server)
    dist_id, old = scenario.prepare(moto_server, project)
    runs = []
    for seed in seeds:
        run = scenario.run(moto_server, project, dist_id, old, seed, spare=spare, **env)
        runs.append(run)
        old = run.new if run.state == "new" else old
    return runs


def assert_suite(runs) -> None:
    for run in runs:
        check(run)
    assert any(r.fault for run in runs for r in run.records), "no fault injected: the suite proved nothing"
    assert any(retried(run) for run in runs), "no faulted call was retried"


@pytest.mark.faults
def test_deploy_ui_under_faults_20_seeds(moto_server, endpoint, project):
    runs = ui_runs(moto_server, project, range(20))
    assert_suite(runs)
    assert sum(r.state == "new" for r in runs) >= 10


def test_deploy_ui_under_faults_3_seeds(moto_server, endpoint, project):
    assert_suite(ui_runs(moto_server, project, range(3)))


def test_deploy_ui_without_retries_fails_clean(moto_server, endpoint, project):
    """One attempt per call (TARS_MAX_ATTEMPTS=1): faults now fail runs, and each failed one leaves
    the previous release whole (the failed-clean path under faults; 20% rate, 6 seeds). The lock's own
    calls are spared: a lost release with no retry leaves the lock for its lease, refusing the next seed."""
    runs = ui_runs(moto_server, project, range(6), spare=scenario.LOCK_OPS, TARS_MAX_ATTEMPTS="1")
    for run in runs:
        check(run)
    failed = [r for r in runs if r.returncode != 0]
    assert failed, "no run failed: the test proved nothing"
    assert any(r.state == "old" for r in failed)
