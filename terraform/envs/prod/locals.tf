# Values shared by several module calls (main.tf holds only module calls).
locals {
  name = "incident-tracker-${var.environment}"

  # Plain environment of web, worker, beat and the migrate task (names agreed with the app).
  app_environment = {
    APP_ENV          = "production"
    LOG_FORMAT       = "json"
    STORAGE_BACKEND  = "s3"
    S3_BUCKET        = var.evidence_bucket_name
    AWS_REGION       = var.aws_region
    SCANNING_ENABLED = "true"
    CLAMD_ADDRESS    = "tcp://127.0.0.1:3310"
    SMTP_HOST        = var.smtp.host
    SMTP_PORT        = tostring(var.smtp.port)
    SMTP_FROM        = var.smtp.from
    BASE_URL         = "https://${var.domain_name}"
    TRUSTED_PROXIES  = "1"
    # Environment dimension of the worker's EMF metrics (shared/metrics.py).
    METRICS_ENVIRONMENT = var.environment
  }

  # Secret environment (ECS injects them from Secrets Manager at task start).
  app_secrets = {
    DATABASE_URL  = var.app_secret_arns.database_url
    SECRET_KEY    = var.app_secret_arns.secret_key
    SMTP_PASSWORD = var.app_secret_arns.smtp_password
    REDIS_URL     = module.redis.redis_url_secret_arn
  }
}
