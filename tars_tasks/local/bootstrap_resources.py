"""Each local resource: a read-only check yielding changes, and the calls that make the change.

One function pair per resource kind, in dependency order (the role before the function, the
repository before the task definition). Everything is named by ``resource_names``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..aws.errors import error_code, translate
from ..names import resource_names
from ..tables import TABLES
from . import bootstrap_user_pool as user_pool, services

RUNTIME = "python3.11"
HANDLER = "handler.lambda_handler"
TIMEOUT = 120                # infrastructure: var.lambda_timeout
MEMORY = 512
LOG_RETENTION_DAYS = 365    # infrastructure: var.log_retention_days
MCP_PORT = 8000              # infrastructure: var.mcp_port (the container port in ECS)
LOG_GROUP_PREFIX = "/ecs/"   # infrastructure: var.log_group_prefix


@dataclass
class Context:
    settings: Any
    account: str
    names: dict[str, str]

    @classmethod
    def build(cls, settings, account: str) -> "Context":
        return cls(settings, account, resource_names(settings.project, account))

    def client(self, service: str):
        return self.settings.clients(service)

    @property
    def project(self) -> str:
        return self.settings.project

    @property
    def role_name(self) -> str:
        return f"{self.project}-lambda-role"

    @property
    def task_family(self) -> str:
        return f"{self.project}-mcp-server"

    @property
    def ecs_log_group(self) -> str:
        return f"/ecs/{self.project}-mcp-server"

    @property
    def distribution_comment(self) -> str:
        return f"{self.project} triage UI"

    def local_values(self) -> dict[str, Any]:
        """Settings values of local mode (what outputs.json will say)."""
        n = self.names
        site = services.url(self.settings, services.SITE)
        return {"function_name": n["function_name"], "alias": n["lambda_alias"],
                "incidents_table": n["incidents_table"], "kb_documents_table": n["kb_documents_table"],
                "kb_chunks_table": n["kb_chunks_table"], "lock_table": n["lock_table"],
                "kb_s3_bucket": n["kb_bucket"], "ui_bucket": n["ui_bucket"], "artifact_bucket": n["artifact_bucket"],
                "github_token_ssm_param": n["github_token_ssm_param"], "ecs_cluster": n["ecs_cluster"],
                "ecs_service": n["ecs_service"], "mcp_endpoint": services.url(self.settings, services.MCP),
                "function_url": services.url(self.settings, services.RUNTIME) + "/",
                "site_url": site, "vite_api_endpoint": site + "/api", **user_pool.values(self)}

    def lambda_environment(self) -> dict[str, str]:
        """lambda.tf's variables: the runbook's table, the chat's log prefix (var.log_group_prefix),
        no extra CORS origin (the site calls /api on its own origin), the user pool."""
        return {**self.settings.replace(**self.local_values()).lambda_environment(),
                "LOG_GROUP_PREFIX": LOG_GROUP_PREFIX, "ALLOWED_ORIGINS": "", **user_pool.lambda_environment(self)}

    def wait(self, service: str, waiter: str, **kwargs: Any) -> None:
        s = self.settings
        self.client(service).get_waiter(waiter).wait(
            **kwargs, WaiterConfig={"Delay": s.waiter_delay, "MaxAttempts": s.waiter_max_attempts})


@dataclass(frozen=True)
class Change:
    kind: str        # resource kind: "dynamodb table", "lambda function" ...
    name: str
    action: str      # "create" or "update"
    why: str = ""

    def line(self) -> str:
        return f"{self.action} {self.kind} {self.name}" + (f" ({self.why})" if self.why else "")


def _change(kind: str, name: str, action: str, why: str = "") -> Change:
    return Change(kind, name, action, why)


def _missing(fn: Callable[[], Any], *codes: str) -> bool:
    """True when ``fn`` raises one of ``codes`` (or any *NotFound*)."""
    from botocore.exceptions import ClientError

    try:
        fn()
    except ClientError as exc:
        code = error_code(exc)
        if code in codes or "NotFound" in code or code == "404":
            return True
        raise
    return False


# ---------------------------------------------------------------- checks (read only)

def check_role(ctx: Context) -> Iterator:
    with translate("read the IAM role"):
        if _missing(lambda: ctx.client("iam").get_role(RoleName=ctx.role_name), "NoSuchEntity"):
            yield _change("iam role", ctx.role_name, "create")


def check_log_groups(ctx: Context) -> Iterator:
    logs = ctx.client("logs")
    for group in (ctx.names["log_group"], ctx.ecs_log_group):
        with translate(f"read log group {group}"):
            found = [g for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
                     if g["logGroupName"] == group]
        if not found:
            yield _change("log group", group, "create")
        elif found[0].get("retentionInDays") != LOG_RETENTION_DAYS:
            yield _change("log group", group, "update", f"retention {LOG_RETENTION_DAYS} days")


def check_tables(ctx: Context) -> Iterator:
    ddb = ctx.client("dynamodb")
    for table in TABLES:
        name = ctx.names[table.key]
        with translate(f"read table {name}"):
            if _missing(lambda: ddb.describe_table(TableName=name), "ResourceNotFoundException"):
                yield _change("dynamodb table", name, "create")


def check_buckets(ctx: Context) -> Iterator:
    s3 = ctx.client("s3")
    for key in ("ui_bucket", "kb_bucket", "artifact_bucket"):
        bucket = ctx.names[key]
        with translate(f"read bucket {bucket}"):
            if _missing(lambda: s3.head_bucket(Bucket=bucket), "NoSuchBucket"):
                yield _change("s3 bucket", bucket, "create")
            elif s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
                yield _change("s3 bucket", bucket, "update", "versioning on")


def check_parameter(ctx: Context) -> Iterator:
    name = ctx.names["github_token_ssm_param"]
    with translate("read the SSM parameter"):
        if _missing(lambda: ctx.client("ssm").get_parameter(Name=name), "ParameterNotFound"):
            yield _change("ssm parameter", name, "create")


def check_function(ctx: Context) -> Iterator:
    lam, fn, alias = ctx.client("lambda"), ctx.names["function_name"], ctx.names["lambda_alias"]
    with translate("read the Lambda function"):
        if _missing(lambda: lam.get_function(FunctionName=fn), "ResourceNotFoundException"):
            yield _change("lambda function", fn, "create", "placeholder code until inv deploy-lambda")
            yield _change("lambda alias", alias, "create")
            yield _change("function url", alias, "create")
            return
        config = lam.get_function_configuration(FunctionName=fn)
        differs = [what for what, have, want in (
            ("environment", (config.get("Environment") or {}).get("Variables") or {}, ctx.lambda_environment()),
            ("runtime", config.get("Runtime"), RUNTIME), ("handler", config.get("Handler"), HANDLER),
            ("timeout", config.get("Timeout"), TIMEOUT)) if have != want]
        if differs:
            yield _change("lambda function", fn, "update", ", ".join(differs))
        if _missing(lambda: lam.get_alias(FunctionName=fn, Name=alias), "ResourceNotFoundException"):
            yield _change("lambda alias", alias, "create")
        url: dict = {}
        if _missing(lambda: url.update(lam.get_function_url_config(FunctionName=fn, Qualifier=alias)),
                    "ResourceNotFoundException"):
            yield _change("function url", alias, "create")
        elif url.get("AuthType") != "AWS_IAM":
            yield _change("function url", alias, "update", "AuthType AWS_IAM")


def check_repository(ctx: Context) -> Iterator:
    if repository_url(ctx) is None:
        yield _change("ecr repository", ctx.names["ecr_repository"], "create")


def check_ecs(ctx: Context) -> Iterator:
    ecs, cluster, service = ctx.client("ecs"), ctx.names["ecs_cluster"], ctx.names["ecs_service"]
    with translate("read the ECS cluster and service"):
        clusters = ecs.describe_clusters(clusters=[cluster])["clusters"]
        if not [c for c in clusters if c.get("status") == "ACTIVE"]:
            yield _change("ecs cluster", cluster, "create")
            yield _change("ecs task definition", ctx.task_family, "create")
            yield _change("ecs service", service, "create")
            return
        services_found = ecs.describe_services(cluster=cluster, services=[service])["services"]
        if not [s for s in services_found if s.get("status") == "ACTIVE"]:
            if _missing(lambda: ecs.describe_task_definition(taskDefinition=ctx.task_family),
                        "ClientException"):
                yield _change("ecs task definition", ctx.task_family, "create")
            yield _change("ecs service", service, "create")


def check_distribution(ctx: Context) -> Iterator:
    if distribution_id(ctx) is None:
        yield _change("cloudfront distribution", ctx.distribution_comment, "create")


def check_user_pool(ctx: Context) -> Iterator:
    """The pool first (the function's environment names it); a function that exists gets the new
    environment once the pool is made."""
    found = user_pool.missing(ctx)
    if found is None:
        return
    yield _change("cognito user pool", user_pool.pool_name(ctx), *found)
    fn = ctx.names["function_name"]
    if found[0] == "create":
        with translate("read the Lambda function"):
            if not _missing(lambda: ctx.client("lambda").get_function(FunctionName=fn), "ResourceNotFoundException"):
                yield _change("lambda function", fn, "update", "environment: the user pool")


CHECKS: tuple[Callable[[Context], Iterator], ...] = (
    check_role, check_log_groups, check_tables, check_buckets, check_parameter, check_user_pool, check_function,
    check_repository, check_ecs, check_distribution)


# ---------------------------------------------------------------- lookups for outputs

def repository_url(ctx: Context) -> str | None:
    from botocore.exceptions import ClientError

    with translate("read the ECR repository"):
        try:
            repos = ctx.client("ecr").describe_repositories(repositoryNames=[ctx.names["ecr_repository"]])
        except ClientError as exc:
            if error_code(exc) == "RepositoryNotFoundException":
                return None
            raise
    return repos["repositories"][0]["repositoryUri"] if repos["repositories"] else None


def distribution_id(ctx: Context) -> str | None:
    with translate("list CloudFront distributions"):
        pages = ctx.client("cloudfront").get_paginator("list_distributions").paginate()
        for page in pages:
            for item in (page.get("DistributionList") or {}).get("Items") or []:
                if item.get("Comment") == ctx.distribution_comment:
                    return item["Id"]
    return None


def outputs(ctx: Context, known: bool = True) -> dict[str, str | None]:
    """The outputs ``terraform output -json`` would give (None when not created yet)."""
    v, n = ctx.local_values(), ctx.names
    return {"function_name": n["function_name"], "lambda_alias": n["lambda_alias"],
            "function_url": v["function_url"], "artifact_bucket": n["artifact_bucket"],
            "ui_bucket": n["ui_bucket"], "cloudfront_distribution_id": distribution_id(ctx),
            "site_url": v["site_url"], "ecr_repository_url": repository_url(ctx),
            "ecs_cluster": n["ecs_cluster"], "ecs_service": n["ecs_service"], "lock_table": n["lock_table"],
            "bedrock_model_id": ctx.settings.bedrock_model_id, "incidents_table": n["incidents_table"],
            "kb_documents_table": n["kb_documents_table"], "kb_chunks_table": n["kb_chunks_table"],
            "kb_bucket": n["kb_bucket"], "mcp_endpoint": v["mcp_endpoint"],
            "github_token_ssm_param": n["github_token_ssm_param"], "api_endpoint": v["vite_api_endpoint"],
            **user_pool.outputs(ctx)}

