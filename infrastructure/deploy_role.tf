# Keyless deploys from GitHub Actions: the account's GitHub OIDC identity provider and this
# environment's deploy role. The role trusts only this repository's GitHub environment of the
# same name (sub = repo:OWNER/REPO:environment:NAME, aud = sts.amazonaws.com); the workflows
# assume it with aws-actions/configure-aws-credentials (role-to-assume), no access keys.
#
# Each env is its own root (backend/<env>.hcl), so each root creates its env's role,
# arn:aws:iam::<account>:role/<project>-github-deploy-<env> (no output: outputs.tf holds only
# what the tasks read, and the local target writes every output). The OIDC
# provider exists once per account: the first env creates it; another env in the same account
# passes its ARN (github_oidc_provider_arn) instead.
#
# The permissions below are THE deploy role policy (one place): a scoped first version of what
# the tasks call. A later step derives it exactly from recorded calls; until then the role can
# plan the infrastructure (read-only verbs) but not apply infrastructure changes (README, CI/CD).

variable "github_deploy_role" {
  description = "Create the GitHub Actions deploy role of this env (and the OIDC provider unless github_oidc_provider_arn is set)."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "The repository whose workflows may deploy, as OWNER/REPO (the tasks pass GITHUB_REPOSITORY)."
  type        = string
  default     = ""
}

variable "github_environment" {
  description = "GitHub environment the role trusts (default: the env name)."
  type        = string
  default     = ""
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing token.actions.githubusercontent.com provider of this account (empty: create it)."
  type        = string
  default     = ""
}

variable "github_deploy_role_policy_arns" {
  description = "Extra managed policies for the deploy role (for example one that lets CI apply infrastructure changes)."
  type        = list(string)
  default     = []
}

variable "state_bucket" {
  description = "S3 bucket of the Terraform state (as in backend/<env>.hcl): the deploy role reads and writes this env's state."
  type        = string
  default     = "sre-poc-terraform-state"
}

variable "state_lock_table" {
  description = "DynamoDB lock table of the Terraform state (as in backend/<env>.hcl)."
  type        = string
  default     = "sre-poc-terraform-locks"
}

