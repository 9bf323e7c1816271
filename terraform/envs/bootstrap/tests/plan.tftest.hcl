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
    condition     = toset(values(output.github_role_names)) == toset(["github-incident-tracker-deploy-dev", "github-incident-tracker-deploy-preview", "github-incident-tracker-plan-dev", "github-incident-tracker-plan-preview", "github-incident-tracker-preview-teardown"])
    error_message = "the dev account gets plan and deploy roles of dev and the previews, and the previews' teardown role, nothing else"
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
    error_message = "the state policies must let in exactly the plan, deploy and teardown roles of this account"
  }
}

# preview.yml's destroy and reap jobs run in the GitHub environment preview-teardown, which has
# no reviewers: its role is trusted by that environment alone and may take previews down, no more.
run "preview_teardown_role_only_takes_previews_down" {
  command = plan

  override_resource {
    target          = module.state_backend.aws_kms_key.this[0]
    override_during = plan
    values = {
      arn = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000"
    }
  }

  assert {
    condition     = output.github_role_names["preview-teardown"] == "github-incident-tracker-preview-teardown"
    error_message = "the dev account must have the role github-incident-tracker-preview-teardown (AWS_PREVIEW_TEARDOWN_ROLE_ARN)"
  }

  # What main.tf hands the github_oidc module for it (the module turns subjects into the trust
  # policy's token.actions.githubusercontent.com:sub condition).
  assert {
    condition     = local.teardown_roles["preview-teardown"].subjects == ["repo:example-org/incident-tracker:environment:preview-teardown"]
    error_message = "the teardown role must trust only the GitHub environment preview-teardown (no branch, no pull request, no other environment)"
  }

  assert {
    condition     = local.teardown_roles["preview-teardown"].max_session_duration == 7200
    error_message = "the teardown role's sessions must last 2 hours, as preview.yml's destroy and reap jobs ask (role-duration-seconds: 7200)"
  }

  # Named actions only: no wildcard, no IAM but passing and deleting the previews' task roles,
  # no ECS service or task definition ever created or pointed elsewhere, no state version deleted.
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement : alltrue([
        for a in s.actions : !strcontains(a, "*")
      ]) && s.effect != "Deny" && s.not_actions == null
    ])
    error_message = "the teardown policy must name every action it allows (no service:* or Delete* wildcards)"
  }

  assert {
    condition = length(setsubtract(
      flatten([for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement : [for a in s.actions : a if startswith(a, "iam:")]]),
      ["iam:PassRole", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:DeleteRole", "iam:DeleteRolePolicy"],
    )) == 0
    error_message = "the teardown role may pass, read and delete the previews' task roles, no other IAM action (no create, put, attach or trust changes)"
  }

  assert {
    condition = length(setintersection(
      flatten([for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement : s.actions]),
      ["ecs:CreateService", "ecs:RegisterTaskDefinition", "ecs:CreateCluster", "s3:DeleteObjectVersion", "s3:PutBucketPolicy", "secretsmanager:GetSecretValue", "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue"],
    )) == 0
    error_message = "the teardown role must not create services or task definitions, delete state versions, change buckets or read or write secrets' values"
  }

  # ecs:UpdateService only because Terraform drains a service before deleting it: only the
  # previews' services, never to a task definition other than a preview's.
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement : (
        s.resources == toset(["arn:aws:ecs:eu-west-1:111111111111:service/incident-tracker-preview/incident-tracker-pr-*"]) &&
        anytrue([for c in s.condition : c.variable == "ecs:task-definition" && toset(c.values) == toset(["arn:aws:ecs:eu-west-1:111111111111:task-definition/incident-tracker-pr-*"])])
      ) if contains(s.actions, "ecs:UpdateService")
    ])
    error_message = "ecs:UpdateService must be limited to the previews' services and their own task definitions"
  }

  # Every write names a pull request's resource (incident-tracker-pr-*, pr-*) or is tag-bound
  # to one; writes with "*" are only deregistering task definitions (no resource ARN exists).
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement :
      alltrue([for a in s.actions : can(regex(":(Describe|List|Get)", a))]) || s.actions == toset(["ecs:DeregisterTaskDefinition"])
      if contains(s.resources, "*")
    ])
    error_message = "only reads and ecs:DeregisterTaskDefinition may apply to every resource"
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement : alltrue([
        for r in s.resources : r == "*" || strcontains(r, "pr-") || anytrue([for c in s.condition : contains(["aws:ResourceTag/Environment", "ecs:cluster", "ecs:CreateAction", "s3:prefix"], c.variable)]) || r == local.state_bucket_arn || r == "${local.state_bucket_arn}/envs/preview-base/terraform.tfstate" || r == "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000"
      ])
    ])
    error_message = "the teardown role's resources must be the previews' (pr-*), the state bucket's preview states and the state key"
  }

  # State: its own pull requests' states and locks written, the base's read, nothing else.
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement : s.resources if contains(s.actions, "s3:PutObject") || contains(s.actions, "s3:DeleteObject")
      ])) == toset([
      "${local.state_bucket_arn}/preview/pr-*.tfstate",
      "${local.state_bucket_arn}/preview/pr-*.tfstate.tflock",
      "arn:aws:s3:::incident-tracker-preview-evidence-111111111111/pr-*/*",
    ])
    error_message = "the teardown role may write and delete only preview/pr-*.tfstate (and its lock) and the pull requests' files"
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.preview_teardown["preview-teardown"].statement : alltrue([
        for c in s.condition : c.variable == "iam:PassedToService" && toset(c.values) == toset(["ecs-tasks.amazonaws.com"])
      ]) && s.resources == toset(["arn:aws:iam::111111111111:role/incident-tracker-pr-*-web-task", "arn:aws:iam::111111111111:role/incident-tracker-pr-*-ecs-execution"])
      if contains(s.actions, "iam:PassRole")
    ])
    error_message = "iam:PassRole only of the previews' web task and execution roles, only to ECS tasks"
  }

  # The state bucket's and key's own policies let it in (its state, the key), like the deploy roles.
  assert {
    condition     = contains(local.terraform_role_arns, "arn:aws:iam::111111111111:role/github-incident-tracker-preview-teardown")
    error_message = "the state bucket and key policies must admit the teardown role"
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
