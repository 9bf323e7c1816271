#!/usr/bin/env bash
# Per-pull-request previews on the shared preview base (terraform/README.md, "Previews").
#   preview.sh up     PR_NUMBER, IMAGE_REPOSITORY, IMAGE_TAG: secrets, apply, database, migrate,
#                     rollout, smoke test; writes url=<preview URL> to $GITHUB_OUTPUT
#   preview.sh down   PR_NUMBER: drop the database, destroy, delete the files, secrets and state
#   preview.sh reap   every preview whose pull request is no longer open goes down
# Also needed: STATE_BUCKET, AWS_REGION, GITHUB_REPOSITORY and GH_TOKEN (reap, up).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

TF_ROOT=${TF_ROOT:-terraform/envs/preview}
BASE_ROOT=${BASE_ROOT:-terraform/envs/preview-base}
# Destroy needs some pinned image value; nothing is pulled.
PLACEHOLDER_TAG="sha-0000000000000000000000000000000000000000"

# Run inside the migrate task (the image has SQLAlchemy): the shared instance is private.
CREATE_DATABASE='import os, sqlalchemy as sa
url = sa.engine.make_url(os.environ["DATABASE_URL"])
with sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as c:
    if not c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).scalar():
        c.exec_driver_sql(f"CREATE DATABASE \"{url.database}\"")'
DROP_DATABASE='import os, sqlalchemy as sa
url = sa.engine.make_url(os.environ["DATABASE_URL"])
with sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as c:
    c.exec_driver_sql(f"DROP DATABASE IF EXISTS \"{url.database}\" WITH (FORCE)")'

check_pr_number() {
  [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] || fail "PR_NUMBER must be a pull request number, got '$1'"
}

secret_name() { printf 'incident-tracker/pr-%s/%s' "$1" "$2"; }

base_output() { terraform -chdir="$BASE_ROOT" output -json | jq -r "$1"; }

init_roots() {
  log "terraform init $BASE_ROOT (read its outputs) and $TF_ROOT (key preview/pr-$PR_NUMBER.tfstate)"
  terraform -chdir="$BASE_ROOT" init -input=false -no-color >/dev/null
  tf init -input=false -no-color -reconfigure "-backend-config=key=preview/pr-${PR_NUMBER}.tfstate"
}

# Create or update a secret; prints its ARN.
put_secret() {
  local name=$1 value=$2 arn
  if arn=$(aws secretsmanager describe-secret --secret-id "$name" --query ARN --output text 2>/dev/null); then
    aws secretsmanager put-secret-value --secret-id "$arn" --secret-string "$value" >/dev/null
  else
    arn=$(aws secretsmanager create-secret --name "$name" --secret-string "$value" \
      --tags "Key=Service,Value=incident-tracker" "Key=Environment,Value=pr-${PR_NUMBER}" --query ARN --output text)
  fi
  printf '%s' "$arn"
}

existing_secret_arn() {
  aws secretsmanager describe-secret --secret-id "$1" --query ARN --output text 2>/dev/null ||
    printf 'arn:aws:secretsmanager:%s:000000000000:secret:%s' "$AWS_REGION" "$1"
}

secret_var_arg() {
  printf -- '-var=pr_secret_arns={database_url="%s",redis_url="%s"}' "$1" "$2"
}

# Two open previews whose numbers differ by a multiple of 16 would share a Redis database.
check_redis_index_free() {
  local index=$((PR_NUMBER % 16)) open other
  open=$(gh pr list --repo "$GITHUB_REPOSITORY" --state open --limit 500 --json number --jq '.[].number')
  while read -r other; do
    [[ -n "$other" && "$other" != "$PR_NUMBER" ]] || continue
    if ((other % 16 == index)) && aws s3api head-object --bucket "$STATE_BUCKET" --key "preview/pr-${other}.tfstate" >/dev/null 2>&1; then
      fail "PR #$other's preview already uses Redis database $index: close it (or wait) before previewing #$PR_NUMBER"
    fi
  done <<<"$open"
}

