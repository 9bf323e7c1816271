# The state bucket's and key's own policies, planned against a mocked AWS provider: with
# administrators named, only the Terraform roles and the administrators reach the state,
# whatever IAM (a permissions boundary allowing s3:* and kms:*, PowerUserAccess) allows; only
# the administrators (and the root user) change the backend; and nobody else can apply them.
mock_provider "aws" {
  source = "../../testing/aws"
}

override_data {
  target = data.aws_iam_session_context.current[0]
  values = {
    issuer_arn = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
  }
}

# ARNs AWS assigns at apply, known at plan here.
override_resource {
  target          = aws_s3_bucket.this
  override_during = plan
  values = {
    id  = "incident-tracker-tfstate-111111111111"
    arn = "arn:aws:s3:::incident-tracker-tfstate-111111111111"
  }
}

variables {
  bucket_name       = "incident-tracker-tfstate-111111111111"
  create_lock_table = false
  state_principal_arns = [
    "arn:aws:iam::111111111111:role/github-incident-tracker-plan-dev",
    "arn:aws:iam::111111111111:role/github-incident-tracker-deploy-dev",
  ]
  admin_principal_arns = ["arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*"]
}

run "only_terraform_roles_and_admins_reach_the_state" {
  command = plan

  # State objects: nobody but the Terraform roles, the admins and the root user ...
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.bucket.statement : (
        s.effect == "Deny" && contains(s.actions == null ? [] : s.actions, "s3:*") &&
        s.resources == toset(["arn:aws:s3:::${var.bucket_name}/*"]) &&
        anytrue([for c in s.condition : c.test == "ArnNotLike" && c.variable == "aws:PrincipalArn" && toset(c.values) == toset(concat(var.state_principal_arns, var.admin_principal_arns, ["arn:aws:iam::111111111111:root"]))])
      )
    ])
    error_message = "the bucket policy must deny state objects to everyone but the Terraform roles, the admins and the root user"
  }

  # ... who only read, write and lock (no version deletes, ACLs, retention) unless admins ...
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.bucket.statement : (
        s.effect == "Deny" && s.resources == toset(["arn:aws:s3:::${var.bucket_name}/*"]) &&
        toset(s.not_actions == null ? [] : s.not_actions) == toset(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) &&
        anytrue([for c in s.condition : c.test == "ArnNotLike" && c.variable == "aws:PrincipalArn" && toset(c.values) == toset(concat(var.admin_principal_arns, ["arn:aws:iam::111111111111:root"]))])
      )
    ])
    error_message = "only the admins may delete state versions or do more than get, put and delete state objects"
  }

  # ... and only the admins change the bucket's settings (policy, versioning, encryption, deletion).
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.bucket.statement : (
        s.effect == "Deny" && s.resources == toset(["arn:aws:s3:::${var.bucket_name}"]) &&
        toset(s.not_actions == null ? [] : s.not_actions) == toset(["s3:Get*", "s3:List*"]) &&
        anytrue([for c in s.condition : c.test == "ArnNotLike" && c.variable == "aws:PrincipalArn" && toset(c.values) == toset(concat(var.admin_principal_arns, ["arn:aws:iam::111111111111:root"]))])
      )
    ])
    error_message = "only the admins may change the state bucket's settings"
  }

  # The key: used by the Terraform roles and admins only, administered by the admins only.
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.kms[0].statement : (
        s.effect == "Deny" && contains(s.actions == null ? [] : s.actions, "kms:Decrypt") && contains(s.actions == null ? [] : s.actions, "kms:GenerateDataKey") &&
        anytrue([for c in s.condition : c.test == "ArnNotLike" && c.variable == "aws:PrincipalArn" && toset(c.values) == toset(concat(var.state_principal_arns, var.admin_principal_arns, ["arn:aws:iam::111111111111:root"]))])
      )
    ])
    error_message = "the key policy must deny using the state key to everyone but the Terraform roles and the admins"
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.kms[0].statement : (
        s.effect == "Deny" && !contains(s.not_actions == null ? ["kms:ScheduleKeyDeletion"] : s.not_actions, "kms:ScheduleKeyDeletion") &&
        !contains(s.not_actions == null ? ["kms:PutKeyPolicy"] : s.not_actions, "kms:PutKeyPolicy") &&
        !contains(s.not_actions == null ? ["kms:DisableKey"] : s.not_actions, "kms:DisableKey") &&
        anytrue([for c in s.condition : c.test == "ArnNotLike" && c.variable == "aws:PrincipalArn" && toset(c.values) == toset(concat(var.admin_principal_arns, ["arn:aws:iam::111111111111:root"]))])
      )
    ])
    error_message = "the key policy must deny administering the state key (policy, disabling, deletion) to everyone but the admins"
  }
}

# An administrator the policies would not let back in gets a refusal, not a locked bucket.
run "an_apply_by_someone_who_is_no_admin_stops" {
  command = plan

  variables {
    admin_principal_arns = ["arn:aws:iam::111111111111:role/state-admin"]
  }

  expect_failures = [aws_s3_bucket_policy.this, aws_kms_key.this]
}

# Without administrators the module restricts nobody (IAM decides), as before.
run "without_admins_nothing_is_restricted" {
  command = plan

  variables {
    admin_principal_arns = []
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.bucket.statement : s if s.condition == null ? false : anytrue([for c in s.condition : c.variable == "aws:PrincipalArn"])]) == 0
    error_message = "without admin_principal_arns the bucket policy only enforces TLS"
  }
}
