# S3 backend of the dev environment: terraform init -backend-config=backend/dev.hcl
# (inv deploy-infrastructure --env dev). Create the bucket and lock table once, see ../README.md.
bucket         = "sre-poc-terraform-state"
key            = "tars/dev/terraform.tfstate"
region         = "us-east-1"
encrypt        = true
dynamodb_table = "sre-poc-terraform-locks"
