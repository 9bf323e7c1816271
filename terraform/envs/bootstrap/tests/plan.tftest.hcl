mock_provider "aws" {
  source = "../../testing/aws"
}

# The administrator applying (an IAM Identity Center AdministratorAccess role, as the tfvars'
# state_admin_arns name): the state_backend module refuses to write policies that lock it out.
override_data {
  target = module.state_backend.data.aws_iam_session_context.current[0]
  values = {
    issuer_arn = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
  }
}

run "dev_account" {
  command = plan

  assert {
    condition     = toset(values(output.github_role_names)) == toset(["github-incident-tracker-deploy-dev", "github-incident-tracker-deploy-preview", "github-incident-tracker-plan-dev", "github-incident-tracker-plan-preview"])
    error_message = "the dev account gets plan and deploy roles of dev and the previews, nothing else"
  }

  # A deploy role may create or change a role only with the permissions boundary on it ...
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.deploy["deploy-dev"].statement : anytrue([
        for c in s.condition : c.variable == "iam:PermissionsBoundary" && toset(c.values) == toset([local.permissions_boundary_arn])
      ]) if s.effect != "Deny" && length(setintersection(s.actions == null ? [] : s.actions, ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"])) > 0
    ])
    error_message = "deploy roles must require the permissions boundary on every role they create or change"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.deploy["deploy-dev"].statement : s if s.effect != "Deny" && contains(s.actions == null ? [] : s.actions, "iam:CreateRole")]) > 0
    error_message = "deploy roles create the app's roles (iam:CreateRole), under the conditions above"
  }

  # ... attach only the listed policies and pass roles only to the listed services ...
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.deploy["deploy-dev"].statement : anytrue([for c in s.condition : c.variable == "iam:PolicyARN"])
      if s.effect != "Deny" && contains(s.actions == null ? [] : s.actions, "iam:AttachRolePolicy")
      ]) && alltrue([
      for s in data.aws_iam_policy_document.deploy["deploy-dev"].statement : anytrue([for c in s.condition : c.variable == "iam:PassedToService"])
      if s.effect != "Deny" && contains(s.actions == null ? [] : s.actions, "iam:PassRole")
    ])
    error_message = "iam:AttachRolePolicy needs an iam:PolicyARN condition and iam:PassRole an iam:PassedToService condition"
  }

  # ... and can neither rewrite the boundary nor take it off a role.
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.deploy["deploy-dev"].statement : s.effect == "Deny" && contains(s.actions == null ? [] : s.actions, "iam:DeleteRolePermissionsBoundary")
      ]) && anytrue([
      for s in data.aws_iam_policy_document.deploy["deploy-dev"].statement : s.effect == "Deny" && contains(s.actions == null ? [] : s.actions, "iam:CreatePolicyVersion") && contains(s.resources, local.permissions_boundary_arn)
    ])
    error_message = "the permissions boundary must be fixed and stay on every role"
  }

  # PowerUserAccess reaches every S3 object and KMS key: a preview deploy must not read or
  # roll back dev's state (any object action, old versions included), and no deploy may change
  # the state bucket's settings or the state key.
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.deploy["deploy-preview"].statement : s.effect == "Deny" && contains(s.actions == null ? [] : s.actions, "s3:*") && contains(s.resources, "${local.state_bucket_arn}/envs/dev/*")
    ])
    error_message = "the preview deploy role must be denied every action on dev's state"
  }

  assert {
    condition = alltrue([
      for key in ["deploy-dev", "deploy-preview"] : anytrue([
        for s in data.aws_iam_policy_document.deploy[key].statement : s.effect == "Deny" && contains(s.resources, local.state_bucket_arn) && !contains(s.not_actions == null ? [] : s.not_actions, "s3:PutBucketPolicy") && contains(s.not_actions == null ? [] : s.not_actions, "s3:ListBucket")
        ]) && anytrue([
        for s in data.aws_iam_policy_document.deploy[key].statement : s.effect == "Deny" && contains(s.resources, "${local.state_bucket_arn}/*") && !contains(s.not_actions == null ? [] : s.not_actions, "s3:DeleteObjectVersion") && contains(s.not_actions == null ? [] : s.not_actions, "s3:GetObject")
        ]) && anytrue([
        for s in data.aws_iam_policy_document.deploy[key].statement : s.effect == "Deny" && s.sid == "StateKeyIsOnlyUsed" && !contains(s.not_actions == null ? [] : s.not_actions, "kms:ScheduleKeyDeletion") && contains(s.not_actions == null ? [] : s.not_actions, "kms:Decrypt")
      ])
    ])
    error_message = "deploy roles must be denied changing the state bucket, deleting state versions and administering the state key"
  }
}

# The promise above would hold for the deploy roles alone: a deploy creates roles under the
# permissions boundary (s3:*, kms:* allowed by it) and passes them to ECS tasks. So the boundary
# keeps every such role off the state, and the bucket and key policies let only the plan and
# deploy roles and the administrators at it, whatever IAM allows.
run "state_is_out_of_reach_of_the_roles_deploys_create" {
  command = plan

  # The state key's ARN, known at plan here (AWS assigns it at apply).
  override_resource {
    target          = module.state_backend.aws_kms_key.this[0]
    override_during = plan
    values = {
      arn = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000"
    }
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.permissions_boundary.statement : s.effect == "Deny" && contains(s.actions == null ? [] : s.actions, "s3:*") && contains(s.resources, local.state_bucket_arn) && contains(s.resources, "${local.state_bucket_arn}/*")
    ])
    error_message = "the permissions boundary must deny every S3 action on the state bucket and its objects"
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.permissions_boundary.statement : s.effect == "Deny" && contains(s.actions == null ? [] : s.actions, "kms:*") && contains(s.resources, "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000")
    ])
    error_message = "the permissions boundary must deny every KMS action on the state key"
  }

  assert {
    condition = toset(local.terraform_role_arns) == toset([
      for name in values(output.github_role_names) : "arn:aws:iam::111111111111:role/${name}"
    ])
    error_message = "the state policies must let in exactly the plan and deploy roles of this account"
  }
}

run "prod_account" {
  command = plan

  variables {
    aws_account_id    = "333333333333"
    state_bucket_name = "incident-tracker-tfstate-333333333333"
    environments      = ["prod"]
    state_admin_arns  = ["arn:aws:iam::333333333333:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*"]
  }

  override_data {
    target = module.state_backend.data.aws_iam_session_context.current[0]
    values = {
      issuer_arn = "arn:aws:iam::333333333333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    }
  }

  assert {
    condition     = toset(values(output.github_role_names)) == toset(["github-incident-tracker-deploy-prod", "github-incident-tracker-plan-prod"])
    error_message = "the prod account gets only prod's plan and deploy roles"
  }

  assert {
    condition     = toset(local.plan_roles["plan-prod"].plan_subjects) == toset(["ref:refs/heads/main", "environment:production"])
    error_message = "prod plans may only come from main or the protected production environment, never from a pull request"
  }
}
