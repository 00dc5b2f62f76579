"""steps/environments.py: several environments deployed in parallel, as real child processes.

The children here are small Python programs standing in for `inv deploy ... --env NAME --json R`
(the real pipeline in parallel is tests/e2e/test_deploy_environments.py): each prints lines on both
streams, writes a report shaped like deploy's, and exits with the code the test gives its env.
"""
from __future__ import annotations

import json
import sys
import threading

import pytest

from tars_tasks.lock import one_at_a_time
from tars_tasks.errors import ConfigError, UsageError
from tars_tasks.settings import Settings
from tars_tasks.steps import environments as envs

DECLARED = ("dev", "staging", "prod", "local")

CHILD = r"""
import json, os, sys
args = sys.argv[1:]
env, report = args[args.index("--env") + 1], args[args.index("--json") + 1]
code = int(json.loads(os.environ["CODES"])[env])
print(f"==> Deploying to {env} ({os.environ['TARS_ENV']})", flush=True)
print(f"warning: {env} is a test child", file=sys.stderr, flush=True)
if code == 2:   # a config error: no report, an error line
    print(f"error: bad setting in .env.{env}", file=sys.stderr)
    sys.exit(2)
ok = code == 0
json.dump({"command": "deploy --lambda", "env": env, "ok": ok, "dry_run": "--dry-run" in args, "release_id": f"r-{env}" if ok else None,
           "components": [{"component": "lambda", "status": "deployed" if ok else "failed",
                           "detail": "" if ok else "smoke test failed"}]}, open(report, "w"))
if not ok:
    print("error: deploy failed at lambda: smoke test failed", file=sys.stderr)
sys.exit(code)
"""


def run(monkeypatch, tmp_path, codes: dict[str, int], *, dry_run=False, json_path=None):
    monkeypatch.setenv("CODES", json.dumps(codes))
    return envs.deploy(DECLARED, ",".join(codes), ("--all", "--yes"), dry_run=dry_run, yes=True,
                       json_path=json_path, local=True, program=(sys.executable, "-c", CHILD))


# ---------------------------------------------------------------- the list
def test_the_list_is_parsed_and_checked_before_anything_runs():
    assert envs.parse("dev,staging", DECLARED) == ("dev", "staging")
    assert envs.parse(" dev , prod", DECLARED) == ("dev", "prod")
    for bad, says in (("dev,", "an empty environment name"), (",dev", "an empty"), ("dev,,prod", "an empty"),
                      ("dev,dev", "dev named twice"), ("dev,prod,dev,prod", "dev, prod named twice")):
        with pytest.raises(UsageError, match=says):
            envs.parse(bad, DECLARED)
    with pytest.raises(ConfigError, match="unknown environment 'qa' in --env dev,qa") as err:
        envs.parse("dev,qa", DECLARED)
    assert "dev, staging, prod, local" in err.value.hint


def test_several_environments_need_yes_or_dry_run(monkeypatch, tmp_path):
    with pytest.raises(UsageError, match="no prompt can be answered"):
        envs.deploy(DECLARED, "dev,staging", ("--all",), dry_run=False, yes=False, json_path=None, local=False)


def test_every_other_task_refuses_a_list(tmp_path):
    with pytest.raises(UsageError, match="this task takes one environment"):
        Settings.load(None, root=tmp_path, environ={}, env="dev,staging")


def test_each_child_gets_the_flags_its_env_and_its_own_report(tmp_path):
    flags = envs.child_flags(["infra", "mcp", "lambda", "ui"], local=True, dry_run=False, yes=True,
                             skip_verify=True, skip_tests=False, force_preflight=True)
    assert flags == ("--all", "--skip-verify", "--force-preflight", "--local", "--yes")
    assert envs.child_flags(["lambda", "ui"], local=False, dry_run=True, yes=False) == ("--lambda", "--ui", "--dry-run")
    runs = envs.plan(("dev", "staging"), ("--lambda", "--yes"), tmp_path)
    assert [r.env for r in runs] == ["dev", "staging"] and runs[0].report_path != runs[1].report_path
    assert runs[1].argv[-6:] == ("--lambda", "--yes", "--env", "staging", "--json", str(tmp_path / "staging.json"))
    assert runs[0].argv[1:3] == ("-m", "invoke") and runs[0].argv[-7] == "deploy"
    assert envs.child_environment("staging")["TARS_ENV"] == "staging"


