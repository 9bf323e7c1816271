locals {
  partition        = data.aws_partition.current.partition
  state_bucket_arn = "arn:${local.partition}:s3:::${var.state_bucket_name}"
  iam_arn_prefix   = "arn:${local.partition}:iam::${var.aws_account_id}"

  # Role names are "github-incident-tracker-<key>": outside the incident-tracker-* prefix that the
  # deploy roles may manage, so a deploy role cannot widen its own permissions.
  github_role_prefix = "github-incident-tracker"

  # Application resources (roles, policies, instance profiles, secrets) are all named
  # incident-tracker-* by the env roots; the deploy roles may manage IAM only under it, and
  # only for roles that carry the permissions boundary.
  app_prefix               = "incident-tracker-"
  permissions_boundary     = "incident-tracker-permissions-boundary"
  permissions_boundary_arn = "${local.iam_arn_prefix}:policy/${local.permissions_boundary}"

  # Managed policies the modules attach to the roles they create (iam:PolicyARN condition).
  attachable_policy_arns = [
    "${local.iam_arn_prefix}:policy/${local.app_prefix}*",
    "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
  ]
  # Services the deploy roles may pass the app's roles to (iam:PassedToService condition).
  passable_to_services = [
    "ecs-tasks.amazonaws.com",
    "ec2.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
  ]

  # State object prefixes (backend "s3" keys) of each root.
  state_prefixes = {
    dev          = "envs/dev/"
    staging      = "envs/staging/"
    prod         = "envs/prod/"
    preview-base = "envs/preview-base/"
    preview      = "preview/"
    bootstrap    = "bootstrap/"
  }

  # Per environment of this account: the state it owns, the GitHub subjects its plan role
  # trusts (pull requests only where the environment is throw-away) and its deploy role trusts.
  environment_access = {
    dev = {
      state         = ["dev"]
      plan_subjects = ["pull_request", "ref:refs/heads/main"]
      deploy        = var.github_environments.dev
    }
    staging = {
      state         = ["staging"]
      plan_subjects = ["ref:refs/heads/main", "environment:${var.github_environments.staging}"]
      deploy        = var.github_environments.staging
    }
    prod = {
      state         = ["prod"]
      plan_subjects = ["ref:refs/heads/main", "environment:${var.github_environments.prod}"]
      deploy        = var.github_environments.prod
    }
    # Previews: each PR's root (preview/pr-<n>.tfstate) and the shared base they read.
    preview = {
      state         = ["preview", "preview-base"]
      plan_subjects = ["pull_request", "ref:refs/heads/main"]
      deploy        = var.github_environments.preview
    }
  }

  # Roles of this account: plan-<env> and deploy-<env> for each environment living here.
  plan_roles   = { for env in var.environments : "plan-${env}" => local.environment_access[env] }
  deploy_roles = { for env in var.environments : "deploy-${env}" => local.environment_access[env] }

  # Where previews live: preview.yml's destroy and reap jobs take them down with a role of their
  # own, trusted only by their GitHub environment (preview-teardown, no reviewers), never with
  # deploy-preview. Sessions as long as the deploy roles' (main.tf): the jobs ask for 2 hours.
  teardown_roles = contains(var.environments, "preview") ? {
    "preview-teardown" = {
      environment          = var.github_environments.preview_teardown
      subjects             = ["repo:${var.repository}:environment:${var.github_environments.preview_teardown}"]
      max_session_duration = 7200
    }
  } : {}

  # What the teardown role reaches: the shared preview base (envs/preview-base, named
  # incident-tracker-preview) and each pull request's resources on it, all named
  # incident-tracker-pr-<n>-* and tagged Environment = pr-<n> (envs/preview).
  preview_base_name     = "incident-tracker-preview"
  preview_prefix        = "${local.app_prefix}pr-"
  preview_arn_suffix    = "${var.aws_region}:${var.aws_account_id}"
  preview_cluster_arn   = "arn:${local.partition}:ecs:${local.preview_arn_suffix}:cluster/${local.preview_base_name}"
  preview_evidence_name = coalesce(var.preview_evidence_bucket_name, "${local.preview_base_name}-evidence-${var.aws_account_id}")

  # The principals the state bucket and key policies let at the state: these roles (by name,
  # as the github_oidc module names them: no dependency on the roles, whose policies name the
  # key) and, as administrators, var.state_admin_arns.
  terraform_role_arns = [for key in concat(keys(local.plan_roles), keys(local.deploy_roles), keys(local.teardown_roles)) : "${local.iam_arn_prefix}:role/${local.github_role_prefix}-${key}"]
}
