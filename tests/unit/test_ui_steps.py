"""deploy-ui's plan/execute/rollback against moto in-process: state read back from the emulator."""
from __future__ import annotations

import re
import shutil
from types import SimpleNamespace

import boto3
import pytest

from tars_tasks.artifacts import ui_bundle
from tars_tasks.errors import ConfigError, Refused, StepFailed, UsageError
from tars_tasks.settings import Settings
from tars_tasks.steps import ui as steps
from tests.support import fresh_console  # noqa: F401
from tests.support.recorder import Calls, aws_error, key_of
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, write_dist

HTML = ("index.html", "help/index.html")
pytestmark = pytest.mark.usefixtures("fresh_console")


def _settings(root, bucket, dist_id, **extra):
    environ = {"TARS_UI_BUCKET": bucket, "TARS_DISTRIBUTION_ID": dist_id, "TARS_ARTIFACT_BUCKET": RECORDS_BUCKET, "TARS_WAITER_DELAY": "0.01",
               "AWS_REGION": "us-east-1", **extra}
    settings = Settings.load(None, root=root, environ=environ)
    return settings


@pytest.fixture
def site(aws, tmp_path):
    bucket, dist_id = make_site()
    return SimpleNamespace(settings=_settings(tmp_path, bucket, dist_id), bucket=bucket, dist_id=dist_id,
                           dist=tmp_path / "dist", s3=boto3.client("s3", region_name="us-east-1"), tmp=tmp_path)


def deploy(site, app="v1", keep=2, clock=None, sourcemaps=False, cache_rule=ui_bundle.cache_control, **kw):
    shutil.rmtree(site.dist, ignore_errors=True)
    keys = write_dist(site.dist, app)
    bundle = ui_bundle.scan(site.dist, sourcemaps=sourcemaps, cache_rule=cache_rule)
    extra = {"clock": clock} if clock else {}
    plan = steps.plan(site.settings, bundle, keep_versions=keep, commit=app, **extra)
    outcome = steps.execute(site.settings, plan, **kw)
    return plan, outcome, keys


def live_bytes(site, key):
    return site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()


def exists(site, key):
    try:
        site.s3.head_object(Bucket=site.bucket, Key=key)
        return True
    except site.s3.exceptions.ClientError:
        return False


def site_keys(site):
    pages = site.s3.get_paginator("list_objects_v2").paginate(Bucket=site.bucket)
    return {o["Key"] for p in pages for o in p.get("Contents", []) if not o["Key"].startswith("releases/")}


def referenced_assets(html: str, site) -> set[str]:
    """Assets index.html references, and the modules those import (what a browser would fetch)."""
    refs = set(re.findall(r'/(assets/[^"\')\s]+)', html))
    for ref in list(refs):
        if ref.endswith(".js") and exists(site, ref):
            body = live_bytes(site, ref).decode()
            refs |= {"assets/" + m for m in re.findall(r"\./([\w.-]+\.mjs)", body)}
            refs |= set(re.findall(r"/(assets/[\w.-]+)", body))
    return refs


def test_first_deploy_uploads_every_file_and_records_the_release(site):
    calls = Calls(site.settings, site.bucket)
    plan, outcome, _ = deploy(site)
    files = {f.key for f in plan.files}
    assert outcome.status == "deployed"
    assert set(calls.of("PutObject")) == files | {f"releases/dev/ui/{plan.release_id}.json"}
    assert site_keys(site) == files
    assert not any(k.endswith(".map") for k in files)  # source maps left out by default
    live = steps.current(site.settings)
    assert (live.state, live.rollback_target) == ("live", plan.release_id)
    record = live.record
    assert record["release_id"] == plan.release_id and record["commit"] == "v1"
    for entry in record["files"]:
        head = site.s3.head_object(Bucket=site.bucket, Key=entry["key"])
        assert head["VersionId"] == entry["version_id"]
        assert head["Metadata"]["sha256"] == entry["sha256"]


def test_second_deploy_of_the_same_build_uploads_and_invalidates_nothing(site):
    deploy(site)
    calls = Calls(site.settings, site.bucket)
    plan, outcome, _ = deploy(site)
    assert not plan.has_changes and outcome.status == "unchanged"
    assert calls.sequence == []
    assert len(steps.list_versions(site.settings)) == 1


def test_one_changed_source_uploads_its_new_asset_and_index_html_only(site):
    _, _, v1 = deploy(site, "v1")
    calls = Calls(site.settings, site.bucket)
    plan, outcome, v2 = deploy(site, "v2")
    assert v2["js"] != v1["js"] and v2["css"] == v1["css"]
    assert calls.of("PutObject") == [v2["js"], "index.html", f"releases/dev/ui/{plan.release_id}.json"]
    assert calls.of("CopyObject") == []
    assert outcome.data["invalidation"]["paths"] == ["/", "/index.html"]
    assert exists(site, v1["js"])  # the previous release's asset stays for cached pages