# ---------------------------------------------------------------- the exit code
def test_the_exit_code_is_the_worst_one():
    assert envs.worst([0, 0]) == 0
    assert envs.worst([0, 1]) == envs.worst([1, 0]) == 1
    assert envs.worst([1, 3, 0]) == 3 and envs.worst([2, 1]) == 2
    assert envs.exit_code(-9) == 137 and envs.exit_code(130) == 130


def test_a_failing_environment_does_not_stop_the_other_and_the_run_exits_with_the_worst(monkeypatch, tmp_path, capsys):
    """The guard of the combined exit code: a good env listed first, a broken one second. Made
    `codes[0]` instead of `max(codes)`, the run would exit 0 (checked once by that mutation)."""
    path = tmp_path / "out" / "combined.json"
    with pytest.raises(envs.EnvironmentsFailed) as failed:
        run(monkeypatch, tmp_path, {"dev": 0, "staging": 1}, json_path=str(path))
    assert failed.value.exit_code == 1
    assert failed.value.message == "deploy failed in staging (exit 1); dev done"
    assert "inv deploy --all --env staging --local --yes" in failed.value.hint
    combined = json.loads(path.read_text())
    assert combined["exit_code"] == 1 and combined["envs"] == ["dev", "staging"]
    dev, staging = combined["environments"]
    assert dev["report"]["release_id"] == "r-dev" and dev["result"] == "deployed" and dev["exit_code"] == 0
    assert staging["report"]["ok"] is False and staging["result"] == "failed at lambda: smoke test failed"
    assert staging["error"] == "deploy failed at lambda: smoke test failed"
    out, err = capsys.readouterr()
    assert "[dev] ==> Deploying to dev (dev)" in out.splitlines()          # live, prefixed, its own stream
    assert "[staging] warning: staging is a test child" in err.splitlines()
    assert "[staging] error: deploy failed at lambda: smoke test failed" in err.splitlines()
    table = out[out.index("deploy summary: 2 environments"):]
    for cell in ("dev", "staging", "r-dev", "failed at lambda", "lambda deployed", "exit code"):
        assert cell in table


def test_the_worst_wins_whatever_the_order(monkeypatch, tmp_path):
    for codes, expected in (({"staging": 1, "dev": 0}, 1), ({"dev": 1, "prod": 3}, 3), ({"prod": 2, "dev": 1}, 2)):
        with pytest.raises(envs.EnvironmentsFailed) as failed:
            run(monkeypatch, tmp_path, codes)
        assert failed.value.exit_code == expected, codes


def test_an_env_that_stops_before_its_report_is_listed_with_its_error(monkeypatch, tmp_path):
    path = tmp_path / "combined.json"
    with pytest.raises(envs.EnvironmentsFailed) as failed:
        run(monkeypatch, tmp_path, {"dev": 2, "staging": 0}, json_path=str(path))
    assert failed.value.exit_code == 2
    dev = json.loads(path.read_text())["environments"][0]
    assert dev["report"] is None and dev["result"] == "failed: bad setting in .env.dev"


def test_all_good_is_exit_0_with_both_reports(monkeypatch, tmp_path, capsys):
    path = tmp_path / "combined.json"
    report = run(monkeypatch, tmp_path, {"dev": 0, "staging": 0}, json_path=str(path))
    assert report["ok"] is True and report["exit_code"] == 0
    assert [e["report"]["release_id"] for e in json.loads(path.read_text())["environments"]] == ["r-dev", "r-staging"]
    assert "done: dev, staging" in capsys.readouterr().out


# ---------------------------------------------------------------- what the children share
def test_the_local_target_keeps_each_env_apart(tmp_path):
    def dirs(**flags):
        s = Settings.load(None, root=tmp_path, environ={}, **flags)
        return s.state_dir.relative_to(tmp_path).as_posix(), s.local_dir.relative_to(tmp_path).as_posix()

    assert dirs(local=True) == (".tars/local", ".tars/local")
    assert dirs(local=True, env="dev") == (".tars/local-dev", ".tars/local-dev")
    assert dirs(local=True, env="staging") == (".tars/local-staging", ".tars/local-staging")
    assert dirs(env="dev")[0] == ".tars/dev"            # AWS dev: never the local emulator's outputs


