"""A real headless Chromium loads the site deployed by `inv deploy-ui` from the emulator's bucket."""
from __future__ import annotations

import pytest

from tests.support.bucket_server import serve_bucket
from tests.support.ui_site import make_site, write_dist

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.e2e


def load(url: str) -> tuple[str, list[str], list[str]]:
    """(text of #status, console errors + page errors, failed responses) for one page load."""
    from playwright.sync_api import sync_playwright

    errors, failures = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("requestfailed", lambda r: failures.append(f"failed {r.url}"))
            page.goto(url, wait_until="load")
            page.wait_for_selector("#status", timeout=10_000)
            page.wait_for_load_state("networkidle")
            return page.inner_text("#status"), errors, failures
        finally:
            browser.close()


def test_deployed_site_renders_in_chromium_without_errors_or_404s(endpoint, project, run_inv):
    bucket, dist_id = make_site()
    env = {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project), "TARS_UI_BUCKET": bucket,
           "TARS_DISTRIBUTION_ID": dist_id}
    write_dist(project / "ui" / "dist", "v1")
    assert run_inv("deploy-ui", "--skip-build", "--yes", env=env).returncode == 0
    write_dist(project / "ui" / "dist", "v2")
    assert run_inv("deploy-ui", "--skip-build", "--yes", env=env).returncode == 0
    with serve_bucket(bucket) as url:
        status, errors, failures = load(url + "/")
        assert status.startswith("ready v2"), status
        assert errors == [] and failures == []
        assert run_inv("rollback-ui", "--yes", env=env).returncode == 0
        status, errors, failures = load(url + "/")
        assert status.startswith("ready v1") and errors == [] and failures == []
