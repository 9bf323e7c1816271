# The application on a platform: task roles (iam), the web, worker and beat services with the
# app's environment written once, the clamd sidecar, the migrate task definition, the tasks' way
# into the database and Redis, and the deployment alarm that rolls a bad web release back.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  log_group_arn_prefix = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/ecs/${var.name}"
  services             = var.run_beat_in_worker ? ["web", "worker"] : ["web", "worker", "beat"]

  # Plain environment of web, worker, beat and the migrate task (names agreed with the app).
  app_environment = merge(
    {
      APP_ENV          = "production"
      LOG_FORMAT       = "json"
      STORAGE_BACKEND  = "s3"
      S3_BUCKET        = var.evidence.bucket_name
      AWS_REGION       = local.region
      SCANNING_ENABLED = tostring(var.scanning_enabled)
      # Without scanning a production worker refuses to start unless this says it is deliberate
      # (shared/config.py check_worker_can_start); objects are then tagged not-scanned.
      ALLOW_UNSCANNED_EVIDENCE = tostring(!var.scanning_enabled)
      CLAMD_ADDRESS            = "tcp://127.0.0.1:3310"
      SMTP_HOST                = var.smtp.host
      SMTP_PORT                = tostring(var.smtp.port)
      SMTP_FROM                = var.smtp.from
      SMTP_SECURITY            = var.smtp.security
      BASE_URL                 = var.base_url
      TRUSTED_PROXIES          = "1"
      # gunicorn takes X-Forwarded-* only from the load balancer, which lives in the VPC.
      FORWARDED_ALLOW_IPS = var.vpc_cidr_block
      # Environment dimension of the worker's EMF metrics (shared/metrics.py).
      METRICS_ENVIRONMENT = var.metrics_environment
    },
    # Previews: the bucket layout (incoming/, evidence/, ...) nests under pr-<n>/.
    var.evidence.key_prefix == "" ? {} : { S3_KEY_PREFIX = var.evidence.key_prefix },
    # Previews share one Redis: every key (Celery/kombu global_keyprefix, rate limits) starts with it.
    var.redis_key_prefix == null ? {} : { REDIS_KEY_PREFIX = var.redis_key_prefix },
    # A user name that is no credential (e.g. SendGrid's "apikey"); SES's is a secret (below).
    var.smtp.username == "" ? {} : {
      SMTP_USERNAME = var.smtp.username
    },
  )

  # Secret environment (ECS injects them from Secrets Manager at task start).
  app_secrets = merge(
    {
      DATABASE_URL  = var.app_secret_arns.database_url
      SECRET_KEY    = var.app_secret_arns.secret_key
      SMTP_PASSWORD = var.app_secret_arns.smtp_password
      REDIS_URL     = var.app_secret_arns.redis_url
    },
    # The app logs in to the SMTP server only with a user name. SES's is an IAM access key id,
    # half of the credential pair and rotated with the password: a secret, like SMTP_PASSWORD.
    var.app_secret_arns.smtp_username == null ? {} : {
      SMTP_USERNAME = var.app_secret_arns.smtp_username
    },
  )

  clamd_sidecar = {
    name  = "clamd"
    image = var.clamd_image
    port  = 3310
    # The image carries a signature database from its build; freshclam refreshes it into the
    # task's volume at start, which can take minutes through the NAT: the worker waits for
    # HEALTHY and the start period covers the download.
    essential      = true
    writable_paths = ["/var/lib/clamav", "/var/log/clamav", "/run/clamav", "/tmp"]
    health_check   = { command = ["CMD-SHELL", "clamdcheck.sh"], interval = 30, timeout = 10, retries = 5, start_period = 300 }
  }

  worker_command = concat(
    ["celery", "--app", "worker.celery_app", "worker", "--loglevel", "INFO"],
    var.run_beat_in_worker ? ["--beat", "--schedule", "/tmp/celerybeat-schedule"] : [],
  )

  capacity = {
    on_demand = [{ capacity_provider = "FARGATE", weight = 1, base = 0 }]
    spot      = [{ capacity_provider = "FARGATE_SPOT", weight = 1, base = 0 }]
  }

  # Ports the tasks connect to inside the VPC: PostgreSQL and Redis; HTTPS goes out through the
  # NAT (AWS APIs, SMTP) and the S3 gateway endpoint.
  egress_rules = {
    postgres = { port = var.database.port, description = "PostgreSQL" }
    redis    = { port = 6379, description = "Redis (TLS)" }
    https    = { port = 443, cidr_ipv4 = "0.0.0.0/0", description = "HTTPS: AWS APIs, S3, image pulls" }
    smtp     = { port = var.smtp.port, cidr_ipv4 = "0.0.0.0/0", description = "SMTP submission" }
  }
}

