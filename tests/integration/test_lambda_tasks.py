"""`inv build`, `inv deploy-lambda`, `inv rollback-lambda` run as a user runs them (subprocess) against
moto's server; assertions on what the emulator holds afterwards. moto cannot run the handler, so
deploys here pass --no-smoke (the smoke logic is proven in tests/unit/test_lambda_deploy.py)."""
from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

FN = "sre-poc-incident-handler"


def tiny_zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", text)
    return buf.getvalue()


@pytest.fixture
def lam(endpoint):
    return boto3.client("lambda", region_name="us-east-1")


@pytest.fixture
def function(endpoint, lam):
    """The function as Terraform would leave it: created with placeholder code, no alias yet."""
    role = boto3.client("iam").create_role(RoleName="tars-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName=FN, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
                        Code={"ZipFile": tiny_zip("placeholder = 1")}, Timeout=30)
    return FN


@pytest.fixture
def inv(run_inv, endpoint, project):
    def run(*args, **env):
        return run_inv(*args, env={"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project), **env})
    return run


def versions(lam):
    out = lam.list_versions_by_function(FunctionName=FN)["Versions"]
    return {v["Version"]: v for v in out if v["Version"] != "$LATEST"}


def alias_target(lam, name="production"):
    return lam.get_alias(FunctionName=FN, Name=name)["FunctionVersion"]


def edit(project, n):
    (project / "lambda_src" / "extra.py").write_text(f"N = {n}\n")


def clean(result):
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def test_deploy_then_no_op_then_new_version(inv, function, lam, project, tmp_path):
    first = clean(inv("deploy-lambda", "--yes", "--no-smoke"))
    assert first.returncode == 0, first.stderr
    assert set(versions(lam)) == {"1"} and alias_target(lam) == "1"
    assert versions(lam)["1"]["Description"].startswith("commit ")
    zip_sha = json.loads((project / "dist" / "lambda.build.json").read_text())["sha256_b64"]
    assert versions(lam)["1"]["CodeSha256"] == zip_sha

    again = clean(inv("deploy-lambda", "--yes", "--no-smoke", "--json", str(tmp_path / "r.json")))
    assert again.returncode == 0 and "no changes" in again.stdout
    assert set(versions(lam)) == {"1"} and alias_target(lam) == "1"
    assert json.loads((tmp_path / "r.json").read_text())["outcome"]["status"] == "unchanged"

    edit(project, 1)
    third = clean(inv("deploy-lambda", "--yes", "--no-smoke"))
    assert third.returncode == 0 and "1 -> 2" in third.stdout
    assert set(versions(lam)) == {"1", "2"} and alias_target(lam) == "2"
    assert "inv rollback-lambda --to 1" in third.stdout


def test_prune_keeps_newest_three_and_an_aliased_old_one(inv, function, lam):
    for i in range(5):
        lam.update_function_code(FunctionName=FN, ZipFile=tiny_zip(f"v = {i}"))
        lam.publish_version(FunctionName=FN, Description=f"commit c{i}")
    lam.create_alias(FunctionName=FN, Name="production", FunctionVersion="5")
    lam.create_alias(FunctionName=FN, Name="stable", FunctionVersion="1")
    result = clean(inv("deploy-lambda", "--yes", "--no-smoke", "--keep-versions", "3"))
    assert result.returncode == 0, result.stderr
    assert sorted(versions(lam), key=int) == ["1", "4", "5", "6"]
    assert alias_target(lam) == "6" and alias_target(lam, "stable") == "1"
    assert "pruned versions 2, 3" in result.stdout


def test_missing_function_is_exit_2_with_the_hint(inv, endpoint, tmp_path):
    result = clean(inv("deploy-lambda", "--yes", "--no-smoke", "--json", str(tmp_path / "r.json")))
    assert result.returncode == 2
    assert f"function {FN} not found" in result.stderr and "run inv deploy-infrastructure first" in result.stderr
    outcome = json.loads((tmp_path / "r.json").read_text())["outcome"]
    assert outcome["status"] == "failed" and outcome["error"]["exit_code"] == 2


def test_dry_run_prints_the_calls_and_changes_nothing(inv, function, lam):
    result = clean(inv("deploy-lambda", "--dry-run"))
    assert result.returncode == 0, result.stderr
    for call in ("UpdateFunctionCode", "PublishVersion", "CreateAlias production"):
        assert call in result.stdout
    assert versions(lam) == {} and lam.list_aliases(FunctionName=FN)["Aliases"] == []


def test_without_yes_and_no_terminal_it_refuses(inv, function, lam):
    result = clean(inv("deploy-lambda", "--no-smoke"))
    assert result.returncode == 3 and "--yes" in result.stderr
    assert versions(lam) == {}


def test_a_held_deploy_lock_refuses_and_changes_nothing(clients, inv, function, lam):
    from tars_tasks.aws import dynamodb
    from tars_tasks.tables import create_all

    create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")
    dynamodb.acquire_lock(clients, "sre-poc-deploy-locks", "sre-poc/dev",
                          {"holder": "alice@box", "pid": 1, "commit": "x", "command": "deploy-ui",
                           "started": "now", "expires_at": 9e12, "token": "t"}, now=0.0)
    result = clean(inv("deploy-lambda", "--yes", "--no-smoke"))
    assert result.returncode == 3 and "alice@box" in result.stderr
    assert versions(lam) == {}


@pytest.mark.slow
def test_rollback_lists_versions_and_moves_the_alias(inv, function, lam, project):
    assert inv("deploy-lambda", "--yes", "--no-smoke").returncode == 0
    edit(project, 2)
    assert inv("deploy-lambda", "--yes", "--no-smoke").returncode == 0
    assert alias_target(lam) == "2"
    for bad in ("9", "$LATEST", "2"):
        refused = clean(inv("rollback-lambda", "--yes", "--to", bad))
        assert refused.returncode == 2, (bad, refused.stderr)
        assert alias_target(lam) == "2"
    result = clean(inv("rollback-lambda", "--yes"))
    assert result.returncode == 0, result.stderr
    assert "version 2 -> 1" in result.stdout and "production" in result.stdout
    assert alias_target(lam) == "1"
    forward = clean(inv("rollback-lambda", "--yes", "--to", "2"))
    assert forward.returncode == 0 and alias_target(lam) == "2"


def test_build_task_prints_size_count_and_sha(inv, project):
    (project / "lambda_src" / "secret.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    result = clean(inv("build"))
    assert result.returncode == 0, result.stderr
    record = json.loads((project / "dist" / "lambda.build.json").read_text())
    assert record["sha256_b64"] in result.stdout and f"{record['file_count']} files" in result.stdout
    assert "secret.pem looks like a secret" in result.stderr
    with zipfile.ZipFile(project / "dist" / "lambda.zip") as zf:
        assert "secret.pem" not in zf.namelist()
    warm = clean(inv("build"))
    assert warm.returncode == 0 and "reused" in warm.stdout


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_keep_versions_is_exit_2_before_any_change(inv, function, lam, value):
    result = clean(inv("deploy-lambda", "--yes", "--no-smoke", "--keep-versions", value))
    assert result.returncode == 2 and "keep_versions" in result.stderr.replace("TARS_KEEP_VERSIONS", "keep_versions")
    assert versions(lam) == {}
