# Shared preview base (stays up), in the dev account. 111111111111 is a placeholder account id:
# replace it. No secrets here: only ARNs of secrets created by hand (terraform/README.md).
aws_region     = "eu-west-1"
aws_account_id = "111111111111"
repository     = "example-org/incident-tracker"

network = {
  cidr_block = "10.40.0.0/16"
  azs        = ["eu-west-1a", "eu-west-1b"]
}
preview_domain = "preview.example.com"
alb = {
  certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000003"
  ingress_cidrs   = ["203.0.113.0/24"] # office/VPN egress range (placeholder, RFC 5737)
}

dockerhub_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/dockerhub-AbCdEf"
shared_secret_arns = {
  secret_key        = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/secret-key-AbCdEf"
  smtp_password     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/smtp-password-AbCdEf"
  smtp_username     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/smtp-username-AbCdEf" # SES SMTP user (an access key id)
  database_app_user = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/database-app-user-AbCdEf"
}
smtp = {
  host = "email-smtp.eu-west-1.amazonaws.com"
  port = 587
  from = "incidents-preview@example.com"
}

evidence_bucket_name = "incident-tracker-preview-evidence-111111111111"

database = {
  instance_class = "db.t4g.medium" # smallest class with Performance Insights; hosts every PR's database
}
cache = {
  node_type = "cache.t4g.micro"
}

log_retention_days = 365