module "iam" {
  source = "../iam"

  name                 = var.name
  evidence_bucket_arn  = "arn:${local.partition}:s3:::${var.evidence.bucket_name}"
  evidence_kms_key_arn = var.evidence.kms_key_arn
  evidence_key_prefix  = var.evidence.key_prefix
  secret_arns          = concat(values(local.app_secrets), var.repository_credentials_secret_arn == null ? [] : [var.repository_credentials_secret_arn])
  secrets_kms_key_arns = var.secrets_kms_key_arns
  ecr_repository_arns  = var.ecr_repository_arns
  # Exactly this app's log groups: /ecs/incident-tracker-pr-42-* must not reach pr-420's.
  log_group_arns           = [for s in local.services : "${local.log_group_arn_prefix}-${s}"]
  enable_ecs_exec          = var.ecs_exec.enabled
  ecs_exec_kms_key_arn     = var.ecs_exec.kms_key_arn
  ecs_exec_log_group_arn   = var.ecs_exec.log_group_name == null ? null : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.ecs_exec.log_group_name}"
  permissions_boundary_arn = var.permissions_boundary_arn

  tags = var.tags
}

module "web" {
  source = "../ecs_service"

  name                       = "${var.name}-web"
  cluster_arn                = var.cluster.arn
  cluster_name               = var.cluster.name
  vpc_id                     = var.vpc_id
  private_subnet_ids         = var.private_subnet_ids
  capacity_provider_strategy = var.web.spot ? local.capacity.spot : local.capacity.on_demand

  image                             = var.images.web
  repository_credentials_secret_arn = var.repository_credentials_secret_arn
  command                           = ["gunicorn", "--config", "web/gunicorn_conf.py", "web.wsgi:app"]
  container_port                    = 8000
  cpu                               = var.web.cpu
  memory                            = var.web.memory
  environment                       = local.app_environment
  secrets                           = local.app_secrets
  egress_rules                      = local.egress_rules
  # The Fargate maximum: SIGKILL comes 120 s after SIGTERM, which ECS sends once the load
  # balancer has drained the task (deregistration_delay, 300 s); gunicorn gives requests still
  # in flight 110 s of it (graceful_timeout, web/gunicorn_conf.py).
  stop_timeout = 120

  task_role_arn      = module.iam.web_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = var.log_retention_days
  create_log_kms_key = false
  log_kms_key_arn    = var.log_kms_key_arn

  load_balancer = {
    security_group_id = var.load_balancer.security_group_id
    target_group_arn  = var.load_balancer.target_group_arn
    listener_rule     = var.load_balancer.listener_rule
    lb_arn_suffix     = var.load_balancer.lb_arn_suffix
  }

  desired_count                            = var.web.min_count
  enable_execute_command                   = var.ecs_exec.enabled
  autoscaling_enabled                      = var.web.max_count > var.web.min_count
  autoscaling_min_capacity                 = var.web.min_count
  autoscaling_max_capacity                 = var.web.max_count
  autoscaling_cpu_target                   = var.web.cpu_target
  autoscaling_request_count_target         = var.web.requests_per_target
  autoscaling_request_count_resource_label = var.load_balancer.request_count_resource_label
  deployment_alarm_names                   = [aws_cloudwatch_metric_alarm.web_deployment_5xx.alarm_name]

  # Registered with every apply (the deploy runs it with `aws ecs run-task` first).
  create_migrate_task_definition = true

  tags = var.tags
}

module "worker" {
  source = "../ecs_service"

  name                       = "${var.name}-worker"
  cluster_arn                = var.cluster.arn
  cluster_name               = var.cluster.name
  vpc_id                     = var.vpc_id
  private_subnet_ids         = var.private_subnet_ids
  capacity_provider_strategy = var.worker.spot ? local.capacity.spot : local.capacity.on_demand