def test_cache_control_rule_change_copies_in_place_without_reuploading(site):
    def old_rule(key):  # e.g. the old script: one year for everything but HTML
        return "max-age=31536000" if not key.endswith(".html") else "no-cache"

    deploy(site, cache_rule=old_rule)
    calls = Calls(site.settings, site.bucket)
    plan, outcome, keys = deploy(site)
    assert calls.of("PutObject") == [f"releases/dev/ui/{plan.release_id}.json"]
    assert set(calls.of("CopyObject")) == {f.key for f in plan.files}
    for f in plan.files:
        head = site.s3.head_object(Bucket=site.bucket, Key=f.key)
        assert head["CacheControl"] == ui_bundle.cache_control(f.key)
        assert head["ContentType"] == f.content_type
    assert live_bytes(site, keys["js"]) == (site.dist / keys["js"]).read_bytes()


def test_objects_left_by_the_old_script_get_headers_fixed_and_are_kept(site):
    write_dist(site.dist, "v1")
    for path in site.dist.rglob("*"):
        if path.is_file() and not path.name.endswith(".map"):
            site.s3.put_object(Bucket=site.bucket, Key=path.relative_to(site.dist).as_posix(),
                               Body=path.read_bytes(), CacheControl="max-age=31536000")
    site.s3.put_object(Bucket=site.bucket, Key="assets/old-Abc12345.js", Body=b"old")
    bundle = ui_bundle.scan(site.dist)
    plan = steps.plan(site.settings, bundle, commit="v1")
    assert {f.action for f in plan.files} == {"headers"}
    assert plan.deletes == ()  # no recorded release: the old script's files may still be referenced


def test_headers_for_every_file_kind_read_back(site):
    plan, _, keys = deploy(site, sourcemaps=True)
    expected = {
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml",
        "json": "application/json", "webmanifest": "application/manifest+json", "woff2": "font/woff2",
        "wasm": "application/wasm", "map": "application/json", "txt": "text/plain; charset=utf-8"}
    for kind, content_type in expected.items():
        head = site.s3.head_object(Bucket=site.bucket, Key=keys[kind])
        assert head["ContentType"] == content_type, kind
        hashed = keys[kind].startswith("assets/")
        assert head["CacheControl"] == (ui_bundle.IMMUTABLE if hashed else ui_bundle.REVALIDATE), kind


def test_every_asset_is_put_before_the_first_html_and_index_html_last(site):
    calls = Calls(site.settings, site.bucket)
    plan, _, _ = deploy(site, workers=4)
    puts = [k for k in calls.of("PutObject") if not k.startswith("releases/")]
    first_html = min(i for i, k in enumerate(puts) if k.endswith(".html"))
    assert all(not k.endswith(".html") for k in puts[:first_html])
    assert set(puts[first_html:]) == set(HTML)
    assert puts[-1] == "index.html"
    assert calls.of("PutObject")[-1] == f"releases/dev/ui/{plan.release_id}.json"  # recorded after the switch
    assert calls.of("CreateInvalidation")  # and invalidated last


@pytest.mark.parametrize("nth", [1, 3])
def test_a_failed_asset_put_leaves_the_old_index_html_live(site, nth):
    plan1, _, _ = deploy(site, "v1")
    v1_index = live_bytes(site, "index.html")
    seen, failed = [], []

    def fail_nth_asset(request, **_kw):
        key = key_of(request.url, site.bucket)
        if request.method == "PUT" and key.startswith("assets/"):
            if key not in seen:
                seen.append(key)
            if seen.index(key) == nth - 1:
                failed.append(key)
                return aws_error(request.url, 403, "AccessDenied")
        return None

    site.settings.clients("s3").meta.events.register("before-send.s3.PutObject", fail_nth_asset)
    calls = Calls(site.settings, site.bucket)
    with pytest.raises(StepFailed) as err:
        # extra hashed chunks so there are several assets to upload
        shutil.rmtree(site.dist)
        write_dist(site.dist, "v2", extra_files=6)
        steps.execute(site.settings, steps.plan(site.settings, ui_bundle.scan(site.dist), commit="v2"))
    assert failed and "no HTML was touched" in err.value.message
    assert not any(k.endswith(".html") for k in calls.of("PutObject", "CopyObject"))
    assert live_bytes(site, "index.html") == v1_index
    assert steps.current(site.settings).rollback_target == plan1.release_id
    assert calls.of("CreateInvalidation") == []


