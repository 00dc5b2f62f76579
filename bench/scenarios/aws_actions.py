"""Recorded AWS calls → IAM actions and the resources they touch; a small policy evaluator.

A call's IAM action is, for nearly every operation, the service model's signing name and the
operation name (botocore: ``service_model.signing_name`` + ``operation_model.name``).
``EXCEPTIONS`` lists every recorded operation where AWS documents another action (the Service
Authorization Reference); ``NO_PERMISSION`` the calls that need none.

``resources`` builds the ARN(s) a call acts on from its recorded parameters, with the same names
the Terraform builds the policy's ARNs from, so the test can check each call against each
statement's resources, not only its action. ``allowed`` is the evaluator: an Allow statement
whose action and resource patterns (IAM's ``*`` and ``?``) both match; nothing here uses Deny.
"""
from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

# (service, operation) -> the IAM actions AWS evaluates for it
EXCEPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "CopyObject"): ("s3:PutObject", "s3:GetObject"),
}
# With a VersionId, S3 evaluates the *Version action instead
VERSIONED = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion"}
NO_PERMISSION = {("sts", "GetCallerIdentity")}  # "No permissions are required" (STS API reference)

TASK_PROCESS = re.compile(r"(^|[/ ])(-m invoke|inv|invoke)( |$)")


# Actions AWS evaluates besides the call's own, with the resource they apply to ("DATA_KEY": the
# project's KMS data key, which encrypts the data buckets; its ARN is not in the call)
DATA_KEY = "DATA_KEY"
FUNCTION_URL = "FUNCTION_URL"   # a Function URL request: the function (or its alias) it belongs to


def implied(row: dict, action: str) -> list[tuple[str, list[str]]]:
    p = row.get("params", {})
    if action == "ecs:RegisterTaskDefinition":   # passing the task's roles (IAM reference)
        roles = [p[k] for k in ("executionRoleArn", "taskRoleArn") if p.get(k)]
        return [("iam:PassRole", roles)] if roles else []
    if action == "s3:PutObject" and "Key" in p:   # SSE-KMS bucket: S3 asks KMS for a data key as the caller
        return [("kms:GenerateDataKey", [DATA_KEY])]
    if action in ("s3:GetObject", "s3:GetObjectVersion") and "Key" in p:
        return [("kms:Decrypt", [DATA_KEY])]
    return []


def iam_calls(row: dict, region: str = "us-east-1", account: str = "123456789012") -> list[tuple[str, list[str]]]:
    """[(IAM action, [resource ARNs])] that AWS evaluates for one recorded call."""
    out = []
    for action in iam_actions(row):
        out.append((action, resources(row, region, account)))
        out.extend(implied(row, action))
    return out


def iam_actions(row: dict) -> tuple[str, ...]:
    key = (row["service"], row["operation"])
    if key in NO_PERMISSION:
        return ()
    actions = EXCEPTIONS.get(key) or (f"{row['signing_name']}:{row['operation']}",)
    if row.get("params", {}).get("VersionId"):
        actions = tuple(VERSIONED.get(a, a) for a in actions)
    return actions


def origin(row: dict, local_prefixes: dict[str, str]) -> str:
    """Who the call is for: 'deployer' (the task's own work: what the deploy role must allow), the
    name of a local stand-in (see ``LOCAL_STAND_INS``), 'test setup' or 'other process'.

    In an `inv` process every call is the deployer's unless a local stand-in makes it. In a
    pytest process (the unit tests bench/deploy_role_actions.py records) only calls made through
    a step, a task or the lock count; the tests' own setup calls do not."""
    caller = row.get("caller", "")
    for prefix, name in local_prefixes.items():
        if caller.startswith(prefix):
            return name
    if caller.startswith(LOCAL_PACKAGE):  # the same rule the enforced run signs by (sitecustomize.py)
        return "local stand-in"
    if TASK_PROCESS.search(row["argv"]):
        return "deployer"
    if "pytest" in row["argv"]:
        # a step, a task or the lock; or a test calling an aws/ helper (the deployer's own package)
        through_aws = not caller and row.get("entry", "").startswith("tars_tasks.aws.")
        return "deployer" if caller.startswith(DEPLOYER_CODE) or through_aws else "test setup"
    return "other process"


DEPLOYER_CODE = ("tars_tasks.steps.", "tars_tasks.tasks.", "tars_tasks.lock.", "tars_tasks.runner.", "tars_tasks.skeleton.",
                 "tars_tasks.target.")
