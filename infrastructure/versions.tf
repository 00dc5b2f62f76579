# Terraform 1.6+ (or OpenTofu 1.6+) with the AWS provider 5.x.
# The S3 backend is configured per environment: terraform init -backend-config=backend/<env>.hcl
# (inv deploy-infrastructure --env <env> does that).
terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }

  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = var.project
      Environment = var.env
      ManagedBy   = "terraform"
    }
  }
}

# CloudFront's WAF web ACL (and its log group) must live in us-east-1, whatever var.region is.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = {
      Project     = var.project
      Environment = var.env
      ManagedBy   = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# Two named zones (a and b), so the subnets never move when AWS adds a zone.
data "aws_availability_zones" "available" {
  state = "available"
  filter {
    name   = "zone-name"
    values = ["${var.region}a", "${var.region}b"]
  }
}

# Every name follows tars_tasks.settings.resource_names (tests/unit/test_infra_terraform.py checks it).
locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  function_name      = "${var.project}-incident-handler"
  lambda_alias       = "production"
  log_group          = "/aws/lambda/${var.project}-incident-handler"
  incidents_table    = "${var.project}-incidents"
  kb_documents_table = "${var.project}-kb-documents"
  kb_chunks_table    = "${var.project}-kb-chunks"
  lock_table         = "${var.project}-deploy-locks"
  ecr_repository     = "${var.project}-mcp-server"
  ecs_cluster        = "${var.project}-cluster"
  ecs_service        = "${var.project}-mcp-server"
  github_token_param = "/${var.project}/github-token"
  kb_bucket          = "${var.project}-kb-documents-${local.account_id}"
  ui_bucket          = "${var.project}-ui-${local.account_id}"
  artifact_bucket    = "${var.project}-artifacts-${local.account_id}"
  mcp_namespace      = "${var.project}.internal"
  mcp_endpoint       = "http://mcp.${var.project}.internal:${var.mcp_port}"
  azs                = slice(data.aws_availability_zones.available.names, 0, 2)
}
