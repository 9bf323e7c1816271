# Account bootstrap of the staging account: terraform apply -var-file=accounts/staging.tfvars
# 222222222222 is a placeholder account id: replace it (and the bucket name). No secrets here.
aws_region        = "eu-west-1"
aws_account_id    = "222222222222"
repository        = "example-org/incident-tracker"
state_bucket_name = "incident-tracker-tfstate-222222222222"

# The env roots lock with use_lockfile (S3-native, Terraform >= 1.10): no DynamoDB table.
create_lock_table    = false
create_oidc_provider = true
environments         = ["staging"]

github_environments = {
  dev     = "dev"
  staging = "staging"
  prod    = "production"
  preview = "preview"
}
