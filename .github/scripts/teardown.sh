#!/usr/bin/env bash
# Tear down on purpose (teardown.yml runs this after the typed confirmations).
#   teardown.sh destroy   TF_ROOT, IMAGE_REPOSITORY: terraform destroy of one environment root
#   teardown.sh backend   TF_ROOT [LOCK_TABLE]: empty and delete the state bucket of that root's
#                         account (every version) and the lock table, refusing while any state in it
#                         still holds resources
# The state bucket is the one TF_ROOT's backend.tf names (STATE_BUCKET overrides it).
# Deletion protection (prod/staging database, load balancers) must be switched off by a reviewed
# apply first (terraform/README.md, "Destroy an environment"); destroy fails otherwise.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# Destroy needs some pinned image value; nothing is pulled.
PLACEHOLDER_TAG="sha-0000000000000000000000000000000000000000"

destroy() {
  require TF_ROOT IMAGE_REPOSITORY
  [[ -d "$TF_ROOT" ]] || fail "no Terraform root at $TF_ROOT"
  # Previews run on the preview base: destroying it under them would strand their state.
  if [[ "$(basename "$TF_ROOT")" == preview-base ]]; then
    local previews
    STATE_BUCKET=${STATE_BUCKET:-$(backend_bucket "$TF_ROOT")}
    previews=$(aws s3api list-objects-v2 --bucket "$STATE_BUCKET" --prefix preview/pr- --query 'Contents[].Key' --output text)
    [[ -z "$previews" || "$previews" == None ]] || fail "previews still exist ($previews): close their pull requests (or run the preview reaper) first"
  fi
  set_image_args "$TF_ROOT" "$IMAGE_REPOSITORY" "$PLACEHOLDER_TAG"
  tf init -input=false -no-color
  log "terraform destroy $TF_ROOT"
  tf destroy -input=false -no-color -lock-timeout=5m -auto-approve "${IMAGE_ARGS[@]}"
}

backend() {
  [[ -n "${STATE_BUCKET:-}" ]] || require TF_ROOT
  STATE_BUCKET=${STATE_BUCKET:-$(backend_bucket "$TF_ROOT")}
  local keys key content resources leftovers=()
  keys=$(aws s3api list-objects-v2 --bucket "$STATE_BUCKET" --query 'Contents[].Key' --output text)
  while read -r key; do
    [[ "$key" == *.tfstate ]] || continue
    # Captured first: an unreadable state must stop the cleanup, not count as empty.
    content=$(aws s3 cp "s3://${STATE_BUCKET}/${key}" - --only-show-errors)
    resources=$(jq '(.resources // []) | length' <<<"$content")
    ((resources == 0)) || leftovers+=("$key")
  done < <(tr '\t' '\n' <<<"$keys")
  ((${#leftovers[@]} == 0)) || fail "state still holds resources, destroy them first: ${leftovers[*]}"

  log "empty s3://$STATE_BUCKET (every version and delete marker)"
  local batch
  while true; do
    batch=$(aws s3api list-object-versions --bucket "$STATE_BUCKET" --max-items 500 --output json |
      jq -c '{Objects: ([(.Versions // [])[], (.DeleteMarkers // [])[]] | map({Key, VersionId})), Quiet: true}')
    [[ "$(jq '.Objects | length' <<<"$batch")" -gt 0 ]] || break
    aws s3api delete-objects --bucket "$STATE_BUCKET" --delete "$batch" >/dev/null
  done
  aws s3api delete-bucket --bucket "$STATE_BUCKET"
  if [[ -n "${LOCK_TABLE:-}" ]]; then
    log "delete lock table $LOCK_TABLE"
    aws dynamodb delete-table --table-name "$LOCK_TABLE" >/dev/null
  fi
  log "backend removed; the state KMS key stays (scheduled deletion is a separate, manual decision)"
}

case "${1:-}" in
  destroy) destroy ;;
  backend) backend ;;
  *) fail "usage: teardown.sh destroy|backend" ;;
esac
