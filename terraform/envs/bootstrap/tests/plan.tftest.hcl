mock_provider "aws" {
  source = "../../testing/aws"
}

run "dev_account" {
  command = plan

  assert {
    condition     = toset(values(output.github_role_names)) == toset(["github-incident-tracker-deploy-dev", "github-incident-tracker-deploy-preview", "github-incident-tracker-plan-dev", "github-incident-tracker-plan-preview"])
    error_message = "the dev account gets plan and deploy roles of dev and the previews, nothing else"
  }
}

run "prod_account" {
  command = plan

  variables {
    aws_account_id    = "333333333333"
    state_bucket_name = "incident-tracker-tfstate-333333333333"
    environments      = ["prod"]
  }

  assert {
    condition     = toset(values(output.github_role_names)) == toset(["github-incident-tracker-deploy-prod", "github-incident-tracker-plan-prod"])
    error_message = "the prod account gets only prod's plan and deploy roles"
  }
}
