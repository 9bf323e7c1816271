# Policy documents of the GitHub roles and the permissions boundary (main.tf holds only module calls).

data "aws_partition" "current" {}

# terraform plan of one environment: read what Terraform refreshes (ReadOnlyAccess, attached in
# main.tf), read this environment's state and take its lock; no other state (state holds the
# Redis AUTH token), no object outside the state bucket (evidence stays private).
data "aws_iam_policy_document" "plan" {
  for_each = local.plan_roles

  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "ReadOwnStateAndTakeLocks"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [for s in each.value.state : "${local.state_bucket_arn}/${local.state_prefixes[s]}*"]
  }

  statement {
    sid       = "UseStateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.state_backend.kms_key_arn]
  }

  statement {
    sid           = "NoObjectReadsOutsideOwnState"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectVersion"]
    not_resources = [for s in each.value.state : "${local.state_bucket_arn}/${local.state_prefixes[s]}*"]
  }

  statement {
    sid           = "OnlyLockFilesAreWritten"
    effect        = "Deny"
    actions       = ["s3:PutObject", "s3:DeleteObject"]
    not_resources = ["${local.state_bucket_arn}/*.tflock"]
  }
}

# Deploy roles: PowerUserAccess (attached in main.tf) for the AWS services, IAM limited to
# incident-tracker-* names and to roles that carry the permissions boundary, their own state.
data "aws_iam_policy_document" "deploy" {
  for_each = local.deploy_roles

  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "OwnState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [for s in each.value.state : "${local.state_bucket_arn}/${local.state_prefixes[s]}*"]
  }

  statement {
    sid       = "UseStateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.state_backend.kms_key_arn]
  }

  # PowerUserAccess allows every S3 object and bucket setting and every KMS key: keep other
  # environments' state out of reach (old versions and ACLs included), keep each state's
  # history (no version deletes, no ACLs), and leave the bucket and its key as bootstrap set
  # them (a deploy that rewrote the bucket policy or scheduled the key's deletion would reach
  # or destroy every environment's state).
  statement {
    sid       = "NoOtherState"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [for k, p in local.state_prefixes : "${local.state_bucket_arn}/${p}*" if !contains(each.value.state, k)]
  }

  statement {
    sid         = "OwnStateOnlyReadWrittenAndLocked"
    effect      = "Deny"
    not_actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources   = ["${local.state_bucket_arn}/*"]
  }

  statement {
    sid         = "StateBucketSettingsAreFixed"
    effect      = "Deny"
    not_actions = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration"]
    resources   = [local.state_bucket_arn]
  }

  statement {
    sid         = "StateKeyIsOnlyUsed"
    effect      = "Deny"
    not_actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources   = [module.state_backend.kms_key_arn]
  }

  # Creating a role, or changing what it may do, only with the boundary attached: a deploy can
  # never mint a role with more than the boundary allows (no IAM at all).
  statement {
    sid = "ChangeAppRolesOnlyWithinTheBoundary"
    actions = [
      "iam:CreateRole",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
    ]
    resources = ["${local.iam_arn_prefix}:role/${local.app_prefix}*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.permissions_boundary_arn]
    }
  }

  statement {
    sid       = "AttachOnlyAppAndServicePolicies"
    actions   = ["iam:AttachRolePolicy"]
    resources = ["${local.iam_arn_prefix}:role/${local.app_prefix}*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.permissions_boundary_arn]
    }

    condition {
      test     = "ArnLike"
      variable = "iam:PolicyARN"
      values   = local.attachable_policy_arns
    }
  }

  statement {
    sid       = "PassAppRolesToTheirServices"
    actions   = ["iam:PassRole"]
    resources = ["${local.iam_arn_prefix}:role/${local.app_prefix}*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = local.passable_to_services
    }
  }

  statement {
    sid = "ManageAppRolesAndProfiles"
    actions = [
      "iam:AddRoleToInstanceProfile",
      "iam:CreateInstanceProfile",
      "iam:DeleteInstanceProfile",
      "iam:DeleteRole",
      "iam:GetInstanceProfile",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:ListRoleTags",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:TagInstanceProfile",
      "iam:TagRole",
      "iam:UntagInstanceProfile",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = [
      "${local.iam_arn_prefix}:role/${local.app_prefix}*",
      "${local.iam_arn_prefix}:instance-profile/${local.app_prefix}*",
    ]
  }

  statement {
    sid = "ManageAppPolicies"
    actions = [
      "iam:CreatePolicy",
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:ListPolicyVersions",
      "iam:TagPolicy",
      "iam:UntagPolicy",
    ]
    resources = ["${local.iam_arn_prefix}:policy/${local.app_prefix}*"]
  }

  # The boundary is named incident-tracker-*, like the policies above: never let a deploy
  # rewrite it, and never let it take the boundary off a role.
  statement {
    sid    = "BoundaryIsFixed"
    effect = "Deny"
    actions = [
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:SetDefaultPolicyVersion",
    ]
    resources = [local.permissions_boundary_arn]
  }

  statement {
    sid       = "BoundaryStaysOnRoles"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadAwsManagedPolicies"
    actions   = ["iam:GetPolicy", "iam:GetPolicyVersion"]
    resources = ["arn:${local.partition}:iam::aws:policy/*"]
  }

  statement {
    sid       = "CreateServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.iam_arn_prefix}:role/aws-service-role/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values = [
        "ecs.amazonaws.com",
        "ecs.application-autoscaling.amazonaws.com",
        "elasticache.amazonaws.com",
        "elasticloadbalancing.amazonaws.com",
        "rds.amazonaws.com",
      ]
    }
  }
}

