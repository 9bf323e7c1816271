# Account bootstrap of the dev account (dev and the previews). The staging and prod accounts use
# accounts/staging.tfvars and accounts/prod.tfvars instead (terraform/README.md). 111111111111 is
# a placeholder account id: replace it (and the bucket name) before the first apply. No secrets here.
aws_region        = "eu-west-1"
aws_account_id    = "111111111111"
repository        = "example-org/incident-tracker"
state_bucket_name = "incident-tracker-tfstate-111111111111"

# The env roots lock with use_lockfile (S3-native, Terraform >= 1.10): no DynamoDB table.
create_lock_table    = false
create_oidc_provider = true
environments         = ["dev", "preview"]

# Who administers the state backend (bucket settings, old state versions, the key): the
# administrator role that applies this root (IAM Identity Center's AdministratorAccess here;
# bootstrap.yml's AWS_BOOTSTRAP_ROLE_ARN) and the backend cleanup's role
# (AWS_BACKEND_ADMIN_ROLE_ARNS). Placeholders: name your account's roles.
state_admin_arns = [
  "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*",
]

github_environments = {
  dev     = "dev"
  staging = "staging"
  prod    = "production"
  preview = "preview"
}
