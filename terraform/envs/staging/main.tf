# incident-tracker <environment>: network, entry point, data stores, services, monitoring.
# Only module calls here; shared values live in locals.tf, sizes in terraform.tfvars.

module "network" {
  source = "../../modules/network"

  name                     = local.name
  cidr_block               = var.vpc_cidr
  azs                      = var.azs
  single_nat_gateway       = var.single_nat_gateway
  flow_logs_retention_days = var.log_retention_days
}

module "alb" {
  source = "../../modules/alb"

  name                = local.name
  vpc_id              = module.network.vpc_id
  public_subnet_ids   = module.network.public_subnet_ids
  certificate_arn     = var.certificate_arn
  ingress_cidrs       = var.alb_ingress_cidrs
  deletion_protection = var.alb_deletion_protection

  # The module creates the access-log bucket incident-tracker-<env>-alb-logs-<account id>.
  access_logs_retention_days = var.log_retention_days
  access_logs_force_destroy  = var.alb_access_logs_force_destroy
}

module "ecs_cluster" {
  source = "../../modules/ecs_cluster"

  name                               = local.name
  execute_command_log_retention_days = var.log_retention_days
}

module "evidence_bucket" {
  source = "../../modules/evidence_bucket"

  bucket_name                 = var.evidence_bucket_name
  web_role_arn                = module.iam.web_task_role_arn
  worker_role_arn             = module.iam.worker_task_role_arn
  standard_ia_transition_days = var.evidence.standard_ia_transition_days
  glacier_transition_days     = var.evidence.glacier_transition_days
  retention_days              = var.evidence.retention_days
  quarantine_expiration_days  = var.evidence.quarantine_expiration_days
  object_lock_enabled         = var.evidence.object_lock_enabled
  force_destroy               = var.evidence.force_destroy
}

module "iam" {
  source = "../../modules/iam"

  name = local.name
  # Built from the name, not from module.evidence_bucket, so the two modules do not form a cycle.
  evidence_bucket_arn  = "arn:aws:s3:::${var.evidence_bucket_name}"
  evidence_kms_key_arn = module.evidence_bucket.kms_key_arn
  secret_arns          = concat(values(var.app_secret_arns), [module.redis.redis_url_secret_arn])
  secrets_kms_key_arns = concat(var.app_secrets_kms_key_arns, [module.redis.kms_key_arn])
  ecr_repository_arns  = [var.ecr_repository_arn]
  enable_ecs_exec      = var.enable_ecs_exec
}

module "rds" {
  source = "../../modules/rds"

  name               = local.name
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  # A list of known length (the modules count over it): the bastion joins only when enabled.
  allowed_security_group_ids    = concat([module.web.security_group_id, module.worker.security_group_id], var.enable_bastion ? [module.bastion.security_group_id] : [])
  instance_class                = var.database.instance_class
  performance_insights_enabled  = var.database.performance_insights
  allocated_storage             = var.database.allocated_storage
  max_allocated_storage         = var.database.max_allocated_storage
  multi_az                      = var.database.multi_az
  deletion_protection           = var.database.deletion_protection
  skip_final_snapshot           = var.database.skip_final_snapshot
  backup_retention_period       = var.database.backup_retention_period
  cloudwatch_log_retention_days = var.log_retention_days
}

module "redis" {
  source = "../../modules/redis"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  allowed_security_group_ids = [module.web.security_group_id, module.worker.security_group_id, module.beat.security_group_id]
  node_type                  = var.cache.node_type
  num_cache_clusters         = var.cache.num_cache_clusters
  automatic_failover_enabled = var.cache.num_cache_clusters > 1
  multi_az_enabled           = var.cache.num_cache_clusters > 1
  log_retention_days         = var.log_retention_days
}

module "web" {
  source = "../../modules/ecs_service"

  name               = "${local.name}-web"
  cluster_arn        = module.ecs_cluster.cluster_arn
  cluster_name       = module.ecs_cluster.cluster_name
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids

  image          = var.image
  command        = ["gunicorn", "--config", "web/gunicorn_conf.py", "web.wsgi:app"]
  container_port = 8000
  cpu            = var.web.cpu
  memory         = var.web.memory
  environment    = local.app_environment
  secrets        = local.app_secrets

