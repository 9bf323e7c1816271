################################################################################
# Account, region, naming
################################################################################

variable "aws_region" {
  description = "AWS region of the preview base (and of every preview)."
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

################################################################################
# Network and entry point
################################################################################

variable "network" {
  description = "VPC of the previews (platform module): cidr_block, azs (2: the ALB's minimum), flow_logs_retention_days. One NAT gateway."
  type = object({
    cidr_block               = string
    azs                      = list(string)
    flow_logs_retention_days = optional(number, 30)
  })
}

variable "alb" {
  description = "Preview load balancer (platform module): certificate_arn covering *.<preview_domain>, ingress_cidrs (required: previews are not public), access_logs_force_destroy, deletion_protection (on; switch it off in a reviewed apply before destroying the base: terraform/README.md)."
  type = object({
    certificate_arn           = string
    ingress_cidrs             = list(string)
    access_logs_force_destroy = optional(bool, true)
    deletion_protection       = optional(bool, true)
  })

  validation {
    condition     = !contains(var.alb.ingress_cidrs, "0.0.0.0/0")
    error_message = "alb.ingress_cidrs must not be 0.0.0.0/0: previews are reachable from the office/VPN only."
  }
}

variable "preview_domain" {
  description = "DNS zone of the previews: pull request <n> is served at https://pr-<n>.<preview_domain> (a wildcard DNS record *.<preview_domain> points at the preview ALB)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.preview_domain))
    error_message = "preview_domain must be a lowercase DNS name."
  }
}

################################################################################
# Shared by every preview
################################################################################

variable "clamd_image" {
  description = "ClamAV image of the previews' clamd sidecar, pinned."
  type        = string
  default     = "clamav/clamav:1.4.3"

  validation {
    condition     = length(var.clamd_image) > 0 && !endswith(var.clamd_image, ":latest")
    error_message = "clamd_image must be pinned (not :latest)."
  }
}

variable "dockerhub_credentials_secret_arn" {
  description = "Secrets Manager secret with the Docker Hub pull credentials ({\"username\": ..., \"password\": <access token>}) every preview pulls with. Null: anonymous pulls."
  type        = string
  default     = null
}

variable "shared_secret_arns" {
  description = "Secrets Manager ARNs shared by all previews, created by hand once: SECRET_KEY, SMTP_PASSWORD, optional smtp_username (SMTP_USERNAME: SES's SMTP user name, an IAM access key id), and database_app_user (JSON {\"username\",\"password\"} of the preview app role that owns the per-PR databases; the preview workflow builds each PR's DATABASE_URL from it)."
  type = object({
    secret_key        = string
    smtp_password     = string
    smtp_username     = optional(string)
    database_app_user = string
  })

  validation {
    condition     = alltrue([for a in values(var.shared_secret_arns) : a == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "shared_secret_arns must be Secrets Manager secret ARNs."
  }
}

variable "smtp" {
  description = "Outgoing mail server of the previews (use a sandbox such as SES in sandbox mode): host, port, from, security (SMTP_SECURITY: starttls, tls or none), username (plain SMTP_USERNAME, only for a user name that is no credential; SES's goes into shared_secret_arns.smtp_username)."
  type = object({
    host     = string
    port     = optional(number, 587)
    from     = string
    security = optional(string, "starttls")
    username = optional(string, "")
  })

  validation {
    condition     = contains(["starttls", "tls", "none"], var.smtp.security)
    error_message = "smtp.security must be starttls, tls or none (the app's SMTP_SECURITY)."
  }
}

variable "evidence_bucket_name" {
  description = "Name of the shared preview evidence bucket; each preview keeps its objects under pr-<n>/."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.evidence_bucket_name))
    error_message = "evidence_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "database" {
  description = "Shared preview PostgreSQL instance: one database per pull request inside it. deletion_protection (on: it holds every open PR's data) and skip_final_snapshot (off: a deletion leaves the snapshot \"incident-tracker-preview-final\", billed until deleted) change only to tear the base down (terraform/README.md)."
  type = object({
    instance_class        = optional(string, "db.t4g.medium")
    allocated_storage     = optional(number, 20)
    max_allocated_storage = optional(number, 100)
    deletion_protection   = optional(bool, true)
    skip_final_snapshot   = optional(bool, false)
  })
  default = {}
}

variable "cache" {
  description = "Shared preview Redis: every pull request uses database 0 with its own key prefix (REDIS_KEY_PREFIX=pr-<n>:)."
  type = object({
    node_type = optional(string, "cache.t4g.micro")
  })
  default = {}
}

variable "log_retention_days" {
  description = "Retention of the log groups and of the ALB access logs in S3, in days."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must be at least 365."
  }
}

variable "alarm_email" {
  description = "E-mail subscribed to the preview alarm topic (null: none)."
  type        = string
  default     = null
}

variable "alarm_https_endpoint_secret_arn" {
  description = "ARN of a Secrets Manager secret holding an HTTPS URL (PagerDuty's Amazon CloudWatch integration, Opsgenie's Amazon SNS integration) subscribed to the alarm topic; null: e-mail only (platform module)."
  type        = string
  default     = null
}

variable "enable_bastion" {
  description = "Create the SSM Session Manager bastion (admin access to the preview database)."
  type        = bool
  default     = false
}
