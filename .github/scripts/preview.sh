#!/usr/bin/env bash
# Per-pull-request previews on the shared preview base (terraform/README.md, "Previews").
#   preview.sh up     PR_NUMBER, IMAGE_REPOSITORY, IMAGE_TAG: the DATABASE_URL secret, database,
#                     migrate, apply, rollout, healthy targets, /readyz in a one-off task; writes
#                     url=<preview URL> to $GITHUB_OUTPUT
#   preview.sh down   PR_NUMBER: drop the database and the Redis keys pr-<n>:*, destroy, delete the
#                     files, secret and state
#   preview.sh reap   every preview whose pull request is no longer open goes down, one after
#                     another; none is started after REAP_BUDGET_SECONDS (default 3600): the
#                     rest waits for the next hourly run, so no teardown outlasts the job's AWS
#                     credentials (preview.yml, reap)
# Also needed: AWS_REGION; GITHUB_REPOSITORY and GH_TOKEN (reap). STATE_BUCKET defaults to the bucket
# of the preview root's backend.tf (the dev account's).
# Redis: every preview uses the base's shared REDIS_URL; Terraform sets REDIS_KEY_PREFIX=pr-<n>:.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

TF_ROOT=${TF_ROOT:-terraform/envs/preview}
BASE_ROOT=${BASE_ROOT:-terraform/envs/preview-base}
STATE_BUCKET=${STATE_BUCKET:-$(backend_bucket "$TF_ROOT")}
# The RDS CA bundle docker/Dockerfile puts into both images: DATABASE_URL verifies the
# database's certificate and host name against it (terraform/README.md, "Secrets").
RDS_CA_BUNDLE=/etc/ssl/certs/rds-global-bundle.pem
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
# The shared preview Redis is private to the VPC too. Only a pr-<n>: prefix: an empty one would
# match every preview's keys. UNLINK frees memory in the background.
DELETE_REDIS_KEYS='import os, re, redis
prefix = os.environ.get("REDIS_KEY_PREFIX", "")
if not re.fullmatch(r"pr-[0-9]+:", prefix):
    raise SystemExit(f"REDIS_KEY_PREFIX {prefix!r} is not pr-<n>: refusing to delete keys")
client = redis.Redis.from_url(os.environ["REDIS_URL"])
deleted = sum(client.unlink(key) for key in client.scan_iter(match=prefix + "*", count=1000))
print(f"deleted {deleted} keys under {prefix}")'

# Up to 49999: terraform/envs/preview takes no more (pr_number is also the listener rule
# priority); refused here before any secret or database exists.
check_pr_number() {
  [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] || fail "PR_NUMBER must be a pull request number, got '$1'"
  (($1 <= 49999)) || fail "pull request #$1: previews exist only for pull requests #1 to #49999 (the preview's listener rule priority); this one gets CI only"
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
  printf -- '-var=pr_secret_arns={database_url="%s"}' "$1"
}

