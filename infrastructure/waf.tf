# A WAF web ACL on the distribution (CKV_AWS_68): a per-IP rate limit, AWS's common rule set and
# its known-bad-inputs set (Log4j among them). A CloudFront web ACL lives in us-east-1 whatever
# var.region is. Off with waf_enabled = false (e.g. an emulator without WAF): the user token the
# handler checks on every /api request still stands, the WAF only sheds abuse before it costs.

resource "aws_wafv2_web_acl" "site" {
  count       = var.waf_enabled ? 1 : 0
  provider    = aws.us_east_1
  name        = "${var.project}-site"
  description = "TARS site and API: rate limit per IP, AWS managed common and known-bad-input rules"
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 0
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit                 = var.waf_rate_limit
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.project}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        # The rule set blocks bodies over 8 KB; an incident description (5,000 characters) can
        # exceed that in UTF-8, and the handler bounds bodies (1 MB) and every field itself.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.project}-aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.project}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.project}-site"
    sampled_requests_enabled   = true
  }
}

# WAF logs go to a log group named aws-waf-logs-* in the web ACL's region, with the user's token
# and any Authorization or cookie header redacted (no secret in a log line).
resource "aws_cloudwatch_log_group" "waf" {
  count             = var.waf_enabled ? 1 : 0
  provider          = aws.us_east_1
  name              = "aws-waf-logs-${var.project}"
  retention_in_days = var.log_retention_days
  # the data key lives in var.region: usable here when that is us-east-1 (the default)
  kms_key_id = var.region == "us-east-1" ? aws_kms_key.data.arn : null
}

resource "aws_wafv2_web_acl_logging_configuration" "site" {
  count                   = var.waf_enabled ? 1 : 0
  provider                = aws.us_east_1
  resource_arn            = aws_wafv2_web_acl.site[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]

  redacted_fields {
    single_header {
      name = "x-tars-token"
    }
  }
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
}
