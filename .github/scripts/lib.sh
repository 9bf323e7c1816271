# shellcheck shell=bash
# Shared by deploy.sh, preview.sh, teardown.sh, release-image.sh and provider-mirror.sh (sourced,
# never run). Every input comes from the environment the workflow sets, never from ${{ }} pasted
# into a script.

set -euo pipefail
# Command output is captured with var=$(...) before it is read, never read from < <(...):
# errexit does not see a failure inside a process substitution.

# Seconds between two looks at a task, a rollout or the target health (the tests make it 0).
POLL_SECONDS=${POLL_SECONDS:-10}
# Looks at a target group before its targets count as unhealthy (10 minutes by default).
HEALTH_CHECK_ATTEMPTS=${HEALTH_CHECK_ATTEMPTS:-60}
# Seconds a one-off task (migrate, /readyz, database) may run before it is stopped: the built-in
# waiter gives up after 10 minutes, a long migration gets up to 30.
ONE_OFF_TIMEOUT_SECONDS=${ONE_OFF_TIMEOUT_SECONDS:-1800}

log() { printf '== %s\n' "$*" >&2; }
fail() {
  printf '::error::%s\n' "$*" >&2
  exit 1
}

# A sleep that a cancelled job's SIGINT/SIGTERM interrupts at once (bash runs a trap only after
# the foreground command ends; `wait` returns as soon as a signal arrives).
PAUSE_PID=""
pause() {
  sleep "$1" &
  PAUSE_PID=$!
  wait "$PAUSE_PID"
  PAUSE_PID=""
}

