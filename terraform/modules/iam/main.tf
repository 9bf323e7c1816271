data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  bucket = var.evidence_bucket_arn
  p      = var.evidence_key_prefix

  incoming   = "${local.bucket}/${local.p}incoming/*"
  evidence   = "${local.bucket}/${local.p}evidence/*"
  quarantine = "${local.bucket}/${local.p}quarantine/*"
  thumbnails = "${local.bucket}/${local.p}thumbnails/*"

  log_group_arns    = length(var.log_group_arns) > 0 ? var.log_group_arns : ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/ecs/${var.name}-*"]
  ses_identity_arns = length(var.ses_identity_arns) > 0 ? var.ses_identity_arns : ["arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/*"]
}

################################################################################
# Trust policy shared by the three roles: ECS tasks of this account only
################################################################################

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksOfThisAccount"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

################################################################################
# Task execution role: pull images, write logs, read the task secrets
################################################################################

resource "aws_iam_role" "execution" {
  name                 = "${var.name}-ecs-execution"
  description          = "ECS task execution role for ${var.name}: image pull, logs, task secrets"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

data "aws_iam_policy_document" "execution" {
  # Images come from Docker Hub by default (repository credentials below): ECR only for the
  # repositories named, never every repository of the account.
  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []
    content {
      sid = "EcrAuthToken"
      # ecr:GetAuthorizationToken has no resource-level permissions; AWS requires "*".
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []
    content {
      sid = "EcrPull"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]
      resources = var.ecr_repository_arns
    }
  }

  statement {
    sid = "ContainerLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = [for arn in local.log_group_arns : "${arn}:*"]
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTaskSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.ssm_parameter_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTaskParameters"
      actions   = ["ssm:GetParameters"]
      resources = var.ssm_parameter_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.secrets_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptTaskSecrets"
      actions   = ["kms:Decrypt"]
      resources = var.secrets_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values = [
          "secretsmanager.${local.region}.amazonaws.com",
          "ssm.${local.region}.amazonaws.com",
        ]
      }
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "task-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

################################################################################
# Web task role: upload to incoming/, presign GETs of evidence/ and thumbnails/
################################################################################

resource "aws_iam_role" "web" {
  name                 = "${var.name}-web-task"
  description          = "Web (Flask) task role for ${var.name}: upload to incoming/, presigned reads of clean evidence"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

data "aws_iam_policy_document" "web" {
  # DeleteObject: an upload whose database write fails is deleted again (no orphan object).
  # /readyz starts and aborts a multipart upload here (S3Storage.check): the role lists nothing.
  statement {
    sid       = "UploadToIncoming"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
    resources = [local.incoming]
  }

  # Presigned GET URLs are signed with these credentials; the bucket policy only lets
  # objects tagged scan-status=clean|not-scanned through.
  statement {
    sid       = "ReadServedObjects"
    actions   = ["s3:GetObject"]
    resources = [local.evidence, local.thumbnails]
  }

  statement {
    sid       = "UseEvidenceKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.evidence_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = var.enable_ecs_exec ? [1] : []
    content {
      sid = "EcsExec"
      # ssmmessages channel actions have no resource-level permissions; AWS documents "*" for ECS Exec.
      actions = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      resources = ["*"]
    }
  }

  # The cluster encrypts exec sessions with its KMS key and logs them to an encrypted log group:
  # the task (not the caller) needs both, or execute-command fails to open the session.
  dynamic "statement" {
    for_each = var.enable_ecs_exec && var.ecs_exec_kms_key_arn != null ? [1] : []
    content {
      sid       = "EcsExecSessionKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.ecs_exec_kms_key_arn]
    }
  }

  dynamic "statement" {
    for_each = var.enable_ecs_exec && var.ecs_exec_log_group_arn != null ? [1] : []
    content {
      sid       = "EcsExecSessionLogs"
      actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      resources = ["${var.ecs_exec_log_group_arn}:*"]
    }
  }

  dynamic "statement" {
    for_each = var.enable_ecs_exec && var.ecs_exec_log_group_arn != null ? [1] : []
    content {
      sid = "EcsExecDescribeLogGroups"
      # logs:DescribeLogGroups has no resource-level permissions.
      actions   = ["logs:DescribeLogGroups"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "web" {
  name   = "web-task"
  role   = aws_iam_role.web.id
  policy = data.aws_iam_policy_document.web.json
}

################################################################################
# Beat task role: beat only talks to Redis, so it gets no AWS permission at all (it used to
# share the worker's, which may move and tag evidence).
################################################################################

resource "aws_iam_role" "beat" {
  name                 = "${var.name}-beat-task"
  description          = "Celery beat task role for ${var.name}: no AWS permissions"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

################################################################################
# Worker task role: scan incoming/, move to evidence/ or quarantine/, thumbnails, tags, legal
# holds, and the orphan sweep (list the four prefixes, delete what no evidence row needs)
################################################################################

resource "aws_iam_role" "worker" {
  name                 = "${var.name}-worker-task"
  description          = "Worker (Celery) task role for ${var.name}: scan, move, tag evidence; publish metrics"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

data "aws_iam_policy_document" "worker" {
  # S3 Object Lock legal holds (shared/evidence/storage.py S3Storage.set_legal_hold), set and
  # lifted wherever the worker writes the legal-hold tag (which only steers lifecycle): every
  # version of the object (PutObjectLegalHold with a VersionId), an `error` file left in
  # incoming/ and a held upload's version there released after its move included. The bucket
  # policy denies PutObjectLegalHold to every other principal.
  statement {
    sid       = "LegalHold"
    actions   = ["s3:PutObjectLegalHold"]
    resources = [local.incoming, local.evidence, local.quarantine, local.thumbnails]
  }

  # Whether the bucket has Object Lock (prod) or not (dev, staging, previews): asked once per
  # worker process before the first hold change (GetObjectLockConfiguration).
  statement {
    sid       = "ReadObjectLockConfiguration"
    actions   = ["s3:GetBucketObjectLockConfiguration"]
    resources = [local.bucket]
  }

  # A hold reaches every version of one key: ListObjectVersions with Prefix = that key
  # (S3_KEY_PREFIX + "evidence/<uuid>" etc.), limited to this environment's four prefixes.
  statement {
    sid       = "ListVersionsForLegalHold"
    actions   = ["s3:ListBucketVersions"]
    resources = [local.bucket]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "${local.p}incoming/*",
        "${local.p}evidence/*",
        "${local.p}quarantine/*",
        "${local.p}thumbnails/*",
      ]
    }
  }

  statement {
    sid       = "ConsumeIncoming"
    actions   = ["s3:GetObject", "s3:GetObjectTagging"]
    resources = [local.incoming]
  }

  # The beat's hourly orphan sweep (worker/tasks/evidence.py sweep_orphans, run by the worker;
  # shared/evidence/orphans.py) lists the four prefixes, ListObjectsV2 with Prefix =
  # S3_KEY_PREFIX + "incoming/" etc., and deletes what no evidence row needs. Listing is limited
  # to this environment's prefixes (pr-42/ never lists pr-420/): a request without a prefix, or
  # with another one, is denied.
  statement {
    sid       = "ListForOrphanSweep"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "${local.p}incoming/*",
        "${local.p}evidence/*",
        "${local.p}quarantine/*",
        "${local.p}thumbnails/*",
      ]
    }
  }

  # incoming/: the move to evidence/ or quarantine/ (copy, then delete); all four: the orphan
  # sweep. On a versioned bucket a delete leaves a delete marker; Object Lock keeps locked versions.
  statement {
    sid       = "DeleteMovedAndOrphanedObjects"
    actions   = ["s3:DeleteObject"]
    resources = [local.incoming, local.evidence, local.quarantine, local.thumbnails]
  }

  statement {
    sid       = "WriteAndReadStoredObjects"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
    resources = [local.evidence, local.quarantine, local.thumbnails]
  }

  # The bucket policy makes this role the only tag writer (scan-status, retention, legal-hold).
  # incoming/ too: a file whose checks end in `error` stays there, tagged, for a lead's retry.
  statement {
    sid       = "TagStoredObjects"
    actions   = ["s3:GetObjectTagging", "s3:PutObjectTagging"]
    resources = [local.incoming, local.evidence, local.quarantine, local.thumbnails]
  }

  statement {
    sid = "UseEvidenceKey"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [var.evidence_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  # Queue depth etc. are normally emitted as EMF log lines (no IAM permission needed beyond the
  # execution role's log writing); direct PutMetricData is limited to the app's namespace.
  statement {
    sid = "PutAppMetrics"
    # cloudwatch:PutMetricData has no resource-level permissions; it is limited by the cloudwatch:namespace condition instead.
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  dynamic "statement" {
    for_each = var.enable_ses ? [1] : []
    content {
      sid       = "SendMail"
      actions   = ["ses:SendRawEmail", "ses:SendEmail"]
      resources = local.ses_identity_arns

      dynamic "condition" {
        for_each = var.ses_from_address == null ? [] : [var.ses_from_address]
        content {
          test     = "StringEquals"
          variable = "ses:FromAddress"
          values   = [condition.value]
        }
      }
    }
  }

  dynamic "statement" {
    for_each = var.enable_ecs_exec ? [1] : []
    content {
      sid = "EcsExec"
      # ssmmessages channel actions have no resource-level permissions; AWS documents "*" for ECS Exec.
      actions = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      resources = ["*"]
    }
  }

  # The cluster encrypts exec sessions with its KMS key and logs them to an encrypted log group:
  # the task (not the caller) needs both, or execute-command fails to open the session.
  dynamic "statement" {
    for_each = var.enable_ecs_exec && var.ecs_exec_kms_key_arn != null ? [1] : []
    content {
      sid       = "EcsExecSessionKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.ecs_exec_kms_key_arn]
    }
  }

  dynamic "statement" {
    for_each = var.enable_ecs_exec && var.ecs_exec_log_group_arn != null ? [1] : []
    content {
      sid       = "EcsExecSessionLogs"
      actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      resources = ["${var.ecs_exec_log_group_arn}:*"]
    }
  }

  dynamic "statement" {
    for_each = var.enable_ecs_exec && var.ecs_exec_log_group_arn != null ? [1] : []
    content {
      sid = "EcsExecDescribeLogGroups"
      # logs:DescribeLogGroups has no resource-level permissions.
      actions   = ["logs:DescribeLogGroups"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "worker-task"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}
