"""Where release records live (steps/release.py): the private release bucket, never the UI bucket.

Against moto in-process: a UI deploy that changes the site must leave every whole-deploy record
and UI manifest in place (the UI sweep once deleted ``_deploys/``); records an older version left
in the UI bucket are still read, and moved out of the site's reach once (idempotently).
"""
from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import boto3
import pytest

from tars_tasks.artifacts import ui_bundle
from tars_tasks.errors import ConfigError
from tars_tasks.settings import Settings
from tars_tasks.steps import release
from tars_tasks.steps import ui as ui_steps
from tars_tasks.steps.component import Live
from tests.support import fresh_console  # noqa: F401
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, write_dist

pytestmark = pytest.mark.usefixtures("fresh_console")


@pytest.fixture
def site(aws, tmp_path):
    bucket, dist_id = make_site()
    settings = Settings.load(None, root=tmp_path, environ={
        "TARS_UI_BUCKET": bucket, "TARS_DISTRIBUTION_ID": dist_id, "TARS_ARTIFACT_BUCKET": RECORDS_BUCKET,
        "TARS_WAITER_DELAY": "0.01", "AWS_REGION": "us-east-1"})
    return SimpleNamespace(settings=settings, bucket=bucket, s3=boto3.client("s3", region_name="us-east-1"),
                           dist=tmp_path / "dist")


def deploy_ui(site, app: str) -> str:
    shutil.rmtree(site.dist, ignore_errors=True)
    write_dist(site.dist, app)
    plan = ui_steps.plan(site.settings, ui_bundle.scan(site.dist), keep_versions=1, commit=app)
    return ui_steps.execute(site.settings, plan).after


def keys(s3, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def whole_record(settings, lambda_version: str, ui_release: str) -> dict:
    live = {"lambda": Live("lambda", version=lambda_version, rollback_target=lambda_version,
                           record={"version": lambda_version}),
            "ui": Live("ui", version=ui_release, rollback_target=ui_release, record={"release_id": ui_release})}
    return release.build(settings, live,
                         commit="c0ffee", who="ann@box", preflight=None, command="deploy --all")


def test_a_ui_change_keeps_every_release_record_and_none_is_in_the_site_bucket(site):
    r1 = deploy_ui(site, "v1")
    first = whole_record(site.settings, "1", r1)
    release.write(site.settings, first)
    r2 = deploy_ui(site, "v2")      # a change: the sweep deletes v1's stale files (keep_versions=1)
    second = whole_record(site.settings, "2", r2)
    release.write(site.settings, second)
    r3 = deploy_ui(site, "v3")

    assert release.list_ids(site.settings) == [second["release_id"], first["release_id"]]
    assert release.read(site.settings, first["release_id"])["components"]["lambda"]["version"] == "1"
    assert [r["release_id"] for r in ui_steps.list_versions(site.settings)] == [r3, r2, r1]
    site_keys = keys(site.s3, site.bucket)
    assert not [k for k in site_keys if k.endswith(".json") and "releases" in k or k.startswith("_deploys/")]
    assert keys(site.s3, RECORDS_BUCKET) == {
        f"releases/dev/deploys/{first['release_id']}.json", f"releases/dev/deploys/{second['release_id']}.json",
        *(f"releases/dev/ui/{r}.json" for r in (r1, r2, r3))}


def test_records_left_in_the_ui_bucket_are_read_then_moved_once(site):
    r1 = deploy_ui(site, "v1")
    old = whole_record(site.settings, "7", r1)
    manifest = json.loads(site.s3.get_object(Bucket=RECORDS_BUCKET, Key=f"releases/dev/ui/{r1}.json")["Body"].read())
    # the layout of older versions: both kinds in the UI bucket (served by the site)
    site.s3.put_object(Bucket=site.bucket, Key=f"_deploys/{old['release_id']}.json", Body=json.dumps(old))
    site.s3.put_object(Bucket=site.bucket, Key=f"_releases/{r1}.json", Body=json.dumps(manifest))
    site.s3.delete_object(Bucket=RECORDS_BUCKET, Key=f"releases/dev/ui/{r1}.json")

    assert release.list_ids(site.settings) == [old["release_id"]]                 # read where they are
    assert release.read(site.settings, old["release_id"])["components"]["lambda"]["version"] == "7"
    assert ui_steps.current(site.settings).rollback_target == r1

    new = whole_record(site.settings, "8", r1)
    release.write(site.settings, new)                                          # a write moves them
    r2 = deploy_ui(site, "v2")
    assert not {k for k in keys(site.s3, site.bucket) if k.startswith(("_deploys/", "_releases/"))}
    assert release.list_ids(site.settings) == [new["release_id"], old["release_id"]]
    assert [r["release_id"] for r in ui_steps.list_versions(site.settings)] == [r2, r1]
    before = keys(site.s3, RECORDS_BUCKET)
    assert release.shelf(site.settings).migrate() == [] and release.shelf(site.settings, release.UI).migrate() == []
    assert keys(site.s3, RECORDS_BUCKET) == before


def test_a_moved_record_that_already_exists_is_not_overwritten(site):
    record = whole_record(site.settings, "3", "r")
    release.shelf(site.settings).write(record)
    stale = dict(record, who="someone-else")
    site.s3.put_object(Bucket=site.bucket, Key=f"_deploys/{record['release_id']}.json", Body=json.dumps(stale))
    assert release.shelf(site.settings).migrate() == [record["release_id"]]
    assert release.read(site.settings, record["release_id"])["who"] == "ann@box"
    assert f"_deploys/{record['release_id']}.json" not in keys(site.s3, site.bucket)


def test_records_never_go_to_the_ui_bucket(site):
    same = site.settings.replace(release_bucket=site.bucket)
    with pytest.raises(ConfigError) as err:
        release.write(same, whole_record(same, "1", "r"))
    assert "UI bucket" in err.value.message
    missing = site.settings.replace(artifact_bucket=None)
    with pytest.raises(ConfigError) as err:
        release.list_ids(missing)
    assert "TARS_ARTIFACT_BUCKET" in err.value.hint
