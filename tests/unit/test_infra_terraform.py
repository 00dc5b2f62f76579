"""infrastructure/*.tf, parsed with python-hcl2, agrees with what the tasks read and create.

Names follow tars_tasks.settings.resource_names, tables follow tars_tasks/tables.py, the Lambda
function sets every variable of the runbook's environment table, and outputs.tf has every output
Settings reads. A rename on one side only fails here.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import hcl2
import pytest

from tars_tasks.settings import FIELDS, LAMBDA_ENV_FIELDS, resource_names
from tars_tasks.tables import TABLES

INFRA = Path(__file__).resolve().parents[2] / "infrastructure"
RUNBOOK_ENV = {"BEDROCK_MODEL_ID", "INCIDENTS_TABLE", "KB_DOCUMENTS_TABLE", "KB_CHUNKS_TABLE",
               "KB_S3_BUCKET", "MCP_ENDPOINT", "GITHUB_TOKEN_SSM_PARAM"}
# Set by Terraform only (issue 14): who may call the handler, and which log groups it reads.
AUTH_ENV = {"COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "LOG_GROUP_PREFIX", "ALLOWED_ORIGINS"}
# Outputs for sign-in that Settings will read (issue 14 phase B: the UI build, inv users.*).
SIGN_IN_OUTPUTS = {"cognito_user_pool_id", "cognito_client_id", "cognito_region", "cognito_issuer",
                   "cognito_jwks_url"}


def _unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _clean(node):
    """hcl2's tree without quote marks on keys and strings, nor its __is_block__ markers."""
    if isinstance(node, dict):
        return {_unquote(k): _clean(v) for k, v in node.items() if k != "__is_block__"}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return _unquote(node)


@pytest.fixture(scope="module")
def tf():
    merged: dict = {"resource": {}, "output": {}, "locals": {}, "data": {}, "variable": {}}
    for path in sorted(INFRA.glob("*.tf")):
        with path.open() as fh:
            doc = _clean(hcl2.load(fh))
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                merged["resource"].setdefault(rtype, {}).update(named)
        for block in doc.get("output", []):
            merged["output"].update(block)
        for block in doc.get("variable", []):
            merged["variable"].update(block)
        for block in doc.get("locals", []):
            merged["locals"].update(block)
    return merged


def _resolve(expr: str, tf: dict, project="PROJ", account="ACCT") -> str:
    """Evaluate the string templates used for names: ${var.project}, ${local.x}, account id."""
    expr = _unquote(expr)
    locals_ = tf["locals"]
    for _ in range(5):
        expr = re.sub(r"\$\{local\.account_id\}", account, expr)
        expr = re.sub(r"\$\{var\.project\}", project, expr)
        expr = re.sub(r"\$\{local\.(\w+)\}", lambda m: _unquote(locals_[m.group(1)]), expr)
    assert "${" not in expr, f"unresolved name expression {expr}"
    return expr


def test_every_runbook_variable_is_set_on_the_function(tf):
    fn = tf["resource"]["aws_lambda_function"]["handler"]
    variables = fn["environment"][0]["variables"]
    assert set(variables) == RUNBOOK_ENV | AUTH_ENV
    assert {f.env for f in LAMBDA_ENV_FIELDS} == RUNBOOK_ENV
    assert fn["runtime"] == "python3.11"
    assert _resolve(fn["function_name"], tf) == resource_names("PROJ")["function_name"]
    # the deploy task ships the code: Terraform ignores code changes
    ignored = fn["lifecycle"][0]["ignore_changes"]
    assert {"${filename}", "${source_code_hash}", "${s3_key}"} <= set(ignored) or \
        {"filename", "source_code_hash", "s3_key"} <= set(ignored)


def test_every_output_settings_reads_exists(tf):
    wanted = {f.output for f in FIELDS if f.output}
    assert wanted | SIGN_IN_OUTPUTS == set(tf["output"]), ((wanted | SIGN_IN_OUTPUTS) ^ set(tf["output"]))
    assert len(wanted) == 21     # 19 + the user pool and app client ids (inv users.*, issue 14)


def test_tables_equal_tables_py(tf):
    tables = tf["resource"]["aws_dynamodb_table"]
    names = resource_names("PROJ")
    by_name = {_resolve(t["name"], tf): t for t in tables.values()}
    assert set(by_name) == {names[t.key] for t in TABLES}
    for spec in TABLES:
        t = by_name[names[spec.key]]
        assert t["hash_key"] == spec.hash_key
        assert "range_key" not in t
        assert {a["name"] for a in t["attribute"]} == set(spec.attributes)
        assert all(a["type"] == "S" for a in t["attribute"])
        indexes = {ix["name"]: (ix["hash_key"], ix.get("range_key")) for ix in t.get("global_secondary_index", [])}
        assert indexes == {ix.name: (ix.hash_key, ix.range_key) for ix in spec.indexes}
        assert t["point_in_time_recovery"][0]["enabled"] is True
        assert t["server_side_encryption"][0]["enabled"] is True


