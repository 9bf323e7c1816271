output "state_bucket" {
  description = "State bucket: the bucket of every backend.tf (and -backend-config=bucket=...)."
  value       = module.state_backend.bucket_id
}

output "state_bucket_region" {
  description = "Region of the state bucket (backend region)."
  value       = module.state_backend.bucket_region
}

output "state_kms_key_arn" {
  description = "KMS key encrypting the state objects."
  value       = module.state_backend.kms_key_arn
}

output "lock_table_name" {
  description = "DynamoDB lock table (null unless create_lock_table = true)."
  value       = module.state_backend.lock_table_name
}

output "backend_config" {
  description = "Suggested backend \"s3\" settings for the env roots."
  value       = module.state_backend.backend_config
}

output "github_oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider."
  value       = module.github_oidc.oidc_provider_arn
}

output "github_role_arns" {
  description = "Role ARNs by key (plan-<env>, deploy-<env> for each environment of this account; preview-teardown where the previews live): the role-to-assume of aws-actions/configure-aws-credentials; store them as environment variables (deploy-<env>: AWS_DEPLOY_ROLE_ARN of that environment; preview-teardown: AWS_PREVIEW_TEARDOWN_ROLE_ARN of the preview-teardown environment)."
  value       = module.github_oidc.role_arns
}

output "permissions_boundary_arn" {
  description = "Permissions boundary every role created by the deploy roles must carry (the env roots set it)."
  value       = module.github_oidc.permissions_boundary_arn
}

output "github_role_names" {
  description = "Role names by key (plan-<env>, deploy-<env>, preview-teardown)."
  value       = module.github_oidc.role_names
}