def test_retention_over_three_deploys_keeps_the_newest_two_releases(site):
    ticks = iter(range(1_000, 100_000, 10))
    _, _, v1 = deploy(site, "v1", clock=lambda: next(ticks))
    _, _, v2 = deploy(site, "v2", clock=lambda: next(ticks))
    _, out3, v3 = deploy(site, "v3", keep=2, clock=lambda: next(ticks))
    assert not exists(site, v1["js"])
    assert exists(site, v2["js"]) and exists(site, v3["js"])
    assert exists(site, v1["css"])  # shared by every release
    assert out3.data["deleted"] == [v1["js"]]
    assert len(steps.list_versions(site.settings)) == 3  # records stay: v1 is still restorable


def test_rollback_restores_v1_byte_identical_with_every_asset(site):
    ticks = iter(range(1_000, 100_000, 10))
    p1, _, _ = deploy(site, "v1", clock=lambda: next(ticks))
    v1_index = live_bytes(site, "index.html")
    deploy(site, "v2", clock=lambda: next(ticks))
    deploy(site, "v3", clock=lambda: next(ticks))  # v1's main JS is now deleted (keep 2)
    outcome = steps.rollback(site.settings, p1.release_id)
    assert outcome.status == "deployed" and outcome.after == p1.release_id
    index = live_bytes(site, "index.html")
    assert index == v1_index
    refs = referenced_assets(index.decode(), site)
    assert len(refs) >= 6 and all(exists(site, r) for r in refs)
    assert steps.current(site.settings).rollback_target == p1.release_id


def test_rollback_defaults_to_the_release_before_the_live_one(site):
    ticks = iter(range(1_000, 100_000, 10))
    p1, _, _ = deploy(site, "v1", clock=lambda: next(ticks))
    p2, _, _ = deploy(site, "v2", clock=lambda: next(ticks))
    calls = Calls(site.settings, site.bucket)
    outcome = steps.rollback(site.settings)
    assert (outcome.before, outcome.after) == (p2.release_id, p1.release_id)
    # v1's assets are still current (kept for cached pages): only the page is switched back
    assert calls.of("CopyObject") == ["index.html"]
    assert calls.of("CreateInvalidation")


def test_rollback_refuses_unknown_release_and_missing_versions_before_any_change(site):
    ticks = iter(range(1_000, 100_000, 10))
    p1, _, v1 = deploy(site, "v1", clock=lambda: next(ticks))
    deploy(site, "v2", clock=lambda: next(ticks))
    with pytest.raises(UsageError, match="unknown UI version nope"):
        steps.rollback(site.settings, "nope")
    entry = next(e for e in steps.list_versions(site.settings)[1]["files"] if e["key"] == v1["js"])
    site.s3.delete_object(Bucket=site.bucket, Key=v1["js"], VersionId=entry["version_id"])
    before = live_bytes(site, "index.html")
    calls = Calls(site.settings, site.bucket)
    with pytest.raises(Refused) as err:
        steps.rollback(site.settings, p1.release_id)
    assert v1["js"] in " ".join(err.value.details)
    assert calls.sequence == [] and live_bytes(site, "index.html") == before


def test_versioning_off_is_refused_with_the_command_to_turn_it_on(aws, tmp_path):
    bucket, dist_id = make_site("plain-bucket", versioned=False)
    settings = _settings(tmp_path, bucket, dist_id)
    write_dist(tmp_path / "dist")
    bundle = ui_bundle.scan(tmp_path / "dist")
    with pytest.raises(Refused) as err:
        steps.plan(settings, bundle)
    assert err.value.exit_code == 3 and "put-bucket-versioning --bucket plain-bucket" in err.value.hint
    p1 = steps.plan(settings, bundle, allow_unversioned=True, commit="v1", clock=lambda: 1000)
    steps.execute(settings, p1)
    write_dist(tmp_path / "dist", "v2")
    p2 = steps.plan(settings, ui_bundle.scan(tmp_path / "dist"), allow_unversioned=True, commit="v2",
                    clock=lambda: 2000)
    steps.execute(settings, p2)
    index = boto3.client("s3").get_object(Bucket=bucket, Key="index.html")["Body"].read()
    with pytest.raises(Refused, match="without S3 object versions"):
        steps.rollback(settings)
    assert boto3.client("s3").get_object(Bucket=bucket, Key="index.html")["Body"].read() == index


