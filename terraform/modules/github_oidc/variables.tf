variable "name" {
  description = "Prefix of the role names: each role is called <name>-<roles key>, e.g. incident-tracker-github-deploy-prod."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,39}$", var.name))
    error_message = "name must start with a letter, use letters, digits and hyphens, and be at most 40 characters."
  }
}

variable "repository" {
  description = "GitHub repository allowed to assume the roles, as owner/name (no wildcards)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must look like owner/name (letters, digits, '-', '.', '_'; no wildcards)."
  }
}

variable "create_oidc_provider" {
  description = "Create the IAM OIDC provider for token.actions.githubusercontent.com. An account can have only one: set false when it already exists (then oidc_provider_arn, or a lookup by URL, is used)."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of an existing GitHub OIDC provider, used when create_oidc_provider = false. Null looks it up by URL."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}

variable "thumbprint_list" {
  description = "Server certificate thumbprints for the provider. Empty lets AWS use its trusted CA store (GitHub's recommended setup); AWS no longer needs thumbprints for GitHub."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.thumbprint_list : can(regex("^[0-9a-fA-F]{40}$", t))])
    error_message = "thumbprint_list entries must be 40 hex characters."
  }
}

variable "roles" {
  description = <<-EOT
    Deploy roles to create, keyed by a short name (role name <name>-<key>). For each role:
    subjects: allowed `sub` claims (matched with StringLike), each starting with "repo:<repository>:" followed by
    "ref:refs/heads/<branch>", "ref:refs/tags/<tag>", "environment:<name>" or "pull_request";
    policy_arns: managed policies to attach (inline policies: var.inline_policies);
    max_session_duration: seconds (3600-43200); description; permissions_boundary_arn.
  EOT
  type = map(object({
    subjects                 = list(string)
    policy_arns              = optional(list(string), [])
    max_session_duration     = optional(number, 3600)
    description              = optional(string)
    permissions_boundary_arn = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.roles) : can(regex("^[a-zA-Z0-9_-]{1,23}$", k))])
    error_message = "roles keys must be 1-23 letters, digits, '_' or '-'."
  }

  validation {
    condition     = alltrue([for r in values(var.roles) : length(r.subjects) > 0])
    error_message = "Every role needs at least one subject."
  }

  validation {
    condition = alltrue(flatten([
      for r in values(var.roles) : [
        for s in r.subjects :
        startswith(s, "repo:${var.repository}:") &&
        can(regex("^(ref:refs/(heads|tags)/[A-Za-z0-9._/-][A-Za-z0-9._/*-]*|environment:[A-Za-z0-9._ -]+|pull_request)$", trimprefix(s, "repo:${var.repository}:")))
      ]
    ]))
    error_message = "Each subject must be repo:<repository>:ref:refs/heads/<branch>, repo:<repository>:ref:refs/tags/<tag>, repo:<repository>:environment:<name> or repo:<repository>:pull_request (no wildcard repository, environment or bare '*')."
  }

  validation {
    condition     = alltrue([for r in values(var.roles) : r.max_session_duration >= 3600 && r.max_session_duration <= 43200])
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "inline_policies" {
  description = "Inline policy JSON per role, keyed by a key of roles (the policy is named \"deploy\"). The keys must be known at plan time; the JSON may be unknown until apply."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.inline_policies) : contains(keys(var.roles), k)])
    error_message = "Every inline_policies key must be a key of roles."
  }
}

variable "permissions_boundary_policy" {
  description = "Managed policy to create as the permissions boundary the deploy roles must put on every role they create (name, description, json). Null: none. An object whose presence is known at plan even while the JSON is not."
  type = object({
    name        = string
    description = optional(string, "Permissions boundary of roles created by the GitHub deploy roles")
    json        = string
  })
  default = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
