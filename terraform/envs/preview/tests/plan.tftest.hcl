mock_provider "aws" {
  source = "../../testing/aws"
}

# What envs/preview-base would return (data.terraform_remote_state.base).
override_data {
  target = data.terraform_remote_state.base
  values = {
    outputs = {
      aws_region                       = "eu-west-1"
      preview_domain                   = "preview.example.com"
      vpc_id                           = "vpc-0123456789abcdef0"
      vpc_cidr_block                   = "10.40.0.0/16"
      private_subnet_ids               = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
      cluster_arn                      = "arn:aws:ecs:eu-west-1:111111111111:cluster/incident-tracker-preview"
      cluster_name                     = "incident-tracker-preview"
      alb_dns_name                     = "preview-123.eu-west-1.elb.amazonaws.com"
      alb_zone_id                      = "Z32O12XQLNTSW2"
      alb_access_logs_bucket           = "incident-tracker-preview-alb-logs-111111111111"
      alb_security_group_id            = "sg-0alb0000000000000"
      alb_arn_suffix                   = "app/incident-tracker-preview/0123456789abcdef"
      https_listener_arn               = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/incident-tracker-preview/0123456789abcdef/0123456789abcdef"
      evidence_bucket_name             = "incident-tracker-preview-evidence-111111111111"
      evidence_kms_key_arn             = "arn:aws:kms:eu-west-1:111111111111:key/11111111-1111-1111-1111-111111111111"
      database_address                 = "incident-tracker-preview.abc.eu-west-1.rds.amazonaws.com"
      database_port                    = 5432
      database_security_group_id       = "sg-0db00000000000000"
      database_master_secret_arn       = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds-master-AbCdEf"
      redis_primary_endpoint           = "master.incident-tracker-preview.abc.euw1.cache.amazonaws.com"
      redis_url_secret_arn             = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker-preview/redis-url-AbCdEf"
      redis_kms_key_arn                = "arn:aws:kms:eu-west-1:111111111111:key/22222222-2222-2222-2222-222222222222"
      logs_kms_key_arn                 = "arn:aws:kms:eu-west-1:111111111111:key/33333333-3333-3333-3333-333333333333"
      dockerhub_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/dockerhub-AbCdEf"
      redis_security_group_id          = "sg-0redis00000000000"
      shared_secret_arns = {
        secret_key        = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/secret-key-AbCdEf"
        smtp_password     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/smtp-password-AbCdEf"
        database_app_user = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/preview/database-app-user-AbCdEf"
      }
      smtp               = { host = "email-smtp.eu-west-1.amazonaws.com", port = 587, from = "previews@example.com" }
      clamd_image        = "clamav/clamav:1.4.3"
      log_retention_days = 365
      alarm_topic_arn    = "arn:aws:sns:eu-west-1:111111111111:incident-tracker-preview-alarms"
    }
  }
}

variables {
  pr_number    = 42
  web_image    = "docker.io/example-org/incident-tracker-web:sha-0123456789abcdef0123456789abcdef01234567"
  worker_image = "docker.io/example-org/incident-tracker-worker:sha-0123456789abcdef0123456789abcdef01234567"
  pr_secret_arns = {
    database_url = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/pr-42/database-url-AbCdEf"
  }
}

run "pr_42" {
  command = plan

  assert {
    condition     = output.service_names.web == "incident-tracker-pr-42-web" && output.service_names.worker == "incident-tracker-pr-42-worker"
    error_message = "a preview's services are named after its PR number"
  }

  assert {
    condition     = output.listener_rule_priority == 42
    error_message = "a preview's listener rule priority is its PR number"
  }

  assert {
    condition     = output.url == "https://pr-42.preview.example.com"
    error_message = "a preview's host is pr-<n>.<preview domain>"
  }

  assert {
    condition     = output.app_environment.S3_KEY_PREFIX == "pr-42/" && output.app_environment.REDIS_KEY_PREFIX == "pr-42:"
    error_message = "a preview keeps its files under pr-<n>/ and its Redis keys under pr-<n>:"
  }

  assert {
    condition     = output.app_environment.FORWARDED_ALLOW_IPS == "10.40.0.0/16"
    error_message = "gunicorn trusts X-Forwarded-* from the preview VPC (the ALB's addresses) only"
  }

  assert {
    condition     = output.app_environment.SCANNING_ENABLED == "true" && output.app_environment.ALLOW_UNSCANNED_EVIDENCE == "false"
    error_message = "a preview scans by default"
  }

  assert {
    condition     = alltrue([for s in values(output.deployment_circuit_breakers) : s.enable && s.rollback])
    error_message = "every ECS service needs the deployment circuit breaker with rollback"
  }
}

# pr-420 must not collide with pr-42: names, priority, prefixes (the old Redis index 420 mod 16
# was 4, shared with pr-4, pr-20, ...).
run "pr_420" {
  command = plan

  variables {
    pr_number = 420
    pr_secret_arns = {
      database_url = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/pr-420/database-url-AbCdEf"
    }
  }

  assert {
    condition     = output.service_names.web == "incident-tracker-pr-420-web" && output.service_names.web != run.pr_42.service_names.web
    error_message = "pr-420's services must be distinct from pr-42's"
  }

  assert {
    condition     = output.listener_rule_priority == 420 && output.listener_rule_priority != run.pr_42.listener_rule_priority
    error_message = "pr-420's listener rule priority must be distinct from pr-42's"
  }

  assert {
    condition     = output.app_environment.REDIS_KEY_PREFIX == "pr-420:" && output.app_environment.S3_KEY_PREFIX == "pr-420/"
    error_message = "pr-420's key prefixes must be distinct from pr-42's"
  }
}

# scanning_enabled = false (no clamd, a smaller worker): the production worker starts only with
# ALLOW_UNSCANNED_EVIDENCE=true. Its images are given by digest: the image variables take a
# sha-<commit> tag, a sha256 digest or both (one plan for both checks: each costs a whole plan).
# What they refuse is tested in envs/prod/tests/images.tftest.hcl: this root declares them the
# same way (tests/infra/test_infra_wiring.py checks).
run "without_scanning" {
  command = plan

  variables {
    scanning_enabled = false
    web_image        = "docker.io/example-org/incident-tracker-preview-web@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    worker_image     = "docker.io/example-org/incident-tracker-preview-worker:sha-0123456789abcdef0123456789abcdef01234567@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  }

  assert {
    condition     = output.app_environment.SCANNING_ENABLED == "false" && output.app_environment.ALLOW_UNSCANNED_EVIDENCE == "true"
    error_message = "a preview without scanning needs ALLOW_UNSCANNED_EVIDENCE=true, or its worker refuses to start"
  }
}
