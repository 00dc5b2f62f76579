"""`inv deploy-ui / ui-versions / rollback-ui` run as a user runs them, against moto's server."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.support.npm_project import write_project
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, write_dist


@pytest.fixture
def ui(endpoint, project):
    bucket, dist_id = make_site()
    env = {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project), "TARS_UI_BUCKET": bucket,
           "TARS_DISTRIBUTION_ID": dist_id, "TARS_ARTIFACT_BUCKET": RECORDS_BUCKET}
    return type("UI", (), {"bucket": bucket, "dist_id": dist_id, "env": env, "root": project,
                           "dist": project / "ui" / "dist", "s3": boto3.client("s3")})


def _keys(ui):
    return sorted(o["Key"] for o in ui.s3.list_objects_v2(Bucket=ui.bucket).get("Contents", []))


def _one_error(result, code, text):
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and text in errors[0], result.stderr
    assert "hint:" in result.stderr


@pytest.mark.slow
def test_deploy_then_no_changes_then_rollback(ui, run_inv, tmp_path):
    v1 = write_dist(ui.dist, "v1")
    report = tmp_path / "r1.json"
    first = run_inv("deploy-ui", "--skip-build", "--yes", "--json", str(report), env=ui.env)
    assert first.returncode == 0, first.stderr
    assert "site: https://" in first.stdout and ".cloudfront.net" in first.stdout
    data = json.loads(report.read_text())
    assert data["outcome"]["status"] == "deployed" and data["plan"]["counts"]["upload"] == 12
    keys = _keys(ui)
    assert "index.html" in keys and v1["js"] in keys and not any("releases/" in k for k in keys)
    record = f"releases/dev/ui/{data['outcome']['after']}.json"   # in the private bucket, not the site's
    assert ui.s3.head_object(Bucket=RECORDS_BUCKET, Key=record)["ContentType"] == "application/json"
    for kind, ctype in {"js": "text/javascript", "css": "text/css", "wasm": "application/wasm",
                        "webmanifest": "application/manifest+json", "woff2": "font/woff2",
                        "svg": "image/svg+xml", "json": "application/json", "html": "text/html"}.items():
        assert ui.s3.head_object(Bucket=ui.bucket, Key=v1[kind])["ContentType"].startswith(ctype), kind
    v1_index = ui.s3.get_object(Bucket=ui.bucket, Key="index.html")["Body"].read()

    again = run_inv("deploy-ui", "--skip-build", "--yes", env=ui.env)
    assert again.returncode == 0 and "no changes" in again.stdout
    assert _keys(ui) == keys

    write_dist(ui.dist, "v2")
    assert run_inv("deploy-ui", "--skip-build", "--yes", env=ui.env).returncode == 0
    assert ui.s3.get_object(Bucket=ui.bucket, Key="index.html")["Body"].read() != v1_index

    listing = tmp_path / "releases.json"
    listed = run_inv("ui-versions", "--json", str(listing), env=ui.env)
    assert listed.returncode == 0 and data["outcome"]["after"] in listed.stdout
    report = json.loads(listing.read_text())
    assert report["task"] == "ui-versions"
    releases = report["releases"]   # the records keep their keys (release_id, as stored)
    assert [r["live"] for r in releases] == [True, False]  # newest first: v2 live
    assert releases[1]["release_id"] == data["outcome"]["after"] and releases[1]["files"] == 12

    old_name = tmp_path / "releases-ui.json"   # the old task name is an alias: the same listing
    assert run_inv("releases-ui", "--json", str(old_name), env=ui.env).returncode == 0
    assert json.loads(old_name.read_text())["releases"] == releases

    v2_index = ui.s3.get_object(Bucket=ui.bucket, Key="index.html")["Body"].read()
    preview = run_inv("rollback-ui", "--dry-run", env=ui.env)
    assert preview.returncode == 0 and "restore 1 files" in preview.stdout
    assert ui.s3.get_object(Bucket=ui.bucket, Key="index.html")["Body"].read() == v2_index

    back = run_inv("rollback-ui", "--yes", env=ui.env)
    assert back.returncode == 0, back.stderr
    assert ui.s3.get_object(Bucket=ui.bucket, Key="index.html")["Body"].read() == v1_index


def test_dry_run_changes_nothing(ui, run_inv):
    write_dist(ui.dist)
    result = run_inv("deploy-ui", "--skip-build", "--dry-run", env=ui.env)
    assert result.returncode == 0 and "12 to upload" in result.stdout
    assert _keys(ui) == []


def test_no_terminal_and_no_yes_is_refused(ui, run_inv):
    write_dist(ui.dist)
    _one_error(run_inv("deploy-ui", "--skip-build", env=ui.env), 3, "needs a confirmation")
    assert _keys(ui) == []


@pytest.mark.slow
def test_bad_input_each_one_line_and_its_exit_code(ui, run_inv, tmp_path):
    write_dist(ui.dist)
    no_bucket = dict(ui.env, TARS_UI_BUCKET="")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", env=no_bucket), 2, "missing setting: ui_bucket")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", env=dict(ui.env, TARS_UI_BUCKET="not-there")),
               2, "S3 bucket not-there does not exist")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", env=dict(ui.env, TARS_DISTRIBUTION_ID="EWRONG123")),
               2, "distribution EWRONG123 does not exist")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", "--workers", "zero", env=ui.env), 2, "--workers")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", "--workers", "65", env=ui.env), 2,
               "--workers must be a whole number between 1 and 64")   # more than the S3 client's connection pool
    boto3.client("s3").create_bucket(Bucket="unversioned-ui")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", env=dict(ui.env, TARS_UI_BUCKET="unversioned-ui")),
               3, "versioning off")
    _one_error(run_inv("rollback-ui", "--yes", "--to", "nope", env=ui.env), 2, "unknown UI version nope")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", "--keep-versions", "1", "--keep-releases", "2", env=ui.env),
               2, "--keep-versions 1 and --keep-releases 2 disagree")
    _one_error(run_inv("deploy-ui", "--skip-build", "--yes", "--keep-releases", "0", env=ui.env), 2,
               "--keep-releases must be a whole number at least 1")
    assert _keys(ui) == []


@pytest.mark.slow
def test_build_failures_are_one_line(ui, run_inv, tmp_path):
    api = {"VITE_API_ENDPOINT": "https://api.example.test"}
    write_project(ui.root / "ui", build="node -e \"console.error('boom in App.tsx');process.exit(2)\"")
    failed = run_inv("deploy-ui", "--yes", env=dict(ui.env, **api))
    _one_error(failed, 1, "npm run build failed (exit 2)")
    assert "boom in App.tsx" in failed.stderr
    empty = tmp_path / "empty-path"
    empty.mkdir()
    _one_error(run_inv("deploy-ui", "--yes", env=dict(ui.env, PATH=str(empty), **api)), 2, "npm is not installed")
    _one_error(run_inv("deploy-ui", "--yes", env=ui.env), 2, "missing setting: vite_api_endpoint")
    assert _keys(ui) == []


def test_build_and_deploy_with_npm(ui, run_inv):
    write_project(ui.root / "ui")
    result = run_inv("deploy-ui", "--yes", "--api-endpoint", "https://api.example.test", env=ui.env)
    assert result.returncode == 0, result.stderr
    body = ui.s3.get_object(Bucket=ui.bucket, Key="index.html")["Body"].read().decode()
    assert body == "<!doctype html><p>api=https://api.example.test</p>"
