data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  port           = 5432
  major_version  = split(".", var.engine_version)[0]
  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  log_kms_key    = var.cloudwatch_log_kms_key_arn != null ? var.cloudwatch_log_kms_key_arn : (local.create_kms_key ? aws_kms_key.this[0].arn : null)

  final_snapshot_identifier = coalesce(var.final_snapshot_identifier, "${var.name}-final")

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  log_exports = ["postgresql", "upgrade"]

  # rds.force_ssl and the log settings are always set; var.parameters adds or overrides.
  # log_statement = "ddl" logs CREATE/ALTER ROLE verbatim, with any PASSWORD 'x' in it, to the
  # exported postgresql log: set role passwords with psql's \password (terraform/README.md).
  base_parameters = {
    "rds.force_ssl"               = { value = "1", apply_method = "immediate" }
    "log_min_duration_statement"  = { value = tostring(var.log_min_duration_statement_ms), apply_method = "immediate" }
    "log_statement"               = { value = var.log_statement, apply_method = "immediate" }
    "log_connections"             = { value = "1", apply_method = "immediate" }
    "log_disconnections"          = { value = "1", apply_method = "immediate" }
    "log_lock_waits"              = { value = "1", apply_method = "immediate" }
    "log_temp_files"              = { value = "0", apply_method = "immediate" }
    "log_autovacuum_min_duration" = { value = "10000", apply_method = "immediate" }
  }
  parameters = merge(local.base_parameters, { for p in var.parameters : p.name => { value = p.value, apply_method = p.apply_method } })
}

################################################################################
# KMS key (storage, Performance Insights, master secret, log groups)
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
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid    = "AllowCloudWatchLogsForThisInstance"
    effect = "Allow"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/rds/instance/${var.name}/*"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "RDS ${var.name}: storage, Performance Insights, master secret, logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name}-rds"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Network: subnet group and security group
################################################################################

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-db"
  description = "Private subnets for ${var.name}"
  subnet_ids  = var.private_subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-db-"
  description = "PostgreSQL ${var.name}: 5432 from the application security groups only"
  vpc_id      = var.vpc_id

  # No egress rules: the database never opens outbound connections.

  tags = merge(var.tags, { Name = "${var.name}-db" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from an allowed application security group"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = var.tags
}

################################################################################
# Parameter group (TLS forced, logging)
################################################################################

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg${local.major_version}-"
  family      = "postgres${local.major_version}"
  description = "PostgreSQL ${local.major_version} for ${var.name}: TLS required, statement/connection logging"

  dynamic "parameter" {
    for_each = local.parameters
    content {
      name         = parameter.key
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Enhanced monitoring role
################################################################################

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name_prefix          = "${substr(var.name, 0, 26)}-rds-mon-"
  description          = "Enhanced monitoring for RDS ${var.name}"
  assume_role_policy   = data.aws_iam_policy_document.monitoring_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

################################################################################
# Log groups for the exported logs (created first so retention and KMS apply)
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = toset(local.log_exports)

  name              = "/aws/rds/instance/${var.name}/${each.key}"
  retention_in_days = var.cloudwatch_log_retention_days
  kms_key_id        = local.log_kms_key

  tags = var.tags
}

################################################################################
# DB instance
################################################################################

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_293:Deletion protection is an environment choice: var.deletion_protection defaults to true and prod keeps it; only dev (throw-away) turns it off; staging, prod and the shared preview instance keep it.
  #checkov:skip=CKV_AWS_353:Performance Insights is on by default (var.performance_insights_enabled); only dev turns it off, because its db.t4g.micro class does not support it.
  #checkov:skip=CKV_AWS_157:Multi-AZ is an environment choice: var.multi_az defaults to true and prod keeps it; dev, staging and the shared preview instance run single-AZ to halve the cost of a non-critical database.
  identifier = var.name

  engine                      = "postgres"
  engine_version              = var.engine_version
  instance_class              = var.instance_class
  allow_major_version_upgrade = var.allow_major_version_upgrade
  auto_minor_version_upgrade  = var.auto_minor_version_upgrade
  apply_immediately           = var.apply_immediately

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = var.storage_type
  storage_encrypted     = true
  kms_key_id            = local.kms_key_arn

  db_name                             = var.db_name
  username                            = var.master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = local.kms_key_arn
  iam_database_authentication_enabled = true
  port                                = local.port
  ca_cert_identifier                  = var.ca_cert_identifier

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  multi_az               = var.multi_az

  backup_retention_period   = var.backup_retention_period
  backup_window             = var.backup_window
  maintenance_window        = var.maintenance_window
  copy_tags_to_snapshot     = true
  delete_automated_backups  = var.delete_automated_backups
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : local.final_snapshot_identifier

  performance_insights_enabled          = var.performance_insights_enabled
  performance_insights_kms_key_id       = var.performance_insights_enabled ? local.kms_key_arn : null
  performance_insights_retention_period = var.performance_insights_enabled ? var.performance_insights_retention_period : null

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = aws_iam_role.monitoring.arn

  enabled_cloudwatch_logs_exports = local.log_exports

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy_attachment.monitoring,
  ]
}