locals {
  github_oidc_host     = "token.actions.githubusercontent.com"
  github_audience      = "sts.amazonaws.com"
  github_environment   = var.github_environment != "" ? var.github_environment : var.env
  github_subject       = "repo:${var.github_repository}:environment:${local.github_environment}"
  create_github_oidc   = var.github_deploy_role && var.github_oidc_provider_arn == ""
  deploy_role_name     = "${var.project}-github-deploy-${var.env}"
  deploy_state_key     = "tars/${var.env}/terraform.tfstate"
  arn_prefix           = "arn:${local.partition}"
  deploy_function_arn  = "${local.arn_prefix}:lambda:${var.region}:${local.account_id}:function:${local.function_name}"
  deploy_log_group_arn = "${local.arn_prefix}:logs:${var.region}:${local.account_id}:log-group:${local.log_group}"
  # Built from the provider's well-known ARN (not the resource's attribute), so the trust policy
  # is known at plan time and tests can read it from the plan JSON.
  github_oidc_provider_arn = (var.github_oidc_provider_arn != "" ? var.github_oidc_provider_arn :
  "${local.arn_prefix}:iam::${local.account_id}:oidc-provider/${local.github_oidc_host}")

  # The deploy role's permissions: sid => actions and the resources they apply to.
  deploy_role_statements = {
    LambdaDeploy = {
      actions = [
        "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion", "lambda:ListVersionsByFunction",
        "lambda:DeleteFunction", "lambda:GetAlias", "lambda:CreateAlias", "lambda:UpdateAlias", "lambda:ListAliases",
        "lambda:InvokeFunction", "lambda:GetFunctionUrlConfig",
      ]
      resources = [local.deploy_function_arn, "${local.deploy_function_arn}:*"]
    }
    SiteAndArtifacts = {
      actions = [
        "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
      ]
      resources = ["${local.arn_prefix}:s3:::${local.ui_bucket}/*", "${local.arn_prefix}:s3:::${local.artifact_bucket}/*"]
    }
    SiteAndArtifactBuckets = {
      actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketVersioning", "s3:GetBucketLocation"]
      resources = ["${local.arn_prefix}:s3:::${local.ui_bucket}", "${local.arn_prefix}:s3:::${local.artifact_bucket}"]
    }
    Invalidate = {
      actions   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:GetDistribution"]
      resources = [local.deploy_distribution_arn]
    }
    PushImage = {
      actions = [
        "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
      ]
      resources = ["${local.arn_prefix}:ecr:${var.region}:${local.account_id}:repository/${local.ecr_repository}"]
    }
    RollService = {
      actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
      resources = ["${local.arn_prefix}:ecs:${var.region}:${local.account_id}:service/${local.ecs_cluster}/${local.ecs_service}"]
    }
    ServiceTasks = {
      actions = ["ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeClusters"]
      resources = [
        "${local.arn_prefix}:ecs:${var.region}:${local.account_id}:cluster/${local.ecs_cluster}",
        "${local.arn_prefix}:ecs:${var.region}:${local.account_id}:task/${local.ecs_cluster}/*",
        "${local.arn_prefix}:ecs:${var.region}:${local.account_id}:container-instance/${local.ecs_cluster}/*",
      ]
    }
    PassTaskRoles = {
      actions = ["iam:PassRole"]
      resources = [
        "${local.arn_prefix}:iam::${local.account_id}:role/${var.project}-mcp-execution",
        "${local.arn_prefix}:iam::${local.account_id}:role/${var.project}-mcp-task",
      ]
    }
    DeployLock = {
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"]
      resources = ["${local.arn_prefix}:dynamodb:${var.region}:${local.account_id}:table/${local.lock_table}"]
    }
    VerifyKnowledgeBase = {
      actions = ["dynamodb:DescribeTable"]
      resources = [
        "${local.arn_prefix}:dynamodb:${var.region}:${local.account_id}:table/${local.kb_documents_table}",
        "${local.arn_prefix}:dynamodb:${var.region}:${local.account_id}:table/${local.kb_chunks_table}",
      ]
    }
    ReadLogs = {
      actions = ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams"]
      resources = [
        local.deploy_log_group_arn, "${local.deploy_log_group_arn}:*",
        "${local.arn_prefix}:logs:${var.region}:${local.account_id}:log-group:/ecs/${local.ecs_service}:*",
      ]
    }
    ReadToken = {
      actions   = ["ssm:GetParameter"]
      resources = ["${local.arn_prefix}:ssm:${var.region}:${local.account_id}:parameter${local.github_token_param}"]
    }
    DataKey = {
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [aws_kms_key.data.arn]
    }
    TerraformState = {
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${local.arn_prefix}:s3:::${var.state_bucket}/${local.deploy_state_key}"]
    }
    TerraformStateBucket = {
      actions   = ["s3:ListBucket"]
      resources = ["${local.arn_prefix}:s3:::${var.state_bucket}"]
    }
    TerraformStateLock = {
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"]
      resources = ["${local.arn_prefix}:dynamodb:${var.region}:${local.account_id}:table/${var.state_lock_table}"]
    }
    # terraform plan (deploy --infra) refreshes every resource of infrastructure/: read-only verbs
    # on the project's resources. Applying changes is not granted (see the README's CI/CD section).
    TerraformPlanRead = {
      actions = [
        "s3:GetBucket*", "s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration", "s3:GetReplicationConfiguration",
        "s3:GetAccelerateConfiguration", "lambda:Get*", "lambda:List*", "iam:GetRole", "iam:GetRolePolicy",
        "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetOpenIDConnectProvider", "kms:DescribeKey",
        "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "dynamodb:Describe*",
        "dynamodb:ListTagsOfResource", "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
        "ecr:ListTagsForResource", "ecs:ListTagsForResource", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
        "ssm:DescribeParameters", "ssm:ListTagsForResource", "cloudfront:Get*", "cloudfront:List*",
        "servicediscovery:GetNamespace", "servicediscovery:GetService", "servicediscovery:ListTagsForResource",
      ]
      resources = concat(
        [for b in [local.ui_bucket, local.kb_bucket, local.artifact_bucket, "${var.project}-logs-${local.account_id}"] :
        "${local.arn_prefix}:s3:::${b}"],
        [local.deploy_function_arn, "${local.deploy_function_arn}:*", aws_kms_key.data.arn, local.github_oidc_provider_arn,
          "${local.arn_prefix}:iam::${local.account_id}:role/${var.project}-*",
          "${local.arn_prefix}:dynamodb:${var.region}:${local.account_id}:table/${var.project}-*",
          "${local.arn_prefix}:ecr:${var.region}:${local.account_id}:repository/${local.ecr_repository}",
          "${local.arn_prefix}:ecs:${var.region}:${local.account_id}:cluster/${local.ecs_cluster}",
          "${local.arn_prefix}:ecs:${var.region}:${local.account_id}:service/${local.ecs_cluster}/${local.ecs_service}",
          "${local.arn_prefix}:logs:${var.region}:${local.account_id}:log-group:*",
          "${local.arn_prefix}:ssm:${var.region}:${local.account_id}:parameter${local.github_token_param}",
          "${local.arn_prefix}:servicediscovery:${var.region}:${local.account_id}:*",
        "${local.arn_prefix}:cloudfront::${local.account_id}:*"],
      )
    }
    # These calls have no resource-level permissions: AWS documents "*" as their only resource.
    Unscoped = {
      actions = [
        "ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions", "logs:DescribeLogGroups", "ec2:Describe*", "kms:ListAliases",
      ]
      resources = ["*"]
    }
  }
  deploy_distribution_arn = aws_cloudfront_distribution.site.arn
}

