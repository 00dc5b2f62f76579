"""Preflight items with real git repositories, an injected clock and seeded incidents."""
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
import pytest

from tars_tasks.settings import Settings
from tars_tasks.steps import preflight as pf
from tars_tasks.tables import create_all
from tests.fakes.components import registry


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=str(cwd), check=True, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path):
    """A clone of a local bare 'origin' whose main holds one commit."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--bare", "-b", "main", str(origin))
    work = tmp_path / "work"
    git(tmp_path, "init", "-b", "main", str(work))
    for k, v in (("user.email", "t@example.com"), ("user.name", "T")):
        git(work, "config", k, v)
    (work / "app.py").write_text("print('hi')\n")
    git(work, "add", ".")
    git(work, "commit", "-m", "first")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    return work


def settings_for(root, **env):
    return Settings.load(None, root=root, environ={k.upper(): v for k, v in env.items()})


def test_reviewed_passes_for_clean_pushed_head(repo):
    check = pf.reviewed(settings_for(repo))
    assert check.status == "pass", check.reason


def test_reviewed_fails_on_dirty_tree(repo):
    (repo / "app.py").write_text("print('changed')\n")
    check = pf.reviewed(settings_for(repo))
    assert check.status == "fail" and "uncommitted" in check.reason


def test_reviewed_fails_when_head_not_pushed(repo):
    (repo / "new.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-m", "unreviewed")
    check = pf.reviewed(settings_for(repo))
    assert check.status == "fail" and "not in origin/main" in check.reason
    git(repo, "push", "-q", "origin", "main")
    assert pf.reviewed(settings_for(repo)).status == "pass"


def test_reviewed_fails_without_origin_or_repo(tmp_path, repo):
    git(repo, "remote", "remove", "origin")
    assert pf.reviewed(settings_for(repo)).status == "fail"
    plain = tmp_path / "plain"
    plain.mkdir()
    check = pf.reviewed(settings_for(plain))
    assert check.status == "fail" and "not a git repository" in check.reason


def at(text, tz="Europe/Paris"):
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


@pytest.mark.parametrize("when,expected", [
    ("2026-11-27 08:59", "pass"), ("2026-11-27 09:00", "fail"), ("2026-11-27 10:59", "fail"),
    ("2026-11-27 11:00", "pass"), ("2026-11-27 13:30", "fail"), ("2026-11-27 15:00", "pass"),
])
def test_window_rule_in_configured_timezone(tmp_path, when, expected):
    s = settings_for(tmp_path, tars_timezone="Europe/Paris")
    check = pf.window(s, clock=lambda: at(when))
    assert check.status == expected, check.reason


def test_window_is_configurable(tmp_path):
    s = settings_for(tmp_path, tars_timezone="UTC", tars_blocked_windows="22:00-23:30")
    assert pf.window(s, clock=lambda: at("2026-11-27 10:00", "UTC")).status == "pass"
    assert pf.window(s, clock=lambda: at("2026-11-27 22:15", "UTC")).status == "fail"


def test_tests_item_runs_the_configured_command(tmp_path):
    assert pf.tests_pass(settings_for(tmp_path, tars_test_command="true")).status == "pass"
    failed = pf.tests_pass(settings_for(tmp_path, tars_test_command="sh -c 'echo 3 failed; exit 1'"))
    assert failed.status == "fail" and "3 failed" in failed.details[-1]
    assert pf.tests_pass(settings_for(tmp_path, tars_test_command="no-such-program-xyz")).status == "fail"
    assert pf.tests_pass(settings_for(tmp_path), skip=True).status == "skip"


def put_incident(ddb, iid, severity, status):
    ddb.put_item(TableName="sre-poc-incidents", Item={
        "incident_id": {"S": iid}, "severity": {"S": severity}, "status": {"S": status},
        "created_at": {"S": "2026-11-27T10:00:00Z"}, "title": {"S": f"incident {iid}"}})


@pytest.fixture
def ddb(aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_all(client, "sre-poc")
    return client


def test_open_p2_fails_resolved_p1_passes(ddb, tmp_path):
    s = settings_for(tmp_path)
    put_incident(ddb, "i-1", "P1", "resolved")
    put_incident(ddb, "i-2", "P3", "open")
    assert pf.no_incidents(s).status == "pass"
    put_incident(ddb, "i-3", "P2", "investigating")
    check = pf.no_incidents(s)
    assert check.status == "fail" and check.details == ["i-3 P2 investigating: incident i-3"]


def test_missing_incidents_table_is_a_skip(aws, tmp_path):
    assert pf.no_incidents(settings_for(tmp_path)).status == "skip"


def test_rollback_plan_records_live_state_once(ddb, tmp_path):
    from tars_tasks.steps import release
    for bucket in ("tars-ui", "tars-artifacts"):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    s = settings_for(tmp_path, tars_ui_bucket="tars-ui", tars_artifact_bucket="tars-artifacts")
    reg = registry()
    first = pf.rollback_plan(s, registry=reg, clock=lambda: 1000.0)
    assert first.status == "pass"
    rid = first.data["release_id"]
    assert release.read(s, rid)["components"]["lambda"]["version"] == "11"
    # unchanged live state: the same record is reused, not duplicated
    again = pf.rollback_plan(s, registry=reg, clock=lambda: 2000.0)
    assert again.data["release_id"] == rid and release.list_ids(s) == [rid]
    assert f"inv rollback --to {rid} --env dev" in again.reason


def test_rollback_plan_dry_run_writes_nothing_and_nothing_live_skips(ddb, tmp_path):
    from tars_tasks.steps import release
    for bucket in ("tars-ui", "tars-artifacts"):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    s = settings_for(tmp_path, tars_ui_bucket="tars-ui", tars_artifact_bucket="tars-artifacts")
    assert pf.rollback_plan(s, registry=registry(), dry_run=True).status == "pass"
    assert release.list_ids(s) == []
    assert pf.rollback_plan(s, registry={}).status == "skip"


class FakeGitHub:
    """A local stand-in for the two GitHub REST endpoints the approval check reads."""

    def __init__(self, pulls, reviews):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.seen = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.seen.append((self.path, self.headers.get("Authorization")))
                if self.path.endswith("/pulls"):
                    body = pulls
                elif "/reviews" in self.path:
                    body = reviews.get(int(self.path.split("/")[-2]), [])
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


import json  # noqa: E402


@pytest.mark.parametrize("pulls,reviews,status,text", [
    ([{"number": 7}], {7: [{"state": "APPROVED", "user": {"login": "ann"}}]}, "pass", "#7 approved"),
    ([{"number": 7}], {7: [{"state": "COMMENTED", "user": {"login": "ann"}}]}, "fail", "#7 of acme/tars has no approval"),
    ([{"number": 7}], {7: [{"state": "APPROVED", "user": {"login": "ann"}},
                           {"state": "CHANGES_REQUESTED", "user": {"login": "bob"}}]}, "fail", "no approval"),
    ([], {}, "fail", "no pull request"),
])
def test_reviewed_checks_pull_request_approval_with_a_token(repo, pulls, reviews, status, text):
    gh = FakeGitHub(pulls, reviews)
    try:
        # fetch still uses the local bare repo; the GitHub name comes from the push URL
        git(repo, "remote", "set-url", "--push", "origin", "git@github.com:acme/tars.git")
        s = settings_for(repo, github_token="ghp_secret_token_123", tars_github_api_url=gh.url)
        check = pf.reviewed(s)
        assert check.status == status and text in check.reason, check.reason
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
        assert gh.seen[0] == (f"/repos/acme/tars/commits/{head}/pulls", "Bearer ghp_secret_token_123")
    finally:
        gh.server.shutdown()


def test_reviewed_with_token_but_no_github_remote_fails(repo):
    s = settings_for(repo, github_token="ghp_secret_token_123", tars_github_api_url="http://127.0.0.1:9")
    check = pf.reviewed(s)
    assert check.status == "fail" and "not a GitHub repository" in check.reason
