#!/usr/bin/env bash
# Tag one image release.yml just built and pushed by digest (never by tag): IMAGE_NAME
# (docker.io/<ns>/incident-tracker-web), IMAGE_TAG (sha-<full commit sha>), BUILT_DIGEST (sha256:..., the
# build's outputs.digest). The tag is pushed only where it does not exist yet; where it does (a
# re-run of this release), it must already point at BUILT_DIGEST, or the release stops naming both: a
# tag is never moved, and an image this run did not build is never deployed as if it had. Writes
# digest=<BUILT_DIGEST> to $GITHUB_OUTPUT: what the deploys of this release must find behind the tag.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

require IMAGE_NAME IMAGE_TAG BUILT_DIGEST
check_image_tag "$IMAGE_TAG"
[[ "$BUILT_DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "BUILT_DIGEST must be sha256:<64 hex>, got '$BUILT_DIGEST'"

# Only "not found" means the tag is new: any other failure (the registry down, no access) must
# not end in a push over a tag that exists.
if answer=$(docker buildx imagetools inspect "${IMAGE_NAME}:${IMAGE_TAG}" --format '{{json .Manifest}}' 2>&1); then
  existing=$(jq -r '.digest // empty' <<<"$answer")
  [[ "$existing" == "$BUILT_DIGEST" ]] ||
    fail "${IMAGE_NAME}:${IMAGE_TAG} already exists as $existing, but this release built $BUILT_DIGEST: refusing to deploy an image this run did not build. Re-run only the failed jobs of the first run (they keep its digests), or check who pushed $existing, delete the tag and re-run."
  log "${IMAGE_NAME}:${IMAGE_TAG} already points at $BUILT_DIGEST, the image this release built"
elif [[ "$answer" != *"not found"* ]]; then
  fail "could not look up ${IMAGE_NAME}:${IMAGE_TAG}: $answer"
else
  log "tag ${IMAGE_NAME}@${BUILT_DIGEST} as ${IMAGE_TAG}"
  docker buildx imagetools create --tag "${IMAGE_NAME}:${IMAGE_TAG}" "${IMAGE_NAME}@${BUILT_DIGEST}"
  tagged=$(image_digest "${IMAGE_NAME}:${IMAGE_TAG}")
  [[ "$tagged" == "$BUILT_DIGEST" ]] || fail "${IMAGE_NAME}:${IMAGE_TAG} points at $tagged after tagging $BUILT_DIGEST: it was pushed by someone else meanwhile"
fi
[[ -z "${GITHUB_OUTPUT:-}" ]] || echo "digest=$BUILT_DIGEST" >>"$GITHUB_OUTPUT"
