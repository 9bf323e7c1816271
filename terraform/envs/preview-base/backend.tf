# Remote state in the bucket created by terraform/envs/bootstrap (module state_backend).
# A backend block cannot read variables: for another account, override at init time:
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<region>"
terraform {
  backend "s3" {
    bucket       = "incident-tracker-tfstate-111111111111"
    key          = "envs/preview-base/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true # S3-native lock (Terraform >= 1.10); no DynamoDB table needed
  }
}
