# shellcheck shell=bash
# Shared by deploy.sh, preview.sh and teardown.sh (sourced, never run). Every input comes from
# the environment the workflow sets, never from ${{ }} pasted into a script.

set -euo pipefail
# Command output is captured with var=$(...) before it is read, never read from < <(...):
# errexit does not see a failure inside a process substitution.

# Seconds between two looks at a task, a rollout or the target health (the tests make it 0).
POLL_SECONDS=${POLL_SECONDS:-10}
# Looks at a target group before its targets count as unhealthy (10 minutes by default).
HEALTH_CHECK_ATTEMPTS=${HEALTH_CHECK_ATTEMPTS:-60}

log() { printf '== %s\n' "$*" >&2; }
fail() {
  printf '::error::%s\n' "$*" >&2
  exit 1
}

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

# IMAGE_ARGS: the -var arguments of the images release.yml / preview.yml pushed,
# <repository>-web:<tag> (web service, migrate task) and <repository>-worker:<tag> (worker, beat),
# when the root declares them (preview-base runs no application and takes none).
# shellcheck disable=SC2034 # IMAGE_ARGS is read by the scripts that source this file
set_image_args() {
  local root=$1 repository=$2 tag=$3
  IMAGE_ARGS=()
  if grep -qs 'variable "web_image"' "$root"/*.tf; then
    IMAGE_ARGS=("-var=web_image=${repository}-web:${tag}" "-var=worker_image=${repository}-worker:${tag}")
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
# JSON array) and fail unless its app container exits 0.
run_migrate_task() {
  local task_definition=$1 command_json=${2:-} cluster network overrides task exit_code reason
  cluster=$(tf_output_raw cluster_name)
  network=$(tf output -json migrate_network_configuration | jq -c '{awsvpcConfiguration: .}')
  overrides='{}'
  if [[ -n "$command_json" ]]; then
    overrides=$(jq -cn --argjson command "$command_json" '{containerOverrides: [{name: "app", command: $command}]}')
  fi
  log "run-task $task_definition ${command_json:-(migrate)}"
  task=$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE --task-definition "$task_definition" \
    --network-configuration "$network" --overrides "$overrides" --started-by "github-${GITHUB_RUN_ID:-manual}" \
    --query 'tasks[0].taskArn' --output text)
  [[ -n "$task" && "$task" != "None" ]] || fail "run-task started no task"
  # The built-in waiter gives up after 10 minutes; a long migration gets up to 30.
  local deadline=$((SECONDS + 1800))
  until [[ "$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].lastStatus' --output text)" == "STOPPED" ]]; do
    ((SECONDS < deadline)) || fail "task $task did not stop within 30 minutes"
    sleep "$POLL_SECONDS"
  done
  exit_code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" \
    --query "tasks[0].containers[?name=='app'].exitCode | [0]" --output text)
  reason=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].stoppedReason' --output text)
  [[ "$exit_code" == "0" ]] || fail "one-off task $task failed: exit code $exit_code ($reason); see its CloudWatch log stream 'migrate'"
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

# Wait until each service's deployment of the task definition just applied (its image tagged
# IMAGE_TAG, when set) reaches rolloutState COMPLETED. FAILED, or that deployment disappearing
# (the circuit breaker rolled back to the previous task definition), fails the deploy.
wait_for_rollouts() {
  local cluster names services service deployment_id state deadline task_definition image
  cluster=$(tf_output_raw cluster_name)
  names=$(tf output -json service_names | jq -r '.[]')
  [[ -n "$names" ]] || fail "no services in output service_names"
  mapfile -t services <<<"$names"
  for service in "${services[@]}"; do
    deployment_id=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
      --query "services[0].deployments[?status=='PRIMARY'] | [0].id" --output text)
    if [[ -n "${IMAGE_TAG:-}" ]]; then
      # The deployment to wait for must be the one running the new image, not an older one.
      task_definition=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
        --query "services[0].deployments[?status=='PRIMARY'] | [0].taskDefinition" --output text)
      image=$(aws ecs describe-task-definition --task-definition "$task_definition" \
        --query "taskDefinition.containerDefinitions[?name=='app'] | [0].image" --output text)
      [[ "$image" == *":${IMAGE_TAG}" ]] || fail "$service: the primary deployment runs $image, not $IMAGE_TAG"
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
      sleep "$POLL_SECONDS"
    done
  done
}

# Apply TF_ROOT with these -var arguments so that the schema is migrated before the services run
# the new image MIGRATE_IMAGE: register a migrate revision with it, run it (after the optional
# PRE_MIGRATE_COMMAND, a JSON command array), then plan and apply everything. A root with an
# empty state (first deploy) is applied whole first: there is nothing to migrate against before.
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
  fi
  [[ -z "${PRE_MIGRATE_COMMAND:-}" ]] || run_migrate_task "$revision" "$PRE_MIGRATE_COMMAND"
  run_migrate_task "$revision"
  if [[ -z "$state" ]]; then
    return
  fi
  # Terraform does not know this revision: retire it (a stopped task keeps its definition).
  aws ecs deregister-task-definition --task-definition "$revision" >/dev/null
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
  names=$(tf output -json service_names | jq -r '.[]')
  [[ -n "$names" ]] || fail "no services in output service_names"
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
        sleep "$POLL_SECONDS"
      done
    done
  done
}

# The app's own /readyz (database, broker, evidence storage), asked from inside the VPC: a
# one-off task of the migrate task definition just applied, which is the web container (image,
# environment, secrets, task role, security group) with another command. Its answer is in the
# task's CloudWatch log stream 'migrate'.
READYZ='from web.app import create_app
response = create_app().test_client().get("/readyz")
print("/readyz answered", response.status_code, response.get_data(as_text=True))
raise SystemExit(0 if response.status_code == 200 else 1)'
check_readiness() {
  log "readiness: /readyz in a one-off task of the new web image (exit code 1: the database, broker or storage does not answer)"
  run_migrate_task "$(tf_output_raw migrate_task_definition_arn)" "$(jq -cn --arg code "$READYZ" '["python", "-c", $code]')"
}
