# Account bootstrap, applied once by an administrator with local state:
# the Terraform state backend and the GitHub Actions OIDC deploy roles (no static keys).

module "state_backend" {
  source = "../../modules/state_backend"

  bucket_name       = var.state_bucket_name
  create_lock_table = var.create_lock_table
}

module "github_oidc" {
  source = "../../modules/github_oidc"

  name                 = local.github_role_prefix
  repository           = var.repository
  create_oidc_provider = var.create_oidc_provider

  roles = merge(
    {
      # terraform plan for pull requests and for main (read-only, takes the state lock).
      plan = {
        description = "terraform plan from pull requests and main of ${var.repository}"
        subjects    = ["repo:${var.repository}:pull_request", "repo:${var.repository}:ref:refs/heads/main"]
        policy_arns = ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"]
      }
    },
    {
      # One deploy role per GitHub environment (the job's `environment:` sets the sub claim;
      # protect production with required reviewers in the repository settings).
      for key, role in local.deploy_roles : key => {
        description          = "terraform apply and ECS deploys of ${var.repository} for GitHub environment ${role.environment}"
        subjects             = ["repo:${var.repository}:environment:${role.environment}"]
        policy_arns          = ["arn:${local.partition}:iam::aws:policy/PowerUserAccess"]
        max_session_duration = 7200
      }
    },
  )
  inline_policies = merge(
    { plan = data.aws_iam_policy_document.plan.json },
    { for key, _ in local.deploy_roles : key => data.aws_iam_policy_document.deploy[key].json },
  )
}
