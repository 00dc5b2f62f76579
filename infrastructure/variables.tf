variable "project" {
  description = "Project name: the prefix of every resource (tars.project in invoke.yaml)."
  type        = string
  default     = "sre-poc"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.project))
    error_message = "project must be 2-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "env" {
  description = "Environment name (dev, staging, prod): tags only; each env has its own state."
  type        = string
  default     = "dev"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "embedding_model_id" {
  description = "Titan embedding model the handler's knowledge base uses (its built-in default)."
  type        = string
  default     = "amazon.titan-embed-text-v2:0"
}

variable "bedrock_model_id" {
  description = "Claude model the handler chats with (BEDROCK_MODEL_ID)."
  type        = string
  default     = "anthropic.claude-3-5-sonnet-20240620-v1:0"
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group."
  type        = number
  default     = 365
}

variable "lambda_timeout" {
  description = "Seconds the handler may run (cold start + a Bedrock call can exceed 60)."
  type        = number
  default     = 120
}

variable "lambda_memory" {
  description = "Handler memory in MB."
  type        = number
  default     = 512
}

variable "lambda_reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the handler."
  type        = number
  default     = 20
}

variable "api_origin_read_timeout" {
  description = "Seconds CloudFront waits for /api/* (60 is the maximum without a quota increase)."
  type        = number
  default     = 60
}

variable "mcp_port" {
  description = "Port the MCP log server listens on (MCP_PORT; its image defaults to 8000)."
  type        = number
  default     = 8000
}

variable "mcp_image_tag" {
  description = "Image tag of the first MCP task definition; inv deploy-mcp registers later revisions."
  type        = string
  default     = "initial"
}

variable "mcp_cpu" {
  description = "Fargate CPU units of the MCP task."
  type        = number
  default     = 256
}

variable "mcp_memory" {
  description = "Fargate memory (MB) of the MCP task."
  type        = number
  default     = 512
}

variable "vpc_cidr" {
  description = "CIDR of the TARS VPC (two private subnets, no internet route)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "ecr_keep_images" {
  description = "Images the ECR lifecycle policy keeps."
  type        = number
  default     = 20
}

variable "log_group_prefix" {
  description = "Log groups the chat may read (LOG_GROUP_PREFIX): the handler's and the MCP server's roles read only these."
  type        = string
  default     = "/ecs/"

  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*/$", var.log_group_prefix)) && var.log_group_prefix != "/"
    error_message = "log_group_prefix must look like /ecs/ (a path ending in '/', not '/' alone)."
  }
}

variable "cognito_require_mfa" {
  description = "Require MFA (an authenticator app) for every SRE: set true in production; optional otherwise."
  type        = bool
  default     = false
}

variable "cognito_deletion_protection" {
  description = "Protect the user pool from deletion (turn off only to tear an environment down)."
  type        = bool
  default     = true
}

variable "cors_allowed_origins" {
  description = "Extra origins allowed to call the API from a browser (ALLOWED_ORIGINS). The site itself calls /api on its own origin and needs none."
  type        = list(string)
  default     = []
}

variable "waf_enabled" {
  description = "Attach the WAF web ACL (rate limit + AWS managed rules) to the distribution."
  type        = bool
  default     = true
}

variable "waf_rate_limit" {
  description = "Requests one IP may send in 5 minutes before the WAF blocks it."
  type        = number
  default     = 2000
}
