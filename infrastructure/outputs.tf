# The names tars_tasks/settings.py reads (Field.output) from .tars/<env>/outputs.json (and the
# cognito_* ones it will read for sign-in),
# which inv deploy-infrastructure writes with `terraform output -json`.

output "function_name" {
  description = "Lambda function of the TARS handler"
  value       = aws_lambda_function.handler.function_name
}

output "lambda_alias" {
  description = "Alias users reach (inv deploy-lambda moves it)"
  value       = aws_lambda_alias.production.name
}

output "function_url" {
  description = "Function URL of the alias (IAM auth: reached through CloudFront)"
  value       = aws_lambda_function_url.production.function_url
}

output "artifact_bucket" {
  description = "S3 bucket for Lambda zips over 50 MB (lambda/) and release records (releases/)"
  value       = aws_s3_bucket.artifacts.id
}

output "ui_bucket" {
  description = "S3 bucket of the triage UI"
  value       = aws_s3_bucket.ui.id
}

output "cloudfront_distribution_id" {
  description = "CloudFront distribution of the UI and API"
  value       = aws_cloudfront_distribution.site.id
}

output "site_url" {
  description = "Public URL of the triage UI"
  value       = "https://${aws_cloudfront_distribution.site.domain_name}"
}

output "api_endpoint" {
  description = "API base the React app calls (VITE_API_ENDPOINT)"
  value       = "https://${aws_cloudfront_distribution.site.domain_name}/api"
}

output "ecr_repository_url" {
  description = "ECR repository of the MCP image"
  value       = aws_ecr_repository.mcp.repository_url
}

output "ecs_cluster" {
  description = "ECS cluster"
  value       = aws_ecs_cluster.main.name
}

output "ecs_service" {
  description = "ECS service of the MCP server"
  value       = aws_ecs_service.mcp.name
}

output "lock_table" {
  description = "DynamoDB table of deploy locks"
  value       = aws_dynamodb_table.deploy_locks.name
}

output "bedrock_model_id" {
  description = "Claude model the handler chats with"
  value       = var.bedrock_model_id
}

output "incidents_table" {
  description = "DynamoDB incidents table"
  value       = aws_dynamodb_table.incidents.name
}

output "kb_documents_table" {
  description = "DynamoDB KB documents table"
  value       = aws_dynamodb_table.kb_documents.name
}

output "kb_chunks_table" {
  description = "DynamoDB KB chunks table"
  value       = aws_dynamodb_table.kb_chunks.name
}

output "kb_bucket" {
  description = "S3 bucket for raw KB files"
  value       = aws_s3_bucket.kb.id
}

output "mcp_endpoint" {
  description = "Internal URL of the MCP server"
  value       = local.mcp_endpoint
}

output "github_token_ssm_param" {
  description = "SSM path of the GitHub token"
  value       = aws_ssm_parameter.github_token.name
}

# Sign-in (issue 14): the UI's build (VITE_COGNITO_*) and inv users.* read these.
output "cognito_user_pool_id" {
  description = "Cognito user pool of the SRE team"
  value       = aws_cognito_user_pool.sre.id
}

output "cognito_client_id" {
  description = "App client the triage UI signs in with (SRP, no secret)"
  value       = aws_cognito_user_pool_client.ui.id
}

output "cognito_region" {
  description = "Region of the user pool"
  value       = var.region
}

output "cognito_issuer" {
  description = "Issuer (iss) of the pool's tokens"
  value       = local.cognito_issuer
}

output "cognito_jwks_url" {
  description = "The pool's signing keys (JWKS) the handler verifies tokens with"
  value       = "${local.cognito_issuer}/.well-known/jwks.json"
}