def test_missing_bucket_and_wrong_distribution_are_config_errors(aws, tmp_path):
    bucket, dist_id = make_site()
    write_dist(tmp_path / "dist")
    bundle = ui_bundle.scan(tmp_path / "dist")
    with pytest.raises(ConfigError, match="bucket no-such-bucket does not exist"):
        steps.plan(_settings(tmp_path, "no-such-bucket", dist_id), bundle)
    with pytest.raises(ConfigError, match="distribution E0000WRONG does not exist"):
        steps.plan(_settings(tmp_path, bucket, "E0000WRONG"), bundle)
    with pytest.raises(ConfigError, match="missing setting"):
        steps.plan(_settings(tmp_path, "", dist_id), bundle)
    assert boto3.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_big_files_go_multipart_and_compare_by_the_stored_hash(site):
    write_dist(site.dist, "v1")
    big = site.dist / "assets" / "model-Big12345.wasm"
    big.write_bytes(b"\0asm" + bytes(9 * 1024 * 1024))
    calls = Calls(site.settings, site.bucket)
    plan = steps.plan(site.settings, ui_bundle.scan(site.dist), commit="v1")
    steps.execute(site.settings, plan)
    assert "assets/model-Big12345.wasm" in calls.of("CreateMultipartUpload")
    head = site.s3.head_object(Bucket=site.bucket, Key="assets/model-Big12345.wasm")
    assert "-" in head["ETag"]  # a multipart ETag is no MD5 of the body
    assert head["Metadata"]["sha256"] == ui_bundle.scan(site.dist).by_key()["assets/model-Big12345.wasm"].sha256
    assert head["ContentType"] == "application/wasm" and head["CacheControl"] == ui_bundle.IMMUTABLE
    calls.sequence.clear()
    again = steps.plan(site.settings, ui_bundle.scan(site.dist), commit="v1")
    assert not again.has_changes and again.live_release == plan.release_id
    assert calls.sequence == []


def test_source_maps_are_uploaded_only_when_asked(site):
    plan, _, keys = deploy(site)
    assert not exists(site, keys["map"]) and keys["map"] in plan.excluded
    plan2, _, _ = deploy(site, sourcemaps=True)
    assert [f.key for f in plan2.files if f.action == "upload"] == [keys["map"]]
    assert plan2.invalidation_paths == ()  # a hashed map is immutable: nothing to invalidate


def test_dry_run_plan_reads_only(site):
    deploy(site, "v1")
    calls = Calls(site.settings, site.bucket)
    write_dist(site.dist, "v2")
    plan = steps.plan(site.settings, ui_bundle.scan(site.dist), commit="v2")
    assert plan.has_changes and calls.sequence == []
    summary = "\n".join(plan.summary())
    assert "2 to upload" in summary and "upload  index.html" in summary
    assert plan.as_dict()["counts"]["upload"] == 2


def test_a_deleted_non_hashed_file_is_invalidated_hashed_ones_are_not(site):
    ticks = iter(range(1_000, 100_000, 10))
    write_dist(site.dist, "v1")
    (site.dist / "old.txt").write_text("gone soon")
    steps.execute(site.settings, steps.plan(site.settings, ui_bundle.scan(site.dist), commit="v1",
                                            clock=lambda: next(ticks)))
    _, _, v2 = deploy(site, "v2", clock=lambda: next(ticks))
    plan3, out3, v3 = deploy(site, "v3", clock=lambda: next(ticks))
    assert "old.txt" in plan3.deletes and not exists(site, "old.txt")
    assert "/old.txt" in out3.data["invalidation"]["paths"]
    assert not any(p.startswith("/assets/") for p in out3.data["invalidation"]["paths"])


def test_the_release_records_the_git_commit_and_a_dirty_ui_tree(site):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=site.tmp, check=True, capture_output=True)

    git("init", "-q")
    (site.tmp / ".gitignore").write_text("dist/\n")
    (site.tmp / "ui").mkdir()
    (site.tmp / "ui" / "App.jsx").write_text("v1")
    git("add", "-A")
    git("-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "-qm", "v1")
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=site.tmp, capture_output=True,
                          text=True).stdout.strip()
    write_dist(site.dist, "v1")
    plan = steps.plan(site.settings, ui_bundle.scan(site.dist))
    assert plan.commit == head and plan.release_id.endswith("-" + head)
    steps.execute(site.settings, plan)
    assert dict(steps.current(site.settings).details)["commit"] == head
    (site.tmp / "ui" / "App.jsx").write_text("v2, not committed")
    write_dist(site.dist, "v2")
    assert steps.plan(site.settings, ui_bundle.scan(site.dist)).commit == head + "-dirty"


def test_keep_versions_and_its_old_name_keep_releases(capsys):
    """deploy-ui --keep-versions N; --keep-releases N (its old name) still works, with a warning."""
    from tars_tasks.tasks.ui import DEFAULT_KEEP, _keep

    assert _keep(None, None) == DEFAULT_KEEP
    assert _keep("3", None) == 3 and "deprecated" not in capsys.readouterr().err
    assert _keep(None, "4") == 4
    assert "--keep-releases is deprecated: use --keep-versions" in capsys.readouterr().err
    assert _keep("5", "5") == 5
    with pytest.raises(UsageError, match="--keep-versions 1 and --keep-releases 2 disagree"):
        _keep("1", "2")
    with pytest.raises(UsageError, match="--keep-releases must be"):
        _keep(None, "0")
