"""The calls that create or update each local resource (see bootstrap_resources for the checks)."""
from __future__ import annotations

import json
from typing import Any, Callable

from ..aws.errors import translate
from ..tables import TABLES, create_table_args
from . import bootstrap_user_pool as user_pool, code
from .bootstrap_resources import (HANDLER, LOG_RETENTION_DAYS, MCP_PORT, MEMORY, RUNTIME, TIMEOUT, Change,
                                  Context, repository_url)

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "lambda.amazonaws.com"}}]}


def create_role(ctx: Context, change: Change) -> None:
    with translate(f"create IAM role {change.name}"):
        ctx.client("iam").create_role(RoleName=change.name, AssumeRolePolicyDocument=json.dumps(TRUST),
                                      Description="TARS incident handler (local)")


def role_arn(ctx: Context) -> str:
    with translate("read the IAM role"):
        return ctx.client("iam").get_role(RoleName=ctx.role_name)["Role"]["Arn"]


def put_log_group(ctx: Context, change: Change) -> None:
    logs = ctx.client("logs")
    with translate(f"create log group {change.name}"):
        if change.action == "create":
            logs.create_log_group(logGroupName=change.name)
        logs.put_retention_policy(logGroupName=change.name, retentionInDays=LOG_RETENTION_DAYS)


def create_table(ctx: Context, change: Change) -> None:
    table = next(t for t in TABLES if ctx.names[t.key] == change.name)
    with translate(f"create table {change.name}"):
        ctx.client("dynamodb").create_table(**create_table_args(table, change.name))
    ctx.wait("dynamodb", "table_exists", TableName=change.name)


def put_bucket(ctx: Context, change: Change) -> None:
    s3 = ctx.client("s3")
    with translate(f"create bucket {change.name}"):
        if change.action == "create":
            args: dict[str, Any] = {"Bucket": change.name}
            if ctx.settings.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": ctx.settings.region}
            s3.create_bucket(**args)
            s3.put_public_access_block(Bucket=change.name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})
        s3.put_bucket_versioning(Bucket=change.name, VersioningConfiguration={"Status": "Enabled"})


def create_parameter(ctx: Context, change: Change) -> None:
    with translate(f"create SSM parameter {change.name}"):
        # Terraform creates it with a placeholder and ignores the value afterwards; so do we.
        ctx.client("ssm").put_parameter(Name=change.name, Type="SecureString", Value="placeholder",
                                        Description="GitHub token for the PR approval check")


def _function_config(ctx: Context) -> dict[str, Any]:
    return {"Runtime": RUNTIME, "Handler": HANDLER, "Timeout": TIMEOUT, "MemorySize": MEMORY,
            "Environment": {"Variables": ctx.lambda_environment()}}


def create_function(ctx: Context, change: Change) -> None:
    lam = ctx.client("lambda")
    zipped = code.placeholder_zip()
    code.keep(ctx.settings, zipped)
    with translate(f"create Lambda function {change.name}"):
        lam.create_function(FunctionName=change.name, Role=role_arn(ctx), Code={"ZipFile": zipped},
                            Description="TARS incident handler", Publish=False, **_function_config(ctx))
    ctx.wait("lambda", "function_active_v2", FunctionName=change.name)


def update_function(ctx: Context, change: Change) -> None:
    """New configuration; when the alias runs the same code as $LATEST, publish and move it, so
    the alias (what the runtime serves) gets the new environment as Terraform's publish would."""
    lam, fn, alias = ctx.client("lambda"), change.name, ctx.names["lambda_alias"]
    with translate(f"update Lambda function {fn}"):
        updated = lam.update_function_configuration(FunctionName=fn, **_function_config(ctx))
        ctx.wait("lambda", "function_updated_v2", FunctionName=fn)
        try:
            live = lam.get_alias(FunctionName=fn, Name=alias)["FunctionVersion"]
        except lam.exceptions.ResourceNotFoundException:
            return
        live_sha = lam.get_function_configuration(FunctionName=fn, Qualifier=live)["CodeSha256"]
        if live_sha == updated["CodeSha256"]:
            version = lam.publish_version(FunctionName=fn, CodeSha256=live_sha,
                                          Description="configuration update (local bootstrap)")["Version"]
            lam.update_alias(FunctionName=fn, Name=alias, FunctionVersion=version)


