# incident-tracker <environment>: the platform and the application on it. What differs between
# dev, staging and prod is in terraform.tfvars; what they share lives in the two modules.

module "platform" {
  source = "../../modules/platform"

  name               = local.name
  network            = var.network
  alb                = var.alb
  evidence           = var.evidence
  database           = var.database
  cache              = var.cache
  audit              = var.audit
  log_retention_days = var.log_retention_days
  alarm_email        = var.alarm_email
  enable_bastion     = var.enable_bastion

  permissions_boundary_arn = local.permissions_boundary_arn

  # Alarms also to an on-call service (PagerDuty, Opsgenie), besides alarm_email.
  alarm_https_endpoint_secret_arn = var.alarm_https_endpoint_secret_arn

  monitoring = {
    ecs_services        = module.app.service_names
    metrics_environment = var.environment
  }
}

module "app" {
  source = "../../modules/app_services"

  name                = local.name
  metrics_environment = var.environment
  base_url            = "https://${var.domain_name}"
  images              = { web = var.web_image, worker = var.worker_image }
  clamd_image         = var.clamd_image

  repository_credentials_secret_arn = var.dockerhub_credentials_secret_arn
  ecr_repository_arns               = var.ecr_repository_arns

  cluster            = { arn = module.platform.cluster_arn, name = module.platform.cluster_name }
  vpc_id             = module.platform.vpc_id
  vpc_cidr_block     = module.platform.vpc_cidr_block
  private_subnet_ids = module.platform.private_subnet_ids
  load_balancer = {
    security_group_id            = module.platform.alb_security_group_id
    lb_arn_suffix                = module.platform.alb_arn_suffix
    target_group_arn             = module.platform.target_group_arn
    target_group_arn_suffix      = module.platform.target_group_arn_suffix
    request_count_resource_label = module.platform.request_count_resource_label
  }
  evidence                = { bucket_name = module.platform.evidence_bucket_name, kms_key_arn = module.platform.evidence_kms_key_arn }
  database                = { security_group_id = module.platform.database_security_group_id }
  redis_security_group_id = module.platform.redis_security_group_id

  app_secret_arns      = merge(var.app_secret_arns, { redis_url = module.platform.redis_url_secret_arn })
  secrets_kms_key_arns = concat(var.app_secrets_kms_key_arns, [module.platform.redis_kms_key_arn])
  smtp                 = var.smtp

  web    = var.web
  worker = var.worker
  beat   = var.beat

  ecs_exec = {
    enabled        = var.enable_ecs_exec
    kms_key_arn    = module.platform.logs_kms_key_arn
    log_group_name = module.platform.ecs_exec_log_group_name
  }
  log_retention_days       = var.log_retention_days
  log_kms_key_arn          = module.platform.logs_kms_key_arn
  permissions_boundary_arn = local.permissions_boundary_arn
}
