# The TARS handler: Python 3.11, in the VPC (it calls the MCP server by its private name), every
# variable of the runbook's environment table set, environment encrypted with the TARS key.
# Terraform creates the function with placeholder code and then ignores code changes:
# inv deploy-lambda ships the code, publishes versions and moves the `production` alias.

resource "aws_cloudwatch_log_group" "lambda" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_lambda_function" "handler" {
  #checkov:skip=CKV_AWS_116:invoked synchronously through its Function URL; a dead-letter queue only serves asynchronous invokes
  #checkov:skip=CKV_AWS_272:inv deploy-lambda ships the code as a zip it builds and verifies (CodeSha256); no signing profile exists for it
  function_name                  = local.function_name
  description                    = "TARS incident handler (code shipped by inv deploy-lambda)"
  role                           = aws_iam_role.lambda.arn
  runtime                        = "python3.11"
  handler                        = "handler.lambda_handler"
  filename                       = "${path.module}/bootstrap/placeholder.zip"
  timeout                        = var.lambda_timeout
  memory_size                    = var.lambda_memory
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  publish                        = true
  kms_key_arn                    = aws_kms_key.data.arn

  environment {
    variables = {
      BEDROCK_MODEL_ID       = var.bedrock_model_id
      INCIDENTS_TABLE        = aws_dynamodb_table.incidents.name
      KB_DOCUMENTS_TABLE     = aws_dynamodb_table.kb_documents.name
      KB_CHUNKS_TABLE        = aws_dynamodb_table.kb_chunks.name
      KB_S3_BUCKET           = aws_s3_bucket.kb.id
      MCP_ENDPOINT           = local.mcp_endpoint
      GITHUB_TOKEN_SSM_PARAM = aws_ssm_parameter.github_token.name
      # who may call it (lambda_src/auth.py) and what it may read
      COGNITO_USER_POOL_ID = aws_cognito_user_pool.sre.id
      COGNITO_CLIENT_ID    = aws_cognito_user_pool_client.ui.id
      LOG_GROUP_PREFIX     = var.log_group_prefix
      ALLOWED_ORIGINS      = join(",", var.cors_allowed_origins)
    }
  }

  vpc_config {
    subnet_ids         = aws_subnet.private[*].id
    security_group_ids = [aws_security_group.lambda.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  lifecycle {
    # the deploy task ships code and publishes versions
    ignore_changes = [filename, source_code_hash, s3_bucket, s3_key, s3_object_version, publish]
  }

  depends_on = [aws_iam_role_policy.lambda, aws_cloudwatch_log_group.lambda]
}

resource "aws_lambda_alias" "production" {
  name             = local.lambda_alias
  function_name    = aws_lambda_function.handler.function_name
  function_version = aws_lambda_function.handler.version

  lifecycle {
    # inv deploy-lambda and inv rollback-lambda move the alias
    ignore_changes = [function_version, routing_config]
  }
}

# The Function URL accepts only SigV4-signed requests: CloudFront's origin access control signs
# those of the site's users (who must also carry a Cognito token, checked by the handler), and an
# IAM principal of this account allowed lambda:InvokeFunctionUrl signs its own (machine clients).
resource "aws_lambda_function_url" "production" {
  function_name      = aws_lambda_function.handler.function_name
  qualifier          = aws_lambda_alias.production.name
  authorization_type = "AWS_IAM"
}

resource "aws_lambda_permission" "cloudfront_url" {
  statement_id           = "AllowCloudFrontInvokeFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.handler.function_name
  qualifier              = aws_lambda_alias.production.name
  principal              = "cloudfront.amazonaws.com"
  source_arn             = aws_cloudfront_distribution.site.arn
  function_url_auth_type = "AWS_IAM"
}

# Function URLs created since October 2025 also need lambda:InvokeFunction for the caller.
resource "aws_lambda_permission" "cloudfront_invoke" {
  statement_id  = "AllowCloudFrontInvokeFunction"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.handler.function_name
  qualifier     = aws_lambda_alias.production.name
  principal     = "cloudfront.amazonaws.com"
  source_arn    = aws_cloudfront_distribution.site.arn
}

# S3 tells the handler about every new KB file, so an oversized upload is deleted and its
# document marked failed even when the client never calls kb_upload_complete.
resource "aws_lambda_permission" "kb_bucket" {
  statement_id   = "AllowKbBucketEvents"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.handler.function_name
  qualifier      = aws_lambda_alias.production.name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.kb.arn
  source_account = local.account_id
}
