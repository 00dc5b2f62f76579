# Buckets: the triage UI (served by CloudFront through origin access control), raw KB files,
# artifacts (Lambda zips over 50 MB under lambda/, release records under releases/: never served),
# and the access logs of the other three. All private (public
# access blocked, ACLs disabled), versioned, encrypted, TLS-only.

resource "aws_s3_bucket" "ui" {
  #checkov:skip=CKV_AWS_144:single-region deployment; versioning restores any earlier site and inv deploy-ui rebuilds it from git
  #checkov:skip=CKV2_AWS_62:no consumer of bucket events; inv deploy-ui invalidates CloudFront itself
  bucket = local.ui_bucket
}

resource "aws_s3_bucket" "kb" {
  #checkov:skip=CKV_AWS_144:single-region deployment; versioning keeps every earlier KB file
  bucket = local.kb_bucket
}

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_144:build artifacts are reproducible from git; replication would only add cost
  #checkov:skip=CKV2_AWS_62:no consumer of bucket events; inv deploy-lambda reads the key it wrote
  bucket = local.artifact_bucket
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log target; logging it into itself would loop
  #checkov:skip=CKV_AWS_144:access logs are kept in-region only
  #checkov:skip=CKV2_AWS_62:no consumer of bucket events
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers only to SSE-S3 (AES256) encrypted buckets
  bucket = "${var.project}-logs-${local.account_id}"
}

locals {
  data_buckets = {
    ui        = aws_s3_bucket.ui
    kb        = aws_s3_bucket.kb
    artifacts = aws_s3_bucket.artifacts
  }
  all_buckets = merge(local.data_buckets, { logs = aws_s3_bucket.logs })
}

resource "aws_s3_bucket_public_access_block" "all" {
  for_each                = local.all_buckets
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "all" {
  for_each = local.all_buckets
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "all" {
  for_each = local.all_buckets
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = local.data_buckets
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "data" {
  for_each      = local.data_buckets
  bucket        = each.value.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "all" {
  for_each = local.all_buckets
  bucket   = each.value.id

  rule {
    id     = "tidy-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = each.key == "kb" ? 365 : 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Artifacts: only the staged Lambda zips (lambda/) expire; release records (releases/, written by
  # the deploy tasks) are the deploy history and are kept.
  dynamic "rule" {
    for_each = contains(["artifacts", "logs"], each.key) ? [each.key] : []
    content {
      id     = "expire-${rule.value}"
      status = "Enabled"
      filter {
        prefix = rule.value == "artifacts" ? "lambda/" : null
      }
      expiration {
        days = rule.value == "logs" ? var.log_retention_days : 30
      }
    }
  }
}

# TLS only, on every bucket; the UI bucket also lets exactly this distribution read it.
data "aws_iam_policy_document" "bucket" {
  for_each = local.all_buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "ui" ? [1] : []
    content {
      sid       = "CloudFrontReadsSite"
      actions   = ["s3:GetObject"]
      resources = ["${each.value.arn}/*"]
      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = [aws_cloudfront_distribution.site.arn]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "logs" ? [1] : []
    content {
      sid       = "S3ServerAccessLogs"
      actions   = ["s3:PutObject"]
      resources = ["${each.value.arn}/s3/*"]
      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "all" {
  for_each   = local.all_buckets
  bucket     = each.value.id
  policy     = data.aws_iam_policy_document.bucket[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.all]
}

# The triage UI uploads KB files straight to the bucket with a presigned PUT (from kb_upload):
# the browser's preflight needs PUT and Content-Type allowed from the site's origin.
locals {
  # the site's origin: the only one whose pages may PUT a KB file with a presigned URL
  ui_origin = "https://${aws_cloudfront_distribution.site.domain_name}"
}

resource "aws_s3_bucket_cors_configuration" "kb" {
  bucket = aws_s3_bucket.kb.id
  cors_rule {
    allowed_methods = ["PUT"]
    allowed_origins = [local.ui_origin]
    allowed_headers = ["Content-Type"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }
}

# Every new KB file is checked by the handler (size; lambda_src/kb.py object_created).
resource "aws_s3_bucket_notification" "kb" {
  bucket = aws_s3_bucket.kb.id
  lambda_function {
    lambda_function_arn = aws_lambda_alias.production.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "kb/"
  }
  depends_on = [aws_lambda_permission.kb_bucket]
}
