"""`inv report`: real --json reports of deploy and rollback (tests/fixtures/reports, written by a
real local run of the workflow's commands) rendered as the CI job summary."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tars_tasks import report_markdown as md
from tars_tasks.errors import UsageError

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "reports"


def load(name: str) -> dict:
    return json.loads((REPORTS / f"{name}.json").read_text())


def table_rows(text: str) -> dict[str, list[str]]:
    """component -> its cells, from the first markdown table."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith(("| component", "| ---", "| check")):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows.setdefault(cells[0], cells)
    return rows


def test_successful_deploy_all():
    report = load("deploy-all")
    text = md.render(report)
    assert text.splitlines()[0] == "### ✅ TARS deploy to `local`: done"
    rows = table_rows(text)
    assert list(rows) == ["infra", "mcp", "lambda", "ui", "verify"]
    assert rows["lambda"][1:4] == ["deployed", "1 → 2", "1.2 s"]
    assert rows["mcp"][2] == "sre-poc-mcp-server:1 → sre-poc-mcp-server:2"  # ARNs shortened
    assert rows["ui"][2] == f"- → {report['components'][3]['after']}"
    assert "rollback: inv rollback-lambda --to 1" in rows["lambda"][4]
    assert rows["verify"][1] == "passed"
    assert f"- **Release**: `{report['release_id']}`" in text
    assert f"- **UI**: {report['site_url']}" in text
    assert "- **Total time**: 1 min 05 s" in text  # elapsed 64.5 s


def test_failed_deploy_names_the_component_and_has_no_release():
    text = md.render(load("deploy-failed"))
    assert text.splitlines()[0] == "### ❌ TARS deploy to `local`: failed at lambda"
    rows = table_rows(text)
    assert rows["lambda"][1] == "failed" and "smoke test of version 4 failed" in rows["lambda"][4]
    assert rows["ui"][1] == "not reached"
    assert rows["infra"][1:3] == ["unchanged", "ALLGQC3ECA5HA"]
    assert "**Release**" not in text


def test_rollback_report():
    report = load("rollback")
    text = md.render(report)
    assert text.splitlines()[0] == f"### ✅ TARS rollback to release {report['release_id']} of `local`: done"
    rows = table_rows(text)
    assert rows["lambda"][1:3] == ["deployed", "3 → 2"]
    assert rows["ui"][1] == "unchanged" and rows["mcp"][2] == "sre-poc-mcp-server:2"
    assert f"- **New release record**: `{report['new_release_id']}`" in text
    assert "- **Infrastructure**: infrastructure is not rolled back" in text


def test_dry_run_and_its_preflight():
    text = md.render(load("deploy-dry-run-preflight"))
    assert text.splitlines()[0] == "### 📝 TARS deploy to `local`: dry run, nothing changed"
    assert "Total time" not in text
    assert "<summary>Preflight (forced past failures)</summary>" in text
    assert "| reviewed | fail | cannot fetch origin/main" in text
    assert "| tests | skip | skipped with --skip-tests |" in text


def test_refused_by_preflight():
    text = md.render(load("deploy-refused-preflight"))
    assert text.splitlines()[0] == "### ⛔ TARS deploy to `local`: refused by preflight (reviewed), nothing changed"
    assert "| component |" not in text


def test_cells_stay_one_table_row():
    report = load("deploy-lambda")
    report["components"][0]["detail"] = "a | b\nc"
    rows = [line for line in md.render(report).splitlines() if line.startswith("| lambda")]
    assert rows == ["| lambda | deployed | 2 → 3 | 1.2 s | a \\| b c; rollback: inv rollback-lambda --to 2 |"]


@pytest.mark.parametrize("data", [{}, [], {"components": "x"}, {"env": "dev", "components": []},
                                  {"component": "lambda", "status": "deployed"}])
def test_not_a_deploy_or_rollback_report(data):
    with pytest.raises(UsageError, match="not a report of inv deploy or inv rollback"):
        md.render(data)


def test_task_writes_the_summary_file(run_inv, tmp_path):
    out = tmp_path / "summary.md"
    done = run_inv("report", "--from", str(REPORTS / "deploy-all.json"), "--markdown", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == md.render(load("deploy-all"))


@pytest.mark.parametrize("content, message", [(None, "no report at"), ("{not json", "is not JSON"),
                                              ('{"env": "dev"}', "not a report of inv deploy")])
def test_task_bad_input_is_exit_2_in_one_line(run_inv, tmp_path, content, message):
    source = tmp_path / "r.json"
    if content is not None:
        source.write_text(content)
    out = tmp_path / "summary.md"
    done = run_inv("report", "--from", str(source), "--markdown", str(out))
    assert done.returncode == 2
    assert message in done.stderr and "hint:" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
