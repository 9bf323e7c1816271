# Offline plan against a mocked AWS provider: the generated AUTH token never shows in a plan,
# and the REDIS_URL secret makes every client verify the server's certificate.
mock_provider "aws" {
  source = "../../testing/aws"
}

# A mocked plan leaves computed attributes unknown: give the kept token and the endpoint
# plausible values so the REDIS_URL is known at plan and can be compared.
override_resource {
  target          = terraform_data.auth_token[0]
  override_during = plan
  values = {
    output = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01"
  }
}

override_resource {
  target          = aws_elasticache_replication_group.this
  override_during = plan
  values = {
    primary_endpoint_address = "master.incident-tracker-test.abc123.euw1.cache.amazonaws.com"
  }
}

variables {
  name               = "incident-tracker-test"
  vpc_id             = "vpc-0123456789abcdef0"
  private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
}

run "generated_token" {
  command = plan

  assert {
    condition     = issensitive(terraform_data.auth_token[0].input)
    error_message = "the generated AUTH token must be sensitive (terraform_data.auth_token input), or the plan prints it"
  }

  assert {
    condition     = issensitive(aws_secretsmanager_secret_version.redis_url.secret_string)
    error_message = "REDIS_URL carries the AUTH token: it must be sensitive"
  }

  assert {
    condition     = nonsensitive(aws_secretsmanager_secret_version.redis_url.secret_string) == "rediss://:0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01@master.incident-tracker-test.abc123.euw1.cache.amazonaws.com:6379/0?ssl_cert_reqs=required"
    error_message = "REDIS_URL must be rediss://:<token>@<primary>:6379/0?ssl_cert_reqs=required (without ssl_cert_reqs kombu connects with CERT_NONE)"
  }
}
