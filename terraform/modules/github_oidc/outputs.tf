output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider (created or looked up)."
  value       = try(local.oidc_provider_arn, null)
}

output "role_arns" {
  description = "Map of roles key to role ARN (use in aws-actions/configure-aws-credentials role-to-assume)."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "role_names" {
  description = "Map of roles key to role name (known at plan)."
  value       = { for k, r in aws_iam_role.this : k => r.name }
}

output "permissions_boundary_arn" {
  description = "ARN of the permissions boundary policy (null when permissions_boundary_policy is null)."
  value       = try(aws_iam_policy.boundary[0].arn, null)
}
