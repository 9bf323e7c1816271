# One state per pull request: the key is not written here but given at init (partial
# backend configuration), so two previews never share or overwrite a state:
#   terraform init -backend-config="key=preview/pr-${PR}.tfstate"
# (the bucket as in every root; override with -backend-config="bucket=..." for another account).
terraform {
  backend "s3" {
    bucket  = "incident-tracker-tfstate-111111111111"
    region  = "eu-west-1"
    encrypt = true
    # Without kms_key_id the backend writes with SSE-S3, overriding the bucket's SSE-KMS default.
    kms_key_id   = "arn:aws:kms:eu-west-1:111111111111:alias/incident-tracker-tfstate-111111111111"
    use_lockfile = true
  }
}
