# staging: production-like topology at a smaller size (two AZs, NAT per AZ, Redis failover),
# single-AZ database, reachable only from the office/VPN ranges. No secrets here: only ARNs of
# secrets created by hand (terraform/README.md). 222222222222 is a placeholder: staging's account.
aws_region     = "eu-west-1"
aws_account_id = "222222222222"
environment    = "staging"
repository     = "example-org/incident-tracker"
domain_name    = "incidents.staging.example.com"

network = {
  cidr_block         = "10.20.0.0/16"
  azs                = ["eu-west-1a", "eu-west-1b"]
  single_nat_gateway = false
}
alb = {
  certificate_arn = "arn:aws:acm:eu-west-1:222222222222:certificate/00000000-0000-0000-0000-000000000001"
  ingress_cidrs   = ["203.0.113.0/24"] # office/VPN egress range (placeholder, RFC 5737)
}

dockerhub_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:incident-tracker/staging/dockerhub-AbCdEf"
app_secret_arns = {
  database_url  = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:incident-tracker/staging/database-url-AbCdEf"
  secret_key    = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:incident-tracker/staging/secret-key-AbCdEf"
  smtp_password = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:incident-tracker/staging/smtp-password-AbCdEf"
  smtp_username = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:incident-tracker/staging/smtp-username-AbCdEf" # SES SMTP user (an access key id)
}
smtp = {
  host = "email-smtp.eu-west-1.amazonaws.com"
  port = 587
  from = "incidents-staging@example.com"
}

web    = { cpu = 512, memory = 1024, min_count = 2, max_count = 4 }
worker = { cpu = 1024, memory = 3072, min_count = 1, max_count = 4, spot = true }
beat   = { cpu = 256, memory = 512 }

evidence = {
  bucket_name    = "incident-tracker-staging-evidence-222222222222"
  retention_days = 365
}
database = {
  instance_class          = "db.t4g.medium" # smallest class with Performance Insights
  multi_az                = false
  deletion_protection     = true
  backup_retention_period = 7
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
  node_type          = "cache.t4g.small"
  num_cache_clusters = 2
}

log_retention_days = 365
alarm_email        = "oncall-staging@example.com"
# To page an on-call service too (terraform/README.md, "Who gets paged"):
# alarm_https_endpoint_secret_arn = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:incident-tracker/staging/alarm-endpoint-AbCdEf"
