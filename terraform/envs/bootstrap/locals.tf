locals {
  partition        = data.aws_partition.current.partition
  state_bucket_arn = "arn:${local.partition}:s3:::${var.state_bucket_name}"
  iam_arn_prefix   = "arn:${local.partition}:iam::${var.aws_account_id}"

  # Role names are "github-incident-tracker-<key>": outside the incident-tracker-* prefix that the
  # deploy roles may manage, so a deploy role cannot widen its own permissions.
  github_role_prefix = "github-incident-tracker"

  # Application resources (roles, policies, instance profiles, secrets) are all named
  # incident-tracker-* by the env roots; the deploy roles may manage IAM only under it.
  app_prefix = "incident-tracker-"

  # State object prefixes (backend "s3" keys) of each root.
  state_prefixes = {
    dev          = "envs/dev/"
    staging      = "envs/staging/"
    prod         = "envs/prod/"
    preview-base = "envs/preview-base/"
    preview      = "preview/"
    bootstrap    = "bootstrap/"
  }

  # Deploy role key => GitHub environment it trusts and state prefixes it may write.
  deploy_roles = {
    deploy-dev     = { environment = var.github_environments.dev, state = ["dev"] }
    deploy-staging = { environment = var.github_environments.staging, state = ["staging"] }
    deploy-prod    = { environment = var.github_environments.prod, state = ["prod"] }
    # Previews: each PR's root (preview/pr-<n>.tfstate) and the shared base they read.
    deploy-preview = { environment = var.github_environments.preview, state = ["preview", "preview-base"] }
  }
}