# What the EXIT trap undoes when a step fails, a one-off task outlives its deadline or the job is
# cancelled (GitHub sends SIGINT, then SIGTERM): a one-off task still running is stopped (it would
# go on migrating with nobody waiting for it), a migrate task definition revision Terraform does
# not know is deregistered, and once ROLLBACK_TASK_DEFINITIONS is set (service=task definition,
# recorded before the apply), the services go back to those task definitions.
CLEANUP_CLUSTER=""
RUNNING_TASK=""
REGISTERED_REVISION=""
ROLLBACK_TASK_DEFINITIONS=()
cleanup_on_exit() {
  local status=$? pair service previous rolled=()
  set +e
  # Every background job, not only PAUSE_PID: a signal that lands just after `sleep &` started
  # runs this trap before `PAUSE_PID=$!` was assigned, and that sleep would outlive the script
  # holding its stdout and stderr open (a whole-run flake of test_a_cancelled_deploy_stops_its_migrate_task).
  local jobs_left=()
  readarray -t jobs_left <<<"$(jobs -p)"
  [[ -z "${jobs_left[*]}" ]] || kill "${jobs_left[@]}" 2>/dev/null
  if [[ -n "$RUNNING_TASK" ]]; then
    if aws ecs stop-task --cluster "$CLEANUP_CLUSTER" --task "$RUNNING_TASK" \
      --reason "deploy job ended before the task did (failed, timed out or cancelled)" >/dev/null; then
      printf '::error::stopped the one-off task %s: the job ended before it did\n' "$RUNNING_TASK" >&2
    else
      printf '::error::could not stop the one-off task %s: stop it in the ECS console\n' "$RUNNING_TASK" >&2
    fi
  fi
  if [[ -n "$REGISTERED_REVISION" ]]; then
    aws ecs deregister-task-definition --task-definition "$REGISTERED_REVISION" >/dev/null ||
      printf '::warning::could not deregister %s\n' "$REGISTERED_REVISION" >&2
  fi
  if ((status != 0 && ${#ROLLBACK_TASK_DEFINITIONS[@]} > 0)); then
    for pair in "${ROLLBACK_TASK_DEFINITIONS[@]}"; do
      service=${pair%%=*} previous=${pair#*=}
      # A service the apply did not change (or the circuit breaker already put back) stays as it is.
      [[ "$(aws ecs describe-services --cluster "$CLEANUP_CLUSTER" --services "$service" \
        --query 'services[0].taskDefinition' --output text)" != "$previous" ]] || continue
      if aws ecs update-service --cluster "$CLEANUP_CLUSTER" --service "$service" \
        --task-definition "$previous" >/dev/null; then
        rolled+=("$service -> $previous")
      else
        printf '::error::could not roll %s back to %s: do it in the ECS console\n' "$service" "$previous" >&2
      fi
    done
    ((${#rolled[@]} == 0)) || printf '::error::the deploy failed after its apply: rolled the services back to their previous task definitions (%s). Terraform state still names the new images: deploy an earlier tag (README, "Roll back") or release a fix.\n' "$(
      IFS=';'
      printf '%s' "${rolled[*]}"
    )" >&2
  fi
  exit "$status"
}
trap cleanup_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require() {
  local name
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || fail "$name is not set"
  done
}

# An image tag the pipeline built: sha-<40 hex>. Never latest, never a branch name.
check_image_tag() {
  [[ "$1" =~ ^sha-[0-9a-f]{40}$ ]] || fail "image tag must be sha-<full commit sha>, got '$1'"
}

# Staging and prod run only what was merged: the tag's commit must be on the release branch
# (RELEASE_BRANCH, e.g. origin/main; the checkout needs the history, fetch-depth: 0). An image
# of an unreviewed commit, pushed by hand or by a changed workflow, is refused before anything
# changes. Rolling back to an earlier merged commit passes.
check_released_commit() {
  local tag=$1 branch=$2 commit=${1#sha-}
  git cat-file -e "${commit}^{commit}" 2>/dev/null ||
    fail "$tag: commit $commit is not in this checkout's history (is it a commit of this repository, fetched with fetch-depth: 0?)"
  git merge-base --is-ancestor "$commit" "$branch" ||
    fail "$tag: commit $commit is not on $branch: only merged commits are deployed to this environment"
}

# The digest (sha256:<64 hex>) an image reference points at in the registry now (after
# docker login, for private repositories).
image_digest() {
  local ref=$1 digest
  digest=$(docker buildx imagetools inspect "$ref" --format '{{json .Manifest}}' | jq -r '.digest // empty') ||
    fail "$ref is not in the registry (or this job cannot read it: docker login)"
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "$ref: the registry answered no sha256 digest ('$digest')"
  printf '%s' "$digest"
}

# IMAGE_ARGS: the -var arguments of the images release.yml / preview.yml pushed,
# <repository>-web (web service, migrate task) and <repository>-worker (worker, beat): by digest,
# <repository>-web@sha256:..., when the digests are given (staging, prod, dev), else by tag
# (:<tag>); none when the root declares no image variables (preview-base runs no application).
# WEB_IMAGE and WORKER_IMAGE: the same images, for the migrate task and the rollout check.
# shellcheck disable=SC2034 # IMAGE_ARGS, WEB_IMAGE and WORKER_IMAGE are read by the scripts that source this file
set_image_args() {
  local root=$1 repository=$2 tag=$3 web_digest=${4:-} worker_digest=${5:-}
  WEB_IMAGE="${repository}-web:${tag}"
  WORKER_IMAGE="${repository}-worker:${tag}"
  if [[ -n "$web_digest" || -n "$worker_digest" ]]; then
    WEB_IMAGE="${repository}-web@${web_digest}"
    WORKER_IMAGE="${repository}-worker@${worker_digest}"
  fi
  IMAGE_ARGS=()
  if grep -qs 'variable "web_image"' "$root"/*.tf; then
    IMAGE_ARGS=("-var=web_image=${WEB_IMAGE}" "-var=worker_image=${WORKER_IMAGE}")
  fi
}

tf() { terraform -chdir="$TF_ROOT" "$@"; }

# The state bucket named in a root's backend.tf: one per AWS account (terraform/README.md,
# "Environments and accounts"), so the environment decides it, not a repository-wide variable.
backend_bucket() {
  local bucket
  bucket=$(sed -nE 's/^[[:space:]]*bucket[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' "$1/backend.tf")
  [[ -n "$bucket" && "$bucket" != *$'\n'* ]] || fail "$1/backend.tf names no single state bucket"
  printf '%s' "$bucket"
}

tf_output_raw() { tf output -raw "$1"; }

# Run a one-off task of a migrate task definition (optionally with a command override, as a
# JSON array) and fail unless its app container exits 0 (the failure names the optional `what`).
run_migrate_task() {
  local task_definition=$1 command_json=${2:-} what=${3:-} cluster network overrides task exit_code reason
  cluster=$(tf_output_raw cluster_name)
  network=$(tf output -json migrate_network_configuration | jq -c '{awsvpcConfiguration: .}')
  overrides='{}'
  if [[ -n "$command_json" ]]; then
    overrides=$(jq -cn --argjson command "$command_json" '{containerOverrides: [{name: "app", command: $command}]}')
  fi
  log "run-task $task_definition ${command_json:-(migrate)}"
  # --propagate-tags: the task carries its task definition's tags (Service, Environment), like
  # the services' tasks, so it is found and billed like them.
  task=$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE --task-definition "$task_definition" \
    --network-configuration "$network" --overrides "$overrides" --started-by "github-${GITHUB_RUN_ID:-manual}" \
    --propagate-tags TASK_DEFINITION --query 'tasks[0].taskArn' --output text)
  [[ -n "$task" && "$task" != "None" ]] || fail "run-task started no task"
  # From here until it has stopped, a failure, the deadline or a cancelled job stops it (cleanup_on_exit).
  CLEANUP_CLUSTER=$cluster
  RUNNING_TASK=$task
  local deadline=$((SECONDS + ONE_OFF_TIMEOUT_SECONDS))
  until [[ "$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].lastStatus' --output text)" == "STOPPED" ]]; do
    ((SECONDS < deadline)) || fail "task $task did not stop within $((ONE_OFF_TIMEOUT_SECONDS / 60)) minutes"
    pause "$POLL_SECONDS"
  done
  RUNNING_TASK=""
  exit_code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" \
    --query "tasks[0].containers[?name=='app'].exitCode | [0]" --output text)
  reason=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].stoppedReason' --output text)
  [[ "$exit_code" == "0" ]] || fail "${what:+$what: }one-off task $task failed: exit code $exit_code ($reason); see its CloudWatch log stream 'migrate'"
  log "one-off task $task exited 0"
}

# Register a revision of the migrate task definition of the last apply (its exact revision, not
# the family's newest) with another image of its app container (terraform/README.md, "Deploy an
# environment"): the schema migrates before Terraform rolls the services, without
# `terraform apply -target`. The next apply registers its own revision with the same content.
# Prints the new revision's ARN.
register_migrate_revision() {
  local image=$1 current definition
  current=$(aws ecs describe-task-definition --task-definition "$(tf_output_raw migrate_task_definition_arn)" \
    --include TAGS --output json)
  definition=$(jq -c --arg image "$image" '
    (.taskDefinition | (.containerDefinitions |= map(if .name == "app" then .image = $image else . end))
      | {family, taskRoleArn, executionRoleArn, networkMode, containerDefinitions, volumes,
         requiresCompatibilities, cpu, memory, runtimePlatform})
    + (if ((.tags // []) | length) > 0 then {tags} else {} end)' <<<"$current")
  [[ "$(jq '[.containerDefinitions[] | select(.name == "app")] | length' <<<"$definition")" == 1 ]] ||
    fail "the migrate task definition has no container named app"
  aws ecs register-task-definition --cli-input-json "$definition" \
    --query taskDefinition.taskDefinitionArn --output text
}

service_list() {
  local names
  names=$(tf output -json service_names | jq -r '.[]')
  [[ -n "$names" ]] || fail "no services in output service_names"
  printf '%s\n' "$names"
}

# Before the apply rolls the services: each one's task definition now, to go back to
# (cleanup_on_exit) when the rollout or a check after it fails.
record_rollback_targets() {
  local cluster names services service current
  cluster=$(tf_output_raw cluster_name)
  names=$(service_list)
  mapfile -t services <<<"$names"
  ROLLBACK_TASK_DEFINITIONS=()
  for service in "${services[@]}"; do
    current=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
      --query 'services[0].taskDefinition' --output text)
    [[ -z "$current" || "$current" == None ]] || ROLLBACK_TASK_DEFINITIONS+=("$service=$current")
  done
  CLEANUP_CLUSTER=$cluster
}

# Wait until each service's deployment of the task definition just applied (its image WEB_IMAGE
# or WORKER_IMAGE, when set_image_args ran) reaches rolloutState COMPLETED. FAILED, or that
# deployment disappearing (the circuit breaker rolled back to the previous task definition), fails
# the deploy. A primary deployment that already FAILED is an earlier deploy's of these same images
# (the apply changed nothing, so ECS started nothing, e.g. a redeploy after a first deploy that
# failed): ECS is asked for a new deployment of it instead of failing at once.
wait_for_rollouts() {
  local cluster names services service primary deployment_id primary_state state deadline task_definition image
  cluster=$(tf_output_raw cluster_name)
  names=$(service_list)
  mapfile -t services <<<"$names"
  for service in "${services[@]}"; do
    primary=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
      --query "services[0].deployments[?status=='PRIMARY'] | [0].[id, rolloutState]" --output text)
    read -r deployment_id primary_state <<<"$primary"
    if [[ "$primary_state" == FAILED ]]; then
      log "$service: its primary deployment $deployment_id had FAILED and the apply changed nothing: forcing a new deployment"
      deployment_id=$(aws ecs update-service --cluster "$cluster" --service "$service" --force-new-deployment \
        --query "service.deployments[?status=='PRIMARY'] | [0].id" --output text)
    fi
    if [[ -n "${WEB_IMAGE:-}" ]]; then
      # The deployment to wait for must be the one running the new image, not an older one.
      task_definition=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
        --query "services[0].deployments[?status=='PRIMARY'] | [0].taskDefinition" --output text)
      image=$(aws ecs describe-task-definition --task-definition "$task_definition" \
        --query "taskDefinition.containerDefinitions[?name=='app'] | [0].image" --output text)
      [[ "$image" == "$WEB_IMAGE" || "$image" == "$WORKER_IMAGE" ]] ||
        fail "$service: the primary deployment runs $image, not $WEB_IMAGE or $WORKER_IMAGE"
    fi
    log "waiting for $service deployment $deployment_id"
    deadline=$((SECONDS + 1800))
    while true; do
      state=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
        --query "services[0].deployments[?id=='${deployment_id}'] | [0].rolloutState" --output text)
      case "$state" in
        COMPLETED) log "$service: rollout COMPLETED" && break ;;
        FAILED) fail "$service: rollout FAILED (circuit breaker); the service runs the previous task definition" ;;
        None | "") fail "$service: deployment $deployment_id was replaced (rolled back)" ;;
        *) ((SECONDS < deadline)) || fail "$service: rollout still $state after 30 minutes" ;;
      esac
      pause "$POLL_SECONDS"
    done
  done
}

# Apply TF_ROOT with these -var arguments so that the schema is migrated before the services run
# the new image MIGRATE_IMAGE: register a migrate revision with it, run it (after the optional
# PRE_MIGRATE_COMMAND, a JSON command array), ask /readyz in it (the new image with this
# environment's settings must reach its database, broker and storage before any service rolls),
# then plan and apply everything. From the apply on, a failure rolls the services back to the task
# definitions they ran before (record_rollback_targets, cleanup_on_exit). A root with an empty
# state (first deploy) is applied whole first: there is nothing to migrate against before.
apply_with_migration() {
  local state revision
  require MIGRATE_IMAGE
  state=$(tf state list)
  if [[ -z "$state" ]]; then
    log "empty state: first apply creates everything, then migrate"
    tf plan -input=false -no-color -lock-timeout=5m "$@" -out=tfplan
    tf apply -input=false -no-color -lock-timeout=5m tfplan
    revision=$(tf_output_raw migrate_task_definition_arn)
  else
    log "register a migrate task definition revision with $MIGRATE_IMAGE"
    revision=$(register_migrate_revision "$MIGRATE_IMAGE")
    # Terraform does not know this revision: retired on the way out, whatever happens.
    REGISTERED_REVISION=$revision
  fi
  [[ -z "${PRE_MIGRATE_COMMAND:-}" ]] || run_migrate_task "$revision" "$PRE_MIGRATE_COMMAND"
  run_migrate_task "$revision"
  if [[ -z "$state" ]]; then
    return
  fi
  check_readiness "$revision" "before the rollout"
  # A stopped task keeps its definition: the revision can go now.
  aws ecs deregister-task-definition --task-definition "$revision" >/dev/null
  REGISTERED_REVISION=""
  record_rollback_targets
  log "terraform plan and apply $*: the services roll to the new image"
  tf plan -input=false -no-color -lock-timeout=5m "$@" -out=tfplan
  tf apply -input=false -no-color -lock-timeout=5m tfplan
}

# The load balancers accept only the office/VPN ranges (alb.ingress_cidrs), never a GitHub-hosted
# runner: after wait_for_rollouts the release is checked through AWS APIs, not over HTTP.

# Every service behind a load balancer (web) has each target of its target group(s) healthy.
# After wait_for_rollouts the service runs only the new task definition's tasks; the old tasks'
# targets are draining and are left out. The target groups' health check probes /healthz
# (terraform/modules/alb and ecs_service): this proves the new tasks serve HTTP behind the load
# balancer; check_readiness proves their database, broker and storage. The target groups are
# not Terraform outputs: ECS names them (loadBalancers[].targetGroupArn).
wait_for_healthy_targets() {
  local cluster names services service arns groups group health healthy unhealthy attempt
  cluster=$(tf_output_raw cluster_name)
  names=$(service_list)
  mapfile -t services <<<"$names"
  for service in "${services[@]}"; do
    arns=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
      --query 'services[0].loadBalancers[].targetGroupArn' --output text)
    [[ -n "$arns" && "$arns" != None ]] || continue
    read -ra groups <<<"$arns"
    for group in "${groups[@]}"; do
      log "waiting for every target of $service in $group to be healthy"
      attempt=1
      while true; do
        health=$(aws elbv2 describe-target-health --target-group-arn "$group" --output json)
        healthy=$(jq '[.TargetHealthDescriptions[] | select(.TargetHealth.State == "healthy")] | length' <<<"$health")
        unhealthy=$(jq -r '[.TargetHealthDescriptions[] | select(.TargetHealth.State != "healthy" and .TargetHealth.State != "draining")
          | "\(.Target.Id):\(.Target.Port) \(.TargetHealth.State) (\(.TargetHealth.Reason // "no reason"): \(.TargetHealth.Description // "no description"))"]
          | join("; ")' <<<"$health")
        if ((healthy > 0)) && [[ -z "$unhealthy" ]]; then
          log "$service: $healthy healthy targets"
          break
        fi
        ((attempt < HEALTH_CHECK_ATTEMPTS)) ||
          fail "$service: targets in $group not healthy after $attempt looks: ${unhealthy:-no healthy target registered}"
        attempt=$((attempt + 1))
        pause "$POLL_SECONDS"
      done
    done
  done
}

# The app's own /readyz (database, broker, evidence storage), asked from inside the VPC: a
# one-off task of a migrate task definition (the one given: the revision with the new image,
# before the rollout; by default the one just applied), which is the web container (image,
# environment, secrets, task role, security group) with another command. Its answer is in the
# task's CloudWatch log stream 'migrate'.
READYZ='from web.app import create_app
response = create_app().test_client().get("/readyz")
print("/readyz answered", response.status_code, response.get_data(as_text=True))
raise SystemExit(0 if response.status_code == 200 else 1)'
check_readiness() {
  local revision=${1:-} when=${2:-after the rollout}
  [[ -n "$revision" ]] || revision=$(tf_output_raw migrate_task_definition_arn)
  log "readiness $when: /readyz in a one-off task of the new web image (exit code 1: the database, broker or storage does not answer)"
  local what="readiness $when: the new image does not answer /readyz 200"
  [[ "$when" != "before the rollout" ]] || what+=" (nothing was rolled: the services still run the previous release)"
  run_migrate_task "$revision" "$(jq -cn --arg code "$READYZ" '["python", "-c", $code]')" "$what"
}
