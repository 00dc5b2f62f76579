"""`inv deploy / releases / rollback / unlock` as a user runs them, against the emulator."""
import json

import boto3

from tars_tasks.tables import create_all


def env_for(endpoint, root, **extra):
    return {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(root), "TARS_UI_BUCKET": "tars-ui",
            "TARS_ARTIFACT_BUCKET": "tars-artifacts", **extra}


def clients(endpoint):
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    create_all(ddb, "sre-poc")
    s3.create_bucket(Bucket="tars-ui")
    s3.create_bucket(Bucket="tars-artifacts")
    return ddb, s3


def put_lock(ddb, **item):
    base = {"lock_id": {"S": "sre-poc/dev"}, "holder": {"S": "bob@ci"}, "pid": {"N": "4242"},
            "commit": {"S": "abc"}, "command": {"S": "deploy-ui"}, "started": {"S": "2026-11-28T00:00:00Z"},
            "expires_at": {"N": "99999999999"}, "token": {"S": "t"}}
    base.update(item)
    ddb.put_item(TableName="sre-poc-deploy-locks", Item=base)


def test_unlock_needs_force_and_releases(endpoint, run_inv, tmp_path):
    ddb, _ = clients(endpoint)
    none = run_inv("unlock", env=env_for(endpoint, tmp_path))
    assert none.returncode == 0 and "no deploy lock" in none.stdout
    put_lock(ddb)
    refused = run_inv("unlock", env=env_for(endpoint, tmp_path))
    assert refused.returncode == 2 and "bob@ci" in refused.stderr and "--force" in refused.stderr
    assert "Item" in ddb.get_item(TableName="sre-poc-deploy-locks", Key={"lock_id": {"S": "sre-poc/dev"}})
    forced = run_inv("unlock", "--force", env=env_for(endpoint, tmp_path))
    assert forced.returncode == 0, forced.stderr
    assert "Item" not in ddb.get_item(TableName="sre-poc-deploy-locks", Key={"lock_id": {"S": "sre-poc/dev"}})


def test_deploy_refused_while_another_holds_the_lock(endpoint, run_inv, tmp_path):
    ddb, _ = clients(endpoint)
    put_lock(ddb)
    result = run_inv("deploy", "--lambda", "--yes", env=env_for(endpoint, tmp_path))
    assert result.returncode == 3
    assert "bob@ci" in result.stderr and "4242" in result.stderr and "Traceback" not in result.stderr


def test_deploy_bad_usage(endpoint, run_inv, tmp_path):
    clients(endpoint)
    nothing = run_inv("deploy", "--yes", env=env_for(endpoint, tmp_path))
    assert nothing.returncode == 2 and "--all" in nothing.stderr
    both = run_inv("deploy", "--all", "--preflight", "--skip-preflight", env=env_for(endpoint, tmp_path))
    assert both.returncode == 2
    forced = run_inv("deploy", "--all", "--force-preflight", "--skip-preflight", env=env_for(endpoint, tmp_path))
    assert forced.returncode == 2 and "contradicts" in forced.stderr


def test_releases_lists_records_and_rollback_rejects_unknown(endpoint, run_inv, tmp_path):
    _, s3 = clients(endpoint)
    record = {"release_id": "20261128T010000000Z-abc-0001", "time": "2026-11-28T01:00:00Z", "who": "ann@box",
              "command": "deploy --lambda", "components": {"lambda": {"version": "7"}, "ui": {"release": "r1"}}}
    s3.put_object(Bucket="tars-ui", Key="_deploys/" + record["release_id"] + ".json", Body=json.dumps(record))
    s3.put_object(Bucket="tars-ui", Key="_releases/ui-r1/index.html", Body=b"x")  # the UI's own, not ours
    report = tmp_path / "rel.json"
    listed = run_inv("releases", "--json", str(report), env=env_for(endpoint, tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert "20261128T010000000Z-abc-0001" in listed.stdout and "ann@box" in listed.stdout
    assert [r["release_id"] for r in json.loads(report.read_text())["releases"]] == [record["release_id"]]
    missing = run_inv("rollback", "--to", "nope", "--yes", env=env_for(endpoint, tmp_path))
    assert missing.returncode == 2 and "inv releases" in missing.stderr
    no_to = run_inv("rollback", "--yes", env=env_for(endpoint, tmp_path))
    assert no_to.returncode == 2


def test_status_on_an_empty_emulator_never_crashes(endpoint, run_inv, tmp_path):
    report = tmp_path / "st.json"
    result = run_inv("status", "--json", str(report), env=env_for(endpoint, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert set(data["components"]) == {"infra", "mcp", "lambda", "ui"}
    assert data["lock"]["state"] == "not deployed"
    for part in ("lambda", "ui", "mcp", "infra", "deploy lock", "latest release"):
        assert part in result.stdout


def test_prod_runs_preflight_first_and_refuses(endpoint, run_inv, tmp_path):
    ddb, s3 = clients(endpoint)
    report = tmp_path / "d.json"
    env = env_for(endpoint, tmp_path, TARS_TEST_COMMAND="true", TARS_TIMEZONE="UTC",
                  TARS_BLOCKED_WINDOWS="00:00-00:00")
    result = run_inv("deploy", "--lambda", "--env", "prod", "--yes", "--json", str(report), env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "preflight failed: reviewed" in result.stderr  # tmp_path is not a git repository
    data = json.loads(report.read_text())
    assert data["ok"] is False and data["components"] == []
    assert {c["name"]: c["status"] for c in data["preflight"]["checks"]}["reviewed"] == "fail"
    assert s3.list_objects_v2(Bucket="tars-ui").get("KeyCount", 0) == 0  # nothing deployed or recorded
    assert "Item" not in ddb.get_item(TableName="sre-poc-deploy-locks", Key={"lock_id": {"S": "sre-poc/prod"}})
    dev = run_inv("deploy", "--lambda", "--yes", env=env)  # dev: no preflight; the plan finds no function
    assert "Preflight checklist" not in dev.stdout and "Preflight checklist" in result.stdout
    assert dev.returncode == 2 and "handler.py not found" in dev.stderr, dev.stderr  # the build, not preflight
