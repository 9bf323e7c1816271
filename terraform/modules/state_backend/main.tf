data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  create_kms_key  = var.kms_key_arn == null && (var.sse_algorithm == "aws:kms" || var.create_lock_table)
  kms_key_arn     = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  lock_table_name = coalesce(var.lock_table_name, "${var.bucket_name}-lock")
  account_root    = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  # Resource policies that hold whatever IAM policies (or a permissions boundary) allow: only
  # the admins (and the root user, the break-glass) change the backend; only they and the
  # Terraform roles touch state or use the key.
  restrict_access = length(var.admin_principal_arns) > 0
  admins          = distinct(concat(var.admin_principal_arns, [local.account_root]))
  state_users     = distinct(concat(local.admins, var.state_principal_arns))
  # What the Terraform roles do with state objects (the s3 backend: read, write, lock files).
  state_object_actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
  # What using the key (not administering it) takes; S3 asks for data keys on the caller's behalf.
  key_use_actions  = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
  key_read_actions = ["kms:DescribeKey", "kms:Get*", "kms:List*"]

  # ArnLike patterns as regular expressions, to check the applying principal against them.
  admin_patterns = [
    for arn in local.admins : "^${replace(replace(replace(replace(arn, ".", "\\."), "+", "\\+"), "?", "."), "*", ".*")}$"
  ]
  caller          = try(data.aws_iam_session_context.current[0].issuer_arn, null)
  caller_is_admin = !local.restrict_access || anytrue([for p in local.admin_patterns : can(regex(p, coalesce(local.caller, "-")))])
}

# The role (not the session) applying: a bucket or key policy it does not pass would lock it out.
data "aws_iam_session_context" "current" {
  count = local.restrict_access ? 1 : 0

  arn = data.aws_caller_identity.current.arn
}

################################################################################
# KMS key (state bucket + lock table)
################################################################################

data "aws_iam_policy_document" "kms" {
  count = local.create_kms_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:Key policy: the account root statement is the standard KMS default that delegates access control to IAM; "*" means this key only.
  #checkov:skip=CKV_AWS_111:Key policy: the account root statement is the standard KMS default that delegates access control to IAM; "*" means this key only.
  #checkov:skip=CKV_AWS_356:Key policy: "*" resource in a key policy refers to the key itself.
  statement {
    sid       = "EnableIAMPoliciesOfThisAccount"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  # The statement above lets IAM policies decide; these two hold whatever they allow.
  dynamic "statement" {
    for_each = local.restrict_access ? [1] : []
    content {
      sid       = "OnlyTerraformRolesUseTheKey"
      effect    = "Deny"
      actions   = local.key_use_actions
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = local.state_users
      }
    }
  }

  dynamic "statement" {
    for_each = local.restrict_access ? [1] : []
    content {
      sid         = "OnlyAdminsAdministerTheKey"
      effect      = "Deny"
      not_actions = concat(local.key_use_actions, local.key_read_actions)
      resources   = ["*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = local.admins
      }
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "Terraform state (${var.bucket_name})"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.caller_is_admin
      error_message = "The key policy would lock out the principal applying (${coalesce(local.caller, "unknown")}): it matches none of admin_principal_arns. Apply as one of them, or add it."
    }
  }
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.bucket_name}"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# State bucket
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication of Terraform state is not required: the bucket is versioned and state can be re-imported; enable replication outside this module if the DR policy demands it.
  #checkov:skip=CKV2_AWS_62:No consumer for object events on the state bucket; bucket configuration changes are CloudTrail management events (object reads and writes are not recorded: no data events).
  #checkov:skip=CKV_AWS_18:Access logging is optional (var.access_log_bucket): the bootstrap root creates this bucket before any log bucket exists. Without it, reads of state objects are not recorded anywhere (CloudTrail management events cover only bucket configuration).
  bucket = var.bucket_name

  tags = var.tags

  lifecycle {
    # A literal is required here (Terraform does not allow variables in lifecycle).
    # To really delete the state bucket, remove this line in a reviewed change first.
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.sse_algorithm
      kms_master_key_id = var.sse_algorithm == "aws:kms" ? local.kms_key_arn : null
    }
    bucket_key_enabled = var.sse_algorithm == "aws:kms"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTLS"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  # With admin_principal_arns: state objects only for the Terraform roles and the admins
  # (whatever a role's IAM policies allow: s3:* under a permissions boundary, say) ...
  dynamic "statement" {
    for_each = local.restrict_access ? [1] : []
    content {
      sid       = "OnlyTerraformRolesTouchState"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = ["${aws_s3_bucket.this.arn}/*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = local.state_users
      }
    }
  }

  # ... which only read, write and lock: no version deletes (the state's history), no ACLs,
  # no retention or tag games; old versions are read by the admins ...
  dynamic "statement" {
    for_each = local.restrict_access ? [1] : []
    content {
      sid         = "OnlyAdminsRewriteStateHistory"
      effect      = "Deny"
      not_actions = local.state_object_actions
      resources   = ["${aws_s3_bucket.this.arn}/*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = local.admins
      }
    }
  }

  # ... and only the admins change the bucket (policy, versioning, encryption, lifecycle,
  # logging, deletion); anyone may read its settings (AWS Config, Access Analyzer, plans).
  dynamic "statement" {
    for_each = local.restrict_access ? [1] : []
    content {
      sid         = "OnlyAdminsChangeTheBucket"
      effect      = "Deny"
      not_actions = ["s3:Get*", "s3:List*"]
      resources   = [aws_s3_bucket.this.arn]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = local.admins
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]

  lifecycle {
    precondition {
      condition     = local.caller_is_admin
      error_message = "The bucket policy would lock out the principal applying (${coalesce(local.caller, "unknown")}): it matches none of admin_principal_arns. Apply as one of them, or add it."
    }
  }
}

################################################################################
# DynamoDB lock table (optional; S3-native locking needs none)
################################################################################

resource "aws_dynamodb_table" "this" {
  count = var.create_lock_table ? 1 : 0

  name                        = local.lock_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = true

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn
  }

  tags = var.tags

  lifecycle {
    prevent_destroy = true
  }
}
