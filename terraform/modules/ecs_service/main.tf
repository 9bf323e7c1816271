data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  region         = data.aws_region.current.name
  log_group_name = "/ecs/${var.name}"

  create_log_kms_key = var.create_log_kms_key
  log_kms_key_arn    = local.create_log_kms_key ? aws_kms_key.logs[0].arn : var.log_kms_key_arn

  attach_lb           = var.load_balancer != null
  create_target_group = local.attach_lb && try(var.load_balancer.listener_rule != null, false)
  target_group_arn    = local.create_target_group ? try(aws_lb_target_group.this[0].arn, null) : try(var.load_balancer.target_group_arn, null)
  # Target group names are capped at 32 characters.
  target_group_name = "${trimsuffix(substr(var.name, 0, 29), "-")}-tg"

  # Explicit label, else derived from the target group created here and the ALB's ARN suffix.
  request_count_resource_label = try(coalesce(
    var.autoscaling_request_count_resource_label,
    local.create_target_group && try(var.load_balancer.lb_arn_suffix != null, false) ? "${var.load_balancer.lb_arn_suffix}/${aws_lb_target_group.this[0].arn_suffix}" : null,
  ), null)

  log_configuration = {
    logDriver = "awslogs"
    options = {
      "awslogs-group"         = local.log_group_name
      "awslogs-region"        = local.region
      "awslogs-stream-prefix" = "ecs"
      # Never block the app on a slow log pipe; the buffer absorbs bursts.
      "mode"            = "non-blocking"
      "max-buffer-size" = "25m"
    }
  }

  tmp_mount = { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }

  sidecar_volumes = flatten([
    for s in var.sidecars : [
      for i, p in s.writable_paths : { name = "${s.name}-rw-${i}", path = p, container = s.name }
    ]
  ])

  environment = [for k in sort(keys(var.environment)) : { name = k, value = var.environment[k] }]
  secrets     = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]

  # Docker Hub images: authenticated pulls (no anonymous rate limit through the NAT).
  repository_credentials = var.repository_credentials_secret_arn == null ? null : { credentialsParameter = var.repository_credentials_secret_arn }

  main_container = { for k, v in {
    name                   = var.container_name
    image                  = var.image
    repositoryCredentials  = local.repository_credentials
    essential              = true
    command                = var.command
    user                   = var.user
    readonlyRootFilesystem = var.readonly_root_filesystem
    privileged             = false
    stopTimeout            = var.stop_timeout
    environment            = local.environment
    secrets                = local.secrets
    mountPoints            = [local.tmp_mount]
    volumesFrom            = []
    logConfiguration       = local.log_configuration
    portMappings = var.container_port == null ? [] : [{
      name          = "http"
      containerPort = var.container_port
      hostPort      = var.container_port
      protocol      = "tcp"
    }]
    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { add = [], drop = ["ALL"] }
    }
    healthCheck = var.container_health_check == null ? null : {
      command     = var.container_health_check.command
      interval    = var.container_health_check.interval
      timeout     = var.container_health_check.timeout
      retries     = var.container_health_check.retries
      startPeriod = var.container_health_check.start_period
    }
    dependsOn = length(var.sidecars) == 0 ? null : [
      for s in var.sidecars : { containerName = s.name, condition = s.health_check == null ? "START" : "HEALTHY" }
    ]
  } : k => v if v != null }

  sidecar_containers = [
    for s in var.sidecars : { for k, v in {
      name                   = s.name
      image                  = s.image
      repositoryCredentials  = local.repository_credentials
      essential              = s.essential
      command                = s.command
      user                   = s.user
      cpu                    = s.cpu
      memory                 = s.memory
      memoryReservation      = s.memory_reservation
      readonlyRootFilesystem = s.readonly_root_filesystem
      privileged             = false
      environment            = [for k in sort(keys(s.environment)) : { name = k, value = s.environment[k] }]
      mountPoints = [
        for v in local.sidecar_volumes : { sourceVolume = v.name, containerPath = v.path, readOnly = false } if v.container == s.name
      ]
      volumesFrom = []
      portMappings = s.port == null ? [] : [{
        containerPort = s.port
        hostPort      = s.port
        protocol      = "tcp"
      }]
      logConfiguration = merge(local.log_configuration, {
        options = merge(local.log_configuration.options, { "awslogs-stream-prefix" = s.name })
      })
      healthCheck = s.health_check == null ? null : {
        command     = s.health_check.command
        interval    = s.health_check.interval
        timeout     = s.health_check.timeout
        retries     = s.health_check.retries
        startPeriod = s.health_check.start_period
      }
    } : k => v if v != null }
  ]

  migrate_container = merge(
    { for k, v in local.main_container : k => v if !contains(["portMappings", "healthCheck", "dependsOn"], k) },
    {
      command     = var.migrate_command
      stopTimeout = 120
      logConfiguration = merge(local.log_configuration, {
        options = merge(local.log_configuration.options, { "awslogs-stream-prefix" = "migrate" })
      })
    },
  )
}

