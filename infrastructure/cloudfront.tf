# One distribution: the UI from the private S3 bucket and /api/* from the Function URL, both
# through origin access control (SigV4-signed by CloudFront), HTTPS only, security headers.
# For POST/PUT the browser must send x-amz-content-sha256 (Lambda rejects unsigned payloads).

resource "aws_cloudfront_origin_access_control" "ui" {
  name                              = "${var.project}-ui"
  description                       = "CloudFront reads the TARS UI bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_origin_access_control" "api" {
  name                              = "${var.project}-api"
  description                       = "CloudFront calls the TARS Function URL"
  origin_access_control_origin_type = "lambda"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

resource "aws_cloudfront_response_headers_policy" "security" {
  name    = "${var.project}-security-headers"
  comment = "TARS: HSTS, CSP, no framing, no sniffing"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    xss_protection {
      protection = true
      mode_block = true
      override   = true
    }
    content_security_policy {
      # connect-src: the API is same-origin (/api/*); KB files go to the KB bucket (presigned PUT);
      # the browser signs in with the user pool's API (SRP, token refresh).
      content_security_policy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self' https://${local.kb_bucket}.s3.amazonaws.com https://${local.kb_bucket}.s3.${var.region}.amazonaws.com https://cognito-idp.${var.region}.amazonaws.com; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
      override                = true
    }
  }
}

locals {
  ui_origin_id  = "ui-s3"
  api_origin_id = "api-function-url"
  # https://<id>.lambda-url.<region>.on.aws/ -> <id>.lambda-url.<region>.on.aws
  function_url_domain = split("/", aws_lambda_function_url.production.function_url)[2]
}

resource "aws_cloudfront_distribution" "site" {
  #checkov:skip=CKV2_AWS_47:the web ACL (waf.tf) has the Log4j rule (AWSManagedRulesKnownBadInputsRuleSet); this check also demands AWSManagedRulesAnonymousIpList, which would block the VPN and cloud addresses SREs work from
  #checkov:skip=CKV_AWS_86:access logging needs an ACL-enabled bucket (legacy logging); the handler and S3 keep their own logs
  #checkov:skip=CKV_AWS_174:served on the default *.cloudfront.net certificate, whose TLS policy CloudFront fixes; set a custom domain with TLSv1.2_2021 to change it
  #checkov:skip=CKV2_AWS_42:no custom domain, so no ACM certificate to attach
  #checkov:skip=CKV_AWS_310:single S3 origin for the UI; a failover origin group would need a second bucket in another region
  #checkov:skip=CKV_AWS_374:an internal SRE tool used worldwide by its team; no country restriction wanted
  enabled             = true
  comment             = "${var.project} TARS triage UI and API"
  default_root_object = "index.html"
  price_class         = "PriceClass_100"
  http_version        = "http2and3"
  is_ipv6_enabled     = true
  web_acl_id          = var.waf_enabled ? aws_wafv2_web_acl.site[0].arn : null

  origin {
    origin_id                = local.ui_origin_id
    domain_name              = aws_s3_bucket.ui.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.ui.id
  }

  origin {
    origin_id                = local.api_origin_id
    domain_name              = local.function_url_domain
    origin_access_control_id = aws_cloudfront_origin_access_control.api.id
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      origin_read_timeout    = var.api_origin_read_timeout
    }
  }

  default_cache_behavior {
    target_origin_id           = local.ui_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  # "/api" itself (the UI's default API base, ?action=...) and everything below it.
  dynamic "ordered_cache_behavior" {
    for_each = ["/api", "/api/*"]
    content {
      path_pattern               = ordered_cache_behavior.value
      target_origin_id           = local.api_origin_id
      viewer_protocol_policy     = "https-only"
      allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
      cached_methods             = ["GET", "HEAD"]
      compress                   = true
      cache_policy_id            = data.aws_cloudfront_cache_policy.disabled.id
      origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
      response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
    }
  }

  # No custom error responses: they would apply to /api/* too and turn the handler's
  # 404 {"error": ...} replies into index.html. The UI routes by #hash, so it needs none.

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
