# The SRE team's users: an Amazon Cognito user pool only administrators add people to
# (inv users.add), two groups for the handler's roles, and one app client for the triage UI.
#
# The UI signs in with SRP (amazon-cognito-identity-js): the password never leaves the browser
# and no hosted domain is needed, so the pool has none (a pool with a domain cannot be reached
# through the VPC endpoint the handler uses to fetch the pool's JWKS). The handler accepts the
# access token of this client only: signature against the JWKS, issuer, token_use "access",
# client_id, expiry (lambda_src/auth.py).

resource "aws_cognito_user_pool" "sre" {
  name                = "${var.project}-sre"
  deletion_protection = var.cognito_deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration   = var.cognito_require_mfa ? "ON" : "OPTIONAL"

  # The username is the person's e-mail address as the operator typed it (inv users.add EMAIL):
  # it is what access tokens carry as `username`, so audit lines name a person, not a UUID.
  username_configuration {
    case_sensitive = false
  }
  auto_verified_attributes = ["email"]

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  software_token_mfa_configuration {
    enabled = true
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "admin_only"
      priority = 1
    }
  }

  user_attribute_update_settings {
    attributes_require_verification_before_update = ["email"]
  }
}

resource "aws_cognito_user_pool_client" "ui" {
  name         = "${var.project}-ui"
  user_pool_id = aws_cognito_user_pool.sre.id

  generate_secret                      = false # a browser cannot keep a secret
  explicit_auth_flows                  = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  allowed_oauth_flows_user_pool_client = false
  supported_identity_providers         = ["COGNITO"]

  # A short access token (the handler cannot see a revocation); the UI refreshes it before it
  # expires, for at most one working day.
  access_token_validity  = 30
  id_token_validity      = 30
  refresh_token_validity = 12
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "hours"
  }

  read_attributes  = ["email", "email_verified", "name"]
  write_attributes = ["name"]
}

# Roles: viewers chat and read the knowledge base and incidents; editors also write them.
# The handler reads them from the access token's cognito:groups claim.
resource "aws_cognito_user_group" "roles" {
  for_each     = { "tars-viewers" = 20, "tars-editors" = 10 }
  name         = each.key
  user_pool_id = aws_cognito_user_pool.sre.id
  precedence   = each.value
  description  = each.key == "tars-editors" ? "TARS: chat, read, and write the knowledge base and incidents" : "TARS: chat, read the knowledge base and incidents"
}

locals {
  cognito_issuer = "https://cognito-idp.${var.region}.amazonaws.com/${aws_cognito_user_pool.sre.id}"
}