# Preview teardown (preview.sh down, which reap runs for each closed pull request): the pull
# requests' states, the base's outputs, the one-off tasks that drop the database and the Redis
# keys, the refresh and destroy of what envs/preview creates (incident-tracker-pr-<n>-*, tagged
# Environment = pr-<n>), then the pull request's files, secrets and state. No PowerUserAccess:
# every action is named, and nothing is created but the one-off tasks. Two writes are wider than
# a delete because the destroy needs them: ecs:UpdateService (Terraform drains a service to 0
# tasks before deleting it; never to another task definition, never ECS Exec) and revoking the
# pull request's rules on the base's (Environment = preview) database and Redis security groups.
data "aws_iam_policy_document" "preview_teardown" {
  for_each = local.teardown_roles

  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  # preview/pr-<n>.tfstate and its lock file: read, written by the destroy, deleted at the end.
  statement {
    sid     = "PreviewStates"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${local.state_bucket_arn}/${local.state_prefixes.preview}pr-*.tfstate",
      "${local.state_bucket_arn}/${local.state_prefixes.preview}pr-*.tfstate.tflock",
    ]
  }

  # The base's outputs (terraform output, and envs/preview's terraform_remote_state): read only.
  statement {
    sid       = "ReadPreviewBaseState"
    actions   = ["s3:GetObject"]
    resources = ["${local.state_bucket_arn}/${local.state_prefixes["preview-base"]}terraform.tfstate"]
  }

  statement {
    sid       = "UseStateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.state_backend.kms_key_arn]
  }

  # The one-off tasks (DROP DATABASE, UNLINK pr-<n>:*): the preview's migrate task definition on
  # the preview cluster only, stopped again if the job ends first.
  statement {
    sid       = "RunPreviewOneOffTasks"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:${local.preview_arn_suffix}:task-definition/${local.preview_prefix}*-web-migrate:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.preview_cluster_arn]
    }
  }

  statement {
    sid       = "WatchAndStopPreviewTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.preview_arn_suffix}:task/${local.preview_base_name}/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.preview_cluster_arn]
    }
  }

  # run-task --propagate-tags: the task gets its task definition's tags, at creation only.
  statement {
    sid       = "TagPreviewTasksAtLaunch"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.preview_arn_suffix}:task/${local.preview_base_name}/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid     = "PassPreviewTaskRolesToTheOneOffTasks"
    actions = ["iam:PassRole"]
    resources = [
      "${local.iam_arn_prefix}:role/${local.preview_prefix}*-web-task",
      "${local.iam_arn_prefix}:role/${local.preview_prefix}*-ecs-execution",
    ]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # Terraform's refresh before the destroy, and its waits during it. These actions take no
  # resource ARN (they answer "*" only) and change nothing.
  statement {
    sid = "RefreshPreviews"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeVpcs",
      "ecs:DescribeTaskDefinition",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid = "RefreshAndDeletePreviewServices"
    actions = [
      "ecs:DeleteService",
      "ecs:DescribeServices",
      "ecs:ListTagsForResource",
    ]
    resources = ["arn:${local.partition}:ecs:${local.preview_arn_suffix}:service/${local.preview_base_name}/${local.preview_prefix}*"]
  }

  # Terraform sets a service's desired count to 0 before it deletes it. Never another task
  # definition (only a preview's own, if one is named at all) and never ECS Exec.
  statement {
    sid       = "DrainPreviewServices"
    actions   = ["ecs:UpdateService"]
    resources = ["arn:${local.partition}:ecs:${local.preview_arn_suffix}:service/${local.preview_base_name}/${local.preview_prefix}*"]

    condition {
      test     = "ArnLikeIfExists"
      variable = "ecs:task-definition"
      values   = ["arn:${local.partition}:ecs:${local.preview_arn_suffix}:task-definition/${local.preview_prefix}*"]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "ecs:enable-execute-command"
      values   = ["false"]
    }
  }

  statement {
    sid       = "ListPreviewTaskDefinitionTags"
    actions   = ["ecs:ListTagsForResource"]
    resources = ["arn:${local.partition}:ecs:${local.preview_arn_suffix}:task-definition/${local.preview_prefix}*:*"]
  }

  # DeregisterTaskDefinition takes no resource ARN: it retires a revision (running tasks and
  # services keep theirs), nothing more.
  statement {
    sid       = "DeregisterPreviewTaskDefinitions"
    actions   = ["ecs:DeregisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid = "RefreshAndDeletePreviewTaskRoles"
    actions = [
      "iam:DeleteRole",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
    ]
    resources = ["${local.iam_arn_prefix}:role/${local.preview_prefix}*"]
  }

  statement {
    sid       = "DeletePreviewTaskRolePolicies"
    actions   = ["iam:DeleteRolePolicy"]
    resources = ["${local.iam_arn_prefix}:role/${local.preview_prefix}*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.permissions_boundary_arn]
    }
  }

  statement {
    sid       = "DeletePreviewSecurityGroups"
    actions   = ["ec2:DeleteSecurityGroup"]
    resources = ["arn:${local.partition}:ec2:${local.preview_arn_suffix}:security-group/*"]

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/Environment"
      values   = ["pr-*"]
    }
  }

  # A preview's rules (tagged Environment = pr-<n>, revoked by rule id) sit on its own groups and
  # on the base's (Environment = preview) database and Redis groups.
  statement {
    sid       = "RevokePreviewRulesOnPreviewGroups"
    actions   = ["ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"]
    resources = ["arn:${local.partition}:ec2:${local.preview_arn_suffix}:security-group/*"]

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/Environment"
      values   = ["pr-*", "preview"]
    }
  }

  statement {
    sid       = "RevokeOnlyPreviewRules"
    actions   = ["ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"]
    resources = ["arn:${local.partition}:ec2:${local.preview_arn_suffix}:security-group-rule/*"]

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/Environment"
      values   = ["pr-*"]
    }
  }

  statement {
    sid       = "DeletePreviewTargetGroups"
    actions   = ["elasticloadbalancing:DeleteTargetGroup"]
    resources = ["arn:${local.partition}:elasticloadbalancing:${local.preview_arn_suffix}:targetgroup/${local.preview_prefix}*/*"]
  }

  # Listener rule ARNs carry no name: the rule's Environment tag says whose it is.
  statement {
    sid       = "DeletePreviewListenerRules"
    actions   = ["elasticloadbalancing:DeleteRule"]
    resources = ["arn:${local.partition}:elasticloadbalancing:${local.preview_arn_suffix}:listener-rule/app/${local.preview_base_name}*/*"]

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/Environment"
      values   = ["pr-*"]
    }
  }

  statement {
    sid     = "RefreshAndDeletePreviewLogGroups"
    actions = ["logs:DeleteLogGroup", "logs:ListTagsForResource", "logs:ListTagsLogGroup"]
    resources = [
      "arn:${local.partition}:logs:${local.preview_arn_suffix}:log-group:/ecs/${local.preview_prefix}*",
      "arn:${local.partition}:logs:${local.preview_arn_suffix}:log-group:/ecs/${local.preview_prefix}*:*",
    ]
  }

  statement {
    sid       = "RefreshAndDeletePreviewAlarms"
    actions   = ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"]
    resources = ["arn:${local.partition}:cloudwatch:${local.preview_arn_suffix}:alarm:${local.preview_prefix}*"]
  }

  # The pull request's secrets (incident-tracker/pr-<n>/database-url, and redis-url of older
  # previews): looked up, then deleted without recovery.
  statement {
    sid       = "DeletePreviewSecrets"
    actions   = ["secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret"]
    resources = ["arn:${local.partition}:secretsmanager:${local.preview_arn_suffix}:secret:incident-tracker/pr-*"]
  }

  # The pull request's files: aws s3 rm s3://<bucket>/pr-<n>/ --recursive (no version deletes).
  statement {
    sid       = "ListPreviewFiles"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.preview_evidence_name}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["pr-*/"]
    }
  }

  statement {
    sid       = "DeletePreviewFiles"
    actions   = ["s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${local.preview_evidence_name}/pr-*/*"]
  }
}

