"""deploy-lambda's steps against moto, with botocore event hooks to count calls and to answer
as AWS does where moto cannot (it runs no code, never conflicts, accepts any CodeSha256).

These use the `endpoint` fixture (moto's server on 127.0.0.1, wiped per test) rather than moto
in-process: botocore calls every before-send handler, so in-process moto would still apply a
call that our hook answered with an error (a refused publish would publish anyway).
"""
from __future__ import annotations

import io
import json
import os
import zipfile

import boto3
import pytest

from tars_tasks.aws import lambda_ as aws_lambda
from tars_tasks.artifacts import lambda_zip
from tars_tasks.errors import ConfigError, StepFailed
from tars_tasks.settings import Settings
from tars_tasks.steps import lambda_ as step

FN = "sre-poc-incident-handler"
MUTATING = {"UpdateFunctionCode", "PublishVersion", "UpdateAlias", "CreateAlias", "DeleteFunction",
            "Invoke", "PutObject", "CreateMultipartUpload", "PutItem", "DeleteItem", "UpdateItem"}


class Raw(io.BytesIO):
    """The raw HTTP body botocore reads from (what a real socket would give it)."""

    def stream(self, **kwargs):
        data = self.read()
        while data:
            yield data
            data = self.read()


def aws_reply(status: int, body: dict | bytes, headers: dict | None = None):
    from botocore.awsrequest import AWSResponse

    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return AWSResponse("https://lambda.us-east-1.amazonaws.com/", status,
                       {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})},
                       Raw(data))


def aws_error(status: int, code: str, message: str):
    return aws_reply(status, {"Type": "User", "message": message}, {"x-amzn-ErrorType": code})


def health_reply(version="2", status="ok", code=200):
    body = {"statusCode": code, "body": json.dumps({"status": status, "version": version, "commit": "abc1234"})}
    return aws_reply(200, body, {"X-Amz-Executed-Version": version})


def tiny_zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", text)
    return buf.getvalue()


@pytest.fixture
def settings(endpoint, project):
    role = boto3.client("iam").create_role(RoleName="tars-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda").create_function(FunctionName=FN, Runtime="python3.11", Role=role, Timeout=30,
                                           Handler="handler.lambda_handler", Code={"ZipFile": tiny_zip("old = 1")})
    s = Settings.load(None, root=project, environ={"TARS_WAITER_DELAY": "0.01", "TARS_MAX_ATTEMPTS": "3"})
    return s


@pytest.fixture
def calls(settings, monkeypatch):
    """Every AWS operation this process makes from now on (any run's clients), counted by a botocore hook."""
    from tests.support.recorder import every_client

    made: list[str] = []

    def hook(service, client):
        client.meta.events.register("before-call", lambda model, **kw: made.append(model.name))

    settings.clients.observe(hook)
    every_client(monkeypatch, hook)
    return made


def on(settings, event: str, handler):
    """Answer ``event`` calls from a before-send hook on every lambda client of the run (made or to come)."""
    settings.clients.observe(lambda service, client: service == "lambda" and client.meta.events.register(
        f"before-send.lambda.{event}", handler))


def lam():
    return boto3.client("lambda")


def alias_target(name="production"):
    return lam().get_alias(FunctionName=FN, Name=name)["FunctionVersion"]


def published():
    return [v["Version"] for v in lam().list_versions_by_function(FunctionName=FN)["Versions"] if v["Version"] != "$LATEST"]


def deploy(settings, smoke=False, sleep=None):
    artifact = lambda_zip.build(settings)
    plan = step.plan(settings, artifact, smoke=smoke, description="commit abc1234")
    return plan, step.execute(settings, plan, sleep=sleep or (lambda s: None))


def change_source(settings, n):
    (settings.root / "lambda_src" / "extra.py").write_text(f"N = {n}\n")


# ------------------------------------------------------------------ plan / no-op


def test_missing_function_is_a_config_error(endpoint, project):
    s = Settings.load(None, root=project, environ={})
    with pytest.raises(ConfigError) as err:
        step.plan(s, lambda_zip.build(s))
    assert err.value.message == f"function {FN} not found" and err.value.hint == "run inv deploy-infrastructure first"


