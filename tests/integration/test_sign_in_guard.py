"""A production env never gets the API without a user pool: `inv deploy-lambda --env prod` refuses
(exit 3) before building or calling AWS; with the pool's output it gets past the guard."""
from __future__ import annotations

import json

import boto3


def test_production_without_a_pool_refuses_to_deploy_and_changes_nothing(endpoint, project, run_inv):
    env = {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project)}
    done = run_inv("deploy-lambda", "--env", "prod", "--yes", env=env)
    assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-2000:]
    assert "no user pool is configured" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "dist").exists()                       # refused before the build
    assert boto3.client("lambda").list_functions()["Functions"] == []


def test_with_the_pools_output_it_gets_past_the_guard_and_dev_never_asks(endpoint, project, run_inv):
    outputs = project / ".tars" / "prod" / "outputs.json"
    outputs.parent.mkdir(parents=True, exist_ok=True)
    outputs.write_text(json.dumps({"cognito_user_pool_id": {"value": "us-east-1_Pool1"}}))
    env = {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project)}
    prod = run_inv("deploy-lambda", "--env", "prod", "--dry-run", env=env)
    dev = run_inv("deploy-lambda", "--env", "dev", "--dry-run", env=env)
    for done in (prod, dev):   # past the guard: what stops them is the function that does not exist
        assert "no user pool" not in done.stderr and done.returncode != 3, done.stderr[-2000:]