# The most any role created by a deploy may do: everything but IAM, Organizations and account
# administration, and nothing on the Terraform state (the task, flow-log, monitoring and bastion
# roles need far less; their own policies narrow it further).
data "aws_iam_policy_document" "permissions_boundary" {
  #checkov:skip=CKV_AWS_107:A permissions boundary only caps what attached policies grant; it grants nothing itself. Credentials exposure is governed by the roles' own policies.
  #checkov:skip=CKV_AWS_108:A permissions boundary only caps what attached policies grant; data exfiltration is governed by the roles' own (resource-scoped) policies.
  #checkov:skip=CKV_AWS_109:A permissions boundary only caps what attached policies grant; it denies all IAM, so no permission management passes it.
  #checkov:skip=CKV_AWS_110:A permissions boundary only caps what attached policies grant; it denies all IAM, so no privilege escalation passes it.
  #checkov:skip=CKV_AWS_111:A permissions boundary only caps what attached policies grant; write access is governed by the roles' own (resource-scoped) policies.
  #checkov:skip=CKV_AWS_356:A permissions boundary caps by action; resource scoping happens in the roles' own policies.
  #checkov:skip=CKV_AWS_49:Not an administrator policy: a permissions boundary that excludes IAM, Organizations and account administration.
  #checkov:skip=CKV_AWS_1:Not an administrator policy: a permissions boundary that excludes IAM, Organizations and account administration.
  #checkov:skip=CKV_AWS_62:Not an administrator policy: a permissions boundary that excludes IAM, Organizations and account administration.
  #checkov:skip=CKV_AWS_63:A permissions boundary caps by action and has to allow what the attached policies grant; it excludes IAM, Organizations and account administration.
  statement {
    sid         = "EverythingButIdentityAndAccountAdministration"
    not_actions = ["iam:*", "organizations:*", "account:*"]
    resources   = ["*"]
  }

  # No app role ever needs Terraform state (it holds the Redis AUTH token and every
  # environment's resources): without these a deploy role could create a role with s3:* and
  # kms:* under this boundary, pass it to an ECS task and read, roll back or delete any state.
  statement {
    sid       = "NoTerraformState"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]
  }

  statement {
    sid       = "NoTerraformStateKey"
    effect    = "Deny"
    actions   = ["kms:*"]
    resources = [module.state_backend.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.create_lock_table ? [1] : []
    content {
      sid       = "NoTerraformLockTable"
      effect    = "Deny"
      actions   = ["dynamodb:*"]
      resources = [module.state_backend.lock_table_arn]
    }
  }
}
