# S3 backend of the staging environment: terraform init -backend-config=backend/staging.hcl
# (inv deploy-infrastructure --env staging). Create the bucket and lock table once, see ../README.md.
bucket         = "sre-poc-terraform-state"
key            = "tars/staging/terraform.tfstate"
region         = "us-east-1"
encrypt        = true
dynamodb_table = "sre-poc-terraform-locks"
