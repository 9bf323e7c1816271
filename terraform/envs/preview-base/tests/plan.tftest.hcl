mock_provider "aws" {
  source = "../../testing/aws"
}

run "plan" {
  command = plan

  assert {
    condition     = output.database_protection.deletion_protection == true
    error_message = "the shared preview database holds every open PR's data: deletion protection on"
  }
}
