# The image variables take only what the pipeline builds (found in review: an untagged name or a
# branch tag passed validation, so whoever pushed that tag decided what ran): a sha-<commit> tag,
# a sha256 digest (what deploy.sh passes) or both.
mock_provider "aws" {
  source = "../../testing/aws"
}

run "digests_are_taken" {
  command = plan

  variables {
    web_image    = "docker.io/example-org/incident-tracker-web:sha-0123456789abcdef0123456789abcdef01234567@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    worker_image = "docker.io/example-org/incident-tracker-worker@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  }
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