################################################################################
# Logs (KMS-encrypted, with retention)
################################################################################

data "aws_iam_policy_document" "logs_kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "Resource": "*" means this key only, and administration is delegated to the account's IAM (standard default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: "Resource": "*" means this key only; the CloudWatch Logs statement is constrained by encryption context to one log group.
  #checkov:skip=CKV_AWS_356:Key policy: "Resource": "*" means this key only (a key policy cannot name other resources).
  count = local.create_log_kms_key ? 1 : 0

  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsUse"
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
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${local.region}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"]
    }
  }
}

resource "aws_kms_key" "logs" {
  count = local.create_log_kms_key ? 1 : 0

  description             = "${var.name} ECS logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.logs_kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "logs" {
  count = local.create_log_kms_key ? 1 : 0

  name          = "alias/${var.name}-logs"
  target_key_id = aws_kms_key.logs[0].key_id
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = local.log_kms_key_arn

  tags = var.tags
}

################################################################################
# Task definitions
################################################################################

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = var.task_role_arn
  execution_role_arn       = var.execution_role_arn

  container_definitions = jsonencode(concat([local.main_container], local.sidecar_containers))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Writable scratch space on the task's ephemeral storage; the root filesystems stay read-only.
  volume {
    name = "tmp"
  }

  dynamic "volume" {
    for_each = local.sidecar_volumes

    content {
      name = volume.value.name
    }
  }

  dynamic "ephemeral_storage" {
    for_each = var.ephemeral_storage_gib == null ? [] : [var.ephemeral_storage_gib]

    content {
      size_in_gib = ephemeral_storage.value
    }
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_ecs_task_definition" "migrate" {
  count = var.create_migrate_task_definition ? 1 : 0

  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = var.task_role_arn
  execution_role_arn       = var.execution_role_arn

  container_definitions = jsonencode([local.migrate_container])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this]
}

################################################################################
# Security group of the tasks
################################################################################

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-tasks-"
  description = "ECS tasks of ${var.name}"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-tasks" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb" {
  count = local.attach_lb ? 1 : 0

  security_group_id            = aws_security_group.this.id
  description                  = "Container port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.load_balancer.security_group_id

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "this" {
  for_each = var.egress_rules

  security_group_id = aws_security_group.this.id
  description       = coalesce(each.value.description, each.key)
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = coalesce(each.value.cidr_ipv4, data.aws_vpc.this.cidr_block)

  tags = var.tags
}

################################################################################
# Optional target group + host-header listener rule (previews)
################################################################################

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the ALB; targets are Fargate tasks in private subnets reachable only from the ALB security group, and gunicorn serves plain HTTP.
  count = local.create_target_group ? 1 : 0

  name                 = local.target_group_name
  vpc_id               = var.vpc_id
  target_type          = "ip"
  port                 = var.container_port
  protocol             = "HTTP"
  protocol_version     = "HTTP1"
  deregistration_delay = var.load_balancer.listener_rule.deregistration_delay

  health_check {
    enabled             = true
    path                = var.load_balancer.listener_rule.health_check_path
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = local.target_group_name })
}

