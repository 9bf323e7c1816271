#!/usr/bin/env bash
# Deploy one image tag to one environment root (terraform/envs/<env>):
#   init -> a migrate task definition revision with the new web image, run it (must exit 0) ->
#   plan and apply (the services roll) -> every service's rollout COMPLETED (a circuit-breaker
#   rollback fails) -> every web target healthy in its target group -> /readyz in a one-off task
#   (the load balancer does not accept the runner: lib.sh, wait_for_healthy_targets).
# Environment: TF_ROOT (e.g. terraform/envs/staging), IMAGE_REPOSITORY (docker.io/<ns>/incident-tracker:
# the images are <repository>-web and <repository>-worker), IMAGE_TAG (sha-<40 hex>), and for
# staging and prod RELEASE_BRANCH (origin/main: the tag's commit must be on it). Rolling back is
# this script with an earlier sha- tag.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

require TF_ROOT IMAGE_REPOSITORY IMAGE_TAG
check_image_tag "$IMAGE_TAG"
if [[ -n "${RELEASE_BRANCH:-}" ]]; then
  check_released_commit "$IMAGE_TAG" "$RELEASE_BRANCH"
fi
[[ -d "$TF_ROOT" ]] || fail "no Terraform root at $TF_ROOT"
set_image_args "$TF_ROOT" "$IMAGE_REPOSITORY" "$IMAGE_TAG"
((${#IMAGE_ARGS[@]} > 0)) || fail "$TF_ROOT declares no web_image/worker_image variables"

log "terraform init ($TF_ROOT)"
tf init -input=false -no-color

MIGRATE_IMAGE="${IMAGE_REPOSITORY}-web:${IMAGE_TAG}" apply_with_migration "${IMAGE_ARGS[@]}"
wait_for_rollouts
wait_for_healthy_targets
check_readiness
log "deployed $IMAGE_TAG to $TF_ROOT"
