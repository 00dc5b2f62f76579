"""The local site server serves the UI bucket's current objects with their stored headers and
forwards /api to the function runtime, as CloudFront does."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest

from tars_tasks.local import processes, services

from .test_local_runtime import deploy


@pytest.fixture
def settings(local_settings, tmp_path):
    s = local_settings(tmp_path)   # a fork of the once-applied infrastructure/, runtime and site started
    yield s
    for proc in processes.recorded(services.proc_dir(s)):
        processes.stop(services.proc_dir(s), proc.name)


def get(url: str, **kw):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, **kw), timeout=30) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def test_apply_starts_the_runtime_and_the_site(settings):
    assert services.running(settings, services.RUNTIME)
    site = services.running(settings, services.SITE)
    assert site and settings.site_url == site.url


def test_serves_current_objects_with_stored_headers(settings):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=settings.ui_bucket, Key="index.html", Body=b"<html>v1</html>",
                  ContentType="text/html; charset=utf-8", CacheControl="public, max-age=0, must-revalidate")
    s3.put_object(Bucket=settings.ui_bucket, Key="assets/app-abc123.js", Body=b"console.log(1)",
                  ContentType="text/javascript", CacheControl="public, max-age=31536000, immutable")
    status, headers, body = get(settings.site_url + "/")
    assert (status, body) == (200, b"<html>v1</html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    status, headers, body = get(settings.site_url + "/assets/app-abc123.js")
    assert (status, body, headers["Content-Type"]) == (200, b"console.log(1)", "text/javascript")
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    s3.put_object(Bucket=settings.ui_bucket, Key="index.html", Body=b"<html>v2</html>", ContentType="text/html")
    assert get(settings.site_url + "/index.html")[2] == b"<html>v2</html>"   # the current version
    status, _, body = get(settings.site_url + "/missing.js")
    assert status == 404 and b"missing.js" in body


def test_forwards_api_to_the_function(settings):
    deploy(settings, 'return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, '
                     '"body": json.dumps({"path": event["rawPath"], "body": event.get("body"), '
                     '"method": event["requestContext"]["http"]["method"]})}')
    status, headers, body = get(settings.site_url + "/api", data=b'{"action": "chat"}', method="POST",
                                headers={"Content-Type": "application/json"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"path": "/api", "body": '{"action": "chat"}', "method": "POST"}
    status, _, body = get(settings.site_url + "/api/kb?action=kb_list")
    assert status == 200 and json.loads(body)["path"] == "/api/kb"


def test_the_site_signs_api_requests_as_cloudfront_oac_and_adds_its_own_cf_id(settings):
    """The Function URL is AWS_IAM: the site's SigV4 gets the request in (a viewer's Authorization is
    replaced), and X-Amz-Cf-Id marks it as CloudFront's (a viewer's own value is replaced), which
    is how the handler knows a person, not a machine, is calling."""
    deploy(settings, 'return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, '
                     '"body": json.dumps({"cf": event["headers"].get("x-amz-cf-id"), '
                     '"token": event["headers"].get("x-tars-token"), '
                     '"iam": event["requestContext"]["authorizer"]["iam"]["accessKey"]})}')
    status, _, body = get(settings.site_url + "/api?action=kb_list", headers={
        "X-Amz-Cf-Id": "viewer-chosen", "x-tars-token": "t0k", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAV/x"})
    seen = json.loads(body)
    assert status == 200 and seen["cf"] and seen["cf"] != "viewer-chosen"
    assert (seen["token"], seen["iam"]) == ("t0k", "testing")


def test_api_before_deploy_gets_the_placeholder_reply(settings):
    assert settings.vite_api_endpoint == settings.site_url + "/api"
    status, _, body = get(settings.vite_api_endpoint)
    assert status == 503 and b"inv deploy-lambda" in body