resource "aws_lb_listener_rule" "this" {
  count = local.create_target_group ? 1 : 0

  listener_arn = var.load_balancer.listener_rule.listener_arn
  priority     = var.load_balancer.listener_rule.priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[0].arn
  }

  condition {
    host_header {
      values = var.load_balancer.listener_rule.host_headers
    }
  }

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# Service
################################################################################

resource "aws_ecs_service" "this" {
  name             = var.name
  cluster          = var.cluster_arn
  task_definition  = aws_ecs_task_definition.this.arn
  desired_count    = var.desired_count
  platform_version = var.platform_version

  enable_execute_command  = var.enable_execute_command
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = var.wait_for_steady_state

  deployment_minimum_healthy_percent = var.deployment_minimum_healthy_percent
  deployment_maximum_percent         = var.deployment_maximum_percent
  health_check_grace_period_seconds  = local.attach_lb ? var.load_balancer.health_check_grace_period_seconds : null

  deployment_controller {
    type = "ECS"
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # A deployment whose new tasks pass health checks but serve errors (target 5xx) is rolled
  # back too: ECS watches these alarms during the bake time of each deployment.
  dynamic "alarms" {
    for_each = length(var.deployment_alarm_names) > 0 ? [1] : []
    content {
      alarm_names = var.deployment_alarm_names
      enable      = true
      rollback    = true
    }
  }

  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_strategy

    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      weight            = capacity_provider_strategy.value.weight
      base              = capacity_provider_strategy.value.base
    }
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = local.attach_lb ? [1] : []

    content {
      target_group_arn = local.target_group_arn
      container_name   = var.container_name
      container_port   = var.container_port
    }
  }

  tags = var.tags

  lifecycle {
    # Autoscaling (or an operator) owns the task count after creation.
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener_rule.this]
}

################################################################################
# Autoscaling
################################################################################

resource "aws_appautoscaling_target" "this" {
  count = var.autoscaling_enabled ? 1 : 0

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  min_capacity       = var.autoscaling_min_capacity
  max_capacity       = var.autoscaling_max_capacity

  tags = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  count = var.autoscaling_enabled && var.autoscaling_cpu_target != null ? 1 : 0

  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_cpu_target
    scale_in_cooldown  = var.autoscaling_scale_in_cooldown
    scale_out_cooldown = var.autoscaling_scale_out_cooldown

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  count = var.autoscaling_enabled && var.autoscaling_request_count_target != null ? 1 : 0

  name               = "${var.name}-alb-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_request_count_target
    scale_in_cooldown  = var.autoscaling_scale_in_cooldown
    scale_out_cooldown = var.autoscaling_scale_out_cooldown

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = local.request_count_resource_label
    }
  }

  lifecycle {
    precondition {
      condition     = local.request_count_resource_label != null
      error_message = "autoscaling_request_count_target needs autoscaling_request_count_resource_label, or load_balancer.listener_rule together with load_balancer.lb_arn_suffix."
    }
  }
}

resource "aws_appautoscaling_policy" "queue_depth" {
  count = var.autoscaling_enabled && var.autoscaling_queue_depth_target != null ? 1 : 0

  name               = "${var.name}-queue-depth"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_queue_depth_target
    scale_in_cooldown  = var.autoscaling_scale_in_cooldown
    scale_out_cooldown = var.autoscaling_scale_out_cooldown

    # Backlog per task: the queue depth the worker publishes (EMF, shared/metrics.py) divided by
    # the service's running tasks (Container Insights), so the target is "messages per worker".
    customized_metric_specification {
      metrics {
        id          = "depth"
        label       = "Queue depth"
        return_data = false

        metric_stat {
          stat = var.queue_depth_metric.statistic

          metric {
            namespace   = var.queue_depth_metric.namespace
            metric_name = var.queue_depth_metric.metric_name

            dimensions {
              name  = "Environment"
              value = var.queue_depth_metric.environment
            }

            dimensions {
              name  = "Queue"
              value = var.queue_depth_metric.queue
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "Running tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = var.cluster_name
            }

            dimensions {
              name  = "ServiceName"
              value = var.name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Queue depth per running task"
        expression  = "depth / tasks"
        return_data = true
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.queue_depth_metric != null
      error_message = "autoscaling_queue_depth_target needs queue_depth_metric."
    }
  }
}