  task_role_arn      = module.iam.web_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = var.log_retention_days

  load_balancer = {
    security_group_id = module.alb.security_group_id
    target_group_arn  = module.alb.target_group_arn
  }

  desired_count                            = var.web.min_count
  enable_execute_command                   = var.enable_ecs_exec
  autoscaling_enabled                      = true
  autoscaling_min_capacity                 = var.web.min_count
  autoscaling_max_capacity                 = var.web.max_count
  autoscaling_cpu_target                   = var.web.cpu_target
  autoscaling_request_count_target         = var.web.requests_per_target
  autoscaling_request_count_resource_label = module.alb.request_count_resource_label

  # The deploy runs it with `aws ecs run-task` before updating the services.
  create_migrate_task_definition = true
}

module "worker" {
  source = "../../modules/ecs_service"

  name                       = "${local.name}-worker"
  cluster_arn                = module.ecs_cluster.cluster_arn
  cluster_name               = module.ecs_cluster.cluster_name
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  capacity_provider_strategy = var.worker.use_spot ? [{ capacity_provider = "FARGATE_SPOT", weight = 3, base = 0 }, { capacity_provider = "FARGATE", weight = 1, base = 1 }] : [{ capacity_provider = "FARGATE", weight = 1, base = 0 }]

  image       = var.image
  command     = ["celery", "--app", "worker.celery_app", "worker", "--loglevel", "INFO"]
  cpu         = var.worker.cpu
  memory      = var.worker.memory
  environment = local.app_environment
  secrets     = local.app_secrets
  # Celery's warm shutdown finishes the running task.
  stop_timeout = 120

  sidecars = [{
    name           = "clamd"
    image          = var.clamd_image
    port           = 3310
    essential      = true
    writable_paths = ["/var/lib/clamav", "/var/log/clamav", "/run/clamav", "/tmp"]
    health_check   = { command = ["CMD-SHELL", "clamdcheck.sh"] }
  }]

  task_role_arn      = module.iam.worker_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = var.log_retention_days

  desired_count                  = var.worker.min_count
  enable_execute_command         = var.enable_ecs_exec
  autoscaling_enabled            = true
  autoscaling_min_capacity       = var.worker.min_count
  autoscaling_max_capacity       = var.worker.max_count
  autoscaling_cpu_target         = null
  autoscaling_queue_depth_target = var.worker.queue_depth_target
  queue_depth_metric             = { environment = var.environment }
}

module "beat" {
  source = "../../modules/ecs_service"

  name               = "${local.name}-beat"
  cluster_arn        = module.ecs_cluster.cluster_arn
  cluster_name       = module.ecs_cluster.cluster_name
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids

  image = var.image
  # The schedule file goes to /tmp: the root filesystem is read-only.
  command     = ["celery", "--app", "worker.celery_app", "beat", "--loglevel", "INFO", "--schedule", "/tmp/celerybeat-schedule"]
  cpu         = var.beat.cpu
  memory      = var.beat.memory
  environment = local.app_environment
  secrets     = local.app_secrets

  task_role_arn      = module.iam.worker_task_role_arn
  execution_role_arn = module.iam.execution_role_arn
  log_retention_days = var.log_retention_days

  # Exactly one scheduler, never two during a deployment.
  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
}

module "bastion" {
  source = "../../modules/bastion"

  create    = var.enable_bastion
  name      = local.name
  vpc_id    = module.network.vpc_id
  subnet_id = module.network.private_subnet_ids[0]
}

module "monitoring" {
  source = "../../modules/monitoring"

  name        = local.name
  alarm_email = var.alarm_email

  alb = {
    arn_suffix                = module.alb.lb_arn_suffix
    target_group_arn_suffixes = { web = module.alb.target_group_arn_suffix }
  }
  ecs_cluster_name           = module.ecs_cluster.cluster_name
  ecs_service_names          = [module.web.service_name, module.worker.service_name, module.beat.service_name]
  rds_instance_id            = module.rds.db_instance_identifier
  redis_replication_group_id = module.redis.replication_group_id
  redis_num_cache_clusters   = var.cache.num_cache_clusters
  metrics_environment        = var.environment
}