LOCAL_PACKAGE = "tars_tasks.local."
# Calls the task process makes only because the target is local: each one stands in for what a
# service or Terraform does on AWS, never the deploy role (tests/e2e/test_deploy_role_actions.py)
LOCAL_STAND_INS = {
    "tars_tasks.local.tf_": "local infrastructure (the emulator's instance marker; Terraform's own state on AWS)",
    "tars_tasks.local.runtime": "local function runtime (the Lambda service on AWS)",
    "tars_tasks.local.mcp": "local MCP process (ECS on AWS)",
    "tars_tasks.local.services": "local function runtime (the Lambda service on AWS)",
    "tars_tasks.local.site": "local site server (CloudFront on AWS)",
}


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def resources(row: dict, region: str, account: str) -> list[str]:
    """The ARNs a recorded call acts on ("*" where AWS documents no resource-level permission)."""
    p, svc, op = row.get("params", {}), row["service"], row["operation"]
    if (svc, op) == ("lambda", "InvokeFunctionUrl"):
        return [FUNCTION_URL]   # the URL does not name the function: the test puts its ARN in
    if svc == "lambda" and "FunctionName" in p:
        name = p["FunctionName"].split(":function:")[-1]
        qualifier = p.get("Qualifier") or (p.get("Name") if "Alias" in op else None)
        return [_arn("lambda", region, account, f"function:{name}" + (f":{qualifier}" if qualifier else ""))]
    if svc == "s3" and "Bucket" in p:
        return [f"arn:aws:s3:::{p['Bucket']}" + (f"/{p['Key']}" if "Key" in p else "")]
    if svc == "dynamodb" and "TableName" in p:
        index = f"/index/{p['IndexName']}" if p.get("IndexName") else ""
        return [_arn("dynamodb", region, account, f"table/{p['TableName']}{index}")]
    if svc == "ecs":
        cluster = p.get("cluster", "default").split("/")[-1]
        if "services" in p:
            return [_arn("ecs", region, account, f"service/{cluster}/{s.split('/')[-1]}") for s in p["services"]]
        if "service" in p:
            return [_arn("ecs", region, account, f"service/{cluster}/{p['service'].split('/')[-1]}")]
        if op == "DescribeTasks":
            return [_arn("ecs", region, account, f"task/{cluster}/{t.split('/')[-1]}") for t in p.get("tasks", [])]
        if op == "ListTasks":   # resource: container-instance (AWS's reference), condition ecs:cluster
            return [_arn("ecs", region, account, f"container-instance/{cluster}/*")]
        if op == "DescribeClusters":
            return [_arn("ecs", region, account, f"cluster/{cluster}")]
        return ["*"]   # RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions
    if svc == "ecr":
        if "repositoryName" in p:
            return [_arn("ecr", region, account, f"repository/{p['repositoryName']}")]
        return ["*"]   # GetAuthorizationToken
    if svc == "logs":
        group = p.get("logGroupName") or p.get("logGroupIdentifier")
        if group:
            return [_arn("logs", region, account, f"log-group:{group}:*")]
        return ["*"]   # DescribeLogGroups
    if svc == "cloudfront":
        dist = p.get("DistributionId") or p.get("Id")
        return [f"arn:aws:cloudfront::{account}:distribution/{dist}"] if dist else ["*"]
    if svc == "ssm" and "Name" in p:
        return [_arn("ssm", region, account, f"parameter{p['Name']}")]
    return ["*"]


def _listed(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def _match(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters, ? one character; case-insensitive actions
    return fnmatch.fnmatchcase(value, pattern)


def allowed(policy: dict, action: str, resource: str) -> list[str]:
    """The Sids of the Allow statements that grant ``action`` on ``resource``."""
    hits = []
    for st in _listed(policy["Statement"]):
        if st.get("Effect") != "Allow":
            continue
        if not any(_match(a.lower(), action.lower()) for a in _listed(st.get("Action", []))):
            continue
        if any(_match(r, resource) for r in _listed(st.get("Resource", []))):
            hits.append(st.get("Sid", "?"))
    return hits


def policy_actions(policy: dict) -> set[str]:
    return {a for st in _listed(policy["Statement"]) if st.get("Effect") == "Allow" for a in _listed(st["Action"])}


def grants(pattern: str, action: str) -> bool:
    return _match(pattern.lower(), action.lower())


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def load_rows(path: Path) -> list[dict]:
    """The recorded calls (not the re-signing notes of an enforced run)."""
    return [row for row in _lines(path) if "service" in row]


def load_signatures(path: Path) -> list[dict]:
    """The enforced run's notes: each call the deploy role's keys signed (pid, operation)."""
    return [row for row in _lines(path) if "signed_as" in row]
