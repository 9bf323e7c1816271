# Everything an environment runs its services on: network, load balancer, cluster, database,
# Redis, evidence bucket, monitoring, optional bastion, and the one KMS key of its log groups.
# The app_services module adds IAM, the services and their access to the database and Redis.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Task roles are named <role_prefix>-{web,worker}-task by app_services (iam module). The bucket
  # policy names them as strings (aws:PrincipalArn conditions), so the bucket does not wait for
  # the roles and previews can match every PR's roles with a wildcard.
  role_arn_prefix = "arn:${local.partition}:iam::${local.account_id}:role/${coalesce(var.evidence.task_role_prefix, var.name)}"
}

################################################################################
# One KMS key for every log group of the environment (flow logs, ECS Exec, services,
# RDS, ElastiCache): CloudWatch Logs of this account and region may use it.
################################################################################

data "aws_iam_policy_document" "logs_kms" {
  #checkov:skip=CKV_AWS_109:Key policy: the account root statement is the standard KMS default that delegates access control to IAM; "*" means this key only.
  #checkov:skip=CKV_AWS_111:Key policy: the account root statement is the standard KMS default that delegates access control to IAM; "*" means this key only.
  #checkov:skip=CKV_AWS_356:Key policy: "*" resource in a key policy refers to the key itself.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsOfThisAccount"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
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
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # The evidence data-event trail (cloudtrail.tf) encrypts its log files with this key too.
  statement {
    sid       = "CloudTrailOfThisEnvironment"
    actions   = ["kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${var.name}-evidence-data-events"]
    }
  }
}

resource "aws_kms_key" "logs" {
  description             = "${var.name}: every CloudWatch log group of the environment"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.logs_kms.json

  tags = var.tags
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${var.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

################################################################################
# Building blocks
################################################################################

module "network" {
  source = "../network"

  name                     = var.name
  cidr_block               = var.network.cidr_block
  azs                      = var.network.azs
  single_nat_gateway       = var.network.single_nat_gateway
  flow_logs_retention_days = var.network.flow_logs_retention_days
  create_flow_logs_kms_key = false
  flow_logs_kms_key_arn    = aws_kms_key.logs.arn
  permissions_boundary_arn = var.permissions_boundary_arn

  tags = var.tags
}

module "alb" {
  source = "../alb"

  name                = var.name
  vpc_id              = module.network.vpc_id
  public_subnet_ids   = module.network.public_subnet_ids
  certificate_arn     = var.alb.certificate_arn
  ingress_cidrs       = var.alb.ingress_cidrs
  deletion_protection = var.alb.deletion_protection
  create_target_group = var.alb.create_target_group
  attach_web_acl      = var.alb.waf_enabled
  web_acl_arn         = var.alb.waf_enabled ? aws_wafv2_web_acl.this[0].arn : null

  # The module creates the access-log bucket <name>-alb-logs-<account id>.
  access_logs_retention_days = var.log_retention_days
  access_logs_force_destroy  = var.alb.access_logs_force_destroy

  tags = var.tags
}

module "ecs_cluster" {
  source = "../ecs_cluster"

  name                               = var.name
  default_capacity_provider_strategy = var.cluster_capacity_provider_strategy
  create_kms_key                     = false
  kms_key_arn                        = aws_kms_key.logs.arn
  execute_command_log_retention_days = var.log_retention_days

  tags = var.tags
}

module "evidence_bucket" {
  source = "../evidence_bucket"

  bucket_name                 = var.evidence.bucket_name
  web_role_arn                = "${local.role_arn_prefix}-web-task"
  worker_role_arn             = "${local.role_arn_prefix}-worker-task"
  nested_prefixes_enabled     = var.evidence.nested_prefixes_enabled
  standard_ia_transition_days = var.evidence.standard_ia_transition_days
  glacier_transition_days     = var.evidence.glacier_transition_days
  retention_days              = var.evidence.retention_days
  quarantine_expiration_days  = var.evidence.quarantine_expiration_days
  object_lock_enabled         = var.evidence.object_lock_enabled
  object_lock_mode            = var.evidence.object_lock_mode
  force_destroy               = var.evidence.force_destroy

  tags = var.tags
}

module "rds" {
  source = "../rds"

  name               = var.name
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  # The services open their own way in (app_services); the bastion joins when enabled.
  allowed_security_group_ids    = var.enable_bastion ? [module.bastion.security_group_id] : []
  instance_class                = var.database.instance_class
  performance_insights_enabled  = var.database.performance_insights
  allocated_storage             = var.database.allocated_storage
  max_allocated_storage         = var.database.max_allocated_storage
  multi_az                      = var.database.multi_az
  deletion_protection           = var.database.deletion_protection
  skip_final_snapshot           = var.database.skip_final_snapshot
  backup_retention_period       = var.database.backup_retention_period
  parameters                    = var.database.parameters
  cloudwatch_log_retention_days = var.log_retention_days
  cloudwatch_log_kms_key_arn    = aws_kms_key.logs.arn
  permissions_boundary_arn      = var.permissions_boundary_arn

  tags = var.tags
}

module "redis" {
  source = "../redis"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  node_type                  = var.cache.node_type
  num_cache_clusters         = var.cache.num_cache_clusters
  automatic_failover_enabled = var.cache.num_cache_clusters > 1
  multi_az_enabled           = var.cache.num_cache_clusters > 1
  snapshot_retention_limit   = var.cache.snapshot_retention_limit
  log_retention_days         = var.log_retention_days
  log_kms_key_arn            = aws_kms_key.logs.arn
  # Failovers, node replacements and the like, to the alarm topic.
  notification_topic_arn = module.monitoring.sns_topic_arn

  tags = var.tags
}

module "bastion" {
  source = "../bastion"

  create    = var.enable_bastion
  name      = var.name
  vpc_id    = module.network.vpc_id
  subnet_id = module.network.private_subnet_ids[0]

  permissions_boundary_arn = var.permissions_boundary_arn

  tags = var.tags
}

module "monitoring" {
  source = "../monitoring"

  name                            = var.name
  alarm_email                     = var.alarm_email
  alarm_https_endpoint_secret_arn = var.alarm_https_endpoint_secret_arn

  alb = {
    arn_suffix                = module.alb.lb_arn_suffix
    target_group_arn_suffixes = var.alb.create_target_group ? { web = module.alb.target_group_arn_suffix } : {}
  }
  ecs_cluster_name           = module.ecs_cluster.cluster_name
  ecs_services               = var.monitoring.ecs_services
  rds_instance_id            = module.rds.db_instance_identifier
  rds_instance_class         = var.database.instance_class
  redis_replication_group_id = module.redis.replication_group_id
  redis_num_cache_clusters   = var.cache.num_cache_clusters
  metrics_environment        = var.monitoring.metrics_environment

  tags = var.tags
}
