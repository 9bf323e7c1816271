data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  port           = 6379
  major_version  = split(".", var.engine_version)[0]
  family         = "${var.engine}${local.major_version}"
  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  auth_token            = var.create_auth_token ? sensitive(terraform_data.auth_token[0].output) : data.aws_secretsmanager_secret_version.auth_token[0].secret_string
  auth_token_secret_arn = var.create_auth_token ? aws_secretsmanager_secret.auth_token[0].arn : var.auth_token_secret_arn

  log_types = var.engine_log_enabled ? ["slow-log", "engine-log"] : ["slow-log"]
}

################################################################################
# KMS key (at rest, secrets, log groups)
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
    sid    = "AllowCloudWatchLogsForThisCache"
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
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/elasticache/${var.name}/*"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "ElastiCache ${var.name}: at rest, auth token secrets, logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name}-redis"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# AUTH token in Secrets Manager
################################################################################

# The token comes from Secrets Manager's GetRandomPassword (hashicorp/aws only, no
# hashicorp/random). The data source draws a new value on every plan: terraform_data keeps the
# first one (ignore_changes) until it is replaced on purpose, which is the rotation:
#   terraform apply -replace='module.<...>.terraform_data.auth_token[0]'
data "aws_secretsmanager_random_password" "auth_token" {
  count = var.create_auth_token ? 1 : 0

  password_length     = 64
  exclude_punctuation = true # URL-safe in REDIS_URL and inside ElastiCache's allowed set
  include_space       = false
}

resource "terraform_data" "auth_token" {
  count = var.create_auth_token ? 1 : 0

  # The provider does not mark random_password sensitive: without sensitive() every plan that
  # creates or replaces this resource would print the token.
  input = sensitive(data.aws_secretsmanager_random_password.auth_token[0].random_password)

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_secretsmanager_secret" "auth_token" {
  count = var.create_auth_token ? 1 : 0

  #checkov:skip=CKV2_AWS_57:ElastiCache AUTH tokens have no Secrets Manager rotation integration; rotate by replacing terraform_data.auth_token (auth_token_update_strategy = ROTATE keeps old and new tokens valid during the change).
  name_prefix             = "${var.name}/redis-auth-token-"
  description             = "AUTH token of ElastiCache replication group ${var.name}"
  kms_key_id              = local.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "auth_token" {
  count = var.create_auth_token ? 1 : 0

  secret_id     = aws_secretsmanager_secret.auth_token[0].id
  secret_string = local.auth_token
}

data "aws_secretsmanager_secret_version" "auth_token" {
  count = var.create_auth_token ? 0 : 1

  secret_id = var.auth_token_secret_arn
}

# REDIS_URL for the app (task definition `secrets`), TLS scheme rediss://. ssl_cert_reqs=required:
# without it kombu (the Celery broker) connects with CERT_NONE, accepting any certificate;
# redis-py (the queue metrics) and limits (Flask-Limiter) read the same parameter and verify too.
resource "aws_secretsmanager_secret" "redis_url" {
  #checkov:skip=CKV2_AWS_57:Derived from the AUTH token and endpoint; it changes when Terraform rotates the token, not through a rotation Lambda.
  name_prefix             = "${var.name}/redis-url-"
  description             = "REDIS_URL (rediss://:token@primary:6379/${var.redis_url_database}?ssl_cert_reqs=required) for ${var.name}"
  kms_key_id              = local.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = "rediss://:${urlencode(local.auth_token)}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${local.port}/${var.redis_url_database}?ssl_cert_reqs=required"
}

################################################################################
# Network: subnet group and security group
################################################################################

resource "aws_elasticache_subnet_group" "this" {
  name        = "${var.name}-cache"
  description = "Private subnets for ${var.name}"
  subnet_ids  = var.private_subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-cache-"
  description = "Redis ${var.name}: 6379 from the application security groups only"
  vpc_id      = var.vpc_id

  # No egress rules: the cache never opens outbound connections.

  tags = merge(var.tags, { Name = "${var.name}-cache" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Redis (TLS) from an allowed application security group"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = var.tags
}

################################################################################
# Parameter group: noeviction (Celery broker: never drop queued messages)
################################################################################

resource "aws_elasticache_parameter_group" "this" {
  name        = "${var.name}-${local.family}"
  family      = local.family
  description = "${var.name}: maxmemory-policy noeviction"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }

  dynamic "parameter" {
    for_each = var.parameters
    content {
      name  = parameter.value.name
      value = parameter.value.value
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Log groups (slow log, engine log)
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = toset(local.log_types)

  name              = "/aws/elasticache/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn != null ? var.log_kms_key_arn : (local.create_kms_key ? aws_kms_key.this[0].arn : null)

  tags = var.tags
}

################################################################################
# Replication group
################################################################################

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:Automatic failover is an environment choice: var.automatic_failover_enabled defaults to true (validated against num_cache_clusters >= 2) and prod keeps it; dev and the shared preview base run one node for cost.
  replication_group_id = var.name
  description          = "Incident Tracker broker/cache ${var.name}"

  engine               = var.engine
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = local.port
  parameter_group_name = aws_elasticache_parameter_group.this.name

  num_cache_clusters         = var.num_cache_clusters
  automatic_failover_enabled = var.automatic_failover_enabled
  multi_az_enabled           = var.multi_az_enabled

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = local.kms_key_arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = local.auth_token
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit  = var.snapshot_retention_limit
  snapshot_window           = var.snapshot_window
  maintenance_window        = var.maintenance_window
  final_snapshot_identifier = var.final_snapshot_identifier
  notification_topic_arn    = var.notification_topic_arn

  auto_minor_version_upgrade = var.auto_minor_version_upgrade
  apply_immediately          = var.apply_immediately

  dynamic "log_delivery_configuration" {
    for_each = aws_cloudwatch_log_group.this
    content {
      destination      = log_delivery_configuration.value.name
      destination_type = "cloudwatch-logs"
      log_format       = "json"
      log_type         = log_delivery_configuration.key
    }
  }

  tags = var.tags
}