def test_first_deploy_creates_version_and_alias(settings):
    plan, outcome = deploy(settings)
    assert plan.has_changes and plan.upload and plan.live_version is None
    assert outcome.status == "deployed" and outcome.after == "1" and alias_target() == "1"
    version = lam().get_function_configuration(FunctionName=FN, Qualifier="1")
    assert version["Description"] == "commit abc1234"
    assert version["CodeSha256"] == plan.sha256_b64


def test_unchanged_code_is_two_reads_at_most_and_no_write(settings, calls):
    deploy(settings)
    calls.clear()
    plan = step.plan(settings, lambda_zip.build(settings))
    outcome = step.execute(settings, plan)
    assert not plan.has_changes and outcome.status == "unchanged"
    assert len(calls) <= 2 and not MUTATING & set(calls), calls


def test_a_deploy_reports_its_progress_through_the_console_without_a_callback(settings, monkeypatch, capsys):
    """deploy --all calls execute(settings, plan) with no callback: its lines still reach the console,
    as the other components' do (deploy-lambda gets the same lines)."""
    from tars_tasks import console

    monkeypatch.setattr(console, "_consoles", {})   # print to this test's captured output
    deploy(settings)
    change_source(settings, 1)
    plan = step.plan(settings, lambda_zip.build(settings), smoke=False)
    step.execute(settings, plan, sleep=lambda s: None)
    out = capsys.readouterr()
    shown = out.out + out.err
    assert "published version 2" in shown and "alias production: 1 -> 2" in shown, shown


def test_second_deploy_updates_publishes_and_moves_alias(settings, calls):
    deploy(settings)
    change_source(settings, 1)
    calls.clear()
    plan, outcome = deploy(settings)
    assert (outcome.before, outcome.after) == ("1", "2") and alias_target() == "2"
    assert calls.index("UpdateFunctionCode") < calls.index("PublishVersion") < calls.index("UpdateAlias")
    assert outcome.rollback_command == "inv rollback-lambda --to 1"


def test_latest_already_holding_the_code_skips_the_upload(settings, calls):
    deploy(settings)
    change_source(settings, 2)
    artifact = lambda_zip.build(settings)
    lam().update_function_code(FunctionName=FN, ZipFile=artifact.path.read_bytes())   # uploaded, never published
    calls.clear()
    plan = step.plan(settings, artifact, smoke=False, description="commit x")
    outcome = step.execute(settings, plan)
    assert not plan.upload and "UpdateFunctionCode" not in calls and alias_target() == outcome.after == "2"


# ------------------------------------------------------------------ races AWS has and moto has not


def test_conflict_while_an_update_runs_is_retried_with_backoff(settings):
    """moto never raises ResourceConflictException; AWS does while an update is InProgress (409)."""
    deploy(settings)
    change_source(settings, 3)
    conflicts = {"left": 2}

    def busy(request, **kw):
        if conflicts["left"]:
            conflicts["left"] -= 1
            return aws_error(409, "ResourceConflictException",
                             f"The operation cannot be performed at this time. An update is in progress for resource: {FN}")
        return None

    on(settings, "UpdateFunctionCode", busy)
    slept = []
    _, outcome = deploy(settings, sleep=slept.append)
    assert slept == [0.01, 0.02] and outcome.after == "2" and alias_target() == "2"


def test_conflict_that_never_clears_fails_and_leaves_the_alias(settings):
    """AWS answers 409 for as long as the other update runs; give up after the attempts."""
    deploy(settings)
    change_source(settings, 4)
    on(settings, "UpdateFunctionCode", lambda request, **kw: aws_error(409, "ResourceConflictException", "update in progress"))
    with pytest.raises(StepFailed) as err:
        deploy(settings)
    assert "in progress" in err.value.message and alias_target() == "1" and published() == ["1"]


def test_publish_refused_for_other_code_leaves_the_alias(settings):
    """moto accepts a wrong CodeSha256; AWS refuses the publish when $LATEST holds other code."""
    deploy(settings)
    change_source(settings, 5)
    on(settings, "PublishVersion", lambda request, **kw: aws_error(
        400, "InvalidParameterValueException",
        "CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST (def). Please try again with the CodeSHA256 in $LATEST."))
    with pytest.raises(StepFailed) as err:
        deploy(settings)
    assert "not the code just uploaded" in err.value.message and alias_target() == "1" and published() == ["1"]


