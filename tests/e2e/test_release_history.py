"""Release history survives every deploy, end to end on the local target.

In a fresh copy of the project (its own git repository): `inv deploy --all --local` three times,
with a UI change before the second and a Lambda and an MCP change before the third (each
committed, as a developer does). Then `inv releases --local` lists the three; a fourth deploy
with nothing changed writes no record; `inv rollback --to <first> --local` puts the alias
version, the live index.html and the MCP service's task definition back to the first release's
(read from the emulator and the local site); and the site serves none of the records.
"""
from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from tars_tasks.local import processes
from tests.conftest import ROOT
from bench.scenarios.clone import copy_project, stop_recorded

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FN, ALIAS = "sre-poc-incident-handler", "production"


@pytest.fixture
def project(tmp_path, run_inv, local_emulator):
    root = copy_project(tmp_path / "tars")
    local_emulator(root)   # the once-applied infrastructure/ (tests/support/tf_applied.py)
    modules = ROOT / "ui" / "node_modules"
    if modules.is_dir():   # hard links: no second npm ci (the copy's markers are rewritten as new files)
        subprocess.run(["cp", "-al", str(modules), str(root / "ui" / "node_modules")], check=True)
        from tars_tasks.artifacts import ui_bundle

        ui_bundle.mark_installed(root / "ui")
    yield root
    run_inv("local.down", env={"TARS_ROOT": str(root)}, cwd=root)
    stop_recorded(root)   # never leave one behind


def commit(root: Path, message: str) -> None:
    git = ["git", "-c", "user.email=e2e@tars.invalid", "-c", "user.name=e2e"]
    subprocess.run([*git, "commit", "-qam", message], cwd=root, check=True)


def live(root: Path) -> dict:
    """What the emulator and the local site serve now."""
    url = processes.read(root / ".tars" / "local" / "proc", "emulator").url
    aws = {n: boto3.client(n, endpoint_url=url, region_name="us-east-1") for n in ("lambda", "ecs", "s3")}
    outputs = {k: v["value"] for k, v in json.loads((root / ".tars" / "local" / "outputs.json").read_text()).items()}
    service = aws["ecs"].describe_services(cluster=outputs["ecs_cluster"], services=[outputs["ecs_service"]])
    with urllib.request.urlopen(outputs["site_url"] + "/", timeout=30) as reply:
        page = reply.read().decode()
    index = aws["s3"].get_object(Bucket=outputs["ui_bucket"], Key="index.html")["Body"].read().decode()
    return {"version": aws["lambda"].get_alias(FunctionName=FN, Name=ALIAS)["FunctionVersion"],
            "task_definition": service["services"][0]["taskDefinition"], "page": page, "index": index,
            "site_url": outputs["site_url"], "s3": aws["s3"], "ui_bucket": outputs["ui_bucket"]}


def deploy(run_inv, root: Path, report: Path) -> dict:
    result = run_inv("deploy", "--all", "--local", "--yes", "--json", str(report),
                     env={"TARS_ROOT": str(root)}, cwd=root, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(report.read_text())


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def test_three_deploys_three_releases_and_rollback_to_the_first(project, run_inv, tmp_path):
    env = {"TARS_ROOT": str(project)}
    first = deploy(run_inv, project, tmp_path / "r1.json")
    one = live(project)

    index = project / "ui" / "index.html"
    index.write_text(index.read_text().replace("<title>TARS triage</title>", "<title>TARS triage v2</title>"))
    commit(project, "ui: a new title")
    second = deploy(run_inv, project, tmp_path / "r2.json")   # the UI sweep runs: stale v1 files go
    assert {c["component"]: c["status"] for c in second["components"]}["ui"] == "deployed"

    for path in ("lambda_src/handler.py", "mcp_server/server.py"):
        with (project / path).open("a") as fh:
            fh.write("\n# a change\n")
    commit(project, "lambda and mcp: a change each")
    third = deploy(run_inv, project, tmp_path / "r3.json")
    three = live(project)
    assert "TARS triage v2" in three["page"] and three["version"] != one["version"]
    assert three["task_definition"] != one["task_definition"]

    listed = run_inv("releases", "--local", "--json", str(tmp_path / "rel.json"), env=env, cwd=project)
    assert listed.returncode == 0, listed.stderr
    ids = [r["release_id"] for r in json.loads((tmp_path / "rel.json").read_text())["releases"]]
    assert ids == [third["release_id"], second["release_id"], first["release_id"]]

    again = deploy(run_inv, project, tmp_path / "r4.json")    # nothing changed: no new record
    assert again["release_id"] == third["release_id"]
    assert run_inv("releases", "--local", "--json", str(tmp_path / "rel2.json"), env=env, cwd=project).returncode == 0
    assert len(json.loads((tmp_path / "rel2.json").read_text())["releases"]) == 3

    back = run_inv("rollback", "--to", first["release_id"], "--local", "--yes", env=env, cwd=project, timeout=900)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
    now = live(project)
    assert now["version"] == one["version"]
    assert now["index"] == one["index"] and now["page"] == one["page"] and "TARS triage v2" not in now["page"]
    assert now["task_definition"] == one["task_definition"]

    # the records are out of the site's reach: not in its bucket, not served under any path
    site_keys = [o["Key"] for o in now["s3"].list_objects_v2(Bucket=now["ui_bucket"]).get("Contents", [])]
    assert not [k for k in site_keys if k.startswith(("_deploys/", "_releases/", "releases/"))], site_keys
    record = first["release_id"]
    ui_release = {c["component"]: c for c in first["components"]}["ui"]["after"]
    for path in (f"/_deploys/{record}.json", f"/releases/local/deploys/{record}.json",
                 f"/_releases/{ui_release}.json", f"/releases/local/ui/{ui_release}.json"):
        assert status_of(now["site_url"] + path) in (403, 404), path
