locals {
  base = data.terraform_remote_state.base.outputs

  id   = "pr-${var.pr_number}"
  name = "incident-tracker-${local.id}" # roles incident-tracker-pr-<n>-{web,worker}-task match the base bucket policy
  host = "${local.id}.${local.base.preview_domain}"

  app_environment = {
    APP_ENV          = "production"
    LOG_FORMAT       = "json"
    STORAGE_BACKEND  = "s3"
    S3_BUCKET        = local.base.evidence_bucket_name
    S3_KEY_PREFIX    = "${local.id}/" # the layout (incoming/, evidence/, ...) nests under pr-<n>/
    AWS_REGION       = var.aws_region
    SCANNING_ENABLED = tostring(var.scanning_enabled)
    CLAMD_ADDRESS    = "tcp://127.0.0.1:3310"
    SMTP_HOST        = local.base.smtp.host
    SMTP_PORT        = tostring(local.base.smtp.port)
    SMTP_FROM        = local.base.smtp.from
    BASE_URL         = "https://${local.host}"
    TRUSTED_PROXIES  = "1"
    # Environment dimension of the worker's EMF metrics (shared/metrics.py: "pr-42").
    METRICS_ENVIRONMENT = local.id
  }

  app_secrets = {
    DATABASE_URL  = var.pr_secret_arns.database_url
    REDIS_URL     = var.pr_secret_arns.redis_url
    SECRET_KEY    = local.base.shared_secret_arns.secret_key
    SMTP_PASSWORD = local.base.shared_secret_arns.smtp_password
  }
}
