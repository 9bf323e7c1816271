# Offline plans against a mocked AWS provider: the environment every task (web, worker, beat,
# migrate) gets from app_environment / app_secrets, as the app's settings read it.
mock_provider "aws" {
  source = "../../testing/aws"
}

variables {
  name                = "incident-tracker-test"
  metrics_environment = "test"
  base_url            = "https://incidents.example.com"
  images = {
    web    = "docker.io/example-org/incident-tracker-web:sha-0123456789abcdef0123456789abcdef01234567"
    worker = "docker.io/example-org/incident-tracker-worker:sha-0123456789abcdef0123456789abcdef01234567"
  }
  cluster            = { arn = "arn:aws:ecs:eu-west-1:111111111111:cluster/incident-tracker-test", name = "incident-tracker-test" }
  vpc_id             = "vpc-0123456789abcdef0"
  vpc_cidr_block     = "10.30.0.0/16"
  private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  load_balancer = {
    security_group_id            = "sg-0alb0000000000000"
    lb_arn_suffix                = "app/incident-tracker-test/0123456789abcdef"
    target_group_arn             = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/incident-tracker-test/0123456789abcdef"
    target_group_arn_suffix      = "targetgroup/incident-tracker-test/0123456789abcdef"
    request_count_resource_label = "app/incident-tracker-test/0123456789abcdef/targetgroup/incident-tracker-test/0123456789abcdef"
  }
  evidence                = { bucket_name = "incident-tracker-test-evidence", kms_key_arn = "arn:aws:kms:eu-west-1:111111111111:key/11111111-1111-1111-1111-111111111111" }
  database                = { security_group_id = "sg-0db00000000000000" }
  redis_security_group_id = "sg-0redis00000000000"
  app_secret_arns = {
    database_url  = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/database-url-AbCdEf"
    secret_key    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/secret-key-AbCdEf"
    smtp_password = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/smtp-password-AbCdEf"
    redis_url     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/redis-url-AbCdEf"
  }
  smtp            = { host = "email-smtp.eu-west-1.amazonaws.com", from = "incidents@example.com" }
  log_kms_key_arn = "arn:aws:kms:eu-west-1:111111111111:key/33333333-3333-3333-3333-333333333333"
}

run "defaults" {
  command = plan

  assert {
    condition     = output.app_environment.SMTP_SECURITY == "starttls" && output.app_environment.SMTP_PORT == "587"
    error_message = "SMTP_SECURITY is passed explicitly, starttls by default"
  }

  assert {
    condition     = !contains(keys(output.app_environment), "SMTP_USERNAME") && !contains(keys(output.app_secrets), "SMTP_USERNAME")
    error_message = "without a user name the tasks get no SMTP_USERNAME (the app then sends without logging in)"
  }

  assert {
    condition     = output.app_environment.SCANNING_ENABLED == "true" && output.app_environment.ALLOW_UNSCANNED_EVIDENCE == "false"
    error_message = "with scanning on, unscanned evidence is not allowed"
  }

  assert {
    condition     = toset(keys(output.app_secrets)) == toset(["DATABASE_URL", "SECRET_KEY", "SMTP_PASSWORD", "REDIS_URL"])
    error_message = "the secrets are DATABASE_URL, SECRET_KEY, SMTP_PASSWORD and REDIS_URL"
  }
}

# SES: the SMTP user name is an IAM access key id, kept in Secrets Manager beside the password.
run "smtp_username_secret" {
  command = plan

  variables {
    app_secret_arns = {
      database_url  = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/database-url-AbCdEf"
      secret_key    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/secret-key-AbCdEf"
      smtp_password = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/smtp-password-AbCdEf"
      smtp_username = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/smtp-username-AbCdEf"
      redis_url     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/redis-url-AbCdEf"
    }
  }

  assert {
    condition     = output.app_secrets.SMTP_USERNAME == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/smtp-username-AbCdEf"
    error_message = "app_secret_arns.smtp_username must reach the tasks as the SMTP_USERNAME secret"
  }

  assert {
    condition     = !contains(keys(output.app_environment), "SMTP_USERNAME")
    error_message = "a secret SMTP user name must not also be in the plain environment"
  }
}

# A relay whose user name is no credential (SendGrid: "apikey"), implicit TLS on 465.
run "smtp_username_plain" {
  command = plan

  variables {
    smtp = { host = "smtp.sendgrid.net", port = 465, from = "incidents@example.com", security = "tls", username = "apikey" }
  }

  assert {
    condition     = output.app_environment.SMTP_USERNAME == "apikey" && output.app_environment.SMTP_SECURITY == "tls" && output.app_environment.SMTP_PORT == "465"
    error_message = "smtp.username and smtp.security must reach the tasks as SMTP_USERNAME and SMTP_SECURITY"
  }

  assert {
    condition     = !contains(keys(output.app_secrets), "SMTP_USERNAME")
    error_message = "a plain SMTP user name is not a secret"
  }
}

run "smtp_username_given_twice" {
  command = plan

  variables {
    smtp = { host = "smtp.sendgrid.net", from = "incidents@example.com", username = "apikey" }
    app_secret_arns = {
      database_url  = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/database-url-AbCdEf"
      secret_key    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/secret-key-AbCdEf"
      smtp_password = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/smtp-password-AbCdEf"
      smtp_username = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/smtp-username-AbCdEf"
      redis_url     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/redis-url-AbCdEf"
    }
  }

  expect_failures = [var.app_secret_arns]
}

run "smtp_security_unknown_to_the_app" {
  command = plan

  variables {
    smtp = { host = "email-smtp.eu-west-1.amazonaws.com", from = "incidents@example.com", security = "ssl" }
  }

  expect_failures = [var.smtp]
}

# Previews may run without clamd: the production worker starts only when that is declared deliberate.
run "scanning_off" {
  command = plan

  variables {
    scanning_enabled = false
  }

  assert {
    condition     = output.app_environment.SCANNING_ENABLED == "false" && output.app_environment.ALLOW_UNSCANNED_EVIDENCE == "true"
    error_message = "with scanning off the tasks need ALLOW_UNSCANNED_EVIDENCE=true, or the production worker refuses to start"
  }
}
