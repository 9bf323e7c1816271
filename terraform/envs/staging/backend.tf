# Remote state in the bucket created by terraform/envs/bootstrap (module state_backend).
# A backend block cannot read variables: for another account, override at init time:
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<region>" \
#     -backend-config="kms_key_id=<state key ARN or alias ARN>"
terraform {
  backend "s3" {
    bucket  = "incident-tracker-tfstate-222222222222"
    key     = "envs/staging/terraform.tfstate"
    region  = "eu-west-1"
    encrypt = true
    # Without kms_key_id the backend writes with SSE-S3, overriding the bucket's SSE-KMS default.
    kms_key_id   = "arn:aws:kms:eu-west-1:222222222222:alias/incident-tracker-tfstate-222222222222"
    use_lockfile = true # S3-native lock (Terraform >= 1.10); no DynamoDB table needed
  }
}
