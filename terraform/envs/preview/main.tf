# Preview of one pull request on the shared preview base: its task roles (limited to pr-<n>/),
# a web service with its own target group and host rule pr-<n>.<preview domain>, and one worker
# that also runs the beat schedule. Its database (pr_<n>) is created by the preview workflow;
# its Redis keys carry the prefix pr-<n>: on the shared Redis.

module "app" {
  source = "../../modules/app_services"

  name                = local.name
  metrics_environment = local.id
  base_url            = "https://${local.host}"
  images              = { web = var.web_image, worker = var.worker_image }
  clamd_image         = local.base.clamd_image
  scanning_enabled    = var.scanning_enabled
  run_beat_in_worker  = true
  redis_key_prefix    = "${local.id}:"

  repository_credentials_secret_arn = local.base.dockerhub_credentials_secret_arn

  cluster            = { arn = local.base.cluster_arn, name = local.base.cluster_name }
  vpc_id             = local.base.vpc_id
  vpc_cidr_block     = local.base.vpc_cidr_block
  private_subnet_ids = local.base.private_subnet_ids
  load_balancer = {
    security_group_id = local.base.alb_security_group_id
    lb_arn_suffix     = local.base.alb_arn_suffix
    listener_rule = {
      listener_arn = local.base.https_listener_arn
      priority     = var.pr_number
      host_headers = [local.host]
    }
  }
  evidence = {
    bucket_name = local.base.evidence_bucket_name
    kms_key_arn = local.base.evidence_kms_key_arn
    key_prefix  = "${local.id}/"
  }
  database                = { security_group_id = local.base.database_security_group_id, port = local.base.database_port }
  redis_security_group_id = local.base.redis_security_group_id

  app_secret_arns = {
    database_url = var.pr_secret_arns.database_url
    # Shared by every preview: each one's keys carry its REDIS_KEY_PREFIX (pr-<n>:).
    redis_url     = local.base.redis_url_secret_arn
    secret_key    = local.base.shared_secret_arns.secret_key
    smtp_password = local.base.shared_secret_arns.smtp_password
    # try(): a base applied before the attribute existed has none (no SMTP login then).
    smtp_username = try(local.base.shared_secret_arns.smtp_username, null)
  }
  secrets_kms_key_arns = [local.base.redis_kms_key_arn]
  smtp                 = local.base.smtp

  web    = { cpu = 256, memory = 512, min_count = 1, max_count = 1, spot = true }
  worker = { cpu = var.scanning_enabled ? 1024 : 256, memory = var.scanning_enabled ? 3072 : 1024, min_count = 1, max_count = 1, spot = true }

  log_retention_days       = local.base.log_retention_days
  log_kms_key_arn          = local.base.logs_kms_key_arn
  permissions_boundary_arn = "arn:aws:iam::${var.aws_account_id}:policy/incident-tracker-permissions-boundary"
}