def test_names_follow_resource_names(tf):
    r = tf["resource"]
    expected = resource_names("PROJ", "ACCT")
    found = {
        "function_name": r["aws_lambda_function"]["handler"]["function_name"],
        "lambda_alias": r["aws_lambda_alias"]["production"]["name"],
        "log_group": r["aws_cloudwatch_log_group"]["lambda"]["name"],
        "ecr_repository": r["aws_ecr_repository"]["mcp"]["name"],
        "ecs_cluster": r["aws_ecs_cluster"]["main"]["name"],
        "ecs_service": r["aws_ecs_service"]["mcp"]["name"],
        "github_token_ssm_param": r["aws_ssm_parameter"]["github_token"]["name"],
        "kb_bucket": r["aws_s3_bucket"]["kb"]["bucket"],
        "ui_bucket": r["aws_s3_bucket"]["ui"]["bucket"],
        "artifact_bucket": r["aws_s3_bucket"]["artifacts"]["bucket"],
        "lock_table": r["aws_dynamodb_table"]["deploy_locks"]["name"],
    }
    assert {k: _resolve(v, tf) for k, v in found.items()} == {k: expected[k] for k in found}
    assert _unquote(tf["variable"]["project"]["default"]) == "sre-poc"


def test_security_properties_the_issue_asks_for(tf):
    r = tf["resource"]
    assert r["aws_lambda_function_url"]["production"]["authorization_type"] == "AWS_IAM"
    assert {o["origin_access_control_origin_type"] for o in r["aws_cloudfront_origin_access_control"].values()} == \
        {"s3", "lambda"}
    ecr = r["aws_ecr_repository"]["mcp"]
    assert ecr["image_tag_mutability"] == "IMMUTABLE"
    assert ecr["image_scanning_configuration"][0]["scan_on_push"] is True
    assert "${var.ecr_keep_images}" in r["aws_ecr_lifecycle_policy"]["mcp"]["policy"]
    assert _unquote(tf["variable"]["ecr_keep_images"]["default"]) == 20
    breaker = r["aws_ecs_service"]["mcp"]["deployment_circuit_breaker"][0]
    assert breaker == {"enable": True, "rollback": True}
    ssm = r["aws_ssm_parameter"]["github_token"]
    assert ssm["type"] == "SecureString" and ssm["lifecycle"][0]["ignore_changes"] in (["${value}"], ["value"])
    dist = r["aws_cloudfront_distribution"]["site"]
    assert dist["default_cache_behavior"][0]["viewer_protocol_policy"] == "redirect-to-https"
    api = dist["dynamic"][0]["ordered_cache_behavior"]
    assert api["for_each"] == ["/api", "/api/*"]  # the UI's default base is "/api?action=..."
    assert api["content"][0]["viewer_protocol_policy"] == "https-only"
    assert api["content"][0]["target_origin_id"] == "${local.api_origin_id}"
    # custom error pages would replace the API's own 404 replies with index.html
    assert "custom_error_response" not in dist
    assert r["aws_cloudwatch_log_group"]["lambda"]["retention_in_days"] == "${var.log_retention_days}"


