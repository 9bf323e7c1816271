#!/usr/bin/env bash
# Deploy one release (image tag) to one environment root (terraform/envs/<env>):
#   init -> the tag's two images resolved to digests, once (Terraform and the migrate task get
#   <repository>-web@sha256:..., never the tag, which could be pushed again meanwhile) -> a migrate
#   task definition revision with the new web image, run it (must exit 0) -> /readyz in a one-off
#   task of that revision (must answer 200: nothing has rolled yet) -> plan and apply (the services
#   roll) -> every service's rollout COMPLETED (a circuit-breaker rollback fails) -> every web target
#   healthy in its target group -> /readyz again in a one-off task (the load balancer does not
#   accept the runner: lib.sh, wait_for_healthy_targets). A failure after the apply rolls the
#   services back to the task definitions they ran before (lib.sh, cleanup_on_exit).
# Environment: TF_ROOT (e.g. terraform/envs/staging), IMAGE_REPOSITORY (docker.io/<ns>/incident-tracker:
# the images are <repository>-web and <repository>-worker), IMAGE_TAG (sha-<40 hex>), and for
# staging and prod RELEASE_BRANCH (origin/main: the tag's commit must be on it). From release.yml,
# EXPECTED_WEB_DIGEST and EXPECTED_WORKER_DIGEST: the digests its build pushed; the tag must still
# point at them. GITHUB_STEP_SUMMARY, when set, gets the tag -> digest table. Rolling back is this
# script with an earlier sha- tag.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

require TF_ROOT IMAGE_REPOSITORY IMAGE_TAG
check_image_tag "$IMAGE_TAG"
if [[ -n "${RELEASE_BRANCH:-}" ]]; then
  check_released_commit "$IMAGE_TAG" "$RELEASE_BRANCH"
fi
[[ -d "$TF_ROOT" ]] || fail "no Terraform root at $TF_ROOT"

# The tag is looked up once: everything after runs the digest it pointed at then.
declare -A DIGESTS
for target in web worker; do
  ref="${IMAGE_REPOSITORY}-${target}:${IMAGE_TAG}"
  DIGESTS[$target]=$(image_digest "$ref")
  expected_name="EXPECTED_${target^^}_DIGEST"
  expected=${!expected_name:-}
  if [[ -n "$expected" && "$expected" != "${DIGESTS[$target]}" ]]; then
    fail "$ref points at ${DIGESTS[$target]}, not at $expected that this release built and pushed: the tag was pushed again since; refusing to deploy it"
  fi
  log "$ref is ${DIGESTS[$target]}"
done
set_image_args "$TF_ROOT" "$IMAGE_REPOSITORY" "$IMAGE_TAG" "${DIGESTS[web]}" "${DIGESTS[worker]}"
((${#IMAGE_ARGS[@]} > 0)) || fail "$TF_ROOT declares no web_image/worker_image variables"
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  {
    echo "### Deploy of \`$IMAGE_TAG\` to \`$(basename "$TF_ROOT")\`"
    echo
    echo "| image | tag | digest deployed |"
    echo "|---|---|---|"
    echo "| \`${IMAGE_REPOSITORY}-web\` | \`$IMAGE_TAG\` | \`${DIGESTS[web]}\` |"
    echo "| \`${IMAGE_REPOSITORY}-worker\` | \`$IMAGE_TAG\` | \`${DIGESTS[worker]}\` |"
  } >>"$GITHUB_STEP_SUMMARY"
fi

log "terraform init ($TF_ROOT)"
tf init -input=false -no-color

MIGRATE_IMAGE=$WEB_IMAGE apply_with_migration "${IMAGE_ARGS[@]}"
wait_for_rollouts
wait_for_healthy_targets
check_readiness
log "deployed $IMAGE_TAG ($WEB_IMAGE, $WORKER_IMAGE) to $TF_ROOT"
