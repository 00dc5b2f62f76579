"""The bad-input catalogue: one table of wrong inputs across the tasks, each run as a user runs it
(`inv` in a subprocess) against moto's server holding a whole environment (a fork of the session's
once-applied infrastructure/, its Terraform outputs saved as env dev's). Each case must end with exactly one `error:` line and a `hint:` line, no
traceback, the documented exit code (2 usage/config, 3 refused, 1 a step that legitimately fails),
and the emulator exactly as it was (Lambda versions/aliases, every S3 object version, every table's
items, ECS revisions and service, log groups). The handler's bad requests are checked in-process.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import boto3
import pytest

from tests.conftest import ROOT
from tests.support.infra import FAKE_TERRAFORM, make_project
from tests.support.tf_applied import restore

REGION = "us-east-1"
FN = "sre-poc-incident-handler"


# ---------------------------------------------------------------- the world
@dataclass
class World:
    root: Path          # a project whose env dev is the applied infrastructure (outputs.json points at every resource)
    bare: Path          # a project with no outputs.json and no .env
    infra: Path         # a git project holding infrastructure/ (for the fake terraform)
    tasks: Path         # a tasks.py of its own (Invoke reads the invoke.yaml next to it): TASKS="own"
    endpoint: str
    tmp: Path

    def client(self, name: str):
        return boto3.client(name, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def _copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in ("lambda_src", "mcp_server"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "invoke.yaml", dest / "invoke.yaml")
    cache = ROOT / ".tars" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (dest / ".tars").mkdir()
    (dest / ".tars" / "cache").symlink_to(cache)
    return dest


@pytest.fixture(scope="module")
def world(applied_template, tmp_path_factory):
    from tars_tasks.tools.terraform import save_outputs

    tmp = tmp_path_factory.mktemp("badinput")
    fork = restore(applied_template, tmp / "terraform")
    root = _copy_project(tmp / "project")
    bare = _copy_project(tmp / "bare")
    (tmp / "infra").mkdir()
    infra = make_project(tmp / "infra")
    save_outputs(root / ".tars" / "dev", applied_template.outputs)
    tasks = tmp / "tasks"
    tasks.mkdir()
    shutil.copy(ROOT / "tasks.py", tasks / "tasks.py")
    shutil.copy(ROOT / "invoke.yaml", tasks / "invoke.yaml")
    w = World(root, bare, infra, tasks, fork.endpoint, tmp)
    # a recorded UI version, so the cases naming one have something to miss
    w.client("s3").put_object(Bucket=_ui_bucket(w), Key="index.html", Body=b"<html>v1</html>")
    yield w
    fork.child.stop()


def _ui_bucket(w: World) -> str:
    return json.loads((w.root / ".tars" / "dev" / "outputs.json").read_text())["ui_bucket"]["value"]


def snapshot(w: World) -> dict:
    """Everything a task could change in the emulator."""
    lam, s3, ddb, ecs, logs = (w.client(n) for n in ("lambda", "s3", "dynamodb", "ecs", "logs"))
    state: dict = {}
    for fn in lam.list_functions()["Functions"]:
        name = fn["FunctionName"]
        state[f"lambda:{name}"] = (
            sorted((v["Version"], v["CodeSha256"]) for v in lam.list_versions_by_function(FunctionName=name)["Versions"]),
            sorted((a["Name"], a["FunctionVersion"]) for a in lam.list_aliases(FunctionName=name)["Aliases"]))
    for bucket in s3.list_buckets()["Buckets"]:
        b = bucket["Name"]
        listing = s3.list_object_versions(Bucket=b)
        state[f"s3:{b}"] = (sorted((v["Key"], v["VersionId"], v["ETag"]) for v in listing.get("Versions", [])),
                            sorted((d["Key"], d["VersionId"]) for d in listing.get("DeleteMarkers", [])),
                            s3.get_bucket_versioning(Bucket=b).get("Status"))
    for table in ddb.list_tables()["TableNames"]:
        items = ddb.scan(TableName=table)["Items"]
        state[f"dynamodb:{table}"] = sorted(json.dumps(i, sort_keys=True) for i in items)
    state["ecs:families"] = sorted(ecs.list_task_definitions()["taskDefinitionArns"])
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        if arns:
            state[f"ecs:{cluster}"] = sorted((s["serviceName"], s["taskDefinition"], s["desiredCount"])
                                             for s in ecs.describe_services(cluster=cluster, services=arns)["services"])
    state["logs"] = sorted(g["logGroupName"] for g in logs.describe_log_groups()["logGroups"])
    state["ssm"] = sorted((p["Name"], p["Version"]) for p in w.client("ssm").describe_parameters()["Parameters"])
    return state


# ---------------------------------------------------------------- helpers used by cases
class ExpiredTokenStub:
    """Answers every request as AWS does for an expired session token (moto cannot)."""

    BODY = json.dumps({"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"})

    def __enter__(self) -> str:
        body = self.BODY.encode()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(403)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-ErrorType", "ExpiredTokenException")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Case:
    id: str
    args: tuple[str, ...]
    code: int
    says: str                                   # a fragment of the error line
    env: dict = field(default_factory=dict)     # {"ROOT": "bare"|"infra"} picks the project
    setup: Callable[[World], Callable[[], None] | None] | None = None
    unset: tuple[str, ...] = ()                 # environment keys removed for this run
    records: bool = False                       # preflight's "rollback plan" may record what is live


def write(rel: str, text: str | bytes, base: str = "root"):
    def setup(w: World):
        path = getattr(w, base) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return lambda: path.unlink()
    return setup


def sparse(rel: str, size: int):
    """A file that stats as ``size`` bytes without writing them (the unzipped-size limit)."""
    def setup(w: World):
        path = w.root / rel
        with path.open("wb") as fh:
            fh.truncate(size)
        return lambda: path.unlink()
    return setup


def incompressible(rel: str, size: int):
    """Random bytes: the zip stays over the 50 MB direct-upload limit."""
    def setup(w: World):
        path = w.bare / rel
        with path.open("wb") as fh:
            for _ in range(size // (1 << 20) + 1):
                fh.write(os.urandom(1 << 20))
        return lambda: path.unlink()
    return setup


def ui_dist(w: World):
    from bench.scenarios.ui_site import write_dist

    dist = w.root / "ui" / "dist"
    write_dist(dist)
    return lambda: shutil.rmtree(w.root / "ui")


def invoke_yaml(text: str):
    """The invoke.yaml Invoke loads (next to the tasks.py of World.tasks), restored afterwards."""
    def setup(w: World):
        path = w.tasks / "invoke.yaml"
        saved = path.read_text()
        path.write_text(text)
        return lambda: path.write_text(saved)
    return setup


def unreadable_ui_file(w: World):
    """A built file the deploy cannot read. chmod 000 stops everyone but root; as root (CI), a link to
    /proc/self/mem, which opens but fails every read at offset 0 (EIO) for root too, and which the
    bundle now refuses first as a link out of dist/ (same exit 2, the file named; the read failure
    itself is tested in tests/unit/test_ui_bundle.py)."""
    restore_dist = ui_dist(w)
    path = w.root / "ui" / "dist" / "assets" / "unreadable-Abc12345.js"
    if os.geteuid() == 0:
        path.symlink_to("/proc/self/mem")
    else:
        path.write_text("x")
        path.chmod(0)
    return restore_dist


def report_under_a_file(w: World):
    (w.tmp / "a-file").write_text("not a directory\n")
    return None


def versioning_off(w: World):
    restore_dist = ui_dist(w)
    s3 = w.client("s3")
    s3.put_bucket_versioning(Bucket=_ui_bucket(w), VersioningConfiguration={"Status": "Suspended"})

    def restore():
        s3.put_bucket_versioning(Bucket=_ui_bucket(w), VersioningConfiguration={"Status": "Enabled"})
        restore_dist()
    return restore


def held_lock(w: World):
    """Another deploy (this test process) holds the environment's lock."""
    from tars_tasks import lock
    from tars_tasks.settings import Settings

    env = {"AWS_ENDPOINT_URL": w.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": REGION}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        settings = Settings.load(None, root=w.root, environ=dict(os.environ), env="dev")
        holder = lock.hold(settings, "deploy-ui")
        holder.__enter__()

    def release():
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            holder.__exit__(None, None, None)
    return release


DESTROY = {"FAKE_TF_PLAN": "delete", "ROOT": "infra"}
SECRET_KEY_LINE = 'KEY = "AKIA' + "ABCDEFGHIJKLMNOP" + '"\n'

CASES = [
    # configuration: .env values and lines, environments, regions
    Case("env-malformed-int", ("deploy-lambda", "--yes", "--no-smoke"), 2, "TARS_KEEP_VERSIONS",
         setup=write(".env.dev", "TARS_KEEP_VERSIONS=zero\n")),
    Case("env-malformed-bool", ("status",), 2, "TARS_DEBUG", setup=write(".env", "TARS_DEBUG=perhaps\n")),
    Case("env-malformed-warm-pool", ("deploy-lambda", "--yes", "--no-smoke"), 2, "TARS_WARM_POOL_SIZE='0' must be at "
         "least 1", setup=write(".env.dev", "TARS_WARM_POOL_SIZE=0\n")),
    Case("env-malformed-warm-idle", ("deploy", "--all", "--yes"), 2, "TARS_WARM_IDLE_SECONDS='soon'",
         env={"TARS_WARM_IDLE_SECONDS": "soon"}),
    Case("env-malformed-url", ("deploy-lambda", "--yes", "--no-smoke"), 2, "MCP_ENDPOINT",
         setup=write(".env.dev", "MCP_ENDPOINT=not a url\n")),
    Case("env-malformed-window", ("preflight", "--skip-tests"), 2, "TARS_BLOCKED_WINDOWS",
         setup=write(".env.dev", "TARS_BLOCKED_WINDOWS=morning\n")),
    Case("env-malformed-engine", ("deploy-mcp", "--yes"), 2, "TARS_CONTAINER_ENGINE",
         setup=write(".env.dev", "TARS_CONTAINER_ENGINE=rocket\n")),
    Case("env-malformed-line", ("deploy-lambda", "--yes", "--no-smoke"), 2, ".env.dev:2",
         setup=write(".env.dev", "TARS_KEEP_VERSIONS=3\nTHIS LINE IS NOT \"KEY=value\n")),
    Case("env-missing-ui-bucket", ("deploy-ui", "--skip-build", "--yes"), 2, "missing settings: ui_bucket",
         env={"ROOT": "bare"}),
    Case("env-missing-api-entry", ("verify",), 2, "no API entry", env={"ROOT": "bare"}),
    Case("env-missing-ecr", ("deploy-mcp", "--yes"), 2, "ecr_repository_url", env={"ROOT": "bare"}),
    Case("env-outputs-garbage", ("status",), 2, "outputs.json",
         setup=write(".tars/dev/outputs.json", "{not json", base="bare"), env={"ROOT": "bare"}),
    Case("unknown-env", ("deploy-lambda", "--env", "qa", "--yes"), 2, "unknown environment 'qa'"),
    # several environments at once (inv deploy --env dev,staging)
    Case("envs-empty-name", ("deploy", "--all", "--env", "dev,,staging", "--yes"), 2, "an empty environment name"),
    Case("envs-twice", ("deploy", "--lambda", "--env", "dev,staging,dev", "--yes"), 2, "dev named twice"),
    Case("envs-unknown", ("deploy", "--all", "--env", "dev,qa", "--yes"), 2, "unknown environment 'qa' in --env"),
    Case("envs-no-yes", ("deploy", "--all", "--env", "dev,staging"), 2, "no prompt can be answered"),
    Case("envs-rollback-to", ("rollback", "--to", "20260101T000000Z-abc1234", "--env", "dev,staging", "--yes"), 2,
         "this task takes one environment"),
    Case("envs-other-task", ("deploy-lambda", "--env", "dev,staging", "--yes"), 2, "this task takes one environment"),
    Case("bad-region", ("deploy-lambda", "--yes", "--no-smoke"), 2, "AWS_REGION='mars-1'",
         env={"AWS_REGION": "mars-1", "AWS_DEFAULT_REGION": "mars-1"}),
    # credentials
    Case("no-credentials", ("rollback-lambda", "--to", "1", "--yes"), 2, "no usable AWS credentials",
         env={"AWS_SHARED_CREDENTIALS_FILE": "EMPTY", "AWS_CONFIG_FILE": "EMPTY", "AWS_EC2_METADATA_DISABLED": "true"},
         unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")),
    Case("expired-session", ("deploy-lambda", "--yes", "--no-smoke"), 2, "expired", env={"AWS_ENDPOINT_URL": "EXPIRED"}),
    # Lambda
    Case("nonexistent-function", ("deploy-lambda", "--yes", "--no-smoke"), 2, "function nosuchfn not found",
         env={"TARS_FUNCTION_NAME": "nosuchfn"}),
    Case("rollback-nonexistent-function", ("rollback-lambda", "--to", "1", "--yes"), 2, "nosuchfn",
         env={"TARS_FUNCTION_NAME": "nosuchfn"}),
    Case("rollback-missing-version", ("rollback-lambda", "--to", "99", "--yes"), 2, "version 99"),
    Case("rollback-latest", ("rollback-lambda", "--to", "$LATEST", "--yes"), 2, "$LATEST"),
    Case("rollback-current", ("rollback-lambda", "--to", "1", "--yes"), 2, "already points at version 1"),
    Case("rollback-not-a-number", ("rollback-lambda", "--to", "one", "--yes"), 2, "one"),
    Case("logs-since-garbage", ("logs", "--since", "garbage"), 2, "--since 'garbage'"),
    Case("logs-since-future", ("logs", "--since", "2999-01-01T00:00:00Z"), 2, "--since"),
    Case("zip-over-unzipped-limit", ("deploy-lambda", "--yes", "--no-smoke"), 3, "unzipped",
         setup=sparse("lambda_src/huge.bin", 263_000_000)),
    Case("zip-over-direct-upload-limit", ("deploy-lambda", "--yes", "--no-smoke"), 2, "artifact_bucket",
         setup=incompressible("lambda_src/blob.bin", 51 * 1024 * 1024), env={"ROOT": "bare"}),
    Case("secret-content-in-source", ("deploy-lambda", "--yes", "--no-smoke"), 3, "looks like a secret",
         setup=write("lambda_src/settings_local.py", SECRET_KEY_LINE)),
    # UI and releases
    Case("ui-missing-dist", ("deploy-ui", "--skip-build", "--yes"), 2, "nothing is built"),
    Case("ui-versioning-off", ("deploy-ui", "--skip-build", "--yes"), 3, "versioning off", setup=versioning_off),
    Case("rollback-ui-unknown-release", ("rollback-ui", "--to", "nope", "--yes"), 2, "unknown UI version nope"),
    Case("rollback-unknown-release", ("rollback", "--to", "nope", "--yes"), 2, "no release nope"),
    Case("deploy-no-component", ("deploy", "--yes"), 2, ""),
    Case("ui-unreadable-dist-file", ("deploy-ui", "--skip-build", "--yes"), 2, "dist/assets/unreadable-Abc12345.js",
         setup=unreadable_ui_file),
    # what Invoke itself parses: flags, task names, invoke.yaml
    Case("unknown-flag", ("deploy-lambda", "--x"), 2, "unknown flag '--x' for inv deploy-lambda"),
    Case("unknown-task", ("deploy-lambdaa", "--yes"), 2, "unknown task 'deploy-lambdaa'"),
    Case("flag-without-value", ("rollback", "--to"), 2, "--to needs a value"),
    Case("invoke-yaml-malformed", ("deploy-lambda", "--yes", "--no-smoke"), 2, "invoke.yaml:3: not valid YAML",
         env={"TASKS": "own"}, setup=invoke_yaml("tars:\n  project: [sre-poc\n  env: dev\n")),
    Case("invoke-yaml-envs-string", ("deploy-lambda", "--yes", "--no-smoke"), 2, "tars.envs must be a list",
         env={"TASKS": "own"}, setup=invoke_yaml('tars:\n  envs: "dev"\n')),
    Case("invoke-yaml-tars-not-a-mapping", ("status",), 2, "tars: section must be a mapping",
         env={"TASKS": "own"}, setup=invoke_yaml("tars: 5\n")),
    # --json: a path that cannot be a file is refused before anything changes
    Case("json-under-a-file", ("deploy-lambda", "--yes", "--no-smoke", "--json", "TMP/a-file/report.json"), 2,
         "--json", setup=report_under_a_file),
    # infrastructure (fake terraform)
    Case("missing-terraform", ("deploy-infrastructure", "--yes"), 2, "terraform",
         env={"ROOT": "infra", "TARS_TERRAFORM_BIN": "/nonexistent/terraform"}),
    Case("destroy-in-plan", ("deploy-infrastructure", "--yes"), 3, "destroy guard", env=DESTROY),
    # MCP
    Case("missing-container-engine", ("deploy-mcp", "--yes"), 2, "no container engine found",
         env={"TARS_CONTAINER_ENGINE": "podman"}),
    Case("unreachable-builder", ("deploy-mcp", "--yes", "--builder", "nobody@127.0.0.1:1"), 1, "builder"),
    Case("malformed-builder", ("deploy-mcp", "--yes", "--builder", "@@:x"), 2, "builder"),
    Case("mcp-rollback-missing-revision", ("rollback-mcp", "--to", "99", "--yes"), 2, "99"),
    # safety: lock and preflight
    Case("held-lock", ("deploy-lambda", "--yes", "--no-smoke"), 3, "lock", setup=held_lock),
    Case("preflight-failure", ("preflight",), 3, "preflight failed", env={"TARS_TEST_COMMAND": "false"},
         records=True),
    Case("deploy-prod-preflight-failure", ("deploy", "--lambda", "--env", "prod", "--yes"), 3, "preflight",
         env={"TARS_TEST_COMMAND": "false"}, records=True),
    Case("no-terminal-no-yes", ("deploy-lambda", "--no-smoke"), 3, ""),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world: World, run_inv, tmp_path):
    env = {"AWS_ENDPOINT_URL": world.endpoint, "TARS_ROOT": str(world.root)}
    empty = tmp_path / "empty"
    empty.write_text("")
    args = tuple(str(world.tmp) + a[3:] if a.startswith("TMP/") else a for a in case.args)
    tasks_dir = None
    for key, value in sorted(case.env.items(), key=lambda kv: kv[0] != "ROOT"):
        if key == "TASKS":
            tasks_dir = world.tasks
        elif key == "ROOT":
            env["TARS_ROOT"] = str(getattr(world, value))
            if value == "infra":
                env.update({"TARS_TERRAFORM_BIN": str(FAKE_TERRAFORM), "FAKE_TF_LOG": str(tmp_path / "tf.jsonl"),
                            "FAKE_TF_PLAN": "noop", "FAKE_TF_STATE": str(tmp_path / "tf-state.json")})
        elif value == "EMPTY":
            env[key] = str(empty)
        else:
            env[key] = value
    for key in case.unset:
        env[key] = None
    teardown = case.setup(world) if case.setup else None
    try:
        before = snapshot(world)
        if case.env.get("AWS_ENDPOINT_URL") == "EXPIRED":
            with ExpiredTokenStub() as stub:
                env["AWS_ENDPOINT_URL"] = stub
                result = _run(run_inv, args, env)
        elif tasks_dir is not None:
            result = _run_tasks(tasks_dir, args, env)
        else:
            result = _run(run_inv, args, env)
        after = snapshot(world)
    finally:
        if teardown:
            teardown()
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    hints = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1 and len(hints) >= 1, out[-3000:]
    assert case.says in errors[0], errors[0]
    assert result.returncode == case.code, out[-3000:]
    if case.records:
        after = {k: _without_new_records(v, before.get(k)) if k.startswith("s3:") else v for k, v in after.items()}
    assert after == before, "the emulator changed"
    if env["TARS_ROOT"] == str(world.infra):
        assert "apply" not in [c["argv"][0] for c in calls_in(tmp_path / "tf.jsonl")]


def _without_new_records(state, before):
    """Drop release records added under releases/ (preflight's record of what is live: no deploy)."""
    versions, markers, status = state
    old = set((before or ([], [], None))[0])
    return (sorted(v for v in versions if v in old or not v[0].startswith("releases/")), markers, status)


def calls_in(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _run(run_inv, args, env):
    unset = [k for k, v in env.items() if v is None]
    env = {k: v for k, v in env.items() if v is not None}
    if not unset:
        return run_inv(*args, env=env, timeout=120)
    saved = {k: os.environ.pop(k) for k in unset if k in os.environ}
    try:
        return run_inv(*args, env=env, timeout=120)
    finally:
        os.environ.update(saved)


def _run_tasks(tasks_dir: Path, args, env):
    """`inv -r TASKS_DIR ...`: Invoke loads that tasks.py and the invoke.yaml beside it."""
    import subprocess
    import sys

    from tests.conftest import inv_env

    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(tasks_dir), *args], cwd=str(tasks_dir),
                          env=inv_env(env), capture_output=True, text=True, timeout=120, input="")


def test_catalogue_is_big_enough():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


def test_a_report_that_cannot_be_written_after_a_deploy_says_the_deploy_happened(world, run_inv):
    """--json /dev/full: the path checks out (it exists, it is writable) but every write fails (ENOSPC).
    The deploy happens; the run ends with exit 4, one line saying the deploy is done and the report
    is not, and a hint; the alias stays on the new version. (Before the handler cases: their in-process
    mock_aws resets moto's backends, which the session's moto server shares.)"""
    lam = world.client("lambda")
    before = lam.get_alias(FunctionName=FN, Name="production")["FunctionVersion"]
    (world.root / "lambda_src" / "report_marker.py").write_text("REPORT = 'json'\n")   # a change to deploy
    try:
        result = run_inv("deploy-lambda", "--yes", "--no-smoke", "--json", "/dev/full",
                         env={"AWS_ENDPOINT_URL": world.endpoint, "TARS_ROOT": str(world.root)}, timeout=300)
        after = lam.get_alias(FunctionName=FN, Name="production")["FunctionVersion"]
    finally:
        (world.root / "lambda_src" / "report_marker.py").unlink()
        lam.update_alias(FunctionName=FN, Name="production", FunctionVersion=before)
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out[-3000:]
    assert result.returncode == 4, out[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "deploy-lambda done" in errors[0] and "not written to /dev/full" in errors[0], errors
    assert any(line.startswith("hint:") for line in result.stderr.splitlines())
    assert int(after) > int(before)          # the deploy did happen


# ---------------------------------------------------------------- the handler's bad requests
from tests.support.handler import Context, configure, create_resources, event, handler_module, signed_by_iam  # noqa: E402

HANDLER_CASES = [
    ("bad-json", dict(raw_body="{not json"), "body is not valid JSON"),
    ("not-an-object", dict(raw_body="[1, 2]"), "body must be a JSON object"),
    ("unknown-action", dict(action="drop_tables"), "unknown action 'drop_tables'"),
    ("missing-action", dict(action=None, raw_body='{"title": "x"}'), "missing field 'action'"),
    ("oversize-body", dict(raw_body=json.dumps({"action": "create_incident", "title": "x" * (1024 * 1024)})),
     "body larger than"),
    ("bad-base64", dict(raw_body="%%%not base64%%%", b64=True), "not valid base64"),
]


@pytest.mark.parametrize("fields,says", [c[1:] for c in HANDLER_CASES], ids=[c[0] for c in HANDLER_CASES])
def test_handler_rejects_bad_requests(aws, monkeypatch, fields, says):
    configure(monkeypatch)
    create_resources()
    handler = handler_module()
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")

    def state():
        return ({t: ddb.scan(TableName=t)["Items"] for t in ddb.list_tables()["TableNames"]},
                [o["Key"] for b in s3.list_buckets()["Buckets"] for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])])

    before = state()
    fields = dict(fields)
    action = fields.pop("action", "create_incident")
    if fields.get("b64"):
        ev = signed_by_iam({"requestContext": {"http": {"method": "POST"}}, "body": fields["raw_body"],
                            "isBase64Encoded": True})
    else:
        ev = event(action, **fields)
    reply = handler.lambda_handler(ev, Context())
    body = json.loads(reply["body"])
    assert reply["statusCode"] == 400 and set(body) == {"error"}, body
    assert says in body["error"] and "Traceback" not in body["error"]
    assert "Access-Control-Allow-Origin" not in reply["headers"]
    assert state() == before


def test_secret_file_in_lambda_src_is_reported_and_never_packed(world, run_inv):
    """A secret-looking file name is not an error: the build warns and leaves it out of the zip."""
    import zipfile

    src = world.root / "lambda_src"
    (src / ".env").write_text("GITHUB_TOKEN=ghp_" + "x" * 36 + "\n")
    (src / "deploy.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\n")
    try:
        before = snapshot(world)
        result = run_inv("build", env={"AWS_ENDPOINT_URL": world.endpoint, "TARS_ROOT": str(world.root)})
        after = snapshot(world)
    finally:
        (src / ".env").unlink()
        (src / "deploy.pem").unlink()
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("lambda_src/.env" in w for w in warnings) and any("lambda_src/deploy.pem" in w for w in warnings), warnings
    names = zipfile.ZipFile(world.root / "dist" / "lambda.zip").namelist()
    assert ".env" not in names and "deploy.pem" not in names and "handler.py" in names
    assert after == before

