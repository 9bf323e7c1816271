mock_provider "aws" {
  source = "../../testing/aws"
}

variables {
  image = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/incident-tracker:sha-test"
}

run "plan" {
  command = plan
}