def test_revision_mismatch_is_refused(settings):
    """moto ignores RevisionId; AWS answers 412 PreconditionFailedException when it moved on."""
    deploy(settings)
    change_source(settings, 6)
    sent = []

    def stale(request, **kw):
        sent.append(json.loads(request.body)["RevisionId"] if request.body and b"RevisionId" in request.body else None)
        return aws_error(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.")

    on(settings, "UpdateFunctionCode", stale)
    with pytest.raises(StepFailed) as err:
        deploy(settings)
    assert "RevisionId" in err.value.message and alias_target() == "1"


# ------------------------------------------------------------------ the smoke test


def test_good_health_reply_moves_the_alias(settings, monkeypatch):
    """moto cannot run the handler: answer the Invoke as Lambda would for a healthy version."""
    deploy(settings)
    change_source(settings, 7)
    seen, made = [], []
    settings.clients.observe(lambda service, client: made.append(client))
    on(settings, "Invoke", lambda request, **kw: seen.append((request.url, json.loads(request.body))) or health_reply("2"))
    _, outcome = deploy(settings, smoke=True)
    assert alias_target() == "2" and outcome.data["smoke"]["reply"]["status"] == "ok"
    assert seen[0][1] == {"action": "health"} and "Qualifier=2" in seen[0][0]
    invoke_config = [(c.meta.config.read_timeout, c.meta.config.retries) for c in made if c.meta.config.read_timeout != 30]
    assert invoke_config == [(120.0, {"mode": "standard", "total_max_attempts": 1})]   # > Timeout 30, never retried


def test_function_error_leaves_the_alias_where_it_was(settings):
    """Lambda reports a crash as 200 with X-Amz-Function-Error: Unhandled."""
    deploy(settings)
    change_source(settings, 8)
    on(settings, "Invoke", lambda request, **kw: aws_reply(200, {"errorMessage": "boom", "errorType": "RuntimeError"},
                                                  {"X-Amz-Function-Error": "Unhandled"}))
    with pytest.raises(StepFailed) as err:
        deploy(settings, smoke=True)
    assert "FunctionError Unhandled" in err.value.message and "alias did not move" in err.value.hint
    assert alias_target() == "1" and published() == ["1", "2"]


@pytest.mark.parametrize("reply", [health_reply(status="degraded"), health_reply(code=500),
                                   aws_reply(200, b"not json")])
def test_bad_health_reply_leaves_the_alias(settings, reply):
    deploy(settings)
    change_source(settings, 9)
    on(settings, "Invoke", lambda request, **kw: reply)
    with pytest.raises(StepFailed):
        deploy(settings, smoke=True)
    assert alias_target() == "1"


def test_smoke_timeout_reports_deployed_and_is_never_retried(settings):
    """A read timeout on Invoke: botocore would retry it (running the function twice) unless
    total_max_attempts is 1; the version is checked (State, LastModified) and reported."""
    from botocore.exceptions import ReadTimeoutError

    deploy(settings)
    change_source(settings, 10)
    attempts = []

    def hang(request, **kw):
        attempts.append(1)
        raise ReadTimeoutError(endpoint_url=request.url)

    on(settings, "Invoke", hang)
    _, outcome = deploy(settings, smoke=True)
    assert attempts == [1]
    assert outcome.detail == "deployed, smoke test timed out" and outcome.data["smoke"]["state"] == "Active"
    assert outcome.data["smoke"]["last_modified"] and alias_target() == "2"


def test_local_mode_invokes_through_the_local_runtime(settings, monkeypatch):
    """tars_tasks.local.runtime (another module) is monkeypatched: local mode must use it."""
    import sys
    import types

    try:
        from tars_tasks.local import runtime
    except ImportError:
        runtime = types.ModuleType("tars_tasks.local.runtime")
        monkeypatch.setitem(sys.modules, "tars_tasks.local.runtime", runtime)
    got = []

    def fake_invoke(s, function_name, qualifier, payload, *, timeout):
        got.append((function_name, qualifier, payload, timeout))
        body = {"statusCode": 200, "body": json.dumps({"status": "ok", "version": qualifier, "commit": "x"})}
        return {"StatusCode": 200, "FunctionError": None, "Payload": json.dumps(body).encode()}

    monkeypatch.setattr(runtime, "invoke", fake_invoke, raising=False)
    local = settings.replace(target="local", endpoint_url=os.environ["AWS_ENDPOINT_URL"])   # the test's moto server
    on(local, "Invoke", lambda request, **kw: pytest.fail("local mode must not call Lambda's Invoke"))
    artifact = lambda_zip.build(local)
    outcome = step.execute(local, step.plan(local, artifact, description="commit x"))
    assert got == [(FN, "1", {"action": "health"}, 120.0)] and outcome.after == "1" and alias_target() == "1"


# ------------------------------------------------------------------ pruning and rollback


def make_versions(n: int) -> None:
    for i in range(n):
        lam().update_function_code(FunctionName=FN, ZipFile=tiny_zip(f"v = {i}"))
        lam().publish_version(FunctionName=FN, Description=f"commit c{i}")


def test_prune_keeps_the_newest_and_every_aliased_version(settings):
    make_versions(5)
    lam().create_alias(FunctionName=FN, Name="production", FunctionVersion="5")
    lam().create_alias(FunctionName=FN, Name="stable", FunctionVersion="1")
    _, outcome = deploy(settings)
    assert outcome.after == "6" and alias_target() == "6"
    assert published() == ["1", "4", "5", "6"] and outcome.data["pruned"] == ["2", "3"]


def test_rollback_defaults_to_the_previous_version_and_refuses_bad_targets(settings):
    from tars_tasks.errors import UsageError

    make_versions(3)
    lam().create_alias(FunctionName=FN, Name="production", FunctionVersion="3")
    rows, live = step.history(settings)
    assert live == "3" and [r["version"] for r in rows] == ["3", "2", "1"] and rows[0]["commit"] == "c2"
    for bad, words in (("9", "does not exist"), ("$LATEST", "$LATEST"), ("3", "already points")):
        with pytest.raises(UsageError) as err:
            step.rollback(settings, bad)
        assert words in err.value.message
    assert alias_target() == "3"
    planned = step.rollback(settings, dry_run=True)
    assert (planned.status, planned.after, alias_target()) == ("planned", "2", "3")
    done = step.rollback(settings)
    assert (done.before, done.after, alias_target()) == ("3", "2", "2")
    assert step.rollback(settings, "3").after == "3" and alias_target() == "3"


def test_current_reports_the_live_version(settings):
    before = step.current(settings)
    assert (before.state, before.rollback_target, before.record["version"]) == ("not deployed", None, None)
    deploy(settings)
    live = step.current(settings)
    assert (live.state, live.version, live.rollback_target) == ("live", "1", "1")
    assert live.record["version"] == "1" and dict(live.details)["commit"] == "abc1234"


# ------------------------------------------------------------------ the task, in-process (to count calls)


@pytest.fixture
def task_env(settings, monkeypatch):
    monkeypatch.setenv("TARS_ROOT", str(settings.root))
    return settings


def run_task(name, **kwargs):
    from invoke import Context

    from tars_tasks.tasks import lambda_ as tasks

    return getattr(tasks, name)(Context(), **kwargs)


def test_task_no_op_makes_two_reads_and_nothing_else(task_env, calls, tmp_path):
    deploy(task_env)
    calls.clear()
    run_task("deploy_lambda", yes=True, json=str(tmp_path / "r.json"))
    assert len(calls) <= 2 and not MUTATING & set(calls), calls
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outcome"]["status"] == "unchanged" and report["plan"]["has_changes"] is False


def test_task_dry_run_makes_no_mutating_call(task_env, calls, tmp_path):
    deploy(task_env)
    change_source(task_env, 11)
    calls.clear()
    run_task("deploy_lambda", dry_run=True, json=str(tmp_path / "r.json"))
    assert calls and not MUTATING & set(calls), calls
    assert alias_target() == "1" and published() == ["1"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["plan"]["has_changes"] is True and any("PublishVersion" in line for line in report["plan"]["summary"])


def test_task_rollback_dry_run_changes_nothing(task_env, calls):
    make_versions(2)
    lam().create_alias(FunctionName=FN, Name="production", FunctionVersion="2")
    calls.clear()
    run_task("rollback_lambda", dry_run=True)
    assert not MUTATING & set(calls) and alias_target() == "2"


# ------------------------------------------------------------------ over the direct-upload limit


@pytest.mark.slow
def test_zip_over_50_mb_goes_through_the_artifact_bucket(settings, calls):
    import os

    (settings.root / "lambda_src" / "model.bin").write_bytes(os.urandom(51 * 1024 * 1024))   # incompressible
    artifact = lambda_zip.build(settings)
    assert artifact.needs_s3 and artifact.size > 50 * 1024 * 1024
    calls.clear()
    with pytest.raises(ConfigError) as err:
        step.plan(settings, artifact)
    assert "artifact_bucket" in err.value.message and "50 MB" in err.value.hint
    assert calls == []   # refused before any AWS call
    boto3.client("s3").create_bucket(Bucket="tars-artifacts")
    with_bucket = settings.replace(artifact_bucket="tars-artifacts")
    plan = step.plan(with_bucket, artifact, smoke=False, description="commit big")
    outcome = step.execute(with_bucket, plan)
    key = plan.s3_location[1]
    assert boto3.client("s3").head_object(Bucket="tars-artifacts", Key=key)["ContentLength"] == artifact.size
    assert lam().get_function_configuration(FunctionName=FN, Qualifier="1")["CodeSha256"] == artifact.sha256_b64
    assert outcome.after == "1" and alias_target() == "1"


def test_judge_health_reasons_are_one_line():
    ok, reason, _ = step.judge_health({"StatusCode": 200, "FunctionError": "Unhandled",
                                       "Payload": b'{"errorMessage": "boom\\n  at line 3",\n "errorType": "X"}'})
    assert not ok and "\n" not in reason and "boom" in reason
    assert not step.judge_health({"StatusCode": 200, "FunctionError": None, "Payload": b"[]"})[0]
    good = {"statusCode": 200, "body": json.dumps({"status": "ok", "version": "3", "commit": "c"})}
    assert step.judge_health({"StatusCode": 200, "FunctionError": None, "Payload": json.dumps(good).encode()}) == \
        (True, "", {"status": "ok", "version": "3", "commit": "c"})


def test_local_mode_keeps_every_version_so_the_emulator_never_reuses_a_number(settings, monkeypatch):
    """moto 5.2.5 numbers a new version len(versions)+1: after a pruned version it hands out a live
    number again (the alias then stuck on the older code, the local smoke test failing). Local mode
    keeps every version; each deploy gets a new number and the alias follows it."""
    import sys
    import types

    runtime = sys.modules.get("tars_tasks.local.runtime")
    if runtime is None:
        runtime = types.ModuleType("tars_tasks.local.runtime")
        monkeypatch.setitem(sys.modules, "tars_tasks.local.runtime", runtime)

    def fake_invoke(s, function_name, qualifier, payload, *, timeout):
        body = {"statusCode": 200, "body": json.dumps({"status": "ok", "version": qualifier, "commit": "x"})}
        return {"StatusCode": 200, "FunctionError": None, "Payload": json.dumps(body).encode()}

    monkeypatch.setattr(runtime, "invoke", fake_invoke, raising=False)
    local = settings.replace(target="local", keep_versions=2, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    afters = []
    for n in range(6):
        change_source(local, n)
        outcome = step.execute(local, step.plan(local, lambda_zip.build(local), description="commit x"))
        afters.append(outcome.after)
        assert outcome.data["pruned"] == []
    assert afters == ["1", "2", "3", "4", "5", "6"] and alias_target() == "6"
    assert published() == ["1", "2", "3", "4", "5", "6"]


# ------------------------------------------------------------------ round trips (issue 16.4)


@pytest.fixture
def sent(settings, monkeypatch):
    """Every AWS call this process makes from now on, with its parameters: [(operation, params)]."""
    from tests.support.recorder import every_client

    made: list[tuple[str, str]] = []

    def hook(service, client):
        client.meta.events.register("before-parameter-build", lambda model, params, **kw: made.append(
            (model.name, json.dumps(params, sort_keys=True, default=lambda v: f"<{len(v)} bytes>"))))
    settings.clients.observe(hook)
    every_client(monkeypatch, hook)
    return made


def lock_table(settings):
    boto3.client("dynamodb").create_table(
        TableName=settings.lock_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}])


def test_task_changed_deploy_makes_no_call_twice_and_a_no_op_one(task_env, sent, monkeypatch):
    """The changed deploy under the lock: the alias's code read while the zip builds, $LATEST once, the
    lock's write with one ListAliases (reused by the prune), no read after the wait, versions listed
    once (AWS target)."""
    lock_table(task_env)
    make_versions(4)
    lam().create_alias(FunctionName=FN, Name="production", FunctionVersion="4")
    monkeypatch.setenv("TARS_KEEP_VERSIONS", "2")
    change_source(task_env, 21)
    sent.clear()
    run_task("deploy_lambda", yes=True, no_smoke=True)
    names = [name for name, _ in sent]
    assert alias_target() == "5" and published() == ["4", "5"], (published(), names)
    assert len(set(sent)) == len(sent), sorted(sent)                       # no call twice
    assert names.count("GetFunctionConfiguration") == 2 and names.count("ListAliases") == 1, names
    assert names.count("ListVersionsByFunction") == 1 and names.count("DeleteFunction") == 3, names
    assert names.index("ListAliases") < names.index("UpdateFunctionCode")   # read with the lock, reused by the prune
    assert names.index("PutItem") < names.index("UpdateFunctionCode") < names.index("PublishVersion") \
        < names.index("UpdateAlias") < names.index("DeleteItem")           # the lock held across the deploy
    sent.clear()
    run_task("deploy_lambda", yes=True)
    assert [name for name, _ in sent] == ["GetFunctionConfiguration"]      # the no-op: one read


def test_alias_moved_after_the_plan_is_planned_again_under_the_lock(task_env):
    deploy(task_env)                                  # alias on 1
    change_source(task_env, 22)
    artifact = lambda_zip.build(task_env)
    first = step.plan(task_env, artifact, smoke=False, description="commit x")
    make_versions(1)                                  # someone else: version 2, alias moved to it
    lam().update_alias(FunctionName=FN, Name="production", FunctionVersion="2")
    again = step.confirm(task_env, first, lambda: step.plan(task_env, artifact, smoke=False, description="commit x"))
    assert again != first and again.live_version == "2"
    same = step.confirm(task_env, again, lambda: pytest.fail("the alias did not move: no second plan"))
    assert same == again and same.alias_revision == lam().get_alias(FunctionName=FN, Name="production")["RevisionId"]
    assert [a["Name"] for a in same.aliases] == ["production"]


def test_alias_moved_after_the_check_fails_the_update_alias_instead_of_overwriting(settings):
    """moto ignores UpdateAlias's RevisionId (and never changes an alias's); AWS answers 412 when the
    alias moved since it was read: answered here as AWS would, the alias having moved after confirm."""
    deploy(settings)
    change_source(settings, 23)
    artifact = lambda_zip.build(settings)
    first = step.plan(settings, artifact, smoke=False, description="commit x")
    checked = step.confirm(settings, first, lambda: pytest.fail("unexpected re-plan"))
    assert checked.alias_revision
    moved = []

    def guard(request, **kw):
        sent_revision = json.loads(request.body).get("RevisionId")
        if sent_revision is not None:   # the alias moved on since: any revision read before is stale
            moved.append(sent_revision)
            return aws_error(412, "PreconditionFailedException", "The Revision Id provided does not match.")
        return None

    on(settings, "UpdateAlias", guard)
    with pytest.raises(StepFailed) as err:
        step.execute(settings, checked, sleep=lambda s: None)
    assert moved == [checked.alias_revision] and "alias changed since it was read" in err.value.message
    assert alias_target() == "1"
