# Account bootstrap, applied once per AWS account (one account per environment; previews live in
# the dev account) by an administrator with local state: the Terraform state backend, the
# permissions boundary of every role the deploys create, and the GitHub Actions OIDC roles
# (plan-<env>, deploy-<env>, and preview-teardown where the previews live) of the environments
# in this account (no static keys).

module "state_backend" {
  source = "../../modules/state_backend"

  bucket_name       = var.state_bucket_name
  create_lock_table = var.create_lock_table

  # The bucket and key policies: only the plan, deploy and preview-teardown roles touch state,
  # only the administrators (and the root user, the break-glass) change the backend.
  state_principal_arns = local.terraform_role_arns
  admin_principal_arns = var.state_admin_arns
}

module "github_oidc" {
  source = "../../modules/github_oidc"

  name                 = local.github_role_prefix
  repository           = var.repository
  create_oidc_provider = var.create_oidc_provider

  permissions_boundary_policy = {
    name        = local.permissions_boundary
    description = "Upper bound of every role the incident-tracker deploy roles create: no IAM, Organizations or account administration."
    json        = data.aws_iam_policy_document.permissions_boundary.json
  }

  roles = merge(
    {
      # terraform plan: read-only, this environment's state only.
      for key, access in local.plan_roles : key => {
        description = "terraform plan of ${trimprefix(key, "plan-")} from ${var.repository}"
        subjects    = [for s in access.plan_subjects : "repo:${var.repository}:${s}"]
        policy_arns = ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"]
      }
    },
    {
      # One deploy role per GitHub environment (the job's `environment:` sets the sub claim;
      # protect staging and production with required reviewers in the repository settings).
      for key, access in local.deploy_roles : key => {
        description          = "terraform apply and ECS deploys of ${var.repository} for GitHub environment ${access.deploy}"
        subjects             = ["repo:${var.repository}:environment:${access.deploy}"]
        policy_arns          = ["arn:${local.partition}:iam::aws:policy/PowerUserAccess"]
        max_session_duration = 7200
      }
    },
    {
      # Previews down (preview.yml destroy and reap): trusts only its own GitHub environment,
      # which has no reviewers, so it may do nothing but take pull requests' previews down.
      for key, role in local.teardown_roles : key => {
        description          = "terraform destroy of pull request previews (pr-<n>) of ${var.repository} for GitHub environment ${role.environment}"
        subjects             = role.subjects
        max_session_duration = role.max_session_duration
      }
    },
  )
  inline_policies = merge(
    { for key, _ in local.plan_roles : key => data.aws_iam_policy_document.plan[key].json },
    { for key, _ in local.deploy_roles : key => data.aws_iam_policy_document.deploy[key].json },
    { for key, _ in local.teardown_roles : key => data.aws_iam_policy_document.preview_teardown[key].json },
  )
}
