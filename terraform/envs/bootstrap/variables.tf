variable "aws_region" {
  description = "AWS region of the state bucket (and of every environment)."
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
  description = "GitHub repository (owner/name) whose workflows may assume the deploy roles; also the Repository tag."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be owner/name."
  }
}

variable "state_bucket_name" {
  description = "Name of the Terraform state bucket (globally unique); every backend.tf names it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "create_lock_table" {
  description = "Also create the DynamoDB lock table (classic locking). The roots here use S3-native locking (use_lockfile, Terraform >= 1.10), so it is only needed for older tooling."
  type        = bool
  default     = false
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when another stack already created it: there is one per account)."
  type        = bool
  default     = true
}

variable "environments" {
  description = "Environments that live in this account (one account per environment; previews share the dev account): plan-<env> and deploy-<env> roles are created for each."
  type        = list(string)

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : contains(["dev", "staging", "prod", "preview"], e)])
    error_message = "environments must list some of dev, staging, prod, preview."
  }

  validation {
    condition     = !contains(var.environments, "prod") || length(var.environments) == 1
    error_message = "prod gets an account of its own."
  }
}

variable "github_environments" {
  description = "GitHub environment names of the deploy jobs (their `environment:` key): the OIDC sub claim a deploy role trusts. preview_teardown: the environment of preview.yml's destroy and reap jobs (no reviewers), the only subject the preview-teardown role trusts."
  type = object({
    dev              = optional(string, "dev")
    staging          = optional(string, "staging")
    prod             = optional(string, "production")
    preview          = optional(string, "preview")
    preview_teardown = optional(string, "preview-teardown")
  })
  default = {}
}

variable "preview_evidence_bucket_name" {
  description = "The previews' shared evidence bucket (envs/preview-base's evidence_bucket_name): the preview-teardown role deletes each closed pull request's objects under pr-<n>/ there. Null: incident-tracker-preview-evidence-<aws_account_id>, the name envs/preview-base's terraform.tfvars uses. Unused without the preview environment."
  type        = string
  default     = null

  validation {
    condition     = var.preview_evidence_bucket_name == null || can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.preview_evidence_bucket_name))
    error_message = "preview_evidence_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "state_admin_arns" {
  description = "Administrators of the state backend (IAM role or user ARNs of this account, `*` wildcards as in ArnLike): whoever applies this root (by hand or bootstrap.yml's AWS_BOOTSTRAP_ROLE_ARN) and the backend cleanup's role (AWS_BACKEND_ADMIN_ROLE_ARNS). Only they (and the account's root user) may change the state bucket, delete state versions or administer the state key; an apply by anyone else stops before it writes those policies."
  type        = list(string)

  validation {
    condition     = length(var.state_admin_arns) > 0
    error_message = "state_admin_arns must name at least one administrator (the role that applies this root)."
  }

  validation {
    condition     = alltrue([for arn in var.state_admin_arns : can(regex("^arn:aws[a-z-]*:iam::${var.aws_account_id}:(role|user)/", arn))])
    error_message = "state_admin_arns must be role or user ARNs of aws_account_id (arn:aws:iam::<aws_account_id>:role/...)."
  }
}
