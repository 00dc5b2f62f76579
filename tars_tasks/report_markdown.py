"""The --json report of `inv deploy` or `inv rollback` as markdown (a CI job summary, a PR comment).

Plain functions over the report dict, no I/O: ``render(report)`` returns the text that
`inv report --from REPORT.json --markdown FILE` writes (GitHub Actions: FILE=$GITHUB_STEP_SUMMARY).
"""
from __future__ import annotations

from typing import Any

from .errors import UsageError

OK, FAILED, DRY, REFUSED = "✅", "❌", "📝", "⛔"
COLUMNS = ("component", "result", "before → after", "time", "detail")


def kind(report: Any) -> str:
    """'deploy' or 'rollback'; UsageError for anything else."""
    if isinstance(report, dict) and isinstance(report.get("components"), list):
        if str(report.get("command", "")).startswith("deploy"):
            return "deploy"
        if "new_release_id" in report:
            return "rollback"
    raise UsageError("not a report of inv deploy or inv rollback (no components)",
                     "pass the file written by inv deploy --json FILE or inv rollback --json FILE")


def duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return ""
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(int(round(s)), 60)
    return f"{minutes} min {rest:02d} s"


def cell(value: Any) -> str:
    """One table cell: no line breaks, pipes escaped, empty as a dash."""
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or "-"


def code(value: Any) -> str:
    text = " ".join(str(value).split()).replace("`", "'")
    return f"`{text}`"


def short(value: Any) -> str:
    """An ARN as its last part (task-definition/sre-poc-mcp-server:2 -> sre-poc-mcp-server:2)."""
    text = "" if value is None else str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") and "/" in text else text


def change(row: dict) -> str:
    before, after = short(row.get("before")), short(row.get("after"))
    if row.get("status") == "deployed" or (before and after and before != after):
        return f"{before or '-'} → {after or '-'}"
    return after or before


def rows(report: dict) -> list[tuple[str, ...]]:
    out = []
    for row in report.get("components", []):
        detail = row.get("detail") or ""
        if row.get("rollback_command"):
            detail = (detail + "; " if detail else "") + f"rollback: {row['rollback_command']}"
        elapsed = row.get("elapsed")
        out.append((row.get("component", "?"), row.get("status", "?"), change(row),
                    duration(elapsed) if elapsed else "", detail))
    return out


def table(report: dict) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "| --- | --- | --- | ---: | --- |"]
    for row in rows(report):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return lines


def _preflight_failures(report: dict) -> list[str]:
    return [str(c.get("name")) for c in (report.get("preflight") or {}).get("checks") or []
            if c.get("status") == "fail"]


def _headline(report: dict, what: str) -> str:
    env = report.get("env") or "?"
    failed = [r.get("component") for r in report.get("components", []) if r.get("status") == "failed"]
    refused = _preflight_failures(report)
    if report.get("ok") is False and not report.get("components") and refused:
        return f"### {REFUSED} TARS {what} `{env}`: refused by preflight ({', '.join(refused)}), nothing changed"
    if report.get("dry_run"):
        return f"### {DRY} TARS {what} `{env}`: dry run, nothing changed"
    if report.get("interrupted"):
        return f"### {FAILED} TARS {what} `{env}`: interrupted"
    if failed or report.get("ok") is False:
        where = f" at {', '.join(str(f) for f in failed)}" if failed else ""
        return f"### {FAILED} TARS {what} `{env}`: failed{where}"
    return f"### {OK} TARS {what} `{env}`: done"


def _facts(pairs: list[tuple[str, Any]]) -> list[str]:
    return [f"- **{name}**: {value}" for name, value in pairs if value not in (None, "")]


def _preflight(report: dict) -> list[str]:
    pre = report.get("preflight") or {}
    checks = pre.get("checks") or []
    if not pre.get("ran") or not checks:
        return []
    lines = ["", "<details><summary>Preflight" + (" (forced past failures)" if pre.get("forced") else "")
             + "</summary>", "", "| check | result | reason |", "| --- | --- | --- |"]
    lines += [f"| {cell(c.get('name'))} | {cell(c.get('status'))} | {cell(c.get('reason'))} |" for c in checks]
    return lines + ["", "</details>"]


def render_environments(report: dict) -> str:
    """The report of `inv deploy --env dev,staging --json`: one table of the environments, then each
    environment's own summary."""
    envs = [e for e in report["environments"] if isinstance(e, dict)]
    code_ = report.get("exit_code")
    lines = [f"### {OK if code_ == 0 else FAILED} TARS {report.get('command') or 'deploy'} to "
             f"{', '.join(str(e.get('env')) for e in envs)}: exit {code_}", "",
             "| environment | result | release id | time | exit code |", "| --- | --- | --- | ---: | ---: |"]
    for e in envs:
        release = (e.get("report") or {}).get("release_id")
        lines.append("| " + " | ".join(cell(v) for v in (e.get("env"), e.get("result"), code(release) if release else "",
                                                          duration(e.get("elapsed")), e.get("exit_code"))) + " |")
    for e in envs:
        if isinstance(e.get("report"), dict) and isinstance(e["report"].get("components"), list):
            lines += ["", render(e["report"]).rstrip()]
    return "\n".join(lines).rstrip() + "\n"


def render(report: dict) -> str:
    """The markdown summary of a deploy or rollback report (or of several environments' deploys)."""
    if isinstance(report, dict) and isinstance(report.get("environments"), list):
        return render_environments(report)
    what = kind(report)
    if what == "deploy":
        total = report.get("elapsed")
        if total is None:  # a report written before the pipeline timed itself
            total = sum(float(r.get("elapsed") or 0) for r in report.get("components", [])) or None
        lines = [_headline(report, "deploy to"), ""]
        lines += [*table(report), ""] if report.get("components") else []
        lines += _facts([("Release", code(report["release_id"]) if report.get("release_id") else None),
                         ("UI", report.get("site_url")),
                         ("Total time", duration(total) if total is not None else None),
                         ("Command", code(report.get("command", "")))])
        lines += _preflight(report)
    else:
        lines = [_headline(report, f"rollback to release {report.get('release_id')} of"), "", *table(report), ""]
        lines += _facts([("Back at release", code(report["release_id"]) if report.get("release_id") else None),
                         ("New release record", code(report["new_release_id"]) if report.get("new_release_id") else None),
                         ("UI", report.get("site_url")),
                         ("Infrastructure", report.get("infra"))])
    return "\n".join(lines).rstrip() + "\n"
