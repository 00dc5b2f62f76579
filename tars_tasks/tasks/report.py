"""`inv report --from REPORT.json --markdown FILE`: a deploy or rollback report as markdown.

CI writes it to the job summary (FILE=$GITHUB_STEP_SUMMARY, see .github/workflows/deploy-env.yml);
without --markdown it is printed. Reads only the file: no settings, no AWS.
"""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..skeleton import tars_task


def read_report(path: str) -> dict:
    import json
    from pathlib import Path

    from ..errors import UsageError

    source = Path(path)
    if not source.is_file():
        raise UsageError(f"no report at {source}", "the deploy stopped before writing one: read its log; "
                         "write one with inv deploy --json FILE")
    try:
        return json.loads(source.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{source} is not JSON ({exc})", "pass the file written by inv deploy --json FILE") from None


@tars_task(help={"from_": "the --json report of inv deploy or inv rollback",
                 "markdown": "write the markdown to this file (CI: $GITHUB_STEP_SUMMARY); default: print it"})
def report(c, from_=None, markdown=None):
    """Render a deploy or rollback --json report as markdown (the CI job summary)."""
    from .. import report_markdown
    from ..errors import UsageError

    if not from_:
        raise UsageError("which report? --from is required", "inv report --from deploy.json --markdown summary.md")
    text = report_markdown.render(read_report(from_))
    if markdown:
        console.write_text(markdown, text)
        console.ok(f"summary written to {markdown}")
    else:
        console.info(text)


ns = Collection(report)