resource "aws_iam_openid_connect_provider" "github" {
  count          = local.create_github_oidc ? 1 : 0
  url            = "https://${local.github_oidc_host}"
  client_id_list = [local.github_audience]
}

data "aws_iam_policy_document" "github_deploy_trust" {
  statement {
    sid     = "GitHubEnvironmentOnly"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = [local.github_audience]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = [local.github_subject]
    }
  }
}

resource "aws_iam_role" "github_deploy" {
  count                = var.github_deploy_role ? 1 : 0
  name                 = local.deploy_role_name
  description          = "Deploys TARS ${var.env} from ${var.github_repository} (GitHub environment ${local.github_environment})"
  assume_role_policy   = data.aws_iam_policy_document.github_deploy_trust.json
  max_session_duration = 3600

  lifecycle {
    precondition {
      condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
      error_message = "github_repository must be OWNER/REPO: set GITHUB_REPOSITORY (in .env.<env> or the environment; GitHub Actions sets it), or set github_deploy_role = false."
    }
  }

  depends_on = [aws_iam_openid_connect_provider.github]
}

data "aws_iam_policy_document" "github_deploy" {
  dynamic "statement" {
    for_each = local.deploy_role_statements
    content {
      sid       = statement.key
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "github_deploy" {
  count  = var.github_deploy_role ? 1 : 0
  name   = "tars-deploy"
  role   = aws_iam_role.github_deploy[0].id
  policy = data.aws_iam_policy_document.github_deploy.json
}

resource "aws_iam_role_policy_attachment" "github_deploy_extra" {
  for_each   = var.github_deploy_role ? toset(var.github_deploy_role_policy_arns) : toset([])
  role       = aws_iam_role.github_deploy[0].name
  policy_arn = each.value
}