  image                             = var.images.worker
  repository_credentials_secret_arn = var.repository_credentials_secret_arn
  command                           = local.worker_command
  cpu                               = var.worker.cpu
  memory                            = var.worker.memory
  environment                       = local.app_environment
  secrets                           = local.app_secrets
  egress_rules                      = local.egress_rules
  # Celery's warm shutdown finishes the running task.
  stop_timeout = 120
  sidecars     = var.scanning_enabled ? [local.clamd_sidecar] : []

  task_role_arn      = module.iam.worker_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = var.log_retention_days
  create_log_kms_key = false
  log_kms_key_arn    = var.log_kms_key_arn

  desired_count          = var.worker.min_count
  enable_execute_command = var.ecs_exec.enabled
  # A worker that also runs beat must never run twice, not even during a deployment.
  deployment_minimum_healthy_percent = var.run_beat_in_worker ? 0 : 100
  deployment_maximum_percent         = var.run_beat_in_worker ? 100 : 200
  autoscaling_enabled                = var.worker.max_count > var.worker.min_count
  autoscaling_min_capacity           = var.worker.min_count
  autoscaling_max_capacity           = var.worker.max_count
  autoscaling_cpu_target             = null
  autoscaling_queue_depth_target     = var.worker.queue_depth_per_task
  queue_depth_metric                 = { environment = var.metrics_environment }

  tags = var.tags
}

module "beat" {
  source = "../ecs_service"
  count  = var.run_beat_in_worker ? 0 : 1

  name                       = "${var.name}-beat"
  cluster_arn                = var.cluster.arn
  cluster_name               = var.cluster.name
  vpc_id                     = var.vpc_id
  private_subnet_ids         = var.private_subnet_ids
  capacity_provider_strategy = local.capacity.on_demand

  image                             = var.images.worker
  repository_credentials_secret_arn = var.repository_credentials_secret_arn
  # The schedule file goes to /tmp: the root filesystem is read-only.
  command      = ["celery", "--app", "worker.celery_app", "beat", "--loglevel", "INFO", "--schedule", "/tmp/celerybeat-schedule"]
  cpu          = var.beat.cpu
  memory       = var.beat.memory
  environment  = local.app_environment
  secrets      = local.app_secrets
  egress_rules = local.egress_rules

  task_role_arn      = module.iam.beat_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = var.log_retention_days
  create_log_kms_key = false
  log_kms_key_arn    = var.log_kms_key_arn

  # Exactly one scheduler, never two during a deployment.
  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  tags = var.tags
}

################################################################################
# The tasks' way into the database and Redis (their security groups exist only here)
################################################################################

locals {
  client_security_groups = merge(
    { web = module.web.security_group_id, worker = module.worker.security_group_id },
    var.run_beat_in_worker ? {} : { beat = module.beat[0].security_group_id },
  )
}

resource "aws_vpc_security_group_ingress_rule" "database" {
  for_each = { for k, v in local.client_security_groups : k => v if k != "beat" }

  security_group_id            = var.database.security_group_id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = var.database.port
  to_port                      = var.database.port
  description                  = "PostgreSQL from ${var.name} ${each.key} tasks"

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each = local.client_security_groups

  security_group_id            = var.redis_security_group_id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "Redis (TLS) from ${var.name} ${each.key} tasks"

  tags = var.tags
}

################################################################################
# Deployment alarm: target 5xx of the web service rolls a deployment back
################################################################################

resource "aws_cloudwatch_metric_alarm" "web_deployment_5xx" {
  alarm_name          = "${var.name}-web-deployment-5xx"
  alarm_description   = "Web targets of ${var.name} answer more than ${var.web.deployment_5xx_threshold} 5xx per minute: ECS rolls the running deployment back."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  statistic           = "Sum"
  dimensions          = { LoadBalancer = var.load_balancer.lb_arn_suffix, TargetGroup = coalesce(var.load_balancer.target_group_arn_suffix, module.web.target_group_arn_suffix) }
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.web.deployment_5xx_threshold
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"

  tags = var.tags
}
