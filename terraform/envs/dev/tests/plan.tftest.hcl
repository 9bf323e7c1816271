# Offline plan of this environment against a mocked AWS provider (terraform test, command = plan):
# catches for_each/count over values unknown until apply, type errors and missing variables, and
# asserts what must hold whatever the sizes in terraform.tfvars.
mock_provider "aws" {
  source = "../../testing/aws"
}

variables {
  web_image    = "docker.io/example-org/incident-tracker-web:sha-0123456789abcdef0123456789abcdef01234567"
  worker_image = "docker.io/example-org/incident-tracker-worker:sha-0123456789abcdef0123456789abcdef01234567"
}

run "plan" {
  command = plan

  assert {
    condition     = length(output.deployment_circuit_breakers) == 3
    error_message = "web, worker and beat should all be ECS services"
  }

  assert {
    condition     = alltrue([for s in values(output.deployment_circuit_breakers) : s.enable && s.rollback])
    error_message = "every ECS service needs the deployment circuit breaker with rollback"
  }

  assert {
    condition     = output.base_url == "https://${var.domain_name}"
    error_message = "BASE_URL must be the environment's domain"
  }

  assert {
    condition     = output.bastion_instance_id == null
    error_message = "without enable_bastion there is no bastion instance"
  }
}

# The optional paths plan too (counts and dynamic blocks keyed on flags, not on unknown ARNs).
run "with_ecs_exec_and_bastion" {
  command = plan

  variables {
    enable_ecs_exec = true
    enable_bastion  = true
  }

  # What AWS assigns at apply, known here so the outputs the bastion steps use can be compared.
  override_resource {
    target          = module.platform.module.bastion.aws_instance.this[0]
    override_during = plan
    values          = { id = "i-0123456789abcdef0" }
  }

  override_resource {
    target          = module.platform.module.rds.aws_db_instance.this
    override_during = plan
    values          = { address = "incident-tracker-dev.abc123.eu-west-1.rds.amazonaws.com" }
  }

  assert {
    condition     = output.bastion_instance_id == "i-0123456789abcdef0"
    error_message = "bastion_instance_id must be the bastion's instance (aws ssm start-session --target)"
  }

  assert {
    condition     = output.database_address == "incident-tracker-dev.abc123.eu-west-1.rds.amazonaws.com"
    error_message = "database_address must be the RDS host name (host= of the port forwarding)"
  }

  assert {
    condition     = alltrue([for s in values(output.deployment_circuit_breakers) : s.enable && s.rollback])
    error_message = "every ECS service needs the deployment circuit breaker with rollback"
  }
}
