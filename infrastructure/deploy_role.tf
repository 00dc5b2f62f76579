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
# The permissions below are THE deploy role policy (one place), derived from the calls the tasks
# make (docs/deploy-role-actions.json, docs/security.md). The role can plan the infrastructure
# (read-only verbs) but not apply infrastructure changes (README, CI/CD).

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

  # The deploy role's permissions: sid => actions and the resources they apply to. Derived from
  # the calls the tasks make (bench/deploy_role_actions.py records them into
  # docs/deploy-role-actions.json; tests/e2e/test_deploy_role_actions.py fails when a task calls
  # an action this map does not grant, or this map grants one no task calls). docs/security.md
  # says why each is needed.
  deploy_ecs_arn   = "${local.arn_prefix}:ecs:${var.region}:${local.account_id}"
  deploy_table_arn = "${local.arn_prefix}:dynamodb:${var.region}:${local.account_id}:table"
  deploy_role_statements = {
    # deploy-lambda: upload, publish, smoke-test the new version, move the alias, prune old versions
    LambdaDeploy = {
      actions = [
        "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode",
        "lambda:PublishVersion", "lambda:ListVersionsByFunction", "lambda:ListAliases", "lambda:CreateAlias",
        "lambda:UpdateAlias", "lambda:InvokeFunction", "lambda:GetFunctionUrlConfig", "lambda:InvokeFunctionUrl",
      ]
      resources = [local.deploy_function_arn, "${local.deploy_function_arn}:*"]
    }
    # prune deletes published versions only (always with a Qualifier): never the function itself
    LambdaPruneVersions = {
      actions   = ["lambda:DeleteFunction"]
      resources = ["${local.deploy_function_arn}:*"]
    }
    # deploy-ui, rollback-ui: the site's objects (assets first, index.html last; object versions)
    SiteObjects = {
      actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${local.arn_prefix}:s3:::${local.ui_bucket}/*"]
    }
    SiteBucket = {
      actions   = ["s3:ListBucket", "s3:GetBucketVersioning"]
      resources = ["${local.arn_prefix}:s3:::${local.ui_bucket}"]
    }
    # release records of this env only (releases/<env>/), and zips over Lambda's 50 MB upload limit
    ReleaseRecords = {
      actions = ["s3:GetObject", "s3:PutObject"]
      resources = [
        "${local.arn_prefix}:s3:::${local.artifact_bucket}/releases/${var.env}/*",
        "${local.arn_prefix}:s3:::${local.artifact_bucket}/lambda/${local.function_name}/*",
      ]
    }
    # listing the records (releases/<env>/...), and verify's check that the KB bucket exists
    ListRecordsAndKnowledgeBase = {
      actions   = ["s3:ListBucket"]
      resources = ["${local.arn_prefix}:s3:::${local.artifact_bucket}", "${local.arn_prefix}:s3:::${local.kb_bucket}"]
    }
    # the data buckets are SSE-KMS with the data key: writing needs a data key, reading decrypts
    DataKey = {
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [aws_kms_key.data.arn]
    }
    Invalidate = {
      actions   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:GetDistribution"]
      resources = [local.deploy_distribution_arn]
    }
    # deploy-mcp: is the image in ECR (the push itself: PushImage)
    FindImage = {
      actions   = ["ecr:DescribeImages"]
      resources = ["${local.arn_prefix}:ecr:${var.region}:${local.account_id}:repository/${local.ecr_repository}"]
    }
    # docker/podman push with the login token (the engine's calls, not the tasks': docs/security.md)
    PushImage = {
      actions = [
        "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage",
      ]
      resources = ["${local.arn_prefix}:ecr:${var.region}:${local.account_id}:repository/${local.ecr_repository}"]
    }
    RollService = {
      actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
      resources = ["${local.deploy_ecs_arn}:service/${local.ecs_cluster}/${local.ecs_service}"]
    }
    # the rollout watch: the service's tasks and why they stopped
    WatchTasks = {
      actions = ["ecs:ListTasks", "ecs:DescribeTasks"]
      resources = [
        "${local.deploy_ecs_arn}:container-instance/${local.ecs_cluster}/*",
        "${local.deploy_ecs_arn}:task/${local.ecs_cluster}/*",
      ]
    }
    # a new task definition revision keeps the MCP roles: RegisterTaskDefinition passes them
    PassTaskRoles = {
      actions = ["iam:PassRole"]
      resources = [
        "${local.arn_prefix}:iam::${local.account_id}:role/${var.project}-mcp-execution",
        "${local.arn_prefix}:iam::${local.account_id}:role/${var.project}-mcp-task",
      ]
    }
    DeployLock = {
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      resources = ["${local.deploy_table_arn}/${local.lock_table}"]
    }
    # verify: the KB tables exist and a document's chunks are indexed
    VerifyKnowledgeBase = {
      actions   = ["dynamodb:DescribeTable"]
      resources = ["${local.deploy_table_arn}/${local.kb_documents_table}", "${local.deploy_table_arn}/${local.kb_chunks_table}"]
    }
    # verify's chunk lookup, prod preflight's open incidents: each through its index
    QueryIndexes = {
      actions = ["dynamodb:Query"]
      resources = [
        "${local.deploy_table_arn}/${local.kb_chunks_table}/index/DocumentIndex",
        "${local.deploy_table_arn}/${local.incidents_table}/index/StatusIndex",
      ]
    }
    # verify reads the function's log lines; the rollout watch reads the MCP containers' logs
    ReadLogs = {
      actions = ["logs:FilterLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"]
      resources = [
        "${local.deploy_log_group_arn}:*",
        "${local.arn_prefix}:logs:${var.region}:${local.account_id}:log-group:/ecs/${local.ecs_service}:*",
      ]
    }
    # These calls have no resource-level permissions: AWS documents "*" as their only resource.
    Unscoped = {
      actions = [
        "ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",
      ]
      resources = ["*"]
    }
    # terraform (deploy --infra) with this env's state: the S3 backend's object and lock
    TerraformState = {
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${local.arn_prefix}:s3:::${var.state_bucket}/${local.deploy_state_key}"]
    }
    TerraformStateBucket = {
      actions   = ["s3:ListBucket"]
      resources = ["${local.arn_prefix}:s3:::${var.state_bucket}"]
    }
    TerraformStateLock = {
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
      resources = ["${local.deploy_table_arn}/${var.state_lock_table}"]
    }
    # terraform plan (deploy --infra) refreshes every resource of infrastructure/: read-only verbs
    # on the project's resources. Applying changes is not granted (see the README's CI/CD section).
    # The provider's calls are not botocore calls, so they are not recorded: docs/security.md.
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
        "cognito-idp:DescribeUserPool", "cognito-idp:DescribeUserPoolClient", "cognito-idp:GetUserPoolMfaConfig",
        "cognito-idp:GetGroup", "cognito-idp:ListTagsForResource", "wafv2:GetWebACL", "wafv2:GetLoggingConfiguration",
        "wafv2:ListTagsForResource",
      ]
      resources = concat(
        [for b in [local.ui_bucket, local.kb_bucket, local.artifact_bucket, "${var.project}-logs-${local.account_id}"] :
        "${local.arn_prefix}:s3:::${b}"],
        [local.deploy_function_arn, "${local.deploy_function_arn}:*", aws_kms_key.data.arn, local.github_oidc_provider_arn,
          "${local.arn_prefix}:iam::${local.account_id}:role/${var.project}-*",
          "${local.deploy_table_arn}/${var.project}-*",
          "${local.arn_prefix}:ecr:${var.region}:${local.account_id}:repository/${local.ecr_repository}",
          "${local.deploy_ecs_arn}:cluster/${local.ecs_cluster}",
          "${local.deploy_ecs_arn}:service/${local.ecs_cluster}/${local.ecs_service}",
          "${local.arn_prefix}:logs:${var.region}:${local.account_id}:log-group:*",
          "${local.arn_prefix}:ssm:${var.region}:${local.account_id}:parameter${local.github_token_param}",
          "${local.arn_prefix}:servicediscovery:${var.region}:${local.account_id}:*",
          # a user pool's ARN holds its generated id, not its name: this account's pools in the region
          "${local.arn_prefix}:cognito-idp:${var.region}:${local.account_id}:userpool/*",
          "${local.arn_prefix}:wafv2:us-east-1:${local.account_id}:global/webacl/${var.project}-site/*",
        "${local.arn_prefix}:cloudfront::${local.account_id}:*"],
      )
    }
    # terraform plan's reads that AWS documents with "*" as their only resource
    TerraformPlanUnscoped = {
      actions   = ["ec2:Describe*", "kms:ListAliases", "logs:DescribeLogGroups"]
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
