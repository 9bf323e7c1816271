# prod: its own account; three AZs, NAT per AZ, Multi-AZ database with deletion protection and
# 30 days of backups, Redis with automatic failover, Object Lock on the evidence bucket, WAF with
# a rate limit on /login, bigger tasks on on-demand Fargate. No secrets here: only ARNs of
# secrets created by hand (terraform/README.md). 333333333333 is a placeholder: prod's account.
aws_region     = "eu-west-1"
aws_account_id = "333333333333"
environment    = "prod"
repository     = "example-org/incident-tracker"
domain_name    = "incidents.example.com"

network = {
  cidr_block         = "10.30.0.0/16"
  azs                = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  single_nat_gateway = false
}
alb = {
  certificate_arn     = "arn:aws:acm:eu-west-1:333333333333:certificate/00000000-0000-0000-0000-000000000002"
  ingress_cidrs       = ["0.0.0.0/0"] # public, behind the WAF
  deletion_protection = true
  waf_enabled         = true
  login_rate_limit    = 100 # requests per client IP per 5 minutes on /login*
}

dockerhub_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:333333333333:secret:incident-tracker/prod/dockerhub-AbCdEf"
app_secret_arns = {
  database_url  = "arn:aws:secretsmanager:eu-west-1:333333333333:secret:incident-tracker/prod/database-url-AbCdEf"
  secret_key    = "arn:aws:secretsmanager:eu-west-1:333333333333:secret:incident-tracker/prod/secret-key-AbCdEf"
  smtp_password = "arn:aws:secretsmanager:eu-west-1:333333333333:secret:incident-tracker/prod/smtp-password-AbCdEf"
  smtp_username = "arn:aws:secretsmanager:eu-west-1:333333333333:secret:incident-tracker/prod/smtp-username-AbCdEf" # SES SMTP user (an access key id)
}
smtp = {
  host = "email-smtp.eu-west-1.amazonaws.com"
  port = 587
  from = "incidents@example.com"
}

web    = { cpu = 1024, memory = 2048, min_count = 2, max_count = 8, requests_per_target = 400 }
worker = { cpu = 2048, memory = 4096, min_count = 2, max_count = 8, queue_depth_per_task = 20, spot = false }
beat   = { cpu = 256, memory = 512 }

evidence = {
  bucket_name                 = "incident-tracker-prod-evidence-333333333333"
  standard_ia_transition_days = 30
  glacier_transition_days     = 90
  retention_days              = 2555 # seven years
  quarantine_expiration_days  = 30
  object_lock_enabled         = true
  object_lock_mode            = "GOVERNANCE" # bypass denied in the bucket policy; COMPLIANCE if retention becomes a legal promise
  force_destroy               = false
}
audit = {
  evidence_data_events = true # every read/write/delete of evidence in a trail of its own
  retention_days       = 2555
}
database = {
  instance_class          = "db.m7g.large"
  allocated_storage       = 100
  max_allocated_storage   = 500
  multi_az                = true
  deletion_protection     = true
  skip_final_snapshot     = false
  backup_retention_period = 30
  # README.md, "Production PostgreSQL settings": values in RDS's units (work_mem in kB,
  # effective_cache_size in 8 kB pages: 75 % of the instance's memory; booleans as 0/1).
  # shared_buffers keeps RDS's default (~25 %: {DBInstanceClassMemory/32768}).
  parameters = [
    { name = "random_page_cost", value = "1.1" },
    { name = "jit", value = "0" },
    { name = "work_mem", value = "16384" },
    { name = "effective_cache_size", value = "{DBInstanceClassMemory*3/32768}" },
  ]
}
cache = {
  node_type          = "cache.m7g.large"
  num_cache_clusters = 2
}

log_retention_days = 365
alarm_email        = "oncall@example.com"
# To page an on-call service too (terraform/README.md, "Who gets paged"):
# alarm_https_endpoint_secret_arn = "arn:aws:secretsmanager:eu-west-1:333333333333:secret:incident-tracker/prod/alarm-endpoint-AbCdEf"