def create_alias(ctx: Context, change: Change) -> None:
    lam, fn = ctx.client("lambda"), ctx.names["function_name"]
    with translate(f"create alias {change.name}"):
        versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn)["Versions"]
                    if v["Version"] != "$LATEST"]
        version = max(versions, key=int) if versions else lam.publish_version(
            FunctionName=fn, Description="placeholder (local bootstrap)")["Version"]
        lam.create_alias(FunctionName=fn, Name=change.name, FunctionVersion=version)


def create_url(ctx: Context, change: Change) -> None:
    """AWS_IAM as in lambda.tf: the local Function URL checks SigV4 (local/sigv4.py) and the local
    site signs /api the way CloudFront's origin access control does."""
    lam = ctx.client("lambda")
    with translate("create the Function URL"):
        if change.action == "create":
            lam.create_function_url_config(FunctionName=ctx.names["function_name"], Qualifier=change.name,
                                           AuthType="AWS_IAM")
        else:
            lam.update_function_url_config(FunctionName=ctx.names["function_name"], Qualifier=change.name,
                                           AuthType="AWS_IAM")


def create_repository(ctx: Context, change: Change) -> None:
    with translate(f"create ECR repository {change.name}"):
        ctx.client("ecr").create_repository(repositoryName=change.name, imageTagMutability="IMMUTABLE",
                                            imageScanningConfiguration={"scanOnPush": True})


def create_cluster(ctx: Context, change: Change) -> None:
    with translate(f"create ECS cluster {change.name}"):
        ctx.client("ecs").create_cluster(clusterName=change.name)


def task_definition_args(ctx: Context, image: str) -> dict[str, Any]:
    return {"family": ctx.task_family, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{
                "name": "mcp-server", "image": image, "essential": True,
                "portMappings": [{"containerPort": MCP_PORT, "protocol": "tcp"}],
                "environment": [{"name": "AWS_REGION", "value": ctx.settings.region}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": ctx.ecs_log_group, "awslogs-region": ctx.settings.region,
                    "awslogs-stream-prefix": "mcp"}}}]}


def create_task_definition(ctx: Context, change: Change) -> None:
    image = f"{repository_url(ctx)}:initial"  # infrastructure: var.mcp_image_tag
    with translate("register the MCP task definition"):
        ctx.client("ecs").register_task_definition(**task_definition_args(ctx, image))


def create_service(ctx: Context, change: Change) -> None:
    with translate(f"create ECS service {change.name}"):
        ctx.client("ecs").create_service(
            cluster=ctx.names["ecs_cluster"], serviceName=change.name, taskDefinition=ctx.task_family,
            desiredCount=1, launchType="FARGATE",
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                     "maximumPercent": 200, "minimumHealthyPercent": 100})


def create_distribution(ctx: Context, change: Change) -> None:
    s = ctx.settings
    bucket_domain = f"{ctx.names['ui_bucket']}.s3.{s.region}.amazonaws.com"
    with translate("create the CloudFront distribution"):
        ctx.client("cloudfront").create_distribution(DistributionConfig={
            "CallerReference": f"{ctx.project}-ui-{ctx.account}", "Comment": change.name, "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {"Quantity": 2, "Items": [
                {"Id": "ui", "DomainName": bucket_domain, "S3OriginConfig": {"OriginAccessIdentity": ""}},
                {"Id": "api", "DomainName": "127.0.0.1", "CustomOriginConfig": {
                    "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "ui", "ViewerProtocolPolicy": "redirect-to-https",
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
            "CacheBehaviors": {"Quantity": 1, "Items": [
                {"PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only",
                 "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"}]}})


APPLY: dict[tuple[str, str], Callable[[Context, Change], None]] = {
    ("iam role", "create"): create_role,
    ("log group", "create"): put_log_group,
    ("log group", "update"): put_log_group,
    ("dynamodb table", "create"): create_table,
    ("s3 bucket", "create"): put_bucket,
    ("s3 bucket", "update"): put_bucket,
    ("ssm parameter", "create"): create_parameter,
    ("cognito user pool", "create"): user_pool.apply,
    ("cognito user pool", "update"): user_pool.apply,
    ("lambda function", "create"): create_function,
    ("lambda function", "update"): update_function,
    ("lambda alias", "create"): create_alias,
    ("function url", "create"): create_url,
    ("function url", "update"): create_url,
    ("ecr repository", "create"): create_repository,
    ("ecs cluster", "create"): create_cluster,
    ("ecs task definition", "create"): create_task_definition,
    ("ecs service", "create"): create_service,
    ("cloudfront distribution", "create"): create_distribution,
}
