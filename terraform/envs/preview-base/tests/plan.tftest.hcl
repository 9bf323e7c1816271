mock_provider "aws" {
  source = "../../testing/aws"
}

run "plan" {
  command = plan

  assert {
    condition     = output.database_protection.deletion_protection == true
    error_message = "the shared preview database holds every open PR's data: deletion protection on"
  }

  assert {
    condition     = output.database_protection.skip_final_snapshot == false
    error_message = "by default a deletion of the shared preview database keeps a final snapshot"
  }

  assert {
    condition     = output.alb_deletion_protection == true
    error_message = "the preview load balancer keeps deletion protection by default"
  }

  assert {
    condition     = output.bastion_instance_id == null
    error_message = "without enable_bastion there is no bastion instance"
  }
}

# The teardown's first, reviewed apply (terraform/README.md): protection off, no final snapshot.
run "teardown" {
  command = plan

  variables {
    database = { deletion_protection = false, skip_final_snapshot = true }
    alb = {
      certificate_arn     = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000003"
      ingress_cidrs       = ["203.0.113.0/24"]
      deletion_protection = false
    }
  }

  assert {
    condition     = output.database_protection.deletion_protection == false && output.database_protection.skip_final_snapshot == true
    error_message = "preview-base must be able to switch the database's deletion protection and final snapshot off"
  }

  assert {
    condition     = output.alb_deletion_protection == false
    error_message = "preview-base must be able to switch the load balancer's deletion protection off"
  }
}
