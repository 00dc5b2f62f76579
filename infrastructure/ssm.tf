# The GitHub token (PR approval checks). Terraform creates it with a placeholder and never
# touches its value again: set the real token with
#   aws ssm put-parameter --name /<project>/github-token --type SecureString --overwrite --value ...
resource "aws_ssm_parameter" "github_token" {
  name        = local.github_token_param
  description = "GitHub token read by the TARS handler (value managed outside Terraform)"
  type        = "SecureString"
  key_id      = aws_kms_key.data.arn
  value       = "placeholder: set the token with aws ssm put-parameter --overwrite"

  lifecycle {
    ignore_changes = [value]
  }
}
