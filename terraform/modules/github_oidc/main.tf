locals {
  url      = "https://token.actions.githubusercontent.com"
  host     = "token.actions.githubusercontent.com"
  audience = "sts.amazonaws.com"

  oidc_provider_arn = (
    var.create_oidc_provider ? aws_iam_openid_connect_provider.this[0].arn :
    var.oidc_provider_arn != null ? var.oidc_provider_arn :
    data.aws_iam_openid_connect_provider.this[0].arn
  )

  # One attachment per (role, policy index); keys are static even when ARNs are unknown at plan.
  policy_attachments = merge([
    for role, cfg in var.roles : {
      for i, arn in cfg.policy_arns : "${role}-${i}" => { role = role, policy_arn = arn }
    }
  ]...)

}

################################################################################
# OIDC provider (one per account)
################################################################################

resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_oidc_provider ? 1 : 0

  url             = local.url
  client_id_list  = [local.audience]
  thumbprint_list = length(var.thumbprint_list) > 0 ? var.thumbprint_list : null

  tags = var.tags
}

data "aws_iam_openid_connect_provider" "this" {
  count = !var.create_oidc_provider && var.oidc_provider_arn == null ? 1 : 0

  url = local.url
}

################################################################################
# Permissions boundary for the roles the deploy roles create (optional)
################################################################################

resource "aws_iam_policy" "boundary" {
  count = var.permissions_boundary_policy != null ? 1 : 0

  name        = var.permissions_boundary_policy.name
  description = var.permissions_boundary_policy.description
  policy      = var.permissions_boundary_policy.json

  tags = var.tags
}

################################################################################
# Deploy roles: trust restricted to this repository and the listed subjects
################################################################################

data "aws_iam_policy_document" "assume" {
  for_each = var.roles

  statement {
    sid     = "GitHubActionsOIDC"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.host}:aud"
      values   = [local.audience]
    }

    condition {
      test     = "StringLike"
      variable = "${local.host}:sub"
      values   = each.value.subjects
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = var.roles

  name                 = "${var.name}-${each.key}"
  description          = coalesce(each.value.description, "GitHub Actions (${var.repository}) deploy role ${each.key}")
  assume_role_policy   = data.aws_iam_policy_document.assume[each.key].json
  max_session_duration = each.value.max_session_duration
  permissions_boundary = each.value.permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.policy_attachments

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.policy_arn
}

# Keyed by var.inline_policies' keys (known at plan), never filtered on the JSON: a policy that
# names a resource of the same apply (a KMS key ARN) is unknown until apply.
resource "aws_iam_role_policy" "this" {
  for_each = var.inline_policies

  name   = "deploy"
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}
