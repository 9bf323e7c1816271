data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  region         = data.aws_region.current.name
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  t              = var.thresholds

  watch_ecs   = var.ecs_cluster_name != null && length(var.ecs_services) > 0
  watch_rds   = var.rds_instance_id != null
  watch_redis = var.redis_replication_group_id != null
  watch_queue = var.metrics_environment != null

  # Alarm keys (for_each) are built from positions, never from IDs: an ID may be unknown until apply.
  redis_nodes = local.watch_redis ? { for i in range(var.redis_num_cache_clusters) : format("node-%03d", i + 1) => format("%s-%03d", var.redis_replication_group_id, i + 1) } : {}

  alb_on = var.alb == null ? [] : [var.alb]

  # Memory of the RDS instance class (GiB) -> PostgreSQL's default max_connections
  # (LEAST(DBInstanceClassMemory / 9531392, 5000)) and the freeable-memory floor.
  rds_class_memory_gib = {
    "db.t4g.micro" = 1, "db.t4g.small" = 2, "db.t4g.medium" = 4, "db.t4g.large" = 8, "db.t4g.xlarge" = 16, "db.t4g.2xlarge" = 32,
    "db.m7g.large" = 8, "db.m7g.xlarge" = 16, "db.m7g.2xlarge" = 32, "db.m7g.4xlarge" = 64,
    "db.r7g.large" = 16, "db.r7g.xlarge" = 32, "db.r7g.2xlarge" = 64, "db.r7g.4xlarge" = 128,
  }
  rds_memory_bytes              = lookup(local.rds_class_memory_gib, coalesce(var.rds_instance_class, "unknown"), 4) * 1073741824
  rds_max_connections           = min(floor(local.rds_memory_bytes / 9531392), 5000)
  rds_connections_threshold     = floor(local.rds_max_connections * local.t.rds_connections_percent / 100)
  rds_freeable_memory_threshold = floor(local.rds_memory_bytes * local.t.rds_freeable_memory_percent / 100)

  # Every alarm as data (one object type for all, so the lists concatenate):
  # key, metric, statistic, comparison, threshold, description.
  alarm_list = concat(
    flatten([for a in local.alb_on : [
      {
        key         = "alb-elb-5xx", namespace = "AWS/ApplicationELB", metric_name = "HTTPCode_ELB_5XX_Count", statistic = "Sum", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ LoadBalancer = a.arn_suffix }), comparison = "GreaterThanThreshold", threshold = local.t.alb_5xx_count
        description = "The load balancer itself returned more than ${local.t.alb_5xx_count} 5xx responses per period (no healthy target, target connection errors)."
      },
      {
        key         = "alb-target-5xx", namespace = "AWS/ApplicationELB", metric_name = "HTTPCode_Target_5XX_Count", statistic = "Sum", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ LoadBalancer = a.arn_suffix }), comparison = "GreaterThanThreshold", threshold = local.t.target_5xx_count
        description = "The application returned more than ${local.t.target_5xx_count} 5xx responses per period."
      },
      {
        key         = "alb-target-response-time-p95", namespace = "AWS/ApplicationELB", metric_name = "TargetResponseTime", statistic = null, extended_statistic = "p95", missing = "notBreaching"
        dimensions  = tomap({ LoadBalancer = a.arn_suffix }), comparison = "GreaterThanThreshold", threshold = local.t.target_response_time_p95_seconds
        description = "p95 target response time above ${local.t.target_response_time_p95_seconds} s."
      },
    ]]),
    flatten([for a in local.alb_on : [for k, tg in a.target_group_arn_suffixes : {
      key         = "alb-${k}-unhealthy-hosts", namespace = "AWS/ApplicationELB", metric_name = "UnHealthyHostCount", statistic = "Maximum", extended_statistic = null, missing = "notBreaching"
      dimensions  = tomap({ LoadBalancer = a.arn_suffix, TargetGroup = tg }), comparison = "GreaterThanThreshold", threshold = local.t.unhealthy_hosts
      description = "Target group ${k} has more than ${local.t.unhealthy_hosts} unhealthy targets (failing /healthz)."
    }]]),
    flatten([for a in local.alb_on : [for k, tg in a.target_group_arn_suffixes : {
      key         = "alb-${k}-no-healthy-host", namespace = "AWS/ApplicationELB", metric_name = "HealthyHostCount", statistic = "Minimum", extended_statistic = null, missing = "breaching"
      dimensions  = tomap({ LoadBalancer = a.arn_suffix, TargetGroup = tg }), comparison = "LessThanThreshold", threshold = 1
      description = "Target group ${k} has no healthy target: every user gets a 502/503. No data counts as breaching (no targets report nothing)."
    }]]),
    flatten([for k, svc in(local.watch_ecs ? var.ecs_services : {}) : [
      {
        key         = "ecs-${k}-cpu", namespace = "AWS/ECS", metric_name = "CPUUtilization", statistic = "Average", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ ClusterName = var.ecs_cluster_name, ServiceName = svc }), comparison = "GreaterThanThreshold", threshold = local.t.ecs_cpu_percent
        description = "ECS service ${svc}: average CPU above ${local.t.ecs_cpu_percent}% of its reservation."
      },
      {
        key         = "ecs-${k}-memory", namespace = "AWS/ECS", metric_name = "MemoryUtilization", statistic = "Average", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ ClusterName = var.ecs_cluster_name, ServiceName = svc }), comparison = "GreaterThanThreshold", threshold = local.t.ecs_memory_percent
        description = "ECS service ${svc}: average memory above ${local.t.ecs_memory_percent}% of its reservation (OOM kills ahead)."
      },
      {
        # Container Insights: a crashed or unplaceable service reports 0 tasks, a missing
        # service reports nothing; both mean the service is not running.
        key         = "ecs-${k}-no-running-task", namespace = "ECS/ContainerInsights", metric_name = "RunningTaskCount", statistic = "Minimum", extended_statistic = null, missing = "breaching"
        dimensions  = tomap({ ClusterName = var.ecs_cluster_name, ServiceName = svc }), comparison = "LessThanThreshold", threshold = 1
        description = "ECS service ${svc}: no running task (crash loop, failed placement, or stopped)."
      },
    ]]),
    flatten([for db in(local.watch_rds ? [var.rds_instance_id] : []) : [
      {
        key         = "rds-cpu", namespace = "AWS/RDS", metric_name = "CPUUtilization", statistic = "Average", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ DBInstanceIdentifier = db }), comparison = "GreaterThanThreshold", threshold = local.t.rds_cpu_percent
        description = "RDS ${db}: CPU above ${local.t.rds_cpu_percent}%."
      },
      {
        key         = "rds-free-storage", namespace = "AWS/RDS", metric_name = "FreeStorageSpace", statistic = "Minimum", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ DBInstanceIdentifier = db }), comparison = "LessThanThreshold", threshold = local.t.rds_free_storage_bytes
        description = "RDS ${db}: free storage below ${local.t.rds_free_storage_bytes} bytes."
      },
      {
        key         = "rds-connections", namespace = "AWS/RDS", metric_name = "DatabaseConnections", statistic = "Maximum", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ DBInstanceIdentifier = db }), comparison = "GreaterThanThreshold", threshold = local.rds_connections_threshold
        description = "RDS ${db}: more than ${local.rds_connections_threshold} connections (${local.t.rds_connections_percent}% of max_connections of ${coalesce(var.rds_instance_class, "the instance class")})."
      },
      {
        key         = "rds-freeable-memory", namespace = "AWS/RDS", metric_name = "FreeableMemory", statistic = "Minimum", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ DBInstanceIdentifier = db }), comparison = "LessThanThreshold", threshold = local.rds_freeable_memory_threshold
        description = "RDS ${db}: freeable memory below ${local.rds_freeable_memory_threshold} bytes (${local.t.rds_freeable_memory_percent}% of the instance memory): swapping and OOM ahead."
      },
    ]]),
    flatten([for k, node in local.redis_nodes : [
      {
        key         = "redis-${k}-memory", namespace = "AWS/ElastiCache", metric_name = "DatabaseMemoryUsagePercentage", statistic = "Maximum", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ CacheClusterId = node }), comparison = "GreaterThanThreshold", threshold = local.t.redis_memory_percent
        description = "Redis ${node}: memory above ${local.t.redis_memory_percent}% of maxmemory. With noeviction, a full Redis rejects new queue messages."
      },
      {
        key         = "redis-${k}-evictions", namespace = "AWS/ElastiCache", metric_name = "Evictions", statistic = "Sum", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ CacheClusterId = node }), comparison = "GreaterThanThreshold", threshold = local.t.redis_evictions
        description = "Redis ${node}: keys evicted (should never happen with maxmemory-policy noeviction: queue messages may be lost)."
      },
      {
        key         = "redis-${k}-engine-cpu", namespace = "AWS/ElastiCache", metric_name = "EngineCPUUtilization", statistic = "Average", extended_statistic = null, missing = "notBreaching"
        dimensions  = tomap({ CacheClusterId = node }), comparison = "GreaterThanThreshold", threshold = local.t.redis_engine_cpu_percent
        description = "Redis ${node}: the (single-threaded) engine is above ${local.t.redis_engine_cpu_percent}% CPU: broker and rate-limit latency grows."
      },
    ]]),
  )

  alarms = { for a in local.alarm_list : a.key => a }
}

