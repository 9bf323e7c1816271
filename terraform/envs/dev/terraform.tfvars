# dev: one NAT gateway, single-AZ database and cache, Spot workers, small sizes, reachable only
# from the office/VPN ranges. No secrets here: only ARNs of secrets created by hand
# (terraform/README.md). 111111111111 is a placeholder: dev's own account id.
aws_region     = "eu-west-1"
aws_account_id = "111111111111"
environment    = "dev"
repository     = "example-org/incident-tracker"
domain_name    = "incidents.dev.example.com"

network = {
  cidr_block               = "10.10.0.0/16"
  azs                      = ["eu-west-1a", "eu-west-1b"]
  single_nat_gateway       = true
  flow_logs_retention_days = 30
}
alb = {
  certificate_arn           = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
  ingress_cidrs             = ["203.0.113.0/24"] # office/VPN egress range (placeholder, RFC 5737)
  deletion_protection       = false
  access_logs_force_destroy = true # dev is throw-away: destroy removes the ALB access logs too
}

dockerhub_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/dev/dockerhub-AbCdEf"
app_secret_arns = {
  database_url  = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/dev/database-url-AbCdEf"
  secret_key    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/dev/secret-key-AbCdEf"
  smtp_password = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/dev/smtp-password-AbCdEf"
  smtp_username = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/dev/smtp-username-AbCdEf" # SES SMTP user (an access key id)
}
smtp = {
  host = "email-smtp.eu-west-1.amazonaws.com"
  port = 587
  from = "incidents-dev@example.com"
}

web    = { cpu = 256, memory = 512, min_count = 1, max_count = 2 }
worker = { cpu = 1024, memory = 3072, min_count = 1, max_count = 2, spot = true }
beat   = { cpu = 256, memory = 512 }

evidence = {
  bucket_name    = "incident-tracker-dev-evidence-111111111111"
  retention_days = 365
  force_destroy  = true
}
database = {
  instance_class          = "db.t4g.micro"
  performance_insights    = false # not available on db.t4g.micro
  multi_az                = false
  deletion_protection     = false
  skip_final_snapshot     = true
  backup_retention_period = 1
}
cache = {
  node_type          = "cache.t4g.micro"
  num_cache_clusters = 1
}

log_retention_days = 90
