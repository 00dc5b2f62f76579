"""End to end on the embedded local target, as a newcomer runs it.

In a private copy of the project (a git repository of its own, sharing the Lambda dependency
cache): ``inv deploy --all --local --yes``, ``inv seed-logs --local``, ``inv verify --local``,
then Debian's Chromium (driven by Playwright's Python package, never ``playwright install``)
opens the site, signs in as a viewer added by ``inv users.add --local``, asks the runbook's question and must see an answer naming payment-service with
no console error; a second deploy is "unchanged" for every component.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.scenarios.clone import copy_project

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
QUESTION = "Are there any errors in the last hour?"


@pytest.fixture
def project(tmp_path, run_inv):
    root = copy_project(tmp_path / "tars")
    yield root
    run_inv("local.down", env={"TARS_ROOT": str(root)}, cwd=root)


def statuses(report: Path) -> dict[str, str]:
    return {c["component"]: c["status"] for c in json.loads(report.read_text())["components"]}


def ask_in_chromium(site_url: str, email: str, password: str) -> tuple[str, list[str]]:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(site_url, wait_until="networkidle")
            page.get_by_test_id("signin-username").fill(email)       # the local pool enforces sign-in
            page.get_by_test_id("signin-secret").fill(password)
            page.get_by_test_id("signin-submit").click()
            page.get_by_test_id("signed-in-user").wait_for(timeout=30_000)
            page.get_by_test_id("chat-question").fill(QUESTION)
            page.get_by_test_id("chat-submit").click()
            answer = page.get_by_test_id("chat-answer").filter(has_text="payment-service")
            answer.wait_for(timeout=30_000)
            return answer.inner_text(), errors
        finally:
            browser.close()


def test_deploy_verify_and_chat_in_a_real_browser(project, run_inv):
    env = {"TARS_ROOT": str(project)}
    first = run_inv("deploy", "--all", "--local", "--yes", "--json", str(project / "first.json"),
                    env=env, cwd=project, timeout=1200)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert set(statuses(project / "first.json")) >= {"infra", "mcp", "lambda", "ui"}

    seeded = run_inv("seed-logs", "--local", env=env, cwd=project)
    assert seeded.returncode == 0, seeded.stderr
    verified = run_inv("verify", "--local", env=env, cwd=project, timeout=300)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]

    added = run_inv("users.add", "sre@tars.local", "--role", "viewer", "--local", env=env, cwd=project)
    assert added.returncode == 0, added.stderr
    password = (project / ".tars" / "local" / "users" / "sre@tars.local.password").read_text().strip()
    outputs = json.loads((project / ".tars" / "local" / "outputs.json").read_text())
    site_url = outputs["site_url"]["value"]
    answer, errors = ask_in_chromium(site_url, "sre@tars.local", password)
    assert "payment-service" in answer
    assert errors == []

    second = run_inv("deploy", "--all", "--local", "--yes", "--json", str(project / "second.json"),
                     env=env, cwd=project, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    for component in ("infra", "mcp", "lambda", "ui"):   # the plan says so before anything runs
        assert f"{component}: no changes" in second.stdout, second.stdout[-3000:]
    again = statuses(project / "second.json")
    assert {k: v for k, v in again.items() if k in ("infra", "mcp", "lambda", "ui")} == {
        "infra": "unchanged", "mcp": "unchanged", "lambda": "unchanged", "ui": "unchanged"}
