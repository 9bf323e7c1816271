# Shared preview base: stays up while pull requests come and go. Each envs/preview root
# (one state per PR) adds its services, target group, host rule and database on top of it.
# Only module calls here; shared values live in locals.tf.

module "network" {
  source = "../../modules/network"

  name                     = local.name
  cidr_block               = var.vpc_cidr
  azs                      = var.azs
  single_nat_gateway       = true
  flow_logs_retention_days = var.log_retention_days
}

module "alb" {
  source = "../../modules/alb"

  name              = local.name
  vpc_id            = module.network.vpc_id
  public_subnet_ids = module.network.public_subnet_ids
  certificate_arn   = var.certificate_arn
  ingress_cidrs     = var.alb_ingress_cidrs
  # No default target group: unknown hosts get a 404; each preview brings its own target
  # group and host-header rule (ecs_service load_balancer.listener_rule).
  create_target_group = false

  # The module creates the access-log bucket incident-tracker-preview-alb-logs-<account id>.
  access_logs_retention_days = var.log_retention_days
}

module "ecs_cluster" {
  source = "../../modules/ecs_cluster"

  name                               = local.name
  default_capacity_provider_strategy = [{ capacity_provider = "FARGATE_SPOT", weight = 1, base = 0 }]
  execute_command_log_retention_days = var.log_retention_days
}

module "evidence_bucket" {
  source = "../../modules/evidence_bucket"

  bucket_name     = var.evidence_bucket_name
  web_role_arn    = "${local.preview_role_prefix}-web-task"
  worker_role_arn = "${local.preview_role_prefix}-worker-task"
  # Previews nest the bucket layout under pr-<n>/: guard those prefixes too.
  nested_prefixes_enabled = true
  retention_days          = 365
  force_destroy           = true
}

module "rds" {
  source = "../../modules/rds"

  name               = local.name
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  # Previews add their own ingress rules (envs/preview/access.tf); the bastion joins when enabled.
  allowed_security_group_ids    = var.enable_bastion ? [module.bastion.security_group_id] : []
  instance_class                = var.database.instance_class
  allocated_storage             = var.database.allocated_storage
  max_allocated_storage         = var.database.max_allocated_storage
  multi_az                      = false
  deletion_protection           = true
  backup_retention_period       = 3
  cloudwatch_log_retention_days = var.log_retention_days
}

module "redis" {
  source = "../../modules/redis"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  node_type                  = var.cache.node_type
  num_cache_clusters         = 1
  automatic_failover_enabled = false
  multi_az_enabled           = false
  snapshot_retention_limit   = 1
  log_retention_days         = var.log_retention_days
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

  alb                        = { arn_suffix = module.alb.lb_arn_suffix }
  rds_instance_id            = module.rds.db_instance_identifier
  redis_replication_group_id = module.redis.replication_group_id
  redis_num_cache_clusters   = 1
}
