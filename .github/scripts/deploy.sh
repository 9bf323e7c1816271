#!/usr/bin/env bash
# Deploy one image tag to one environment root (terraform/envs/<env>):
#   init -> plan -> migrate task definition + one-off migrate (must exit 0) -> apply the rest ->
#   every service's rollout COMPLETED (a circuit-breaker rollback fails) -> /readyz through the ALB.
# Environment: TF_ROOT (e.g. terraform/envs/staging), IMAGE_REPOSITORY (docker.io/<ns>/incident-tracker),
# IMAGE_TAG (sha-<40 hex>). Rolling back is this script with an earlier sha- tag.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

require TF_ROOT IMAGE_REPOSITORY IMAGE_TAG
check_image_tag "$IMAGE_TAG"
[[ -d "$TF_ROOT" ]] || fail "no Terraform root at $TF_ROOT"
# Captured first: a failure inside < <(...) would not stop the script.
image_args_text=$(image_var_args "$TF_ROOT" "$IMAGE_REPOSITORY" "$IMAGE_TAG")
mapfile -t image_args <<<"$image_args_text"

log "terraform init ($TF_ROOT)"
tf init -input=false -no-color

apply_with_migration "${image_args[@]}"
wait_for_rollouts
smoke_test "$(tf_output_raw base_url)" "$(tf_output_raw alb_dns_name)"
log "deployed $IMAGE_TAG to $TF_ROOT"
