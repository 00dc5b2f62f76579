# S3 backend of the prod environment: terraform init -backend-config=backend/prod.hcl
# (inv deploy-infrastructure --env prod). Create the bucket and lock table once, see ../README.md.
bucket         = "sre-poc-terraform-state"
key            = "tars/prod/terraform.tfstate"
region         = "us-east-1"
encrypt        = true
dynamodb_table = "sre-poc-terraform-locks"
