"""deploy-lambda under injected faults (500, 503, throttling, connection resets, delays past the
read timeout on a seeded 20% of requests): a real `inv deploy-lambda` subprocess through the fault
proxy. Every run ends deployed (alias on the new, smoke-passed version, versions pruned to the
newest 3) or failed with one error line and the alias still on the previous version; the smoke
Invoke is made at most once per run; faulted reads are retried by botocore's standard mode.

20 seeds under `-m faults` (CI), 3 in the default run."""
from __future__ import annotations

import pytest

from tests.faults import lambda_scenario as scenario

FULL, SHORT = range(20), range(3)


def check(run: scenario.LambdaRun) -> None:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    invokes = [r for r in run.records if r.operation == scenario.INVOKE]
    assert len(invokes) <= 1, f"the smoke Invoke was retried: {invokes}"
    if run.deployed:
        assert run.alias == "4", (run.alias, run.stdout, run.stderr)
        assert run.alias in run.smoke_passed, "the alias is on a version that did not pass the smoke test"
        assert run.live_sha == run.new_sha
        pruned_clean = run.versions == ["2", "3", "4"]
        assert pruned_clean or "pruning old versions failed" in run.stderr, run.versions
        assert run.alias in run.versions and scenario.PREVIOUS in run.versions
    else:
        assert run.returncode == 1, (run.returncode, run.stderr)
        assert len(run.error_lines()) == 1, run.stderr
        assert run.alias == scenario.PREVIOUS, "a failed deploy moved the alias"
        assert run.versions[:3] == ["1", "2", "3"] and len(run.versions) <= 4
        # why it failed: the smoke test (bad reply or a faulted Invoke) or a call that ran out of attempts
        faulted_invoke = any(r.fault for r in invokes)
        assert (not run.healthy and invokes) or faulted_invoke or "cannot" in run.error_lines()[0], run.stderr


def retried(run: scenario.LambdaRun) -> list[str]:
    """Operations faulted and then tried again (by botocore) in this run."""
    seen = []
    for i, r in enumerate(run.records):
        if r.fault and any(later.operation == r.operation for later in run.records[i + 1:]):
            seen.append(r.operation)
    return seen


def scenario_runs(moto_server, endpoint, project, seeds):
    runs = []
    for seed in seeds:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(moto_server + "/moto-api/reset", method="POST", data=b""),
                               timeout=10).close()
        scenario.prepare(endpoint)
        runs.append(scenario.run(endpoint, project, seed))
    return runs


def assert_suite(runs) -> None:
    for run in runs:
        check(run)
    faults = [r for run in runs for r in run.records if r.fault]
    assert faults, "no fault injected: the suite proved nothing"
    assert any(retried(run) for run in runs), "no faulted call was retried"


@pytest.mark.faults
def test_deploy_lambda_under_faults_20_seeds(moto_server, endpoint, project):
    runs = scenario_runs(moto_server, endpoint, project, FULL)
    assert_suite(runs)
    assert any(r.deployed for r in runs) and any(not r.deployed for r in runs)


def test_deploy_lambda_under_faults_3_seeds(moto_server, endpoint, project):
    assert_suite(scenario_runs(moto_server, endpoint, project, SHORT))
