# Offline plan of this environment against a mocked AWS provider (terraform test, command = plan):
# catches for_each/count over values unknown until apply, type errors and missing variables, and
# asserts what must hold whatever the sizes in terraform.tfvars.
mock_provider "aws" {
  source = "../../testing/aws"
}

# The images as deploy.sh passes them, by digest (a tag and a digest; a digest alone): the image
# variables take them (tests/images.tftest.hcl: what they refuse).
variables {
  web_image    = "docker.io/example-org/incident-tracker-web:sha-0123456789abcdef0123456789abcdef01234567@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  worker_image = "docker.io/example-org/incident-tracker-worker@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
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
    condition     = output.database_protection.multi_az == true
    error_message = "the prod database must be Multi-AZ"
  }

  assert {
    condition     = output.database_protection.deletion_protection == true
    error_message = "the prod database must have deletion protection"
  }

  assert {
    condition     = var.audit.evidence_data_events
    error_message = "prod records the evidence bucket's data events (CloudTrail)"
  }

  # README.md's "Production PostgreSQL settings" must reach the DB parameter group (RDS's units),
  # beside the TLS and logging parameters every environment gets.
  assert {
    condition = alltrue([
      for name, value in {
        random_page_cost     = "1.1"
        jit                  = "0"
        work_mem             = "16384"
        effective_cache_size = "{DBInstanceClassMemory*3/32768}"
      } : try(module.platform.database_parameters[name].value, null) == value
    ])
    error_message = "the parameter group must set random_page_cost 1.1, jit off, work_mem 16MB and effective_cache_size 75 % of memory (README.md)"
  }

  assert {
    condition     = module.platform.database_parameters["rds.force_ssl"].value == "1" && module.platform.database_parameters["log_statement"].value == "ddl"
    error_message = "the tuning parameters must not replace the TLS and logging ones"
  }
}
