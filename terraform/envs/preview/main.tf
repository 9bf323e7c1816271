# Preview of one pull request on the shared preview base: its own task roles (scoped to the
# pr-<n>/ prefix), web service with its target group and host rule pr-<n>.<preview domain>, and
# a worker that also runs the beat schedule. Its database (pr_<n>) and Redis database are
# created by the preview workflow (terraform/README.md). Only module calls here.

module "iam" {
  source = "../../modules/iam"

  name                 = local.name
  evidence_bucket_arn  = "arn:aws:s3:::${local.base.evidence_bucket_name}"
  evidence_kms_key_arn = local.base.evidence_kms_key_arn
  evidence_key_prefix  = "${local.id}/"
  secret_arns          = values(local.app_secrets)
  ecr_repository_arns  = [local.base.ecr_repository_arn]
}

module "web" {
  source = "../../modules/ecs_service"

  name                       = "${local.name}-web"
  cluster_arn                = local.base.cluster_arn
  cluster_name               = local.base.cluster_name
  vpc_id                     = local.base.vpc_id
  private_subnet_ids         = local.base.private_subnet_ids
  capacity_provider_strategy = [{ capacity_provider = "FARGATE_SPOT", weight = 1, base = 0 }]

  image          = var.image
  command        = ["gunicorn", "--config", "web/gunicorn_conf.py", "web.wsgi:app"]
  container_port = 8000
  cpu            = 256
  memory         = 512
  environment    = local.app_environment
  secrets        = local.app_secrets

  task_role_arn      = module.iam.web_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = local.base.log_retention_days

  load_balancer = {
    security_group_id = local.base.alb_security_group_id
    lb_arn_suffix     = local.base.alb_arn_suffix
    listener_rule = {
      listener_arn = local.base.https_listener_arn
      priority     = var.pr_number
      host_headers = [local.host]
    }
  }

  desired_count                  = 1
  create_migrate_task_definition = true
}

module "worker" {
  source = "../../modules/ecs_service"

  name                       = "${local.name}-worker"
  cluster_arn                = local.base.cluster_arn
  cluster_name               = local.base.cluster_name
  vpc_id                     = local.base.vpc_id
  private_subnet_ids         = local.base.private_subnet_ids
  capacity_provider_strategy = [{ capacity_provider = "FARGATE_SPOT", weight = 1, base = 0 }]

  image = var.image
  # One task that also runs the beat schedule (-B): a preview never has two workers.
  command     = ["celery", "--app", "worker.celery_app", "worker", "--beat", "--schedule", "/tmp/celerybeat-schedule", "--loglevel", "INFO"]
  cpu         = var.scanning_enabled ? 1024 : 256
  memory      = var.scanning_enabled ? 3072 : 1024
  environment = local.app_environment
  secrets     = local.app_secrets

  sidecars = var.scanning_enabled ? [{
    name           = "clamd"
    image          = local.base.clamd_image
    port           = 3310
    essential      = true
    writable_paths = ["/var/lib/clamav", "/var/log/clamav", "/run/clamav", "/tmp"]
    health_check   = { command = ["CMD-SHELL", "clamdcheck.sh"] }
  }] : []

  task_role_arn      = module.iam.worker_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = local.base.log_retention_days

  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
}
