mock_provider "aws" {
  source = "../../testing/aws"
}

run "plan" {
  command = plan
}
