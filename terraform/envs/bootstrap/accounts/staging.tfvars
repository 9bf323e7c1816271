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

# Who administers the state backend (bucket settings, old state versions, the key): the
# administrator role that applies this root (IAM Identity Center's AdministratorAccess here;
# bootstrap.yml's AWS_BOOTSTRAP_ROLE_ARN) and the backend cleanup's role
# (AWS_BACKEND_ADMIN_ROLE_ARNS). Placeholders: name your account's roles.
state_admin_arns = [
  "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*",
]

github_environments = {
  dev     = "dev"
  staging = "staging"
  prod    = "production"
  preview = "preview"
}
