variable "aws_region" {
  description = "AWS region of the preview (the preview base's region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "aws_account_id" {
  description = "The only AWS account this root may touch (provider allowed_account_ids)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be 12 digits."
  }
}

variable "repository" {
  description = "GitHub repository (owner/name) holding this code: the Repository tag."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be owner/name."
  }
}

variable "pr_number" {
  description = "Pull request number: names everything (incident-tracker-pr-<n>), the host pr-<n>.<preview domain>, the listener rule priority, the database pr_<n>, the Redis key prefix pr-<n>: and the S3 prefix pr-<n>/. Passed by the preview workflow with -var."
  type        = number

  validation {
    condition     = var.pr_number >= 1 && var.pr_number <= 49999 && floor(var.pr_number) == var.pr_number
    error_message = "pr_number must be a whole number between 1 and 49999 (it is also the listener rule priority)."
  }
}

variable "web_image" {
  description = "Web image pinned to a build of the pipeline: docker.io/<namespace>/incident-tracker-preview-web@sha256:<digest> (pushed by preview.yml), or :sha-<full commit sha>, or both (:sha-<commit>@sha256:<digest>): the web service and the migrate task. The deploy passes it with -var."
  type        = string

  validation {
    # Only what the pipeline builds: a sha-<40 hex> tag and/or a sha256 digest. Never an untagged
    # name, latest or a branch tag, whose image changes when someone pushes again.
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*(:sha-[0-9a-f]{40}|@sha256:[0-9a-f]{64}|:sha-[0-9a-f]{40}@sha256:[0-9a-f]{64})$", var.web_image))
    error_message = "web_image must be <repository>:sha-<full commit sha>, <repository>@sha256:<64 hex> or both (<repository>:sha-<commit>@sha256:<digest>), not an untagged name, latest or a branch tag."
  }
}

variable "worker_image" {
  description = "Worker image pinned to a build of the pipeline: docker.io/<namespace>/incident-tracker-preview-worker@sha256:<digest> (pushed by preview.yml, same commit as web_image), or :sha-<full commit sha>, or both (:sha-<commit>@sha256:<digest>): the worker and beat. The deploy passes it with -var."
  type        = string

  validation {
    # Only what the pipeline builds: a sha-<40 hex> tag and/or a sha256 digest. Never an untagged
    # name, latest or a branch tag, whose image changes when someone pushes again.
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*(:sha-[0-9a-f]{40}|@sha256:[0-9a-f]{64}|:sha-[0-9a-f]{40}@sha256:[0-9a-f]{64})$", var.worker_image))
    error_message = "worker_image must be <repository>:sha-<full commit sha>, <repository>@sha256:<64 hex> or both (<repository>:sha-<commit>@sha256:<digest>), not an untagged name, latest or a branch tag."
  }
}

variable "pr_secret_arns" {
  description = "Secrets the preview workflow creates for this pull request before apply and deletes after destroy: DATABASE_URL (database pr_<n> on the shared preview instance). REDIS_URL is the base's shared secret; the preview's keys carry REDIS_KEY_PREFIX=pr-<n>:."
  type = object({
    database_url = string
  })

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.pr_secret_arns.database_url))
    error_message = "pr_secret_arns.database_url must be a Secrets Manager secret ARN."
  }
}

variable "state_bucket" {
  description = "State bucket holding the preview base's state (read through terraform_remote_state)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be an S3 bucket name."
  }
}

variable "preview_base_state_key" {
  description = "State key of envs/preview-base."
  type        = string
  default     = "envs/preview-base/terraform.tfstate"
}

variable "scanning_enabled" {
  description = "Run the clamd sidecar and scan uploads (true: the worker needs 3 GiB; false: objects are tagged not-scanned and the worker fits in 1 GiB)."
  type        = bool
  default     = true
}