def test_kb_bucket_accepts_the_uis_presigned_put(tf):
    """ui/README.md: the browser PUTs KB files to the presigned URL, after a CORS preflight."""
    rule = tf["resource"]["aws_s3_bucket_cors_configuration"]["kb"]["cors_rule"][0]
    assert tf["resource"]["aws_s3_bucket_cors_configuration"]["kb"]["bucket"] == "${aws_s3_bucket.kb.id}"
    assert rule["allowed_methods"] == ["PUT"] and "Content-Type" in rule["allowed_headers"]
    assert rule["allowed_origins"] == ["${local.ui_origin}"]   # the site's origin (the local target restates it)
    assert tf["locals"]["ui_origin"] == "https://${aws_cloudfront_distribution.site.domain_name}"
    csp = tf["resource"]["aws_cloudfront_response_headers_policy"]["security"]["security_headers_config"][0][
        "content_security_policy"][0]["content_security_policy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()[1:]
    assert connect == ["'self'", "https://${local.kb_bucket}.s3.amazonaws.com",
                       "https://${local.kb_bucket}.s3.${var.region}.amazonaws.com",
                       "https://cognito-idp.${var.region}.amazonaws.com"]   # the UI's sign-in (SRP)


def _statements(doc: dict):
    for st in doc.get("statement", []):
        yield st
    for dyn in doc.get("dynamic", []):
        for body in dyn.values():
            for content in body.get("content", []):
                yield content


def test_iam_allows_name_their_actions():
    """Every Allow names its actions (no '*' or 'service:*'); only the KMS key policy's admin
    statement and Deny statements may use wildcards."""
    checked = 0
    for path in INFRA.glob("*.tf"):
        with path.open() as fh:
            doc = _clean(hcl2.load(fh))
        for block in doc.get("data", []):
            for name, policy in block.get("aws_iam_policy_document", {}).items():
                for st in _statements(policy):
                    checked += 1
                    if st.get("effect", "Allow") == "Deny" or (name == "kms" and st.get("sid") == "AccountAdministers"):
                        continue
                    wild = [a for a in st["actions"] if a == "*" or a.endswith(":*")]
                    assert not wild, f"{path.name} {name} {st.get('sid')}: {wild}"
    assert checked > 20


def test_placeholder_zip_holds_the_placeholder_handler():
    with zipfile.ZipFile(INFRA / "bootstrap" / "placeholder.zip") as zf:
        assert zf.namelist() == ["handler.py"]
        assert zf.read("handler.py") == (INFRA / "bootstrap" / "placeholder.py").read_bytes()


def test_backend_per_env():
    for env in ("dev", "staging", "prod"):
        config = hcl2.loads((INFRA / "backend" / f"{env}.hcl").read_text())
        assert _unquote(config["key"]) == f"tars/{env}/terraform.tfstate"
        assert config["encrypt"] is True and _unquote(config["dynamodb_table"])


def test_user_pool_admits_only_admin_created_users_with_strong_passwords(tf):
    r = tf["resource"]
    pool = r["aws_cognito_user_pool"]["sre"]
    assert pool["admin_create_user_config"][0]["allow_admin_create_user_only"] is True
    policy = pool["password_policy"][0]
    assert policy["minimum_length"] >= 14
    assert all(policy[k] is True for k in ("require_lowercase", "require_uppercase", "require_numbers",
                                           "require_symbols"))
    assert pool["mfa_configuration"] == '${var.cognito_require_mfa ? "ON" : "OPTIONAL"}'
    assert _unquote(tf["variable"]["cognito_require_mfa"]["default"]) is False
    client = r["aws_cognito_user_pool_client"]["ui"]
    assert client["generate_secret"] is False
    assert set(client["explicit_auth_flows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["prevent_user_existence_errors"] == "ENABLED"
    assert client["access_token_validity"] <= 60 and client["token_validity_units"][0]["access_token"] == "minutes"
    groups = r["aws_cognito_user_group"]["roles"]
    assert set(groups["for_each"]) == {"tars-viewers", "tars-editors"}
    env = r["aws_lambda_function"]["handler"]["environment"][0]["variables"]
    assert env["COGNITO_USER_POOL_ID"] == "${aws_cognito_user_pool.sre.id}"
    assert env["COGNITO_CLIENT_ID"] == "${aws_cognito_user_pool_client.ui.id}"


def test_waf_guards_the_distribution_from_us_east_1(tf):
    r = tf["resource"]
    acl = r["aws_wafv2_web_acl"]["site"]
    assert acl["scope"] == "CLOUDFRONT" and acl["provider"] == "${aws.us_east_1}"
    assert acl["count"] == "${var.waf_enabled ? 1 : 0}"
    rules = {rule["name"]: rule for rule in acl["rule"]}
    rate = rules["rate-limit-per-ip"]["statement"][0]["rate_based_statement"][0]
    assert rate["aggregate_key_type"] == "IP" and rate["limit"] == "${var.waf_rate_limit}"
    managed = {rule["statement"][0]["managed_rule_group_statement"][0]["name"]
               for rule in acl["rule"] if "managed_rule_group_statement" in rule["statement"][0]}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= managed
    dist = r["aws_cloudfront_distribution"]["site"]
    assert dist["web_acl_id"] == "${var.waf_enabled ? aws_wafv2_web_acl.site[0].arn : null}"
    redacted = [f["single_header"][0]["name"] for f in
                r["aws_wafv2_web_acl_logging_configuration"]["site"]["redacted_fields"]]
    assert "x-tars-token" in redacted and "authorization" in redacted


def test_log_readers_see_only_the_configured_prefix():
    """The handler and the MCP task read log groups under var.log_group_prefix, never `log-group:*`."""
    text = (INFRA / "iam.tf").read_text()
    for sid in ("ReadServiceLogs", "ReadLogs"):
        block = text[text.index(f'sid       = "{sid}"'):]
        resources = block[block.index("resources"):block.index("\n", block.index("resources"))]
        assert "log-group:${var.log_group_prefix}*" in resources and "log-group:*" not in resources, resources