################################################################################
# SNS topic (KMS-encrypted) + optional e-mail subscription
################################################################################

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "Resource": "*" means this key only, and administration is delegated to the account's IAM (standard default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: "Resource": "*" means this key only; CloudWatch's use is limited to this account by aws:SourceAccount.
  #checkov:skip=CKV_AWS_356:Key policy: "Resource": "*" means this key only (a key policy cannot name other resources).
  count = local.create_kms_key ? 1 : 0

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
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "events.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # ElastiCache publishes its events as a principal of this account (topic policy below): the
  # same grant as the AWS managed aws/sns key's, through SNS only.
  statement {
    sid       = "ThisAccountPublishesThroughSns"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "${var.name} alarm notifications (SNS)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_sns_topic" "this" {
  name              = "${var.name}-alarms"
  kms_master_key_id = local.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "EcsDeploymentEventsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # RDS event subscriptions (failover, failure, storage, maintenance of the instance).
  statement {
    sid       = "RdsEventsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["events.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # ElastiCache events (failover, node replacement): ElastiCache publishes as a principal of the
  # topic's account and needs aws:SourceOwner, not aws:SourceAccount (with which it marks the
  # topic inactive; ElastiCache user guide, "Managing ElastiCache Amazon SNS notifications").
  statement {
    sid       = "ElastiCacheEventsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceOwner"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "AccountManage"
    actions   = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

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

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email != null ? 1 : 0

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# An on-call service's HTTPS endpoint (PagerDuty's "Amazon CloudWatch" integration, Opsgenie's
# "Amazon SNS" integration): its URL carries the integration key, so it stays in Secrets Manager
# and only the secret's ARN is committed. Both services confirm the subscription themselves.
data "aws_secretsmanager_secret_version" "alarm_https_endpoint" {
  count = var.alarm_https_endpoint_secret_arn != null ? 1 : 0

  secret_id = var.alarm_https_endpoint_secret_arn
}

resource "aws_sns_topic_subscription" "https" {
  count = var.alarm_https_endpoint_secret_arn != null ? 1 : 0

  topic_arn              = aws_sns_topic.this.arn
  protocol               = "https"
  endpoint               = data.aws_secretsmanager_secret_version.alarm_https_endpoint[0].secret_string
  endpoint_auto_confirms = true
}

# The database's own events, which no metric shows: a Multi-AZ failover, a failure, storage
# running out, the instance going offline for maintenance.
resource "aws_db_event_subscription" "this" {
  count = local.watch_rds ? 1 : 0

  name             = "${var.name}-rds-events"
  sns_topic        = aws_sns_topic.this.arn
  source_type      = "db-instance"
  source_ids       = [var.rds_instance_id]
  event_categories = var.rds_event_categories

  tags = var.tags
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = var.period
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.datapoints_to_alarm
  # No data is fine for traffic metrics; it is an incident where the publisher is what died
  # (running tasks, healthy hosts): each alarm says which.
  treat_missing_data = each.value.missing

  alarm_actions = [aws_sns_topic.this.arn]
  ok_actions    = [aws_sns_topic.this.arn]

  tags = var.tags
}

# The worker's own metrics (EMF, shared/metrics.py): namespace IncidentTracker, dimensions
# Environment + Queue. One explicit resource per metric keeps the contract greppable.
resource "aws_cloudwatch_metric_alarm" "queue_depth" {
  for_each = toset(local.watch_queue ? var.queue_names : [])

  alarm_name          = "${var.name}-queue-${each.key}-depth"
  alarm_description   = "Queue ${each.key}: more than ${local.t.queue_depth} messages waiting (workers not keeping up, or down)."
  namespace           = var.metric_namespace
  metric_name         = "QueueDepth"
  dimensions          = { Environment = var.metrics_environment, Queue = each.key }
  statistic           = "Maximum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.queue_depth
  period              = var.period
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.datapoints_to_alarm
  treat_missing_data  = "breaching" # the worker publishes it: no data means no worker

  alarm_actions = [aws_sns_topic.this.arn]
  ok_actions    = [aws_sns_topic.this.arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  for_each = toset(local.watch_queue ? var.queue_names : [])

  alarm_name          = "${var.name}-queue-${each.key}-oldest-message-age"
  alarm_description   = "Queue ${each.key}: oldest waiting message older than ${local.t.oldest_message_age_seconds} s (uploads not scanned in time)."
  namespace           = var.metric_namespace
  metric_name         = "OldestMessageAgeSeconds"
  dimensions          = { Environment = var.metrics_environment, Queue = each.key }
  statistic           = "Maximum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.oldest_message_age_seconds
  period              = var.period
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.datapoints_to_alarm
  treat_missing_data  = "breaching" # the worker publishes it: no data means no worker

  alarm_actions = [aws_sns_topic.this.arn]
  ok_actions    = [aws_sns_topic.this.arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "task_failures" {
  for_each = toset(local.watch_queue ? var.queue_names : [])

  alarm_name          = "${var.name}-queue-${each.key}-task-failures"
  alarm_description   = "Queue ${each.key}: more than ${local.t.task_failures} worker tasks failed after their last retry."
  namespace           = var.metric_namespace
  metric_name         = "TaskFailures"
  dimensions          = { Environment = var.metrics_environment, Queue = each.key }
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.task_failures
  period              = var.period
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.datapoints_to_alarm
  treat_missing_data  = "notBreaching"

  alarm_actions = [aws_sns_topic.this.arn]
  ok_actions    = [aws_sns_topic.this.arn]

  tags = var.tags
}

################################################################################
# ECS deployment failures (circuit breaker or deployment alarm rolled back) -> SNS
################################################################################

resource "aws_cloudwatch_event_rule" "ecs_deployment_failed" {
  count = local.watch_ecs ? 1 : 0

  name        = "${var.name}-ecs-deployment-failed"
  description = "ECS deployments of ${var.ecs_cluster_name} that failed (and were rolled back)."
  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Deployment State Change"]
    resources     = [{ prefix = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${var.ecs_cluster_name}/" }]
    detail        = { eventName = ["SERVICE_DEPLOYMENT_FAILED"] }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "ecs_deployment_failed" {
  count = local.watch_ecs ? 1 : 0

  rule      = aws_cloudwatch_event_rule.ecs_deployment_failed[0].name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.this.arn
}

################################################################################
# Dashboard
################################################################################

locals {
  widget = {
    type   = "metric"
    width  = 12
    height = 6
  }

  alb_widgets = flatten([for a in local.alb_on : concat([
    merge(local.widget, { properties = {
      title = "ALB 5xx", region = local.region, view = "timeSeries", stat = "Sum", period = var.period
      metrics = [
        ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", a.arn_suffix],
        ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", a.arn_suffix],
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", a.arn_suffix, { yAxis = "right" }],
      ]
    } }),
    merge(local.widget, { properties = {
      title = "ALB target response time", region = local.region, view = "timeSeries", period = var.period
      metrics = [
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", a.arn_suffix, { stat = "p50" }],
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", a.arn_suffix, { stat = "p95" }],
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", a.arn_suffix, { stat = "p99" }],
      ]
    } }),
    ], [for tgs in(length(a.target_group_arn_suffixes) > 0 ? [a.target_group_arn_suffixes] : []) : merge(local.widget, { properties = {
      title = "ALB healthy / unhealthy targets", region = local.region, view = "timeSeries", stat = "Maximum", period = var.period
      metrics = flatten([for k, tg in tgs : [
        ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", a.arn_suffix, "TargetGroup", tg, { label = "${k} healthy" }],
        ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", a.arn_suffix, "TargetGroup", tg, { label = "${k} unhealthy" }],
      ]])
    } })],
  )])

  ecs_widgets = local.watch_ecs ? [
    for m in ["CPUUtilization", "MemoryUtilization"] : merge(local.widget, { properties = {
      title   = "ECS ${m}", region = local.region, view = "timeSeries", stat = "Average", period = var.period
      metrics = [for svc in values(var.ecs_services) : ["AWS/ECS", m, "ClusterName", var.ecs_cluster_name, "ServiceName", svc]]
    } })
  ] : []

  rds_widgets = local.watch_rds ? [
    for m in ["CPUUtilization", "FreeStorageSpace", "DatabaseConnections"] : merge(local.widget, { properties = {
      title   = "RDS ${m}", region = local.region, view = "timeSeries", stat = "Average", period = var.period
      metrics = [["AWS/RDS", m, "DBInstanceIdentifier", var.rds_instance_id]]
    } })
  ] : []

  redis_widgets = local.watch_redis ? [
    for m in ["DatabaseMemoryUsagePercentage", "Evictions", "CurrConnections"] : merge(local.widget, { properties = {
      title   = "Redis ${m}", region = local.region, view = "timeSeries", stat = m == "Evictions" ? "Sum" : "Maximum", period = var.period
      metrics = [for node in values(local.redis_nodes) : ["AWS/ElastiCache", m, "CacheClusterId", node]]
    } })
  ] : []

  queue_widgets = local.watch_queue ? [
    for m in ["QueueDepth", "OldestMessageAgeSeconds", "TaskFailures"] : merge(local.widget, { properties = {
      title   = "Worker ${m}", region = local.region, view = "timeSeries", stat = m == "TaskFailures" ? "Sum" : "Maximum", period = var.period
      metrics = [for q in var.queue_names : [var.metric_namespace, m, "Environment", var.metrics_environment, "Queue", q]]
    } })
  ] : []

  dashboard_widgets = concat(local.alb_widgets, local.ecs_widgets, local.rds_widgets, local.redis_widgets, local.queue_widgets)
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(local.dashboard_widgets, [for _ in(length(local.dashboard_widgets) == 0 ? [1] : []) : {
      type       = "text", width = 24, height = 2
      properties = { markdown = "No resources are watched yet: pass alb, ecs_*, rds_*, redis_* or metrics_environment to the monitoring module." }
    }])
  })
}