up() {
  require PR_NUMBER IMAGE_REPOSITORY IMAGE_TAG STATE_BUCKET AWS_REGION
  check_pr_number "$PR_NUMBER"
  check_image_tag "$IMAGE_TAG"
  init_roots

  local user password host port database_url db_arn
  user=$(aws secretsmanager get-secret-value --secret-id "$(base_output .shared_secret_arns.value.database_app_user)" \
    --query SecretString --output text | jq -r .username)
  password=$(aws secretsmanager get-secret-value --secret-id "$(base_output .shared_secret_arns.value.database_app_user)" \
    --query SecretString --output text | jq -r .password)
  echo "::add-mask::$password"
  host=$(base_output .database_address.value)
  port=$(base_output .database_port.value)
  # sslmode=require would encrypt but accept any certificate.
  database_url="postgresql+psycopg2://${user}:$(jq -rn --arg p "$password" '$p|@uri')@${host}:${port}/pr_${PR_NUMBER}"
  database_url+="?sslmode=verify-full&sslrootcert=$(jq -rn --arg p "$RDS_CA_BUNDLE" '$p|@uri')"
  db_arn=$(put_secret "$(secret_name "$PR_NUMBER" database-url)" "$database_url")

  set_image_args "$TF_ROOT" "$IMAGE_REPOSITORY" "$IMAGE_TAG"
  ((${#IMAGE_ARGS[@]} > 0)) || fail "$TF_ROOT declares no web_image/worker_image variables"
  local args=("${IMAGE_ARGS[@]}" "-var=pr_number=${PR_NUMBER}" "$(secret_var_arg "$db_arn")")
  MIGRATE_IMAGE=$WEB_IMAGE \
    PRE_MIGRATE_COMMAND=$(jq -cn --arg code "$CREATE_DATABASE" '["python", "-c", $code]') \
    apply_with_migration "${args[@]}"
  wait_for_rollouts
  wait_for_healthy_targets
  check_readiness
  local url
  url=$(tf_output_raw url)
  [[ -z "${GITHUB_OUTPUT:-}" ]] || echo "url=$url" >>"$GITHUB_OUTPUT"
  log "preview of #$PR_NUMBER is up at $url"
}

down() {
  require PR_NUMBER IMAGE_REPOSITORY STATE_BUCKET AWS_REGION
  check_pr_number "$PR_NUMBER"
  init_roots
  local db_arn bucket migrate state
  db_arn=$(existing_secret_arn "$(secret_name "$PR_NUMBER" database-url)")
  bucket=$(base_output .evidence_bucket_name.value)

  state=$(tf state list)
  if [[ -n "$state" ]]; then
    # Both one-off tasks run with the preview's own task definition: its DATABASE_URL, the
    # shared REDIS_URL and its REDIS_KEY_PREFIX.
    migrate=$(tf_output_raw migrate_task_definition_arn)
    run_migrate_task "$migrate" "$(jq -cn --arg code "$DROP_DATABASE" '["python", "-c", $code]')"
    run_migrate_task "$migrate" "$(jq -cn --arg code "$DELETE_REDIS_KEYS" '["python", "-c", $code]')"
    set_image_args "$TF_ROOT" "$IMAGE_REPOSITORY" "${IMAGE_TAG:-$PLACEHOLDER_TAG}"
    local args=("${IMAGE_ARGS[@]}" "-var=pr_number=${PR_NUMBER}" "$(secret_var_arg "$db_arn")")
    log "terraform destroy preview pr-$PR_NUMBER"
    tf destroy -input=false -no-color -lock-timeout=5m -auto-approve "${args[@]}"
  else
    log "no resources in preview/pr-$PR_NUMBER.tfstate: nothing to destroy"
  fi

  log "delete s3://$bucket/pr-$PR_NUMBER/, the secret and the state file"
  aws s3 rm "s3://${bucket}/pr-${PR_NUMBER}/" --recursive --only-show-errors
  local name
  # redis-url: the per-PR secret of previews made before REDIS_KEY_PREFIX (database <n> mod 16).
  for name in database-url redis-url; do
    aws secretsmanager delete-secret --secret-id "$(secret_name "$PR_NUMBER" "$name")" \
      --force-delete-without-recovery >/dev/null 2>&1 || true
  done
  aws s3 rm "s3://${STATE_BUCKET}/preview/pr-${PR_NUMBER}.tfstate" --only-show-errors
  log "preview of #$PR_NUMBER is gone"
}

reap() {
  require STATE_BUCKET GITHUB_REPOSITORY
  local budget=${REAP_BUDGET_SECONDS:-3600} keys key number pr state branch active failed=() left=()
  [[ "$budget" =~ ^[0-9]+$ ]] || fail "REAP_BUDGET_SECONDS must be a number of seconds, got '$budget'"
  keys=$(aws s3api list-objects-v2 --bucket "$STATE_BUCKET" --prefix preview/pr- --query 'Contents[].Key' --output text)
  while read -r key; do
    [[ "$key" =~ ^preview/pr-([0-9]+)\.tfstate$ ]] || continue
    number=${BASH_REMATCH[1]}
    pr=$(gh pr view "$number" --repo "$GITHUB_REPOSITORY" --json state,headRefName --jq '.state + " " + .headRefName')
    read -r state branch <<<"$pr"
    if [[ "$state" == "OPEN" ]]; then
      continue
    fi
    # The PR's own preview.yml run (its destroy job, group preview-<n>) may be queued or running:
    # two `down`s of one preview at once would race on its state, database and secret. Leave the
    # PR to that run; if it fails, the next hourly reap finds the preview again.
    active=$(gh run list --repo "$GITHUB_REPOSITORY" --workflow preview.yml --event pull_request --branch "$branch" \
      --json status --jq '[.[] | select(.status != "completed")] | length')
    if ((active > 0)); then
      log "PR #$number is $state and a preview.yml run of its branch $branch is not finished: leaving it to that run"
      continue
    fi
    if ((SECONDS >= budget)); then
      left+=("$number")
      continue
    fi
    log "PR #$number is $state but its preview is still there: tearing it down"
    # A process of its own: errexit does not apply to a function called on the left of ||.
    PR_NUMBER=$number "$0" down || failed+=("$number")
  done < <(tr '\t' '\n' <<<"$keys")
  ((${#left[@]} == 0)) || log "reaping budget of ${budget} s used: the previews of PRs ${left[*]} are left to the next run"
  ((${#failed[@]} == 0)) || fail "could not reap the previews of PRs ${failed[*]}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  reap) reap ;;
  *) fail "usage: preview.sh up|down|reap" ;;
esac
