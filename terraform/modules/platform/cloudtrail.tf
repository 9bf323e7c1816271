################################################################################
# CloudTrail data events of the evidence bucket (audit.evidence_data_events, prod): who read,
# wrote or deleted which evidence object, in a trail of its own (management events are
# recorded by the account's default event history / organization trail).
################################################################################

locals {
  trail_name   = "${var.name}-evidence-data-events"
  trail_arn    = "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.trail_name}"
  trail_bucket = "${var.name}-trail-${local.account_id}"
}

resource "aws_s3_bucket" "trail" {
  #checkov:skip=CKV_AWS_18:This bucket only receives CloudTrail log files; logging it needs a third bucket, and the trail's log file validation detects tampering.
  #checkov:skip=CKV2_AWS_62:No consumer for object events of the trail bucket.
  #checkov:skip=CKV_AWS_144:Cross-region replication is not needed for an audit log kept in the environment's own account and region; versioning and log file validation protect it.
  count = var.audit.evidence_data_events ? 1 : 0

  bucket        = local.trail_bucket
  force_destroy = var.evidence.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "trail" {
  count = var.audit.evidence_data_events ? 1 : 0

  bucket                  = aws_s3_bucket.trail[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "trail" {
  count = var.audit.evidence_data_events ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "trail" {
  count = var.audit.evidence_data_events ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "trail" {
  count = var.audit.evidence_data_events ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.logs.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "trail" {
  count = var.audit.evidence_data_events ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id

  rule {
    id     = "expire-trail-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.audit.retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.trail]
}

data "aws_iam_policy_document" "trail_bucket" {
  count = var.audit.evidence_data_events ? 1 : 0

  statement {
    sid       = "CloudTrailAclCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.trail[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWrite"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.trail[0].arn}/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.trail[0].arn, "${aws_s3_bucket.trail[0].arn}/*"]

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
}

resource "aws_s3_bucket_policy" "trail" {
  count = var.audit.evidence_data_events ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id
  policy = data.aws_iam_policy_document.trail_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.trail]
}

resource "aws_cloudtrail" "evidence" {
  #checkov:skip=CKV_AWS_67:A trail for the data events of one regional bucket; management events of every region are recorded by the account's event history or organization trail.
  #checkov:skip=CKV2_AWS_10:The trail's record is the KMS-encrypted, validated log files in S3; no CloudWatch Logs consumer is needed for evidence reads.
  #checkov:skip=CKV_AWS_252:No SNS consumer for log file deliveries.
  count = var.audit.evidence_data_events ? 1 : 0

  name                          = local.trail_name
  s3_bucket_name                = aws_s3_bucket.trail[0].id
  kms_key_id                    = aws_kms_key.logs.arn
  enable_log_file_validation    = true
  include_global_service_events = false
  is_multi_region_trail         = false

  advanced_event_selector {
    name = "Evidence object reads, writes and deletes"

    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }

    field_selector {
      field  = "resources.type"
      equals = ["AWS::S3::Object"]
    }

    field_selector {
      field       = "resources.ARN"
      starts_with = ["${module.evidence_bucket.bucket_arn}/"]
    }
  }

  tags = var.tags

  depends_on = [aws_s3_bucket_policy.trail]
}
