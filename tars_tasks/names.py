"""What every TARS resource is called: the one naming function (no imports: everything may use it).

``infrastructure/`` uses the same patterns (tests check that the two agree).
"""
from __future__ import annotations


def function_log_group(function_name: str) -> str:
    """The CloudWatch log group a Lambda function writes to (Lambda's own naming)."""
    return f"/aws/lambda/{function_name}"


def resource_names(project: str, account_id: str | None = None) -> dict[str, str]:
    """The one naming function: what every TARS resource is called for ``project``.

    ``infrastructure/`` uses the same patterns (checked by tests/unit/test_infra_names.py).
    """
    names = {
        "function_name": f"{project}-incident-handler",
        "lambda_alias": "production",
        "incidents_table": f"{project}-incidents",
        "kb_documents_table": f"{project}-kb-documents",
        "kb_chunks_table": f"{project}-kb-chunks",
        "lock_table": f"{project}-deploy-locks",
        "ecr_repository": f"{project}-mcp-server",
        "ecs_cluster": f"{project}-cluster",
        "ecs_service": f"{project}-mcp-server",
        "log_group": function_log_group(f"{project}-incident-handler"),
        "github_token_ssm_param": f"/{project}/github-token",
    }
    if account_id:
        names["kb_bucket"] = f"{project}-kb-documents-{account_id}"
        names["ui_bucket"] = f"{project}-ui-{account_id}"
        names["artifact_bucket"] = f"{project}-artifacts-{account_id}"
    return names
