"""Helpers for the Lambda handler tests: load lambda_src, create its tables and bucket, call actions."""
from __future__ import annotations

import base64
import importlib
import json
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "sre-poc"
BUCKET = "sre-poc-kb-documents-123456789012"


def handler_module():
    """Import lambda_src/handler.py (and its modules) as the Lambda runtime does; fresh clients."""
    sys.path.insert(0, str(ROOT / "lambda_src"))
    try:
        handler = importlib.import_module("handler")
        for name in ("clients", "embeddings"):
            importlib.import_module(name).reset()
        return handler
    finally:
        sys.path.remove(str(ROOT / "lambda_src"))


def lambda_module(name: str):
    sys.path.insert(0, str(ROOT / "lambda_src"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "lambda_src"))


def configure(monkeypatch, **extra: str) -> None:
    """The Lambda environment the deploy tasks set (names from tars_tasks.settings.resource_names)."""
    from tars_tasks.settings import resource_names

    names = resource_names(PROJECT)
    env = {"INCIDENTS_TABLE": names["incidents_table"], "KB_DOCUMENTS_TABLE": names["kb_documents_table"],
           "KB_CHUNKS_TABLE": names["kb_chunks_table"], "KB_S3_BUCKET": BUCKET, "BEDROCK_MODEL_ID": "",
           "MCP_ENDPOINT": "", "GITHUB_TOKEN_SSM_PARAM": names["github_token_ssm_param"], **extra}
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def create_resources() -> None:
    from tars_tasks.tables import create_all

    create_all(boto3.client("dynamodb"), PROJECT)
    boto3.client("s3").create_bucket(Bucket=BUCKET)


def event(action: str | None, method: str = "POST", raw_body: str | None = None, b64: bool = False, **fields) -> dict:
    """A Lambda Function URL event: POST fields in a JSON body, GET fields in the query string, sent
    by a machine client of this account (SigV4 on the Function URL: the handler authorizes it by IAM
    alone). The callers of issue 14 (no token, viewer, editor ...) are built by action_event + via_cdn."""
    http = {"requestContext": {"http": {"method": method}, "accountId": ACCOUNT, "authorizer": iam_authorizer(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/tars-deploy/tests")}}
    if method == "GET":
        query = {k: str(v) for k, v in fields.items()}
        if action:
            query["action"] = action
        return {**http, "queryStringParameters": query, "body": ""}
    body = raw_body if raw_body is not None else json.dumps({**({"action": action} if action else {}), **fields})
    if b64:
        return {**http, "body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True}
    return {**http, "body": body}


def call(handler, action: str | None, method: str = "POST", **fields) -> tuple[int, dict]:
    reply = handler.lambda_handler(event(action, method, **fields), Context())
    assert "Access-Control-Allow-Origin" not in reply["headers"]   # no Origin sent: no CORS (never "*")
    assert reply["headers"]["Content-Type"] == "application/json"
    return reply["statusCode"], json.loads(reply["body"])


def item_count(table: str) -> int:
    return boto3.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


def url_event(method: str, query: dict | None = None, body: str | None = None) -> dict:
    """A Lambda Function URL request (payload format 2.0) as AWS sends it, after the example in the
    Lambda developer guide ("Invoking Lambda function URLs", request payload format): the query in
    both rawQueryString and queryStringParameters, no ``body`` key when the request has none."""
    from urllib.parse import urlencode

    ev = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/",
        "rawQueryString": urlencode(query or {}),
        "headers": {"accept": "application/json", "host": "abcdefghij.lambda-url.us-east-1.on.aws",
                    "user-agent": "client/1.0", "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
                    "x-forwarded-for": "198.51.100.7", "x-forwarded-port": "443", "x-forwarded-proto": "https"},
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefghij", "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7",
                     "userAgent": "client/1.0"},
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "routeKey": "$default", "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390},
        "isBase64Encoded": False,
    }
    if query:
        ev["queryStringParameters"] = {k: str(v) for k, v in query.items()}
    if body is not None:
        ev["body"] = body
        ev["headers"]["content-type"] = "application/json"
    return ev


# ------------------------------------------------------------------ callers (issue 14)
ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sre-poc-incident-handler:production"


class Context:
    """What the Lambda runtime passes as ``context`` (the fields the handler reads)."""
    function_version = "7"
    invoked_function_arn = FUNCTION_ARN


def iam_authorizer(user_arn: str, account: str = ACCOUNT) -> dict:
    """requestContext.authorizer.iam of an AWS_IAM Function URL request, as the Lambda developer
    guide's request payload and aws-lambda-go's lambda-urls-request.json show it."""
    return {"iam": {"accessKey": "ASIAEXAMPLEKEY000001", "accountId": account, "callerId": "AROAEXAMPLEID:ci",
                    "cognitoIdentity": None, "principalOrgId": None, "userArn": user_arn,
                    "userId": "AROAEXAMPLEID:ci"}}


def via_cdn(ev: dict, token: str | None = None) -> dict:
    """``ev`` as it reaches the function through CloudFront: OAC signed it (here: the worst case, a
    signer that looks like an IAM role of this very account), CloudFront added X-Amz-Cf-Id and the
    viewer's token rode along in x-tars-token."""
    ev = json.loads(json.dumps(ev))
    ev["headers"].update({"x-amz-cf-id": "Xx7j5bR6Ynm0MExampleCfIdxHgWnE6zQ==", "via": "2.0 abc.cloudfront.net (CloudFront)",
                          "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    if token is not None:
        ev["headers"]["x-tars-token"] = token
    ev["requestContext"]["accountId"] = ACCOUNT
    ev["requestContext"]["authorizer"] = iam_authorizer(f"arn:aws:sts::{ACCOUNT}:assumed-role/cloudfront-oac/edge")
    return ev


def signed_by_iam(ev: dict, user_arn: str = f"arn:aws:sts::{ACCOUNT}:assumed-role/tars-deploy/ci",
                  account: str = ACCOUNT) -> dict:
    """``ev`` sent straight to the Function URL, SigV4-signed by an IAM principal (no CloudFront)."""
    ev = json.loads(json.dumps(ev))
    ev["requestContext"]["accountId"] = account
    ev["requestContext"]["authorizer"] = iam_authorizer(user_arn, account)
    return ev


def action_event(action: str, fields: dict, method: str | None = None) -> dict:
    """A Function URL event for ``action``: writes POST a JSON body, reads GET a query string."""
    method = method or ("GET" if action in ("kb_list", "list_incidents", "health") else "POST")
    if method == "GET":
        return url_event("GET", {"action": action, **fields})
    return url_event("POST", body=json.dumps({"action": action, **fields}))
