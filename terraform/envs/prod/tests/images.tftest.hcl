# The image variables take only what the pipeline builds (found in review: an untagged name or a
# branch tag passed validation, so whoever pushed that tag decided what ran): a sha-<commit> tag,
# a sha256 digest (what deploy.sh passes) or both; tests/plan.tftest.hcl plans with digests.
# dev, staging and preview declare these variables exactly as here (tests/infra/test_infra_wiring.py
# checks): tested once, here, each run a whole plan of the environment.
mock_provider "aws" {
  source = "../../testing/aws"
}

run "an_untagged_name_and_a_branch_tag_are_refused" {
  command = plan

  variables {
    web_image    = "docker.io/example-org/incident-tracker-web"
    worker_image = "docker.io/example-org/incident-tracker-worker:main"
  }

  expect_failures = [var.web_image, var.worker_image]
}

run "latest_and_a_short_sha_are_refused" {
  command = plan

  variables {
    web_image    = "docker.io/example-org/incident-tracker-web:latest"
    worker_image = "docker.io/example-org/incident-tracker-worker:sha-0123456"
  }

  expect_failures = [var.web_image, var.worker_image]
}