def test_one_build_at_a_time(tmp_path):
    """tars_tasks.lock.one_at_a_time: the lambda build (and the local servers' start) one at a time."""
    import fcntl

    path, held, release = tmp_path / "dist" / ".build.lock", threading.Event(), threading.Event()

    def hold():
        with one_at_a_time(path):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    with open(path, "a") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)   # a second build waits
    release.set()
    holder.join()
    with open(path, "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)    # free once the first is done


def test_the_combined_report_renders_as_one_markdown_summary(monkeypatch, tmp_path):
    """`inv report --from combined.json --markdown FILE`: the environments' table, then each one's own."""
    from tars_tasks import report_markdown

    path = tmp_path / "combined.json"
    with pytest.raises(envs.EnvironmentsFailed):
        run(monkeypatch, tmp_path, {"dev": 0, "staging": 1}, json_path=str(path))
    text = report_markdown.render(json.loads(path.read_text()))
    lines = text.splitlines()
    assert lines[0] == "### ❌ TARS deploy --all to dev, staging: exit 1"
    assert "| dev | deployed | `r-dev` |" in text and "| staging | failed at lambda: smoke test failed | - |" in text
    assert "### ✅ TARS deploy to `dev`: done" in lines and "### ❌ TARS deploy to `staging`: failed at lambda" in lines


def test_the_makefile_alias_passes_a_list_with_yes_and_all(tmp_path):
    """CI's `make deploy ARGS="--env dev,staging"`: `inv deploy --yes --all --env dev,staging`; a bad
    list stops at the list (the error line is inv's; make itself exits 2 for any failed recipe)."""
    import os
    import subprocess

    from tests.conftest import ROOT

    def make(*args):
        return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "TARS_ROOT": str(tmp_path)})

    shown = make("-n", "deploy", "ARGS=--env dev,staging --local").stdout.split()
    assert shown[1:] == ["deploy", "--yes", "--all", "--env", "dev,staging", "--local"], shown
    bad = make("deploy", "ARGS=--env dev,qa --local")
    assert bad.returncode == 2 and "error: unknown environment 'qa' in --env dev,qa" in bad.stderr
    assert not (tmp_path / ".tars").exists()                 # nothing started, nothing written


def test_a_dry_run_of_several_needs_no_yes_and_each_child_gets_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CODES", json.dumps({"dev": 0, "prod": 0}))
    report = envs.deploy(DECLARED, "dev,prod", ("--all", "--dry-run"), dry_run=True, yes=False, json_path=None,
                         local=False, program=(sys.executable, "-c", CHILD))
    assert [(e["env"], e["report"]["dry_run"], e["result"]) for e in report["environments"]] == [
        ("dev", True, "dry run"), ("prod", True, "dry run")]
    assert report["command"] == "deploy --all" and "dry run done: dev, prod" in capsys.readouterr().out


WAITING_CHILD = r"""
import os, sys, time
args = sys.argv[1:]
env, go = args[args.index("--env") + 1], os.environ["GO"]
open(os.environ["READY"] + "." + env, "w").close()
for _ in range(600):                      # until the test says go (at most 30 s)
    if os.path.exists(go):
        break
    time.sleep(0.05)
print(f"{env} finished", flush=True)
sys.exit(0 if env == "dev" else 1)
"""


def test_ctrl_c_in_the_parent_alone_waits_for_every_child(monkeypatch, tmp_path, capsys):
    """SIGINT to the parent only (not its process group): it says so, lets both children end their
    own runs and still returns their results; no child is abandoned mid-deploy."""
    import os
    import signal

    ready, go = tmp_path / "ready", tmp_path / "go"
    monkeypatch.setenv("READY", str(ready))
    monkeypatch.setenv("GO", str(go))
    runs = envs.plan(("dev", "staging"), (), tmp_path, program=(sys.executable, "-c", WAITING_CHILD))

    def interrupt():
        for _ in range(600):
            if all((tmp_path / f"ready.{env}").exists() for env in ("dev", "staging")):
                break
            threading.Event().wait(0.05)
        os.kill(os.getpid(), signal.SIGINT)
        threading.Event().wait(0.5)
        go.touch()

    sender = threading.Thread(target=interrupt)
    sender.start()
    results = envs.run_all(runs)
    sender.join()
    assert [(r.env, r.exit_code) for r in results] == [("dev", 0), ("staging", 1)]
    out, err = capsys.readouterr()
    assert "[dev] dev finished" in out and "[staging] staging finished" in out
    assert "interrupted: waiting for every environment to end its own run" in err
