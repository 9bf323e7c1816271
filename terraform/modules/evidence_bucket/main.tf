data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  log_bucket_name = coalesce(var.log_bucket_name, "${var.bucket_name}-access-logs")
  account_id      = data.aws_caller_identity.current.account_id
  partition       = data.aws_partition.current.partition

  # Key prefixes and tag values agreed with the app: shared/evidence/tags.py.
  # The lifecycle rules below repeat them as literals on purpose (tests/infra compares them).
  readable_scan_statuses = ["clean", "not-scanned"]

  # Object ARNs for a prefix: "<bucket>/<prefix>*", plus "<bucket>/*/<prefix>*" when one bucket
  # is shared by several environments that nest the layout under their own prefix (previews).
  bucket_arn = aws_s3_bucket.this.arn
  object_arns = {
    for p in ["incoming/", "evidence/", "quarantine/", "thumbnails/"] :
    p => var.nested_prefixes_enabled ? ["${local.bucket_arn}/${p}*", "${local.bucket_arn}/*/${p}*"] : ["${local.bucket_arn}/${p}*"]
  }
}

################################################################################
# KMS key (SSE-KMS with S3 Bucket Key)
################################################################################

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: the account root statement is the standard KMS default that delegates access control to IAM (web/worker roles get kms:Decrypt/GenerateDataKey from the iam module); "*" means this key only.
  #checkov:skip=CKV_AWS_111:Key policy: the account root statement is the standard KMS default that delegates access control to IAM; "*" means this key only.
  #checkov:skip=CKV_AWS_356:Key policy: "*" resource in a key policy refers to the key itself.
  statement {
    sid       = "EnableIAMPoliciesOfThisAccount"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Evidence bucket ${var.bucket_name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.bucket_name}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Evidence bucket
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a DR decision with cost (and a second KMS key); versioning, optional Object Lock and lifecycle cover the retention requirement. Add replication in the env root if the DR policy requires it.
  bucket              = var.bucket_name
  object_lock_enabled = var.object_lock_enabled
  force_destroy       = var.force_destroy

  tags = var.tags
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
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock_enabled ? 1 : 0

  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_default_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "${var.bucket_name}/"

  target_object_key_format {
    partitioned_prefix {
      partition_date_source = "EventTime"
    }
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_notification" "this" {
  count = var.eventbridge_notifications_enabled ? 1 : 0

  bucket      = aws_s3_bucket.this.id
  eventbridge = true
}

################################################################################
# Lifecycle: driven by the tags the worker writes (shared/evidence/tags.py)
#   retention = active | closed        legal-hold = true | false (always written)
#   prefixes: incoming/ evidence/ quarantine/ thumbnails/
# Day counts run from the object's creation (upload), not from the incident's closure.
################################################################################

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # Closed evidence, no legal hold: STANDARD_IA -> GLACIER_IR -> expire. Instant Retrieval, not
  # Flexible Retrieval (GLACIER) or DEEP_ARCHIVE: the app never restores an object, and a GET of
  # one of those fails until it is restored, so downloads and thumbnails of old closed
  # incidents would break.
  rule {
    id     = "closed-evidence-transition-and-expire"
    status = "Enabled"

    filter {
      and {
        prefix = "evidence/"
        tags = {
          "retention"  = "closed"
          "legal-hold" = "false"
        }
      }
    }

    transition {
      days          = var.standard_ia_transition_days
      storage_class = "STANDARD_IA"
    }

    transition {
      days          = var.glacier_transition_days
      storage_class = "GLACIER_IR"
    }

    expiration {
      days = var.retention_days
    }
  }

  # Closed evidence on legal hold: same transitions, never expires.
  rule {
    id     = "closed-evidence-legal-hold-transition-only"
    status = "Enabled"

    filter {
      and {
        prefix = "evidence/"
        tags = {
          "retention"  = "closed"
          "legal-hold" = "true"
        }
      }
    }

    transition {
      days          = var.standard_ia_transition_days
      storage_class = "STANDARD_IA"
    }

    transition {
      days          = var.glacier_transition_days
      storage_class = "GLACIER_IR"
    }
  }

  # The same by tags alone, whatever the prefix: reaches the nested layout of previews
  # (pr-<n>/evidence/..., pr-<n>/thumbnails/...), which no prefix filter can (no wildcards).
  rule {
    id     = "closed-objects-any-prefix-transition-and-expire"
    status = "Enabled"

    filter {
      and {
        tags = {
          "retention"  = "closed"
          "legal-hold" = "false"
        }
      }
    }

    transition {
      days          = var.standard_ia_transition_days
      storage_class = "STANDARD_IA"
    }

    transition {
      days          = var.glacier_transition_days
      storage_class = "GLACIER_IR"
    }

    expiration {
      days = var.retention_days
    }
  }

  # Thumbnails of closed evidence without legal hold go with their evidence (small objects:
  # no transitions, S3 would not transition objects < 128 KiB anyway).
  rule {
    id     = "closed-thumbnails-expire"
    status = "Enabled"

    filter {
      and {
        prefix = "thumbnails/"
        tags = {
          "retention"  = "closed"
          "legal-hold" = "false"
        }
      }
    }

    expiration {
      days = var.retention_days
    }
  }

  rule {
    id     = "quarantine-expire"
    status = "Enabled"

    filter {
      prefix = "quarantine/"
    }

    expiration {
      days = var.quarantine_expiration_days
    }
  }

  rule {
    id     = "incoming-leftovers-expire"
    status = "Enabled"

    filter {
      prefix = "incoming/"
    }

    expiration {
      days = var.incoming_expiration_days
    }
  }

  # Every prefix, held evidence too: lifecycle never deletes a version under an Object Lock
  # legal hold (or retention), so with Object Lock the worker's hold keeps it, not a tag filter.
  rule {
    id     = "noncurrent-versions-expire"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

################################################################################
# Bucket policy
################################################################################

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

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

  # Only objects the worker tagged scan-status=clean|not-scanned may be downloaded
  # (presigned URLs carry the web role's identity). The worker reads everything.
  statement {
    sid       = "DenyGetUnlessScanClean"
    effect    = "Deny"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = concat(local.object_arns["evidence/"], local.object_arns["thumbnails/"])

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:ExistingObjectTag/scan-status"
      values   = local.readable_scan_statuses
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = [var.worker_role_arn]
    }
  }

  # The worker is the only writer of tags (scan-status, retention, legal-hold) ...
  statement {
    sid    = "DenyTaggingExceptWorker"
    effect = "Deny"
    actions = [
      "s3:PutObjectTagging",
      "s3:PutObjectVersionTagging",
      "s3:DeleteObjectTagging",
      "s3:DeleteObjectVersionTagging",
    ]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = [var.worker_role_arn]
    }
  }

  # ... including tags set at upload time (x-amz-tagging on PutObject/CopyObject).
  statement {
    sid       = "DenyTaggedUploadsExceptWorker"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:RequestObjectTagKeys"
      values   = ["false"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = [var.worker_role_arn]
    }
  }

  # Object Lock: nobody may shorten or lift a GOVERNANCE retention (not even the deploy roles,
  # whose PowerUserAccess would otherwise include s3:BypassGovernanceRetention).
  statement {
    sid       = "DenyGovernanceBypass"
    effect    = "Deny"
    actions   = ["s3:BypassGovernanceRetention"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  # Legal holds (S3 Object Lock legal holds, beside the legal-hold tag the lifecycle filters on)
  # are set and lifted by the worker only: on every version of a held incident's objects, and
  # off again when the hold ends (shared/evidence/storage.py set_legal_hold).
  statement {
    sid       = "DenyLegalHoldChangesExceptWorker"
    effect    = "Deny"
    actions   = ["s3:PutObjectLegalHold", "s3:PutObjectRetention"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = [var.worker_role_arn]
    }
  }

  # Defence in depth for the web role (its IAM policy already says the same).
  statement {
    sid           = "DenyWebWritesOutsideIncoming"
    effect        = "Deny"
    actions       = ["s3:PutObject"]
    not_resources = local.object_arns["incoming/"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = [var.web_role_arn]
    }
  }

  statement {
    sid       = "DenyWebReadsOfIncomingAndQuarantine"
    effect    = "Deny"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = concat(local.object_arns["incoming/"], local.object_arns["quarantine/"])

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = [var.web_role_arn]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Access-log bucket (SSE-S3: server access logging cannot write to SSE-KMS targets)
################################################################################

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it into itself would loop and logging it elsewhere needs a third bucket. Bucket configuration changes are CloudTrail management events; object reads and writes of this log bucket are not recorded (no S3 data events); object access to the evidence bucket is recorded in the server access logs this bucket receives (and, in prod, as CloudTrail data events: platform audit.evidence_data_events).
  #checkov:skip=CKV_AWS_145:S3 server access logging only supports SSE-S3 (AES256) on the target bucket, not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs do not need cross-region replication; they expire after access_log_retention_days.
  #checkov:skip=CKV2_AWS_62:No consumer for events on the access-log bucket.
  bucket        = local.log_bucket_name
  force_destroy = var.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket = aws_s3_bucket.logs.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]

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

  # With ACLs disabled (BucketOwnerEnforced) the logging service is granted by policy.
  statement {
    sid       = "AllowS3ServerAccessLogsFromEvidenceBucket"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/${var.bucket_name}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
