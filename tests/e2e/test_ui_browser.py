"""A real headless Chromium loads the site deployed by `inv deploy-ui` from the emulator's bucket."""
from __future__ import annotations

import pytest

from tests.support.bucket_server import serve_bucket
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, write_dist

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
           "TARS_DISTRIBUTION_ID": dist_id, "TARS_ARTIFACT_BUCKET": RECORDS_BUCKET}
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


def _install_ui_packages() -> None:
    """ui/node_modules as `make setup` installs it (npm ci from the lock, then the install marker
    the deploy tasks read: ui_bundle.mark_installed)."""
    import shutil
    import subprocess

    from tars_tasks.artifacts import ui_bundle
    from tests.conftest import ROOT

    ui = ROOT / "ui"
    if ui_bundle.needs_install(ui):
        npm = shutil.which("npm")
        assert npm, "npm is not on PATH (the UI needs Node 20.19+ and npm)"
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ui, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        ui_bundle.mark_installed(ui)


def test_the_real_tars_ui_built_and_deployed_by_inv_renders(endpoint, project, run_inv):
    """`inv deploy-ui` runs Vite on the real ui/ (VITE_API_ENDPOINT passed in), then Chromium loads it."""
    import shutil

    import boto3

    from tars_tasks.artifacts import ui_bundle
    from tests.conftest import ROOT

    _install_ui_packages()
    ui = project / "ui"
    shutil.copytree(ROOT / "ui", ui, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (ui / "node_modules").symlink_to(ROOT / "ui" / "node_modules")
    # packages are installed already: the marker in node_modules (the checkout's, through the link)
    # says so, so deploy-ui runs no npm ci here
    bucket, dist_id = make_site()
    env = {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project), "TARS_UI_BUCKET": bucket,
           "TARS_DISTRIBUTION_ID": dist_id, "TARS_ARTIFACT_BUCKET": RECORDS_BUCKET}
    with serve_bucket(bucket) as url:
        api = f"{url}/api"
        deployed = run_inv("deploy-ui", "--yes", "--api-endpoint", api, env=env)
        assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-2000:]
        assert "npm ci skipped" in deployed.stdout and not (ui / ".env.production").exists()
        s3 = boto3.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"] if o["Key"].startswith("assets/")]
        assert keys and all(s3.head_object(Bucket=bucket, Key=k)["CacheControl"] == ui_bundle.IMMUTABLE
                            for k in keys)
        from playwright.sync_api import sync_playwright

        errors, failures = [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page()
                page.on("console", lambda m: errors.append((m.text, m.location.get("url", "")))
                        if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append((str(e), "")))
                page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
                page.on("requestfailed", lambda r: failures.append(f"failed {r.url}"))
                page.goto(url + "/", wait_until="load")
                page.wait_for_selector("[data-testid=chat-question]", timeout=10_000)
                page.wait_for_load_state("networkidle")
                assert page.inner_text("header h1") == "TARS"
                assert api in page.inner_text("header")  # the endpoint was baked in at build time
                for nav in ("nav-chat", "nav-kb", "nav-incidents"):
                    assert page.is_visible(f"[data-testid={nav}]")
            finally:
                browser.close()
    # ui/index.html declares no icon, so Chromium asks for /favicon.ico on its own (not a page
    # request), gets a 404 and logs it as a console error; CloudFront would answer the same.
    # Reported to the UI's owner. That one request is let through; everything else must succeed.
    assert failures == []
    assert [e for e in errors if not e[1].endswith("/favicon.ico")] == []
