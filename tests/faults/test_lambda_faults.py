"""deploy-lambda under injected faults (500, 503, throttling, connection resets, delays past the
read timeout on a seeded 20% of requests): a real `inv deploy-lambda` subprocess through the fault
proxy. Every run ends deployed (alias on the new, smoke-passed version, versions pruned to the
newest 3) or failed with one error line and the alias still on the previous version; the smoke
Invoke is made at most once per run; faulted reads are retried by botocore's standard mode.

20 seeds under `-m faults` (CI), 3 in the default run."""
from __future__ import annotations

import pytest

from bench.scenarios import lambda_faults as scenario
from bench.scenarios.lambda_faults import check, retried

FULL, SHORT = range(20), range(3)


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