up() {
  require PR_NUMBER IMAGE_REPOSITORY IMAGE_TAG STATE_BUCKET AWS_REGION GITHUB_REPOSITORY
  check_pr_number "$PR_NUMBER"
  check_image_tag "$IMAGE_TAG"
  check_redis_index_free
  init_roots

  local user password host port redis_host token database_url redis_url db_arn redis_arn
  user=$(aws secretsmanager get-secret-value --secret-id "$(base_output .shared_secret_arns.value.database_app_user)" \
    --query SecretString --output text | jq -r .username)
  password=$(aws secretsmanager get-secret-value --secret-id "$(base_output .shared_secret_arns.value.database_app_user)" \
    --query SecretString --output text | jq -r .password)
  token=$(aws secretsmanager get-secret-value --secret-id "$(base_output .redis_auth_token_secret_arn.value)" \
    --query SecretString --output text)
  echo "::add-mask::$password"
  echo "::add-mask::$token"
  host=$(base_output .database_address.value)
  port=$(base_output .database_port.value)
  redis_host=$(base_output .redis_primary_endpoint.value)
  database_url="postgresql+psycopg2://${user}:$(jq -rn --arg p "$password" '$p|@uri')@${host}:${port}/pr_${PR_NUMBER}?sslmode=require"
  redis_url="rediss://:$(jq -rn --arg t "$token" '$t|@uri')@${redis_host}:6379/$((PR_NUMBER % 16))"
  db_arn=$(put_secret "$(secret_name "$PR_NUMBER" database-url)" "$database_url")
  redis_arn=$(put_secret "$(secret_name "$PR_NUMBER" redis-url)" "$redis_url")

  local args text
  text=$(image_var_args "$TF_ROOT" "$IMAGE_REPOSITORY" "$IMAGE_TAG")
  mapfile -t args <<<"$text"
  args+=("-var=pr_number=${PR_NUMBER}" "$(secret_var_arg "$db_arn" "$redis_arn")")
  PRE_MIGRATE_COMMAND=$(jq -cn --arg code "$CREATE_DATABASE" '["python", "-c", $code]') apply_with_migration "${args[@]}"
  wait_for_rollouts
  local url
  url=$(tf_output_raw url)
  smoke_test "$url"
  [[ -z "${GITHUB_OUTPUT:-}" ]] || echo "url=$url" >>"$GITHUB_OUTPUT"
  log "preview of #$PR_NUMBER is up at $url"
}

down() {
  require PR_NUMBER IMAGE_REPOSITORY STATE_BUCKET AWS_REGION
  check_pr_number "$PR_NUMBER"
  init_roots
  local db_arn redis_arn bucket args text state
  db_arn=$(existing_secret_arn "$(secret_name "$PR_NUMBER" database-url)")
  redis_arn=$(existing_secret_arn "$(secret_name "$PR_NUMBER" redis-url)")
  bucket=$(base_output .evidence_bucket_name.value)

  state=$(tf state list)
  if [[ -n "$state" ]]; then
    run_migrate_task "$(jq -cn --arg code "$DROP_DATABASE" '["python", "-c", $code]')"
    text=$(image_var_args "$TF_ROOT" "$IMAGE_REPOSITORY" "${IMAGE_TAG:-$PLACEHOLDER_TAG}")
    mapfile -t args <<<"$text"
    args+=("-var=pr_number=${PR_NUMBER}" "$(secret_var_arg "$db_arn" "$redis_arn")")
    log "terraform destroy preview pr-$PR_NUMBER"
    tf destroy -input=false -no-color -lock-timeout=5m -auto-approve "${args[@]}"
  else
    log "no resources in preview/pr-$PR_NUMBER.tfstate: nothing to destroy"
  fi

  log "delete s3://$bucket/pr-$PR_NUMBER/, the secrets and the state file"
  aws s3 rm "s3://${bucket}/pr-${PR_NUMBER}/" --recursive --only-show-errors
  local name
  for name in database-url redis-url; do
    aws secretsmanager delete-secret --secret-id "$(secret_name "$PR_NUMBER" "$name")" \
      --force-delete-without-recovery >/dev/null 2>&1 || true
  done
  aws s3 rm "s3://${STATE_BUCKET}/preview/pr-${PR_NUMBER}.tfstate" --only-show-errors
  log "preview of #$PR_NUMBER is gone"
}

reap() {
  require STATE_BUCKET GITHUB_REPOSITORY
  local keys key number state failed=()
  keys=$(aws s3api list-objects-v2 --bucket "$STATE_BUCKET" --prefix preview/pr- --query 'Contents[].Key' --output text)
  while read -r key; do
    [[ "$key" =~ ^preview/pr-([0-9]+)\.tfstate$ ]] || continue
    number=${BASH_REMATCH[1]}
    state=$(gh pr view "$number" --repo "$GITHUB_REPOSITORY" --json state --jq .state)
    if [[ "$state" == "OPEN" ]]; then
      continue
    fi
    log "PR #$number is $state but its preview is still there: tearing it down"
    # A process of its own: errexit does not apply to a function called on the left of ||.
    PR_NUMBER=$number "$0" down || failed+=("$number")
  done < <(tr '\t' '\n' <<<"$keys")
  ((${#failed[@]} == 0)) || fail "could not reap the previews of PRs ${failed[*]}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  reap) reap ;;
  *) fail "usage: preview.sh up|down|reap" ;;
esac
