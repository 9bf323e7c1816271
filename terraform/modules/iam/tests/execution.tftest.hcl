# Offline plans against a mocked AWS provider: what the ECS task execution role may pull.
mock_provider "aws" {
  source = "../../testing/aws"
}

variables {
  name                 = "incident-tracker-test"
  evidence_bucket_arn  = "arn:aws:s3:::incident-tracker-test-evidence"
  evidence_kms_key_arn = "arn:aws:kms:eu-west-1:111111111111:key/11111111-1111-1111-1111-111111111111"
}

# Images from Docker Hub (every env root's default): no ECR permission at all, not every
# repository of the account.
run "docker_hub_images" {
  command = plan

  assert {
    condition = length([
      for s in data.aws_iam_policy_document.execution.statement : s
      if length([for a in s.actions : a if startswith(a, "ecr:")]) > 0
    ]) == 0
    error_message = "with no ECR repositories named, the execution role must not be allowed any ecr: action"
  }
}

run "ecr_images" {
  command = plan

  variables {
    ecr_repository_arns = ["arn:aws:ecr:eu-west-1:111111111111:repository/incident-tracker-web"]
  }

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.execution.statement : s.resources if contains(s.actions, "ecr:BatchGetImage")
    ])) == toset(["arn:aws:ecr:eu-west-1:111111111111:repository/incident-tracker-web"])
    error_message = "the execution role pulls only from the ECR repositories named"
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.execution.statement : contains(s.actions, "ecr:GetAuthorizationToken")])
    error_message = "pulling from ECR needs ecr:GetAuthorizationToken"
  }
}
