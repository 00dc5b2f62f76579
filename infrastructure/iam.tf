# Least privilege: every data action is named and scoped to TARS's own resources.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${var.project}-incident-handler"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  # Only the services' log groups (var.log_group_prefix), never TARS's own (audit lines) or others.
  statement {
    sid       = "ReadServiceLogs"
    actions   = ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams", "logs:StartQuery"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:${var.log_group_prefix}*"]
  }

  statement {
    sid       = "QueryResults"
    actions   = ["logs:GetQueryResults", "logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:*"]
  }

  statement {
    sid = "Tables"
    actions = [
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
      "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
    ]
    resources = flatten([
      for t in [aws_dynamodb_table.incidents, aws_dynamodb_table.kb_documents, aws_dynamodb_table.kb_chunks] :
      [t.arn, "${t.arn}/index/*"]
    ])
  }

  statement {
    # DeleteObjectVersion: an oversized upload is removed for good, not hidden behind a marker
    sid       = "KBFiles"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.kb.arn}/*"]
  }

  statement {
    sid       = "KBList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.kb.arn]
  }

  statement {
    sid       = "GitHubToken"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.github_token.arn]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }

  statement {
    sid     = "Chat"
    actions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = [
      "arn:${local.partition}:bedrock:*::foundation-model/${var.bedrock_model_id}",
      "arn:${local.partition}:bedrock:${var.region}::foundation-model/${var.embedding_model_id}",
      "arn:${local.partition}:bedrock:${var.region}:${local.account_id}:inference-profile/${var.bedrock_model_id}",
    ]
  }

  # ENIs of a function in a VPC: created in TARS's subnets with TARS's security group.
  statement {
    sid     = "VpcNetworkInterfaces"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*"],
      [for s in aws_subnet.private : s.arn],
      [aws_security_group.lambda.arn],
    )
  }

  statement {
    sid = "VpcManageInterfaces"
    actions = [
      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*"]
  }

  # Describe and X-Ray writes have no resource-level permissions: AWS documents "*" as their
  # only resource.
  statement {
    sid       = "DescribeAndTrace"
    actions   = ["ec2:DescribeNetworkInterfaces", "xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "tars-handler"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# ---------------------------------------------------------------- ECS task roles

data "aws_iam_policy_document" "ecs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Execution role: pull the image, write the task's logs.
resource "aws_iam_role" "mcp_execution" {
  name               = "${var.project}-mcp-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

data "aws_iam_policy_document" "mcp_execution" {
  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.mcp.arn]
  }
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
  statement {
    sid       = "TaskLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.mcp.arn}:*"]
  }
  statement {
    sid       = "ImageKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

resource "aws_iam_role_policy" "mcp_execution" {
  name   = "pull-and-log"
  role   = aws_iam_role.mcp_execution.id
  policy = data.aws_iam_policy_document.mcp_execution.json
}

# Task role: the MCP log server reads CloudWatch logs of this account and region.
resource "aws_iam_role" "mcp_task" {
  name               = "${var.project}-mcp-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

data "aws_iam_policy_document" "mcp_task" {
  statement {
    sid       = "ReadLogs"
    actions   = ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams", "logs:StartQuery"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:${var.log_group_prefix}*"]
  }
  statement {
    sid       = "QueryResults"
    actions   = ["logs:GetQueryResults", "logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:*"]
  }
  statement {
    sid       = "DecryptLogs"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

resource "aws_iam_role_policy" "mcp_task" {
  name   = "read-logs"
  role   = aws_iam_role.mcp_task.id
  policy = data.aws_iam_policy_document.mcp_task.json
}
