"""`inv preflight` as a user runs it, against the emulator and a real git repository."""
import json

import boto3

from tars_tasks.tables import create_all
from tests.unit.test_preflight_checks import git, put_incident, repo  # noqa: F401 - fixture


def env_for(endpoint, root, **extra):
    return {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(root), "TARS_TEST_COMMAND": "true",
            "TARS_TIMEZONE": "UTC", "TARS_BLOCKED_WINDOWS": "00:00-00:00", **extra}


def test_open_p2_refuses_force_overrides(endpoint, run_inv, repo, tmp_path):  # noqa: F811
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
    create_all(ddb, "sre-poc")
    put_incident(ddb, "i-9", "P2", "open")
    put_incident(ddb, "i-1", "P1", "resolved")
    report = tmp_path / "pf.json"
    result = run_inv("preflight", "--json", str(report), env=env_for(endpoint, repo))
    assert result.returncode == 3, result.stderr
    assert "preflight failed: incidents" in result.stderr and "Traceback" not in result.stderr
    assert "i-9 P2 open" in result.stdout
    data = json.loads(report.read_text())
    assert {c["name"]: c["status"] for c in data["checks"]} == {
        "tests": "pass", "incidents": "fail", "reviewed": "pass", "window": "pass", "rollback plan": "skip"}
    forced = run_inv("preflight", "--force", "--json", str(report), env=env_for(endpoint, repo))
    assert forced.returncode == 0, forced.stderr
    assert json.loads(report.read_text())["forced"] is True
    ddb.update_item(TableName="sre-poc-incidents", Key={"incident_id": {"S": "i-9"}},
                    UpdateExpression="SET #s = :r", ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":r": {"S": "resolved"}})
    clean = run_inv("preflight", env=env_for(endpoint, repo))
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_failing_tests_and_dirty_tree_refuse(endpoint, run_inv, repo):  # noqa: F811
    (repo / "app.py").write_text("changed\n")
    result = run_inv("preflight", env=env_for(endpoint, repo, TARS_TEST_COMMAND="false"))
    assert result.returncode == 3
    assert "tests" in result.stderr and "reviewed" in result.stderr
    skipped = run_inv("preflight", "--skip-tests", env=env_for(endpoint, repo, TARS_TEST_COMMAND="false"))
    assert skipped.returncode == 3 and "tests" not in skipped.stderr.split("preflight failed:")[1].split("\n")[0]
